/*
 * fuzz.c - helpers for the libFuzzer targets (fuzz.h).
 */
#include "fuzz.h"

#include "config.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "\n%s:%d: invariant broken: %s\n  ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

char *fuzz_line(fuzz_in *in)
{
    const uint8_t *nl = memchr(in->p, '\n', in->n);
    size_t len = nl ? (size_t)(nl - in->p) : in->n;
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, in->p, len);
    s[len] = 0;
    size_t used = nl ? len + 1 : len;
    in->p += used;
    in->n -= used;
    return s;
}

unsigned fuzz_byte(fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

char *fuzz_rest(fuzz_in *in, size_t *len)
{
    char *s = malloc(in->n + 1);
    if (!s)
        abort();
    memcpy(s, in->p, in->n);
    s[in->n] = 0;
    *len = in->n;
    in->p += in->n;
    in->n = 0;
    return s;
}

static char tmpdir[256];

static void remove_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *fuzz_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/sluice-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir))
            abort();
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *fuzz_write_file(const char *name, const void *text, size_t len)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        abort();
    return path;
}

struct sluice_config *fuzz_load_config(const char *text, size_t len, char *err, size_t errlen)
{
    const char *path = fuzz_write_file("sluice.conf", text, len);
    sluice_config *cfg = NULL;
    err[0] = 0;
    if (config_load(&cfg, path, err, errlen) < 0)
        return NULL;
    return cfg;
}
