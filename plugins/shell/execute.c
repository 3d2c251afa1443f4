/*
 * execute.c - one execution of the shell executor.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The steps, each of which can fail the execution with a clear message:
 * parse the event; render argv (or take /bin/sh -c script as it is);
 * prepare stdin; make the private directory with $SLUICE_EVENT and
 * $SLUICE_OUTPUT; build the clean environment; find the program; start it;
 * supervise it to the end; turn its exit status into the result and its
 * $SLUICE_OUTPUT into outputs; remove the directory. Everything lives in
 * one struct shell_run so that a single cleanup path frees it all.
 */
#define _GNU_SOURCE
#include "shell.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "kit/command/env.h"
#include "kit/outputs.h"
#include "kit/command/payload.h"
#include "kit/command/proc.h"
#include "kit/kit.h"
#include "kit/command/workdir.h"

/* How long to keep reading after the command exited, for pipes still held
 * by something it left behind, before its process group is killed. */
#define SHELL_DRAIN_MS 250

struct shell_run {
    struct shell_instance *inst;
    sluice_exec *exec;
    json_t *event;
    char **argv;
    size_t argc;
    char *body; /* stdin = "body" or "raw" */
    size_t body_len;
    struct kit_workdir wd;
    char **envp;
    char path[PATH_MAX];
    struct shell_running running;
    int tracked;
    char err[SLUICE_MAX_ERROR];
};

/* ---- callbacks from the supervisor, forwarded to the host ---- */

static int shell_run_cancelled(void *ctx)
{
    struct shell_run *run = ctx;

    return run->inst->host->exec_is_cancelled(run->exec);
}

static void shell_run_output(void *ctx, int stream, const char *data, size_t len)
{
    struct shell_run *run = ctx;

    run->inst->host->exec_write_log(run->exec, stream, data, len);
}

static void shell_run_note(void *ctx, int level, const char *msg)
{
    struct shell_run *run = ctx;

    run->inst->host->log(run->inst->host, run->exec, level, "%s", msg);
}

/* ---- preparation ---- */

static int shell_run_argv(struct shell_run *run)
{
    const struct kit_settings *cfg = run->inst->cfg;

    if (cfg->script) {
        run->argv = calloc(4, sizeof(*run->argv));
        if (!run->argv)
            goto nomem;
        run->argc = 3;
        if (!(run->argv[0] = strdup("/bin/sh")) || !(run->argv[1] = strdup("-c")) ||
            !(run->argv[2] = strdup(cfg->script)))
            goto nomem;
        return 0;
    }
    run->argv = calloc(cfg->argc + 1, sizeof(*run->argv));
    if (!run->argv)
        goto nomem;
    for (size_t i = 0; i < cfg->argc; i++) {
        size_t len;

        if (kit_template_render(cfg->argv[i], run->event, &run->argv[i], &len) != 0)
            goto nomem;
        run->argc++;
        if (strlen(run->argv[i]) != len) {
            kit_errf(run->err, sizeof(run->err),
                     "argv[%zu] (\"%s\") would contain a NUL byte, which an argument cannot "
                     "carry",
                     i, kit_template_source(cfg->argv[i]));
            return -1;
        }
    }
    return 0;

nomem:
    kit_errf(run->err, sizeof(run->err), "out of memory");
    return -1;
}

static int shell_is_executable_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/*
 * A program named without a '/' is looked up in the PATH the command will
 * have (not sluiced's), as execvp would. Only absolute PATH entries count:
 * a relative one would depend on the working directory of the moment.
 */
static int shell_run_find_program(struct shell_run *run)
{
    const char *name = run->argv[0];
    const char *path = kit_env_get(run->envp, "PATH");

    if (strchr(name, '/')) {
        snprintf(run->path, sizeof(run->path), "%s", name);
        return 0;
    }
    for (const char *p = path ? path : ""; *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);

        if (n > 0 && p[0] == '/' &&
            snprintf(run->path, sizeof(run->path), "%.*s/%s", (int)n, p, name) <
                (int)sizeof(run->path) &&
            shell_is_executable_file(run->path))
            return 0;
        p += n + (colon ? 1 : 0);
    }
    kit_errf(run->err, sizeof(run->err), "cannot run \"%s\": not found in PATH=%s", name,
             path ? path : "");
    return -1;
}

