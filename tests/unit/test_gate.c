/*
 * test_gate.c - trigger admission: settings (gateconf.c, shapes.c), the
 * three checks (gate.c), rate limits (ratelimit.c) and filters (filter.c).
 *
 * Configurations go through config_load exactly as sluiced reads them, and
 * requests through event_parse_query, router_match and event_build, so the
 * gate is tested with the same inputs http.c gives it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "filter.h"
#include "gate.h"
#include "ratelimit.h"
#include "router.h"
#include "prematch.h"
#include "shapes.h"

/* ---- configuration ---- */

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-gate-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ratelimit_reset();
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

#define FLOWS "flows = ( { id = \"f\"; executor = \"shell\"; } );\n"

/* Load config text; NULL with the error in err. */
static sluice_config *load(const char *text, char *err, size_t errlen)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/sluice.conf", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    sluice_config *cfg = NULL;
    err[0] = 0;
    if (config_load(&cfg, path, err, errlen) < 0)
        return NULL;
    return cfg;
}

static sluice_config *load_ok(const char *text)
{
    char err[1024];
    sluice_config *cfg = load(text, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "config failed: %s", err);
    return cfg;
}

/* The config error, which must mention want. */
static void load_fails(const char *text, const char *want)
{
    char err[1024];
    sluice_config *cfg = load(text, err, sizeof(err));
    if (cfg)
        config_unref(cfg);
    ck_assert_msg(!cfg, "config should fail (%s)", want);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" should mention \"%s\"", err, want);
    ck_assert_msg(strstr(err, "sluice.conf:") != NULL, "error \"%s\" names no file:line", err);
}

/* ---- requests ---- */

typedef struct req {
    http_request rq;
    route_match m;
    trigger_def *t;
    json_t *event;
} req;

static void req_header(req *r, const char *name, const char *value)
{
    r->rq.headers = realloc(r->rq.headers, (r->rq.n_headers + 1) * sizeof(kv));
    r->rq.headers[r->rq.n_headers].name = strdup(name);
    r->rq.headers[r->rq.n_headers].value = strdup(value);
    r->rq.n_headers++;
}

/* A request for cfg: "METHOD /path?query", routed. */
static void req_init(req *r, sluice_config *cfg, const char *method, const char *target,
                     const char *body)
{
    memset(r, 0, sizeof(*r));
    strcpy(r->rq.request_id, "test");
    r->rq.method = method;
    const char *q = strchr(target, '?');
    r->rq.path = q ? strndup(target, (size_t)(q - target)) : strdup(target);
    r->rq.query = q ? strdup(q + 1) : NULL;
    strcpy(r->rq.remote_addr, "127.0.0.1");
    if (body) {
        r->rq.body = (unsigned char *)strdup(body);
        r->rq.body_len = strlen(body);
    }
    char err[256];
    ck_assert_int_eq(event_parse_query(&r->rq, err, sizeof(err)), 0);
    ck_assert_int_eq(router_match(cfg->router, r->rq.path, &r->m), 1);
    r->t = r->m.target;
}

static void req_free(req *r)
{
    free(r->rq.path);
    free(r->rq.query);
    for (size_t i = 0; i < r->rq.n_headers; i++) {
        free(r->rq.headers[i].name);
        free(r->rq.headers[i].value);
    }
    free(r->rq.headers);
    free(r->rq.header_repeated);
    for (size_t i = 0; i < r->rq.n_params; i++) {
        free(r->rq.params[i].name);
        free(r->rq.params[i].value);
    }
    free(r->rq.params);
    free(r->rq.body);
    route_match_clear(&r->m);
    json_decref(r->event);
}

/* Run the three checks in http.c's order; the first refusal's status, or 0. */
static int run(req *r, sluice_config *cfg, gate_verdict *v)
{
    memset(v, 0, sizeof(*v));
    struct gate *g = r->t->gate;
    if (!g)
        return 0;
    if (gate_check_route(g, cfg, &r->rq, &r->m, v) != 0)
        return v->status;
    if (gate_check_headers(g, cfg, &r->rq, v) != 0)
        return v->status;
    char err[256];
    ck_assert_int_eq(
        event_build(&r->event, &r->rq, r->t, cfg->secret_headers, &r->m, 1, err, sizeof(err)), 0);
    if (gate_check_body(g, cfg, &r->rq, r->event, v) != 0)
        return v->status;
    return 0;
}

static int status_of(sluice_config *cfg, const char *method, const char *target, const char *body,
                     const char *h1, const char *v1)
{
    req r;
    gate_verdict v;
    req_init(&r, cfg, method, target, body);
    if (h1)
        req_header(&r, h1, v1);
    int st = run(&r, cfg, &v);
    req_free(&r);
    return st;
}

/* ---- settings ---- */

