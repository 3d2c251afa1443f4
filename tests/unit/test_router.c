/*
 * test_router.c - route templates: syntax, conflicts, exact matching,
 * precedence, parameter decoding.
 */
#include "router.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Targets are only compared by address. */
static int T1, T2, T3, T4;

static router *rt;

static void setup(void)
{
    rt = router_new();
    ck_assert_ptr_nonnull(rt);
}

static void teardown(void)
{
    router_free(rt);
    rt = NULL;
}

static void add_ok(const char *tmpl, void *target)
{
    char err[256] = "";
    void *other = &T4;
    ck_assert_msg(router_add(rt, tmpl, target, &other, err, sizeof(err)) == 0,
                  "router_add(\"%s\") failed: %s", tmpl, err);
    ck_assert_ptr_null(other);
}

/* A template that must be refused as bad syntax (no conflict). */
static void add_bad(const char *tmpl, const char *why)
{
    char err[256] = "";
    void *other = &T4;
    ck_assert_msg(router_add(rt, tmpl, &T1, &other, err, sizeof(err)) == -1,
                  "template \"%s\" was accepted", tmpl);
    ck_assert_msg(strstr(err, why) != NULL, "template \"%s\": message \"%s\" lacks \"%s\"", tmpl,
                  err, why);
    ck_assert_ptr_null(other);
}

/* path must match and land on target; returns the match for more checks. */
static route_match match_ok(const char *path, void *target)
{
    route_match m;
    int rc = router_match(rt, path, &m);
    ck_assert_msg(rc == 1, "\"%s\" did not match (rc %d)", path, rc);
    ck_assert_msg(m.target == target, "\"%s\" matched %s, the wrong template", path,
                  m.template_path);
    return m;
}

static void match_none(const char *path)
{
    route_match m;
    int rc = router_match(rt, path, &m);
    ck_assert_msg(rc == 0, "\"%s\" gave %d (template %s), want no match", path, rc,
                  rc == 1 ? m.template_path : "-");
    ck_assert_uint_eq(m.n_params, 0);
}

static void match_malformed(const char *path)
{
    route_match m;
    int rc = router_match(rt, path, &m);
    ck_assert_msg(rc == -1, "\"%s\" gave %d, want -1 (malformed)", path, rc);
    ck_assert_uint_eq(m.n_params, 0);
}

/* ---- precedence ---- */

START_TEST(literal_beats_parameter)
{
    add_ok("/hooks/{trigger}", &T1);
    add_ok("/hooks/status", &T2);

    route_match m = match_ok("/hooks/status", &T2);
    ck_assert_uint_eq(m.n_params, 0);
    ck_assert_str_eq(m.template_path, "/hooks/status");
    route_match_clear(&m);

    m = match_ok("/hooks/deploy", &T1);
    ck_assert_uint_eq(m.n_params, 1);
    ck_assert_str_eq(m.names[0], "trigger");
    ck_assert_str_eq(m.values[0], "deploy");
    ck_assert_str_eq(m.template_path, "/hooks/{trigger}");
    route_match_clear(&m);
}
END_TEST

/* The order templates were added in must not change which one wins. */
START_TEST(literal_beats_parameter_added_first)
{
    add_ok("/hooks/status", &T2);
    add_ok("/hooks/{trigger}", &T1);
    route_match m = match_ok("/hooks/status", &T2);
    route_match_clear(&m);
    m = match_ok("/hooks/other", &T1);
    route_match_clear(&m);
}
END_TEST

/* "/a/b" matches both; the first segment where they differ decides. */
START_TEST(first_differing_segment_decides)
{
    add_ok("/{x}/b", &T1);
    add_ok("/a/{y}", &T2);
    add_ok("/{p}/{q}", &T3);
    route_match m = match_ok("/a/b", &T2);
    ck_assert_str_eq(m.names[0], "y");
    ck_assert_str_eq(m.values[0], "b");
    route_match_clear(&m);
    m = match_ok("/z/b", &T1);
    route_match_clear(&m);
    m = match_ok("/z/z", &T3);
    ck_assert_uint_eq(m.n_params, 2);
    ck_assert_str_eq(m.values[0], "z");
    ck_assert_str_eq(m.values[1], "z");
    route_match_clear(&m);
}
END_TEST

