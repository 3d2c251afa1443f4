/*
 * test_jsonout.c - json_compact writes exactly what json_dumps(JSON_COMPACT)
 * writes, for the values events are made of and for random ones.
 */
#include "jsonout.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void same_as_jansson(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = json_compact(v, &len);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(strcmp(got, want) == 0, "json_compact:\n%s\njson_dumps:\n%s", got, want);
    ck_assert_uint_eq(len, strlen(got));
    free(want);
    free(got);
}

START_TEST(every_escape)
{
    char all[128];
    for (int i = 0; i < 127; i++)
        all[i] = (char)(i + 1);
    all[127] = 0;
    json_t *v = json_pack("{s:s, s:s%, s:s, s:[i,I,b,b,n,f,f,{}], s:{}}", "ascii", all, "nul",
                          "a\0b", (size_t)3, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                          "mixed", -7, (json_int_t)INT64_MIN, 1, 0, 0.5, 1e300, "empty");
    ck_assert_ptr_nonnull(v);
    same_as_jansson(v);
    json_decref(v);
}
END_TEST

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static json_t *random_string(void)
{
    static const char *const pieces[] = {"a",    "\"",   "\\",   "/",        "\n",
                                         "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80",
                                         " ",    "key"};
    char s[64] = "";
    int n = (int)(next() % 6);
    for (int i = 0; i < n; i++)
        strcat(s, pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))]);
    return json_string(s);
}

static json_t *random_value(int depth)
{
    switch (next() % (depth > 3 ? 5 : 7)) {
    case 0:
        return random_string();
    case 1:
        return json_integer((json_int_t)(next() % 2000000) - 1000000);
    case 2:
        return next() % 2 ? json_true() : json_false();
    case 3:
        return json_null();
    case 4:
        return json_real((double)(next() % 100000) / 64.0);
    case 5: {
        json_t *a = json_array();
        for (int i = (int)(next() % 4); i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = (int)(next() % 5); i > 0; i--) {
            json_t *k = random_string();
            json_object_set_new(o, json_string_value(k), random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

START_TEST(random_values)
{
    for (int i = 0; i < 20000; i++) {
        json_t *v = random_value(0);
        same_as_jansson(v);
        json_decref(v);
    }
}
END_TEST

/* Every member of a random object reads back as the text json_compact
 * writes for its value; keys that need escapes are not looked up. */
START_TEST(members_read_back)
{
    for (int i = 0; i < 5000; i++) {
        json_t *o = json_object();
        for (int n = (int)(next() % 6); n > 0; n--) {
            json_t *k = random_string();
            json_object_set_new(o, json_string_value(k), random_value(1));
            json_decref(k);
        }
        json_object_set_new(o, "last", random_value(1));
        size_t len;
        char *text = json_compact(o, &len);
        const char *key, *val;
        size_t vlen;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            if (strpbrk(key, "\"\\\x01\x1f\n"))
                continue;
            char *want = json_compact(v, NULL);
            ck_assert_int_eq(json_compact_member(text, len, key, &val, &vlen), 0);
            ck_assert_msg(vlen == strlen(want) && memcmp(val, want, vlen) == 0,
                          "member %s of %s read as %.*s", key, text, (int)vlen, val);
            free(want);
        }
        ck_assert_int_eq(json_compact_member(text, len, "absent", &val, &vlen), 1);
        free(text);
        json_decref(o);
    }
}
END_TEST

START_TEST(members_of_non_objects)
{
    const char *val;
    size_t vlen;
    ck_assert_int_eq(json_compact_member("{}", 2, "a", &val, &vlen), 1);
    ck_assert_int_eq(json_compact_member("[1]", 3, "a", &val, &vlen), -1);
    ck_assert_int_eq(json_compact_member("{\"a\":", 5, "a", &val, &vlen), -1);
    ck_assert_int_eq(json_compact_member("{\"a\":\"x", 7, "a", &val, &vlen), -1);
    ck_assert_int_eq(json_compact_member("{\"b\":1", 6, "a", &val, &vlen), -1);
    ck_assert_int_eq(json_compact_member("{\"b\":[1,{\"a\":2}],\"a\":3}", 23, "a", &val, &vlen), 0);
    ck_assert_int_eq(vlen, 1);
    ck_assert_int_eq(val[0], '3');
}
END_TEST

static Suite *jsonout_suite(void)
{
    Suite *s = suite_create("jsonout");
    TCase *tc = tcase_create("compact");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_escape);
    tcase_add_test(tc, random_values);
    tcase_add_test(tc, members_read_back);
    tcase_add_test(tc, members_of_non_objects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(jsonout_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
