/*
 * units.c - parsing of sizes and durations, clocks, ids.
 */
#define _GNU_SOURCE /* the strerror_r that returns the text */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int parse_number(const char *s, uint64_t *num, const char **rest)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    *num = v;
    while (*end == ' ')
        end++;
    *rest = end;
    return 0;
}

static int mul_checked(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a && b > UINT64_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

int units_parse_size(const char *s, uint64_t *out)
{
    uint64_t n;
    const char *u;
    if (!s || parse_number(s, &n, &u) < 0)
        return -1;
    uint64_t mul;
    if (*u == 0 || strcasecmp(u, "b") == 0)
        mul = 1;
    else if (strcasecmp(u, "k") == 0 || strcasecmp(u, "kb") == 0 || strcasecmp(u, "kib") == 0)
        mul = 1024ULL;
    else if (strcasecmp(u, "m") == 0 || strcasecmp(u, "mb") == 0 || strcasecmp(u, "mib") == 0)
        mul = 1024ULL * 1024;
    else if (strcasecmp(u, "g") == 0 || strcasecmp(u, "gb") == 0 || strcasecmp(u, "gib") == 0)
        mul = 1024ULL * 1024 * 1024;
    else
        return -1;
    return mul_checked(n, mul, out);
}

int units_parse_duration(const char *s, uint64_t *out_ms)
{
    uint64_t n;
    const char *u;
    if (!s || parse_number(s, &n, &u) < 0)
        return -1;
    uint64_t mul;
    if (strcmp(u, "ms") == 0)
        mul = 1;
    else if (*u == 0 || strcmp(u, "s") == 0)
        mul = 1000;
    else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
        mul = 60 * 1000;
    else if (strcmp(u, "h") == 0)
        mul = 3600 * 1000;
    else if (strcmp(u, "d") == 0)
        mul = 86400ULL * 1000;
    else
        return -1;
    return mul_checked(n, mul, out_ms);
}

uint64_t units_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t units_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* n as exactly width digits at p (n < 10^width). */
static char *put_digits(char *p, unsigned n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10)
        p[i] = (char)('0' + n % 10);
    return p + width;
}

/* Written by hand: every event and every execution document carries a few
 * of these, and snprintf cost more than the rest of the conversion. */
void units_format_time(uint64_t epoch_ms, char *buf, size_t len)
{
    time_t sec = (time_t)(epoch_ms / 1000);
    struct tm tm;
    char t[32], *p = t;
    gmtime_r(&sec, &tm);
    unsigned year = (unsigned)(tm.tm_year + 1900);
    if (year > 9999) {
        snprintf(buf, len, "%u-%02d-%02dT%02d:%02d:%02d.%03uZ", year, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(epoch_ms % 1000));
        return;
    }
    p = put_digits(p, year, 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)(epoch_ms % 1000), 3);
    *p++ = 'Z';
    size_t n = (size_t)(p - t);
    if (len == 0)
        return;
    if (n >= len)
        n = len - 1;
    memcpy(buf, t, n);
    buf[n] = 0;
}

int units_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/*
 * RFC 9562 UUIDv7: 48 bits of Unix milliseconds, then random bits. Ids sort
 * by creation time, which keeps the store's primary key index append-only.
 */
void units_uuidv7(char *buf)
{
    unsigned char b[16];
    uint64_t ms = units_now_ms();
    units_random(b + 6, 10);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    static const char hex[] = "0123456789abcdef";
    char *o = buf;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = 0;
}

int units_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *units_base64_encode(const unsigned char *data, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(out_len);
    if (!out)
        return NULL;
    base64_encode_raw(out, len, data);
    out[out_len - 1] = 0;
    return out;
}

const char *units_strerror(int err)
{
    static __thread char buf[128];
    return strerror_r(err, buf, sizeof(buf));
}
