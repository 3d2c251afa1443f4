/*
 * test_http_run.c - executions through the SDK mock host against sockets
 * made by the test on 127.0.0.1: a refused connection, a hostile header
 * value, and a cancel that must abort a transfer the upstream never
 * answers, at once.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* A listening socket on 127.0.0.1 that never accepts: the kernel completes
 * connections into its backlog, and no answer ever comes. */
static int listen_silent(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void *configure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void *configure(const char *fmt, ...)
{
    char json[512];
    void *inst = NULL;
    const char *err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(json, sizeof(json), fmt, ap);
    va_end(ap);
    err = mock_host_configure(host, json, "test.conf:1", &inst);
    ck_assert_msg(err == NULL, "%s", err);
    return inst;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(connection_refused)
{
    int port, fd = listen_silent(&port);
    void *inst;
    mock_exec *exec;

    close(fd); /* nothing listens there now */
    inst = configure("{\"url\":\"http://127.0.0.1:%d/x\",\"allow_hosts\":[\"127.0.0.1\"]}", port);
    exec = mock_exec_new(host, "{\"execution_id\":\"e1\",\"body\":{}}");
    ck_assert_int_eq(mock_exec_run(exec, inst, 10000), SLUICE_ERR);
    ck_assert_msg(strstr(mock_exec_error(exec), "the request to 127.0.0.1 failed (attempt 1)") !=
                      NULL,
                  "%s", mock_exec_error(exec));
    ck_assert_uint_eq(mock_exec_complete_calls(exec), 1);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);
}
END_TEST

START_TEST(network_retries_are_counted)
{
    int port, fd = listen_silent(&port);
    void *inst;
    mock_exec *exec;

    close(fd);
    inst = configure("{\"url\":\"http://127.0.0.1:%d/x\",\"allow_hosts\":[\"127.0.0.1\"],"
                     "\"retry\":{\"max\":2,\"backoff\":\"10ms\"}}",
                     port);
    exec = mock_exec_new(host, "{\"execution_id\":\"e1\",\"body\":{}}");
    ck_assert_int_eq(mock_exec_run(exec, inst, 10000), SLUICE_ERR);
    ck_assert_msg(strstr(mock_exec_error(exec), "(attempt 3)") != NULL, "%s",
                  mock_exec_error(exec));
    ck_assert_msg(strstr(mock_exec_log(exec, SLUICE_STDOUT, NULL), "attempt 2: ") != NULL, "%s",
                  mock_exec_log(exec, SLUICE_STDOUT, NULL));
    mock_exec_free(exec);
}
END_TEST

START_TEST(hostile_header_value_is_refused)
{
    void *inst = NULL;
    mock_exec *exec;

    ck_assert_ptr_null(mock_host_configure(
        host, "{\"url\":\"https://example.com/\",\"headers\":{\"X-User\":\"{body.user}\"}}",
        "test.conf:1", &inst));
    exec = mock_exec_new(host,
                         "{\"execution_id\":\"e1\",\"body\":{\"user\":\"a\\r\\nX-Admin: 1\"}}");
    ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_ERR);
    ck_assert_msg(strstr(mock_exec_error(exec), "headers.X-User: the value from the request "
                                                "contains a line break") != NULL,
                  "%s", mock_exec_error(exec));
    mock_exec_free(exec);
}
END_TEST

START_TEST(cancel_aborts_at_once)
{
    int port, fd = listen_silent(&port);
    void *inst = configure("{\"url\":\"http://127.0.0.1:%d/slow\",\"allow_hosts\":[\"127.0.0.1\"],"
                           "\"timeout\":\"30s\"}",
                           port);
    mock_exec *exec = mock_exec_new(host, "{\"execution_id\":\"e1\",\"body\":{}}");
    long long start = now_ms(), took;

    ck_assert_int_eq(mock_exec_cancel_after(exec, 300, SLUICE_CANCEL_TIMEOUT), 0);
    ck_assert_int_eq(mock_exec_run(exec, inst, 10000), SLUICE_ERR);
    took = now_ms() - start;
    ck_assert_msg(took < 1000, "cancel took %lld ms to abort the transfer", took);
    ck_assert_msg(strstr(mock_exec_error(exec), "timed out during the transfer") != NULL, "%s",
                  mock_exec_error(exec));
    ck_assert_uint_eq(mock_exec_complete_calls(exec), 1);
    mock_exec_free(exec);
    close(fd);
}
END_TEST

START_TEST(cancel_during_retry_wait)
{
    int port, fd = listen_silent(&port);
    void *inst;
    mock_exec *exec;
    long long start, took;

    close(fd);
    inst = configure("{\"url\":\"http://127.0.0.1:%d/x\",\"allow_hosts\":[\"127.0.0.1\"],"
                     "\"retry\":{\"max\":5,\"backoff\":\"20s\"}}",
                     port);
    exec = mock_exec_new(host, "{\"execution_id\":\"e1\",\"body\":{}}");
    start = now_ms();
    ck_assert_int_eq(mock_exec_cancel_after(exec, 300, SLUICE_CANCEL_REQUEST), 0);
    ck_assert_int_eq(mock_exec_run(exec, inst, 10000), SLUICE_ERR);
    took = now_ms() - start;
    ck_assert_msg(took < 1000, "cancel took %lld ms", took);
    ck_assert_msg(strstr(mock_exec_error(exec), "cancelled while waiting to retry") != NULL, "%s",
                  mock_exec_error(exec));
    mock_exec_free(exec);
}
END_TEST

Suite *http_run_suite(void)
{
    Suite *s = suite_create("http_run");
    TCase *tc = tcase_create("run");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, network_retries_are_counted);
    tcase_add_test(tc, hostile_header_value_is_refused);
    tcase_add_test(tc, cancel_aborts_at_once);
    tcase_add_test(tc, cancel_during_retry_wait);
    suite_add_tcase(s, tc);
    return s;
}
