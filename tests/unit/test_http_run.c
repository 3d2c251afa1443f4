/*
 * test_http_run.c - executions through the SDK mock host against sockets
 * made by the test on 127.0.0.1: a refused connection, a hostile header
 * value, a cancel that must abort a transfer the upstream never answers, at
 * once, and one answered exchange: body = "body" sends the bytes exec_body
 * lends, and the answer is passed on only when exec_meta "respond_with"
 * says "upstream".
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
    ck_assert_msg(!err, "%s", err);
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
    exec =
        mock_exec_new(host, "{\"execution_id\":\"e1\",\"body\":{\"user\":\"a\\r\\nX-Admin: 1\"}}");
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

/* One exchange on a listening socket: read a request (headers and a
 * Content-Length body), keep it, answer 201 text/plain. */
struct one_shot {
    int fd;
    char req[65536];
    size_t len;
};

static void *serve_one(void *arg)
{
    struct one_shot *o = arg;
    static const char answer[] = "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n"
                                 "Content-Length: 6\r\nConnection: close\r\n\r\nqueued";
    int c = accept(o->fd, NULL, NULL);
    char *end;
    long want = -1;

    if (c < 0)
        return NULL;
    while (o->len < sizeof(o->req) - 1) {
        ssize_t n = read(c, o->req + o->len, sizeof(o->req) - 1 - o->len);
        if (n <= 0)
            break;
        o->len += (size_t)n;
        o->req[o->len] = '\0';
        if ((end = strstr(o->req, "\r\n\r\n"))) {
            const char *cl = strcasestr(o->req, "\r\nContent-Length: ");
            want = (long)(end + 4 - o->req) + (cl ? atol(cl + 18) : 0);
            if ((long)o->len >= want)
                break;
        }
    }
    if (write(c, answer, sizeof(answer) - 1) < 0)
        o->len = 0;
    close(c);
    return NULL;
}

/* Run one forward of bytes with respond_with set as given; returns the
 * request the upstream saw. */
static void exchange(const char *respond_with, const char *bytes, size_t len, const char *type,
                     struct one_shot *o, mock_exec **out)
{
    int port;
    pthread_t t;
    void *inst;

    memset(o, 0, sizeof(*o));
    o->fd = listen_silent(&port);
    ck_assert_int_eq(pthread_create(&t, NULL, serve_one, o), 0);
    inst = configure("{\"url\":\"http://127.0.0.1:%d/x\",\"allow_hosts\":[\"127.0.0.1\"],"
                     "\"body\":\"body\"}",
                     port);
    *out = mock_exec_new(host, "{\"execution_id\":\"e1\",\"body\":{\"parsed\":true},"
                               "\"content_type\":\"application/json\"}");
    ck_assert_int_eq(mock_exec_set_body(*out, bytes, len, type), 0);
    ck_assert_int_eq(mock_exec_set_meta(*out, "respond_with", respond_with), 0);
    ck_assert_int_eq(mock_exec_run(*out, inst, 10000), SLUICE_OK);
    pthread_join(t, NULL);
    close(o->fd);
}

START_TEST(lent_body_and_upstream_answer)
{
    static const char odd[] = "{ \"b\" : 1,\n\"a\":[1.50] }";
    struct one_shot o;
    mock_exec *exec;
    int status = 0;
    const char *type = NULL, *body = NULL, *sent;
    size_t len = 0;

    exchange("upstream", odd, sizeof(odd) - 1, "application/json; charset=utf-8", &o, &exec);
    sent = strstr(o.req, "\r\n\r\n");
    ck_assert_ptr_nonnull(sent);
    ck_assert_str_eq(sent + 4, odd);
    ck_assert_ptr_nonnull(
        strcasestr(o.req, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
    ck_assert_int_eq(mock_exec_response(exec, &status, &type, &body, &len), 0);
    ck_assert_int_eq(status, 201);
    ck_assert_str_eq(type, "text/plain");
    ck_assert_uint_eq(len, 6);
    ck_assert_str_eq(body, "queued");
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);

    /* The trigger wants the document: the answer stays in the outputs. */
    exchange("execution", odd, sizeof(odd) - 1, NULL, &o, &exec);
    ck_assert_ptr_null(strcasestr(o.req, "\r\nContent-Type:"));
    ck_assert_int_eq(mock_exec_response(exec, NULL, NULL, NULL, NULL), -1);
    ck_assert_str_eq(mock_exec_output_get(exec, "status"), "201");
    ck_assert_str_eq(mock_exec_output_get(exec, "body"), "queued");
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
    tcase_add_test(tc, lent_body_and_upstream_answer);
    tcase_add_test(tc, network_retries_are_counted);
    tcase_add_test(tc, hostile_header_value_is_refused);
    tcase_add_test(tc, cancel_aborts_at_once);
    tcase_add_test(tc, cancel_during_retry_wait);
    suite_add_tcase(s, tc);
    return s;
}