START_TEST(test_settings_errors)
{
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; auth = { kees = [\"x\"]; }; } );",
               "unknown setting \"kees\"");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; auth = { }; } );",
               "set keys, basic, hmac or allow_ips");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { keys = [\"k\"]; key_in = [\"cookie:x\"]; }; } );",
               "key_in");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { keys = [\"k\"]; key_in = [\"path:key\"]; }; } );",
               "has no {key} segment");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { key_in = [\"bearer\"]; basic = [\"u:p\"]; }; } );",
               "needs keys");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { keys = [\"\"]; }; } );",
               "must not be empty");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { basic = [\"nopassword\"]; }; } );",
               "user:password");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { allow_ips = [\"10.0.0.0/40\"]; }; } );",
               "10.0.0.0/40");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { keys = [\"@env:SLUICE_TEST_NO_SUCH_VAR\"]; }; } );",
               "SLUICE_TEST_NO_SUCH_VAR is not set");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { hmac = { preset = \"gitlab\"; secrets = [\"s\"]; }; }; } );",
               "unknown preset \"gitlab\"");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { hmac = { preset = \"github\"; }; }; } );",
               "secrets is required");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { hmac = { secrets = [\"s\"]; }; }; } );",
               "needs a header");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; auth = { hmac = { "
                     "header = \"X-Sig\"; template = \"{timestamp}.{body}\"; "
                     "secrets = [\"s\"]; }; }; "
                     "} );",
               "timestamp_header");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; auth = { hmac = { "
                     "header = \"X-Sig\"; algorithm = \"md5\"; secrets = [\"s\"]; }; }; } );",
               "algorithm");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "auth = { keys = [\"k\"]; wrong_status = 402; }; } );",
               "wrong_status");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; rate_limit = { }; } );",
               "per_minute, per_hour or per_day");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "rate_limit = { per_minute = 0; }; } );",
               "out of range");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; filter_status = 200; } );",
               "filter_status needs a filter");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "filter = { header = \"X-A\"; }; } );",
               "exactly one of equals or matches");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "filter = { header = \"X-A\"; path = \"body.a\"; equals = \"1\"; }; } );",
               "exactly one of all, any, not, header or path");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "filter = { path = \"body.a\"; matches = \"(\"; }; } );",
               "bad regular expression");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "filter = { any = ( ); }; } );",
               "non-empty list");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; path = \"/t/mine\"; } );",
               "reserved for capability URLs");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; capability = true; "
                     "path = \"/x\"; } );",
               "path is set by capability");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; capability = { "
                     "invalid_status = 401; }; } );",
               "use 400 or 404");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; capability = true; "
                     "kestra = { namespace = \"n\"; flow = \"f\"; key = \"k\"; }; } );",
               "use only one of");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "kestra = { namespace = \"n\"; flow = \"f\"; }; } );",
               "namespace, flow and key are required");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "kestra = { namespace = \"a/b\"; flow = \"f\"; key = \"k\"; }; } );",
               "must match");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; "
                     "kestra = { namespace = \"n\"; flow = \"f\"; key = \"k\"; }; "
                     "auth = { keys = [\"k2\"]; }; } );",
               "already names its key");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; wayscript = { }; } );",
               "program_id");
    load_fails("server: { trusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]; };\n" FLOWS,
               "proxy.local");
}
END_TEST

START_TEST(test_shapes)
{
    sluice_config *cfg = load_ok(
        FLOWS "triggers = (\n"
              " { id = \"k\"; flows = [\"f\"]; kestra = { namespace = \"company.team\"; "
              "flow = \"myflow\"; key = \"kk\"; }; },\n"
              " { id = \"kt\"; flows = [\"f\"]; kestra = { tenant = \"main\"; namespace = \"n\"; "
              "flow = \"myflow\"; key = \"kk\"; }; methods = [\"POST\"]; },\n"
              " { id = \"c\"; flows = [\"f\"]; cloudomation = { client = \"acme\"; name = \"run\"; "
              "}; },\n"
              " { id = \"ca\"; flows = [\"f\"]; cloudomation = { client = \"acme\"; name = \"a\"; "
              "}; mode = \"async\"; },\n"
              " { id = \"w\"; flows = [\"f\"]; wayscript = { program_id = \"1234\"; "
              "api_key = \"wk\"; }; },\n"
              " { id = \"w2\"; flows = [\"f\"]; wayscript = { api_key = \"wk\"; }; "
              "path = \"/ws/{program}\"; },\n"
              " { id = \"cap\"; flows = [\"f\"]; capability = true; },\n"
              " { id = \"nocap\"; flows = [\"f\"]; capability = false; }\n"
              ");");
    trigger_def *t = config_find_trigger(cfg, "k");
    ck_assert_str_eq(t->path, "/api/v1/executions/webhook/company.team/myflow/{key}");
    ck_assert_uint_eq(t->methods, METHOD_GET | METHOD_POST | METHOD_PUT);
    ck_assert_ptr_nonnull(t->gate);
    t = config_find_trigger(cfg, "kt");
    ck_assert_str_eq(t->path, "/api/v1/main/executions/webhook/n/myflow/{key}");
    ck_assert_uint_eq(t->methods, METHOD_POST);
    t = config_find_trigger(cfg, "c");
    ck_assert_str_eq(t->path, "/api/webhook/acme/run");
    ck_assert_int_eq(t->sync, 1);
    ck_assert_uint_eq(t->methods, METHOD_GET | METHOD_POST);
    ck_assert_ptr_null(t->gate); /* no key: nothing to check */
    ck_assert_int_eq(config_find_trigger(cfg, "ca")->sync, 0);
    t = config_find_trigger(cfg, "w");
    ck_assert_str_eq(t->path, "/wayscript/1234");
    ck_assert_str_eq(config_find_trigger(cfg, "w2")->path, "/ws/{program}");
    t = config_find_trigger(cfg, "cap");
    ck_assert_int_eq(gate_capability_status(t->gate), 400);
    ck_assert_ptr_null(config_find_trigger(cfg, "nocap")->gate);
    ck_assert_str_eq(config_find_trigger(cfg, "nocap")->path, "/hooks/nocap");
    config_unref(cfg);
}
END_TEST

/* ---- keys ---- */

