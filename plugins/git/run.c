/*
 * run.c - one execution of the git executor.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The steps, each of which can fail the execution with a clear message:
 * bring the mirror up to date as the flow's fetch policy says (a failed
 * fetch falls back to the last commit fetched, with a warning); resolve
 * the ref to one commit; take the immutable checkout of that commit;
 * confine the script (and cwd) to it; then run the script exactly as the
 * shell executor runs a command (plugins/kit's template and its command
 * code: env, workdir, spawn and supervise), with SLUICE_GIT_COMMIT,
 * SLUICE_GIT_REF and SLUICE_GIT_DIR added; finally
 * record the commit as meta ("git.commit", "git.ref") and in the outputs
 * ("git": {"commit", "ref", ...}).
 */
#define _GNU_SOURCE
#include "git.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "confine.h"
#include "kit/command/env.h"
#include "kit/outputs.h"
#include "kit/command/payload.h"
#include "kit/command/proc.h"
#include "kit/kit.h"
#include "kit/command/workdir.h"
#include "worktree.h"

/* As the shell executor: how long to read after the command exited. */
#define GITEXEC_DRAIN_MS 250

struct gitexec_run {
    struct gitexec_instance *inst;
    sluice_exec *exec;
    json_t *event;
    char sha[41]; /* "" until the ref is resolved */
    const char *kind;
    char root[PATH_MAX]; /* the checkout */
    int acquired;
    char script[PATH_MAX];
    char cwd[PATH_MAX];
    char warning[1536];
    char **argv;
    size_t argc;
    char *body;
    size_t body_len;
    struct kit_workdir wd;
    char **envp;
    char path[PATH_MAX];
    struct gitexec_running running;
    int tracked;
    char err[SLUICE_MAX_ERROR];
};

static int gitexec_run_cancelled(void *ctx)
{
    struct gitexec_run *run = ctx;

    return run->inst->host->exec_is_cancelled(run->exec);
}

static void gitexec_run_output(void *ctx, int stream, const char *data, size_t len)
{
    struct gitexec_run *run = ctx;

    run->inst->host->exec_write_log(run->exec, stream, data, len);
}

static void gitexec_run_note(void *ctx, int level, const char *msg)
{
    struct gitexec_run *run = ctx;

    run->inst->host->log(run->inst->host, run->exec, level, "%s", msg);
}

/* ---- the commit ---- */

static int gitexec_run_fetch(struct gitexec_run *run, char *ferr, size_t ferrlen)
{
    const struct gitexec_settings *cfg = run->inst->cfg;
    struct gitexec_fetch_req req = {&cfg->auth, gitexec_run_cancelled, run};
    struct timespec t0, t1;
    int shared = 0, rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = gitexec_mirror_fetch(run->inst->mirror, &req, &shared, ferr, ferrlen);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    run->inst->host->log(
        run->inst->host, run->exec, rc == 0 ? SLUICE_LOG_DEBUG : SLUICE_LOG_WARN,
        "git: %s from %s %s in %.2f ms%s%s", shared ? "shared the fetch in progress" : "fetch",
        cfg->url_label, rc == 0 ? "done" : "failed",
        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
        rc == 0 ? "" : ": ", rc == 0 ? "" : ferr);
    return rc;
}

/* Whether the fetch policy asks for a fetch before this execution. */
static int gitexec_run_wants_fetch(struct gitexec_run *run)
{
    const struct gitexec_settings *cfg = run->inst->cfg;
    int64_t last;
    char ignored[8];

    if (gitexec_ref_is_sha(cfg->ref) && gitexec_mirror_has_commit(run->inst->mirror, cfg->ref))
        return 0; /* a commit never changes: nothing to fetch */
    switch (cfg->fetch) {
    case GITEXEC_FETCH_ALWAYS:
        return 1;
    case GITEXEC_FETCH_INTERVAL:
        last = gitexec_mirror_last_fetch(run->inst->mirror, ignored, sizeof(ignored));
        return last == 0 || kit_now_ms() - last >= cfg->fetch_interval_ms;
    default:
        return 0;
    }
}

