/*
 * test_jsonscan.c - the body checker is RFC 8259, and its trees are what
 * plugins read (sluice_json_parse_event).
 *
 * Hand-picked cases pin the grammar and the traps (duplicate keys, \u0000,
 * lone surrogates, overlong UTF-8, big numbers, depth); then a few hundred
 * thousand deterministic mutations of real-looking bodies are checked
 * against jansson: whatever jansson accepts is accepted with the same tree,
 * whatever is accepted that jansson refuses is refused for one of
 * jansson's known limits only, and for every accepted body sluiced's tree
 * and the SDK's are the same.
 */
#include "jsonscan.h"

#include <check.h>
#include <jansson.h>
#include <sluice/jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 64

static int scan(const char *s)
{
    return json_scan(s, strlen(s), DEPTH, 0, NULL);
}

/* The tree sluiced builds is the one the SDK reads from the event. */
static void same_as_sdk(const char *s, size_t n, const json_t *tree)
{
    char *ev = malloc(n + 16);
    ck_assert_ptr_nonnull(ev);
    memcpy(ev, "{\"body\":", 8);
    memcpy(ev + 8, s, n);
    memcpy(ev + 8 + n, "}", 2);
    json_error_t e;
    json_t *sdk = sluice_json_parse_event(ev, n + 9, &e);
    ck_assert_msg(sdk != NULL, "the SDK cannot read %.*s: %s", (int)n, s, e.text);
    ck_assert_msg(json_equal(json_object_get(sdk, "body"), tree),
                  "sluiced and the SDK read %.*s differently", (int)n, s);
    json_decref(sdk);
    free(ev);
}

/* Compare with jansson, the reader plugins use (see the file comment). */
static int agree(const char *s, size_t n)
{
    json_scan_info info;
    json_t *tree = json_scan_tree(s, n, DEPTH, 0, &info);
    ck_assert_int_eq(json_scan(s, n, DEPTH, 0, NULL), tree ? 0 : -1);
    json_error_t e;
    json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    /* jansson takes a raw NUL byte outside strings for the end of the text
     * ("123" NUL is accepted): not JSON, and refused here. */
    if (j && !tree && memchr(s, 0, n)) {
        json_decref(j);
        j = NULL;
    }
    if (j) {
        ck_assert_msg(tree != NULL, "jansson accepts, refused (%s at %zu): %.*s", info.error,
                      info.error_at, (int)n, s);
        ck_assert_msg(json_equal(j, tree), "trees differ: %.*s", (int)n, s);
        json_t *fn = json_is_object(j) ? json_object_get(j, "function") : NULL;
        if (json_is_string(fn)) {
            json_t *f = json_scan_tree(info.function, info.function_len, 1, 0, NULL);
            ck_assert_msg(json_equal(f, fn), "function misread in %.*s", (int)n, s);
            json_decref(f);
        } else {
            ck_assert_msg(!info.function, "function invented in %.*s", (int)n, s);
        }
    } else if (tree) {
        enum json_error_code c = json_error_code(&e);
        ck_assert_msg(c == json_error_numeric_overflow || c == json_error_null_byte_in_key,
                      "accepted what jansson refuses for another reason (%s): %.*s", e.text, (int)n,
                      s);
    }
    if (tree)
        same_as_sdk(s, n, tree);
    json_decref(j);
    json_decref(tree);
    return tree != NULL;
}

START_TEST(accepts_rfc8259)
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
        "{\"id\":18446744073709551615}",
        "[1.0e400,-1e999,1e-400,123456789012345678901234567890]",
        "{\"a\":\"x\\u0000y\"}",
        "{\"a\\u0000b\":1}",
        "\"\\ud83d\\ude00\"",
        "{\"function\":\"de\\u0070loy\"}",
        "1E+2",
        "[-0.0e-0]",
        NULL};
    for (const char *const *p = ok; *p; p++) {
        ck_assert_msg(scan(*p) == 0, "not accepted: %s", *p);
        ck_assert(agree(*p, strlen(*p)));
    }
}
END_TEST

