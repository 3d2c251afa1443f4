/*
 * fuzz_units.c - sizes, durations, timestamps, base64 and hex (units.c,
 * auth.c's decoders).
 *
 * Input: a size line, a duration line, then bytes. Checks: each parser
 * accepts exactly what a plain model of its grammar accepts, with the same
 * value; what it accepts, written back in its largest exact unit, parses to
 * the same value; every encoder's output decodes to the bytes it encoded;
 * a timestamp reads back as the instant it was made from.
 */
#include "fuzz.h"

#include "auth.h"
#include "codec.h"
#include "log.h"
#include "units.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct unit {
    const char *name;
    uint64_t mul;
} unit;

static const unit size_units[] = {{"", 1},
                                  {"b", 1},
                                  {"k", 1ULL << 10},
                                  {"kb", 1ULL << 10},
                                  {"kib", 1ULL << 10},
                                  {"m", 1ULL << 20},
                                  {"mb", 1ULL << 20},
                                  {"mib", 1ULL << 20},
                                  {"g", 1ULL << 30},
                                  {"gb", 1ULL << 30},
                                  {"gib", 1ULL << 30},
                                  {NULL, 0}};
static const unit duration_units[] = {{"ms", 1},          {"", 1000},     {"s", 1000},
                                      {"m", 60000},       {"min", 60000}, {"h", 3600000},
                                      {"d", 86400000ULL}, {NULL, 0}};

/* digits, spaces, a unit: the grammar units.h documents. */
static int model(const char *s, const unit *units, int icase, uint64_t *out)
{
    uint64_t n = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    while (*p == ' ')
        p++;
    for (const unit *u = units; u->name; u++)
        if (icase ? strcasecmp(p, u->name) == 0 : strcmp(p, u->name) == 0) {
            if (n && u->mul > UINT64_MAX / n)
                return -1;
            *out = n * u->mul;
            return 0;
        }
    return -1;
}

static void check_size(const char *s)
{
    uint64_t got = 0, want = 0;
    int rc = units_parse_size(s, &got);
    int mrc = model(s, size_units, 1, &want);
    FUZZ_CHECK(rc == mrc, "units_parse_size(\"%s\") = %d, the grammar says %d", s, rc, mrc);
    if (rc < 0)
        return;
    FUZZ_CHECK(got == want, "units_parse_size(\"%s\") = %" PRIu64 ", expected %" PRIu64, s, got,
               want);
    char buf[64];
    static const char *const suffix[] = {"G", "M", "K"};
    static const int shift[] = {30, 20, 10};
    snprintf(buf, sizeof(buf), "%" PRIu64, got);
    for (int i = 0; i < 3; i++)
        if (got && got % (1ULL << shift[i]) == 0) {
            snprintf(buf, sizeof(buf), "%" PRIu64 "%s", got >> shift[i], suffix[i]);
            break;
        }
    uint64_t again = 0;
    FUZZ_CHECK(units_parse_size(buf, &again) == 0 && again == got,
               "size \"%s\" = %" PRIu64 " but its canonical form \"%s\" reads %" PRIu64, s, got,
               buf, again);
}

static void check_duration(const char *s)
{
    uint64_t got = 0, want = 0;
    int rc = units_parse_duration(s, &got);
    int mrc = model(s, duration_units, 0, &want);
    FUZZ_CHECK(rc == mrc, "units_parse_duration(\"%s\") = %d, the grammar says %d", s, rc, mrc);
    if (rc < 0)
        return;
    FUZZ_CHECK(got == want, "units_parse_duration(\"%s\") = %" PRIu64 ", expected %" PRIu64, s, got,
               want);
    static const char *const suffix[] = {"d", "h", "m", "s"};
    static const uint64_t per[] = {86400000ULL, 3600000, 60000, 1000};
    char buf[64];
    snprintf(buf, sizeof(buf), "%" PRIu64 "ms", got);
    for (int i = 0; i < 4; i++)
        if (got && got % per[i] == 0) {
            snprintf(buf, sizeof(buf), "%" PRIu64 "%s", got / per[i], suffix[i]);
            break;
        }
    uint64_t again = 0;
    FUZZ_CHECK(units_parse_duration(buf, &again) == 0 && again == got,
               "duration \"%s\" = %" PRIu64 "ms but its canonical form \"%s\" reads %" PRIu64, s,
               got, buf, again);
}

