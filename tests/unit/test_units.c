/*
 * test_units.c - sizes, durations, clocks, UUIDv7 ids, base64.
 */
#include "units.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)

#define SIZE_OK(s, want)                                                                          \
    do {                                                                                          \
        uint64_t v_ = 7;                                                                          \
        ck_assert_msg(units_parse_size((s), &v_) == 0, "size \"%s\" was refused", (s));           \
        ck_assert_msg(v_ == (want), "size \"%s\" = %llu, want %llu", (s), (unsigned long long)v_, \
                      (unsigned long long)(want));                                                \
    } while (0)

#define SIZE_BAD(s)                                                                              \
    do {                                                                                         \
        uint64_t v_ = 7;                                                                         \
        ck_assert_msg(units_parse_size((s), &v_) == -1, "size \"%s\" was accepted as %llu", (s), \
                      (unsigned long long)v_);                                                   \
    } while (0)

#define DUR_OK(s, want)                                                                         \
    do {                                                                                        \
        uint64_t v_ = 7;                                                                        \
        ck_assert_msg(units_parse_duration((s), &v_) == 0, "duration \"%s\" was refused", (s)); \
        ck_assert_msg(v_ == (want), "duration \"%s\" = %llu ms, want %llu", (s),                \
                      (unsigned long long)v_, (unsigned long long)(want));                      \
    } while (0)

#define DUR_BAD(s)                                                                             \
    do {                                                                                       \
        uint64_t v_ = 7;                                                                       \
        ck_assert_msg(units_parse_duration((s), &v_) == -1,                                    \
                      "duration \"%s\" was accepted as %llu ms", (s), (unsigned long long)v_); \
    } while (0)

/* ---- sizes ---- */

START_TEST(size_plain_bytes)
{
    SIZE_OK("0", 0);
    SIZE_OK("1", 1);
    SIZE_OK("1024", 1024);
    SIZE_OK("18446744073709551615", UINT64_MAX);
}
END_TEST

START_TEST(size_suffixes_are_powers_of_1024)
{
    SIZE_OK("512K", 512 * KIB);
    SIZE_OK("512k", 512 * KIB);
    SIZE_OK("1KB", KIB);
    SIZE_OK("1KiB", KIB);
    SIZE_OK("1M", MIB);
    SIZE_OK("1MB", MIB);
    SIZE_OK("1MiB", MIB);
    SIZE_OK("1mib", MIB);
    SIZE_OK("2G", 2 * GIB);
    SIZE_OK("2GiB", 2 * GIB);
    SIZE_OK("16G", 16 * GIB);
}
END_TEST

START_TEST(size_rejects_garbage)
{
    SIZE_BAD("");
    SIZE_BAD("M");
    SIZE_BAD("K1");
    SIZE_BAD("-1");
    SIZE_BAD("+1");
    SIZE_BAD(" 1");
    SIZE_BAD("1X");
    SIZE_BAD("1MM");
    SIZE_BAD("1.5M");
    SIZE_BAD("1T");
    SIZE_BAD("0x10");
    ck_assert_int_eq(units_parse_size(NULL, &(uint64_t){0}), -1);
}
END_TEST

START_TEST(size_rejects_overflow)
{
    SIZE_BAD("99999999999G");
    /* 2^34 GiB is exactly 2^64 bytes: one past the largest value. */
    SIZE_BAD("17179869184G");
    SIZE_OK("17179869183G", 17179869183ULL * GIB);
    SIZE_BAD("18446744073709551616");
    SIZE_BAD("99999999999999999999999");
}
END_TEST

/* ---- durations ---- */

START_TEST(duration_units)
{
    DUR_OK("250ms", 250);
    DUR_OK("0ms", 0);
    DUR_OK("30s", 30000);
    DUR_OK("5m", 300000);
    DUR_OK("1h", 3600000);
    DUR_OK("14d", 14ULL * 86400 * 1000);
}
END_TEST

START_TEST(duration_bare_number_is_seconds)
{
    DUR_OK("10", 10000);
    DUR_OK("0", 0);
}
END_TEST

START_TEST(duration_rejects_garbage)
{
    DUR_BAD("");
    DUR_BAD("s");
    DUR_BAD("ms");
    DUR_BAD("-5s");
    DUR_BAD("5 minutes");
    DUR_BAD("1.5s");
    DUR_BAD("5x");
    DUR_BAD("5sec");
    DUR_BAD("10ms5");
    DUR_BAD("1w");
    ck_assert_int_eq(units_parse_duration(NULL, &(uint64_t){0}), -1);
}
END_TEST

START_TEST(duration_rejects_overflow)
{
    DUR_BAD("999999999999999999d");
    DUR_BAD("18446744073709551616ms");
    DUR_OK("18446744073709551615ms", UINT64_MAX);
}
END_TEST

/* ---- clocks and time formatting ---- */

