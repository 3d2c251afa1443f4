/*
 * execute.c - one execution of the container executor.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The steps: parse the event; write it to a private host directory with an
 * empty out/ beside it; build the create body; (pull = "always": pull);
 * create the container (on "no such image", pull = "missing" pulls and
 * creates again, pull = "never" fails); attach to its stdin when the flow
 * wants the event there; start it; write the event and half-close; wait
 * for it to exit; read its output streams; read /sluice/out/outputs; remove
 * the container and the directory.
 *
 * A cancellation (the flow's timeout, an operator, shutdown) or the flow's
 * own container timeout interrupts whichever wait is under way within
 * 100 ms (at once when the cancel callback wakes it); the container is
 * then killed, what it printed so far is read, and it is removed. Create
 * and start themselves are never interrupted half-way: a create abandoned
 * in flight would leave a container nobody knows the id of.
 */
#define _GNU_SOURCE
#include "container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sluice/jansson.h>

#include "attach.h"
#include "engine.h"
#include "frames.h"
#include "kit/outputs.h"
#include "spec.h"
#include "kit/kit.h"
#include "workdir.h"

/* How much output is read back from the engine; the host keeps only the
 * head and the tail of it anyway. */
#define CTR_LOG_READ_MAX (64u * 1024u * 1024u)

/* How long the output of a stopped container may take to read. */
#define CTR_STOPPED_LOGS_MS 3000L

/* Exit code of a process killed by SIGKILL, as engines report it. */
#define CTR_EXIT_SIGKILL 137

struct ctr_run {
    struct ctr_instance *inst;
    const struct ctr_settings *cfg;
    sluice_exec *exec;
    const char *event_text;
    size_t event_len;
    json_t *event;
    struct ctr_workdir wd;
    struct ctr_api api;
    int api_open;
    struct ctr_attach attach;
    struct ctr_running running;
    int tracked;
    char name[160];
    char id[80];
    int created;
    int started;
    int64_t deadline; /* the flow's container timeout, 0 = none */
    int own_timeout;  /* that deadline passed */
    int exit_code;
    int exited;
    size_t log_bytes;
    struct ctr_frames frames;
    char err[SLUICE_MAX_ERROR];
};

/* ---- stopping ---- */

/* Asked between polls: a cancellation from the host, or the own deadline. */
static int ctr_run_stop(void *ctx)
{
    struct ctr_run *run = ctx;

    if (run->inst->host->exec_is_cancelled(run->exec) != SLUICE_CANCEL_NONE)
        return 1;
    if (run->deadline > 0 && kit_now_ms() >= run->deadline) {
        run->own_timeout = 1;
        return 1;
    }
    return 0;
}

static int ctr_run_stopped(struct ctr_run *run)
{
    return run->own_timeout || run->inst->host->exec_is_cancelled(run->exec) != SLUICE_CANCEL_NONE;
}

/* ---- output streams ---- */

static void ctr_run_emit(void *ctx, int stream, const char *data, size_t len)
{
    struct ctr_run *run = ctx;

    run->inst->host->exec_write_log(run->exec, stream, data, len);
}

static int ctr_run_log_sink(void *ctx, const char *data, size_t len)
{
    struct ctr_run *run = ctx;

    if (run->log_bytes + len > CTR_LOG_READ_MAX)
        return -1;
    run->log_bytes += len;
    ctr_frames_feed(&run->frames, data, len);
    return 0;
}

/* ---- the steps ---- */

static void ctr_run_name(struct ctr_run *run)
{
    const char *id = run->inst->host->exec_meta(run->exec, "execution_id");
    const char *attempt = run->inst->host->exec_meta(run->exec, "attempt");
    size_t n;

    n = (size_t)snprintf(run->name, sizeof(run->name), "sluice-%.100s", id ? id : "exec");
    /* Engines accept [a-zA-Z0-9_.-] in names; anything else becomes '_'. */
    for (size_t i = 7; i < n && i < sizeof(run->name); i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
                    run->name[i]))
            run->name[i] = '_';
    if (attempt && strcmp(attempt, "1") != 0 && strspn(attempt, "0123456789") == strlen(attempt))
        snprintf(run->name + n, sizeof(run->name) - n, "-a%.8s", attempt);
}

