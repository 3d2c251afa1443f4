/*
 * test_exec.c - the execution object: bounded logs, state names, waiters,
 * the JSON document, and the host table a plugin uses to report results.
 *
 * The execution is built on a hand-made config, flow, trigger and plugin:
 * exec.c and host.c only read a few fields of each (the flow's key and
 * executor, the trigger's id, the plugin's name for log lines). The config
 * starts with one reference the test keeps, so releasing the execution
 * never tries to free it.
 */
#include "event.h"
#include "exec.h"
#include "exec_impl.h"
#include "jsonout.h"

#include "host.h"
#include "loader.h"

#include "abi_cases.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP ((size_t)SLUICE_LOG_KEEP)

/* ---- logbuf ---- */

static char *render(const logbuf *b, size_t *len)
{
    char *s = logbuf_render(b, len);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), *len);
    return s;
}

static void logbuf_free(logbuf *b)
{
    free(b->head);
    free(b->tail);
}

/* Deterministic, position-dependent bytes so a misplaced chunk shows. */
static char *pattern(size_t n)
{
    char *p = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)('!' + (x >> 16) % 90);
    }
    return p;
}

/* Append all of data in chunks cycling through odd sizes, then check the
 * rendering is head + marker + tail of exactly the right bytes. */
static void check_bounded(const char *data, size_t total, const size_t *chunks, size_t n_chunks)
{
    logbuf b = {0};
    size_t off = 0;
    for (size_t k = 0; off < total; k++) {
        size_t n = chunks[k % n_chunks];
        if (n > total - off)
            n = total - off;
        logbuf_append(&b, data + off, n);
        off += n;
    }
    ck_assert_uint_eq(b.total, total);

    size_t len;
    char *got = render(&b, &len);
    if (total <= 2 * KEEP) {
        ck_assert_uint_eq(len, total);
        ck_assert_int_eq(memcmp(got, data, total), 0);
        ck_assert_ptr_null(strstr(got, "dropped"));
    } else {
        char marker[96];
        snprintf(marker, sizeof(marker), "\n[... %zu bytes dropped ...]\n", total - 2 * KEEP);
        size_t mlen = strlen(marker);
        ck_assert_uint_eq(len, 2 * KEEP + mlen);
        ck_assert_msg(memcmp(got, data, KEEP) == 0, "head differs");
        ck_assert_msg(memcmp(got + KEEP, marker, mlen) == 0, "marker is \"%.*s\", want \"%s\"",
                      (int)mlen, got + KEEP, marker);
        ck_assert_msg(memcmp(got + KEEP + mlen, data + total - KEEP, KEEP) == 0, "tail differs");
    }
    free(got);
    logbuf_free(&b);
}

START_TEST(log_small_unchanged)
{
    logbuf b = {0};
    logbuf_append(&b, "hello ", 6);
    logbuf_append(&b, "world\n", 6);
    size_t len;
    char *got = render(&b, &len);
    ck_assert_str_eq(got, "hello world\n");
    ck_assert_uint_eq(b.total, 12);
    free(got);
    logbuf_free(&b);
}
END_TEST

START_TEST(log_empty)
{
    logbuf b = {0};
    size_t len = 99;
    char *got = render(&b, &len);
    ck_assert_uint_eq(len, 0);
    free(got);
}
END_TEST

START_TEST(log_five_megabytes_odd_chunks)
{
    const size_t total = 5 * 1024 * 1024 + 17;
    char *data = pattern(total);
    static const size_t chunks[] = {1, 7, 4093, 65537, 333, 12345, 2, 32769, 99991};
    check_bounded(data, total, chunks, sizeof(chunks) / sizeof(chunks[0]));
    free(data);
}
END_TEST

START_TEST(log_one_byte_at_a_time)
{
    const size_t total = 3 * KEEP + 5;
    char *data = pattern(total);
    static const size_t one[] = {1};
    check_bounded(data, total, one, 1);
    free(data);
}
END_TEST

START_TEST(log_one_huge_chunk)
{
    const size_t total = 5 * 1024 * 1024;
    char *data = pattern(total);
    const size_t all[] = {total};
    check_bounded(data, total, all, 1);
    free(data);
}
END_TEST

/* Right at the edges: nothing dropped, then exactly one byte dropped. */
START_TEST(log_boundaries)
{
    char *data = pattern(2 * KEEP + 1);
    static const size_t chunks[] = {1000, 3};
    check_bounded(data, KEEP, chunks, 2);
    check_bounded(data, KEEP + 1, chunks, 2);
    check_bounded(data, 2 * KEEP, chunks, 2);
    check_bounded(data, 2 * KEEP + 1, chunks, 2);
    const size_t whole[] = {KEEP, KEEP + 1};
    check_bounded(data, 2 * KEEP + 1, whole, 2);
    free(data);
}
END_TEST