START_TEST(format_time_rfc3339_utc_millis)
{
    char buf[32];
    units_format_time(0, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
    units_format_time(1700000000123ULL, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2023-11-14T22:13:20.123Z");
    /* Leap day, and milliseconds that must not round into the next second. */
    units_format_time(951782400999ULL, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2000-02-29T00:00:00.999Z");
    units_format_time(4102444799001ULL, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2099-12-31T23:59:59.001Z");
    /* The same text as the printf spelling, up to year 9999. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t ms = x % 253402300800000ULL;
        time_t sec = (time_t)(ms / 1000);
        struct tm tm;
        char want[64];
        gmtime_r(&sec, &tm);
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (unsigned)(ms % 1000));
        units_format_time(ms, buf, sizeof(buf));
        ck_assert_str_eq(buf, want);
    }
    /* A short buffer gets a cut, terminated string, as snprintf would. */
    char small[11];
    units_format_time(0, small, sizeof(small));
    ck_assert_str_eq(small, "1970-01-01");
}
END_TEST

START_TEST(clocks_are_plausible)
{
    uint64_t now = units_now_ms();
    uint64_t sys = (uint64_t)time(NULL) * 1000;
    ck_assert_uint_ge(now + 2000, sys);
    ck_assert_uint_le(now, sys + 2000);

    uint64_t m1 = units_mono_ms();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t m2 = units_mono_ms();
    ck_assert_uint_ge(m2, m1 + 19);
}
END_TEST

/* ---- random and UUIDv7 ---- */

START_TEST(random_fills_buffer)
{
    unsigned char a[64], b[64], zero[64] = {0};
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    ck_assert_int_eq(units_random(a, sizeof(a)), 0);
    ck_assert_int_eq(units_random(b, sizeof(b)), 0);
    ck_assert(memcmp(a, zero, sizeof(a)) != 0);
    ck_assert(memcmp(a, b, sizeof(a)) != 0);
    ck_assert_int_eq(units_random(a, 0), 0);
}
END_TEST

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static uint64_t uuid_ms(const char *u)
{
    char hex[13];
    memcpy(hex, u, 8);
    memcpy(hex + 8, u + 9, 4);
    hex[12] = 0;
    return strtoull(hex, NULL, 16);
}

START_TEST(uuidv7_format)
{
    for (int n = 0; n < 200; n++) {
        char u[64];
        memset(u, 'X', sizeof(u));
        uint64_t before = units_now_ms();
        units_uuidv7(u);
        uint64_t after = units_now_ms();
        ck_assert_uint_eq(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                ck_assert_msg(u[i] == '-', "%s: no '-' at %d", u, i);
            else
                ck_assert_msg(is_lower_hex(u[i]), "%s: '%c' at %d is not lower hex", u, u[i], i);
        }
        ck_assert_msg(u[14] == '7', "%s: version nibble is not 7", u);
        ck_assert_msg(strchr("89ab", u[19]) != NULL, "%s: variant bits are not 10", u);
        /* The first 48 bits are the creation time in Unix milliseconds. */
        uint64_t ms = uuid_ms(u);
        ck_assert_uint_ge(ms, before);
        ck_assert_uint_le(ms, after);
    }
}
END_TEST

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(uuidv7_unique)
{
    enum { N = 2000 };
    static char ids[N][37];
    for (int i = 0; i < N; i++)
        units_uuidv7(ids[i]);
    qsort(ids, N, sizeof(ids[0]), cmp_id);
    for (int i = 1; i < N; i++)
        ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "duplicate id %s", ids[i]);
}
END_TEST

/* Ids made in different milliseconds sort in creation order. */
START_TEST(uuidv7_sorts_by_time)
{
    char prev[37], cur[37];
    units_uuidv7(prev);
    for (int i = 0; i < 20; i++) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        units_uuidv7(cur);
        ck_assert_msg(strcmp(prev, cur) < 0, "%s was made after %s but sorts before it", cur, prev);
        memcpy(prev, cur, sizeof(prev));
    }
}
END_TEST

/* ---- base64 ---- */

static void check_b64(const void *data, size_t len, const char *want)
{
    char *got = units_base64_encode(data, len);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(base64_rfc4648_vectors)
{
    /* RFC 4648 section 10. */
    check_b64("", 0, "");
    check_b64("f", 1, "Zg==");
    check_b64("fo", 2, "Zm8=");
    check_b64("foo", 3, "Zm9v");
    check_b64("foob", 4, "Zm9vYg==");
    check_b64("fooba", 5, "Zm9vYmE=");
    check_b64("foobar", 6, "Zm9vYmFy");
}
END_TEST

START_TEST(base64_standard_alphabet_and_binary)
{
    /* '+' and '/', not the URL-safe '-' and '_'. */
    check_b64("\xfb\xff", 2, "+/8=");
    check_b64("\xff\xfe", 2, "//4=");
    check_b64("\0\0\0", 3, "AAAA");
    check_b64("caf\xe9", 4, "Y2Fm6Q==");
}
END_TEST

static Suite *units_suite(void)
{
    Suite *s = suite_create("units");

    TCase *tc = tcase_create("size");
    tcase_add_test(tc, size_plain_bytes);
    tcase_add_test(tc, size_suffixes_are_powers_of_1024);
    tcase_add_test(tc, size_rejects_garbage);
    tcase_add_test(tc, size_rejects_overflow);
    suite_add_tcase(s, tc);

    tc = tcase_create("duration");
    tcase_add_test(tc, duration_units);
    tcase_add_test(tc, duration_bare_number_is_seconds);
    tcase_add_test(tc, duration_rejects_garbage);
    tcase_add_test(tc, duration_rejects_overflow);
    suite_add_tcase(s, tc);

    tc = tcase_create("time");
    tcase_add_test(tc, format_time_rfc3339_utc_millis);
    tcase_add_test(tc, clocks_are_plausible);
    suite_add_tcase(s, tc);

    tc = tcase_create("ids");
    tcase_add_test(tc, random_fills_buffer);
    tcase_add_test(tc, uuidv7_format);
    tcase_add_test(tc, uuidv7_unique);
    tcase_add_test(tc, uuidv7_sorts_by_time);
    suite_add_tcase(s, tc);

    tc = tcase_create("base64");
    tcase_add_test(tc, base64_rfc4648_vectors);
    tcase_add_test(tc, base64_standard_alphabet_and_binary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(units_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
