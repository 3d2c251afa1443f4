/*
 * test_size.c - one grammar for sizes in the plugins: plugins/kit's
 * kit_size reads what the SDK's sluice_json_size reads, plus the terabyte
 * units the container executor's memory took before, so every size the
 * container (memory) and http (max_response) executors accepted with their
 * own parsers still means the same number of bytes.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <sluice/jansson.h>

#include "kit/kit.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)
#define TIB (1024ULL * GIB)

/* One value as a plugin's JSON config writes it, and what it means. sdk is
 * whether sluice_json_size alone reads it (the same bytes when it does). */
static const struct {
    const char *literal;
    int ok;
    uint64_t bytes;
    int sdk;
} cases[] = {
    /* what both old parsers took: digits, then B, K, M, G with an optional
     * B or iB, in any case; integers of bytes */
    {"\"4096\"", 1, 4096, 1},
    {"4096", 1, 4096, 1},
    {"0", 1, 0, 1},
    {"\"0\"", 1, 0, 1},
    {"\"512b\"", 1, 512, 1},
    {"\"512B\"", 1, 512, 1},
    {"\"64k\"", 1, 64 * KIB, 1},
    {"\"64K\"", 1, 64 * KIB, 1},
    {"\"64kb\"", 1, 64 * KIB, 1},
    {"\"64KB\"", 1, 64 * KIB, 1},
    {"\"64KiB\"", 1, 64 * KIB, 1},
    {"\"64kib\"", 1, 64 * KIB, 1},
    {"\"256m\"", 1, 256 * MIB, 1},
    {"\"256M\"", 1, 256 * MIB, 1},
    {"\"256MB\"", 1, 256 * MIB, 1},
    {"\"256MiB\"", 1, 256 * MIB, 1},
    {"\"1g\"", 1, GIB, 1},
    {"\"1G\"", 1, GIB, 1},
    {"\"1Gb\"", 1, GIB, 1},
    {"\"1GiB\"", 1, GIB, 1},
    {"\"007K\"", 1, 7 * KIB, 1},
    {"\"1073741824\"", 1, GIB, 1},
    /* container's memory also took T, TB and TiB; the SDK does not */
    {"\"1t\"", 1, TIB, 0},
    {"\"2T\"", 1, 2 * TIB, 0},
    {"\"2TB\"", 1, 2 * TIB, 0},
    {"\"2tib\"", 1, 2 * TIB, 0},
    {"\"2TiB\"", 1, 2 * TIB, 0},
    {"\"16777215T\"", 1, 16777215ULL * TIB, 0},
    {"\"16777216T\"", 0, 0, 0}, /* 2^64 bytes */
    {"\"18446744073709551615\"", 1, UINT64_MAX, 1},
    {"\"18446744073709551616\"", 0, 0, 0},
    {"\"17179869184G\"", 0, 0, 0},
    /* refused by both old parsers and still refused */
    {"\"\"", 0, 0, 0},
    {"\"K\"", 0, 0, 0},
    {"\"T\"", 0, 0, 0},
    {"\"1X\"", 0, 0, 0},
    {"\"1iB\"", 0, 0, 0},
    {"\"1TT\"", 0, 0, 0},
    {"\"1Tx\"", 0, 0, 0},
    {"\"-1\"", 0, 0, 0},
    {"-1", 0, 0, 0},
    {"\"+1M\"", 0, 0, 0},
    {"\" 1M\"", 0, 0, 0},
    {"\"1M \"", 0, 0, 0},
    {"\"1T \"", 0, 0, 0},
    {"\"1.5M\"", 0, 0, 0},
    {"\"0x10\"", 0, 0, 0},
    {"\"lots\"", 0, 0, 0},
    {"1.5", 0, 0, 0},
    {"true", 0, 0, 0},
    {"null", 0, 0, 0},
};

static json_t *literal_value(const char *literal)
{
    json_error_t jerr;
    json_t *v = json_loads(literal, JSON_DECODE_ANY, &jerr);

    ck_assert_msg(v != NULL, "jansson refused %s: %s", literal, jerr.text);
    return v;
}

START_TEST(old_forms_read_the_same)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = literal_value(cases[i].literal);
        uint64_t got = 7;
        int rc = kit_size(v, &got);

        ck_assert_msg((rc == 0) == cases[i].ok, "kit_size %s %s",
                      cases[i].ok ? "refused" : "accepted", cases[i].literal);
        if (cases[i].ok)
            ck_assert_msg(got == cases[i].bytes, "kit_size read %s as %llu bytes, not %llu",
                          cases[i].literal, (unsigned long long)got,
                          (unsigned long long)cases[i].bytes);
        json_decref(v);
    }
}
END_TEST

/* kit_size is the SDK's grammar and only adds to it: where the SDK reads a
 * value, both read the same bytes; the table names what only kit reads. */
START_TEST(sdk_grammar_underneath)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = literal_value(cases[i].literal);
        uint64_t got = 7;
        int rc = sluice_json_size(v, &got);

        ck_assert_msg((rc == 0) == cases[i].sdk, "sluice_json_size %s %s",
                      cases[i].sdk ? "refused" : "accepted", cases[i].literal);
        if (cases[i].sdk)
            ck_assert_uint_eq(got, cases[i].bytes);
        json_decref(v);
    }
}
END_TEST

/* The SDK's grammar allows spaces between the number and its unit, which
 * the old parsers refused; kit_size, being that grammar, takes them too,
 * for T as for the others. */
START_TEST(spaces_before_the_unit)
{
    json_t *m = json_string("64 M"), *t = json_string("2 T");
    uint64_t got = 0;

    ck_assert_int_eq(kit_size(m, &got), 0);
    ck_assert_uint_eq(got, 64 * MIB);
    ck_assert_int_eq(kit_size(t, &got), 0);
    ck_assert_uint_eq(got, 2 * TIB);
    ck_assert_int_eq(kit_size(NULL, &got), -1);
    json_decref(m);
    json_decref(t);
}
END_TEST

static Suite *size_suite(void)
{
    Suite *s = suite_create("size");
    TCase *tc = tcase_create("grammar");

    tcase_add_test(tc, old_forms_read_the_same);
    tcase_add_test(tc, sdk_grammar_underneath);
    tcase_add_test(tc, spaces_before_the_unit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(size_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