/* A huge chunk after the ring has wrapped must replace it entirely. */
START_TEST(log_huge_chunk_after_wrap)
{
    const size_t total = 4 * KEEP + 100;
    char *data = pattern(total);
    const size_t chunks[] = {KEEP + KEEP / 2 + 7, 2 * KEEP + 50, 43};
    check_bounded(data, total, chunks, 3);
    free(data);
}
END_TEST

/* ---- states ---- */

START_TEST(state_names)
{
    ck_assert_str_eq(exec_state_name(EXEC_QUEUED), "queued");
    ck_assert_str_eq(exec_state_name(EXEC_RUNNING), "running");
    ck_assert_str_eq(exec_state_name(EXEC_SUCCEEDED), "succeeded");
    ck_assert_str_eq(exec_state_name(EXEC_FAILED), "failed");
    ck_assert_str_eq(exec_state_name(EXEC_TIMED_OUT), "timed_out");
    ck_assert_str_eq(exec_state_name(EXEC_CANCELLED), "cancelled");
    ck_assert_str_eq(exec_state_name(EXEC_UNKNOWN), "unknown");
    ck_assert_str_eq(exec_state_name(-1), "invalid");
    ck_assert_str_eq(exec_state_name(EXEC_UNKNOWN + 1), "invalid");

    ck_assert(!exec_state_is_final(EXEC_QUEUED));
    ck_assert(!exec_state_is_final(EXEC_RUNNING));
    ck_assert(exec_state_is_final(EXEC_SUCCEEDED));
    ck_assert(exec_state_is_final(EXEC_FAILED));
    ck_assert(exec_state_is_final(EXEC_TIMED_OUT));
    ck_assert(exec_state_is_final(EXEC_UNKNOWN));
    ck_assert(exec_state_is_final(EXEC_CANCELLED));
}
END_TEST

/* ---- an execution on a hand-made configuration ---- */

static flow_def flow;
static flow_rt rt;
static trigger_def trig;
static plugin plug;
static sluice_exec *ex;
static const sluice_host *host;

static char s_fid[] = "deploy", s_ns[] = "prod", s_key[] = "prod/deploy", s_exe[] = "fake",
            s_tid[] = "gh", s_pname[] = "fake";

#define EVENT_TEXT                                                                   \
    "{\"execution_id\":\"e-1\",\"flow\":\"prod/deploy\",\"params\":{},\"query\":{}," \
    "\"body\":{\"k\":\"a\\u0000b\"}}"

static void exec_setup(void)
{
    memset(&flow, 0, sizeof(flow));
    flow.id = s_fid;
    flow.ns = s_ns;
    flow.key = s_key;
    flow.executor = s_exe;
    flow.timeout_ms = 90000;
    memset(&rt, 0, sizeof(rt));
    rt.def = &flow;
    rt.plugin = &plug;
    memset(&trig, 0, sizeof(trig));
    trig.id = s_tid;
    memset(&plug, 0, sizeof(plug));
    plug.name = s_pname;
    host_fill(&plug.host.pub);
    plug.host.owner = &plug;
    host = &plug.host.pub;

    const char *names[] = {"x-github-event", "content-type"};
    const char *values[] = {"push", "application/json"};
    ex = exec_new(NULL, &trig, &rt, "0193a8c2-0000-7000-8000-000000000001", "req-1",
                  strdup(EVENT_TEXT), strlen(EVENT_TEXT), "summary", names, values, 2, 1,
                  1700000000123ULL);
    ck_assert_ptr_nonnull(ex);
}

static void exec_teardown(void)
{
    exec_unref(ex);
}

static int set_output(const char *json)
{
    return host->exec_set_output(ex, json, json ? strlen(json) : 0);
}

/* ---- the rules shared with the mock host (tests/abi/abi_cases.h) ---- */

static sluice_exec *cases_make(void)
{
    sluice_exec *e = exec_new(NULL, &trig, &rt, "0193a8c2-0000-7000-8000-000000000002", "req-2",
                              strdup(EVENT_TEXT), strlen(EVENT_TEXT), "summary", NULL, NULL, 0, 1,
                              1700000000123ULL);
    ck_assert_ptr_nonnull(e);
    return e;
}

static const char *cases_error(const sluice_exec *e)
{
    return e->error;
}

static char *cases_log(sluice_exec *e, int stream, size_t *len)
{
    return logbuf_render(&e->logs[stream - 1], len);
}

START_TEST(shared_abi_cases)
{
    abi_cases_host h = {.make = cases_make,
                        .drop = exec_unref,
                        .table = host,
                        .error = cases_error,
                        .log = cases_log};
    abi_cases_run(&h);
}
END_TEST