static void check_encodings(const unsigned char *d, size_t n)
{
    unsigned char *back = malloc(n + 4);
    size_t got = 0;
    char *b64 = units_base64_encode(d, n);
    FUZZ_CHECK(b64 && strlen(b64) == 4 * ((n + 2) / 3), "base64 of %zu bytes has length %zu", n,
               b64 ? strlen(b64) : 0);
    FUZZ_CHECK(codec_b64_decode(b64, strlen(b64), back, n, &got) == 0 && got == n &&
                   memcmp(back, d, n) == 0,
               "base64 \"%s\" does not decode to the %zu bytes it encodes", b64, n);
    free(b64);

    char *url = malloc(4 * ((n + 2) / 3) + 1);
    codec_b64url_encode(d, n, url);
    FUZZ_CHECK(strcspn(url, "+/=") == strlen(url), "base64url \"%s\" is not URL-safe", url);
    FUZZ_CHECK(codec_b64_decode(url, strlen(url), back, n, &got) == 0 && got == n &&
                   memcmp(back, d, n) == 0,
               "base64url \"%s\" does not decode to the %zu bytes it encodes", url, n);
    free(url);

    char *hex = malloc(2 * n + 1);
    codec_hex_encode(d, n, hex);
    FUZZ_CHECK(codec_hex_decode(hex, 2 * n, back, n, &got) == 0 && got == n &&
                   memcmp(back, d, n) == 0,
               "hex \"%s\" does not decode to its bytes", hex);
    free(hex);

    /* Decoding anything: never more than the room given, and what decodes
     * encodes back to the same value. */
    if (codec_b64_decode((const char *)d, n, back, n, &got) == 0) {
        FUZZ_CHECK(got <= n, "base64 decoding wrote %zu bytes into %zu", got, n);
        char *again = units_base64_encode(back, got);
        unsigned char *twice = malloc(got + 4);
        size_t got2 = 0;
        FUZZ_CHECK(codec_b64_decode(again, strlen(again), twice, got, &got2) == 0 && got2 == got &&
                       memcmp(twice, back, got) == 0,
                   "base64 decode/encode/decode is not stable");
        free(again);
        free(twice);
    }
    free(back);
}

static void check_time(const unsigned char *d, size_t n)
{
    uint64_t ms = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        ms = ms << 8 | d[i];
    /* The clock gives times from 1970 to 9999 (the format's four digits). */
    ms %= 253402300800000ULL;
    char buf[40];
    units_format_time(ms, buf, sizeof(buf));
    FUZZ_CHECK(strlen(buf) == 24 && buf[23] == 'Z', "time %" PRIu64 " formats as \"%s\"", ms, buf);
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    unsigned frac = 0;
    FUZZ_CHECK(sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac) == 7,
               "\"%s\" is not RFC 3339", buf);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    uint64_t back = (uint64_t)timegm(&tm) * 1000 + frac;
    FUZZ_CHECK(back == ms, "time %" PRIu64 " formats as \"%s\", which reads %" PRIu64, ms, buf,
               back);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    char *size_s = fuzz_line(&in);
    char *dur_s = fuzz_line(&in);
    size_t n;
    char *rest = fuzz_rest(&in, &n);
    check_size(size_s);
    check_duration(dur_s);
    check_encodings((const unsigned char *)rest, n);
    check_time((const unsigned char *)rest, n);
    free(size_s);
    free(dur_s);
    free(rest);
    return 0;
}