static int ctr_run_prepare(struct ctr_run *run, char **spec)
{
    const sluice_host *host = run->inst->host;
    struct ctr_spec_facts facts;
    json_error_t jerr;
    json_t *body;

    run->event = sluice_json_parse_event(run->event_text, run->event_len, &jerr);
    if (!run->event || !json_is_object(run->event)) {
        kit_errf(run->err, sizeof(run->err), "the event is not a JSON object: %s",
                 run->event ? "another type" : jerr.text);
        return -1;
    }
    if (ctr_workdir_create(&run->wd, run->cfg->work_dir, run->event_text, run->event_len, run->err,
                           sizeof(run->err)) != 0)
        return -1;
    facts = (struct ctr_spec_facts){
        .execution_id = host->exec_meta(run->exec, "execution_id"),
        .request_id = host->exec_meta(run->exec, "request_id"),
        .flow = host->exec_meta(run->exec, "flow"),
        .trigger = host->exec_meta(run->exec, "trigger"),
        .function = host->exec_meta(run->exec, "function"),
        .owner = run->inst->ctx->owner,
        .host_event_path = run->wd.event_path,
        .host_out_dir = run->wd.out_dir,
    };
    if (!facts.execution_id)
        facts.execution_id = "unknown";
    body = ctr_spec_build(run->cfg, run->event, &facts, run->err, sizeof(run->err));
    if (!body)
        return -1;
    *spec = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!*spec) {
        kit_errf(run->err, sizeof(run->err), "out of memory");
        return -1;
    }
    ctr_run_name(run);
    return 0;
}

/* Pull when the policy says so; stopped pulls report CTR_API_CANCELLED. */
static int ctr_run_pull(struct ctr_run *run)
{
    const sluice_host *host = run->inst->host;
    int64_t t0 = kit_now_ms();
    int rc;

    host->log(host, run->exec, SLUICE_LOG_INFO, "pulling image %s", run->cfg->image);
    rc = ctr_engine_pull(&run->api, run->cfg->image, run->err, sizeof(run->err));
    if (rc == 0)
        host->log(host, run->exec, SLUICE_LOG_INFO, "pulled image %s in %lld ms", run->cfg->image,
                  (long long)(kit_now_ms() - t0));
    return rc;
}

static int ctr_run_create(struct ctr_run *run, const char *spec)
{
    size_t len = strlen(spec);
    int missing = 0;
    int rc;

    if (run->cfg->pull == CTR_PULL_ALWAYS && (rc = ctr_run_pull(run)) != 0)
        return rc;
    rc = ctr_engine_create(&run->api, run->name, spec, len, run->id, sizeof(run->id), &missing,
                           run->err, sizeof(run->err));
    if (rc != 0 && missing && run->cfg->pull == CTR_PULL_NEVER) {
        kit_errf(run->err, sizeof(run->err),
                 "image %s is not on the engine and pull = \"never\" (load it first: docker "
                 "pull / podman pull / docker load)",
                 run->cfg->image);
        return -1;
    }
    if (rc != 0 && missing && run->cfg->pull == CTR_PULL_MISSING) {
        if ((rc = ctr_run_pull(run)) != 0)
            return rc;
        rc = ctr_engine_create(&run->api, run->name, spec, len, run->id, sizeof(run->id), &missing,
                               run->err, sizeof(run->err));
    }
    if (rc == 0)
        run->created = 1;
    return rc;
}

/* A retry (attempt 2 and on; after a crash the attempt that was running
 * counts) first ends what the earlier attempts left on the engine. */
static int ctr_run_clear_earlier(struct ctr_run *run)
{
    const sluice_host *host = run->inst->host;
    const char *attempt = host->exec_meta(run->exec, "attempt");
    const char *id = host->exec_meta(run->exec, "execution_id");
    char err[1024];

    if (!attempt || strcmp(attempt, "1") == 0 || !id)
        return 0;
    if (ctr_clear_earlier(run->inst->ctx, &run->api, id, err, sizeof(err)) != 0) {
        kit_errf(run->err, sizeof(run->err), "not started: an earlier attempt's container: %s",
                 err);
        return -1;
    }
    return 0;
}

/* Attach, start, feed stdin, wait. Returns 0 when the container exited. */
static int ctr_run_container(struct ctr_run *run)
{
    const sluice_host *host = run->inst->host;
    size_t written = 0;
    int rc;

    if (run->cfg->stdin_event &&
        ctr_attach_open(&run->attach, run->cfg->socket, run->id, run->err, sizeof(run->err)) != 0)
        return -1;
    if (ctr_run_stopped(run))
        return CTR_API_CANCELLED;
    if (run->cfg->timeout_ms > 0)
        run->deadline = kit_now_ms() + run->cfg->timeout_ms;
    if ((rc = ctr_engine_start(&run->api, run->id, run->err, sizeof(run->err))) != 0)
        return rc;
    run->started = 1;
    if (run->cfg->stdin_event) {
        rc = ctr_attach_send_eof(&run->attach, run->event_text, run->event_len, &written,
                                 ctr_run_stop, run);
        if (rc != 0)
            return rc;
        if (written < run->event_len)
            host->log(host, run->exec, SLUICE_LOG_DEBUG,
                      "the container closed its stdin after %zu of %zu bytes of the event", written,
                      run->event_len);
    }
    rc = ctr_engine_wait(&run->api, run->id, &run->exit_code, run->err, sizeof(run->err));
    if (rc == 0)
        run->exited = 1;
    return rc;
}