START_TEST(new_exec_fields)
{
    ck_assert_str_eq(ex->id, "0193a8c2-0000-7000-8000-000000000001");
    ck_assert_str_eq(ex->request_id, "req-1");
    ck_assert_int_eq(ex->state, EXEC_QUEUED);
    ck_assert_int_eq(ex->attempt, 1);
    ck_assert_ptr_eq(ex->rt, &rt);
    ck_assert_ptr_eq(ex->flow, &flow);
    ck_assert_ptr_eq(ex->trigger, &trig);
    ck_assert_str_eq(ex->function, "summary");
    ck_assert_int_eq(ex->sync, 1);
    /* References are counted, not owned by one holder. */
    ck_assert_ptr_eq(exec_ref(ex), ex);
    exec_unref(ex);
    ck_assert_int_eq(atomic_load(&ex->refs), 1);
}
END_TEST

START_TEST(host_event_meta_headers)
{
    size_t len = 0;
    ck_assert_str_eq(host->exec_event(ex, &len), EVENT_TEXT);
    ck_assert_uint_eq(len, strlen(EVENT_TEXT));

    ck_assert_str_eq(host->exec_meta(ex, "execution_id"), "0193a8c2-0000-7000-8000-000000000001");
    ck_assert_str_eq(host->exec_meta(ex, "request_id"), "req-1");
    ck_assert_str_eq(host->exec_meta(ex, "flow"), "prod/deploy");
    ck_assert_str_eq(host->exec_meta(ex, "namespace"), "prod");
    ck_assert_str_eq(host->exec_meta(ex, "trigger"), "gh");
    ck_assert_str_eq(host->exec_meta(ex, "function"), "summary");
    ck_assert_str_eq(host->exec_meta(ex, "attempt"), "1");
    ck_assert_str_eq(host->exec_meta(ex, "timeout_ms"), "90000");
    ck_assert_str_eq(host->exec_meta(ex, "mode"), "sync");
    ck_assert_ptr_null(host->exec_meta(ex, "no-such-key"));
    ck_assert_ptr_null(host->exec_meta(ex, NULL));

    ck_assert_str_eq(host->exec_header(ex, "X-GitHub-Event"), "push");
    ck_assert_str_eq(host->exec_header(ex, "content-type"), "application/json");
    ck_assert_ptr_null(host->exec_header(ex, "authorization"));
    ck_assert_ptr_null(host->exec_header(ex, NULL));

    /* Logging through the table names the plugin; it must simply not fail. */
    host->log(host, ex, SLUICE_LOG_INFO, "hello %s", "log");
    host->log(host, NULL, SLUICE_LOG_DEBUG, "no execution");
}
END_TEST

/* ABI 1.1: exec_body lends what exec_set_request gave, or nothing. */
START_TEST(host_exec_body)
{
    size_t len = 99;
    const char *type = "unset";
    ck_assert_ptr_null(host->exec_body(ex, &len, &type));
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(type);

    static const char bytes[] = {'{', ' ', '"', 'a', '"', ':', '1', '}', 0, 'x'};
    exec_body *b = exec_body_new(bytes, sizeof(bytes), "application/json; charset=utf-8");
    exec_set_request(ex, b, NULL, 0);
    exec_body_unref(b); /* the execution holds its own reference */
    const char *got = host->exec_body(ex, &len, &type);
    ck_assert_uint_eq(len, sizeof(bytes));
    ck_assert_int_eq(memcmp(got, bytes, sizeof(bytes)), 0);
    ck_assert_int_eq(got[len], 0);
    ck_assert_str_eq(type, "application/json; charset=utf-8");
    ck_assert_ptr_eq(host->exec_body(ex, NULL, NULL), got);

    /* Withheld (or no body at all), but the type is known. */
    b = exec_body_new(NULL, 0, "text/plain");
    exec_set_request(ex, b, NULL, 0);
    exec_body_unref(b);
    ck_assert_ptr_null(host->exec_body(ex, &len, &type));
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(type, "text/plain");
}
END_TEST

static int set_meta(const char *key, const char *value)
{
    return host->exec_set_meta(ex, key, value);
}

