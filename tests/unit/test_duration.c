/*
 * test_duration.c - one grammar for durations: sluice.conf's (core's
 * cp_get_duration and units_parse_duration) and the plugins' (the SDK's
 * sluice_json_duration, which plugins/kit's kit_duration calls) read the same
 * table of values the same way.
 */
#include "confparse.h"
#include "units.h"

#include <check.h>
#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sluice/jansson.h>

/* One value as written in sluice.conf and in a plugin's JSON config (the
 * literals are the same in both syntaxes), and what it means. */
static const struct {
    const char *literal;
    int ok;
    uint64_t ms;
} cases[] = {
    {"\"250ms\"", 1, 250},
    {"\"30s\"", 1, 30000},
    {"\"5m\"", 1, 300000},
    {"\"5min\"", 1, 300000},
    {"\"1h\"", 1, 3600000},
    {"\"14d\"", 1, 14ULL * 86400000},
    {"\"0s\"", 1, 0},
    {"\"0\"", 1, 0},
    {"\"5\"", 1, 5000}, /* a bare number is seconds ... */
    {"5", 1, 5000},     /* ... as a string or as an integer */
    {"0", 1, 0},
    {"\"5 s\"", 1, 5000},
    {"\"18446744073709551615ms\"", 1, UINT64_MAX},
    {"\"18446744073709551616ms\"", 0, 0},
    {"\"18446744073709551615s\"", 0, 0},
    {"\"\"", 0, 0},
    {"\"s\"", 0, 0},
    {"\" 5s\"", 0, 0},
    {"\"5s \"", 0, 0},
    {"\"+5s\"", 0, 0},
    {"\"-5s\"", 0, 0},
    {"-5", 0, 0},
    {"\"1.5s\"", 0, 0},
    {"\"5S\"", 0, 0},
    {"\"5x\"", 0, 0},
    {"\"5 minutes\"", 0, 0},
    {"\"0x10s\"", 0, 0},
    {"1.5", 0, 0},
    {"true", 0, 0},
};

/* Core: the literal as the value of a setting, read by cp_get_duration. */
static int core_duration(const char *literal, uint64_t *ms)
{
    char text[128], err[256] = "";
    parse_ctx c = {.err = err, .errlen = sizeof(err), .dir = "."};
    config_t cfg;
    int rc;

    snprintf(text, sizeof(text), "d = %s;\n", literal);
    config_init(&cfg);
    ck_assert_msg(config_read_string(&cfg, text) == CONFIG_TRUE, "libconfig refused %s", text);
    rc = cp_get_duration(&c, config_root_setting(&cfg), "d", "x", ms);
    if (rc != 0)
        ck_assert_msg(strstr(err, "bad duration") != NULL, "%s: %s", literal, err);
    config_destroy(&cfg);
    return rc;
}

/* SDK: the literal as a JSON value, read by sluice_json_duration. */
static int sdk_duration(const char *literal, uint64_t *ms)
{
    json_error_t jerr;
    json_t *v = json_loads(literal, JSON_DECODE_ANY, &jerr);
    int rc;

    ck_assert_msg(v != NULL, "jansson refused %s: %s", literal, jerr.text);
    rc = sluice_json_duration(v, ms);
    json_decref(v);
    return rc;
}

START_TEST(same_table_both_parsers)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *lit = cases[i].literal;
        uint64_t core = 7, sdk = 7;
        int core_rc = core_duration(lit, &core), sdk_rc = sdk_duration(lit, &sdk);

        ck_assert_msg((core_rc == 0) == cases[i].ok, "core %s %s",
                      cases[i].ok ? "refused" : "accepted", lit);
        ck_assert_msg((sdk_rc == 0) == cases[i].ok, "SDK %s %s",
                      cases[i].ok ? "refused" : "accepted", lit);
        if (cases[i].ok) {
            ck_assert_msg(core == cases[i].ms, "core read %s as %llu ms", lit,
                          (unsigned long long)core);
            ck_assert_msg(sdk == cases[i].ms, "SDK read %s as %llu ms", lit,
                          (unsigned long long)sdk);
        }
    }
}
END_TEST

/* units_parse_duration is the string grammar itself: for every string of the
 * table it agrees with sluice_json_duration on the same string. */
START_TEST(string_grammar_matches)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *v = json_loads(cases[i].literal, JSON_DECODE_ANY, NULL);
        uint64_t a = 7, b = 7;

        if (json_is_string(v)) {
            int ra = units_parse_duration(json_string_value(v), &a);
            int rb = sluice_json_duration(v, &b);

            ck_assert_msg(ra == rb && (ra != 0 || a == b), "%s: core %d/%llu, SDK %d/%llu",
                          cases[i].literal, ra, (unsigned long long)a, rb, (unsigned long long)b);
        }
        json_decref(v);
    }
}
END_TEST

static Suite *duration_suite(void)
{
    Suite *s = suite_create("duration");
    TCase *tc = tcase_create("grammar");

    tcase_add_test(tc, same_table_both_parsers);
    tcase_add_test(tc, string_grammar_matches);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(duration_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
