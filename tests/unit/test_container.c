/*
 * test_container.c - unit tests of the container executor.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The parsers, the frame splitter and the create body are tested directly
 * (the plugin's sources are compiled into this program); whole executions
 * run through the SDK mock host against a scripted fake engine on a unix
 * socket, which makes the protocol's corners (daemon errors, a pull that
 * fails inside its 200 answer, a wait that never returns) reproducible.
 * tests/integration/container.sh runs the same plugin against a real engine.
 */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "frames.h"
#include "mock_host.h"
#include "settings.h"
#include "spec.h"
#include "test_container_fake.h"
#include "kit/kit.h"

/* ---- helpers ---- */

static char *cfg_text(const char *fmt, ...)
{
    va_list ap;
    json_error_t jerr;
    json_t *v;
    char *s;

    va_start(ap, fmt);
    v = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    ck_assert_msg(v != NULL, "json_pack: %s", jerr.text);
    s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

/* The settings error for cfg (malloc'd), or NULL when it parses. */
static char *parse_error(const char *cfg)
{
    struct ctr_settings *s = NULL;
    char err[2048] = "";

    if (ctr_settings_parse(&s, cfg, strlen(cfg), "flows.d/x.conf:7", err, sizeof(err)) == 0) {
        ctr_settings_free(s);
        return NULL;
    }
    return strdup(err);
}

static void assert_parse_error(const char *cfg, const char *needle)
{
    char *err = parse_error(cfg);

    ck_assert_msg(err != NULL, "accepted: %s", cfg);
    ck_assert_msg(strncmp(err, "flows.d/x.conf:7: container: ", 29) == 0, "no where: %s", err);
    ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" not in \"%s\"", needle, err);
    free(err);
}

static mock_host *new_host(void)
{
    mock_host *host = mock_host_new();

    ck_assert_ptr_null(mock_host_load(host, sluice_plugin_v1()));
    ck_assert_ptr_null(mock_host_init(host));
    return host;
}

static const char *EVENT = "{\"execution_id\":\"e-1\",\"flow\":\"prod/x\",\"trigger\":\"t\","
                           "\"body\":{\"name\":\"world\"},\"query\":{},\"headers\":{}}";

/* Configure cfg on a fresh host and run one execution (optionally cancelled). */
static mock_exec *run_one(const char *cfg, mock_host **host_out, unsigned cancel_ms)
{
    mock_host *host = new_host();
    void *inst = NULL;
    const char *err = mock_host_configure(host, cfg, "flows.d/x.conf:7", &inst);
    mock_exec *exec;

    ck_assert_msg(!err, "%s", err);
    exec = mock_exec_new(host, EVENT);
    ck_assert_ptr_nonnull(exec);
    if (cancel_ms > 0)
        ck_assert_int_eq(mock_exec_cancel_after(exec, cancel_ms, SLUICE_CANCEL_REQUEST), 0);
    mock_exec_run(exec, inst, 10000);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    *host_out = host;
    return exec;
}

static void finish(mock_host *host, mock_exec *exec)
{
    mock_exec_free(exec);
    mock_host_free(host);
}

/* ---- settings ---- */

START_TEST(settings_rejects_unknown_keys_with_where)
{
    assert_parse_error("{\"image\":\"a\",\"imagee\":\"b\"}", "unknown setting \"imagee\"");
}
END_TEST

