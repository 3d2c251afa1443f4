/*
 * shell.c - the shell executor: descriptor, lifecycle and cancel.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The shell executor runs one command per execution: an argv array run
 * directly (no shell ever sees the payload), or a script run by /bin/sh -c
 * whose text is config only. The payload reaches the command through
 * placeholders in argv elements, environment variables, stdin and the
 * $SLUICE_EVENT file; the command answers with its exit code, its output
 * streams and the $SLUICE_OUTPUT file. See execute.c for one run and
 * settings.c for what a flow can say.
 *
 * This file holds what is not per execution: the descriptor, the host
 * table kept from init, configure/unconfigure, and the cancel callback,
 * which finds the execution in its instance's running list and writes to
 * that execution's eventfd so its poll loop wakes at once.
 */
#define _GNU_SOURCE
#include "shell.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit/kit.h"

/* Set from configure's version by plugins/shell/local.mk. */
#ifndef SHELL_PLUGIN_VERSION
#define SHELL_PLUGIN_VERSION "0.1.0"
#endif

struct shell_plugin_ctx {
    const sluice_host *host;
    struct kit_groups groups;
};

static int shell_init(const sluice_host *host, void **plugin_ctx, char *err, size_t errlen)
{
    struct shell_plugin_ctx *ctx;

    if (!host || !SLUICE_HOST_HAS(host, log) || !SLUICE_HOST_HAS(host, exec_event) ||
        !SLUICE_HOST_HAS(host, exec_meta) || !SLUICE_HOST_HAS(host, exec_set_output) ||
        !SLUICE_HOST_HAS(host, exec_set_error) || !SLUICE_HOST_HAS(host, exec_set_exit_code) ||
        !SLUICE_HOST_HAS(host, exec_write_log) || !SLUICE_HOST_HAS(host, exec_is_cancelled)) {
        kit_errf(err, errlen, "shell: the host table lacks functions of ABI 1.0");
        return -1;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        kit_errf(err, errlen, "shell: out of memory");
        return -1;
    }
    ctx->host = host;
    if (kit_groups_open(&ctx->groups, host, "shell", err, errlen) != 0) {
        free(ctx);
        return -1;
    }
    /* Before this process runs any command, so a retry never runs beside
     * what an interrupted attempt left. */
    kit_groups_sweep(&ctx->groups);
    *plugin_ctx = ctx;
    return 0;
}

static void shell_destroy(void *plugin_ctx)
{
    struct shell_plugin_ctx *ctx = plugin_ctx;

    if (ctx)
        kit_groups_close(&ctx->groups);
    free(ctx);
}

static int shell_configure(void *plugin_ctx, const char *cfg_json, size_t cfg_len,
                           const char *where, void **instance, char *err, size_t errlen)
{
    struct shell_plugin_ctx *ctx = plugin_ctx;
    struct shell_instance *inst;

    *instance = NULL;
    if (!ctx) {
        kit_errf(err, errlen, "%s: shell: configure before init", where ? where : "config");
        return -1;
    }
    inst = calloc(1, sizeof(*inst));
    if (!inst) {
        kit_errf(err, errlen, "%s: shell: out of memory", where ? where : "config");
        return -1;
    }
    if (kit_settings_parse(&inst->cfg, cfg_json, cfg_len, where, err, errlen) != 0) {
        free(inst);
        return -1;
    }
    inst->host = ctx->host;
    inst->groups = &ctx->groups;
    pthread_mutex_init(&inst->lock, NULL);
    *instance = inst;
    return 0;
}

static void shell_unconfigure(void *instance)
{
    struct shell_instance *inst = instance;

    if (!inst)
        return;
    kit_settings_free(inst->cfg);
    pthread_mutex_destroy(&inst->lock);
    free(inst);
}

void shell_instance_track(struct shell_instance *inst, struct shell_running *run)
{
    pthread_mutex_lock(&inst->lock);
    run->next = inst->running;
    inst->running = run;
    pthread_mutex_unlock(&inst->lock);
}

/* After this returns no cancel callback can touch run or its eventfd. */
void shell_instance_untrack(struct shell_instance *inst, struct shell_running *run)
{
    pthread_mutex_lock(&inst->lock);
    for (struct shell_running **p = &inst->running; *p; p = &(*p)->next) {
        if (*p == run) {
            *p = run->next;
            break;
        }
    }
    pthread_mutex_unlock(&inst->lock);
}

/*
 * Any thread, concurrently with execute: only signal. An execution that
 * has not registered yet, or has already finished, is simply not found;
 * the poll loop also polls exec_is_cancelled, so nothing is lost.
 */
static void shell_cancel(void *instance, sluice_exec *exec)
{
    struct shell_instance *inst = instance;
    static const uint64_t one = 1;

    pthread_mutex_lock(&inst->lock);
    for (struct shell_running *run = inst->running; run; run = run->next) {
        if (run->exec == exec && run->wake_fd >= 0) {
            ssize_t n = write(run->wake_fd, &one, sizeof(one));

            (void)n; /* EAGAIN: the counter is already nonzero, fine */
        }
    }
    pthread_mutex_unlock(&inst->lock);
}

SLUICE_PLUGIN_DEFINE(.flags = SLUICE_PF_REENTRANT, .name = "shell", .version = SHELL_PLUGIN_VERSION,
                     .description = "runs a command or a sh script, the payload never in shell "
                                    "text",
                     .license = "MIT", .init = shell_init, .destroy = shell_destroy,
                     .configure = shell_configure, .unconfigure = shell_unconfigure,
                     .execute = shell_execute, .cancel = shell_cancel)