/* ABI 1.1: the rules of exec_set_meta, and where the values show. */
START_TEST(host_exec_set_meta)
{
    ck_assert_int_eq(set_meta("git.commit", "9a0b"), 0);
    ck_assert_int_eq(set_meta("git.ref", "main"), 0);
    ck_assert_str_eq(host->exec_meta(ex, "git.commit"), "9a0b");
    ck_assert_int_eq(set_meta("git.commit", "c0ffee"), 0); /* replaced in place */
    ck_assert_str_eq(host->exec_meta(ex, "git.commit"), "c0ffee");
    ck_assert_int_eq(set_meta("x.gone", "1"), 0);
    ck_assert_int_eq(set_meta("x.gone", NULL), 0);
    ck_assert_ptr_null(host->exec_meta(ex, "x.gone"));
    ck_assert_int_eq(set_meta("x.never", NULL), 0);

    /* Keys: [a-z0-9][a-z0-9._-]* with a dot, at most 64 bytes. */
    static const char *const bad[] = {"flow",  "Git.commit", ".git", "-a.b",       "_a.b",
                                      "a b.c", "a.b/c",      "",     "a.\xc3\xa9", NULL};
    for (const char *const *k = bad; *k; k++)
        ck_assert_msg(set_meta(*k, "v") == -1, "key \"%s\" was accepted", *k);
    ck_assert_int_eq(set_meta(NULL, "v"), -1);
    ck_assert_int_eq(set_meta("0.9_a-b.c", "v"), 0);
    ck_assert_int_eq(set_meta("0.9_a-b.c", NULL), 0);
    char key[SLUICE_META_KEY_MAX + 2];
    memset(key, 'k', sizeof(key));
    key[1] = '.';
    key[SLUICE_META_KEY_MAX + 1] = 0;
    ck_assert_int_eq(set_meta(key, "v"), -1);
    key[SLUICE_META_KEY_MAX] = 0;
    ck_assert_int_eq(set_meta(key, "v"), 0);
    ck_assert_int_eq(set_meta(key, NULL), 0);
    /* The host's own keys are never shadowed. */
    ck_assert_str_eq(host->exec_meta(ex, "flow"), "prod/deploy");

    /* Values: UTF-8, at most 1024 bytes. */
    char value[SLUICE_META_VALUE_MAX + 2];
    memset(value, 'v', sizeof(value));
    value[SLUICE_META_VALUE_MAX + 1] = 0;
    ck_assert_int_eq(set_meta("a.big", value), -1);
    value[SLUICE_META_VALUE_MAX] = 0;
    ck_assert_int_eq(set_meta("a.big", value), 0);
    ck_assert_int_eq(set_meta("a.big", NULL), 0);
    ck_assert_int_eq(set_meta("a.latin1", "caf\xe9"), -1);
    ck_assert_int_eq(set_meta("a.utf8", "caf\xc3\xa9"), 0);

    /* At most SLUICE_META_MAX keys; replacing one is still allowed. */
    for (unsigned i = 3; i < SLUICE_META_MAX; i++) {
        char k[32];
        snprintf(k, sizeof(k), "n.k%u", i);
        ck_assert_int_eq(set_meta(k, "x"), 0);
    }
    ck_assert_uint_eq(ex->n_meta, SLUICE_META_MAX);
    ck_assert_int_eq(set_meta("n.extra", "x"), -1);
    ck_assert_int_eq(set_meta("git.ref", "next"), 0);

    /* The document shows them in the order first set. */
    json_t *doc = exec_to_json(ex, 0);
    json_t *meta = json_object_get(doc, "meta");
    ck_assert_uint_eq(json_object_size(meta), SLUICE_META_MAX);
    ck_assert_str_eq(json_string_value(json_object_get(meta, "git.ref")), "next");
    ck_assert_str_eq(json_object_iter_key(json_object_iter(meta)), "git.commit");
    json_decref(doc);

    /* A retry starts clean. */
    exec_reset_results(ex);
    ck_assert_ptr_null(host->exec_meta(ex, "git.commit"));
    doc = exec_to_json(ex, 0);
    ck_assert_uint_eq(json_object_size(json_object_get(doc, "meta")), 0);
    json_decref(doc);
}
END_TEST

START_TEST(host_meta_respond_with)
{
    ck_assert_str_eq(host->exec_meta(ex, "respond_with"), "execution");
    trig.respond_with = RESPOND_UPSTREAM;
    ck_assert_str_eq(host->exec_meta(ex, "respond_with"), "upstream");
    ex->sync = 0; /* ?async: nobody waits for a response */
    ck_assert_str_eq(host->exec_meta(ex, "respond_with"), "execution");
    trig.respond_with = RESPOND_DEFAULT;
}
END_TEST

START_TEST(set_output_accepts_objects)
{
    ck_assert_int_eq(set_output("{ \"version\" : \"1.2.3\", \"n\": [1, 2] }"), 0);
    ck_assert_str_eq(ex->outputs, "{\"version\":\"1.2.3\",\"n\":[1,2]}");
    /* Later outputs replace earlier ones. */
    ck_assert_int_eq(set_output("{}"), 0);
    ck_assert_str_eq(ex->outputs, "{}");
    /* Only len bytes count: the text need not end where the buffer does. */
    const char *longer = "{\"a\":1}garbage";
    ck_assert_int_eq(host->exec_set_output(ex, longer, 7), 0);
    ck_assert_str_eq(ex->outputs, "{\"a\":1}");
}
END_TEST