START_TEST(test_keys_where_and_status)
{
    sluice_config *cfg = load_ok(
        FLOWS "triggers = (\n"
              " { id = \"b\"; flows = [\"f\"]; auth = { keys = [\"old-key\", \"new-key\"]; }; },\n"
              " { id = \"q\"; flows = [\"f\"]; methods = [\"GET\", \"POST\"]; auth = { "
              "keys = [\"qk\"]; key_in = [\"query:key\", \"header:X-Token\", \"body:key\"]; }; }\n"
              ");");
    /* Bearer and X-Api-Key by default; both keys (rotation). */
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/b", NULL, "authorization", "Bearer old-key"),
                     0);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/b", NULL, "authorization", "Bearer new-key"),
                     0);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/b", NULL, "x-api-key", "new-key"), 0);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/b", NULL, "authorization", "Bearer nope"), 403);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/b", NULL, NULL, NULL), 401);
    /* A key in the query is not where this trigger looks: still missing. */
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/b?key=old-key", NULL, NULL, NULL), 401);

    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/hooks/b", NULL);
    ck_assert_int_eq(run(&r, cfg, &v), 401);
    ck_assert_str_eq(v.code, "unauthorized");
    ck_assert_str_eq(v.www_authenticate, "Bearer realm=\"sluice\"");
    req_free(&r);

    ck_assert_int_eq(status_of(cfg, "GET", "/hooks/q?key=qk", NULL, NULL, NULL), 0);
    ck_assert_int_eq(status_of(cfg, "GET", "/hooks/q?key=qq", NULL, NULL, NULL), 403);
    ck_assert_int_eq(status_of(cfg, "GET", "/hooks/q", NULL, "x-token", "qk"), 0);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/q", "{\"key\":\"qk\",\"a\":1}", "content-type",
                               "application/json"),
                     0);
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/q", "{\"key\":\"zz\"}", "content-type", "application/json"),
        403);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/q", "key=qk&b=2", "content-type",
                               "application/x-www-form-urlencoded"),
                     0);
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/q", "{\"key\":7}", "content-type", "application/json"), 403);
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/q", "{\"a\":1}", "content-type", "application/json"), 401);
    /* A right key with a wrong one beside it is refused. */
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/q?key=qk", "{\"key\":\"zz\"}", "content-type",
                               "application/json"),
                     403);
    config_unref(cfg);
}
END_TEST

START_TEST(test_keys_redacted)
{
    setenv("SLUICE_TEST_KEY", "env-secret-1", 1);
    sluice_config *cfg =
        load_ok(FLOWS "triggers = (\n"
                      " { id = \"q\"; flows = [\"f\"]; auth = { keys = [\"@env:SLUICE_TEST_KEY\"]; "
                      "key_in = [\"query:key\", \"header:X-Token\", \"body:key\"]; }; }\n"
                      ");");
    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/hooks/q?key=env-secret-1&a=1", "{\"key\":\"env-secret-1\"}");
    req_header(&r, "content-type", "application/json");
    req_header(&r, "x-token", "env-secret-1");
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    char *text = json_dumps(r.event, JSON_COMPACT);
    ck_assert_ptr_null(strstr(text, "env-secret-1"));
    ck_assert_ptr_nonnull(strstr(text, "\"key\":[\"[redacted]\"]"));
    ck_assert_ptr_nonnull(strstr(text, "\"a\":[\"1\"]"));
    free(text);
    /* The key header is secret for exec_header too. */
    ck_assert(event_header_is_secret(cfg->secret_headers, "x-token"));
    req_free(&r);
    config_unref(cfg);
}
END_TEST

START_TEST(test_path_key)
{
    sluice_config *cfg =
        load_ok(FLOWS "triggers = ( { id = \"k\"; flows = [\"f\"]; kestra = { namespace = \"n\"; "
                      "flow = \"fl\"; key = [\"key-one\", \"key-two\"]; }; } );");
    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/api/v1/executions/webhook/n/fl/key-two", NULL);
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    /* Nothing downstream sees the key: not the path, not the parameters. */
    ck_assert_str_eq(r.rq.path, "/api/v1/executions/webhook/n/fl/[redacted]");
    ck_assert_str_eq(r.m.values[0], "[redacted]");
    char *text = json_dumps(r.event, JSON_COMPACT);
    ck_assert_ptr_null(strstr(text, "key-two"));
    free(text);
    req_free(&r);

    req_init(&r, cfg, "GET", "/api/v1/executions/webhook/n/fl/key-three", NULL);
    ck_assert_int_eq(run(&r, cfg, &v), 404);
    ck_assert_str_eq(v.code, "not_found");
    ck_assert_str_eq(v.message, "no trigger at this path");
    ck_assert_str_eq(r.rq.path, "/api/v1/executions/webhook/n/fl/[redacted]");
    req_free(&r);
    config_unref(cfg);
}
END_TEST

START_TEST(test_basic)
{
    sluice_config *cfg = load_ok(FLOWS "triggers = ( { id = \"b\"; flows = [\"f\"]; "
                                       "auth = { basic = [\"alice:wonder land\"]; }; } );");
    /* alice:wonder land */
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/b", NULL, "authorization", "Basic YWxpY2U6d29uZGVyIGxhbmQ="),
        0);
    /* alice:wonderland */
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/b", NULL, "authorization", "Basic YWxpY2U6d29uZGVybGFuZA=="),
        403);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/b", NULL, "authorization", "Basic %%%"), 403);
    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/hooks/b", NULL);
    ck_assert_int_eq(run(&r, cfg, &v), 401);
    ck_assert_str_eq(v.www_authenticate, "Basic realm=\"sluice\"");
    req_free(&r);
    config_unref(cfg);
}
END_TEST

START_TEST(test_hmac_through_gate)
{
    sluice_config *cfg = load_ok(
        FLOWS "triggers = ( { id = \"gh\"; flows = [\"f\"]; auth = { hmac = { "
              "preset = \"github\"; secrets = [\"rotated\", \"It's a Secret to Everybody\"]; }; "
              "}; } );");
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/gh", "Hello, World!", "x-hub-signature-256",
                  "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
        0);
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/gh", "Hello, World", "x-hub-signature-256",
                  "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
        403);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/gh", "Hello, World!", NULL, NULL), 401);
    ck_assert(event_header_is_secret(cfg->secret_headers, "x-hub-signature-256"));
    config_unref(cfg);
}
END_TEST

/* ---- addresses and failures ---- */

