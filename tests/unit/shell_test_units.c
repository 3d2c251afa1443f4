/*
 * shell_test_units.c - the shell executor's internal pieces, tested alone:
 * the template resolver, the $SLUICE_OUTPUT parser, stdin body and base64,
 * durations, env names, number formatting.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "shell_test.h"

#include <stdlib.h>
#include <string.h>

#include "kit/outputs.h"
#include "kit/base64.h"
#include "kit/command/payload.h"
#include "kit/command/settings.h"
#include "kit/template.h"
#include "kit/kit.h"

static const char *const unit_event =
    "{\"execution_id\":\"ex-1\",\"flow\":\"prod/deploy\",\"trigger\":\"gh\",\"function\":null,"
    "\"params\":{\"p\":\"pv\"},\"query\":{\"a\":[\"1\"],\"many\":[\"x\",\"y\"],\"e\":[]},"
    "\"headers\":{\"x-github-event\":\"push\"},"
    "\"body\":{\"ref\":\"main\",\"n\":3,\"r\":0.1,\"big\":1e300,\"t\":true,\"f\":false,"
    "\"z\":null,\"obj\":{\"k\":[1,\"two\"]},\"items\":[{\"id\":\"i0\"},{\"id\":\"i1\"}],"
    "\"one\":[{\"id\":\"only\"}],\"nul\":\"a\\u0000b\",\"0\":\"zero-key\"},"
    "\"variables\":{\"name\":\"v\"}}";

/* Render text against unit_event; returns malloc'd text. */
static char *render(const char *text)
{
    json_t *event = json_loads(unit_event, JSON_ALLOW_NUL, NULL);
    kit_template *tpl = NULL;
    char err[512] = "";
    char *out = NULL;
    size_t len = 0;

    ck_assert_ptr_nonnull(event);
    ck_assert_msg(kit_template_compile(&tpl, text, err, sizeof(err)) == 0, "%s: %s", text, err);
    ck_assert_int_eq(kit_template_render(tpl, event, &out, &len), 0);
    ck_assert_uint_eq(strlen(out), len);
    kit_template_free(tpl);
    json_decref(event);
    return out;
}

static void expect_render(const char *text, const char *want)
{
    char *got = render(text);

    ck_assert_msg(strcmp(got, want) == 0, "%s rendered \"%s\", want \"%s\"", text, got, want);
    free(got);
}

static char *compile_error(const char *text)
{
    kit_template *tpl = NULL;
    char err[512] = "";

    if (kit_template_compile(&tpl, text, err, sizeof(err)) == 0) {
        kit_template_free(tpl);
        return NULL;
    }
    ck_assert_ptr_null(tpl);
    return strdup(err);
}

START_TEST(template_values)
{
    expect_render("{body.ref}", "main");
    expect_render("--ref={body.ref}!", "--ref=main!");
    expect_render("{body.n}", "3");
    expect_render("{body.r}", "0.1");
    expect_render("{body.big}", "1e+300");
    expect_render("{body.t}/{body.f}", "true/false");
    expect_render("[{body.z}][{body.missing}][{body.ref.deeper}]", "[][][]");
    expect_render("{body.obj}", "{\"k\":[1,\"two\"]}");
    expect_render("{body.obj.k}", "[1,\"two\"]");
    expect_render("{body.obj.k.1}", "two");
    expect_render("{body.items.1.id}", "i1");
    expect_render("{body.items.2.id}", "");
    expect_render("{body.items.01.id}", "");
    expect_render("{body.0}", "zero-key");
    expect_render("{execution_id} {flow} {trigger} [{function}]", "ex-1 prod/deploy gh []");
    expect_render("{params.p} {variables.name}", "pv v");
}
END_TEST

START_TEST(template_single_element_arrays)
{
    /* Query values are arrays; one element stands for itself. */
    expect_render("{query.a}", "1");
    expect_render("{query.many}", "[\"x\",\"y\"]");
    expect_render("{query.e}", "[]");
    /* A name applied to a one-element array looks inside it. */
    expect_render("{body.one.id}", "only");
    expect_render("{body.one.0.id}", "only");
    expect_render("{body.items.id}", "");
}
END_TEST

START_TEST(template_braces_and_headers)
{
    expect_render("{{body.ref}}", "{body.ref}");
    expect_render("{{{body.ref}}}", "{main}");
    expect_render("a}}b{{c", "a}b{c");
    expect_render("plain text", "plain text");
    expect_render("", "");
    /* Header names are matched in lower case, as the event stores them. */
    expect_render("{headers.X-GitHub-Event}", "push");
    expect_render("{headers.x-github-event}", "push");
}
END_TEST