START_TEST(set_output_refuses_non_objects)
{
    ck_assert_int_eq(set_output("{\"keep\":true}"), 0);
    static const char *const bad[] = {
        "[1,2]", "42",       "\"text\"",           "null",    "true",
        "",      "not json", "{\"a\":1} trailing", "{\"a\":", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(set_output(bad[i]) == -1, "output '%s' was accepted", bad[i]);
    ck_assert_int_eq(host->exec_set_output(ex, NULL, 0), -1);
    ck_assert_int_eq(host->exec_set_output(ex, NULL, 10), -1);
    /* A refusal leaves the earlier outputs alone. */
    ck_assert_str_eq(ex->outputs, "{\"keep\":true}");
}
END_TEST

/* {"a":"xxx..."} of exactly n bytes. */
static char *object_of_size(size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, "{\"a\":\"", 6);
    memset(s + 6, 'x', n - 8);
    memcpy(s + n - 2, "\"}", 3);
    return s;
}

START_TEST(set_output_size_limit)
{
    char *at_limit = object_of_size(SLUICE_MAX_OUTPUT);
    ck_assert_int_eq(host->exec_set_output(ex, at_limit, SLUICE_MAX_OUTPUT), 0);
    ck_assert_uint_eq(strlen(ex->outputs), SLUICE_MAX_OUTPUT);
    free(at_limit);

    char *over = object_of_size(SLUICE_MAX_OUTPUT + 1);
    ck_assert_int_eq(host->exec_set_output(ex, over, SLUICE_MAX_OUTPUT + 1), -1);
    free(over);
    ck_assert_uint_eq(strlen(ex->outputs), SLUICE_MAX_OUTPUT);
}
END_TEST

START_TEST(set_response_status_range)
{
    static const int bad[] = {-1, 0, 99, 600, 1000};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(host->exec_set_response(ex, bad[i], NULL, "x", 1) == -1,
                      "status %d was accepted", bad[i]);
    ck_assert_int_eq(ex->resp_status, 0);
    ck_assert_ptr_null(ex->resp_body);

    ck_assert_int_eq(host->exec_set_response(ex, 100, NULL, NULL, 0), 0);
    ck_assert_int_eq(ex->resp_status, 100);
    ck_assert_int_eq(host->exec_set_response(ex, 599, NULL, NULL, 0), 0);
    ck_assert_int_eq(ex->resp_status, 599);
}
END_TEST

START_TEST(set_response_stores_copy)
{
    char body[] = "created\0!";
    ck_assert_int_eq(host->exec_set_response(ex, 201, "text/plain", body, 9), 0);
    memset(body, 'z', sizeof(body));
    ck_assert_int_eq(ex->resp_status, 201);
    ck_assert_str_eq(ex->resp_ctype, "text/plain");
    ck_assert_uint_eq(ex->resp_len, 9);
    ck_assert_int_eq(memcmp(ex->resp_body, "created\0!", 9), 0);

    ck_assert_int_eq(host->exec_set_response(ex, 200, NULL, "{}", 2), 0);
    ck_assert_str_eq(ex->resp_ctype, "application/json");
    ck_assert_str_eq(ex->resp_body, "{}");
}
END_TEST

START_TEST(set_response_refusals)
{
    ck_assert_int_eq(host->exec_set_response(ex, 200, "text/plain\r\nSet-Cookie: a=b", "x", 1), -1);
    ck_assert_int_eq(host->exec_set_response(ex, 200, "text/plain\n", "x", 1), -1);
    ck_assert_int_eq(host->exec_set_response(ex, 200, NULL, NULL, 5), -1);
    char *big = malloc(SLUICE_MAX_OUTPUT + 1);
    memset(big, 'b', SLUICE_MAX_OUTPUT + 1);
    ck_assert_int_eq(host->exec_set_response(ex, 200, NULL, big, SLUICE_MAX_OUTPUT + 1), -1);
    ck_assert_int_eq(host->exec_set_response(ex, 200, NULL, big, SLUICE_MAX_OUTPUT), 0);
    free(big);
    ck_assert_uint_eq(ex->resp_len, SLUICE_MAX_OUTPUT);
}
END_TEST

START_TEST(set_error_is_bounded_copy)
{
    char *msg = malloc(10000);
    memset(msg, 'e', 9999);
    msg[9999] = 0;
    ck_assert_int_eq(host->exec_set_error(ex, msg), 0);
    free(msg);
    ck_assert_uint_eq(strlen(ex->error), SLUICE_MAX_ERROR - 1);
    ck_assert_int_eq(host->exec_set_error(ex, "exit status 3"), 0);
    ck_assert_str_eq(ex->error, "exit status 3");
    ck_assert_int_eq(host->exec_set_error(ex, NULL), 0);
    ck_assert_ptr_nonnull(ex->error);
}
END_TEST

