/*
 * test_http_config.c - configure: what a flow may say, and how a mistake
 * is reported (always "<where>: http: ..." naming the setting).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <sluice/plugin.h>

#include "mock_host.h"
#include "test_http_suites.h"

static mock_host *host;

static void setup(void)
{
    host = mock_host_new();
    ck_assert_ptr_nonnull(host);
    ck_assert_ptr_null(mock_host_load(host, sluice_plugin_v1()));
    ck_assert_ptr_null(mock_host_init(host));
}

static void teardown(void)
{
    mock_host_free(host);
}

static const char *configure(const char *json)
{
    void *inst = NULL;

    return mock_host_configure(host, json, "flows.d/x.conf:12", &inst);
}

START_TEST(descriptor)
{
    const sluice_plugin *p = mock_host_plugin(host);

    ck_assert_str_eq(p->name, "http");
    ck_assert_uint_eq(p->flags & SLUICE_PF_REENTRANT, SLUICE_PF_REENTRANT);
    ck_assert_ptr_nonnull(p->cancel);
}
END_TEST

START_TEST(valid_configs)
{
    static const char *const ok[] = {
        "{\"url\":\"https://example.com/hook\"}",
        "{\"url\":\"http://127.0.0.1:8080/x/{body.id}?q={query.q}\",\"allow_hosts\":"
        "[\"127.0.0.1\"]}",
        "{\"url\":\"http://localhost:1/\",\"deny_private\":false}",
        "{\"url\":\"https://example.com/\",\"method\":\"put\",\"body\":\"body\",\"headers\":"
        "{\"X-Token\":\"secret\",\"X-Event\":\"{headers.x-github-event}\",\"X-N\":3},"
        "\"timeout\":\"2s\",\"connect_timeout\":1,\"max_response\":\"64K\","
        "\"retry\":{\"max\":2,\"backoff\":\"100ms\",\"on\":[503,\"network\"]},"
        "\"max_redirects\":3,\"insecure\":true,\"response_headers\":[\"X-Request-Id\"]}",
        "{\"url\":\"https://example.com/\",\"body\":{\"text\":\"{body.msg}\",\"n\":1}}",
        "{\"url\":\"https://example.com/\",\"method\":\"GET\"}",
        "{\"url\":\"https://example.com/\",\"max_response\":\"1GiB\"}",
        "{\"url\":\"https://example.com/\",\"max_response\":1073741824}",
        "{\"url\":\"https://example.com/\",\"max_response\":\"0\"}",
        "{\"url\":\"https://example.com/\",\"max_response\":\"512kb\"}",
        "{\"url\":\"https://example.com/\",\"sign\":{\"preset\":\"github\",\"secret\":\"s\"}}",
        "{\"url\":\"https://example.com/\",\"proxy\":\"http://127.0.0.1:3128\"}",
        "{\"url\":\"https://example.com/\",\"ca_file\":\"/dev/null\"}",
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *err = configure(ok[i]);

        /* /dev/null is not a regular file: that one must fail, and say so. */
        if (strstr(ok[i], "/dev/null")) {
            ck_assert_ptr_nonnull(err);
            ck_assert_msg(strstr(err, "is not a file") != NULL, "%s", err);
            continue;
        }
        ck_assert_msg(!err, "config %zu refused: %s", i, err);
    }
}
END_TEST

