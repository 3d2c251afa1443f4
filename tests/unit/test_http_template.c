/*
 * test_http_template.c - placeholders (kit/template.h), URL encoding of the values
 * that land in a URL, JSON body templates and the body modes.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "body.h"
#include "test_http_suites.h"
#include "kit/template.h"

static json_t *event_of(const char *json)
{
    json_error_t jerr;
    json_t *ev = json_loads(json, JSON_ALLOW_NUL, &jerr);

    ck_assert_msg(ev != NULL, "bad test JSON: %s", jerr.text);
    return ev;
}

/* Render text against event with enc; returns a malloc'd string. */
static char *render(const char *text, const char *event_json, enum kit_enc enc, size_t *len)
{
    char err[512], *out = NULL;
    size_t n = 0;
    kit_template *t = NULL;
    json_t *ev = event_of(event_json);

    ck_assert_msg(kit_template_compile(&t, text, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(kit_template_render_enc(t, ev, enc, &out, &n), 0);
    if (len)
        *len = n;
    kit_template_free(t);
    json_decref(ev);
    return out;
}

START_TEST(url_encoding_of_hostile_values)
{
    const char *ev = "{\"body\":{\"id\":\"../../admin?x=1#frag\",\"q\":\"a&b=c d/\\u00e9\","
                     "\"dots\":\"..\",\"at\":\"u@evil.example:80\",\"nul\":\"a\\u0000b\","
                     "\"crlf\":\"x\\r\\nHost: evil\"},\"query\":{\"t\":[\"%2F\"]}}";
    char *out;

    out = render("http://h/items/{body.id}?q={body.q}&t={query.t}", ev, KIT_ENC_URL, NULL);
    ck_assert_str_eq(out, "http://h/items/%2E%2E%2F%2E%2E%2Fadmin%3Fx%3D1%23frag"
                          "?q=a%26b%3Dc%20d%2F%C3%A9&t=%252F");
    free(out);
    out = render("http://h/{body.dots}/x", ev, KIT_ENC_URL, NULL);
    ck_assert_str_eq(out, "http://h/%2E%2E/x");
    free(out);
    out = render("http://h/{body.at}", ev, KIT_ENC_URL, NULL);
    ck_assert_str_eq(out, "http://h/u%40evil%2Eexample%3A80");
    free(out);
    out = render("http://h/{body.nul}/{body.crlf}", ev, KIT_ENC_URL, NULL);
    ck_assert_str_eq(out, "http://h/a%00b/x%0D%0AHost%3A%20evil");
    free(out);
}
END_TEST

START_TEST(url_encoding_leaves_literal_text)
{
    /* The operator's own text, even with reserved characters, is kept. */
    char *out = render("https://h:8443/a/b.json?x=1&y={body.y}#top",
                       "{\"body\":{\"y\":\"unreserved-_~AZaz09\"}}", KIT_ENC_URL, NULL);

    ck_assert_str_eq(out, "https://h:8443/a/b.json?x=1&y=unreserved-_~AZaz09#top");
    free(out);
}
END_TEST

START_TEST(raw_rendering_rules)
{
    const char *ev = "{\"body\":{\"n\":3,\"r\":0.1,\"t\":true,\"z\":null,\"o\":{\"a\":[1,2]},"
                     "\"s\":\"x y\"},\"query\":{\"a\":[\"1\"],\"m\":[\"1\",\"2\"]},"
                     "\"headers\":{\"x-github-event\":\"push\"}}";
    char *out;
    size_t len;

    out = render("{body.n}|{body.r}|{body.t}|{body.z}|{body.missing}|{body.o}|{body.s}", ev,
                 KIT_ENC_RAW, NULL);
    ck_assert_str_eq(out, "3|0.1|true|||{\"a\":[1,2]}|x y");
    free(out);
    out = render("{query.a} {query.m} {query.m.1} {headers.X-GitHub-Event} {{literal}}", ev,
                 KIT_ENC_RAW, NULL);
    ck_assert_str_eq(out, "1 [\"1\",\"2\"] 2 push {literal}");
    free(out);
    out = render("a{body.nul}b", "{\"body\":{\"nul\":\"x\\u0000y\"}}", KIT_ENC_RAW, &len);
    ck_assert_uint_eq(len, 5);
    ck_assert_uint_eq(strlen(out), 2); /* callers detect the NUL by the length */
    free(out);
}
END_TEST

START_TEST(compile_errors)
{
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"{body.x", "unclosed '{'"},
        {"x}", "unmatched '}'"},
        {"{nope.x}", "unknown placeholder root \"nope\""},
        {"{body..x}", "bad placeholder"},
        {"{body x}", "bad placeholder"},
    };
    char err[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kit_template *t = NULL;

        ck_assert_int_eq(kit_template_compile(&t, cases[i].text, err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, cases[i].needle) != NULL, "\"%s\": %s", cases[i].text, err);
    }
}
END_TEST