/*
 * Resolve the flow's ref to a commit, fetching as the policy says, and
 * once more when the ref is missing (a new tag, a pinned commit the mirror
 * lacks, or a mirror that does not exist yet), whatever the policy.
 */
static int gitexec_run_resolve(struct gitexec_run *run)
{
    const struct gitexec_settings *cfg = run->inst->cfg;
    struct gitexec_mirror *m = run->inst->mirror;
    char ferr[1024] = "", rerr[512] = "", branches[512];
    int fetched = 0, fetch_rc = 0, rc;

    if (gitexec_run_wants_fetch(run)) {
        fetch_rc = gitexec_run_fetch(run, ferr, sizeof(ferr));
        fetched = 1;
    }
    rc = gitexec_mirror_resolve(m, cfg->ref, run->sha, &run->kind, rerr, sizeof(rerr));
    if ((rc == GITEXEC_NOT_FOUND || rc == GITEXEC_NO_MIRROR) && !fetched) {
        fetch_rc = gitexec_run_fetch(run, ferr, sizeof(ferr));
        fetched = 1;
        rc = gitexec_mirror_resolve(m, cfg->ref, run->sha, &run->kind, rerr, sizeof(rerr));
    }
    if (rc == GITEXEC_RESOLVED) {
        if (fetched && fetch_rc != 0) {
            kit_errf(run->warning, sizeof(run->warning),
                     "the fetch from %s failed (%s); running commit %s, the last one fetched",
                     cfg->url_label, ferr, run->sha);
        } else if (!fetched && cfg->fetch == GITEXEC_FETCH_INTERVAL) {
            int64_t at = gitexec_mirror_last_fetch(m, ferr, sizeof(ferr));

            if (ferr[0] != '\0')
                kit_errf(run->warning, sizeof(run->warning),
                         "the last fetch from %s (%lld s ago) failed (%s); running commit %s, "
                         "the last one fetched",
                         cfg->url_label, (long long)((kit_now_ms() - at) / 1000), ferr, run->sha);
        }
        if (run->warning[0] != '\0')
            run->inst->host->log(run->inst->host, run->exec, SLUICE_LOG_WARN, "git: %s",
                                 run->warning);
        return 0;
    }
    run->sha[0] = '\0';
    if (rc == GITEXEC_NO_MIRROR) {
        kit_errf(run->err, sizeof(run->err), "no commit was ever fetched from %s: %s",
                 cfg->url_label, ferr[0] ? ferr : "the repository has no branch or tag");
    } else if (rc == GITEXEC_NOT_FOUND) {
        gitexec_mirror_branches(m, branches, sizeof(branches), 8);
        kit_errf(run->err, sizeof(run->err),
                 "ref \"%s\" not found in %s (no such branch, tag or commit; branches: %s)%s%s",
                 cfg->ref, cfg->url_label, branches[0] ? branches : "none",
                 fetch_rc != 0 ? "; the fetch failed: " : "", fetch_rc != 0 ? ferr : "");
    } else {
        kit_errf(run->err, sizeof(run->err), "%s", rerr);
    }
    return -1;
}

/* The checkout, and the script and cwd confined to it. */
static int gitexec_run_checkout(struct gitexec_run *run)
{
    const struct gitexec_settings *cfg = run->inst->cfg;
    char why[PATH_MAX + 128];

    if (gitexec_wt_acquire(run->inst->mirror, run->sha, &run->inst->pin, gitexec_run_cancelled, run,
                           run->root, sizeof(run->root), run->err, sizeof(run->err)) != 0)
        return -1;
    run->acquired = 1;
    if (gitexec_confine(run->root, cfg->script, GITEXEC_WANT_FILE, run->script, sizeof(run->script),
                        why, sizeof(why)) != 0) {
        kit_errf(run->err, sizeof(run->err), "script \"%s\" %s at commit %s (%s \"%s\") of %s",
                 cfg->script, why, run->sha, run->kind, cfg->ref, cfg->url_label);
        return -1;
    }
    if (cfg->script_index == 0 && access(run->script, X_OK) != 0) {
        kit_errf(run->err, sizeof(run->err),
                 "script \"%s\" is not executable at commit %s: commit it with mode 100755 "
                 "(git update-index --chmod=+x %s) or set interpreter",
                 cfg->script, run->sha, cfg->script);
        return -1;
    }
    if (gitexec_confine(run->root, cfg->cwd ? cfg->cwd : ".", GITEXEC_WANT_DIR, run->cwd,
                        sizeof(run->cwd), why, sizeof(why)) != 0) {
        kit_errf(run->err, sizeof(run->err), "cwd \"%s\" %s at commit %s of %s",
                 cfg->cwd ? cfg->cwd : ".", why, run->sha, cfg->url_label);
        return -1;
    }
    return 0;
}

