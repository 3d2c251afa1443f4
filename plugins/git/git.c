/*
 * git.c - the git executor: descriptor, lifecycle and cancel.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * libgit2 keeps global state (its allocator, TLS, the SSH and HTTPS
 * back ends), set up by git_libgit2_init and freed by the matching
 * git_libgit2_shutdown. Both are counted, so the plugin balances its own
 * pair in init and destroy whatever sluiced itself does with libgit2.
 *
 * configure reads settings only: no network and no disk, so a flow whose
 * repository is unreachable still loads, and its executions say why they
 * fail. Mirrors are shared by every flow on the same URL and cache
 * directory and live as long as the plugin.
 */
#define _GNU_SOURCE
#include "git.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "kit/kit.h"
#include "worktree.h"

/* Set from configure's version by plugins/git/local.mk. */
#ifndef GIT_PLUGIN_VERSION
#define GIT_PLUGIN_VERSION "0.1.0"
#endif

static int gitexec_init(const sluice_host *host, void **plugin_ctx, char *err, size_t errlen)
{
    struct gitexec_ctx *ctx;
    int features;

    if (!host || !SLUICE_HOST_HAS(host, log) || !SLUICE_HOST_HAS(host, exec_event) ||
        !SLUICE_HOST_HAS(host, exec_meta) || !SLUICE_HOST_HAS(host, exec_set_output) ||
        !SLUICE_HOST_HAS(host, exec_set_error) || !SLUICE_HOST_HAS(host, exec_set_exit_code) ||
        !SLUICE_HOST_HAS(host, exec_write_log) || !SLUICE_HOST_HAS(host, exec_is_cancelled)) {
        kit_errf(err, errlen, "git: the host table lacks functions of ABI 1.0");
        return -1;
    }
    if (git_libgit2_init() < 0) {
        kit_errf(err, errlen, "git: libgit2 failed to initialise: %s",
                 git_error_last() ? git_error_last()->message : "unknown error");
        return -1;
    }
    features = git_libgit2_features();
    if (!(features & GIT_FEATURE_THREADS)) {
        git_libgit2_shutdown();
        kit_errf(err, errlen, "git: this libgit2 was built without thread support");
        return -1;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        git_libgit2_shutdown();
        kit_errf(err, errlen, "git: out of memory");
        return -1;
    }
    ctx->host = host;
    if (kit_groups_open(&ctx->groups, host, "git", err, errlen) != 0) {
        free(ctx);
        git_libgit2_shutdown();
        return -1;
    }
    /* Before this process runs any script: see plugins/kit/command/groups.c. */
    kit_groups_sweep(&ctx->groups);
    gitexec_mirrors_init(&ctx->mirrors);
    *plugin_ctx = ctx;
    if (!(features & GIT_FEATURE_SSH))
        host->log(host, NULL, SLUICE_LOG_INFO,
                  "git: libgit2 has no SSH support: ssh:// URLs "
                  "will fail to fetch");
    return 0;
}

static void gitexec_destroy(void *plugin_ctx)
{
    struct gitexec_ctx *ctx = plugin_ctx;

    if (!ctx)
        return;
    gitexec_mirrors_free(&ctx->mirrors);
    kit_groups_close(&ctx->groups);
    free(ctx);
    git_libgit2_shutdown();
}

static int gitexec_configure(void *plugin_ctx, const char *cfg_json, size_t cfg_len,
                             const char *where, void **instance, char *err, size_t errlen)
{
    struct gitexec_ctx *ctx = plugin_ctx;
    struct gitexec_instance *inst;

    *instance = NULL;
    if (!ctx) {
        kit_errf(err, errlen, "%s: git: configure before init", where ? where : "config");
        return -1;
    }
    inst = calloc(1, sizeof(*inst));
    if (!inst) {
        kit_errf(err, errlen, "%s: git: out of memory", where ? where : "config");
        return -1;
    }
    if (gitexec_settings_parse(&inst->cfg, cfg_json, cfg_len, where, err, errlen) != 0) {
        free(inst);
        return -1;
    }
    inst->mirror = gitexec_mirrors_get(&ctx->mirrors, inst->cfg->cache_dir, inst->cfg->url,
                                       inst->cfg->url_label);
    if (!inst->mirror) {
        gitexec_settings_free(inst->cfg);
        free(inst);
        kit_errf(err, errlen, "%s: git: out of memory", where ? where : "config");
        return -1;
    }
    inst->host = ctx->host;
    inst->groups = &ctx->groups;
    pthread_mutex_init(&inst->lock, NULL);
    *instance = inst;
    return 0;
}

static void gitexec_unconfigure(void *instance)
{
    struct gitexec_instance *inst = instance;

    if (!inst)
        return;
    gitexec_wt_unpin(inst->mirror, &inst->pin);
    gitexec_settings_free(inst->cfg);
    pthread_mutex_destroy(&inst->lock);
    free(inst);
}

void gitexec_instance_track(struct gitexec_instance *inst, struct gitexec_running *run)
{
    pthread_mutex_lock(&inst->lock);
    run->next = inst->running;
    inst->running = run;
    pthread_mutex_unlock(&inst->lock);
}

/* After this returns no cancel callback can touch run or its eventfd. */
void gitexec_instance_untrack(struct gitexec_instance *inst, struct gitexec_running *run)
{
    pthread_mutex_lock(&inst->lock);
    for (struct gitexec_running **p = &inst->running; *p; p = &(*p)->next) {
        if (*p == run) {
            *p = run->next;
            break;
        }
    }
    pthread_mutex_unlock(&inst->lock);
}

/*
 * Any thread, concurrently with execute: only signal. An execution still
 * fetching is not registered yet; the fetch polls exec_is_cancelled.
 */
static void gitexec_cancel(void *instance, sluice_exec *exec)
{
    struct gitexec_instance *inst = instance;
    static const uint64_t one = 1;

    pthread_mutex_lock(&inst->lock);
    for (struct gitexec_running *run = inst->running; run; run = run->next) {
        if (run->exec == exec && run->wake_fd >= 0) {
            ssize_t n = write(run->wake_fd, &one, sizeof(one));

            (void)n; /* EAGAIN: the counter is already nonzero, fine */
        }
    }
    pthread_mutex_unlock(&inst->lock);
}

SLUICE_PLUGIN_DEFINE(.flags = SLUICE_PF_REENTRANT, .name = "git", .version = GIT_PLUGIN_VERSION,
                     .description = "runs a script from a git repository, one immutable "
                                    "checkout per commit",
                     .license = "MIT", .init = gitexec_init, .destroy = gitexec_destroy,
                     .configure = gitexec_configure, .unconfigure = gitexec_unconfigure,
                     .execute = gitexec_execute, .cancel = gitexec_cancel)