static int shell_run_prepare(struct shell_run *run, const char *event_text, size_t event_len)
{
    const sluice_host *host = run->inst->host;
    const struct kit_settings *cfg = run->inst->cfg;
    struct kit_env_facts facts;

    if (kit_payload_event(cfg, event_text, event_len, &run->event, run->err, sizeof(run->err)) != 0)
        return -1;
    if (shell_run_argv(run) != 0)
        return -1;
    if (kit_payload_stdin(cfg, host, run->exec, run->event, event_text, event_len, &run->body,
                          &run->body_len, run->err, sizeof(run->err)) != 0)
        return -1;
    if (kit_workdir_create(&run->wd, cfg->tmpdir, event_text, event_len, &cfg->runas, run->err,
                           sizeof(run->err)) != 0)
        return -1;
    facts.execution_id = host->exec_meta(run->exec, "execution_id");
    facts.flow = host->exec_meta(run->exec, "flow");
    facts.trigger = host->exec_meta(run->exec, "trigger");
    facts.function = host->exec_meta(run->exec, "function");
    facts.request_id = host->exec_meta(run->exec, "request_id");
    facts.event_path = run->wd.event_path;
    facts.output_path = run->wd.output_path;
    run->envp = kit_env_build(cfg, run->event, &facts, run->err, sizeof(run->err));
    if (!run->envp)
        return -1;
    return shell_run_find_program(run);
}

/* ---- the result ---- */

static const char *shell_signal_name(int sig, char *buf, size_t len)
{
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev)
        snprintf(buf, len, " (SIG%s)", abbrev);
    else
        buf[0] = '\0';
    return buf;
}

static int shell_code_ok(const struct kit_settings *cfg, int code)
{
    for (size_t i = 0; i < cfg->nsuccess; i++)
        if (cfg->success_codes[i] == code)
            return 1;
    return 0;
}

static const char *shell_cancel_text(int reason)
{
    switch (reason) {
    case SLUICE_CANCEL_TIMEOUT:
        return "timed out";
    case SLUICE_CANCEL_SHUTDOWN:
        return "cancelled: sluiced is shutting down";
    default:
        return "cancelled";
    }
}

/* Exit status and cancel reason to SLUICE_OK/SLUICE_ERR, with the message. */
static int shell_run_verdict(struct shell_run *run, const struct kit_outcome *oc)
{
    const sluice_host *host = run->inst->host;
    char sig[32];
    int code = -1;

    if (!oc->reaped) {
        kit_errf(run->err, sizeof(run->err),
                 "the command's exit status was lost: it was reaped elsewhere (sluiced must "
                 "not ignore SIGCHLD)");
        return SLUICE_ERR;
    }
    if (WIFEXITED(oc->status))
        code = WEXITSTATUS(oc->status);
    else if (WIFSIGNALED(oc->status))
        code = 128 + WTERMSIG(oc->status);
    if (code >= 0)
        host->exec_set_exit_code(run->exec, code);
    if (oc->cancel_reason != SLUICE_CANCEL_NONE) {
        kit_errf(run->err, sizeof(run->err), "%s; process group killed",
                 shell_cancel_text(oc->cancel_reason));
        return SLUICE_ERR;
    }
    if (WIFSIGNALED(oc->status)) {
        kit_errf(run->err, sizeof(run->err), "killed by signal %d%s", WTERMSIG(oc->status),
                 shell_signal_name(WTERMSIG(oc->status), sig, sizeof(sig)));
        return SLUICE_ERR;
    }
    if (!shell_code_ok(run->inst->cfg, code)) {
        kit_errf(run->err, sizeof(run->err), "exit code %d", code);
        return SLUICE_ERR;
    }
    return SLUICE_OK;
}

/*
 * Outputs are read whatever the result: a failing command may well have
 * written why. A problem with them fails an otherwise successful execution
 * (the flow relies on them) and is only logged for one that failed anyway,
 * so the first error stays the one reported.
 */