START_TEST(template_nul_is_reported_by_length)
{
    json_t *event = json_loads(unit_event, JSON_ALLOW_NUL, NULL);
    kit_template *tpl = NULL;
    char err[256];
    char *out;
    size_t len;

    ck_assert_int_eq(kit_template_compile(&tpl, "<{body.nul}>", err, sizeof(err)), 0);
    ck_assert_int_eq(kit_template_render(tpl, event, &out, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_uint_eq(strlen(out), 2);
    ck_assert_int_eq(memcmp(out, "<a\0b>", 5), 0);
    free(out);
    kit_template_free(tpl);
    json_decref(event);
}
END_TEST

START_TEST(template_compile_errors)
{
    char *err;

    err = compile_error("{bdy.ref}");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "unknown placeholder root \"bdy\"") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "body") != NULL, "lists the known roots: %s", err);
    free(err);

    err = compile_error("x{body.ref");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "unclosed '{' at offset 1") != NULL, "%s", err);
    free(err);

    err = compile_error("x}y");
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "unmatched '}'") != NULL, "%s", err);
    free(err);

    const char *bad[] = {"{}",         "{body.}",    "{.body}",   "{body..x}",
                         "{ body.x }", "{body.a b}", "{body.{x}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = compile_error(bad[i]);
        ck_assert_msg(err != NULL, "\"%s\" compiled", bad[i]);
        free(err);
    }
    ck_assert_ptr_null(compile_error("{body}"));
    ck_assert_ptr_null(compile_error("{raw_body_b64}{received_at}{remote_addr}{method}"));
}
END_TEST