START_TEST(errors_name_where_and_setting)
{
    static const struct {
        const char *config, *message;
    } cases[] = {
        {"{\"urll\":\"x\"}", "flows.d/x.conf:12: http: unknown setting \"urll\""},
        {"{}", "flows.d/x.conf:12: http: url is required"},
        {"{\"url\":\"ftp://example.com/\"}", "flows.d/x.conf:12: http: url must start with"},
        {"{\"url\":\"https://{body.host}/x\"}",
         "flows.d/x.conf:12: http: url: placeholders may fill the path and the query, never"},
        {"{\"url\":\"https://api.{body.tenant}.example.com/\"}",
         "flows.d/x.conf:12: http: url: placeholders may fill"},
        {"{\"url\":\"https://example.com/{body.x\"}", "flows.d/x.conf:12: http: url: unclosed"},
        {"{\"url\":\"https://example.com/{nope}\"}",
         "flows.d/x.conf:12: http: url: unknown placeholder root"},
        {"{\"url\":\"http://127.0.0.1:9/\"}",
         "flows.d/x.conf:12: http: url: refused by the SSRF guard: 127.0.0.1 is a loopback "
         "address (list it in allow_hosts"},
        {"{\"url\":\"http://[::1]:9/\"}", "is a loopback address"},
        {"{\"url\":\"http://localhost:9/\"}", "localhost -> 127.0.0.1 is a loopback address"},
        {"{\"url\":\"http://169.254.169.254/latest/meta-data\"}", "is a link-local address"},
        {"{\"url\":\"http://127.0.0.1:9/\",\"allow_hosts\":[\"127.0.0.2\"]}", "loopback"},
        {"{\"url\":\"https://example.com/\",\"method\":\"BREW\"}", "http: method must be one of"},
        {"{\"url\":\"https://example.com/\",\"method\":\"GET\",\"body\":\"event\"}",
         "http: a GET request carries no body"},
        {"{\"url\":\"https://example.com/\",\"body\":\"eventt\"}", "http: body must be"},
        {"{\"url\":\"https://example.com/\",\"body\":{\"a\":\"{body.x\"}}",
         "http: body.a: unclosed '{'"},
        {"{\"url\":\"https://example.com/\",\"timeout\":\"soon\"}", "http: timeout must be a "
                                                                    "duration"},
        {"{\"url\":\"https://example.com/\",\"timeout\":\"0s\"}", "http: timeout must be"},
        {"{\"url\":\"https://example.com/\",\"retry\":{\"maxx\":1}}",
         "http: unknown setting \"retry.maxx\""},
        {"{\"url\":\"https://example.com/\",\"retry\":{\"on\":[200]}}", "http: retry.on[0] must"},
        {"{\"url\":\"https://example.com/\",\"retry\":{\"on\":[\"netwrok\"]}}", "retry.on[0]"},
        {"{\"url\":\"https://example.com/\",\"retry\":{\"max\":-1}}", "retry.max must be"},
        {"{\"url\":\"https://example.com/\",\"max_redirects\":99}", "max_redirects must be"},
        {"{\"url\":\"https://example.com/\",\"max_response\":\"lots\"}", "max_response must be"},
        {"{\"url\":\"https://example.com/\",\"max_response\":\"1025M\"}", "at most 1G"},
        {"{\"url\":\"https://example.com/\",\"max_response\":1073741825}", "at most 1G"},
        {"{\"url\":\"https://example.com/\",\"max_response\":\"1T\"}", "at most 1G"},
        {"{\"url\":\"https://example.com/\",\"max_response\":-1}", "max_response must be"},
        {"{\"url\":\"https://example.com/\",\"headers\":{\"Content-Length\":\"1\"}}",
         "headers.Content-Length is managed by the executor"},
        {"{\"url\":\"https://example.com/\",\"headers\":{\"Bad Name\":\"1\"}}",
         "headers: \"Bad Name\" is not a header name"},
        {"{\"url\":\"https://example.com/\",\"headers\":{\"X\":\"a\\r\\nB: c\"}}",
         "headers.X must be on one line"},
        {"{\"url\":\"https://example.com/\",\"headers\":{\"X\":\"{body.x\"}}", "headers.X: "},
        {"{\"url\":\"https://example.com/\",\"ca_file\":\"/nonexistent/ca.pem\"}",
         "ca_file \"/nonexistent/ca.pem\": No such file"},
        {"{\"url\":\"https://example.com/\",\"ca_file\":\"relative.pem\"}",
         "ca_file must be an absolute path"},
        {"{\"url\":\"https://example.com/\",\"insecure\":\"yes\"}", "insecure must be true or"},
        {"{\"url\":\"https://example.com/\",\"proxy\":\"gopher://x\"}", "proxy must be a URL"},
        /* A trigger setting now: an old flow config says where it went. */
        {"{\"url\":\"https://example.com/\",\"respond_with\":\"upstream\"}",
         "http: respond_with is a trigger setting now: remove it here and set respond_with = "
         "\"upstream\" in each sync trigger"},
        {"{\"url\":\"https://example.com/\",\"respond_with\":\"execution\"}",
         "respond_with is a trigger setting now"},
        {"{\"url\":\"https://example.com/\",\"sign\":{\"preset\":\"github\"}}",
         "http: sign.secret must be"},
        {"{\"url\":\"https://example.com/\",\"allow_hosts\":[\"10.0.0.1/8\"]}",
         "http: allow_hosts[0]: \"10.0.0.1/8\" is not a valid IP address or CIDR block"},
        {"{\"url\":\"https://example.com/\",\"deny_private\":1}", "deny_private must be"},
        {"{\"url\":\"https://example.com/\",\"response_headers\":\"x\"}",
         "response_headers must be a list"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = configure(cases[i].config);

        ck_assert_msg(err != NULL, "case %zu accepted: %s", i, cases[i].config);
        ck_assert_msg(strstr(err, cases[i].message) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                      err, cases[i].message);
        ck_assert_msg(strncmp(err, "flows.d/x.conf:12: http: ", 25) == 0,
                      "case %zu: \"%s\" does not start with where", i, err);
    }
}
END_TEST

Suite *http_config_suite(void)
{
    Suite *s = suite_create("http_config");
    TCase *tc = tcase_create("config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, descriptor);
    tcase_add_test(tc, valid_configs);
    tcase_add_test(tc, errors_name_where_and_setting);
    suite_add_tcase(s, tc);
    return s;
}
