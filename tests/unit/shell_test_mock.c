/*
 * shell_test_mock.c - the SDK mock host itself, driven by a small probe
 * plugin defined here: descriptor validation, the limits and refusals of
 * each host function, pending executions, cancellation, log bounding.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "shell_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the probe plugin ---- */

struct probe {
    char what[64];
    pthread_t thread;
    int has_thread;
    const sluice_host *host;
};

static int probe_init(const sluice_host *host, void **ctx, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    *ctx = (void *)(uintptr_t)host;
    return 0;
}

static int probe_configure(void *ctx, const char *cfg, size_t len, const char *where,
                           void **instance, char *err, size_t errlen)
{
    json_t *root = json_loadb(cfg, len, 0, NULL);
    const char *what = json_string_value(json_object_get(root, "do"));
    struct probe *p;

    if (!what) {
        snprintf(err, errlen, "%s: probe: say what to do", where);
        json_decref(root);
        return -1;
    }
    p = calloc(1, sizeof(*p));
    snprintf(p->what, sizeof(p->what), "%s", what);
    p->host = ctx;
    json_decref(root);
    *instance = p;
    return 0;
}

static void probe_unconfigure(void *instance)
{
    struct probe *p = instance;

    if (p->has_thread)
        pthread_join(p->thread, NULL);
    free(p);
}

struct probe_later {
    const sluice_host *host;
    sluice_exec *exec;
};

static void *probe_complete_twice(void *arg)
{
    struct probe_later *l = arg;

    usleep(50 * 1000);
    l->host->exec_set_output(l->exec, "{\"late\":true}", 13);
    l->host->exec_complete(l->exec, SLUICE_OK);
    l->host->exec_complete(l->exec, SLUICE_ERR);
    free(l);
    return NULL;
}

/* Report integers on stdout as "a,b,c". */
static void probe_report(const sluice_host *h, sluice_exec *exec, const int *v, size_t n)
{
    char buf[256] = "";
    size_t used = 0;

    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%d", i ? "," : "", v[i]);
    h->exec_write_log(exec, SLUICE_STDOUT, buf, used);
}