START_TEST(first_differing_segment_decides_reverse_order)
{
    add_ok("/{p}/{q}", &T3);
    add_ok("/a/{y}", &T2);
    add_ok("/{x}/b", &T1);
    route_match m = match_ok("/a/b", &T2);
    route_match_clear(&m);
}
END_TEST

/* ---- exact matching ---- */

START_TEST(no_prefix_match)
{
    add_ok("/hooks/{t}", &T1);
    match_none("/hooks/a/b");
    match_none("/hooks");
    match_none("/");
    match_none("/hook/a");
    match_none("/HOOKS/a");
    match_none("/x/hooks/a");
}
END_TEST

START_TEST(parameter_never_empty)
{
    add_ok("/hooks/{t}", &T1);
    match_none("/hooks/");
}
END_TEST

START_TEST(literal_route)
{
    add_ok("/api/v1/health", &T1);
    route_match m = match_ok("/api/v1/health", &T1);
    ck_assert_uint_eq(m.n_params, 0);
    route_match_clear(&m);
    match_none("/api/v1/healthz");
    match_none("/api/v1");
    match_none("/api/v1/health/x");
}
END_TEST

START_TEST(many_parameters_in_order)
{
    add_ok("/api/v1/executions/webhook/{namespace}/{flow}/{key}", &T1);
    add_ok("/api/v1/{tenant}/executions/webhook/{namespace}/{flow}/{key}", &T2);
    route_match m = match_ok("/api/v1/executions/webhook/prod/deploy/k3y", &T1);
    ck_assert_uint_eq(m.n_params, 3);
    ck_assert_str_eq(m.names[0], "namespace");
    ck_assert_str_eq(m.names[1], "flow");
    ck_assert_str_eq(m.names[2], "key");
    ck_assert_str_eq(m.values[0], "prod");
    ck_assert_str_eq(m.values[1], "deploy");
    ck_assert_str_eq(m.values[2], "k3y");
    route_match_clear(&m);
    m = match_ok("/api/v1/acme/executions/webhook/prod/deploy/k3y", &T2);
    ck_assert_uint_eq(m.n_params, 4);
    ck_assert_str_eq(m.names[0], "tenant");
    ck_assert_str_eq(m.values[0], "acme");
    route_match_clear(&m);
}
END_TEST

/* More routes than the initial capacity: every one must still be found. */
START_TEST(many_routes)
{
    static int targets[50];
    char path[64];
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "/r/%d/{x}", i);
        add_ok(path, &targets[i]);
    }
    for (int i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "/r/%d/v%d", i, i);
        route_match m = match_ok(path, &targets[i]);
        char want[16];
        snprintf(want, sizeof(want), "v%d", i);
        ck_assert_str_eq(m.values[0], want);
        route_match_clear(&m);
    }
}
END_TEST

/* ---- decoding ---- */

START_TEST(parameters_are_decoded)
{
    add_ok("/hooks/{t}", &T1);
    route_match m = match_ok("/hooks/hello%20world", &T1);
    ck_assert_str_eq(m.values[0], "hello world");
    route_match_clear(&m);
    /* '+' is only a space in query strings and forms, never in a path. */
    m = match_ok("/hooks/a+b", &T1);
    ck_assert_str_eq(m.values[0], "a+b");
    route_match_clear(&m);
    m = match_ok("/hooks/%E2%82%AC%2f%3F", &T1);
    ck_assert_str_eq(m.values[0], "\xe2\x82\xac/?");
    route_match_clear(&m);
}
END_TEST

