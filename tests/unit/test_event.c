/*
 * test_event.c - a hand-built http_request turned into the event JSON:
 * query strings, every body kind, positional variables, function,
 * redaction of authentication headers, path parameters, per-flow copies.
 */
#include "event.h"

#include "router.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_request rq;
static trigger_def trig;
static char trig_id[] = "t";
static char var_user[] = "user", var_period[] = "period";
static char *two_vars[] = {var_user, var_period, NULL};

static void setup(void)
{
    memset(&rq, 0, sizeof(rq));
    snprintf(rq.request_id, sizeof(rq.request_id), "req-0001");
    rq.method = "POST";
    rq.path = strdup("/hooks/t");
    snprintf(rq.remote_addr, sizeof(rq.remote_addr), "192.0.2.7");
    rq.received_ms = 1700000000123ULL;
    memset(&trig, 0, sizeof(trig));
    trig.id = trig_id;
}

static void teardown(void)
{
    free(rq.path);
    free(rq.query);
    for (size_t i = 0; i < rq.n_headers; i++) {
        free(rq.headers[i].name);
        free(rq.headers[i].value);
    }
    free(rq.headers);
    for (size_t i = 0; i < rq.n_params; i++) {
        free(rq.params[i].name);
        free(rq.params[i].value);
    }
    free(rq.params);
    free(rq.body);
}

static void set_query(const char *q)
{
    free(rq.query);
    rq.query = strdup(q);
}

static void add_header(const char *name, const char *value)
{
    rq.headers = realloc(rq.headers, (rq.n_headers + 1) * sizeof(kv));
    rq.headers[rq.n_headers].name = strdup(name);
    rq.headers[rq.n_headers].value = strdup(value);
    rq.n_headers++;
}

static void set_body(const char *content_type, const void *data, size_t len)
{
    if (content_type)
        add_header("content-type", content_type);
    free(rq.body);
    rq.body = malloc(len ? len : 1);
    memcpy(rq.body, data, len);
    rq.body_len = len;
}

static void set_text_body(const char *content_type, const char *text)
{
    set_body(content_type, text, strlen(text));
}

static void use_variables(void)
{
    trig.variables = two_vars;
    trig.n_variables = 2;
}

/* The configuration's secret headers for build (NULL: the well-known only). */
static char **secret;

/* The event for the current request, which must be valid. */
static json_t *build_with(const route_match *m)
{
    char err[512] = "";
    ck_assert_msg(event_parse_query(&rq, err, sizeof(err)) == 0, "event_parse_query: %s", err);
    json_t *ev = NULL;
    int rc = event_build(&ev, &rq, &trig, secret, m, 1, err, sizeof(err));
    ck_assert_msg(rc == 0, "event_build gave %d: %s", rc, err);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

static json_t *build(void)
{
    return build_with(NULL);
}

/* The current request must be refused with 400; err receives why. */
static void build_refused(char *err, size_t errlen)
{
    err[0] = 0;
    ck_assert_msg(event_parse_query(&rq, err, errlen) == 0, "event_parse_query: %s", err);
    /* With or without a tree, the same refusal in the same words. */
    char first[1024] = "";
    for (int tree = 1; tree >= 0; tree--) {
        json_t *ev = (json_t *)1;
        err[0] = 0;
        int rc = event_build(&ev, &rq, &trig, secret, NULL, tree, err, errlen);
        ck_assert_int_eq(rc, 400);
        ck_assert_ptr_null(ev);
        ck_assert_msg(err[0] != 0, "a 400 without a message");
        if (tree)
            snprintf(first, sizeof(first), "%s", err);
        else
            ck_assert_str_eq(err, first);
    }
}

static const char *str_at(json_t *ev, const char *obj, const char *key)
{
    json_t *o = obj ? json_object_get(ev, obj) : ev;
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "%s.%s is not a string", obj ? obj : "event", key);
    return json_string_value(v);
}

