/*
 * kit.c - small helpers every first-party plugin uses (see README.md).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "kit/kit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sluice/jansson.h>

void kit_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/*
 * strerror() may use a static buffer for unknown values; executions run on
 * many threads at once, so always go through the reentrant GNU variant.
 */
const char *kit_strerror(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len);
}

int64_t kit_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * jansson prints reals with 17 significant digits (0.1 becomes
 * 0.10000000000000001), which is exact but not what a script expects to
 * receive for "price": 0.1. Try increasing precisions until the text reads
 * back as the same double. The daemon may have called setlocale(), so a
 * decimal comma is turned back into a point.
 */
size_t kit_format_real(double value, char *buf, size_t len)
{
    size_t n = 0;

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, value);
        if (strtod(buf, NULL) == value)
            break;
    }
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
    n = strlen(buf);
    if (!strpbrk(buf, ".eEni") && n + 2 < len) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}

int kit_duration(const json_t *v, long *ms)
{
    uint64_t value;

    if (!v || sluice_json_duration(v, &value) != 0 || value > (uint64_t)KIT_DURATION_MAX_MS)
        return -1;
    *ms = (long)value;
    return 0;
}

/*
 * "5T": the same number in G, read by the SDK, times 1024. Only for a unit
 * t, tb or tib (any case) right after the number and its spaces, so every
 * other string means exactly what sluice_json_size says.
 */
static int kit_size_tera(const char *s, uint64_t *bytes)
{
    char giga[64];
    const char *u = s;
    json_t *g;
    uint64_t n;
    int rc;

    while (*u >= '0' && *u <= '9')
        u++;
    while (*u == ' ')
        u++;
    if (u == s || (*u != 't' && *u != 'T') ||
        (strcasecmp(u + 1, "") != 0 && strcasecmp(u + 1, "b") != 0 &&
         strcasecmp(u + 1, "ib") != 0) ||
        (size_t)(u - s) + 2 > sizeof(giga))
        return -1;
    snprintf(giga, sizeof(giga), "%.*sG", (int)(u - s), s);
    if (!(g = json_string(giga)))
        return -1;
    rc = sluice_json_size(g, &n);
    json_decref(g);
    if (rc != 0 || n > UINT64_MAX / 1024)
        return -1;
    *bytes = n * 1024;
    return 0;
}

int kit_size(const json_t *v, uint64_t *bytes)
{
    if (!v)
        return -1;
    if (sluice_json_size(v, bytes) == 0)
        return 0;
    return json_is_string(v) ? kit_size_tera(json_string_value(v), bytes) : -1;
}

json_t *kit_config(const char *cfg_json, size_t cfg_len, const char *const *allowed,
                   const char *where, const char *plugin, char *err, size_t errlen)
{
    char at[512];
    json_t *root;

    snprintf(at, sizeof(at), "%s: %s", where ? where : "config", plugin);
    /* No JSON_ALLOW_NUL there, so no config string can hide a NUL byte. */
    root = sluice_json_config(cfg_json, cfg_len, at, err, errlen);
    if (root && allowed && sluice_json_check_keys(root, allowed, at, err, errlen) != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}