START_TEST(literals_compare_decoded)
{
    add_ok("/hooks/status", &T1);
    route_match m = match_ok("/hooks/st%61tus", &T1);
    route_match_clear(&m);
}
END_TEST

START_TEST(malformed_paths)
{
    add_ok("/hooks/{t}", &T1);
    match_malformed("/hooks/%zz");
    match_malformed("/hooks/%4");
    match_malformed("/hooks/%");
    match_malformed("/hooks/a%g0");
    match_malformed("/hooks/a%00b");
    match_malformed("/hooks/%00");
    match_malformed("/hooks//x");
    match_malformed("hooks/x");
    match_malformed("");
}
END_TEST

START_TEST(too_many_segments)
{
    char tmpl[256] = "", path[256] = "";
    for (int i = 0; i < ROUTER_MAX_SEGMENTS; i++) {
        strcat(tmpl, "/s");
        strcat(path, "/s");
    }
    add_ok(tmpl, &T1);
    route_match m = match_ok(path, &T1);
    route_match_clear(&m);
    strcat(path, "/s");
    match_malformed(path);
}
END_TEST

/* ---- templates ---- */

START_TEST(bad_templates)
{
    add_bad("hooks/x", "must start with '/'");
    add_bad("", "must start with '/'");
    add_bad("//x", "empty segment");
    add_bad("/hooks//x", "empty segment");
    add_bad("/hooks/", "must not end with '/'");
    add_bad("/hooks/x/", "must not end with '/'");
    add_bad("/hooks/{}", "bad parameter segment");
    add_bad("/hooks/{a", "bad parameter segment");
    add_bad("/hooks/{a}b", "bad parameter segment");
    add_bad("/hooks/{a b}", "bad parameter name");
    add_bad("/hooks/{a/b}", "bad parameter segment");
    add_bad("/hooks/{{a}}", "bad parameter name");
    add_bad("/hooks/{a%}", "bad parameter name");
    add_bad("/hooks/a}", "bad character");
    add_bad("/hooks/a{b}", "bad character");
    add_bad("/hooks/a?b", "bad character");
    add_bad("/hooks/a#b", "bad character");
    add_bad("/hooks/a%20b", "bad character");
    /* Nothing refused may have been added. */
    match_none("/hooks/x");
}
END_TEST

START_TEST(segment_and_parameter_limits)
{
    char tmpl[512] = "";
    for (int i = 0; i <= ROUTER_MAX_SEGMENTS; i++)
        strcat(tmpl, "/s");
    add_bad(tmpl, "segments");

    strcpy(tmpl, "");
    for (int i = 0; i < ROUTER_MAX_PARAMS; i++) {
        char seg[16];
        snprintf(seg, sizeof(seg), "/{p%d}", i);
        strcat(tmpl, seg);
    }
    add_ok(tmpl, &T1);
    route_match m = match_ok("/a/b/c/d/e/f/g/h", &T1);
    ck_assert_uint_eq(m.n_params, ROUTER_MAX_PARAMS);
    ck_assert_str_eq(m.names[7], "p7");
    ck_assert_str_eq(m.values[7], "h");
    route_match_clear(&m);

    strcat(tmpl, "/{p8}");
    add_bad(tmpl, "parameters");
}
END_TEST