/* query.<key> must be exactly the listed strings (NULL-terminated). */
static void query_is(json_t *ev, const char *key, const char *const *want)
{
    json_t *a = json_object_get(json_object_get(ev, "query"), key);
    ck_assert_msg(json_is_array(a), "query.%s is not an array", key);
    size_t n = 0;
    while (want[n])
        n++;
    ck_assert_uint_eq(json_array_size(a), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(json_string_value(json_array_get(a, i)), want[i]);
}

/* ---- query ---- */

START_TEST(query_repeated_params_become_arrays)
{
    set_query("a=1&b=x&a=2");
    json_t *ev = build();
    query_is(ev, "a", (const char *[]){"1", "2", NULL});
    query_is(ev, "b", (const char *[]){"x", NULL});
    ck_assert_uint_eq(json_object_size(json_object_get(ev, "query")), 2);
    /* rq->params keeps the order of the query string. */
    ck_assert_uint_eq(rq.n_params, 3);
    ck_assert_str_eq(rq.params[0].name, "a");
    ck_assert_str_eq(rq.params[1].name, "b");
    ck_assert_str_eq(rq.params[2].value, "2");
    json_decref(ev);
}
END_TEST

START_TEST(query_decoding)
{
    set_query("q=hello+world&r=a%2Bb&s=%E2%82%AC&t%20k=v&x+y=1");
    json_t *ev = build();
    query_is(ev, "q", (const char *[]){"hello world", NULL});
    query_is(ev, "r", (const char *[]){"a+b", NULL});
    query_is(ev, "s", (const char *[]){"\xe2\x82\xac", NULL});
    query_is(ev, "t k", (const char *[]){"v", NULL});
    query_is(ev, "x y", (const char *[]){"1", NULL});
    json_decref(ev);
}
END_TEST

START_TEST(query_empty_values_and_separators)
{
    set_query("flag&&x=&y=1&");
    json_t *ev = build();
    ck_assert_uint_eq(rq.n_params, 3);
    query_is(ev, "flag", (const char *[]){"", NULL});
    query_is(ev, "x", (const char *[]){"", NULL});
    query_is(ev, "y", (const char *[]){"1", NULL});
    json_decref(ev);
}
END_TEST

START_TEST(no_query)
{
    json_t *ev = build();
    ck_assert(json_is_object(json_object_get(ev, "query")));
    ck_assert_uint_eq(json_object_size(json_object_get(ev, "query")), 0);
    json_decref(ev);
}
END_TEST

START_TEST(query_bad_encoding)
{
    static const char *const bad[] = {"a=%zz", "a=%4", "a=1&b=%", "%zz=1", "a=%00", "a%00=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        teardown();
        setup();
        set_query(bad[i]);
        char err[256] = "";
        ck_assert_msg(event_parse_query(&rq, err, sizeof(err)) == -1, "query \"%s\" accepted",
                      bad[i]);
        ck_assert_msg(strstr(err, "percent-encoding") != NULL, "query \"%s\": message \"%s\"",
                      bad[i], err);
    }
}
END_TEST

static char *many_params(int n)
{
    char *q = malloc((size_t)n * 12 + 1);
    char *o = q;
    for (int i = 0; i < n; i++)
        o += sprintf(o, "%sp%d=%d", i ? "&" : "", i, i);
    return q;
}

START_TEST(query_param_limit)
{
    rq.query = many_params(EVENT_MAX_QUERY_PARAMS);
    json_t *ev = build();
    ck_assert_uint_eq(rq.n_params, EVENT_MAX_QUERY_PARAMS);
    query_is(ev, "p255", (const char *[]){"255", NULL});
    json_decref(ev);

    teardown();
    setup();
    rq.query = many_params(EVENT_MAX_QUERY_PARAMS + 1);
    char err[256] = "";
    ck_assert_int_eq(event_parse_query(&rq, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "256") != NULL, "message \"%s\" does not give the limit", err);
}
END_TEST

START_TEST(query_not_utf8)
{
    char err[256];
    set_query("a=%FF");
    build_refused(err, sizeof(err));
    teardown();
    setup();
    set_query("%C3%28=1");
    build_refused(err, sizeof(err));
}
END_TEST

/* ---- body ---- */

START_TEST(json_body_is_parsed)
{
    set_text_body("application/json; charset=utf-8", "{\"ref\":\"main\",\"n\":[1,2]}");
    json_t *ev = build();
    json_t *b = json_object_get(ev, "body");
    ck_assert(json_is_object(b));
    ck_assert_str_eq(str_at(b, NULL, "ref"), "main");
    ck_assert_uint_eq(json_array_size(json_object_get(b, "n")), 2);
    ck_assert(json_is_null(json_object_get(ev, "raw_body_b64")));
    ck_assert_str_eq(str_at(ev, NULL, "content_type"), "application/json; charset=utf-8");
    json_decref(ev);
}
END_TEST

START_TEST(json_suffix_media_types)
{
    set_text_body("Application/Vnd.GitHub+JSON", "[1,\"two\",null]");
    json_t *ev = build();
    json_t *b = json_object_get(ev, "body");
    ck_assert(json_is_array(b));
    ck_assert_uint_eq(json_array_size(b), 3);
    json_decref(ev);
}
END_TEST

START_TEST(json_scalar_body)
{
    set_text_body("application/json", "42");
    json_t *ev = build();
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "body")), 42);
    json_decref(ev);
}
END_TEST

START_TEST(malformed_json_is_400)
{
    char err[512];
    set_text_body("application/json", "{\"ref\": \"main\",\n \"x\": }");
    build_refused(err, sizeof(err));
    ck_assert_msg(strstr(err, "malformed JSON") != NULL, "message: %s", err);
    ck_assert_msg(strstr(err, "line 2") != NULL, "message does not locate the error: %s", err);
}
END_TEST