static int probe_execute(void *instance, sluice_exec *exec)
{
    struct probe *p = instance;
    const sluice_host *h = p->host;

    if (strcmp(p->what, "outputs") == 0) {
        size_t big = SLUICE_MAX_OUTPUT + 16;
        char *huge = malloc(big);
        int rc[5];

        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        rc[0] = h->exec_set_output(exec, "[1,2]", 5);
        rc[1] = h->exec_set_output(exec, "{\"a\":", 5);
        rc[2] = h->exec_set_output(exec, huge, big);
        rc[3] = h->exec_set_output(exec, "{\"a\":1,\"s\":\"x\"}", 15);
        rc[4] = h->exec_set_output(exec, "{\"b\":2}trailing", 7);
        free(huge);
        probe_report(h, exec, rc, 5);
        return SLUICE_OK;
    }
    if (strcmp(p->what, "pending") == 0) {
        struct probe_later *l = malloc(sizeof(*l));

        l->host = h;
        l->exec = exec;
        p->has_thread = pthread_create(&p->thread, NULL, probe_complete_twice, l) == 0;
        return SLUICE_PENDING;
    }
    if (strcmp(p->what, "never") == 0)
        return SLUICE_PENDING;
    if (strcmp(p->what, "logs") == 0) {
        char chunk[7777];
        size_t total = 100000, off = 0;
        int bad = h->exec_write_log(exec, 3, "x", 1);

        while (off < total) {
            size_t n = total - off < sizeof(chunk) ? total - off : sizeof(chunk);

            for (size_t i = 0; i < n; i++)
                chunk[i] = (char)('A' + (off + i) % 23);
            h->exec_write_log(exec, SLUICE_STDOUT, chunk, n);
            off += n;
        }
        h->exec_write_log(exec, SLUICE_STDERR, "short", 5);
        h->exec_write_log(exec, SLUICE_STDERR, "", 0);
        if (bad != -1)
            h->exec_write_log(exec, SLUICE_STDERR, "BAD STREAM ACCEPTED", 19);
        return SLUICE_OK;
    }
    if (strcmp(p->what, "wait_cancel") == 0) {
        char msg[64];
        int reason;

        while ((reason = h->exec_is_cancelled(exec)) == 0)
            usleep(10 * 1000);
        snprintf(msg, sizeof(msg), "reason %d", reason);
        h->exec_set_error(exec, msg);
        return SLUICE_ERR;
    }
    if (strcmp(p->what, "response") == 0) {
        int rc[4];

        rc[0] = h->exec_set_response(exec, 42, NULL, "", 0);
        rc[1] = h->exec_set_response(exec, 201, "text/plain", "made", 4);
        rc[2] = h->exec_set_response(exec, 200, NULL, "x", SLUICE_MAX_OUTPUT + 1);
        rc[3] = h->exec_set_exit_code(exec, 7);
        probe_report(h, exec, rc, 4);
        return SLUICE_OK;
    }
    if (strcmp(p->what, "long_error") == 0) {
        char *msg = malloc(10001);

        memset(msg, 'e', 10000);
        msg[0] = '<';
        msg[10000] = '\0';
        h->exec_set_error(exec, msg);
        free(msg);
        return SLUICE_ERR;
    }
    if (strcmp(p->what, "silent_error") == 0)
        return SLUICE_ERR;
    if (strcmp(p->what, "meta") == 0) {
        json_t *o = json_object();
        const char *keys[] = {"execution_id", "request_id", "flow",       "namespace", "trigger",
                              "function",     "attempt",    "timeout_ms", "mode",      "nope"};
        char *text;

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            const char *v = h->exec_meta(exec, keys[i]);

            json_object_set_new(o, keys[i], v ? json_string(v) : json_null());
        }
        json_object_set_new(o, "x-test", json_string(h->exec_header(exec, "X-TEST")));
        json_object_set_new(o, "agent", json_string(h->exec_header(exec, "user-agent")));
        json_object_set_new(o, "gone", h->exec_header(exec, "x-gone") ? json_true() : json_false());
        text = json_dumps(o, JSON_COMPACT);
        h->exec_set_output(exec, text, strlen(text));
        h->log(h, exec, SLUICE_LOG_WARN, "hello %d", 5);
        free(text);
        json_decref(o);
        return SLUICE_OK;
    }
    h->exec_set_error(exec, "unknown probe");
    return SLUICE_ERR;
}

static const sluice_plugin probe_plugin = {
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
    .struct_size = sizeof(sluice_plugin),
    .name = "probe",
    .version = "1",
    .description = "tests the mock host",
    .license = "MIT",
    .init = probe_init,
    .configure = probe_configure,
    .unconfigure = probe_unconfigure,
    .execute = probe_execute,
};

static mock_host *probe_host_new(void)
{
    mock_host *host = mock_host_new();

    ck_assert_ptr_null(mock_host_load(host, &probe_plugin));
    ck_assert_ptr_null(mock_host_init(host));
    return host;
}

static mock_exec *probe_run(mock_host *host, const char *what, int expect)
{
    char cfg[128];
    void *inst = NULL;
    mock_exec *exec;

    snprintf(cfg, sizeof(cfg), "{\"do\":\"%s\"}", what);
    ck_assert_ptr_null(mock_host_configure(host, cfg, NULL, &inst));
    exec = mock_exec_new(host, "{\"execution_id\":\"e1\",\"flow\":\"ns/f\",\"trigger\":\"t\","
                               "\"function\":null,\"headers\":{\"user-agent\":\"curl\","
                               "\"x-gone\":\"1\"}}");
    ck_assert_ptr_nonnull(exec);
    ck_assert_int_eq(mock_exec_run(exec, inst, 5000), expect);
    return exec;
}

/* ---- tests ---- */