START_TEST(test_allow_ips)
{
    sluice_config *cfg =
        load_ok("server: { trusted_proxies = [\"127.0.0.1\"]; };\n" FLOWS
                "triggers = ( { id = \"ip\"; flows = [\"f\"]; "
                "auth = { allow_ips = [\"203.0.113.0/24\", \"2001:db8::/32\"]; }; } );");
    req r;
    gate_verdict v;
    /* The peer is a trusted proxy: the client is the address it appended. */
    req_init(&r, cfg, "POST", "/hooks/ip", NULL);
    req_header(&r, "x-forwarded-for", "203.0.113.9");
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    req_free(&r);
    req_init(&r, cfg, "POST", "/hooks/ip", NULL);
    req_header(&r, "x-forwarded-for", "2001:db8::7");
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    req_free(&r);
    /* A sender prepending an allowed address does not get in. */
    req_init(&r, cfg, "POST", "/hooks/ip", NULL);
    req_header(&r, "x-forwarded-for", "203.0.113.9, 198.51.100.1");
    ck_assert_int_eq(run(&r, cfg, &v), 403);
    ck_assert_ptr_nonnull(strstr(v.message, "198.51.100.1"));
    req_free(&r);
    /* From an untrusted peer, X-Forwarded-For is not read at all. */
    req_init(&r, cfg, "POST", "/hooks/ip", NULL);
    strcpy(r.rq.remote_addr, "192.0.2.1");
    req_header(&r, "x-forwarded-for", "203.0.113.9");
    ck_assert_int_eq(run(&r, cfg, &v), 403);
    req_free(&r);
    /* The loopback peer itself is not on the list. */
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/ip", NULL, NULL, NULL), 403);
    config_unref(cfg);
}
END_TEST

START_TEST(test_failure_limit)
{
    sluice_config *cfg = load_ok(FLOWS "triggers = ( { id = \"lock\"; flows = [\"f\"]; auth = { "
                                       "keys = [\"k\"]; max_failures = 3; "
                                       "failure_window = \"1m\"; }; } );");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(status_of(cfg, "POST", "/hooks/lock", NULL, "x-api-key", "bad"), 403);
    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/hooks/lock", NULL);
    req_header(&r, "x-api-key", "k");
    /* Blocked: even the right key waits, so guessing gains nothing. */
    ck_assert_int_eq(run(&r, cfg, &v), 429);
    ck_assert_str_eq(v.code, "too_many_failures");
    ck_assert_uint_ge(v.retry_after, 1);
    ck_assert_uint_le(v.retry_after, 20);
    req_free(&r);
    /* Another address is not affected. */
    req_init(&r, cfg, "POST", "/hooks/lock", NULL);
    strcpy(r.rq.remote_addr, "::1");
    req_header(&r, "x-api-key", "k");
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    req_free(&r);
    gate_counters c;
    gate_counters_get("lock", &c);
    ck_assert_uint_eq(c.forbidden, 3);
    ck_assert_uint_eq(c.rate_limited, 1);
    /* An IPv6 client is one /64: fresh addresses in it bring no new tries. */
    static const char *in64[] = {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:a:b:c:d"};
    for (int i = 0; i < 3; i++) {
        req_init(&r, cfg, "POST", "/hooks/lock", NULL);
        strcpy(r.rq.remote_addr, in64[i]);
        req_header(&r, "x-api-key", "bad");
        ck_assert_int_eq(run(&r, cfg, &v), 403);
        req_free(&r);
    }
    req_init(&r, cfg, "POST", "/hooks/lock", NULL);
    strcpy(r.rq.remote_addr, "2001:db8:1:2::99");
    req_header(&r, "x-api-key", "k");
    ck_assert_int_eq(run(&r, cfg, &v), 429);
    req_free(&r);
    req_init(&r, cfg, "POST", "/hooks/lock", NULL);
    strcpy(r.rq.remote_addr, "2001:db8:1:3::1");
    req_header(&r, "x-api-key", "k");
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    req_free(&r);
    config_unref(cfg);
}
END_TEST

/* The trigger a request to target reaches: routed, then its program picked.
 * NULL with v filled when refused. */
static trigger_def *pick(sluice_config *cfg, const char *target, gate_verdict *v)
{
    req r;
    memset(v, 0, sizeof(*v));
    req_init(&r, cfg, "POST", target, NULL);
    trigger_def *t = shapes_pick_program(&r.rq, &r.m, v) == 0 ? r.m.target : NULL;
    req_free(&r);
    return t;
}

START_TEST(test_wayscript_shared_path)
{
    sluice_config *cfg =
        load_ok(FLOWS "triggers = (\n"
                      " { id = \"w1\"; flows = [\"f\"]; path = \"/api\"; "
                      "wayscript = { program_id = \"3726\"; api_key = \"k1\"; }; },\n"
                      " { id = \"w2\"; flows = [\"f\"]; path = \"/api\"; "
                      "wayscript = { program_id = \"4242\"; api_key = \"k2\"; }; },\n"
                      " { id = \"w3\"; flows = [\"f\"]; path = \"/api\"; "
                      "wayscript = { program_id = \"7\"; }; },\n"
                      " { id = \"solo\"; flows = [\"f\"]; path = \"/one\"; "
                      "wayscript = { program_id = \"1\"; }; } );");
    gate_verdict v;
    trigger_def *t = pick(cfg, "/api?api_key=k2&program_id=4242&variables=x", &v);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->id, "w2");
    ck_assert_str_eq(pick(cfg, "/api?program_id=3726", &v)->id, "w1");
    ck_assert_str_eq(pick(cfg, "/api?program_id=7", &v)->id, "w3");
    /* Each program keeps its own key. */
    static const struct {
        const char *target;
        int status;
    } keyed[] = {{"/api?program_id=4242&api_key=k2", 0}, {"/api?program_id=4242&api_key=k1", 403}};
    for (size_t i = 0; i < 2; i++) {
        req r;
        req_init(&r, cfg, "POST", keyed[i].target, NULL);
        ck_assert_int_eq(shapes_pick_program(&r.rq, &r.m, &v), 0);
        r.t = r.m.target;
        ck_assert_int_eq(run(&r, cfg, &v), keyed[i].status);
        req_free(&r);
    }
    /* Unknown: like an unknown route; missing or twice: 400. */
    ck_assert_ptr_null(pick(cfg, "/api?program_id=9999", &v));
    ck_assert_int_eq(v.status, 404);
    ck_assert_str_eq(v.message, "no trigger at this path");
    ck_assert_ptr_null(pick(cfg, "/api?api_key=k1", &v));
    ck_assert_int_eq(v.status, 400);
    ck_assert_ptr_nonnull(strstr(v.message, "program_id is required"));
    ck_assert_ptr_null(pick(cfg, "/api?program_id=3726&program_id=4242", &v));
    ck_assert_int_eq(v.status, 400);
    /* A path with one program: its id may be left out, not mistaken. */
    ck_assert_str_eq(pick(cfg, "/one", &v)->id, "solo");
    ck_assert_ptr_null(pick(cfg, "/one?program_id=2", &v));
    ck_assert_int_eq(v.status, 404);
    config_unref(cfg);

    load_fails(FLOWS "triggers = (\n"
                     " { id = \"w1\"; flows = [\"f\"]; path = \"/api\"; "
                     "wayscript = { program_id = \"3726\"; }; },\n"
                     " { id = \"w2\"; flows = [\"f\"]; path = \"/api\"; "
                     "wayscript = { program_id = \"3726\"; }; } );",
               "\"3726\" already names trigger \"w1\"");
    /* Anything else on the path is still a duplicate route. */
    load_fails(FLOWS "triggers = (\n"
                     " { id = \"w1\"; flows = [\"f\"]; path = \"/api\"; "
                     "wayscript = { program_id = \"3726\"; }; },\n"
                     " { id = \"h\"; flows = [\"f\"]; path = \"/api\"; } );",
               "duplicate route");
    load_fails(FLOWS "triggers = (\n"
                     " { id = \"w1\"; flows = [\"f\"]; path = \"/api\"; "
                     "wayscript = { program_id = \"3726\"; }; },\n"
                     " { id = \"w2\"; flows = [\"f\"]; path = \"/api\"; wayscript = { }; } );",
               "duplicate route");
}
END_TEST