START_TEST(duplicate_shapes_conflict)
{
    char err[256];
    void *other = NULL;
    add_ok("/hooks/{a}", &T1);
    add_ok("/hooks/lit", &T2);

    ck_assert_int_eq(router_add(rt, "/hooks/{b}", &T3, &other, err, sizeof(err)), -1);
    ck_assert_ptr_eq(other, &T1);
    ck_assert_msg(strstr(err, "/hooks/{b}") && strstr(err, "/hooks/{a}"),
                  "conflict message \"%s\" must name both templates", err);

    other = NULL;
    ck_assert_int_eq(router_add(rt, "/hooks/lit", &T3, &other, err, sizeof(err)), -1);
    ck_assert_ptr_eq(other, &T2);

    /* The refused templates changed nothing. */
    route_match m = match_ok("/hooks/x", &T1);
    ck_assert_str_eq(m.names[0], "a");
    route_match_clear(&m);

    /* Conflict reporting is optional for the caller. */
    ck_assert_int_eq(router_add(rt, "/hooks/{c}", &T3, NULL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(different_shapes_coexist)
{
    add_ok("/hooks/{a}", &T1);
    add_ok("/hooks/{a}/x", &T2);
    add_ok("/hooks/x/{a}", &T3);
    route_match m = match_ok("/hooks/q/x", &T2);
    route_match_clear(&m);
    m = match_ok("/hooks/x/q", &T3);
    route_match_clear(&m);
}
END_TEST

/* ---- router_decode ---- */

static void decode_is(const char *in, int plus, const char *want)
{
    char *got = router_decode(in, strlen(in), plus);
    ck_assert_msg(got != NULL, "router_decode(\"%s\") failed", in);
    ck_assert_str_eq(got, want);
    free(got);
}

static void decode_fails(const char *in, size_t len)
{
    char *got = router_decode(in, len, 1);
    ck_assert_msg(!got, "router_decode(\"%.*s\") gave \"%s\"", (int)len, in, got);
}

START_TEST(decode_plus_is_space)
{
    decode_is("a+b%20c", 1, "a b c");
    decode_is("a+b%20c", 0, "a+b c");
    decode_is("%2B", 1, "+");
    decode_is("", 1, "");
}
END_TEST

START_TEST(decode_hex_either_case)
{
    decode_is("%41%62%6a%6A", 0, "Abjj");
    decode_is("%e2%82%ac", 0, "\xe2\x82\xac");
    decode_is("100%25", 0, "100%");
}
END_TEST

START_TEST(decode_rejects_bad_encoding)
{
    decode_fails("%", 1);
    decode_fails("%4", 2);
    decode_fails("a%4", 3);
    decode_fails("%G1", 3);
    decode_fails("%1G", 3);
    decode_fails("%00", 3);
    decode_fails("a%00b", 5);
    /* The length bounds the input: "%41" cut to two bytes is truncated. */
    decode_fails("%41", 2);
}
END_TEST

START_TEST(decode_respects_length)
{
    char *got = router_decode("abc%20def", 3, 0);
    ck_assert_str_eq(got, "abc");
    free(got);
    got = router_decode("abc%20def", 6, 0);
    ck_assert_str_eq(got, "abc ");
    free(got);
}
END_TEST

static Suite *router_suite(void)
{
    Suite *s = suite_create("router");

    TCase *tc = tcase_create("precedence");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, literal_beats_parameter);
    tcase_add_test(tc, literal_beats_parameter_added_first);
    tcase_add_test(tc, first_differing_segment_decides);
    tcase_add_test(tc, first_differing_segment_decides_reverse_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("exact");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, no_prefix_match);
    tcase_add_test(tc, parameter_never_empty);
    tcase_add_test(tc, literal_route);
    tcase_add_test(tc, many_parameters_in_order);
    tcase_add_test(tc, many_routes);
    suite_add_tcase(s, tc);

    tc = tcase_create("match_decoding");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parameters_are_decoded);
    tcase_add_test(tc, literals_compare_decoded);
    tcase_add_test(tc, malformed_paths);
    tcase_add_test(tc, too_many_segments);
    suite_add_tcase(s, tc);

    tc = tcase_create("templates");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bad_templates);
    tcase_add_test(tc, segment_and_parameter_limits);
    tcase_add_test(tc, duplicate_shapes_conflict);
    tcase_add_test(tc, different_shapes_coexist);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_add_test(tc, decode_plus_is_space);
    tcase_add_test(tc, decode_hex_either_case);
    tcase_add_test(tc, decode_rejects_bad_encoding);
    tcase_add_test(tc, decode_respects_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(router_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
