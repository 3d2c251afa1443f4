/*
 * shell_test_util.c - shared helpers of the shell executor's unit tests.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "shell_test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *st_json(const char *fmt, ...)
{
    json_error_t jerr;
    json_t *value;
    char *text;
    va_list ap;

    va_start(ap, fmt);
    value = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    ck_assert_msg(value != NULL, "json_pack(%s): %s", fmt, jerr.text);
    text = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    ck_assert_ptr_nonnull(text);
    return text;
}

char *st_event_with(json_t *body, json_t *extra)
{
    json_t *event =
        json_pack("{s:s, s:s, s:s, s:n, s:s, s:s, s:{}, s:{}, s:{}, s:s, s:o, s:n, "
                  "s:{}, s:s, s:s}",
                  "execution_id", "0193aaaa-bbbb-7ccc-8ddd-eeeeffff0000", "flow", "prod/deploy",
                  "trigger", "github-push", "function", "method", "POST", "path", "/hooks/github",
                  "params", "query", "headers", "content_type", "application/json", "body",
                  body ? body : json_null(), "raw_body_b64", "variables", "remote_addr",
                  "127.0.0.1", "received_at", "2026-11-23T12:00:00.000Z");
    char *text;

    ck_assert_ptr_nonnull(event);
    if (extra) {
        json_object_update(event, extra);
        json_decref(extra);
    }
    text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    ck_assert_ptr_nonnull(text);
    return text;
}

char *st_event(json_t *body)
{
    return st_event_with(body, NULL);
}

mock_host *st_host(void)
{
    mock_host *host = mock_host_new();
    const char *err;

    ck_assert_ptr_nonnull(host);
    err = mock_host_load(host, sluice_plugin_v1());
    ck_assert_msg(!err, "load: %s", err);
    err = mock_host_init(host);
    ck_assert_msg(!err, "init: %s", err);
    return host;
}

void *st_configure(mock_host *host, const char *cfg_json)
{
    void *inst = NULL;
    const char *err = mock_host_configure(host, cfg_json, "test.conf:1", &inst);

    ck_assert_msg(!err, "configure %s: %s", cfg_json, err);
    return inst;
}

char *st_configure_error(const char *cfg_json)
{
    mock_host *host = st_host();
    void *inst = NULL;
    const char *err = mock_host_configure(host, cfg_json, "flows.d/x.conf:12", &inst);
    char *copy = err ? strdup(err) : NULL;

    mock_host_free(host);
    return copy;
}

mock_exec *st_run(const char *cfg_json, const char *event_json, mock_host **host_out)
{
    mock_host *host = st_host();
    void *inst = st_configure(host, cfg_json);
    mock_exec *exec = mock_exec_new(host, event_json);
    int rc;

    ck_assert_ptr_nonnull(exec);
    rc = mock_exec_run(exec, inst, 60000);
    ck_assert_msg(rc == SLUICE_OK || rc == SLUICE_ERR, "result %d", rc);
    *host_out = host;
    return exec;
}

void st_done(mock_host *host, mock_exec *exec)
{
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);
    mock_host_free(host);
}

const char *st_stdout(mock_exec *exec)
{
    const char *out = mock_exec_log(exec, SLUICE_STDOUT, NULL);

    ck_assert_ptr_nonnull(out);
    return out;
}

char *st_tmpdir(void)
{
    char *path = strdup("/tmp/shell-test.XXXXXX");

    ck_assert_ptr_nonnull(path);
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

static int st_unlink_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void st_rmdir(char *path)
{
    if (!path)
        return;
    nftw(path, st_unlink_one, 8, FTW_DEPTH | FTW_PHYS);
    free(path);
}

char *st_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            data = realloc(data, cap);
            ck_assert_ptr_nonnull(data);
        }
        size_t got = fread(data + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

pid_t st_read_pid(const char *path)
{
    char *text = st_read_file(path, NULL);
    long pid = text ? strtol(text, NULL, 10) : 0;

    free(text);
    return (pid_t)pid;
}

long long st_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 'Z' (zombie) or 'X' (dead) in /proc/PID/stat, or no such process. */
static int st_pid_dead(pid_t pid)
{
    char path[64], buf[512];
    const char *paren;
    ssize_t n;
    int fd;

    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = '\0';
    paren = strrchr(buf, ')');
    return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

int st_pid_gone(pid_t pid, int ms)
{
    long long deadline = st_now_ms() + ms;

    for (;;) {
        if (st_pid_dead(pid))
            return 1;
        if (st_now_ms() >= deadline)
            return 0;
        usleep(10000);
    }
}