START_TEST(settings_checks_each_value)
{
    assert_parse_error("{}", "image is required");
    assert_parse_error("{\"image\":\"a b\"}", "image must be");
    assert_parse_error("{\"image\":\"a\",\"socket\":\"tcp://1.2.3.4:2375\"}", "unix socket");
    assert_parse_error("{\"image\":\"a\",\"memory\":\"1M\"}", "at least 6M");
    assert_parse_error("{\"image\":\"a\",\"memory\":\"lots\"}", "memory must be");
    assert_parse_error("{\"image\":\"a\",\"cpus\":0}", "cpus must be");
    assert_parse_error("{\"image\":\"a\",\"pids_limit\":0}", "pids_limit");
    assert_parse_error("{\"image\":\"a\",\"ulimits\":{\"files\":1}}", "unknown limit");
    assert_parse_error("{\"image\":\"a\",\"ulimits\":{\"nofile\":[10,5]}}", "soft <= hard");
    assert_parse_error("{\"image\":\"a\",\"pull\":\"sometimes\"}", "pull must be");
    assert_parse_error("{\"image\":\"a\",\"timeout\":\"5x\"}", "timeout must be");
    assert_parse_error("{\"image\":\"a\",\"timeout\":\"0\"}", "timeout must be");
    assert_parse_error("{\"image\":\"a\",\"stdin\":\"yes\"}", "stdin must be true or false");
    assert_parse_error("{\"image\":\"a\",\"network\":\"my net\"}", "network must be");
    assert_parse_error("{\"image\":\"a\",\"command\":[]}", "command must be a non-empty");
    assert_parse_error("{\"image\":\"a\",\"command\":[\"{body.prog}\"]}",
                       "command[0] (\"{body.prog}\") must not contain placeholders");
    assert_parse_error("{\"image\":\"a\",\"entrypoint\":[\"{body.x}\"],\"command\":[\"x\"]}",
                       "entrypoint[0]");
    assert_parse_error("{\"image\":\"a\",\"command\":[\"x\",\"{nope.x}\"]}",
                       "unknown placeholder root");
    assert_parse_error("{\"image\":\"a\",\"env\":{\"SLUICE_X\":\"1\"}}", "reserved");
    assert_parse_error("{\"image\":\"a\",\"env\":{\"A\":\"{\"}}", "unclosed");
    assert_parse_error("{\"image\":\"a\",\"env\":{\"A\":\"1\"},\"secrets\":{\"A\":\"s\"}}",
                       "both env and secrets");
    assert_parse_error("{\"image\":\"a\",\"mounts\":[\"relative:/x\"]}", "mounts[0] must be");
    assert_parse_error("{\"image\":\"a\",\"mounts\":[\"/tmp:/sluice/out\"]}", "outside /sluice");
    assert_parse_error("{\"image\":\"a\",\"mounts\":[{\"source\":\"/tmp\"}]}", "mounts[0]");
    assert_parse_error("{\"image\":\"a\",\"work_dir\":\"/nonexistent-dir\"}", "not a directory");
}
END_TEST

START_TEST(settings_defaults_and_values)
{
    const char *cfg = "{\"image\":\"alpine:3\",\"socket\":\"unix:///run/x.sock\","
                      "\"memory\":\"64M\",\"cpus\":0.5,\"ulimits\":{\"core\":0,\"nofile\":[10,20]},"
                      "\"mounts\":[\"/tmp:/data:rw\",{\"source\":\"/etc\",\"target\":\"/e\"}],"
                      "\"secrets\":{\"T\":\"a{b}c\"},\"timeout\":\"2s\"}";
    struct ctr_settings *s = NULL;
    char err[1024];

    ck_assert_int_eq(ctr_settings_parse(&s, cfg, strlen(cfg), "w", err, sizeof(err)), 0);
    ck_assert_str_eq(s->socket, "/run/x.sock");
    ck_assert_str_eq(s->network, "none");
    ck_assert_int_eq(s->pull, CTR_PULL_MISSING);
    ck_assert_int_eq(s->memory, 64 * 1024 * 1024);
    ck_assert_int_eq(s->nano_cpus, 500000000);
    ck_assert_int_eq(s->timeout_ms, 2000);
    ck_assert_uint_eq(s->nulimits, 3); /* nofile, nproc (default), core */
    ck_assert_str_eq(s->ulimits[0].name, "nofile");
    ck_assert_int_eq(s->ulimits[0].soft, 10);
    ck_assert_int_eq(s->ulimits[0].hard, 20);
    ck_assert_str_eq(s->ulimits[1].name, "nproc");
    ck_assert_int_eq(s->ulimits[1].hard, 4096);
    ck_assert_uint_eq(s->nmounts, 2);
    ck_assert_int_eq(s->mounts[0].read_only, 0);
    ck_assert_int_eq(s->mounts[1].read_only, 1);
    ck_assert_str_eq(s->secrets[0].value, "a{b}c");
    ctr_settings_free(s);
}
END_TEST

/* memory took T/TB/TiB and integers of bytes before it was read with
 * kit_size, and still does; 2^63 bytes and more is no int64_t. */
