/*
 * http.c - the http executor: descriptor, lifecycle and cancel.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The http executor forwards each execution's event (or the original
 * body, or a JSON document built from a template) to an upstream URL with
 * libcurl, signs it if asked, retries what is worth retrying, and turns
 * the answer into the execution's outputs (or, for a sync trigger, into
 * the answer to the original sender). See settings.c for what a flow can
 * say, execute.c and loop.c for how a forward runs.
 *
 * This file holds what is not per execution: the descriptor, the host
 * table and the transfer loop made at init, configure/unconfigure, and the
 * cancel callback, which only wakes the loop so it looks at cancellations
 * at once.
 */
#define _GNU_SOURCE
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "loop.h"
#include "util.h"

/* curl_multi_poll/wakeup (7.68), PREREQFUNCTION (7.80), PROTOCOLS_STR (7.85). */
#if LIBCURL_VERSION_NUM < 0x075500
#error "the http executor needs libcurl 7.85.0 or newer"
#endif

static int http_init(const sluice_host *host, void **plugin_ctx, char *err, size_t errlen)
{
    struct http_plugin *ctx;
    const curl_version_info_data *v;

    if (!host || !SLUICE_HOST_HAS(host, log) || !SLUICE_HOST_HAS(host, exec_event) ||
        !SLUICE_HOST_HAS(host, exec_meta) || !SLUICE_HOST_HAS(host, exec_set_output) ||
        !SLUICE_HOST_HAS(host, exec_set_error) || !SLUICE_HOST_HAS(host, exec_write_log) ||
        !SLUICE_HOST_HAS(host, exec_is_cancelled) || !SLUICE_HOST_HAS(host, exec_complete) ||
        !SLUICE_HOST_HAS(host, exec_set_response)) {
        kit_errf(err, errlen, "http: the host table lacks functions of ABI 1.0");
        return -1;
    }
    /* Built against a new enough libcurl is not run against one. */
    v = curl_version_info(CURLVERSION_NOW);
    if (!v || v->version_num < 0x075500) {
        kit_errf(err, errlen, "http: libcurl %s is too old (7.85.0 or newer is needed)",
                 v ? v->version : "?");
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        kit_errf(err, errlen, "http: curl_global_init failed");
        return -1;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        curl_global_cleanup();
        kit_errf(err, errlen, "http: out of memory");
        return -1;
    }
    ctx->host = host;
    /* Without a threaded (or c-ares) resolver a slow DNS answer would stall
     * every transfer on the loop thread: say so once. */
    if (!(v->features & CURL_VERSION_ASYNCHDNS))
        host->log(host, NULL, SLUICE_LOG_WARN,
                  "libcurl %s resolves names synchronously: a slow DNS server delays every "
                  "forward; prefer IP addresses in url or a libcurl with a threaded resolver",
                  v->version);
    if (http_loop_start(&ctx->loop, host, err, errlen) != 0) {
        free(ctx);
        curl_global_cleanup();
        return -1;
    }
    *plugin_ctx = ctx;
    return 0;
}

static void http_destroy(void *plugin_ctx)
{
    struct http_plugin *ctx = plugin_ctx;

    if (!ctx)
        return;
    http_loop_stop(ctx->loop);
    free(ctx);
    curl_global_cleanup();
}

static int http_configure(void *plugin_ctx, const char *cfg_json, size_t cfg_len, const char *where,
                          void **instance, char *err, size_t errlen)
{
    struct http_plugin *ctx = plugin_ctx;
    struct http_instance *inst;

    *instance = NULL;
    if (!ctx) {
        kit_errf(err, errlen, "%s: http: configure before init", where ? where : "config");
        return -1;
    }
    inst = calloc(1, sizeof(*inst));
    if (!inst) {
        kit_errf(err, errlen, "%s: http: out of memory", where ? where : "config");
        return -1;
    }
    if (http_settings_parse(&inst->cfg, cfg_json, cfg_len, where, err, errlen) != 0) {
        free(inst);
        return -1;
    }
    inst->host = ctx->host;
    inst->loop = ctx->loop;
    *instance = inst;
    return 0;
}

/* The host calls this only when no execution of the instance is left. */
static void http_unconfigure(void *instance)
{
    struct http_instance *inst = instance;

    if (!inst)
        return;
    http_settings_free(inst->cfg);
    free(inst);
}

/*
 * Any thread, concurrently with everything: only wake the loop. It asks
 * exec_is_cancelled for each of its executions and aborts the ones that
 * must stop; an execution still being prepared checks it itself.
 */
static void http_cancel(void *instance, sluice_exec *exec)
{
    struct http_instance *inst = instance;

    (void)exec;
    http_loop_wake(inst->loop);
}

SLUICE_PLUGIN_DEFINE(.flags = SLUICE_PF_REENTRANT, .name = "http", .version = HTTP_PLUGIN_VERSION,
                     .description = "forwards the event over HTTP(S): templates, signing, "
                                    "retries, SSRF guard",
                     .license = "MIT", .init = http_init, .destroy = http_destroy,
                     .configure = http_configure, .unconfigure = http_unconfigure,
                     .execute = http_execute, .cancel = http_cancel)