START_TEST(json_duplicate_keys_are_400)
{
    char err[512];
    set_text_body("application/json", "{\"ref\":\"main\",\"ref\":\"evil\"}");
    build_refused(err, sizeof(err));
    ck_assert_msg(strstr(err, "ref") != NULL, "message does not name the key: %s", err);
}
END_TEST

START_TEST(json_trailing_garbage_is_400)
{
    char err[512];
    set_text_body("application/json", "{} {}");
    build_refused(err, sizeof(err));
}
END_TEST

/* "[[[...1...]]]" nested depth levels deep. */
static char *nested_array(int depth)
{
    char *s = malloc((size_t)depth * 2 + 2);
    memset(s, '[', (size_t)depth);
    s[depth] = '1';
    memset(s + depth + 1, ']', (size_t)depth);
    s[2 * depth + 1] = 0;
    return s;
}

START_TEST(json_depth_limit)
{
    char *ok = nested_array(EVENT_MAX_JSON_DEPTH);
    set_text_body("application/json", ok);
    free(ok);
    json_t *ev = build();
    ck_assert(json_is_array(json_object_get(ev, "body")));
    json_decref(ev);

    teardown();
    setup();
    char *deep = nested_array(EVENT_MAX_JSON_DEPTH + 1);
    set_text_body("application/json", deep);
    free(deep);
    char err[256];
    build_refused(err, sizeof(err));
    ck_assert_msg(strstr(err, "512") != NULL, "message does not give the limit: %s", err);
}
END_TEST

/* Brackets inside strings, escaped quotes included, are not nesting. */
START_TEST(json_depth_ignores_strings)
{
    char body[1024];
    char brackets[300];
    memset(brackets, '[', 299);
    brackets[299] = 0;
    snprintf(body, sizeof(body), "{\"a\":\"\\\"%s\",\"b\":[{\"c\":\"]]]}}}\"}]}", brackets);
    set_text_body("application/json", body);
    json_t *ev = build();
    json_t *b = json_object_get(ev, "body");
    ck_assert_uint_eq(strlen(str_at(b, NULL, "a")), 300);
    json_decref(ev);
}
END_TEST

START_TEST(form_body_becomes_object)
{
    set_text_body("application/x-www-form-urlencoded",
                  "name=J%C3%BCrgen+M&tag=a&tag=b&tag=c&empty=&flag");
    json_t *ev = build();
    json_t *b = json_object_get(ev, "body");
    ck_assert(json_is_object(b));
    ck_assert_str_eq(str_at(b, NULL, "name"), "J\xc3\xbcrgen M");
    json_t *tags = json_object_get(b, "tag");
    ck_assert(json_is_array(tags));
    ck_assert_uint_eq(json_array_size(tags), 3);
    ck_assert_str_eq(json_string_value(json_array_get(tags, 0)), "a");
    ck_assert_str_eq(json_string_value(json_array_get(tags, 2)), "c");
    ck_assert_str_eq(str_at(b, NULL, "empty"), "");
    ck_assert_str_eq(str_at(b, NULL, "flag"), "");
    ck_assert(json_is_null(json_object_get(ev, "raw_body_b64")));
    json_decref(ev);
}
END_TEST

START_TEST(form_body_bad_encoding_is_400)
{
    char err[512];
    set_text_body("application/x-www-form-urlencoded", "a=%zz");
    build_refused(err, sizeof(err));
    teardown();
    setup();
    set_text_body("application/x-www-form-urlencoded", "a=%FF");
    build_refused(err, sizeof(err));
}
END_TEST

START_TEST(text_body_is_string)
{
    set_text_body("text/plain; charset=utf-8", "hello\nw\xc3\xb6rld");
    json_t *ev = build();
    ck_assert_str_eq(json_string_value(json_object_get(ev, "body")), "hello\nw\xc3\xb6rld");
    ck_assert(json_is_null(json_object_get(ev, "raw_body_b64")));
    json_decref(ev);
}
END_TEST

START_TEST(binary_body_is_base64)
{
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    set_body("application/octet-stream", bytes, sizeof(bytes));
    json_t *ev = build();
    ck_assert(json_is_null(json_object_get(ev, "body")));
    ck_assert_str_eq(str_at(ev, NULL, "raw_body_b64"),
                     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4"
                     "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx"
                     "cnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmq"
                     "q6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj"
                     "5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==");
    json_decref(ev);
}
END_TEST

START_TEST(invalid_utf8_text_is_base64)
{
    set_text_body("text/plain", "caf\xe9 \xff");
    json_t *ev = build();
    ck_assert(json_is_null(json_object_get(ev, "body")));
    ck_assert_str_eq(str_at(ev, NULL, "raw_body_b64"), "Y2Fm6SD/");
    json_decref(ev);
}
END_TEST

/* NUL is valid UTF-8: the body stays a string, every byte of it, and the
 * event text carries it as \u0000 (plugins load it with JSON_ALLOW_NUL). */