static char *render_body(const char *tpl_json, const char *event_json)
{
    char err[512], *out;
    json_t *doc = event_of(tpl_json), *ev = event_of(event_json), *res;
    struct http_jtpl *t = NULL;

    ck_assert_msg(http_jtpl_compile(&t, doc, err, sizeof(err)) == 0, "%s", err);
    res = http_jtpl_render(t, ev);
    ck_assert_ptr_nonnull(res);
    out = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(res);
    json_decref(doc);
    json_decref(ev);
    http_jtpl_free(t);
    return out;
}

START_TEST(json_template_keeps_types)
{
    char *out = render_body(
        "{\"n\":\"{body.n}\",\"user\":\"{body.user}\",\"text\":\"hi {body.user.name}!\","
        "\"gone\":\"{body.nothing}\",\"lit\":7,\"list\":[\"{body.n}\",false,\"x\"],"
        "\"q\":\"{query.a}\",\"evil\":\"{body.evil}\"}",
        "{\"body\":{\"n\":42,\"user\":{\"name\":\"ada\"},\"evil\":\"\\\"},{\\\"x\\\":1\"},"
        "\"query\":{\"a\":[\"1\"]}}");

    ck_assert_str_eq(out, "{\"evil\":\"\\\"},{\\\"x\\\":1\",\"gone\":null,\"list\":[42,false,"
                          "\"x\"],\"lit\":7,\"n\":42,\"q\":\"1\",\"text\":\"hi ada!\","
                          "\"user\":{\"name\":\"ada\"}}");
    free(out);
}
END_TEST

START_TEST(json_template_errors_name_the_member)
{
    char err[512];
    json_t *doc = event_of("{\"a\":{\"b\":[\"ok\",\"{body.x\"]}}");
    struct http_jtpl *t = NULL;

    ck_assert_int_eq(http_jtpl_compile(&t, doc, err, sizeof(err)), -1);
    ck_assert_msg(strncmp(err, "body.a.b[1]: unclosed", 21) == 0, "%s", err);
    json_decref(doc);
}
END_TEST

static void build_raw(struct http_payload *p, enum http_body_mode mode, const struct http_raw *raw,
                      const char *event_json)
{
    char err[512];
    json_t *ev = event_of(event_json);

    ck_assert_msg(http_body_build(p, mode, NULL, raw, event_json, strlen(event_json), ev, err,
                                  sizeof(err)) == 0,
                  "%s", err);
    json_decref(ev);
}

/* What a 1.0 host (no exec_body) or a withheld body leaves: the event. */
static void build(struct http_payload *p, enum http_body_mode mode, const char *event_json)
{
    build_raw(p, mode, NULL, event_json);
}