/* ---- secrets before refusals, repeated headers, budgets ---- */

START_TEST(test_path_key_redacted_before_any_refusal)
{
    /* Refused by allow_ips, and by the failure limit: the path that is
     * logged with the refusal (rq->path) never holds the key. */
    sluice_config *cfg =
        load_ok(FLOWS "triggers = ( { id = \"k\"; flows = [\"f\"]; kestra = { namespace = \"n\"; "
                      "flow = \"fl\"; key = [\"KESTRA-KEY-1\"]; }; "
                      "auth = { allow_ips = [\"10.0.0.0/8\"]; }; } );");
    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/api/v1/executions/webhook/n/fl/KESTRA-KEY-1", NULL);
    ck_assert_int_eq(run(&r, cfg, &v), 403);
    ck_assert_str_eq(r.rq.path, "/api/v1/executions/webhook/n/fl/[redacted]");
    ck_assert_str_eq(r.m.values[0], "[redacted]");
    req_free(&r);
    config_unref(cfg);

    cfg = load_ok(FLOWS "triggers = ( { id = \"k2\"; flows = [\"f\"]; kestra = { namespace = "
                        "\"n\"; flow = \"f2\"; key = [\"KESTRA-KEY-2\"]; }; "
                        "auth = { allow_ips = [\"127.0.0.0/8\"]; max_failures = 1; }; } );");
    ck_assert_int_eq(
        status_of(cfg, "POST", "/api/v1/executions/webhook/n/f2/wrong", NULL, NULL, NULL), 404);
    req_init(&r, cfg, "POST", "/api/v1/executions/webhook/n/f2/KESTRA-KEY-2", NULL);
    ck_assert_int_eq(run(&r, cfg, &v), 429);
    ck_assert_str_eq(r.rq.path, "/api/v1/executions/webhook/n/f2/[redacted]");
    req_free(&r);
    config_unref(cfg);
}
END_TEST

/* A request as http.c sees it: headers folded once collected. */
static int run_folded(req *r, sluice_config *cfg, gate_verdict *v)
{
    event_fold_headers(&r->rq);
    return run(r, cfg, v);
}

