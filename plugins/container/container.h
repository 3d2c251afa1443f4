/*
 * container.h - the container executor's plugin context and instance.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef CTR_CONTAINER_H
#define CTR_CONTAINER_H

#include <pthread.h>
#include <stdint.h>

#include <sluice/plugin.h>

#include "api.h"
#include "settings.h"

/*
 * What configure learnt about one engine socket: whether it answered (kept
 * for a few seconds, so a hung daemon costs one ping timeout per start, not
 * one per flow) and whether its orphans were swept (once per process).
 */
struct ctr_seen {
    char *socket;
    int64_t checked_ms;
    int reachable;
    char why[512];
    int swept;
    struct ctr_seen *next;
};

/*
 * Per process, from init. owner is this sluiced's identity on the machine
 * ("<boot id>/<pid>/<start time>"), the value of the sluice.owner label, so
 * the orphan sweep can tell a crashed sluiced's containers from those of
 * one still running. seen is only touched by configure (main thread).
 */
struct ctr_plugin_ctx {
    const sluice_host *host;
    char owner[128];
    struct ctr_seen *seen;
};

/* One execution in progress, findable by the cancel callback. */
struct ctr_running {
    sluice_exec *exec;
    struct ctr_api *api; /* woken by cancel */
    struct ctr_running *next;
};

/*
 * One configured flow. The settings are immutable; the list of running
 * executions is the only mutable state and is guarded by lock, so any
 * number of executions may run at once (SLUICE_PF_REENTRANT).
 */
struct ctr_instance {
    const sluice_host *host;
    const struct ctr_plugin_ctx *ctx;
    struct ctr_settings *cfg;
    pthread_mutex_t lock;
    struct ctr_running *running;
};

void ctr_instance_track(struct ctr_instance *inst, struct ctr_running *run);
void ctr_instance_untrack(struct ctr_instance *inst, struct ctr_running *run);

/* The plugin's execute callback (execute.c). */
int ctr_execute(void *instance, sluice_exec *exec);

/*
 * Configure-time checks against the engine (preflight.c): is it reachable,
 * does a pull = "never" image exist, and, once per socket per process,
 * remove the containers a crashed sluiced left behind. Problems are logged
 * as warnings: the engine may well start after sluiced.
 */
void ctr_preflight(struct ctr_plugin_ctx *ctx, const struct ctr_settings *cfg, const char *where);

/* Before a retry: remove (kill, when kept) what earlier attempts of
 * exec_id left on the engine. Returns 0, or -1 with err set when it could
 * not be done and the retry must not start (preflight.c). */
int ctr_clear_earlier(const struct ctr_plugin_ctx *ctx, struct ctr_api *api, const char *exec_id,
                      char *err, size_t errlen);

/* Fill ctx->owner (preflight.c). */
void ctr_owner_self(char *buf, size_t len);

#endif /* CTR_CONTAINER_H */