START_TEST(refuses_what_is_not_json)
{
    static const char *const bad[] = {
        "",
        "   ",
        "{\"a\":1,\"a\":2}",               /* duplicate key */
        "{\"a\":{\"b\":1,\"b\":1}}",       /* duplicate key, nested */
        "{\"\\u0061\":1,\"a\":2}",         /* the same key, escaped */
        "{\"a\\u0000\":1,\"a\\u0000\":2}", /* the same key with a NUL */
        "\"\\ud800\"",                     /* lone surrogate */
        "\"\\udc00\\ud800\"",              /* a pair the wrong way round */
        "\"\xc0\xaf\"",                    /* overlong */
        "\"\xed\xa0\x80\"",                /* surrogate in UTF-8 */
        "\"\xf4\x90\x80\x80\"",            /* above U+10FFFF */
        "\"\xe2\x82\"",                    /* truncated */
        "\"tab\there\"",                   /* raw control character */
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "1e+",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "[1 2]",
        "tru",
        "nulll",
        "{} {}",
        "\xef\xbb\xbf{}", /* BOM */
        "\"\\x\"",
        "\"\\u12g4\"",
        "\"open",
        "[[[[",
        "NaN",
        "Infinity",
        "[0x1]",
        "\"\\'\"",
        NULL};
    for (const char *const *p = bad; *p; p++) {
        json_scan_info info;
        ck_assert_msg(json_scan(*p, strlen(*p), DEPTH, 0, &info) == -1, "accepted: %s", *p);
        ck_assert_ptr_nonnull(info.error);
        ck_assert_ptr_null(json_scan_tree(*p, strlen(*p), DEPTH, 0, NULL));
    }
    /* A NUL byte after a value is text after it, not the end of the text. */
    ck_assert_int_eq(json_scan("123\0", 4, DEPTH, 0, NULL), -1);
    ck_assert_int_eq(json_scan("[\"a\0\"]", 5, DEPTH, 0, NULL), -1);
}
END_TEST

START_TEST(duplicates_when_asked)
{
    const char *s = "{\"a\":1,\"b\":{\"c\":1,\"c\":2},\"a\":3}";
    ck_assert_int_eq(json_scan(s, strlen(s), DEPTH, 0, NULL), -1);
    ck_assert_int_eq(json_scan(s, strlen(s), DEPTH, JSON_SCAN_DUPLICATES, NULL), 0);
    json_t *t = json_scan_tree(s, strlen(s), DEPTH, JSON_SCAN_DUPLICATES, NULL);
    ck_assert_ptr_nonnull(t);
    /* the last of equal keys counts, as in jansson and the SDK */
    ck_assert_int_eq(json_integer_value(json_object_get(t, "a")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(t, "b"), "c")), 2);
    json_decref(t);
    /* keys far apart in a large object are still found */
    char big[8000];
    size_t n = (size_t)snprintf(big, sizeof(big), "{");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%d\":%d,", i, i);
    snprintf(big + n, sizeof(big) - n, "\"k0\":0}");
    ck_assert_int_eq(json_scan(big, strlen(big), DEPTH, 0, NULL), -1);
    big[n - 1] = '}';
    ck_assert_int_eq(json_scan(big, n, DEPTH, 0, NULL), 0);
}
END_TEST