START_TEST(exit_code_and_cancel)
{
    ck_assert_int_eq(ex->has_exit_code, 0);
    ck_assert_int_eq(host->exec_set_exit_code(ex, 3), 0);
    ck_assert_int_eq(ex->has_exit_code, 1);
    ck_assert_int_eq(ex->exit_code, 3);

    ck_assert_int_eq(host->exec_is_cancelled(ex), SLUICE_CANCEL_NONE);
    atomic_store(&ex->cancel_reason, SLUICE_CANCEL_TIMEOUT);
    ck_assert_int_eq(host->exec_is_cancelled(ex), SLUICE_CANCEL_TIMEOUT);
}
END_TEST

START_TEST(write_log_streams)
{
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDOUT, "out\n", 4), 0);
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDERR, "err\n", 4), 0);
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDOUT, "more", 4), 0);
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDOUT, NULL, 0), 0);
    ck_assert_int_eq(host->exec_write_log(ex, 0, "x", 1), -1);
    ck_assert_int_eq(host->exec_write_log(ex, 3, "x", 1), -1);
    size_t len;
    char *out = render(&ex->logs[0], &len);
    ck_assert_str_eq(out, "out\nmore");
    free(out);
    char *err = render(&ex->logs[1], &len);
    ck_assert_str_eq(err, "err\n");
    free(err);
}
END_TEST

static int woken;

static void wake(void *arg)
{
    *(int *)arg += 1;
}

START_TEST(waiters_are_woken_once)
{
    woken = 0;
    exec_waiter w1 = {.wake = wake, .arg = &woken}, w2 = {.wake = wake, .arg = &woken};
    ck_assert_int_eq(exec_add_waiter(ex, &w1), 0);
    ck_assert_int_eq(exec_add_waiter(ex, &w2), 0);
    ck_assert_int_eq(exec_set_final(ex, EXEC_SUCCEEDED), 0);
    ck_assert_int_eq(woken, 2);
    ck_assert_int_eq(ex->state, EXEC_SUCCEEDED);
    ck_assert_uint_ne(ex->finished_ms, 0);

    ck_assert_int_eq(exec_set_final(ex, EXEC_FAILED), -1);
    ck_assert_int_eq(ex->state, EXEC_SUCCEEDED);
    exec_waiter late = {.wake = wake, .arg = &woken};
    ck_assert_int_eq(exec_add_waiter(ex, &late), 1);
    ck_assert_int_eq(woken, 2);
}
END_TEST

START_TEST(removed_waiters_are_not_woken)
{
    woken = 0;
    exec_waiter w1 = {.wake = wake, .arg = &woken}, w2 = {.wake = wake, .arg = &woken};
    ck_assert_int_eq(exec_add_waiter(ex, &w1), 0);
    ck_assert_int_eq(exec_add_waiter(ex, &w2), 0);
    ck_assert_int_eq(exec_remove_waiter(ex, &w1), 1);
    ck_assert_int_eq(exec_remove_waiter(ex, &w1), 0); /* once */
    ck_assert_int_eq(exec_set_final(ex, EXEC_SUCCEEDED), 0);
    ck_assert_int_eq(woken, 1);
    /* After the wake-up there is nothing left to remove. */
    ck_assert_int_eq(exec_remove_waiter(ex, &w2), 0);
}
END_TEST

/* A listener that asks to be woken on every second write, and records
 * whether the execution's lock was free when it was woken. */
typedef struct listen_rec {
    exec_log_listener l;
    char got[64];
    size_t got_len;
    int pushes, wakes, woken_unlocked;
} listen_rec;

static int listen_push(void *arg, const sluice_exec *e, int stream, const char *data, size_t len)
{
    (void)e;
    listen_rec *r = arg;
    if (stream == SLUICE_STDERR && r->got_len < sizeof(r->got))
        r->got[r->got_len++] = '!';
    for (size_t i = 0; i < len && r->got_len < sizeof(r->got); i++)
        r->got[r->got_len++] = data[i];
    return ++r->pushes % 2 == 0;
}

static void listen_wake(void *arg)
{
    listen_rec *r = arg;
    r->wakes++;
    if (pthread_mutex_trylock(&ex->mu) == 0) {
        r->woken_unlocked++;
        pthread_mutex_unlock(&ex->mu);
    }
}