START_TEST(descriptor_validation)
{
    sluice_plugin p;
    mock_host *host;
    const char *err;

    p = probe_plugin;
    p.abi_major = 2;
    host = mock_host_new();
    err = mock_host_load(host, &p);
    ck_assert_msg(err && strstr(err, "built for ABI 2."), "%s", err);
    ck_assert_ptr_nonnull(mock_host_init(host));
    mock_host_free(host);

    p = probe_plugin;
    p.abi_minor = SLUICE_ABI_MINOR + 1;
    host = mock_host_new();
    err = mock_host_load(host, &p);
    ck_assert_msg(err && strstr(err, "newer"), "%s", err);
    mock_host_free(host);

    p = probe_plugin;
    p.struct_size = 16;
    host = mock_host_new();
    err = mock_host_load(host, &p);
    ck_assert_msg(err && strstr(err, "smaller"), "%s", err);
    mock_host_free(host);

    /* The mock refuses what sluiced's loader refuses: the same rules file. */
    p = probe_plugin;
    p.struct_size = 5000;
    host = mock_host_new();
    err = mock_host_load(host, &p);
    ck_assert_msg(err && strstr(err, "descriptor size 5000 is implausible"), "%s", err);
    mock_host_free(host);

    p = probe_plugin;
    p.execute = NULL;
    host = mock_host_new();
    err = mock_host_load(host, &p);
    ck_assert_msg(err && strstr(err, "mandatory"), "%s", err);
    mock_host_free(host);

    p = probe_plugin;
    p.name = "Bad Name";
    host = mock_host_new();
    err = mock_host_load(host, &p);
    ck_assert_msg(err && strstr(err, "[a-z0-9._-]+"), "%s", err);
    ck_assert_uint_eq(mock_host_log_matches(host, "refusing plugin"), 1);
    mock_host_free(host);

    host = mock_host_new();
    err = mock_host_load_path(host, "/nonexistent/plugin.so");
    ck_assert_ptr_nonnull(err);
    mock_host_free(host);

    host = probe_host_new();
    ck_assert_ptr_nonnull(mock_host_load(host, &probe_plugin));
    ck_assert_str_eq(mock_host_plugin(host)->name, "probe");
    ck_assert_uint_eq(mock_host_table(host)->abi_major, SLUICE_ABI_MAJOR);
    ck_assert_uint_eq(mock_host_table(host)->struct_size, sizeof(sluice_host));
    mock_host_free(host);
}
END_TEST

START_TEST(configure_reports_errors)
{
    mock_host *host = probe_host_new();
    void *inst = (void *)1;
    const char *err;

    err = mock_host_configure(host, "{}", "a.conf:3", &inst);
    ck_assert_str_eq(err, "a.conf:3: probe: say what to do");
    ck_assert_ptr_null(inst);
    err = mock_host_configure(host, "[1]", "a.conf:3", &inst);
    ck_assert_msg(err && strstr(err, "not a JSON object"), "%s", err);
    err = mock_host_configure(host, "{", "a.conf:3", &inst);
    ck_assert_msg(err && strstr(err, "not a JSON object"), "%s", err);
    mock_host_free(host);
}
END_TEST

START_TEST(set_output_refusals)
{
    mock_host *host = probe_host_new();
    mock_exec *exec = probe_run(host, "outputs", SLUICE_OK);

    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDOUT, NULL), "-1,-1,-1,0,0");
    ck_assert_str_eq(mock_exec_outputs(exec), "{\"b\":2}");
    ck_assert_str_eq(mock_exec_output_get(exec, "b"), "2");
    ck_assert_ptr_null(mock_exec_output_get(exec, "a"));
    ck_assert_uint_eq(mock_host_log_matches(host, "exec_set_output refused"), 3);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);
    mock_host_free(host);
}
END_TEST

START_TEST(pending_and_double_complete)
{
    mock_host *host = probe_host_new();
    mock_exec *exec = probe_run(host, "pending", SLUICE_OK);

    ck_assert_str_eq(mock_exec_output_get(exec, "late"), "true");
    while (mock_exec_complete_calls(exec) < 2)
        usleep(1000);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    ck_assert_uint_eq(mock_host_log_matches(host, "exec_complete called again"), 1);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);
    mock_host_free(host);
}
END_TEST