START_TEST(body_modes)
{
    struct http_payload p;
    const char *ev;

    ev = "{\"body\":{\"a\": 1},\"content_type\":\"application/json\",\"raw_body_b64\":null}";
    build(&p, HTTP_BODY_EVENT, ev);
    ck_assert_str_eq(p.data, ev); /* byte for byte */
    ck_assert_str_eq(p.content_type, "application/json");
    http_payload_clear(&p);

    build(&p, HTTP_BODY_RAW, ev);
    ck_assert_str_eq(p.data, "{\"a\":1}");
    ck_assert_str_eq(p.content_type, "application/json");
    http_payload_clear(&p);

    build(&p, HTTP_BODY_RAW,
          "{\"body\":null,\"content_type\":\"application/octet-stream\","
          "\"raw_body_b64\":\"AP8KDQ==\"}");
    ck_assert_uint_eq(p.len, 4);
    ck_assert_int_eq(memcmp(p.data, "\0\xff\n\r", 4), 0);
    ck_assert_str_eq(p.content_type, "application/octet-stream");
    http_payload_clear(&p);

    build(&p, HTTP_BODY_RAW,
          "{\"body\":\"line 1\\r\\nline 2 \\u00e9\",\"content_type\":\"text/plain\"}");
    ck_assert_str_eq(p.data, "line 1\r\nline 2 \xc3\xa9");
    ck_assert_str_eq(p.content_type, "text/plain");
    http_payload_clear(&p);

    build(&p, HTTP_BODY_RAW,
          "{\"body\":{\"a\":\"1 2\",\"b\":[\"x&y\",\"\\u00e9\"]},"
          "\"content_type\":\"application/x-www-form-urlencoded\"}");
    ck_assert_str_eq(p.data, "a=1+2&b=x%26y&b=%C3%A9");
    ck_assert_str_eq(p.content_type, "application/x-www-form-urlencoded");
    http_payload_clear(&p);

    build(&p, HTTP_BODY_RAW, "{\"body\":null,\"content_type\":null}");
    ck_assert_ptr_null(p.data);
    ck_assert_ptr_null(p.content_type);
    http_payload_clear(&p);

    build(&p, HTTP_BODY_NONE, ev);
    ck_assert_ptr_null(p.data);
    ck_assert_uint_eq(p.len, 0);
}
END_TEST

/* body = "body" with the bytes the host lends: those, whatever the event
 * made of them, with the type as sent (or none). */
START_TEST(body_raw_uses_the_lent_bytes)
{
    static const char odd[] = "{ \"b\":1 ,\"a\" : [1.50, 1e2], \"s\":\"\\u00e9\" }";
    const char *ev = "{\"body\":{\"b\":1,\"a\":[1.5,100.0],\"s\":\"\u00e9\"},"
                     "\"content_type\":\"application/json\",\"raw_body_b64\":null}";
    struct http_raw raw = {odd, sizeof(odd) - 1, "application/json; charset=utf-8"};
    struct http_payload p;

    build_raw(&p, HTTP_BODY_RAW, &raw, ev);
    ck_assert_uint_eq(p.len, sizeof(odd) - 1);
    ck_assert_str_eq(p.data, odd);
    ck_assert_str_eq(p.content_type, "application/json; charset=utf-8");
    http_payload_clear(&p);

    static const char bin[] = {0, 'x', (char)0xff};
    raw = (struct http_raw){bin, sizeof(bin), NULL};
    build_raw(&p, HTTP_BODY_RAW, &raw, "{\"body\":null,\"raw_body_b64\":\"AHj/\"}");
    ck_assert_uint_eq(p.len, 3);
    ck_assert_int_eq(memcmp(p.data, bin, 3), 0);
    ck_assert_ptr_null(p.content_type);
    http_payload_clear(&p);

    /* No bytes lent: the event it is. */
    raw = (struct http_raw){NULL, 0, "application/json"};
    build_raw(&p, HTTP_BODY_RAW, &raw, ev);
    ck_assert_str_eq(p.data, "{\"b\":1,\"a\":[1.5,100.0],\"s\":\"\xc3\xa9\"}");
    http_payload_clear(&p);

    /* Other modes ignore them. */
    raw = (struct http_raw){odd, sizeof(odd) - 1, "text/plain"};
    build_raw(&p, HTTP_BODY_EVENT, &raw, ev);
    ck_assert_str_eq(p.data, ev);
    ck_assert_str_eq(p.content_type, "application/json");
    http_payload_clear(&p);
}
END_TEST

Suite *http_template_suite(void)
{
    Suite *s = suite_create("http_template");
    TCase *tc = tcase_create("template");

    tcase_add_test(tc, url_encoding_of_hostile_values);
    tcase_add_test(tc, url_encoding_leaves_literal_text);
    tcase_add_test(tc, raw_rendering_rules);
    tcase_add_test(tc, compile_errors);
    tcase_add_test(tc, json_template_keeps_types);
    tcase_add_test(tc, json_template_errors_name_the_member);
    tcase_add_test(tc, body_modes);
    tcase_add_test(tc, body_raw_uses_the_lent_bytes);
    suite_add_tcase(s, tc);
    return s;
}
