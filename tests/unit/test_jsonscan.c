/*
 * test_jsonscan.c - the quick body check must never say yes where jansson
 * says no.
 *
 * Hand-picked cases pin the known traps (duplicate keys, \u0000, lone
 * surrogates, overlong UTF-8, big numbers); then a few hundred thousand
 * deterministic mutations of real-looking bodies are checked against
 * jansson itself, the oracle json_scan stands in for.
 */
#include "jsonscan.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

static int jansson_ok(const char *s, size_t n, json_t **out)
{
    json_error_t e;
    json_t *j = json_loadb(s, n, FLAGS, &e);
    if (out)
        *out = j;
    else
        json_decref(j);
    return j != NULL;
}

/* json_scan's OK implies jansson's OK, and the function it saw is jansson's. */
static void agree(const char *s, size_t n)
{
    json_scan_info info;
    int r = json_scan(s, n, 64, &info);
    if (r != JSON_SCAN_OK)
        return;
    json_t *j = NULL;
    ck_assert_msg(jansson_ok(s, n, &j), "scan said OK, jansson refuses: %.*s", (int)n, s);
    json_t *fn = json_is_object(j) ? json_object_get(j, "function") : NULL;
    if (json_is_string(fn)) {
        ck_assert_msg(info.function != NULL, "function missed in %.*s", (int)n, s);
        ck_assert_uint_eq(info.function_len, json_string_length(fn));
        ck_assert(memcmp(info.function, json_string_value(fn), info.function_len) == 0);
    } else {
        ck_assert_msg(info.function == NULL, "function invented in %.*s", (int)n, s);
    }
    json_decref(j);
}

static int scan(const char *s)
{
    return json_scan(s, strlen(s), 64, NULL);
}

START_TEST(accepts_ordinary_bodies)
{
    static const char *const ok[] = {
        "{}",
        "[]",
        " {\"a\":1} ",
        "{\"ref\":\"refs/heads/main\",\"commits\":[{\"id\":\"abc\",\"added\":[]}],\"n\":-0.5}",
        "\"just a string\"",
        "123",
        "-0",
        "true",
        "null",
        "{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}",
        "{\"text\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"esc\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}",
        "{\"function\":\"deploy\"}",
        "{\r\n  \"a\": [1,\n 2]\n}",
        NULL};
    for (const char *const *p = ok; *p; p++) {
        ck_assert_msg(scan(*p) == JSON_SCAN_OK, "not accepted: %s", *p);
        agree(*p, strlen(*p));
    }
}
END_TEST

START_TEST(asks_about_every_trap)
{
    static const char *const ask[] = {
        "",
        "   ",
        "{\"a\":1,\"a\":2}",            /* duplicate key */
        "{\"a\":{\"b\":1,\"b\":1}}",     /* duplicate key, nested */
        "{\"\\u0061\":1,\"a\":2}",       /* escaped key: jansson compares decoded */
        "\"a\\u0000b\"",                 /* NUL */
        "\"\\ud800\"",                   /* lone surrogate */
        "\"\\ud83d\\ude00\"",            /* a pair: left to jansson */
        "\"\xc0\xaf\"",                  /* overlong */
        "\"\xed\xa0\x80\"",              /* surrogate in UTF-8 */
        "\"\xf4\x90\x80\x80\"",          /* above U+10FFFF */
        "\"\xe2\x82\"",                  /* truncated */
        "\"tab\there\"",                 /* raw control character */
        "12345678901234567890",          /* may not fit json_int_t */
        "1e999",                         /* exponent */
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "[1 2]",
        "tru",
        "nulll",
        "{} {}",
        "\xef\xbb\xbf{}",                /* BOM */
        "\"\\x\"",
        "\"\\u12g4\"",
        "\"open",
        "[[[[",
        "{\"function\":\"de\\u0070loy\"}", /* escaped function: jansson decodes it */
        NULL};
    for (const char *const *p = ask; *p; p++)
        ck_assert_msg(scan(*p) == JSON_SCAN_ASK, "accepted: %s", *p);
}
END_TEST

START_TEST(depth_is_bounded)
{
    char deep[200];
    memset(deep, '[', 70);
    memset(deep + 70, ']', 70);
    ck_assert_int_eq(json_scan(deep, 140, 64, NULL), JSON_SCAN_ASK);
    ck_assert_int_eq(json_scan(deep + 10, 120, 64, NULL), JSON_SCAN_OK);
}
END_TEST

START_TEST(function_only_at_top_level)
{
    json_scan_info info;
    const char *s = "{\"x\":{\"function\":\"inner\"},\"function\":7}";
    ck_assert_int_eq(json_scan(s, strlen(s), 64, &info), JSON_SCAN_OK);
    ck_assert_ptr_null(info.function);
    s = "[{\"function\":\"inner\"}]";
    ck_assert_int_eq(json_scan(s, strlen(s), 64, &info), JSON_SCAN_OK);
    ck_assert_ptr_null(info.function);
}
END_TEST

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Bytes a mutation inserts: grammar characters and the usual traps. */
static const char *const pieces[] = {
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\u0000", "\\ud800", "0", "1", "-",
    ".", "e", "9999999999999999999", "true", "null", " ", "\n", "\t", "\xc3", "\xa9",
    "\xed\xa0\x80", "\xf0\x9f\x98\x80", "\"function\":", "\"a\":", "\"a\":1,\"a\":2", "\x01",
};

START_TEST(mutations_never_disagree_with_jansson)
{
    static const char *const seeds[] = {
        "{\"ref\":\"refs/heads/main\",\"function\":\"deploy\",\"commits\":[{\"id\":\"a1\","
        "\"msg\":\"caf\xc3\xa9\",\"n\":12,\"f\":-1.25,\"ok\":true,\"x\":null}],\"variables\":[1,2]}",
        "[{\"a\":\"\\n\\u00e9\"},{\"b\":[[],{}]},\"s\",0,-0.0]",
        "{\"a\":{\"b\":{\"c\":{\"d\":\"e\"}}},\"function\":\"f\"}",
    };
    char buf[1024];
    size_t accepted = 0;
    for (int round = 0; round < 300000; round++) {
        const char *seed = seeds[next() % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int edits = 1 + (int)(next() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = n ? next() % (n + 1) : 0;
            switch (next() % 3) {
            case 0: /* delete a byte */
                if (at < n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                break;
            case 1: { /* insert a piece */
                const char *p = pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))];
                size_t k = strlen(p);
                if (n + k < sizeof(buf)) {
                    memmove(buf + at + k, buf + at, n - at);
                    memcpy(buf + at, p, k);
                    n += k;
                }
                break;
            }
            default: /* replace a byte with any byte */
                if (at < n)
                    buf[at] = (char)(next() & 0xff);
                break;
            }
        }
        json_scan_info info;
        if (json_scan(buf, n, 64, &info) == JSON_SCAN_OK)
            accepted++;
        agree(buf, n);
    }
    /* The mutations must also produce valid bodies, or the test proves little. */
    ck_assert_msg(accepted > 1000, "only %zu mutated bodies were accepted", accepted);
}
END_TEST

static Suite *jsonscan_suite(void)
{
    Suite *s = suite_create("jsonscan");
    TCase *tc = tcase_create("scan");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, accepts_ordinary_bodies);
    tcase_add_test(tc, asks_about_every_trap);
    tcase_add_test(tc, depth_is_bounded);
    tcase_add_test(tc, function_only_at_top_level);
    tcase_add_test(tc, mutations_never_disagree_with_jansson);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jsonscan_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