START_TEST(pending_wait_times_out)
{
    mock_host *host = probe_host_new();
    mock_exec *exec = probe_run(host, "never", MOCK_NOT_DONE);

    ck_assert_int_eq(mock_exec_result(exec), MOCK_NOT_DONE);
    mock_host_table(host)->exec_set_error(exec, "given up");
    mock_host_table(host)->exec_complete(exec, SLUICE_ERR);
    ck_assert_int_eq(mock_exec_wait(exec, 0), SLUICE_ERR);
    ck_assert_int_eq(mock_exec_execute(exec, NULL), SLUICE_ERR); /* runs once */
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);
    mock_host_free(host);
}
END_TEST

START_TEST(logs_keep_head_and_tail)
{
    mock_host *host = probe_host_new();
    mock_exec *exec = probe_run(host, "logs", SLUICE_OK);
    const size_t total = 100000, keep = SLUICE_LOG_KEEP;
    char marker[64];
    const char *out;
    size_t len, mlen;

    out = mock_exec_log(exec, SLUICE_STDOUT, &len);
    mlen = (size_t)snprintf(marker, sizeof(marker), "\n[... %zu bytes dropped ...]\n",
                            total - 2 * keep);
    ck_assert_uint_eq(mock_exec_log_total(exec, SLUICE_STDOUT), total);
    ck_assert_uint_eq(len, 2 * keep + mlen);
    for (size_t i = 0; i < keep; i++)
        ck_assert_int_eq(out[i], 'A' + i % 23);
    ck_assert_int_eq(memcmp(out + keep, marker, mlen), 0);
    for (size_t i = 0; i < keep; i++)
        ck_assert_int_eq(out[keep + mlen + i], 'A' + (total - keep + i) % 23);
    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDERR, &len), "short");
    ck_assert_ptr_null(mock_exec_log(exec, 7, NULL));
    mock_exec_free(exec);
    mock_host_free(host);
}
END_TEST

START_TEST(cancel_after_sets_the_reason)
{
    mock_host *host = probe_host_new();
    void *inst = NULL;
    mock_exec *exec;
    long long start;

    ck_assert_ptr_null(mock_host_configure(host, "{\"do\":\"wait_cancel\"}", NULL, &inst));
    exec = mock_exec_new(host, "{}");
    start = st_now_ms();
    ck_assert_int_eq(mock_exec_cancel_after(exec, 150, SLUICE_CANCEL_TIMEOUT), 0);
    ck_assert_int_eq(mock_exec_cancel_after(exec, 10, SLUICE_CANCEL_REQUEST), -1);
    ck_assert_int_eq(mock_exec_run(exec, inst, 5000), SLUICE_ERR);
    ck_assert_int_ge(st_now_ms() - start, 150);
    ck_assert_str_eq(mock_exec_error(exec), "reason 2");
    mock_exec_free(exec);

    /* A timer that never fires does not hold up free. */
    exec = mock_exec_new(host, "{}");
    ck_assert_int_eq(mock_exec_cancel_after(exec, 60000, SLUICE_CANCEL_TIMEOUT), 0);
    start = st_now_ms();
    mock_exec_free(exec);
    ck_assert_int_lt(st_now_ms() - start, 1000);
    mock_host_free(host);
}
END_TEST

START_TEST(response_error_and_exit_code)
{
    mock_host *host = probe_host_new();
    mock_exec *exec = probe_run(host, "response", SLUICE_OK);
    const char *type, *body;
    size_t len;
    int status;

    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDOUT, NULL), "-1,0,-1,0");
    ck_assert_int_eq(mock_exec_response(exec, &status, &type, &body, &len), 0);
    ck_assert_int_eq(status, 201);
    ck_assert_str_eq(type, "text/plain");
    ck_assert_uint_eq(len, 4);
    ck_assert_str_eq(body, "made");
    ck_assert_int_eq(mock_exec_exit_code(exec), 7);
    mock_exec_free(exec);

    exec = probe_run(host, "long_error", SLUICE_ERR);
    ck_assert_uint_eq(strlen(mock_exec_error(exec)), SLUICE_MAX_ERROR - 1);
    ck_assert_int_eq(mock_exec_error(exec)[0], '<');
    ck_assert_int_eq(mock_exec_response(exec, NULL, NULL, NULL, NULL), -1);
    ck_assert_int_eq(mock_exec_exit_code(exec), MOCK_NO_EXIT_CODE);
    mock_exec_free(exec);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_host_free(host);
}
END_TEST