START_TEST(text_with_nul_is_kept_whole)
{
    static flow_def f = {.key = trig_id};
    set_body("text/plain", "a\0b", 3);
    json_t *ev = build();
    json_t *b = json_object_get(ev, "body");
    ck_assert(json_is_string(b));
    ck_assert_uint_eq(json_string_length(b), 3);
    ck_assert_int_eq(memcmp(json_string_value(b), "a\0b", 3), 0);
    size_t len;
    char *text = event_for_flow(ev, "id", &f, &len);
    ck_assert_ptr_nonnull(strstr(text, "a\\u0000b"));
    json_t *j = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_string_length(json_object_get(j, "body")), 3);
    json_decref(j);
    free(text);
    json_decref(ev);
}
END_TEST

START_TEST(empty_body_is_null)
{
    json_t *ev = build();
    ck_assert(json_is_null(json_object_get(ev, "body")));
    ck_assert(json_is_null(json_object_get(ev, "raw_body_b64")));
    json_decref(ev);
}
END_TEST

/* No text is not a JSON text (RFC 8259): an empty JSON body is refused. */
START_TEST(empty_json_body_is_400)
{
    char err[512];
    add_header("content-type", "application/json");
    build_refused(err, sizeof(err));
    ck_assert_msg(strstr(err, "empty") != NULL, "message: %s", err);
}
END_TEST

START_TEST(no_content_type)
{
    set_body(NULL, "plain words", 11);
    json_t *ev = build();
    ck_assert(json_is_null(json_object_get(ev, "content_type")));
    ck_assert_str_eq(json_string_value(json_object_get(ev, "body")), "plain words");
    json_decref(ev);
}
END_TEST

/* ---- variables ---- */

static void vars_are(json_t *ev, const char *user, const char *period)
{
    json_t *v = json_object_get(ev, "variables");
    ck_assert(json_is_object(v));
    ck_assert_uint_eq(json_object_size(v), 2);
    if (user)
        ck_assert_str_eq(str_at(v, NULL, "user"), user);
    else
        ck_assert(json_is_null(json_object_get(v, "user")));
    if (period)
        ck_assert_str_eq(str_at(v, NULL, "period"), period);
    else
        ck_assert(json_is_null(json_object_get(v, "period")));
}

START_TEST(variables_from_query)
{
    use_variables();
    set_query("variables=alice&x=1&variables=weekly");
    json_t *ev = build();
    vars_are(ev, "alice", "weekly");
    json_decref(ev);
}
END_TEST

START_TEST(fewer_variables_than_declared)
{
    use_variables();
    set_query("variables=alice");
    json_t *ev = build();
    vars_are(ev, "alice", NULL);
    json_decref(ev);
}
END_TEST

START_TEST(variables_from_json_body)
{
    use_variables();
    set_text_body("application/json", "{\"variables\":[\"bob\",{\"days\":7}]}");
    json_t *ev = build();
    json_t *v = json_object_get(ev, "variables");
    ck_assert_str_eq(str_at(v, NULL, "user"), "bob");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "period"), "days")), 7);
    json_decref(ev);
}
END_TEST

START_TEST(too_many_variables_from_query)
{
    use_variables();
    set_query("variables=a&variables=b&variables=c");
    char err[256];
    build_refused(err, sizeof(err));
    ck_assert_msg(strstr(err, "3") && strstr(err, "2") && strstr(err, "\"t\""),
                  "message does not give the counts: %s", err);
}
END_TEST

START_TEST(too_many_variables_from_body)
{
    use_variables();
    set_text_body("application/json", "{\"variables\":[1,2,3,4]}");
    char err[256];
    build_refused(err, sizeof(err));
    ck_assert_msg(strstr(err, "4") && strstr(err, "2"), "message does not give the counts: %s",
                  err);
}
END_TEST

START_TEST(undeclared_variables_are_ignored)
{
    set_query("variables=a&variables=b&variables=c");
    json_t *ev = build();
    ck_assert(json_is_object(json_object_get(ev, "variables")));
    ck_assert_uint_eq(json_object_size(json_object_get(ev, "variables")), 0);
    json_decref(ev);
}
END_TEST

/* ---- function ---- */

START_TEST(function_from_query)
{
    set_query("function=summary");
    json_t *ev = build();
    ck_assert_str_eq(str_at(ev, NULL, "function"), "summary");
    json_decref(ev);
}
END_TEST

START_TEST(function_from_body)
{
    set_text_body("application/json", "{\"function\":\"rebuild\"}");
    json_t *ev = build();
    ck_assert_str_eq(str_at(ev, NULL, "function"), "rebuild");
    json_decref(ev);
}
END_TEST

START_TEST(function_query_wins_over_body)
{
    set_query("function=fromquery");
    set_text_body("application/json", "{\"function\":\"frombody\"}");
    json_t *ev = build();
    ck_assert_str_eq(str_at(ev, NULL, "function"), "fromquery");
    json_decref(ev);
}
END_TEST