/* Whatever happened, what the container printed is worth keeping. */
static void ctr_run_logs(struct ctr_run *run)
{
    const sluice_host *host = run->inst->host;
    int stopped = ctr_run_stopped(run);
    char err[1024];
    int cut = 0;

    ctr_frames_init(&run->frames, ctr_run_emit, run);
    /* After a stop, what it printed is still read, for a few seconds at most:
     * shutdown waits only so long for the execution to end. */
    if (ctr_engine_logs(&run->api, run->id, !stopped,
                        stopped ? CTR_STOPPED_LOGS_MS : CTR_CALL_TIMEOUT_MS, ctr_run_log_sink, run,
                        &cut, err, sizeof(err)) != 0)
        host->log(host, run->exec, SLUICE_LOG_WARN, "%s", err);
    else if (cut)
        host->log(host, run->exec, SLUICE_LOG_WARN,
                  "the container wrote more than %u bytes of output; the rest was not read",
                  CTR_LOG_READ_MAX);
    else if (ctr_frames_partial(&run->frames))
        host->log(host, run->exec, SLUICE_LOG_WARN, "the engine cut the output stream short");
}

static const char *ctr_stop_reason(struct ctr_run *run)
{
    if (run->own_timeout)
        return "its timeout passed";
    switch (run->inst->host->exec_is_cancelled(run->exec)) {
    case SLUICE_CANCEL_NONE:
        return "the run failed";
    case SLUICE_CANCEL_TIMEOUT:
        return "the flow timed out";
    case SLUICE_CANCEL_SHUTDOWN:
        return "sluiced is shutting down";
    default:
        return "the execution was cancelled";
    }
}

static void ctr_run_kill(struct ctr_run *run)
{
    const sluice_host *host = run->inst->host;
    char err[1024];

    if (!run->started || run->exited)
        return;
    if (ctr_engine_kill(&run->api, run->id, err, sizeof(err)) != 0)
        host->log(host, run->exec, SLUICE_LOG_WARN, "%s", err);
    else
        host->log(host, run->exec, SLUICE_LOG_INFO, "killed container %s (%.12s): %s", run->name,
                  run->id, ctr_stop_reason(run));
}

static void ctr_run_remove(struct ctr_run *run)
{
    const sluice_host *host = run->inst->host;
    char err[1024];

    if (!run->created)
        return;
    if (run->cfg->keep) {
        host->log(host, run->exec, SLUICE_LOG_INFO, "kept container %s (%.12s): keep = true",
                  run->name, run->id);
        return;
    }
    if (ctr_engine_remove(&run->api, run->id, err, sizeof(err)) != 0)
        host->log(host, run->exec, SLUICE_LOG_WARN,
                  "%s; the next start of sluiced removes it (label sluice.execution)", err);
}

/* ---- the result ---- */

static void ctr_size_text(int64_t bytes, char *buf, size_t len)
{
    if (bytes % (1024 * 1024) == 0)
        snprintf(buf, len, "%lld MiB", (long long)(bytes / (1024 * 1024)));
    else
        snprintf(buf, len, "%lld bytes", (long long)bytes);
}

/* The error for a run that was stopped from outside or by its own timeout. */
static int ctr_run_stopped_verdict(struct ctr_run *run)
{
    const char *done = run->cfg->keep ? "container killed (kept)"
                                      : "container killed and "
                                        "removed";

    if (run->own_timeout) {
        kit_errf(run->err, sizeof(run->err), "timed out after %ld ms (timeout); %s",
                 run->cfg->timeout_ms, done);
        return SLUICE_ERR;
    }
    switch (run->inst->host->exec_is_cancelled(run->exec)) {
    case SLUICE_CANCEL_TIMEOUT:
        kit_errf(run->err, sizeof(run->err), "timed out; %s", done);
        break;
    case SLUICE_CANCEL_SHUTDOWN:
        kit_errf(run->err, sizeof(run->err), "cancelled: sluiced is shutting down; %s", done);
        break;
    default:
        kit_errf(run->err, sizeof(run->err), "cancelled; %s", done);
        break;
    }
    return SLUICE_ERR;
}

