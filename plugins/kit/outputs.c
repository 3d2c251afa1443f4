/*
 * outputs.c - read back what a command wrote to $SLUICE_OUTPUT.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "kit/outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/plugin.h>

#include "kit/kit.h"

/* key=value text grows when encoded; allow for that, the host re-checks. */
#define KIT_OUTPUT_READ_MAX (2 * (size_t)SLUICE_MAX_OUTPUT)

static int kit_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int kit_outputs_lines(const char *data, size_t len, json_t **out, char *err, size_t errlen)
{
    json_t *obj = json_object();
    const char *p = data;
    const char *end = data + len;
    size_t lineno = 0;

    if (!obj)
        goto nomem;
    if (memchr(data, '\0', len)) {
        kit_errf(err, errlen, "$SLUICE_OUTPUT contains a NUL byte");
        goto fail;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *line = p;
        const char *eq, *kend;
        json_t *value;
        char *key;

        lineno++;
        p = nl ? nl + 1 : end;
        if (eol > line && eol[-1] == '\r')
            eol--;
        while (line < eol && kit_is_blank(*line))
            line++;
        if (line == eol || *line == '#')
            continue;
        eq = memchr(line, '=', (size_t)(eol - line));
        kend = eq;
        while (kend && kend > line && kit_is_blank(kend[-1]))
            kend--;
        if (!eq || kend == line) {
            kit_errf(err, errlen, "$SLUICE_OUTPUT line %zu is not key=value or a JSON object",
                     lineno);
            goto fail;
        }
        value = json_stringn(eq + 1, (size_t)(eol - eq - 1));
        if (!value) {
            kit_errf(err, errlen, "$SLUICE_OUTPUT line %zu: the value is not valid UTF-8", lineno);
            goto fail;
        }
        key = strndup(line, (size_t)(kend - line));
        if (!key) {
            json_decref(value);
            goto nomem;
        }
        if (json_object_set_new(obj, key, value) != 0) {
            kit_errf(err, errlen, "$SLUICE_OUTPUT line %zu: the key is not valid UTF-8", lineno);
            free(key);
            goto fail;
        }
        free(key);
    }
    if (json_object_size(obj) == 0) {
        json_decref(obj);
        obj = NULL;
    }
    *out = obj;
    return 0;

nomem:
    kit_errf(err, errlen, "out of memory");
fail:
    json_decref(obj);
    return -1;
}

int kit_outputs_parse(const char *data, size_t len, json_t **out, char *err, size_t errlen)
{
    size_t i = 0;

    *out = NULL;
    while (i < len && kit_is_blank(data[i]))
        i++;
    if (i == len)
        return 0;
    if (data[i] == '{') {
        json_error_t jerr;
        json_t *obj = json_loadb(data, len, 0, &jerr);

        if (!obj || !json_is_object(obj)) {
            json_decref(obj);
            kit_errf(err, errlen,
                     "$SLUICE_OUTPUT starts with '{' but is not a JSON object: "
                     "%s (line %d)",
                     jerr.text, jerr.line);
            return -1;
        }
        *out = obj;
        return 0;
    }
    return kit_outputs_lines(data, len, out, err, errlen);
}

int kit_outputs_load(const char *path, uid_t owner, json_t **out, char *err, size_t errlen)
{
    char ebuf[128];
    struct stat st;
    char *data = NULL;
    size_t len = 0, cap;
    int fd, rc = -1;

    *out = NULL;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == ELOOP)
            kit_errf(err, errlen, "$SLUICE_OUTPUT was replaced by a symbolic link; not read");
        else
            kit_errf(err, errlen, "cannot open $SLUICE_OUTPUT: %s",
                     kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        kit_errf(err, errlen, "$SLUICE_OUTPUT is not a regular file; not read");
        goto out;
    }
    if (owner != (uid_t)-1 && st.st_uid != owner) {
        kit_errf(err, errlen, "$SLUICE_OUTPUT was replaced by a file of another user; not read");
        goto out;
    }
    if ((size_t)st.st_size > KIT_OUTPUT_READ_MAX) {
        kit_errf(err, errlen, "$SLUICE_OUTPUT is %lld bytes; outputs are limited to %u",
                 (long long)st.st_size, SLUICE_MAX_OUTPUT);
        goto out;
    }
    /* Sized from fstat, but the file may still grow: read until EOF. */
    cap = (size_t)st.st_size + 1;
    for (;;) {
        ssize_t n;

        if (len == cap) {
            char *grown;

            if (cap > KIT_OUTPUT_READ_MAX) {
                kit_errf(err, errlen,
                         "$SLUICE_OUTPUT is over %zu bytes; outputs are limited "
                         "to %u",
                         KIT_OUTPUT_READ_MAX, SLUICE_MAX_OUTPUT);
                goto out;
            }
            if (!(grown = realloc(data, cap * 2))) {
                kit_errf(err, errlen, "out of memory");
                goto out;
            }
            data = grown;
            cap *= 2;
        } else if (!data && !(data = malloc(cap))) {
            kit_errf(err, errlen, "out of memory");
            goto out;
        }
        n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            kit_errf(err, errlen, "cannot read $SLUICE_OUTPUT: %s",
                     kit_strerror(errno, ebuf, sizeof(ebuf)));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > KIT_OUTPUT_READ_MAX) {
        kit_errf(err, errlen, "$SLUICE_OUTPUT is %zu bytes; outputs are limited to %u", len,
                 SLUICE_MAX_OUTPUT);
        goto out;
    }
    rc = kit_outputs_parse(data, len, out, err, errlen);
out:
    free(data);
    close(fd);
    return rc;
}

/* A problem with the outputs: fails a success, is logged for a failure. */
static int kit_outputs_problem(const sluice_host *host, sluice_exec *exec, int rc, const char *msg,
                               char *err, size_t errlen)
{
    if (rc == SLUICE_OK) {
        snprintf(err, errlen, "%s", msg);
        return SLUICE_ERR;
    }
    host->log(host, exec, SLUICE_LOG_WARN, "%s", msg);
    return rc;
}

int kit_outputs_read(const sluice_host *host, sluice_exec *exec, const char *path, uid_t owner,
                     int rc, json_t **obj, char *err, size_t errlen)
{
    char msg[512];

    *obj = NULL;
    if (kit_outputs_load(path, owner, obj, msg, sizeof(msg)) != 0)
        return kit_outputs_problem(host, exec, rc, msg, err, errlen);
    return rc;
}

int kit_outputs_set(const sluice_host *host, sluice_exec *exec, json_t *obj, int rc, char *err,
                    size_t errlen)
{
    char msg[512];
    char *text = json_dumps(obj, JSON_COMPACT);

    json_decref(obj);
    if (!text)
        return kit_outputs_problem(host, exec, rc, "out of memory", err, errlen);
    if (host->exec_set_output(exec, text, strlen(text)) != 0) {
        snprintf(msg, sizeof(msg),
                 "outputs refused by the host (%zu bytes of JSON; the limit is "
                 "%u)",
                 strlen(text), SLUICE_MAX_OUTPUT);
        rc = kit_outputs_problem(host, exec, rc, msg, err, errlen);
    }
    free(text);
    return rc;
}

int kit_outputs_apply(const sluice_host *host, sluice_exec *exec, const char *path, uid_t owner,
                      int rc, char *err, size_t errlen)
{
    json_t *obj;

    rc = kit_outputs_read(host, exec, path, owner, rc, &obj, err, errlen);
    return obj ? kit_outputs_set(host, exec, obj, rc, err, errlen) : rc;
}