START_TEST(function_absent_or_not_a_string)
{
    set_text_body("application/json", "{\"function\":7}");
    json_t *ev = build();
    ck_assert(json_is_null(json_object_get(ev, "function")));
    json_decref(ev);
}
END_TEST

/* ---- headers ---- */

static const char *const secret_names[] = {
    "authorization",     "proxy-authorization", "cookie",
    "x-api-key",         "x-hub-signature",     "x-hub-signature-256",
    "webhook-signature", "stripe-signature",    "x-slack-signature",
    "x-gitlab-token"};

START_TEST(secret_headers_are_redacted)
{
    char value[64];
    for (size_t i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
        snprintf(value, sizeof(value), "SECRET-VALUE-%zu", i);
        add_header(secret_names[i], value);
    }
    add_header("x-github-event", "push");
    add_header("user-agent", "GitHub-Hookshot/abc");
    json_t *ev = build();
    json_t *h = json_object_get(ev, "headers");
    for (size_t i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++)
        ck_assert_msg(strcmp(str_at(h, NULL, secret_names[i]), "[redacted]") == 0,
                      "%s was not redacted", secret_names[i]);
    ck_assert_str_eq(str_at(h, NULL, "x-github-event"), "push");
    ck_assert_str_eq(str_at(h, NULL, "user-agent"), "GitHub-Hookshot/abc");

    /* No copy of a secret survives anywhere in the event. */
    char *text = json_dumps(ev, JSON_COMPACT);
    ck_assert_ptr_null(strstr(text, "SECRET-VALUE"));
    free(text);
    json_decref(ev);
}
END_TEST

START_TEST(header_helpers)
{
    for (size_t i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++)
        ck_assert_msg(event_header_is_secret(NULL, secret_names[i]), "%s", secret_names[i]);
    ck_assert(!event_header_is_secret(NULL, "content-type"));
    ck_assert(!event_header_is_secret(NULL, "x-github-event"));
    ck_assert(!event_header_is_secret(NULL, "x-request-id"));

    add_header("x-github-event", "push");
    ck_assert_str_eq(event_header(&rq, "x-github-event"), "push");
    ck_assert_str_eq(event_header(&rq, "X-GitHub-Event"), "push");
    ck_assert_ptr_null(event_header(&rq, "x-missing"));
}
END_TEST

/* A configuration's triggers name the headers their keys live in; those
 * are secret too, and only where that list is given: a reload to a
 * configuration without them lets them through again. */
START_TEST(added_secret_headers_are_redacted)
{
    static char key[] = "x-deploy-key";
    char *names[] = {key, NULL};
    ck_assert(!event_header_is_secret(NULL, "x-deploy-key"));
    ck_assert(event_header_is_secret(names, "x-deploy-key"));
    ck_assert(!event_header_is_secret(names, "x-deploy"));
    ck_assert(event_header_is_secret(names, "authorization"));

    add_header("x-deploy-key", "SECRET-DEPLOY-KEY");
    add_header("x-other", "visible");
    secret = names;
    json_t *ev = build();
    secret = NULL;
    ck_assert_str_eq(str_at(ev, "headers", "x-deploy-key"), "[redacted]");
    ck_assert_str_eq(str_at(ev, "headers", "x-other"), "visible");
    json_decref(ev);
    ev = build();
    ck_assert_str_eq(str_at(ev, "headers", "x-deploy-key"), "SECRET-DEPLOY-KEY");
    json_decref(ev);
}
END_TEST

/* ---- the event as a whole ---- */

START_TEST(event_fixed_fields)
{
    json_t *ev = build();
    ck_assert(json_is_null(json_object_get(ev, "execution_id")));
    ck_assert(json_is_null(json_object_get(ev, "flow")));
    ck_assert(json_is_null(json_object_get(ev, "function")));
    ck_assert_str_eq(str_at(ev, NULL, "request_id"), "req-0001");
    ck_assert_str_eq(str_at(ev, NULL, "trigger"), "t");
    ck_assert_str_eq(str_at(ev, NULL, "method"), "POST");
    ck_assert_str_eq(str_at(ev, NULL, "path"), "/hooks/t");
    ck_assert_str_eq(str_at(ev, NULL, "remote_addr"), "192.0.2.7");
    ck_assert_str_eq(str_at(ev, NULL, "received_at"), "2023-11-14T22:13:20.123Z");
    ck_assert(json_is_object(json_object_get(ev, "params")));
    ck_assert_uint_eq(json_object_size(json_object_get(ev, "params")), 0);
    ck_assert(json_is_object(json_object_get(ev, "headers")));
    ck_assert(json_is_null(json_object_get(ev, "content_type")));
    json_decref(ev);
}
END_TEST