/* ---- the command, as the shell executor builds it ---- */

static int gitexec_run_argv(struct gitexec_run *run)
{
    const struct kit_settings *sh = run->inst->cfg->shell;
    size_t idx = run->inst->cfg->script_index;

    run->argv = calloc(sh->argc + 1, sizeof(*run->argv));
    if (!run->argv)
        goto nomem;
    for (size_t i = 0; i < sh->argc; i++) {
        size_t len;

        if (i == idx) {
            if (!(run->argv[i] = strdup(run->script)))
                goto nomem;
            run->argc++;
            continue;
        }
        if (kit_template_render(sh->argv[i], run->event, &run->argv[i], &len) != 0)
            goto nomem;
        run->argc++;
        if (strlen(run->argv[i]) != len) {
            kit_errf(run->err, sizeof(run->err),
                     "argv[%zu] (\"%s\") would contain a NUL byte, which an argument cannot "
                     "carry",
                     i - idx - 1, kit_template_source(sh->argv[i]));
            return -1;
        }
    }
    return 0;
nomem:
    kit_errf(run->err, sizeof(run->err), "out of memory");
    return -1;
}

static int gitexec_env_add(char ***envp, const char *name, const char *value)
{
    size_t n = 0;
    char **grown, *entry;

    while ((*envp)[n])
        n++;
    if (asprintf(&entry, "%s=%s", name, value) < 0)
        return -1;
    grown = realloc(*envp, (n + 2) * sizeof(*grown));
    if (!grown) {
        free(entry);
        return -1;
    }
    grown[n] = entry;
    grown[n + 1] = NULL;
    *envp = grown;
    return 0;
}

/* A program named without '/' is looked up in the command's PATH. */
static int gitexec_run_find_program(struct gitexec_run *run)
{
    const char *name = run->argv[0];
    const char *path = kit_env_get(run->envp, "PATH");
    struct stat st;

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
            stat(run->path, &st) == 0 && S_ISREG(st.st_mode) && access(run->path, X_OK) == 0)
            return 0;
        p += n + (colon ? 1 : 0);
    }
    kit_errf(run->err, sizeof(run->err), "cannot run \"%s\": not found in PATH=%s", name,
             path ? path : "");
    return -1;
}

static int gitexec_run_prepare(struct gitexec_run *run, const char *event_text, size_t event_len)
{
    const sluice_host *host = run->inst->host;
    const struct gitexec_settings *cfg = run->inst->cfg;
    const struct kit_settings *sh = cfg->shell;
    struct kit_env_facts facts;

    if (gitexec_run_argv(run) != 0)
        return -1;
    if (kit_payload_stdin(sh, host, run->exec, run->event, event_text, event_len, &run->body,
                          &run->body_len, run->err, sizeof(run->err)) != 0)
        return -1;
    if (kit_workdir_create(&run->wd, sh->tmpdir, event_text, event_len, &sh->runas, run->err,
                           sizeof(run->err)) != 0)
        return -1;
    facts.execution_id = host->exec_meta(run->exec, "execution_id");
    facts.flow = host->exec_meta(run->exec, "flow");
    facts.trigger = host->exec_meta(run->exec, "trigger");
    facts.function = host->exec_meta(run->exec, "function");
    facts.request_id = host->exec_meta(run->exec, "request_id");
    facts.event_path = run->wd.event_path;
    facts.output_path = run->wd.output_path;
    run->envp = kit_env_build(sh, run->event, &facts, run->err, sizeof(run->err));
    if (!run->envp)
        return -1;
    /* env may not name SLUICE_* variables, so these cannot be overridden. */
    if (gitexec_env_add(&run->envp, "SLUICE_GIT_COMMIT", run->sha) != 0 ||
        gitexec_env_add(&run->envp, "SLUICE_GIT_REF", cfg->ref) != 0 ||
        gitexec_env_add(&run->envp, "SLUICE_GIT_DIR", run->root) != 0) {
        kit_errf(run->err, sizeof(run->err), "out of memory");
        return -1;
    }
    return gitexec_run_find_program(run);
}

