/*
 * preflight.c - what configure checks against the engine, and the orphan
 * sweep.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * A flow whose engine is down is still a valid flow: the engine may start
 * after sluiced, and `sluiced --check-config` must pass on a machine that
 * has none. So everything here only logs.
 *
 * The sweep: every container the executor creates carries the labels
 * sluice.execution (the execution id) and sluice.owner (which sluiced made
 * it: boot id, pid and the process's start time). A container whose owner
 * is no longer running was left by a crash or a kill -9 and is removed the
 * first time a flow names its socket. A container of a sluiced that still
 * runs (another instance on the same engine, or the daemon a check-config
 * runs beside) is left alone, and so is one a flow asked to keep.
 */
#define _GNU_SOURCE
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "kit/kit.h"

/* Read a small file into buf (NUL-terminated, trailing newline dropped). */
static int ctr_read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* Field 22 of /proc/PID/stat: the start time, which tells a reused pid apart. */
static int ctr_proc_start(long pid, unsigned long long *start)
{
    char path[64], buf[1024];
    char *p;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (ctr_read_small(path, buf, sizeof(buf)) != 0)
        return -1;
    /* The command name may hold spaces and parentheses: skip past the last ')'. */
    p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p, " %llu", start) != 1)
        return -1;
    return 0;
}

void ctr_owner_self(char *buf, size_t len)
{
    char boot[64] = "unknown";
    unsigned long long start = 0;

    (void)ctr_read_small("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
    (void)ctr_proc_start((long)getpid(), &start);
    snprintf(buf, len, "%s/%ld/%llu", boot, (long)getpid(), start);
}

/* Nonzero when the sluiced named by owner runs now on this machine. */
static int ctr_owner_alive(const char *owner, const char *self)
{
    char boot[64], my_boot[64];
    unsigned long long start, now_start;
    long pid;

    if (!owner || sscanf(owner, "%63[^/]/%ld/%llu", boot, &pid, &start) != 3 ||
        sscanf(self, "%63[^/]/", my_boot) != 1)
        return 0;
    if (strcmp(boot, my_boot) != 0 || pid <= 0)
        return 0; /* made before the last reboot */
    return ctr_proc_start(pid, &now_start) == 0 && now_start == start;
}

/* How long a ping's answer is trusted across the flows of one (re)load. */
#define CTR_PING_REUSE_MS 10000

/* The record for socket, made on first use; NULL when out of memory. */
static struct ctr_seen *ctr_seen_get(struct ctr_plugin_ctx *ctx, const char *socket)
{
    struct ctr_seen *s;

    for (s = ctx->seen; s; s = s->next)
        if (strcmp(s->socket, socket) == 0)
            return s;
    s = calloc(1, sizeof(*s));
    if (!s || !(s->socket = strdup(socket))) {
        free(s);
        return NULL;
    }
    s->next = ctx->seen;
    ctx->seen = s;
    return s;
}

static const char *ctr_label(json_t *item, const char *name)
{
    return json_string_value(json_object_get(json_object_get(item, "Labels"), name));
}

static void ctr_sweep(struct ctr_plugin_ctx *ctx, struct ctr_api *api)
{
    const sluice_host *host = ctx->host;
    char err[1024];
    json_t *list, *item;
    size_t i, removed = 0;

    if (ctr_engine_list_ours(api, &list, err, sizeof(err)) != 0) {
        host->log(host, NULL, SLUICE_LOG_WARN, "container: orphan sweep skipped: %s", err);
        return;
    }
    json_array_foreach(list, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "Id"));
        const char *owner = ctr_label(item, "sluice.owner");
        const char *keep = ctr_label(item, "sluice.keep");

        if (!id || (keep && strcmp(keep, "true") == 0))
            continue;
        if (owner && (strcmp(owner, ctx->owner) == 0 || ctr_owner_alive(owner, ctx->owner)))
            continue;
        if (ctr_engine_remove(api, id, err, sizeof(err)) != 0) {
            host->log(host, NULL, SLUICE_LOG_WARN, "container: orphan %.12s: %s", id, err);
            continue;
        }
        removed++;
        host->log(host, NULL, SLUICE_LOG_INFO,
                  "container: removed orphan container %.12s (execution %s, flow %s, state %s) "
                  "left by a sluiced that is no longer running",
                  id,
                  ctr_label(item, "sluice.execution") ? ctr_label(item, "sluice.execution") : "?",
                  ctr_label(item, "sluice.flow") ? ctr_label(item, "sluice.flow") : "?",
                  json_string_value(json_object_get(item, "State"))
                      ? json_string_value(json_object_get(item, "State"))
                      : "?");
    }
    if (removed > 0)
        host->log(host, NULL, SLUICE_LOG_INFO, "container: %zu orphan container%s removed from %s",
                  removed, removed == 1 ? "" : "s", api->socket);
    json_decref(list);
}