START_TEST(log_listeners_get_every_write)
{
    listen_rec a = {.l = {.push = listen_push, .wake = listen_wake, .arg = &a}};
    listen_rec b = {.l = {.push = listen_push, .wake = listen_wake, .arg = &b}};
    pthread_mutex_lock(&ex->mu);
    exec_add_log_listener_locked(ex, &a.l);
    exec_add_log_listener_locked(ex, &b.l);
    pthread_mutex_unlock(&ex->mu);
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDOUT, "one", 3), 0);
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDERR, "two", 3), 0);
    exec_remove_log_listener(ex, &a.l);
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDOUT, "three", 5), 0);
    ck_assert_int_eq(host->exec_write_log(ex, 3, "x", 1), -1); /* refused: nobody sees it */
    exec_remove_log_listener(ex, &b.l);
    ck_assert_int_eq(host->exec_write_log(ex, SLUICE_STDOUT, "four", 4), 0);

    ck_assert_int_eq(a.pushes, 2);
    ck_assert_int_eq((int)a.got_len, 7);
    ck_assert(memcmp(a.got, "one!two", 7) == 0);
    ck_assert_int_eq(b.pushes, 3);
    ck_assert_int_eq((int)b.got_len, 12);
    ck_assert(memcmp(b.got, "one!twothree", 12) == 0);
    /* Woken only when push asked, and never under the execution's lock. */
    ck_assert_int_eq(a.wakes, 1);
    ck_assert_int_eq(b.wakes, 1);
    ck_assert_int_eq(a.woken_unlocked, 1);
    ck_assert_int_eq(b.woken_unlocked, 1);
    /* The execution keeps what was written whoever listened. */
    size_t len;
    char *out = render(&ex->logs[0], &len);
    ck_assert_str_eq(out, "onethreefour");
    free(out);
}
END_TEST

START_TEST(document)
{
    host->exec_set_output(ex, "{\"v\":1}", 7);
    host->exec_set_exit_code(ex, 0);
    host->exec_write_log(ex, SLUICE_STDOUT, "hi\n", 3);
    ex->started_ms = 1700000000200ULL;
    exec_set_final(ex, EXEC_SUCCEEDED);

    json_t *d = exec_to_json(ex, 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "id")),
                     "0193a8c2-0000-7000-8000-000000000001");
    ck_assert_str_eq(json_string_value(json_object_get(d, "flow")), "prod/deploy");
    ck_assert_str_eq(json_string_value(json_object_get(d, "trigger")), "gh");
    ck_assert_str_eq(json_string_value(json_object_get(d, "executor")), "fake");
    ck_assert_str_eq(json_string_value(json_object_get(d, "state")), "succeeded");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "exit_code")), 0);
    ck_assert(json_is_integer(json_object_get(d, "exit_code")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "outputs"), "v")), 1);
    ck_assert(json_is_null(json_object_get(d, "error")));
    ck_assert_str_eq(json_string_value(json_object_get(d, "received_at")),
                     "2023-11-14T22:13:20.123Z");
    ck_assert_str_eq(json_string_value(json_object_get(d, "started_at")),
                     "2023-11-14T22:13:20.200Z");
    ck_assert_ptr_null(json_object_get(d, "stdout"));
    json_decref(d);

    d = exec_to_json(ex, 1);
    ck_assert_str_eq(json_string_value(json_object_get(d, "stdout")), "hi\n");
    ck_assert_str_eq(json_string_value(json_object_get(d, "stderr")), "");
    json_decref(d);
}
END_TEST

/* The inputs hold a text body with a NUL byte (valid UTF-8, \u0000 in
 * JSON): the document must still show them, not an empty object. */
START_TEST(document_keeps_inputs_with_nul)
{
    json_t *d = exec_to_json(ex, 0);
    json_t *body = json_object_get(json_object_get(d, "inputs"), "body");
    ck_assert_msg(json_is_object(body), "inputs were dropped from the document");
    ck_assert_uint_eq(json_string_length(json_object_get(body, "k")), 3);
    json_decref(d);
}
END_TEST

START_TEST(document_before_running)
{
    json_t *d = exec_to_json(ex, 1);
    ck_assert_str_eq(json_string_value(json_object_get(d, "state")), "queued");
    ck_assert(json_is_null(json_object_get(d, "exit_code")));
    ck_assert(json_is_null(json_object_get(d, "started_at")));
    ck_assert(json_is_null(json_object_get(d, "finished_at")));
    ck_assert(json_is_object(json_object_get(d, "outputs")));
    ck_assert_uint_eq(json_object_size(json_object_get(d, "outputs")), 0);
    json_decref(d);
}
END_TEST

/* Log bytes are not always UTF-8; the document must still be valid JSON. */
START_TEST(document_with_binary_logs)
{
    host->exec_write_log(ex, SLUICE_STDERR, "bad \xff\xfe bytes", 12);
    json_t *d = exec_to_json(ex, 1);
    const char *s = json_string_value(json_object_get(d, "stderr"));
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), 12);
    ck_assert_int_eq(strncmp(s, "bad ", 4), 0);
    json_decref(d);
}
END_TEST