START_TEST(numbers_jansson_cannot_hold_are_their_text)
{
    const char *s =
        "{\"id\":18446744073709551615,\"x\":1.0e400,\"n\":-1e999,\"i\":9223372036854775807,"
        "\"u\":1e-400,\"a\\u0000b\":1}";
    json_t *t = json_scan_tree(s, strlen(s), DEPTH, 0, NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(json_string_value(json_object_get(t, "id")), "18446744073709551615");
    ck_assert_str_eq(json_string_value(json_object_get(t, "x")), "1.0e400");
    ck_assert_str_eq(json_string_value(json_object_get(t, "n")), "-1e999");
    ck_assert(json_is_integer(json_object_get(t, "i")));
    ck_assert(json_is_real(json_object_get(t, "u")));
    ck_assert_ptr_nonnull(json_object_get(t, "a\xef\xbf\xbd"
                                             "b"));
    json_decref(t);
    ck_assert(agree(s, strlen(s)));
}
END_TEST

START_TEST(depth_is_bounded)
{
    static char deep[200000];
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    json_scan_info info;
    ck_assert_int_eq(json_scan(deep, sizeof(deep), 512, 0, &info), -1);
    ck_assert(info.too_deep);
    ck_assert_int_eq(json_scan(deep + 100000 - 512, 1024, 512, 0, NULL), 0);
    ck_assert_int_eq(json_scan(deep + 100000 - 513, 1026, 512, 0, &info), -1);
    ck_assert(info.too_deep);
    json_t *t = json_scan_tree(deep + 100000 - 512, 1024, 512, 0, NULL);
    ck_assert_ptr_nonnull(t);
    json_decref(t);
}
END_TEST

START_TEST(function_only_at_top_level)
{
    json_scan_info info;
    const char *s = "{\"x\":{\"function\":\"inner\"},\"function\":7}";
    ck_assert_int_eq(json_scan(s, strlen(s), DEPTH, 0, &info), 0);
    ck_assert_ptr_null(info.function);
    s = "[{\"function\":\"inner\"}]";
    ck_assert_int_eq(json_scan(s, strlen(s), DEPTH, 0, &info), 0);
    ck_assert_ptr_null(info.function);
    s = "{\"function\":\"a\\u0062\"}";
    ck_assert_int_eq(json_scan(s, strlen(s), DEPTH, 0, &info), 0);
    ck_assert_uint_eq(info.function_len, 9);
    ck_assert(memcmp(info.function, "\"a\\u0062\"", 9) == 0);
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
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\u0000",
    "\\ud800",
    "0",
    "1",
    "-",
    ".",
    "e",
    "9999999999999999999",
    "1e400",
    "\\u0000\":",
    "true",
    "null",
    " ",
    "\n",
    "\t",
    "\xc3",
    "\xa9",
    "\xed\xa0\x80",
    "\xf0\x9f\x98\x80",
    "\"function\":",
    "\"a\":",
    "\"a\":1,\"a\":2",
    "\x01",
};

START_TEST(mutations_agree_with_jansson_and_the_sdk)
{
    static const char *const seeds[] = {
        "{\"ref\":\"refs/heads/main\",\"function\":\"deploy\",\"commits\":[{\"id\":\"a1\","
        "\"msg\":\"caf\xc3\xa9\",\"n\":12,\"f\":-1.25,\"ok\":true,\"x\":null}],\"variables\":[1,2]}",
        "[{\"a\":\"\\n\\u00e9\"},{\"b\":[[],{}]},\"s\",0,-0.0]",
        "{\"a\":{\"b\":{\"c\":{\"d\":\"e\"}}},\"function\":\"f\"}",
        "{\"id\":18446744073709551615,\"x\":1.0e400,\"k\\u0000\":\"v\\u0000\"}",
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
        if (agree(buf, n))
            accepted++;
    }
    /* The mutations must also produce valid bodies, or the test proves little. */
    ck_assert_msg(accepted > 1000, "only %zu mutated bodies were accepted", accepted);
}
END_TEST

static Suite *jsonscan_suite(void)
{
    Suite *s = suite_create("jsonscan");
    TCase *tc = tcase_create("scan");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, accepts_rfc8259);
    tcase_add_test(tc, refuses_what_is_not_json);
    tcase_add_test(tc, duplicates_when_asked);
    tcase_add_test(tc, numbers_jansson_cannot_hold_are_their_text);
    tcase_add_test(tc, depth_is_bounded);
    tcase_add_test(tc, function_only_at_top_level);
    tcase_add_test(tc, mutations_agree_with_jansson_and_the_sdk);
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