static int ctr_run_verdict(struct ctr_run *run)
{
    const sluice_host *host = run->inst->host;
    char limit[64];

    host->exec_set_exit_code(run->exec, run->exit_code);
    if (run->exit_code == 0)
        return SLUICE_OK;
    if (run->exit_code == CTR_EXIT_SIGKILL && run->cfg->memory > 0) {
        /* OOMKilled is often false even when the kernel's OOM killer did it
         * (Podman, cgroup v1): with a memory limit, 137 is most likely that. */
        int oom = ctr_engine_oom_killed(&run->api, run->id);

        ctr_size_text(run->cfg->memory, limit, sizeof(limit));
        kit_errf(run->err, sizeof(run->err),
                 "exit code 137: killed (%s out of memory; the "
                 "memory limit is %s)",
                 oom ? "the engine says" : "likely", limit);
        return SLUICE_ERR;
    }
    if (run->exit_code == CTR_EXIT_SIGKILL) {
        kit_errf(run->err, sizeof(run->err), "exit code 137: killed (SIGKILL)");
        return SLUICE_ERR;
    }
    kit_errf(run->err, sizeof(run->err), "exit code %d", run->exit_code);
    return SLUICE_ERR;
}

/*
 * Outputs are read whatever the result: a failing container may well have
 * written why. A problem with them fails an otherwise successful execution
 * and is only logged for one that failed anyway (kit_outputs_apply).
 */
static int ctr_run_outputs(struct ctr_run *run, int rc)
{
    return kit_outputs_apply(run->inst->host, run->exec, run->wd.output_path, (uid_t)-1, rc,
                             run->err, sizeof(run->err));
}

static void ctr_run_cleanup(struct ctr_run *run)
{
    char err[PATH_MAX + 128];

    if (run->tracked)
        ctr_instance_untrack(run->inst, &run->running);
    ctr_attach_close(&run->attach);
    if (run->api_open)
        ctr_api_close(&run->api);
    if (ctr_workdir_remove(&run->wd, err, sizeof(err)) != 0)
        run->inst->host->log(run->inst->host, run->exec, SLUICE_LOG_WARN, "%s", err);
    json_decref(run->event);
}

/* Everything after prepare: the container's life, then its remains. */
static int ctr_run_all(struct ctr_run *run, const char *spec)
{
    const sluice_host *host = run->inst->host;
    int64_t t0 = kit_now_ms();
    int rc;

    rc = ctr_run_clear_earlier(run);
    if (rc == 0)
        rc = ctr_run_create(run, spec);
    if (rc == 0) {
        host->log(host, run->exec, SLUICE_LOG_DEBUG, "created container %s (%.12s) in %lld ms",
                  run->name, run->id, (long long)(kit_now_ms() - t0));
        rc = ctr_run_container(run);
    }
    if (rc == CTR_API_CANCELLED || (rc != 0 && ctr_run_stopped(run))) {
        ctr_run_kill(run);
        if (run->started)
            ctr_run_logs(run);
        ctr_run_remove(run);
        return ctr_run_stopped_verdict(run);
    }
    if (rc != 0) {
        ctr_run_kill(run);
        if (run->started)
            ctr_run_logs(run);
        ctr_run_remove(run);
        return SLUICE_ERR;
    }
    ctr_run_logs(run);
    rc = ctr_run_verdict(run);
    rc = ctr_run_outputs(run, rc);
    ctr_run_remove(run);
    host->log(host, run->exec, SLUICE_LOG_DEBUG, "container %s exited %d; %lld ms in all",
              run->name, run->exit_code, (long long)(kit_now_ms() - t0));
    return rc;
}

int ctr_execute(void *instance, sluice_exec *exec)
{
    struct ctr_instance *inst = instance;
    const sluice_host *host = inst->host;
    struct ctr_run *run = calloc(1, sizeof(*run));
    char *spec = NULL;
    int rc = SLUICE_ERR;

    if (!run) {
        host->exec_set_error(exec, "out of memory");
        return SLUICE_ERR;
    }
    run->inst = inst;
    run->cfg = inst->cfg;
    run->exec = exec;
    run->attach.fd = CURL_SOCKET_BAD;
    run->event_text = host->exec_event(exec, &run->event_len);
    if (!run->event_text) {
        kit_errf(run->err, sizeof(run->err), "the host gave no event");
        goto out;
    }
    if (ctr_run_prepare(run, &spec) != 0)
        goto out;
    if (ctr_api_open(&run->api, run->cfg->socket, ctr_run_stop, run, run->err, sizeof(run->err)) !=
        0)
        goto out;
    run->api_open = 1;
    run->running.exec = exec;
    run->running.api = &run->api;
    ctr_instance_track(inst, &run->running);
    run->tracked = 1;
    rc = ctr_run_all(run, spec);
out:
    if (rc != SLUICE_OK)
        host->exec_set_error(exec, run->err[0] ? run->err : "failed");
    ctr_run_cleanup(run);
    if (spec)
        explicit_bzero(spec, strlen(spec)); /* it holds the secrets */
    free(spec);
    free(run);
    return rc;
}