/* An execution whose event is kept in two parts, as accept_request makes it. */
static sluice_exec *split_exec(const char *type, const char *bytes, size_t len)
{
    static const char stored[] =
        "{\"execution_id\":\"e-2\",\"flow\":\"prod/deploy\",\"params\":{\"repo\":\"a\\\"b\"},"
        "\"query\":{\"x\":[\"1\",\"2\"]},\"variables\":{},\"function\":null}";
    char err[256];
    size_t mlen, elen;
    char *members =
        event_body_members((const unsigned char *)bytes, len, type, &mlen, err, sizeof(err));
    ck_assert_msg(members != NULL, "%s", err);
    char *event = event_join(stored, strlen(stored), members, mlen, &elen);
    free(members);
    sluice_exec *e = exec_new(NULL, &trig, &rt, "0193a8c2-0000-7000-8000-000000000002", "req-2",
                              event, elen, NULL, NULL, NULL, 0, 1, 1700000000123ULL);
    exec_body *b = exec_body_new(bytes, len, type);
    exec_set_request(e, b, strdup(stored), strlen(stored));
    exec_body_unref(b);
    return e;
}

/* The inputs spliced as text read exactly as the ones parsed from the
 * event, whatever the body; the document they go into is valid JSON. */
START_TEST(inputs_text_matches_parsed_inputs)
{
    static const struct {
        const char *type, *bytes;
    } cases[] = {
        {"application/json", "{ \"a\" : [1, 2.5, {\"raw_body_b64\":\",\\\"raw_body_b64\\\":\"}] }"},
        {"application/json", "\"just a string\""},
        {"application/json", "{\"k\":\"line\\none\",\r\n\"n\":null}"},
        {"application/x-www-form-urlencoded", "a=1&b=%C3%A9&a=2"},
        {"text/plain", "hello\nworld"},
        {"application/octet-stream", "\x01\x02\xff"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sluice_exec *e = split_exec(cases[i].type, cases[i].bytes, strlen(cases[i].bytes));
        size_t len = 0;
        char *text = exec_inputs_text(e, &len);
        ck_assert_msg(text != NULL, "%s: no inputs text", cases[i].type);
        ck_assert_uint_eq(len, strlen(text));
        json_t *got = json_loads(text, 0, NULL);
        json_t *want = event_inputs(e->event, e->event_len);
        ck_assert_msg(got && json_equal(got, want), "%s: %s", cases[i].type, text);

        json_t *at;
        char *raw;
        size_t rlen;
        json_t *doc = exec_to_json_deferred(e, 1, &at, &raw, &rlen);
        ck_assert_ptr_nonnull(at);
        char *whole = json_compact_splice(doc, at, raw, rlen, NULL);
        json_t *back = json_loads(whole, 0, NULL);
        ck_assert_msg(back != NULL, "not JSON: %s", whole);
        ck_assert(json_equal(json_object_get(back, "inputs"), want));
        json_decref(back);
        free(whole);
        free(raw);
        json_decref(doc);
        json_decref(got);
        json_decref(want);
        free(text);
        exec_unref(e);
    }
    /* An execution without the two parts has no text: the caller parses. */
    size_t len;
    ck_assert_ptr_null(exec_inputs_text(ex, &len));
}
END_TEST

static Suite *exec_suite(void)
{
    Suite *s = suite_create("exec");

    TCase *tc = tcase_create("logbuf");
    tcase_add_test(tc, log_small_unchanged);
    tcase_add_test(tc, log_empty);
    tcase_add_test(tc, log_five_megabytes_odd_chunks);
    tcase_add_test(tc, log_one_byte_at_a_time);
    tcase_add_test(tc, log_one_huge_chunk);
    tcase_add_test(tc, log_boundaries);
    tcase_add_test(tc, log_huge_chunk_after_wrap);
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, state_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("host");
    tcase_add_checked_fixture(tc, exec_setup, exec_teardown);
    tcase_add_test(tc, new_exec_fields);
    tcase_add_test(tc, host_event_meta_headers);
    tcase_add_test(tc, host_exec_body);
    tcase_add_test(tc, host_exec_set_meta);
    tcase_add_test(tc, host_meta_respond_with);
    tcase_add_test(tc, set_output_accepts_objects);
    tcase_add_test(tc, set_output_refuses_non_objects);
    tcase_add_test(tc, set_output_size_limit);
    tcase_add_test(tc, set_response_status_range);
    tcase_add_test(tc, set_response_stores_copy);
    tcase_add_test(tc, set_response_refusals);
    tcase_add_test(tc, set_error_is_bounded_copy);
    tcase_add_test(tc, exit_code_and_cancel);
    tcase_add_test(tc, write_log_streams);
    tcase_add_test(tc, shared_abi_cases);
    suite_add_tcase(s, tc);

    tc = tcase_create("lifecycle");
    tcase_add_checked_fixture(tc, exec_setup, exec_teardown);
    tcase_add_test(tc, waiters_are_woken_once);
    tcase_add_test(tc, removed_waiters_are_not_woken);
    tcase_add_test(tc, log_listeners_get_every_write);
    tcase_add_test(tc, document);
    tcase_add_test(tc, document_keeps_inputs_with_nul);
    tcase_add_test(tc, document_before_running);
    tcase_add_test(tc, document_with_binary_logs);
    tcase_add_test(tc, inputs_text_matches_parsed_inputs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(exec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