START_TEST(path_params_in_event)
{
    router *r = router_new();
    char err[256];
    ck_assert_int_eq(router_add(r, "/hooks/{repo}/{branch}", &trig, NULL, err, sizeof(err)), 0);
    route_match m;
    ck_assert_int_eq(router_match(r, "/hooks/my%20repo/main", &m), 1);
    json_t *ev = build_with(&m);
    json_t *p = json_object_get(ev, "params");
    ck_assert_uint_eq(json_object_size(p), 2);
    ck_assert_str_eq(str_at(p, NULL, "repo"), "my repo");
    ck_assert_str_eq(str_at(p, NULL, "branch"), "main");
    json_decref(ev);
    route_match_clear(&m);
    router_free(r);
}
END_TEST

START_TEST(path_param_not_utf8_is_400)
{
    router *r = router_new();
    char err[256];
    ck_assert_int_eq(router_add(r, "/hooks/{repo}", &trig, NULL, err, sizeof(err)), 0);
    route_match m;
    ck_assert_int_eq(router_match(r, "/hooks/%FF", &m), 1);
    json_t *ev = (json_t *)1;
    ck_assert_int_eq(event_build(&ev, &rq, &trig, NULL, &m, 1, err, sizeof(err)), 400);
    ck_assert_ptr_null(ev);
    ck_assert_msg(strstr(err, "repo") != NULL, "message does not name the parameter: %s", err);
    route_match_clear(&m);
    router_free(r);
}
END_TEST

START_TEST(event_for_each_flow)
{
    static char id1[] = "one", key1[] = "prod/one", id2[] = "two", key2[] = "two";
    flow_def f1 = {.id = id1, .key = key1}, f2 = {.id = id2, .key = key2};
    set_text_body("application/json", "{\"ref\":\"main\"}");
    json_t *ev = build();

    size_t len = 0;
    char *text = event_for_flow(ev, "0193a8c2-0000-7000-8000-000000000001", &f1, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(str_at(j, NULL, "execution_id"), "0193a8c2-0000-7000-8000-000000000001");
    ck_assert_str_eq(str_at(j, NULL, "flow"), "prod/one");
    ck_assert_str_eq(str_at(j, "body", "ref"), "main");
    json_decref(j);
    free(text);

    /* The second flow of a fan-out gets its own id and key, not the first's. */
    text = event_for_flow(ev, "0193a8c2-0000-7000-8000-000000000002", &f2, &len);
    j = json_loads(text, 0, NULL);
    ck_assert_str_eq(str_at(j, NULL, "execution_id"), "0193a8c2-0000-7000-8000-000000000002");
    ck_assert_str_eq(str_at(j, NULL, "flow"), "two");
    json_decref(j);
    free(text);
    json_decref(ev);
}
END_TEST

/* The event of one flow: the rest of base (after event_take_body) joined
 * with the body members. */
static char *flow_event(json_t *base, const char *id, const flow_def *f, const char *members,
                        size_t mlen, size_t *len)
{
    size_t slen;
    char *stored = event_for_flow(base, id, f, &slen);
    char *text = event_join(stored, slen, members, mlen, len);
    free(stored);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(*len, strlen(text));
    return text;
}

/* A JSON body goes into the event as the bytes received, for every flow of
 * a fan-out; the parsed body stays in the base until it is taken. */
START_TEST(verbatim_json_body)
{
    static char id1[] = "one", id2[] = "two";
    flow_def f1 = {.id = id1, .key = id1}, f2 = {.id = id2, .key = id2};
    static const char body[] = "{ \"ref\" : \"ma\\u0069n\",\"n\":[1, 2.50] }";
    set_text_body("application/json", body);
    ck_assert(event_body_is_json(&rq));
    json_t *ev = build();
    ck_assert_str_eq(str_at(ev, "body", "ref"), "main");
    size_t mlen;
    char *members = event_take_body(ev, body, strlen(body), &mlen);
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        char *text = flow_event(ev, i ? "id-2" : "id-1", i ? &f2 : &f1, members, mlen, &len);
        ck_assert_msg(strstr(text, "\"body\":{ \"ref\" : \"ma\\u0069n\",\"n\":[1, 2.50] }") != NULL,
                      "body not verbatim: %s", text);
        json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        ck_assert_msg(j != NULL, "not JSON: %s", text);
        ck_assert_str_eq(str_at(j, "body", "ref"), "main");
        ck_assert_str_eq(str_at(j, NULL, "flow"), i ? "two" : "one");
        json_decref(j);
        free(text);
    }
    free(members);
    json_decref(ev);
}
END_TEST

/* Without a tree the body is checked, not parsed; the event still gets the
 * body's "function" and, from event_take_body, the body itself. */