START_TEST(settings_memory_sizes)
{
    static const struct {
        const char *cfg;
        int64_t memory;
    } ok[] = {
        {"{\"image\":\"a\",\"memory\":\"2TiB\"}", 2LL << 40},
        {"{\"image\":\"a\",\"memory\":\"1t\"}", 1LL << 40},
        {"{\"image\":\"a\",\"memory\":\"6m\"}", 6LL << 20},
        {"{\"image\":\"a\",\"memory\":6291456}", 6LL << 20},
        {"{\"image\":\"a\",\"memory\":\"8388607T\"}", 8388607LL << 40},
    };
    struct ctr_settings *s = NULL;
    char err[1024];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(ctr_settings_parse(&s, ok[i].cfg, strlen(ok[i].cfg), "w", err, sizeof(err)) ==
                          0,
                      "%s: %s", ok[i].cfg, err);
        ck_assert_int_eq(s->memory, ok[i].memory);
        ctr_settings_free(s);
    }
    assert_parse_error("{\"image\":\"a\",\"memory\":\"8388608T\"}", "memory must be");
    assert_parse_error("{\"image\":\"a\",\"memory\":0}", "memory must be");
    assert_parse_error("{\"image\":\"a\",\"memory\":-7340032}", "memory must be");
}
END_TEST

START_TEST(settings_socket_from_docker_host)
{
    struct ctr_settings *s = NULL;
    char err[1024];

    setenv("DOCKER_HOST", "unix:///run/user/1000/podman/podman.sock", 1);
    ck_assert_int_eq(ctr_settings_parse(&s, "{\"image\":\"a\"}", 13, "w", err, sizeof(err)), 0);
    ck_assert_str_eq(s->socket, "/run/user/1000/podman/podman.sock");
    ctr_settings_free(s);
    setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
    ck_assert_int_eq(ctr_settings_parse(&s, "{\"image\":\"a\"}", 13, "w", err, sizeof(err)), 0);
    ck_assert_msg(strcmp(s->socket, "/var/run/docker.sock") == 0 ||
                      strcmp(s->socket, "/run/podman/podman.sock") == 0,
                  "%s", s->socket);
    ctr_settings_free(s);
    unsetenv("DOCKER_HOST");
}
END_TEST

START_TEST(units_sizes_and_durations)
{
    uint64_t b = 0;
    long ms = 0;

    json_t *z = json_pack("[s,s,s,s,s,s]", "512k", "1GiB", "100", "1X", "", "99999999999999999999");
    ck_assert_int_eq(kit_size(json_array_get(z, 0), &b), 0);
    ck_assert_uint_eq(b, 512 * 1024);
    ck_assert_int_eq(kit_size(json_array_get(z, 1), &b), 0);
    ck_assert_uint_eq(b, 1024ULL * 1024 * 1024);
    ck_assert_int_eq(kit_size(json_array_get(z, 2), &b), 0);
    ck_assert_uint_eq(b, 100);
    ck_assert_int_eq(kit_size(json_array_get(z, 3), &b), -1);
    ck_assert_int_eq(kit_size(json_array_get(z, 4), &b), -1);
    ck_assert_int_eq(kit_size(json_array_get(z, 5), &b), -1);
    json_decref(z);
    json_t *d = json_pack("[s,s,s,s]", "250ms", "5m", "25h", "5");
    ck_assert_int_eq(kit_duration(json_array_get(d, 0), &ms), 0);
    ck_assert_int_eq(ms, 250);
    ck_assert_int_eq(kit_duration(json_array_get(d, 1), &ms), 0);
    ck_assert_int_eq(ms, 300000);
    ck_assert_int_eq(kit_duration(json_array_get(d, 2), &ms), -1);
    ck_assert_int_eq(kit_duration(json_array_get(d, 3), &ms), 0);
    ck_assert_int_eq(ms, 5000);
    json_decref(d);
}
END_TEST

/* ---- frames ---- */

struct collected {
    char out[256];
    char err[256];
    size_t nout, nerr;
};

static void collect(void *ctx, int stream, const char *data, size_t len)
{
    struct collected *c = ctx;

    if (stream == SLUICE_STDERR) {
        memcpy(c->err + c->nerr, data, len);
        c->nerr += len;
    } else {
        memcpy(c->out + c->nout, data, len);
        c->nout += len;
    }
}