START_TEST(template_script_scan)
{
    char found[64];

    ck_assert_int_eq(kit_template_find_in_script("echo {body.ref}", found, sizeof(found)), 1);
    ck_assert_str_eq(found, "{body.ref}");
    ck_assert_int_eq(kit_template_find_in_script("x=1; echo {flow}", found, sizeof(found)), 1);
    ck_assert_str_eq(found, "{flow}");
    /* Shell syntax that is not a placeholder. */
    const char *ok[] = {"echo ${body}",           "echo \"${HOME}\"", "awk '{print $1}'",
                        "find . -exec rm {} \\;", "f() { echo hi; }", "echo {a,b}",
                        "echo {{body.ref}}",      "echo {HOME}"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(kit_template_find_in_script(ok[i], found, sizeof(found)) == 0,
                      "\"%s\" flagged as %s", ok[i], found);
}
END_TEST

static json_t *parse_outputs(const char *text, char *err, size_t errlen)
{
    json_t *out = (json_t *)1;
    int rc = kit_outputs_parse(text, strlen(text), &out, err, errlen);

    if (rc != 0) {
        ck_assert_ptr_null(out);
        return (json_t *)-1;
    }
    return out;
}

START_TEST(outputs_formats)
{
    char err[256];
    json_t *o;

    o = parse_outputs("{\"version\": \"1.2\", \"n\": [1, 2]}\n", err, sizeof(err));
    ck_assert_str_eq(json_string_value(json_object_get(o, "version")), "1.2");
    ck_assert_uint_eq(json_array_size(json_object_get(o, "n")), 2);
    json_decref(o);

    o = parse_outputs("# a comment\n\n  \nversion=1.2\r\nurl = http://x/?a=b=c\n"
                      "msg=two words \nversion=1.3\nempty=",
                      err, sizeof(err));
    ck_assert_uint_eq(json_object_size(o), 4);
    ck_assert_str_eq(json_string_value(json_object_get(o, "version")), "1.3");
    ck_assert_str_eq(json_string_value(json_object_get(o, "url")), " http://x/?a=b=c");
    ck_assert_str_eq(json_string_value(json_object_get(o, "msg")), "two words ");
    ck_assert_str_eq(json_string_value(json_object_get(o, "empty")), "");
    json_decref(o);

    ck_assert_ptr_null(parse_outputs("", err, sizeof(err)));
    ck_assert_ptr_null(parse_outputs(" \n\t\n", err, sizeof(err)));
    ck_assert_ptr_null(parse_outputs("# only a comment\n", err, sizeof(err)));
}
END_TEST

START_TEST(outputs_errors)
{
    char err[256];

    ck_assert_ptr_eq(parse_outputs("{\"a\": ", err, sizeof(err)), (json_t *)-1);
    ck_assert_msg(strstr(err, "not a JSON object") != NULL, "%s", err);
    ck_assert_ptr_eq(parse_outputs("a=1\njust text\n", err, sizeof(err)), (json_t *)-1);
    ck_assert_msg(strstr(err, "line 2") != NULL, "%s", err);
    ck_assert_ptr_eq(parse_outputs("=value\n", err, sizeof(err)), (json_t *)-1);
    ck_assert_ptr_eq(parse_outputs("[1, 2]", err, sizeof(err)), (json_t *)-1);
    ck_assert_ptr_eq(parse_outputs("a=\xff\xfe\n", err, sizeof(err)), (json_t *)-1);
    ck_assert_msg(strstr(err, "UTF-8") != NULL, "%s", err);
}
END_TEST

START_TEST(payload_base64)
{
    unsigned char *out;
    size_t len;

    ck_assert_int_eq(kit_base64_decode("AAEC/w==", 8, &out, &len), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(memcmp(out, "\x00\x01\x02\xff", 4), 0);
    free(out);
    ck_assert_int_eq(kit_base64_decode("aGVsbG8", 7, &out, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq((char *)out, "hello");
    free(out);
    ck_assert_int_eq(kit_base64_decode("", 0, &out, &len), 0);
    ck_assert_uint_eq(len, 0);
    free(out);
    ck_assert_int_eq(kit_base64_decode("a", 1, &out, &len), -1);
    ck_assert_int_eq(kit_base64_decode("a$==", 4, &out, &len), -1);
}
END_TEST

static void expect_body(const char *event_text, const char *want, size_t want_len)
{
    json_t *event = json_loads(event_text, 0, NULL);
    char err[128];
    char *out;
    size_t len;

    ck_assert_ptr_nonnull(event);
    ck_assert_int_eq(kit_payload_body(event, &out, &len, err, sizeof(err)), 0);
    ck_assert_uint_eq(len, want_len);
    ck_assert_int_eq(memcmp(out, want, len), 0);
    free(out);
    json_decref(event);
}

START_TEST(payload_body_modes)
{
    expect_body("{\"body\":\"line1\\nline2\",\"raw_body_b64\":null}", "line1\nline2", 11);
    expect_body("{\"body\":{\"a\": [1, \"x\"]}}", "{\"a\":[1,\"x\"]}", 13);
    expect_body("{\"body\":null,\"raw_body_b64\":\"AAEC/w==\"}", "\x00\x01\x02\xff", 4);
    expect_body("{\"body\":null,\"raw_body_b64\":null}", "", 0);
    expect_body("{}", "", 0);
}
END_TEST

START_TEST(durations_and_names)
{
    long ms = -1;

    const struct {
        const char *text;
        long ms;
    } good[] = {{"500ms", 500}, {"2s", 2000},  {"1m", 60000},    {"0s", 0},
                {"5", 5000},    {"2 s", 2000}, {"1d", 86400000}, {"24h", 86400000}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_t *v = json_string(good[i].text);

        ck_assert_msg(kit_duration(v, &ms) == 0 && ms == good[i].ms, "\"%s\"", good[i].text);
        json_decref(v);
    }
    const char *bad[] = {"", "s", "-1s", "1.5s", "5x", "3d", "25h", "99999999999999h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = json_string(bad[i]);

        ck_assert_msg(kit_duration(v, &ms) != 0, "\"%s\" parsed", bad[i]);
        json_decref(v);
    }
    json_t *n = json_integer(5);
    ck_assert_int_eq(kit_duration(n, &ms), 0);
    ck_assert_int_eq(ms, 5000);
    json_decref(n);

    ck_assert(kit_settings_env_name_ok("REF"));
    ck_assert(kit_settings_env_name_ok("_x9"));
    ck_assert(!kit_settings_env_name_ok("9x"));
    ck_assert(!kit_settings_env_name_ok("A-B"));
    ck_assert(!kit_settings_env_name_ok("A=B"));
    ck_assert(!kit_settings_env_name_ok(""));
}
END_TEST

START_TEST(real_formatting)
{
    char buf[64];

    kit_format_real(0.1, buf, sizeof(buf));
    ck_assert_str_eq(buf, "0.1");
    kit_format_real(1.0, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1.0");
    kit_format_real(-2.5, buf, sizeof(buf));
    ck_assert_str_eq(buf, "-2.5");
    kit_format_real(1.0 / 3.0, buf, sizeof(buf));
    ck_assert_double_eq(strtod(buf, NULL), 1.0 / 3.0);
}
END_TEST

Suite *shell_units_suite(void)
{
    Suite *s = suite_create("shell-units");
    TCase *tc = tcase_create("units");

    tcase_add_test(tc, template_values);
    tcase_add_test(tc, template_single_element_arrays);
    tcase_add_test(tc, template_braces_and_headers);
    tcase_add_test(tc, template_nul_is_reported_by_length);
    tcase_add_test(tc, template_compile_errors);
    tcase_add_test(tc, template_script_scan);
    tcase_add_test(tc, outputs_formats);
    tcase_add_test(tc, outputs_errors);
    tcase_add_test(tc, payload_base64);
    tcase_add_test(tc, payload_body_modes);
    tcase_add_test(tc, durations_and_names);
    tcase_add_test(tc, real_formatting);
    suite_add_tcase(s, tc);
    return s;
}