static int shell_run_outputs(struct shell_run *run, int rc)
{
    const sluice_host *host = run->inst->host;
    const struct kit_runas *ra = &run->inst->cfg->runas;
    char msg[512];
    json_t *obj = NULL;
    char *text = NULL;

    if (kit_outputs_load(run->wd.output_path, ra->change_uid ? ra->uid : (uid_t)-1, &obj, msg,
                         sizeof(msg)) != 0)
        goto bad;
    if (!obj)
        return rc;
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text) {
        snprintf(msg, sizeof(msg), "out of memory");
        goto bad;
    }
    if (host->exec_set_output(run->exec, text, strlen(text)) != 0) {
        snprintf(msg, sizeof(msg),
                 "outputs refused by the host (%zu bytes of JSON; the limit is "
                 "%u)",
                 strlen(text), SLUICE_MAX_OUTPUT);
        free(text);
        goto bad;
    }
    free(text);
    return rc;

bad:
    if (rc == SLUICE_OK) {
        snprintf(run->err, sizeof(run->err), "%s", msg);
        return SLUICE_ERR;
    }
    host->log(host, run->exec, SLUICE_LOG_WARN, "%s", msg);
    return rc;
}

static void shell_run_cleanup(struct shell_run *run)
{
    if (run->tracked)
        shell_instance_untrack(run->inst, &run->running);
    if (run->running.wake_fd >= 0)
        close(run->running.wake_fd);
    kit_workdir_remove(&run->wd);
    kit_env_free(run->envp);
    for (size_t i = 0; run->argv && i <= run->argc; i++)
        free(run->argv[i]);
    free(run->argv);
    free(run->body);
    json_decref(run->event);
}

int shell_execute(void *instance, sluice_exec *exec)
{
    struct shell_instance *inst = instance;
    const sluice_host *host = inst->host;
    const struct kit_settings *cfg = inst->cfg;
    struct shell_run *run = calloc(1, sizeof(*run));
    struct kit_spawn_req req;
    struct kit_watch watch;
    struct kit_outcome oc;
    struct kit_proc proc;
    const char *event_text;
    size_t event_len = 0;
    int rc = SLUICE_ERR;
    int cancelled;

    if (!run) {
        host->exec_set_error(exec, "out of memory");
        return SLUICE_ERR;
    }
    run->inst = inst;
    run->exec = exec;
    run->running.exec = exec;
    run->running.wake_fd = -1;
    event_text = host->exec_event(exec, &event_len);
    if (!event_text) {
        kit_errf(run->err, sizeof(run->err), "the host gave no event");
        goto out;
    }
    if (shell_run_prepare(run, event_text, event_len) != 0)
        goto out;
    /* A timeout may pass while the execution waited in the queue. */
    if ((cancelled = host->exec_is_cancelled(exec)) != SLUICE_CANCEL_NONE) {
        kit_errf(run->err, sizeof(run->err), "%s before the command started",
                 shell_cancel_text(cancelled));
        goto out;
    }

    run->running.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    shell_instance_track(inst, &run->running);
    run->tracked = 1;

    req = (struct kit_spawn_req){
        .path = run->path,
        .argv = run->argv,
        .envp = run->envp,
        .cwd = cfg->cwd,
        .runas = &cfg->runas,
        .stdin_pipe = cfg->stdin_mode != KIT_STDIN_NONE,
        .groups = inst->groups,
        .exec_id = host->exec_meta(exec, "execution_id"),
    };
    if (kit_spawn_start(&req, &proc, run->err, sizeof(run->err)) != 0)
        goto out;
    host->log(host, exec, SLUICE_LOG_DEBUG, "started %s as pid %d", run->path, (int)proc.pid);

    watch = (struct kit_watch){
        .stdin_data = run->body ? run->body : event_text,
        .stdin_len = run->body                            ? run->body_len
                     : cfg->stdin_mode == KIT_STDIN_EVENT ? event_len
                                                          : 0,
        .kill_grace_ms = cfg->kill_grace_ms,
        .drain_ms = SHELL_DRAIN_MS,
        .wake_fd = run->running.wake_fd,
        .cancelled = shell_run_cancelled,
        .output = shell_run_output,
        .note = shell_run_note,
        .ctx = run,
    };
    kit_supervise(&proc, &watch, &oc);

    rc = shell_run_verdict(run, &oc);
    rc = shell_run_outputs(run, rc);
out:
    if (rc != SLUICE_OK)
        host->exec_set_error(exec, run->err[0] ? run->err : "failed");
    shell_run_cleanup(run);
    free(run);
    return rc;
}