START_TEST(frames_split_at_every_byte)
{
    static const char stream[] = "\x01\0\0\0\0\0\0\x03"
                                 "out"
                                 "\x02\0\0\0\0\0\0\x04"
                                 "err!"
                                 "\x01\0\0\0\0\0\0\x00"
                                 "\x01\0\0\0\0\0\0\x02"
                                 "go";
    size_t len = sizeof(stream) - 1;

    /* Fed in chunks of every size, the result is the same. */
    for (size_t chunk = 1; chunk <= len; chunk++) {
        struct collected c = {0};
        struct ctr_frames f;

        ctr_frames_init(&f, collect, &c);
        for (size_t i = 0; i < len; i += chunk)
            ctr_frames_feed(&f, stream + i, len - i < chunk ? len - i : chunk);
        ck_assert_uint_eq(c.nout, 5);
        ck_assert_int_eq(memcmp(c.out, "outgo", 5), 0);
        ck_assert_uint_eq(c.nerr, 4);
        ck_assert_int_eq(memcmp(c.err, "err!", 4), 0);
        ck_assert_int_eq(ctr_frames_partial(&f), 0);
    }
}
END_TEST

START_TEST(frames_raw_and_partial)
{
    struct collected c = {0};
    struct ctr_frames f;

    ctr_frames_init(&f, collect, &c);
    ctr_frames_feed(&f, "plain text", 10);
    ck_assert_uint_eq(c.nout, 10);
    ck_assert_int_eq(memcmp(c.out, "plain text", 10), 0);

    memset(&c, 0, sizeof(c));
    ctr_frames_init(&f, collect, &c);
    ctr_frames_feed(&f,
                    "\x01\0\0\0\0\0\0\x09"
                    "shor",
                    12);
    ck_assert_int_eq(ctr_frames_partial(&f), 1);
    ck_assert_uint_eq(c.nout, 4);
}
END_TEST

/* ---- the create body ---- */

START_TEST(spec_has_limits_mounts_env_and_labels)
{
    const char *cfg = "{\"image\":\"alpine:3\",\"command\":[\"/bin/echo\",\"{body.name}\"],"
                      "\"env\":{\"WHO\":\"{body.name}\"},\"secrets\":{\"TOKEN\":\"{x}\"},"
                      "\"stdin\":true,\"memory\":\"64M\",\"pids_limit\":10,\"keep\":true}";
    struct ctr_settings *s = NULL;
    struct ctr_spec_facts facts = {.execution_id = "e-1",
                                   .flow = "prod/x",
                                   .owner = "b/1/2",
                                   .host_event_path = "/w/event.json",
                                   .host_out_dir = "/w/out"};
    json_t *event = json_loads(EVENT, 0, NULL);
    char err[1024];
    json_t *spec, *hc;
    char *text;

    ck_assert_int_eq(ctr_settings_parse(&s, cfg, strlen(cfg), "w", err, sizeof(err)), 0);
    spec = ctr_spec_build(s, event, &facts, err, sizeof(err));
    ck_assert_msg(spec != NULL, "%s", err);
    text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(spec, "Cmd"), 1)), "world");
    ck_assert(json_is_true(json_object_get(spec, "OpenStdin")));
    ck_assert(json_is_true(json_object_get(spec, "StdinOnce")));
    ck_assert_msg(strstr(text, "\"WHO=world\"") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\"TOKEN={x}\"") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\"SLUICE_EVENT=/sluice/event.json\"") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\"SLUICE_OUTPUT=/sluice/out/outputs\"") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\"sluice.execution\":\"e-1\"") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\"sluice.keep\":\"true\"") != NULL, "%s", text);
    hc = json_object_get(spec, "HostConfig");
    ck_assert_str_eq(json_string_value(json_object_get(hc, "NetworkMode")), "none");
    ck_assert_int_eq(json_integer_value(json_object_get(hc, "Memory")), 64 * 1024 * 1024);
    ck_assert_int_eq(json_integer_value(json_object_get(hc, "MemorySwap")), 64 * 1024 * 1024);
    ck_assert_int_eq(json_integer_value(json_object_get(hc, "PidsLimit")), 10);
    ck_assert_uint_eq(json_array_size(json_object_get(hc, "Ulimits")), 2);
    ck_assert_msg(strstr(text, "{\"ReadOnly\":true,\"Source\":\"/w/event.json\",\"Target\":"
                               "\"/sluice/event.json\",\"Type\":\"bind\"}") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "{\"ReadOnly\":false,\"Source\":\"/w/out\",\"Target\":"
                               "\"/sluice/out\",\"Type\":\"bind\"}") != NULL,
                  "%s", text);
    free(text);
    json_decref(spec);
    json_decref(event);
    ctr_settings_free(s);
}
END_TEST