START_TEST(json_body_without_tree)
{
    static char id[] = "one";
    flow_def f = {.id = id, .key = id};
    static const char body[] = "{\"function\":\"deploy\",\"n\":[1,{\"function\":\"inner\"}]}";
    set_text_body("application/json", body);
    char err[256];
    ck_assert_int_eq(event_parse_query(&rq, err, sizeof(err)), 0);
    json_t *ev = NULL;
    ck_assert_int_eq(event_build(&ev, &rq, &trig, NULL, NULL, 0, err, sizeof(err)), 0);
    ck_assert(json_is_null(json_object_get(ev, "body")));
    ck_assert_str_eq(str_at(ev, NULL, "function"), "deploy");
    size_t mlen, len;
    char *members = event_take_body(ev, body, strlen(body), &mlen);
    char *text = flow_event(ev, "id-1", &f, members, mlen, &len);
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_msg(j != NULL, "not JSON: %s", text);
    ck_assert_str_eq(str_at(j, "body", "function"), "deploy");
    ck_assert_str_eq(str_at(j, NULL, "function"), "deploy");
    json_decref(j);
    free(text);
    free(members);
    json_decref(ev);
}
END_TEST

/* Raw newlines would break consumers that read one event per line. */
START_TEST(multiline_body_is_not_verbatim)
{
    static char id[] = "one";
    flow_def f = {.id = id, .key = id};
    static const char body[] = "{\r\n  \"a\": \"x\\ny\",\n  \"b\": [1,\n2]\n}";
    set_text_body("application/vnd.github+json", body);
    ck_assert(event_body_is_json(&rq));
    json_t *ev = build();
    size_t mlen, len;
    char *members = event_take_body(ev, body, strlen(body), &mlen);
    char *text = flow_event(ev, "id-1", &f, members, mlen, &len);
    ck_assert_msg(!strchr(text, '\n') && !strchr(text, '\r'), "raw newline in %s", text);
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_msg(j != NULL, "not JSON: %s", text);
    ck_assert_str_eq(str_at(j, "body", "a"), "x\ny");
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "body"), "b")), 2);
    json_decref(j);
    free(text);
    free(members);
    json_decref(ev);
}
END_TEST

START_TEST(text_body_is_not_verbatim)
{
    set_text_body("text/plain", "{\"a\":1}");
    ck_assert(!event_body_is_json(&rq));
}
END_TEST

/*
 * The event in two parts (event.h, "the event's body"): whatever the body,
 * the rest plus the members it took is the whole event, and the members
 * rebuilt from the raw bytes are exactly the members taken, so what the
 * store rebuilds after a crash or for a replay is what the plugin first saw.
 */
static void split_and_rebuild(const char *content_type, const void *data, size_t len)
{
    static char id1[] = "one", key1[] = "prod/one";
    flow_def f = {.id = id1, .key = key1};
    teardown();
    setup();
    set_body(content_type, data, len);
    json_t *ev = build();
    json_object_set_new(ev, "execution_id", json_string("x-1"));
    json_object_set_new(ev, "flow", json_string(key1));
    json_t *whole = json_deep_copy(ev);

    size_t mlen, slen, len2, rlen;
    /* A JSON body goes in as received, as accept_request does it. */
    char *members = event_take_body(ev, event_body_is_json(&rq) ? data : NULL, len, &mlen);
    ck_assert_ptr_nonnull(members);
    ck_assert_ptr_null(json_object_get(ev, "body"));
    ck_assert_ptr_null(json_object_get(ev, "raw_body_b64"));
    char *stored = event_for_flow(ev, "x-1", &f, &slen);
    ck_assert_ptr_null(strstr(stored, "\"body\""));
    char *text = event_join(stored, slen, members, mlen, &len2);
    ck_assert_uint_eq(len2, strlen(text));
    json_t *back = json_loadb(text, len2, JSON_ALLOW_NUL, NULL);
    ck_assert_msg(json_equal(back, whole), "%s: the joined event differs: %s", content_type, text);

    char err[256];
    char *rebuilt = event_body_members(data, len, content_type, &rlen, err, sizeof(err));
    ck_assert_msg(rebuilt != NULL, "%s", err);
    ck_assert_uint_eq(rlen, mlen);
    ck_assert_msg(memcmp(rebuilt, members, mlen) == 0, "%s: rebuilt %s, taken %s", content_type,
                  rebuilt, members);
    json_decref(back);
    json_decref(whole);
    json_decref(ev);
    free(rebuilt);
    free(text);
    free(stored);
    free(members);
}

START_TEST(body_split_and_rebuilt)
{
    static const char json[] = "{ \"b\" :1,\n\t\"a\": [1 , 2.50, 1e2], \"s\":\"\\u00e9\" }";
    static const char form[] = "a=1&b=%C3%A9+x&a=2&empty=&k";
    static const unsigned char bin[] = {0, 1, 2, 0xff, 0xfe, '{', '"'};
    split_and_rebuild("application/json; charset=utf-8", json, strlen(json));
    split_and_rebuild("application/x-www-form-urlencoded", form, strlen(form));
    split_and_rebuild("text/plain", "a\0b line", 9);
    split_and_rebuild(NULL, "no type", 7);
    split_and_rebuild("application/octet-stream", bin, sizeof(bin));
    split_and_rebuild("text/plain", "caf\xe9", 4); /* not UTF-8: base64 */
    split_and_rebuild("application/vnd.api+json", "[1,\"x\"]", 7);
}
END_TEST