START_TEST(test_repeated_headers)
{
    sluice_config *cfg = load_ok(
        FLOWS "triggers = ( { id = \"flt\"; flows = [\"f\"]; "
              "filter = { header = \"X-Event\"; equals = \"push\"; }; },\n"
              "{ id = \"tok\"; flows = [\"f\"]; auth = { keys = [\"right\"]; "
              "key_in = [\"header:X-Token\"]; }; },\n"
              "{ id = \"gh\"; flows = [\"f\"]; auth = { hmac = { preset = \"github\"; "
              "secrets = [\"It's a Secret to Everybody\"]; }; }; },\n"
              "{ id = \"sv\"; flows = [\"f\"]; auth = { hmac = { preset = \"standard-webhooks\"; "
              "secrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]; }; }; },\n"
              "{ id = \"bearer\"; flows = [\"f\"]; auth = { keys = [\"right\"]; }; } );");
    req r;
    gate_verdict v;
    /* A filter passing on one value while the flow gets another. */
    req_init(&r, cfg, "POST", "/hooks/flt", NULL);
    req_header(&r, "x-event", "push");
    req_header(&r, "x-event", "delete");
    ck_assert_int_eq(run_folded(&r, cfg, &v), 400);
    ck_assert_str_eq(v.code, "repeated_header");
    ck_assert_ptr_nonnull(strstr(v.message, "x-event"));
    req_free(&r);
    /* A right credential followed by a wrong one. */
    req_init(&r, cfg, "POST", "/hooks/tok", NULL);
    req_header(&r, "x-token", "right");
    req_header(&r, "x-token", "wrong");
    ck_assert_int_eq(run_folded(&r, cfg, &v), 400);
    req_free(&r);
    req_init(&r, cfg, "POST", "/hooks/bearer", NULL);
    req_header(&r, "authorization", "Bearer right");
    req_header(&r, "authorization", "Bearer wrong");
    ck_assert_int_eq(run_folded(&r, cfg, &v), 400);
    req_free(&r);
    /* Signatures, under the preset's other names too. */
    req_init(&r, cfg, "POST", "/hooks/gh", "Hello, World!");
    req_header(&r, "x-hub-signature-256",
               "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    req_header(&r, "x-hub-signature-256", "sha256=00");
    ck_assert_int_eq(run_folded(&r, cfg, &v), 400);
    req_free(&r);
    req_init(&r, cfg, "POST", "/hooks/sv", "{}");
    req_header(&r, "svix-id", "msg_1");
    req_header(&r, "svix-id", "msg_2");
    ck_assert_int_eq(run_folded(&r, cfg, &v), 400);
    req_free(&r);

    /* Any other repeated header is one value, joined with ", ", read the
     * same by everyone: the filter's header is sent once and passes. */
    req_init(&r, cfg, "POST", "/hooks/flt", NULL);
    req_header(&r, "x-other", "a");
    req_header(&r, "x-event", "push");
    req_header(&r, "x-other", "b");
    req_header(&r, "x-other", "c");
    ck_assert_int_eq(run_folded(&r, cfg, &v), 0);
    ck_assert_uint_eq(r.rq.n_headers, 2);
    ck_assert_str_eq(r.rq.headers[0].name, "x-other");
    ck_assert_str_eq(event_header(&r.rq, "x-other"), "a, b, c");
    ck_assert(event_header_repeated(&r.rq, "x-other"));
    ck_assert(!event_header_repeated(&r.rq, "x-event"));
    json_t *h = json_object_get(r.event, "headers");
    ck_assert_str_eq(json_string_value(json_object_get(h, "x-other")), "a, b, c");
    ck_assert_str_eq(json_string_value(json_object_get(h, "x-event")), "push");
    req_free(&r);
    config_unref(cfg);
}
END_TEST

START_TEST(test_fold_headers_many)
{
    /* Thousands of headers, most of them repeats: one pass, order kept. */
    http_request rq;
    memset(&rq, 0, sizeof(rq));
    size_t n = 6000;
    rq.headers = calloc(n, sizeof(kv));
    for (size_t i = 0; i < n; i++) {
        char name[16], val[16];
        snprintf(name, sizeof(name), "h%zu", i % 3 == 0 ? i : 1);
        snprintf(val, sizeof(val), "%zu", i);
        rq.headers[i].name = strdup(name);
        rq.headers[i].value = strdup(val);
    }
    rq.n_headers = n;
    event_fold_headers(&rq);
    ck_assert_uint_eq(rq.n_headers, n / 3 + 1);
    ck_assert_str_eq(rq.headers[0].name, "h0");
    ck_assert_str_eq(rq.headers[1].name, "h1");
    ck_assert(rq.header_repeated[1] && !rq.header_repeated[0]);
    ck_assert(strncmp(rq.headers[1].value, "1, 2, 4, 5, 7", 13) == 0);
    ck_assert_str_eq(rq.headers[2].name, "h3");
    for (size_t i = 0; i < rq.n_headers; i++) {
        free(rq.headers[i].name);
        free(rq.headers[i].value);
    }
    free(rq.headers);
    free(rq.header_repeated);
}
END_TEST

START_TEST(test_refused_requests_spend_no_budget)
{
    sluice_config *cfg = load_ok(
        FLOWS
        "triggers = ( { id = \"open\"; flows = [\"f\"]; rate_limit = { per_minute = 1; }; },\n"
        "{ id = \"both\"; flows = [\"f\"]; rate_limit = { per_minute = 1; }; "
        "auth = { keys = [\"k\"]; key_in = [\"header:x-key\", \"body:key\"]; "
        "max_failures = 0; }; } );");
    /* Headers pass, then the body is refused (413 while it streams, 400
     * when it does not parse): http.c never calls gate_check_body. */
    for (int i = 0; i < 3; i++) {
        req r;
        gate_verdict v = {0};
        req_init(&r, cfg, "POST", "/hooks/open", NULL);
        ck_assert_int_eq(gate_check_route(r.t->gate, cfg, &r.rq, &r.m, &v), 0);
        ck_assert_int_eq(gate_check_headers(r.t->gate, cfg, &r.rq, &v), 0);
        req_free(&r);
    }
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/open", NULL, NULL, NULL), 0);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/open", NULL, NULL, NULL), 429);

    /* A right key in a header and a wrong one in the body: 403, and the
     * budget is still whole. */
    for (int i = 0; i < 3; i++) {
        req r;
        gate_verdict v;
        req_init(&r, cfg, "POST", "/hooks/both", "{\"key\":\"x\"}");
        req_header(&r, "content-type", "application/json");
        req_header(&r, "x-key", "k");
        ck_assert_int_eq(run(&r, cfg, &v), 403);
        req_free(&r);
    }
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/both", NULL, "x-key", "k"), 0);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/both", NULL, "x-key", "k"), 429);
    config_unref(cfg);
}
END_TEST