/* ---- whole executions against the fake engine ---- */

START_TEST(run_happy_path)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s, s:[s], s:b}", "socket", fake_engine_socket(fe), "image",
                         "img:1", "command", "/bin/x", "stdin", 1);
    mock_host *host;
    mock_exec *exec;
    char *stdin_seen, *create;
    int eof = 0;

    fake_engine_happy(fe, 0, "hello\n", "warn\n");
    exec = run_one(cfg, &host, 0);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_int_eq(mock_exec_exit_code(exec), 0);
    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDOUT, NULL), "hello\n");
    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDERR, NULL), "warn\n");
    /* The fake's attach thread records stdin on its own schedule: the run
     * may finish before it has read the half-closed stream. */
    stdin_seen = fake_engine_stdin(fe, &eof);
    for (int i = 0; i < 200 && !eof; i++) {
        free(stdin_seen);
        usleep(10000);
        stdin_seen = fake_engine_stdin(fe, &eof);
    }
    ck_assert_str_eq(stdin_seen, EVENT);
    ck_assert_int_eq(eof, 1);
    create = fake_engine_body(fe, "POST", "/containers/create");
    ck_assert_ptr_nonnull(strstr(create, "\"Ulimits\""));
    ck_assert_int_eq(fake_engine_count(fe, "POST", "/containers/create?name=sluice-e-1"), 1);
    ck_assert_int_eq(fake_engine_count(fe, "DELETE", "/containers/abc123?force=1"), 1);
    ck_assert_int_eq(fake_engine_count(fe, "POST", "/containers/abc123/kill"), 0);
    free(stdin_seen);
    free(create);
    free(cfg);
    finish(host, exec);
    fake_engine_stop(fe);
}
END_TEST

START_TEST(run_daemon_error_message)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s}", "socket", fake_engine_socket(fe), "image", "img:1");
    mock_host *host;
    mock_exec *exec;

    fake_engine_route(fe, "POST", "/containers/abc123/start", 500,
                      "{\"message\":\"runc create failed: boom\"}", -1);
    fake_engine_happy(fe, 0, NULL, NULL);
    exec = run_one(cfg, &host, 0);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec),
                     "starting the container: the engine answered 500: runc create failed: boom");
    ck_assert_int_eq(fake_engine_count(fe, "DELETE", "/containers/abc123"), 1);
    free(cfg);
    finish(host, exec);
    fake_engine_stop(fe);
}
END_TEST

START_TEST(run_image_missing_pull_never)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s, s:s}", "socket", fake_engine_socket(fe), "image", "img:1",
                         "pull", "never");
    mock_host *host;
    mock_exec *exec;

    fake_engine_route(fe, "POST", "/containers/create", 404,
                      "{\"message\":\"no such image: img:1: image not known\"}", -1);
    fake_engine_route(fe, "GET", "/images/img:1/json", 404, "{\"message\":\"no such image\"}", -1);
    fake_engine_happy(fe, 0, NULL, NULL);
    exec = run_one(cfg, &host, 0);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_ptr_nonnull(
        strstr(mock_exec_error(exec), "image img:1 is not on the engine and pull = \"never\""));
    ck_assert_int_eq(fake_engine_count(fe, "POST", "/images/create"), 0);
    ck_assert_uint_ge(mock_host_log_matches(host, "is not on the engine"), 1);
    free(cfg);
    finish(host, exec);
    fake_engine_stop(fe);
}
END_TEST