START_TEST(misuse_is_counted)
{
    mock_host *host = probe_host_new();
    mock_exec *exec = probe_run(host, "silent_error", SLUICE_ERR);

    ck_assert_uint_eq(mock_host_misuse_count(host), 1);
    ck_assert_uint_eq(mock_host_log_matches(host, "without exec_set_error"), 1);
    /* A plugin touching an execution after it completed. */
    ck_assert_int_eq(mock_host_table(host)->exec_set_output(exec, "{}", 2), -1);
    ck_assert_uint_eq(mock_host_misuse_count(host), 2);
    ck_assert_uint_eq(mock_host_log_matches(host, "after the execution completed"), 1);
    mock_exec_free(exec);
    mock_host_free(host);
}
END_TEST

START_TEST(meta_headers_and_log)
{
    mock_host *host = probe_host_new();
    void *inst = NULL;
    mock_exec *exec;
    int level = -1;
    json_t *o;

    ck_assert_ptr_null(mock_host_configure(host, "{\"do\":\"meta\"}", NULL, &inst));
    exec = mock_exec_new(host, "{\"execution_id\":\"e1\",\"flow\":\"ns/f\",\"trigger\":\"t\","
                               "\"function\":null,\"headers\":{\"user-agent\":\"curl\","
                               "\"x-gone\":\"1\"}}");
    ck_assert_int_eq(mock_exec_set_header(exec, "X-Test", "v"), 0);
    ck_assert_int_eq(mock_exec_set_header(exec, "X-GONE", NULL), 0);
    ck_assert_int_eq(mock_exec_set_meta(exec, "attempt", "2"), 0);
    ck_assert_int_eq(mock_exec_set_meta(exec, "nope", "x"), -1);
    ck_assert_int_eq(mock_exec_run(exec, inst, 5000), SLUICE_OK);
    o = json_loads(mock_exec_outputs(exec), 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(o, "execution_id")), "e1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "request_id")), "req-e1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "flow")), "ns/f");
    ck_assert_str_eq(json_string_value(json_object_get(o, "namespace")), "ns");
    ck_assert_str_eq(json_string_value(json_object_get(o, "trigger")), "t");
    ck_assert(json_is_null(json_object_get(o, "function")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "attempt")), "2");
    ck_assert_str_eq(json_string_value(json_object_get(o, "timeout_ms")), "0");
    ck_assert_str_eq(json_string_value(json_object_get(o, "mode")), "sync");
    ck_assert(json_is_null(json_object_get(o, "nope")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "x-test")), "v");
    ck_assert_str_eq(json_string_value(json_object_get(o, "agent")), "curl");
    ck_assert(json_is_false(json_object_get(o, "gone")));
    json_decref(o);
    ck_assert_uint_eq(mock_host_log_matches(host, "[e1] hello 5"), 1);
    for (size_t i = 0; i < mock_host_log_count(host); i++)
        if (strcmp(mock_host_log_line(host, i, &level), "[e1] hello 5") == 0)
            break;
    ck_assert_int_eq(level, SLUICE_LOG_WARN);
    ck_assert_ptr_null(mock_host_log_line(host, 100000, NULL));
    ck_assert_ptr_null(mock_exec_new(host, "[1]"));
    mock_exec_free(exec);
    mock_host_free(host);
}
END_TEST

Suite *shell_mock_suite(void)
{
    Suite *s = suite_create("mock-host");
    TCase *tc = tcase_create("mock");

    tcase_add_test(tc, descriptor_validation);
    tcase_add_test(tc, configure_reports_errors);
    tcase_add_test(tc, set_output_refusals);
    tcase_add_test(tc, pending_and_double_complete);
    tcase_add_test(tc, pending_wait_times_out);
    tcase_add_test(tc, logs_keep_head_and_tail);
    tcase_add_test(tc, cancel_after_sets_the_reason);
    tcase_add_test(tc, response_error_and_exit_code);
    tcase_add_test(tc, misuse_is_counted);
    tcase_add_test(tc, meta_headers_and_log);
    suite_add_tcase(s, tc);
    return s;
}