/*
 * Before a retry creates its container: what an earlier attempt of the
 * same execution left must not run beside it. The sweep at start removes
 * the containers of a dead sluiced, but only once per socket and only if
 * the engine answered then, and it leaves kept ones running. So here every
 * container labelled with this execution is removed (a kept one is only
 * killed, for its remains to be looked at), unless a sluiced that still
 * runs, other than this one, owns it.
 */
int ctr_clear_earlier(const struct ctr_plugin_ctx *ctx, struct ctr_api *api, const char *exec_id,
                      char *err, size_t errlen)
{
    const sluice_host *host = ctx->host;
    json_t *list, *item;
    size_t i;
    int rc = 0;

    if (ctr_engine_list_ours(api, &list, err, errlen) != 0)
        return -1;
    json_array_foreach(list, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "Id"));
        const char *exec = ctr_label(item, "sluice.execution");
        const char *owner = ctr_label(item, "sluice.owner");
        const char *keep = ctr_label(item, "sluice.keep");
        const char *state = json_string_value(json_object_get(item, "State"));
        int kept = keep && strcmp(keep, "true") == 0;

        if (!id || !exec || strcmp(exec, exec_id) != 0)
            continue;
        if (owner && strcmp(owner, ctx->owner) != 0 && ctr_owner_alive(owner, ctx->owner)) {
            kit_errf(err, errlen,
                     "container %.12s of this execution belongs to a sluiced that still runs "
                     "(%s); not starting another",
                     id, owner);
            rc = -1;
            break;
        }
        if (kept && state && strcmp(state, "running") != 0)
            continue;
        if ((kept ? ctr_engine_kill(api, id, err, errlen)
                  : ctr_engine_remove(api, id, err, errlen)) != 0) {
            rc = -1;
            break;
        }
        host->log(host, NULL, SLUICE_LOG_WARN,
                  "container: execution %s: %s container %.12s (state %s) of an earlier "
                  "attempt before retrying",
                  exec_id, kept ? "killed the kept" : "removed the", id, state ? state : "?");
    }
    json_decref(list);
    return rc;
}

/* A mount whose source is missing fails every create: say so now. */
static void ctr_preflight_mounts(struct ctr_plugin_ctx *ctx, const struct ctr_settings *cfg,
                                 const char *where)
{
    for (size_t i = 0; i < cfg->nmounts; i++) {
        struct stat st;
        char ebuf[128];

        if (stat(cfg->mounts[i].source, &st) != 0)
            ctx->host->log(ctx->host, NULL, SLUICE_LOG_WARN,
                           "%s: container: mounts[%zu]: source %s: %s (executions will fail "
                           "until it exists)",
                           where, i, cfg->mounts[i].source,
                           kit_strerror(errno, ebuf, sizeof(ebuf)));
    }
}

void ctr_preflight(struct ctr_plugin_ctx *ctx, const struct ctr_settings *cfg, const char *where)
{
    const sluice_host *host = ctx->host;
    struct ctr_seen *seen = ctr_seen_get(ctx, cfg->socket);
    struct ctr_api api;
    char err[1024];

    ctr_preflight_mounts(ctx, cfg, where);
    if (!seen)
        return;
    if (ctr_api_open(&api, cfg->socket, NULL, NULL, err, sizeof(err)) != 0) {
        host->log(host, NULL, SLUICE_LOG_WARN, "%s: container: %s", where, err);
        return;
    }
    if (seen->checked_ms == 0 || kit_now_ms() - seen->checked_ms > CTR_PING_REUSE_MS) {
        seen->reachable = ctr_engine_ping(&api, seen->why, sizeof(seen->why)) == 0;
        seen->checked_ms = kit_now_ms();
    }
    if (!seen->reachable) {
        host->log(host, NULL, SLUICE_LOG_WARN,
                  "%s: container: %s; the flow is loaded and its executions will fail until "
                  "the engine answers",
                  where, seen->why);
        goto out;
    }
    if (cfg->pull == CTR_PULL_NEVER) {
        int has = ctr_engine_image_exists(&api, cfg->image, err, sizeof(err));

        if (has == 0)
            host->log(host, NULL, SLUICE_LOG_WARN,
                      "%s: container: image %s is not on the engine at %s and pull = \"never\": "
                      "executions will fail until it is loaded",
                      where, cfg->image, cfg->socket);
        else if (has < 0)
            host->log(host, NULL, SLUICE_LOG_WARN, "%s: container: %s", where, err);
    }
    if (!seen->swept) {
        seen->swept = 1;
        ctr_sweep(ctx, &api);
    }
out:
    ctr_api_close(&api);
}