START_TEST(run_pull_error_inside_200)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s}", "socket", fake_engine_socket(fe), "image", "reg/img");
    mock_host *host;
    mock_exec *exec;

    fake_engine_route(fe, "POST", "/containers/create", 404,
                      "{\"message\":\"No such image: reg/img:latest\"}", -1);
    fake_engine_route(fe, "POST", "/images/create?fromImage=reg%2Fimg&tag=latest", 200,
                      "{\"status\":\"Pulling\"}\n{\"error\":\"manifest unknown\"}\n", -1);
    fake_engine_happy(fe, 0, NULL, NULL);
    exec = run_one(cfg, &host, 0);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec), "pulling image reg/img: manifest unknown");
    free(cfg);
    finish(host, exec);
    fake_engine_stop(fe);
}
END_TEST

START_TEST(run_cancel_kills_and_removes)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s}", "socket", fake_engine_socket(fe), "image", "img:1");
    mock_host *host;
    mock_exec *exec;
    long long t0;

    fake_engine_hang(fe, "POST", "/containers/abc123/wait");
    fake_engine_happy(fe, 0, "partial\n", NULL);
    t0 = (long long)kit_now_ms();
    exec = run_one(cfg, &host, 300);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec), "cancelled; container killed and removed");
    ck_assert_msg(kit_now_ms() - t0 < 2000, "cancel took %lld ms", (long long)(kit_now_ms() - t0));
    ck_assert_int_eq(fake_engine_count(fe, "POST", "/containers/abc123/kill"), 1);
    ck_assert_int_eq(fake_engine_count(fe, "DELETE", "/containers/abc123"), 1);
    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDOUT, NULL), "partial\n");
    free(cfg);
    finish(host, exec);
    fake_engine_stop(fe);
}
END_TEST

START_TEST(run_own_timeout)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s, s:s}", "socket", fake_engine_socket(fe), "image", "img:1",
                         "timeout", "200ms");
    mock_host *host;
    mock_exec *exec;

    fake_engine_hang(fe, "POST", "/containers/abc123/wait");
    fake_engine_happy(fe, 0, NULL, NULL);
    exec = run_one(cfg, &host, 0);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec),
                     "timed out after 200 ms (timeout); container killed and removed");
    ck_assert_int_eq(fake_engine_count(fe, "POST", "/containers/abc123/kill"), 1);
    free(cfg);
    finish(host, exec);
    fake_engine_stop(fe);
}
END_TEST

START_TEST(run_oom_and_exit_codes)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s, s:s}", "socket", fake_engine_socket(fe), "image", "img:1",
                         "memory", "32M");
    mock_host *host;
    mock_exec *exec;

    fake_engine_happy(fe, 137, NULL, NULL);
    exec = run_one(cfg, &host, 0);
    ck_assert_int_eq(mock_exec_exit_code(exec), 137);
    ck_assert_str_eq(mock_exec_error(exec), "exit code 137: killed (likely out of memory; the "
                                            "memory limit is 32 MiB)");
    free(cfg);
    finish(host, exec);
    fake_engine_stop(fe);
}
END_TEST

START_TEST(run_daemon_down)
{
    const char *cfg = "{\"socket\":\"/nonexistent/sluice-test.sock\",\"image\":\"img:1\"}";
    mock_host *host;
    mock_exec *exec = run_one(cfg, &host, 0);

    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec),
                     "cannot reach the container engine at /nonexistent/sluice-test.sock: no "
                     "such socket (is the Docker daemon or `podman system service` running, and "
                     "is socket right?)");
    /* configure said so too, as a warning, and still succeeded */
    ck_assert_uint_ge(mock_host_log_matches(host, "flows.d/x.conf:7: container: cannot reach"), 1);
    finish(host, exec);
}
END_TEST

