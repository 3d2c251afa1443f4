/*
 * fuzz_config.c - configuration files (config.c, confparse.c, gateconf.c,
 * shapes.c, filter.c's settings) through config_load, as sluiced reads
 * them.
 *
 * Input: libconfig text. Checks: loading never crashes or leaks; a refusal
 * names file:line; a configuration that loads routes every trigger's path
 * (with each parameter filled in) to a trigger.
 */
#include "fuzz.h"

#include "config.h"
#include "log.h"
#include "router.h"
#include "shapes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "...FILE:LINE: ..." somewhere at the front of the message. */
static int names_file_line(const char *err)
{
    const char *conf = strstr(err, ".conf:");
    if (!conf)
        return 0;
    const char *p = conf + 6;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    return *p == ':';
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    /* Relative includes and @file: secrets resolve inside the scratch
     * directory; give them something to find. */
    fuzz_write_file("secret.txt", "s3cr3t\n", 7);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[2048];
    /* libconfig reads until a NUL; the text ends at the first one. */
    sluice_config *cfg =
        fuzz_load_config((const char *)data, strnlen((const char *)data, size), err, sizeof(err));
    if (!cfg) {
        FUZZ_CHECK(names_file_line(err), "a configuration error names no file:line: \"%s\"", err);
        return 0;
    }
    for (size_t i = 0; i < cfg->n_triggers; i++) {
        const trigger_def *t = &cfg->triggers[i];
        if (!t->path || shapes_path_reserved(t->path))
            continue;
        char path[4096];
        size_t o = 0;
        for (const char *p = t->path; *p && o + 4 < sizeof(path);) {
            if (*p == '{') {
                const char *end = strchr(p, '}');
                memcpy(path + o, "x%7E", 4);
                o += 4;
                p = end ? end + 1 : p + strlen(p);
            } else {
                path[o++] = *p++;
            }
        }
        path[o] = 0;
        route_match m;
        int rc = router_match(cfg->router, path, &m);
        FUZZ_CHECK(rc == 1, "trigger %s: its path \"%s\" (as \"%s\") routes nowhere (%d)", t->id,
                   t->path, path, rc);
        route_match_clear(&m);
    }
    config_unref(cfg);
    return 0;
}