START_TEST(test_filter_pattern_bounds)
{
    /* glibc took 721 MB to compile this one. */
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; filter = { header = \"X-Ref\"; "
                     "matches = \"^refs/head++++++++++++++++++++s/main$\"; }; } );",
               "repetitions expand to more than 2000");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; filter = { header = \"X-Ref\"; "
                     "matches = \"((a{1,100}){1,100}){1,100}\"; }; } );",
               "repetitions expand");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; filter = { header = \"X-Ref\"; "
                     "matches = \"(.*){1,4000}\"; }; } );",
               "repetitions expand");
    load_fails(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; filter = { header = \"X-Ref\"; "
                     "matches = \"^(a+)\\\\1$\"; }; } );",
               "back-references");
    char big[1200 + 300];
    memset(big, 0, sizeof(big));
    strcpy(big, FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; filter = { header = \"X\"; "
                      "matches = \"");
    size_t l = strlen(big);
    memset(big + l, 'a', 1100);
    strcpy(big + l + 1100, "\"; }; } );");
    load_fails(big, "longer than 1024 characters");
    /* Ordinary patterns, bounded repetitions included, still load. */
    sluice_config *cfg = load_ok(
        FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; filter = { all = ( "
              "{ path = \"body.ref\"; matches = \"^refs/heads/(main|release/.+)$\"; }, "
              "{ path = \"body.sha\"; matches = \"^[0-9a-f]{40}([0-9a-f]{24})?$\"; }, "
              "{ path = \"body.ip\"; matches = \"^([0-9]{1,3}\\\\.){3}[0-9]{1,3}$\"; }, "
              "{ path = \"body.s\"; matches = \"^[[:alnum:]_]{1,500}\\\\\\\\x\"; } ); }; } );");
    config_unref(cfg);
}
END_TEST

/* ---- rate limits ---- */

START_TEST(test_gcra)
{
    ratelimit_rule per_min = {60000, 5};
    unsigned ra = 0;
    uint64_t t0 = 1000000;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(ratelimit_take("k", &per_min, 1, t0, &ra), 0);
    ck_assert_int_eq(ratelimit_take("k", &per_min, 1, t0, &ra), -1);
    ck_assert_uint_eq(ra, 12);
    /* peek neither takes nor refills */
    ck_assert_int_eq(ratelimit_peek("k", &per_min, 1, t0 + 11999, &ra), -1);
    ck_assert_int_eq(ratelimit_peek("k", &per_min, 1, t0 + 12000, &ra), 0);
    ck_assert_int_eq(ratelimit_take("k", &per_min, 1, t0 + 12000, &ra), 0);
    ck_assert_int_eq(ratelimit_take("k", &per_min, 1, t0 + 12000, &ra), -1);
    /* another key has its own budget */
    ck_assert_int_eq(ratelimit_take("other", &per_min, 1, t0, &ra), 0);

    /* two rules: all or nothing, and the longer wait wins */
    ratelimit_rule both[] = {{60000, 5}, {86400000, 3}};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ratelimit_take("d", both, 2, t0, &ra), 0);
    ck_assert_int_eq(ratelimit_take("d", both, 2, t0, &ra), -1);
    ck_assert_uint_eq(ra, 28800);
    ck_assert_int_eq(ratelimit_take("d", both, 2, t0 + 28800 * 1000ULL, &ra), 0);
    ck_assert_uint_gt(ratelimit_size(), 0);
    ratelimit_reset();
    ck_assert_uint_eq(ratelimit_size(), 0);
}
END_TEST

/*
 * A full table of budgets still in use (a per-day limit, one key per sender
 * address): evicting must be amortized, a pass over the table per many new
 * keys rather than one per key, and must keep the keys that spent most.
 */
START_TEST(test_rate_table_full)
{
    ratelimit_rule per_day = {86400000, 10};
    unsigned ra = 0;
    uint64_t t0 = 1000000;
    char key[32];
    /* A heavy sender first: its budget is the furthest from refilled. */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(ratelimit_take("heavy", &per_day, 1, t0, &ra), 0);
    ck_assert_int_eq(ratelimit_take("heavy", &per_day, 1, t0, &ra), -1);
    /* Later senders one request each fill the table. */
    for (unsigned i = 1; ratelimit_size() < RATELIMIT_MAX_KEYS; i++) {
        snprintf(key, sizeof(key), "addr-%u", i);
        ck_assert_int_eq(ratelimit_take(key, &per_day, 1, t0 + i, &ra), 0);
    }
    /* One more: down to the low-water mark in one go, not by one key. */
    ck_assert_int_eq(ratelimit_take("new-0", &per_day, 1, t0 + 100000, &ra), 0);
    ck_assert_uint_eq(ratelimit_size(), RATELIMIT_LOW_WATER + 1);
    /* The next keys up to the limit need no pass at all. */
    size_t room = RATELIMIT_MAX_KEYS - ratelimit_size();
    for (size_t i = 1; i <= room; i++) {
        snprintf(key, sizeof(key), "new-%zu", i);
        ck_assert_int_eq(ratelimit_take(key, &per_day, 1, t0 + 100000, &ra), 0);
        ck_assert_uint_eq(ratelimit_size(), RATELIMIT_LOW_WATER + 1 + i);
    }
    /* What went were the budgets closest to refilled: the oldest
     * one-request senders went, the heavy sender is still limited. */
    ck_assert_int_eq(ratelimit_peek("heavy", &per_day, 1, t0 + 100000, &ra), -1);
    ck_assert_uint_eq(ra, 8540); /* its next request is due at 8640 s */
    ck_assert_int_eq(ratelimit_peek("addr-1", &per_day, 1, t0 + 100000, &ra), 0);
    ratelimit_reset();
}
END_TEST

START_TEST(test_rate_limit_through_gate)
{
    sluice_config *cfg = load_ok(FLOWS "triggers = ( { id = \"r\"; flows = [\"f\"]; "
                                       "rate_limit = { per_minute = 2; per_day = 100; }; } );");
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/r", NULL, NULL, NULL), 0);
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/r", NULL, NULL, NULL), 0);
    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/hooks/r", NULL);
    ck_assert_int_eq(run(&r, cfg, &v), 429);
    ck_assert_str_eq(v.code, "rate_limited");
    ck_assert_uint_ge(v.retry_after, 29);
    ck_assert_uint_le(v.retry_after, 30);
    req_free(&r);
    config_unref(cfg);

    /* A reload builds new gates but keeps the budget. */
    cfg = load_ok(FLOWS "triggers = ( { id = \"r\"; flows = [\"f\"]; "
                        "rate_limit = { per_minute = 2; per_day = 100; }; } );");
    ck_assert_int_eq(status_of(cfg, "POST", "/hooks/r", NULL, NULL, NULL), 429);
    config_unref(cfg);
}
END_TEST

START_TEST(test_rate_limit_counts_only_authenticated)
{
    sluice_config *cfg = load_ok(FLOWS "triggers = ( { id = \"r\"; flows = [\"f\"]; "
                                       "rate_limit = { per_minute = 1; }; auth = { "
                                       "keys = [\"k\"]; key_in = [\"body:key\"]; "
                                       "max_failures = 0; }; } );");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(status_of(cfg, "POST", "/hooks/r", "{\"key\":\"x\"}", "content-type",
                                   "application/json"),
                         403);
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/r", "{\"key\":\"k\"}", "content-type", "application/json"),
        0);
    ck_assert_int_eq(
        status_of(cfg, "POST", "/hooks/r", "{\"key\":\"k\"}", "content-type", "application/json"),
        429);
    config_unref(cfg);
}
END_TEST

/* ---- filters ---- */

START_TEST(test_filters)
{
    sluice_config *cfg = load_ok(
        FLOWS "triggers = ( { id = \"gh\"; flows = [\"f\"]; filter_status = 200; "
              "filter = { all = ( "
              "{ header = \"X-GitHub-Event\"; equals = [\"push\", \"release\"]; }, "
              "{ any = ( { path = \"body.ref\"; matches = \"^refs/heads/(main|release/.+)$\"; }, "
              "{ path = \"body.commits[1].id\"; equals = \"c2\"; } ) }, "
              "{ not = { path = \"body.draft\"; equals = \"true\"; }; } ); }; } );");
    const char *main_push = "{\"ref\":\"refs/heads/main\",\"draft\":false}";
    req r;
    gate_verdict v;
    req_init(&r, cfg, "POST", "/hooks/gh", main_push);
    req_header(&r, "content-type", "application/json");
    req_header(&r, "x-github-event", "push");
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    req_free(&r);
    req_init(&r, cfg, "POST", "/hooks/gh", main_push);
    req_header(&r, "content-type", "application/json");
    req_header(&r, "x-github-event", "issues");
    ck_assert_int_eq(run(&r, cfg, &v), 200);
    ck_assert_ptr_nonnull(strstr(v.message, "x-github-event"));
    req_free(&r);

    req_init(&r, cfg, "POST", "/hooks/gh", "{\"ref\":\"refs/heads/dev\"}");
    req_header(&r, "content-type", "application/json");
    req_header(&r, "x-github-event", "push");
    ck_assert_int_eq(run(&r, cfg, &v), 200);
    ck_assert_int_eq(v.filtered, 1);
    req_free(&r);

    req_init(&r, cfg, "POST", "/hooks/gh",
             "{\"ref\":\"refs/heads/dev\",\"commits\":[{\"id\":\"c1\"},{\"id\":\"c2\"}]}");
    req_header(&r, "content-type", "application/json");
    req_header(&r, "x-github-event", "release");
    ck_assert_int_eq(run(&r, cfg, &v), 0);
    req_free(&r);

    req_init(&r, cfg, "POST", "/hooks/gh", "{\"ref\":\"refs/heads/main\",\"draft\":true}");
    req_header(&r, "content-type", "application/json");
    req_header(&r, "x-github-event", "push");
    ck_assert_int_eq(run(&r, cfg, &v), 200);
    req_free(&r);

    gate_counters c;
    gate_counters_get("gh", &c);
    ck_assert_uint_eq(c.filtered, 3);
    json_t *j = gate_counters_json("gh");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "filtered")), 3);
    json_decref(j);
    config_unref(cfg);
}
END_TEST