START_TEST(run_orphan_sweep)
{
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s}", "socket", fake_engine_socket(fe), "image", "img:1");
    mock_host *host = new_host();
    void *inst = NULL, *inst2 = NULL;

    fake_engine_route(fe, "GET", "/containers/json", 200,
                      "[{\"Id\":\"dead1\",\"State\":\"running\",\"Labels\":{\"sluice.execution\":"
                      "\"x1\",\"sluice.owner\":\"nope/1/1\"}},"
                      "{\"Id\":\"kept1\",\"Labels\":{\"sluice.execution\":\"x2\","
                      "\"sluice.keep\":\"true\"}}]",
                      -1);
    fake_engine_route(fe, "DELETE", "/containers/dead1", 200, "[]", -1);
    fake_engine_happy(fe, 0, NULL, NULL);
    ck_assert_ptr_null(mock_host_configure(host, cfg, "w:1", &inst));
    ck_assert_ptr_null(mock_host_configure(host, cfg, "w:2", &inst2));
    /* Once per socket per process, whatever the number of flows. */
    ck_assert_int_eq(fake_engine_count(fe, "GET", "/containers/json"), 1);
    ck_assert_int_eq(fake_engine_count(fe, "DELETE", "/containers/dead1"), 1);
    ck_assert_int_eq(fake_engine_count(fe, "DELETE", "/containers/kept1"), 0);
    ck_assert_uint_eq(mock_host_log_matches(host, "removed orphan container dead1"), 1);
    free(cfg);
    mock_host_free(host);
    fake_engine_stop(fe);
}
END_TEST

struct par_run {
    mock_exec *exec;
    void *inst;
};

static void *par_main(void *arg)
{
    struct par_run *p = arg;

    mock_exec_run(p->exec, p->inst, 10000);
    return NULL;
}

/* Several executions of one instance at once, each with its own container. */
START_TEST(run_concurrent)
{
    enum { N = 6 };
    fake_engine *fe = fake_engine_start();
    char *cfg = cfg_text("{s:s, s:s}", "socket", fake_engine_socket(fe), "image", "img:1");
    mock_host *host = new_host();
    struct par_run runs[N];
    pthread_t thr[N];
    void *inst = NULL;

    fake_engine_happy(fe, 0, "x\n", NULL);
    ck_assert_ptr_null(mock_host_configure(host, cfg, "w:1", &inst));
    ck_assert(mock_host_plugin(host)->flags & SLUICE_PF_REENTRANT);
    for (int i = 0; i < N; i++) {
        runs[i].exec = mock_exec_new(host, EVENT);
        runs[i].inst = inst;
        ck_assert_int_eq(pthread_create(&thr[i], NULL, par_main, &runs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(thr[i], NULL);
        ck_assert_msg(mock_exec_result(runs[i].exec) == SLUICE_OK, "%s",
                      mock_exec_error(runs[i].exec));
        ck_assert_str_eq(mock_exec_log(runs[i].exec, SLUICE_STDOUT, NULL), "x\n");
        mock_exec_free(runs[i].exec);
    }
    ck_assert_int_eq(fake_engine_count(fe, "POST", "/containers/create"), N);
    ck_assert_int_eq(fake_engine_count(fe, "DELETE", "/containers/abc123"), N);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    free(cfg);
    mock_host_free(host);
    fake_engine_stop(fe);
}
END_TEST

static Suite *container_suite(void)
{
    Suite *s = suite_create("container");
    TCase *units = tcase_create("units");
    TCase *runs = tcase_create("runs");

    tcase_add_test(units, settings_rejects_unknown_keys_with_where);
    tcase_add_test(units, settings_checks_each_value);
    tcase_add_test(units, settings_defaults_and_values);
    tcase_add_test(units, settings_memory_sizes);
    tcase_add_test(units, settings_socket_from_docker_host);
    tcase_add_test(units, units_sizes_and_durations);
    tcase_add_test(units, frames_split_at_every_byte);
    tcase_add_test(units, frames_raw_and_partial);
    tcase_add_test(units, spec_has_limits_mounts_env_and_labels);
    suite_add_tcase(s, units);
    tcase_add_test(runs, run_happy_path);
    tcase_add_test(runs, run_daemon_error_message);
    tcase_add_test(runs, run_image_missing_pull_never);
    tcase_add_test(runs, run_pull_error_inside_200);
    tcase_add_test(runs, run_cancel_kills_and_removes);
    tcase_add_test(runs, run_own_timeout);
    tcase_add_test(runs, run_oom_and_exit_codes);
    tcase_add_test(runs, run_daemon_down);
    tcase_add_test(runs, run_orphan_sweep);
    tcase_add_test(runs, run_concurrent);
    suite_add_tcase(s, runs);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(container_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
