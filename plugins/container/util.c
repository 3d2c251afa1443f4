/*
 * util.c - small helpers shared by the container executor's files.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * See util.h for which parts are copied from plugins/shell.
 */
#define _GNU_SOURCE
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void ctr_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/*
 * strerror() may use a static buffer for unknown values; executions run on
 * many threads at once, so always go through the reentrant GNU variant.
 */
const char *ctr_strerror(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len);
}

int64_t ctr_now_ms(void)
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
size_t ctr_format_real(double value, char *buf, size_t len)
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
    if (strpbrk(buf, ".eEni") == NULL && n + 2 < len) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}

int ctr_parse_size(const char *text, int64_t *bytes)
{
    static const struct {
        const char *unit;
        int shift;
    } units[] = {{"", 0},   {"b", 0},    {"k", 10},   {"kb", 10}, {"kib", 10},
                 {"m", 20}, {"mb", 20},  {"mib", 20}, {"g", 30},  {"gb", 30},
                 {"gib", 30}, {"t", 40}, {"tb", 40},  {"tib", 40}};
    const char *p = text;
    int64_t value = 0;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (value > (INT64_MAX - 9) / 10)
            return -1;
        value = value * 10 + (*p - '0');
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].unit) == 0) {
            if (value > (INT64_MAX >> units[i].shift))
                return -1;
            *bytes = value << units[i].shift;
            return 0;
        }
    }
    return -1;
}

int ctr_parse_duration(const char *text, long *ms)
{
    static const struct {
        const char *unit;
        long factor;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    const char *p = text;
    long value = 0;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (value > 360000000L)
            return -1;
        value = value * 10 + (*p - '0');
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].unit) == 0) {
            if (value > 24L * 3600000L / units[i].factor)
                return -1;
            *ms = value * units[i].factor;
            return 0;
        }
    }
    return -1;
}
