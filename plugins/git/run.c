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
 * shell executor runs a command (plugins/kit's command runner,
 * kit/command/command.c), with SLUICE_GIT_COMMIT, SLUICE_GIT_REF and
 * SLUICE_GIT_DIR added; finally
 * record the commit as meta ("git.commit", "git.ref") and in the outputs
 * ("git": {"commit", "ref", ...}).
 */
#define _GNU_SOURCE
#include "git.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "confine.h"
#include "kit/command/command.h"
#include "kit/kit.h"
#include "worktree.h"

/* As the shell executor: how long to read after the command exited. */
#define GITEXEC_DRAIN_MS 250

struct gitexec_run {
    struct gitexec_instance *inst;
    sluice_exec *exec;
    char sha[41]; /* "" until the ref is resolved */
    const char *kind;
    char root[PATH_MAX]; /* the checkout */
    int acquired;
    char script[PATH_MAX];
    char cwd[PATH_MAX];
    char warning[1536];
    const char *extra_env[7]; /* SLUICE_GIT_* for the command */
    struct gitexec_running running;
    struct kit_command cmd; /* the script's run; cmd.err is the execution's */
};

static int gitexec_run_cancelled(void *ctx)
{
    struct gitexec_run *run = ctx;

    return run->inst->host->exec_is_cancelled(run->exec);
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
        kit_errf(run->cmd.err, sizeof(run->cmd.err), "no commit was ever fetched from %s: %s",
                 cfg->url_label, ferr[0] ? ferr : "the repository has no branch or tag");
    } else if (rc == GITEXEC_NOT_FOUND) {
        gitexec_mirror_branches(m, branches, sizeof(branches), 8);
        kit_errf(run->cmd.err, sizeof(run->cmd.err),
                 "ref \"%s\" not found in %s (no such branch, tag or commit; branches: %s)%s%s",
                 cfg->ref, cfg->url_label, branches[0] ? branches : "none",
                 fetch_rc != 0 ? "; the fetch failed: " : "", fetch_rc != 0 ? ferr : "");
    } else {
        kit_errf(run->cmd.err, sizeof(run->cmd.err), "%s", rerr);
    }
    return -1;
}

/* The checkout, and the script and cwd confined to it. */
static int gitexec_run_checkout(struct gitexec_run *run)
{
    const struct gitexec_settings *cfg = run->inst->cfg;
    char why[PATH_MAX + 128];

    if (gitexec_wt_acquire(run->inst->mirror, run->sha, &run->inst->pin, gitexec_run_cancelled, run,
                           run->root, sizeof(run->root), run->cmd.err, sizeof(run->cmd.err)) != 0)
        return -1;
    run->acquired = 1;
    if (gitexec_confine(run->root, cfg->script, GITEXEC_WANT_FILE, run->script, sizeof(run->script),
                        why, sizeof(why)) != 0) {
        kit_errf(run->cmd.err, sizeof(run->cmd.err),
                 "script \"%s\" %s at commit %s (%s \"%s\") of %s", cfg->script, why, run->sha,
                 run->kind, cfg->ref, cfg->url_label);
        return -1;
    }
    if (cfg->script_index == 0 && access(run->script, X_OK) != 0) {
        kit_errf(run->cmd.err, sizeof(run->cmd.err),
                 "script \"%s\" is not executable at commit %s: commit it with mode 100755 "
                 "(git update-index --chmod=+x %s) or set interpreter",
                 cfg->script, run->sha, cfg->script);
        return -1;
    }
    if (gitexec_confine(run->root, cfg->cwd ? cfg->cwd : ".", GITEXEC_WANT_DIR, run->cwd,
                        sizeof(run->cwd), why, sizeof(why)) != 0) {
        kit_errf(run->cmd.err, sizeof(run->cmd.err), "cwd \"%s\" %s at commit %s of %s",
                 cfg->cwd ? cfg->cwd : ".", why, run->sha, cfg->url_label);
        return -1;
    }
    return 0;
}

/* ---- the command, run by plugins/kit's runner ---- */

static void gitexec_run_track(void *ctx, int wake_fd)
{
    struct gitexec_run *run = ctx;

    run->running.wake_fd = wake_fd;
    gitexec_instance_track(run->inst, &run->running);
}

static void gitexec_run_untrack(void *ctx)
{
    struct gitexec_run *run = ctx;

    gitexec_instance_untrack(run->inst, &run->running);
}

static void gitexec_run_started(void *ctx, const struct kit_command *cmd, pid_t pid)
{
    struct gitexec_run *run = ctx;
    const struct gitexec_settings *cfg = run->inst->cfg;

    cmd->host->log(cmd->host, cmd->exec, SLUICE_LOG_INFO,
                   "git: running %s at commit %s (%s \"%s\") as pid %d", cfg->script, run->sha,
                   run->kind, cfg->ref, (int)pid);
}

/* The script in argv's slot, the checkout as cwd, and the commit in env. */
static int gitexec_run_prepare(struct gitexec_run *run)
{
    const struct gitexec_settings *cfg = run->inst->cfg;

    run->extra_env[0] = "SLUICE_GIT_COMMIT";
    run->extra_env[1] = run->sha;
    run->extra_env[2] = "SLUICE_GIT_REF";
    run->extra_env[3] = cfg->ref;
    run->extra_env[4] = "SLUICE_GIT_DIR";
    run->extra_env[5] = run->root;
    run->extra_env[6] = NULL;
    run->cmd.slot = cfg->script_index;
    run->cmd.slot_value = run->script;
    run->cmd.cwd = run->cwd;
    run->cmd.extra_env = run->extra_env;
    return kit_command_prepare(&run->cmd);
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
    json_t *obj = NULL, *git;

    if (ran)
        rc = kit_command_outputs_read(&run->cmd, rc, &obj);
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
    return kit_command_outputs_set(&run->cmd, rc, obj);
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
    kit_command_cleanup(&run->cmd);
    if (run->acquired)
        gitexec_wt_release(run->inst->mirror, run->sha);
}

int gitexec_execute(void *instance, sluice_exec *exec)
{
    struct gitexec_instance *inst = instance;
    const sluice_host *host = inst->host;
    struct gitexec_run *run = calloc(1, sizeof(*run));
    int rc = SLUICE_ERR, ran = 0;

    if (!run) {
        host->exec_set_error(exec, "out of memory");
        return SLUICE_ERR;
    }
    run->inst = inst;
    run->exec = exec;
    run->running.exec = exec;
    run->running.wake_fd = -1;
    run->cmd = (struct kit_command){
        .host = host,
        .exec = exec,
        .cfg = inst->cfg->shell,
        .groups = inst->groups,
        .what = "script",
        .track = gitexec_run_track,
        .untrack = gitexec_run_untrack,
        .started = gitexec_run_started,
        .ctx = run,
        .drain_ms = GITEXEC_DRAIN_MS,
    };
    if (kit_command_event(&run->cmd) != 0)
        goto out;
    if (gitexec_run_resolve(run) != 0)
        goto out;
    gitexec_run_record_meta(run);
    if (gitexec_run_checkout(run) != 0 || gitexec_run_prepare(run) != 0)
        goto record;
    rc = kit_command_run(&run->cmd);
    ran = 1;
record:
    rc = gitexec_run_outputs(run, rc, ran);
out:
    if (rc != SLUICE_OK)
        host->exec_set_error(exec, run->cmd.err[0] ? run->cmd.err : "failed");
    gitexec_run_cleanup(run);
    free(run);
    return rc;
}