START_TEST(join_edge_cases)
{
    size_t len;
    char *s = event_join("{}", 2, "\"a\":1", 5, &len);
    ck_assert_str_eq(s, "{\"a\":1}");
    ck_assert_uint_eq(len, 7);
    free(s);
    s = event_join("{\"x\":true}", 10, "\"a\":1", 5, &len);
    ck_assert_str_eq(s, "{\"x\":true,\"a\":1}");
    free(s);
    ck_assert_ptr_null(event_join("[1]", 3, "\"a\":1", 5, &len));
    ck_assert_ptr_null(event_join("", 0, "\"a\":1", 5, &len));
    char err[256] = "";
    ck_assert_ptr_null(event_body_members((const unsigned char *)"{bad", 4, "application/json",
                                          &len, err, sizeof(err)));
    ck_assert_msg(strstr(err, "malformed JSON") != NULL, "%s", err);
}
END_TEST

START_TEST(inputs_document)
{
    use_variables();
    set_query("variables=alice&function=go");
    set_text_body("application/json", "{\"k\":1}");
    add_header("authorization", "Bearer nope");
    json_t *ev = build();
    static flow_def f = {.key = trig_id};
    size_t len;
    char *text = event_for_flow(ev, "0193a8c2-0000-7000-8000-000000000003", &f, &len);
    json_t *in = event_inputs(text, len);
    ck_assert_ptr_nonnull(in);
    ck_assert_uint_eq(json_object_size(in), 5);
    ck_assert(json_is_object(json_object_get(in, "params")));
    ck_assert(json_is_object(json_object_get(in, "query")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(in, "body"), "k")), 1);
    ck_assert_str_eq(str_at(in, "variables", "user"), "alice");
    ck_assert_str_eq(str_at(in, NULL, "function"), "go");
    ck_assert_ptr_null(strstr(text, "Bearer"));
    json_decref(in);
    free(text);
    json_decref(ev);
}
END_TEST

static Suite *event_suite(void)
{
    Suite *s = suite_create("event");

    TCase *tc = tcase_create("query");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, query_repeated_params_become_arrays);
    tcase_add_test(tc, query_decoding);
    tcase_add_test(tc, query_empty_values_and_separators);
    tcase_add_test(tc, no_query);
    tcase_add_test(tc, query_bad_encoding);
    tcase_add_test(tc, query_param_limit);
    tcase_add_test(tc, query_not_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("body");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, json_body_is_parsed);
    tcase_add_test(tc, json_suffix_media_types);
    tcase_add_test(tc, json_scalar_body);
    tcase_add_test(tc, malformed_json_is_400);
    tcase_add_test(tc, json_duplicate_keys_are_400);
    tcase_add_test(tc, json_trailing_garbage_is_400);
    tcase_add_test(tc, json_depth_limit);
    tcase_add_test(tc, json_depth_ignores_strings);
    tcase_add_test(tc, form_body_becomes_object);
    tcase_add_test(tc, form_body_bad_encoding_is_400);
    tcase_add_test(tc, text_body_is_string);
    tcase_add_test(tc, binary_body_is_base64);
    tcase_add_test(tc, invalid_utf8_text_is_base64);
    tcase_add_test(tc, text_with_nul_is_kept_whole);
    tcase_add_test(tc, empty_body_is_null);
    tcase_add_test(tc, empty_json_body_is_400);
    tcase_add_test(tc, no_content_type);
    suite_add_tcase(s, tc);

    tc = tcase_create("variables");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, variables_from_query);
    tcase_add_test(tc, fewer_variables_than_declared);
    tcase_add_test(tc, variables_from_json_body);
    tcase_add_test(tc, too_many_variables_from_query);
    tcase_add_test(tc, too_many_variables_from_body);
    tcase_add_test(tc, undeclared_variables_are_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("function");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, function_from_query);
    tcase_add_test(tc, function_from_body);
    tcase_add_test(tc, function_query_wins_over_body);
    tcase_add_test(tc, function_absent_or_not_a_string);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, secret_headers_are_redacted);
    tcase_add_test(tc, header_helpers);
    tcase_add_test(tc, added_secret_headers_are_redacted);
    suite_add_tcase(s, tc);

    tc = tcase_create("event");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, event_fixed_fields);
    tcase_add_test(tc, path_params_in_event);
    tcase_add_test(tc, path_param_not_utf8_is_400);
    tcase_add_test(tc, event_for_each_flow);
    tcase_add_test(tc, verbatim_json_body);
    tcase_add_test(tc, multiline_body_is_not_verbatim);
    tcase_add_test(tc, text_body_is_not_verbatim);
    tcase_add_test(tc, json_body_without_tree);
    tcase_add_test(tc, inputs_document);
    tcase_add_test(tc, body_split_and_rebuilt);
    tcase_add_test(tc, join_edge_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(event_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