/* ---- the result ---- */

static const char *gitexec_cancel_text(int reason)
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

static int gitexec_run_verdict(struct gitexec_run *run, const struct kit_outcome *oc)
{
    const sluice_host *host = run->inst->host;
    const struct kit_settings *sh = run->inst->cfg->shell;
    const char *abbrev;
    int code = -1;

    if (!oc->reaped) {
        kit_errf(run->err, sizeof(run->err),
                 "the script's exit status was lost: it was reaped elsewhere");
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
                 gitexec_cancel_text(oc->cancel_reason));
        return SLUICE_ERR;
    }
    if (WIFSIGNALED(oc->status)) {
        abbrev = sigabbrev_np(WTERMSIG(oc->status));
        kit_errf(run->err, sizeof(run->err), "killed by signal %d%s%s%s", WTERMSIG(oc->status),
                 abbrev ? " (SIG" : "", abbrev ? abbrev : "", abbrev ? ")" : "");
        return SLUICE_ERR;
    }
    for (size_t i = 0; i < sh->nsuccess; i++)
        if (sh->success_codes[i] == code)
            return SLUICE_OK;
    kit_errf(run->err, sizeof(run->err), "exit code %d", code);
    return SLUICE_ERR;
}

/*
 * Outputs are the script's ($SLUICE_OUTPUT, read as the shell executor
 * reads it) plus "git": which commit ran. They are set whenever the commit
 * is known, also for a failed execution, so a failure names its commit.
 */
static int gitexec_run_outputs(struct gitexec_run *run, int rc, int ran)
{
    const sluice_host *host = run->inst->host;
    const struct gitexec_settings *cfg = run->inst->cfg;
    const struct kit_runas *ra = &cfg->shell->runas;
    json_t *obj = NULL, *git;
    char msg[512], *text;

    if (ran && kit_outputs_load(run->wd.output_path, ra->change_uid ? ra->uid : (uid_t)-1, &obj,
                                msg, sizeof(msg)) != 0) {
        if (rc == SLUICE_OK) {
            snprintf(run->err, sizeof(run->err), "%s", msg);
            rc = SLUICE_ERR;
        } else {
            host->log(host, run->exec, SLUICE_LOG_WARN, "%s", msg);
        }
    }
    if (!obj)
        obj = json_object();
    if (json_object_get(obj, "git"))
        host->log(host, run->exec, SLUICE_LOG_WARN,
                  "git: the script's output \"git\" is replaced by the commit record");
    git = json_pack("{s:s, s:s, s:s}", "commit", run->sha, "ref", cfg->ref, "ref_kind",
                    run->kind ? run->kind : "unknown");
    if (git && run->warning[0] != '\0')
        json_object_set_new(git, "warning", json_string(run->warning));
    json_object_set_new(obj, "git", git);
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text || host->exec_set_output(run->exec, text, strlen(text)) != 0) {
        if (rc == SLUICE_OK) {
            snprintf(run->err, sizeof(run->err),
                     "outputs refused by the host (%zu bytes of JSON; the limit is %u)",
                     text ? strlen(text) : 0, SLUICE_MAX_OUTPUT);
            rc = SLUICE_ERR;
        }
    }
    free(text);
    return rc;
}

/*
 * Which commit runs is a fact about the execution, not something the script
 * produced: with ABI 1.1 it is recorded as meta ("git.commit", "git.ref"),
 * in the document under "meta" from the moment it is known, while the
 * script still runs, and kept with the execution. The outputs carry it too
 * (see gitexec_run_outputs), for readers of the outputs and 1.0 hosts.
 */
