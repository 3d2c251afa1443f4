/*
 * generation.c - binding a configuration's flows to plugin instances, and
 * the lifetime of the result (generation.h).
 */
#include "generation.h"

#include "loader.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct generation {
    atomic_int refs;
    sluice_config *cfg; /* reference held */
    flow_rt *flows;     /* one per cfg->flows[i], in the same order */
    size_t n_flows;
};

/* Unconfigure the first n flows, in reverse, and free g. */
static void generation_free(generation *g, size_t n)
{
    while (n-- > 0) {
        flow_rt *r = &g->flows[n];
        if (r->plugin && r->instance)
            loader_unconfigure(r->plugin, r->instance);
        pthread_mutex_destroy(&r->exec_lock);
    }
    free(g->flows);
    config_unref(g->cfg);
    free(g);
}

generation *generation_bind(sluice_config *cfg, char *err, size_t errlen)
{
    generation *g = xcalloc(1, sizeof(*g));
    atomic_init(&g->refs, 1);
    g->cfg = config_ref(cfg);
    g->n_flows = cfg->n_flows;
    g->flows = xcalloc(cfg->n_flows ? cfg->n_flows : 1, sizeof(flow_rt));
    size_t i;
    for (i = 0; i < cfg->n_flows; i++) {
        const flow_def *f = &cfg->flows[i];
        flow_rt *r = &g->flows[i];
        r->def = f;
        pthread_mutex_init(&r->exec_lock, NULL);
        atomic_init(&r->running, 0);
        atomic_init(&r->queued, 0);
        char perr[1024] = "";
        r->plugin =
            loader_get(f->executor, (const char *const *)cfg->plugin_path, perr, sizeof(perr));
        if (!r->plugin) {
            snprintf(err, errlen, "%s: flow \"%s\": executor \"%s\": %s", f->where, f->key,
                     f->executor, perr);
            goto fail;
        }
        perr[0] = 0;
        if (loader_configure(r->plugin, f->cfg_json, f->cfg_len, f->where, &r->instance, perr,
                             sizeof(perr)) < 0) {
            /* Plugins are told where the flow is; don't say it twice. */
            const char *msg = perr[0] ? perr : "the executor refused its config";
            size_t wl = strlen(f->where);
            if (strncmp(msg, f->where, wl) == 0 && msg[wl] == ':')
                msg += wl + (msg[wl + 1] == ' ' ? 2 : 1);
            snprintf(err, errlen, "%s: flow \"%s\": %s", f->where, f->key, msg);
            r->plugin = NULL;
            goto fail;
        }
    }
    return g;
fail:
    generation_free(g, i + 1); /* flow i has its lock and no instance */
    return NULL;
}

generation *generation_ref(generation *g)
{
    if (g)
        atomic_fetch_add(&g->refs, 1);
    return g;
}

void generation_unref(generation *g)
{
    if (g && atomic_fetch_sub(&g->refs, 1) == 1)
        generation_free(g, g->n_flows);
}

sluice_config *generation_config(const generation *g)
{
    return g->cfg;
}

flow_rt *generation_flow(const generation *g, const flow_def *f)
{
    size_t i = (size_t)(f - g->cfg->flows);
    return i < g->n_flows ? &g->flows[i] : NULL;
}