START_TEST(test_filter_lookup)
{
    json_t *ev = json_loads("{\"body\":{\"a\":[1,{\"b\":\"x\"}],\"n\":2.5,\"t\":true},"
                            "\"query\":{\"tag\":[\"v1\"]}}",
                            0, NULL);
    ck_assert_str_eq(json_string_value(filter_lookup(ev, "body.a[1].b")), "x");
    ck_assert_str_eq(json_string_value(filter_lookup(ev, "query.tag[0]")), "v1");
    ck_assert_int_eq(json_integer_value(filter_lookup(ev, "body.a[0]")), 1);
    ck_assert_ptr_null(filter_lookup(ev, "body.a[2]"));
    ck_assert_ptr_null(filter_lookup(ev, "body.a.b"));
    ck_assert_ptr_null(filter_lookup(ev, "body.a[x]"));
    ck_assert_ptr_null(filter_lookup(ev, "nope"));
    json_decref(ev);
}
END_TEST

/* ---- limits before routing ---- */

START_TEST(test_request_size_limits)
{
    sluice_config *cfg = load_ok(FLOWS "triggers = ( { id = \"a\"; flows = [\"f\"]; } );");
    req r;
    gate_verdict v = {0};
    memset(&r, 0, sizeof(r));
    r.rq.method = "GET";
    r.rq.path = strdup("/hooks/a");
    char *big = malloc(PREMATCH_MAX_HEADERS + 2);
    memset(big, 'a', PREMATCH_MAX_HEADERS + 1);
    big[PREMATCH_MAX_HEADERS + 1] = 0;
    req_header(&r, "x-big", big);
    ck_assert_int_eq(prematch_route(cfg, &r.rq, &r.m, &v), -1);
    ck_assert_int_eq(v.status, 431);
    req_free(&r);
    memset(&r, 0, sizeof(r));
    r.rq.method = "GET";
    r.rq.path = strdup("/hooks/a");
    big[PREMATCH_MAX_URI] = 0;
    r.rq.query = big;
    ck_assert_int_eq(prematch_route(cfg, &r.rq, &r.m, &v), -1);
    ck_assert_int_eq(v.status, 414);
    req_free(&r);
    memset(&r, 0, sizeof(r));
    r.rq.method = "GET";
    r.rq.path = strdup("/hooks/a");
    ck_assert_int_eq(prematch_route(cfg, &r.rq, &r.m, &v), 0);
    req_free(&r);
    config_unref(cfg);
}
END_TEST

static Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("settings");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_settings_errors);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_wayscript_shared_path);
    suite_add_tcase(s, tc);
    tc = tcase_create("credentials");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_keys_where_and_status);
    tcase_add_test(tc, test_keys_redacted);
    tcase_add_test(tc, test_path_key);
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_hmac_through_gate);
    tcase_add_test(tc, test_allow_ips);
    tcase_add_test(tc, test_failure_limit);
    tcase_add_test(tc, test_path_key_redacted_before_any_refusal);
    tcase_add_test(tc, test_repeated_headers);
    tcase_add_test(tc, test_fold_headers_many);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_gcra);
    tcase_add_test(tc, test_rate_table_full);
    tcase_add_test(tc, test_rate_limit_through_gate);
    tcase_add_test(tc, test_rate_limit_counts_only_authenticated);
    tcase_add_test(tc, test_refused_requests_spend_no_budget);
    tcase_add_test(tc, test_request_size_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("filters");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_filters);
    tcase_add_test(tc, test_filter_lookup);
    tcase_add_test(tc, test_filter_pattern_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gate_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