static void gitexec_run_record_meta(struct gitexec_run *run)
{
    const sluice_host *host = run->inst->host;

    if (!SLUICE_HOST_HAS(host, exec_set_meta))
        return;
    if (host->exec_set_meta(run->exec, "git.commit", run->sha) != 0 ||
        host->exec_set_meta(run->exec, "git.ref", run->inst->cfg->ref) != 0)
        host->log(host, run->exec, SLUICE_LOG_WARN, "git: the host refused the commit record");
}

static void gitexec_run_cleanup(struct gitexec_run *run)
{
    if (run->tracked)
        gitexec_instance_untrack(run->inst, &run->running);
    if (run->running.wake_fd >= 0)
        close(run->running.wake_fd);
    if (run->acquired)
        gitexec_wt_release(run->inst->mirror, run->sha);
    kit_workdir_remove(&run->wd);
    kit_env_free(run->envp);
    for (size_t i = 0; run->argv && i <= run->argc; i++)
        free(run->argv[i]);
    free(run->argv);
    free(run->body);
    json_decref(run->event);
}

static int gitexec_run_command(struct gitexec_run *run, const char *event_text, size_t event_len)
{
    const sluice_host *host = run->inst->host;
    const struct gitexec_settings *cfg = run->inst->cfg;
    const struct kit_settings *sh = cfg->shell;
    struct kit_spawn_req req;
    struct kit_watch watch;
    struct kit_outcome oc;
    struct kit_proc proc;
    int cancelled;

    if ((cancelled = host->exec_is_cancelled(run->exec)) != SLUICE_CANCEL_NONE) {
        kit_errf(run->err, sizeof(run->err), "%s before the script started",
                 gitexec_cancel_text(cancelled));
        return SLUICE_ERR;
    }
    run->running.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    gitexec_instance_track(run->inst, &run->running);
    run->tracked = 1;
    req = (struct kit_spawn_req){
        .path = run->path,
        .argv = run->argv,
        .envp = run->envp,
        .cwd = run->cwd,
        .runas = &sh->runas,
        .stdin_pipe = sh->stdin_mode != KIT_STDIN_NONE,
        .groups = run->inst->groups,
        .exec_id = host->exec_meta(run->exec, "execution_id"),
    };
    if (kit_spawn_start(&req, &proc, run->err, sizeof(run->err)) != 0)
        return SLUICE_ERR;
    host->log(host, run->exec, SLUICE_LOG_INFO,
              "git: running %s at commit %s (%s \"%s\") as pid %d", cfg->script, run->sha,
              run->kind, cfg->ref, (int)proc.pid);
    watch = (struct kit_watch){
        .stdin_data = run->body ? run->body : event_text,
        .stdin_len = run->body                           ? run->body_len
                     : sh->stdin_mode == KIT_STDIN_EVENT ? event_len
                                                         : 0,
        .kill_grace_ms = sh->kill_grace_ms,
        .drain_ms = GITEXEC_DRAIN_MS,
        .wake_fd = run->running.wake_fd,
        .cancelled = gitexec_run_cancelled,
        .output = gitexec_run_output,
        .note = gitexec_run_note,
        .ctx = run,
    };
    kit_supervise(&proc, &watch, &oc);
    return gitexec_run_verdict(run, &oc);
}

int gitexec_execute(void *instance, sluice_exec *exec)
{
    struct gitexec_instance *inst = instance;
    const sluice_host *host = inst->host;
    struct gitexec_run *run = calloc(1, sizeof(*run));
    const char *event_text;
    size_t event_len = 0;
    int rc = SLUICE_ERR, ran = 0;

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
    if (kit_payload_event(inst->cfg->shell, event_text, event_len, &run->event, run->err,
                          sizeof(run->err)) != 0)
        goto out;
    if (gitexec_run_resolve(run) != 0)
        goto out;
    gitexec_run_record_meta(run);
    if (gitexec_run_checkout(run) != 0 || gitexec_run_prepare(run, event_text, event_len) != 0)
        goto record;
    rc = gitexec_run_command(run, event_text, event_len);
    ran = 1;
record:
    rc = gitexec_run_outputs(run, rc, ran);
out:
    if (rc != SLUICE_OK)
        host->exec_set_error(exec, run->err[0] ? run->err : "failed");
    gitexec_run_cleanup(run);
    free(run);
    return rc;
}
