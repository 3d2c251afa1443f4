/*
 * container.c - the container executor: descriptor, lifecycle and cancel.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The container executor runs every execution in a fresh container through
 * the Docker Engine API (v1.41) on a unix socket, so one client serves
 * Docker and Podman's compatible service alike. The event reaches the
 * container on stdin (attached) and always in /sluice/event.json; outputs
 * come back through /sluice/out/outputs; the exit code and the output
 * streams are the result; the container is removed afterwards. See
 * execute.c for one run, settings.c for what a flow can say and
 * preflight.c for what configure checks against the engine.
 *
 * This file holds what is not per execution: the descriptor, init (libcurl,
 * this process's owner label), configure/unconfigure, and the cancel
 * callback, which finds the execution in its instance's running list and
 * wakes its curl_multi_poll so the run kills its container at once.
 */
#define _GNU_SOURCE
#include "container.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kit/kit.h"

/* Set from configure's version by plugins/container/local.mk. */
#ifndef CTR_PLUGIN_VERSION
#define CTR_PLUGIN_VERSION "0.1.0"
#endif

static int ctr_init(const sluice_host *host, void **plugin_ctx, char *err, size_t errlen)
{
    struct ctr_plugin_ctx *ctx;

    if (!host || !SLUICE_HOST_HAS(host, log) || !SLUICE_HOST_HAS(host, exec_event) ||
        !SLUICE_HOST_HAS(host, exec_meta) || !SLUICE_HOST_HAS(host, exec_set_output) ||
        !SLUICE_HOST_HAS(host, exec_set_error) || !SLUICE_HOST_HAS(host, exec_set_exit_code) ||
        !SLUICE_HOST_HAS(host, exec_write_log) || !SLUICE_HOST_HAS(host, exec_is_cancelled)) {
        kit_errf(err, errlen, "container: the host table lacks functions of ABI 1.0");
        return -1;
    }
    /* Not thread-safe in older libcurl: init runs on the main thread, before
     * any worker exists. Reference-counted, so other plugins may do it too. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        kit_errf(err, errlen, "container: libcurl failed to initialise");
        return -1;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        curl_global_cleanup();
        kit_errf(err, errlen, "container: out of memory");
        return -1;
    }
    ctx->host = host;
    ctr_owner_self(ctx->owner, sizeof(ctx->owner));
    *plugin_ctx = ctx;
    return 0;
}

static void ctr_destroy(void *plugin_ctx)
{
    struct ctr_plugin_ctx *ctx = plugin_ctx;

    if (!ctx)
        return;
    while (ctx->seen) {
        struct ctr_seen *next = ctx->seen->next;

        free(ctx->seen->socket);
        free(ctx->seen);
        ctx->seen = next;
    }
    free(ctx);
    curl_global_cleanup();
}

static int ctr_configure(void *plugin_ctx, const char *cfg_json, size_t cfg_len, const char *where,
                         void **instance, char *err, size_t errlen)
{
    struct ctr_plugin_ctx *ctx = plugin_ctx;
    struct ctr_instance *inst;

    *instance = NULL;
    if (!ctx) {
        kit_errf(err, errlen, "%s: container: configure before init", where ? where : "config");
        return -1;
    }
    inst = calloc(1, sizeof(*inst));
    if (!inst) {
        kit_errf(err, errlen, "%s: container: out of memory", where ? where : "config");
        return -1;
    }
    if (ctr_settings_parse(&inst->cfg, cfg_json, cfg_len, where, err, errlen) != 0) {
        free(inst);
        return -1;
    }
    inst->host = ctx->host;
    inst->ctx = ctx;
    pthread_mutex_init(&inst->lock, NULL);
    ctr_preflight(ctx, inst->cfg, where ? where : "config");
    *instance = inst;
    return 0;
}

static void ctr_unconfigure(void *instance)
{
    struct ctr_instance *inst = instance;

    if (!inst)
        return;
    ctr_settings_free(inst->cfg);
    pthread_mutex_destroy(&inst->lock);
    free(inst);
}

void ctr_instance_track(struct ctr_instance *inst, struct ctr_running *run)
{
    pthread_mutex_lock(&inst->lock);
    run->next = inst->running;
    inst->running = run;
    pthread_mutex_unlock(&inst->lock);
}

/* After this returns no cancel callback can touch run or its api. */
void ctr_instance_untrack(struct ctr_instance *inst, struct ctr_running *run)
{
    pthread_mutex_lock(&inst->lock);
    for (struct ctr_running **p = &inst->running; *p; p = &(*p)->next) {
        if (*p == run) {
            *p = run->next;
            break;
        }
    }
    pthread_mutex_unlock(&inst->lock);
}

/*
 * Any thread, concurrently with execute: only wake. An execution that has
 * not registered yet, or has already finished, is simply not found; every
 * wait in execute also polls exec_is_cancelled, so nothing is lost.
 */
static void ctr_cancel(void *instance, sluice_exec *exec)
{
    struct ctr_instance *inst = instance;

    pthread_mutex_lock(&inst->lock);
    for (struct ctr_running *run = inst->running; run; run = run->next)
        if (run->exec == exec)
            ctr_api_wake(run->api);
    pthread_mutex_unlock(&inst->lock);
}

SLUICE_PLUGIN_DEFINE(.flags = SLUICE_PF_REENTRANT, .name = "container",
                     .version = CTR_PLUGIN_VERSION,
                     .description = "runs each event in a fresh container through the Docker "
                                    "Engine API (Docker or Podman)",
                     .license = "MIT", .init = ctr_init, .destroy = ctr_destroy,
                     .configure = ctr_configure, .unconfigure = ctr_unconfigure,
                     .execute = ctr_execute, .cancel = ctr_cancel)
