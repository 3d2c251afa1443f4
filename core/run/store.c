/*
 * store.c - the store's front: it chooses a backend at open and dispatches
 * to it (see store.h), and adds what every backend would otherwise repeat:
 * live executions shown as they are now, and a document's attempts.
 */
#include "exec_impl.h"
#include "store.h"

#include "execdoc.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which backend a location opens: the first whose prefix it starts with. */
static const struct {
    const char *prefix; /* NULL: any location (a file path) */
    store_backend_open_fn open;
} backends[] = {
    {NULL, store_sqlite_open},
};

static store_backend *be;
static store_hooks hooks;

int store_open(const char *location, const store_hooks *h, char *err, size_t errlen)
{
    memset(&hooks, 0, sizeof(hooks));
    if (h)
        hooks = *h;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        const char *p = backends[i].prefix;
        if (p && strncmp(location, p, strlen(p)) != 0)
            continue;
        store_backend *b = NULL;
        if (backends[i].open(location, &b, err, errlen) < 0)
            return -1;
        if (b->version != STORE_BACKEND_VERSION) {
            snprintf(err, errlen, "store %s: backend %s has interface version %u, not %u", location,
                     b->name, b->version, STORE_BACKEND_VERSION);
            b->close(b);
            return -1;
        }
        be = b;
        return 0;
    }
    snprintf(err, errlen, "store %s: no backend for this location", location);
    return -1;
}

void store_close(void)
{
    if (!be)
        return;
    be->close(be);
    be = NULL;
}

void store_release_memory(void)
{
    if (be && be->release_memory)
        be->release_memory(be);
}

int store_healthy(void)
{
    return be && be->healthy(be);
}

/* ---- writing ---- */

/* An accept as the backend sees it: the caller's callbacks, and the
 * executions, which join the live set before committed runs. */
typedef struct accept_call {
    void (*committed)(void *arg);
    void (*done)(void *arg, int durable);
    void *arg;
    size_t n;
    sluice_exec *v[];
} accept_call;

static void accept_committed(void *arg)
{
    accept_call *c = arg;
    if (hooks.live_add)
        for (size_t i = 0; i < c->n; i++)
            if (c->v[i]->store_status == STORE_OK)
                hooks.live_add(c->v[i]);
    c->committed(c->arg);
}

static void accept_done(void *arg, int durable)
{
    accept_call *c = arg;
    c->done(c->arg, durable);
    free(c);
}

void store_accept(sluice_exec **v, size_t n, void (*committed)(void *arg),
                  void (*done)(void *arg, int durable), void *arg)
{
    accept_call *c = xmalloc(sizeof(*c) + n * sizeof(*v));
    c->committed = committed;
    c->done = done;
    c->arg = arg;
    c->n = n;
    memcpy(c->v, v, n * sizeof(*v));
    /* A sync request behind queued executions cannot start before they
     * do, and its sender waits for the result, not for this commit: it may
     * wait a little for others to share the commit. Async answers wait on
     * the commit: those go at once. */
    int all_sync = 1;
    for (size_t i = 0; i < n; i++)
        all_sync = all_sync && v[i]->sync;
    int lazy = all_sync && hooks.queued && hooks.queued() > 0;
    be->accept(be, c->v, n, lazy, accept_committed, accept_done, c);
}

int store_mark_running(sluice_exec *e)
{
    return be->mark_running(be, e);
}

static void finish_written(sluice_exec *e)
{
    if (hooks.live_remove)
        hooks.live_remove(e);
}

void store_finish(sluice_exec *e)
{
    be->finish(be, e, finish_written);
}

void store_requeue(sluice_exec *e, int ended)
{
    be->requeue(be, e, ended);
}

void store_purge(uint64_t older_than_ms)
{
    be->purge(be, older_than_ms);
}

void store_flush(void)
{
    be->flush(be);
}

void store_fail_stale(const char *id, int state, const char *reason)
{
    be->fail_stale(be, id, state, reason);
}

/* ---- reading ---- */

static sluice_exec *live_find(const char *id)
{
    return hooks.live_find && id ? hooks.live_find(id) : NULL;
}

json_t *store_get_json(const char *id, int with_logs)
{
    sluice_exec *e = live_find(id);
    if (e) {
        /* The records of ended attempts are read before the backend's:
         * one leaves memory only once it is written, so each attempt is
         * in one or the other. */
        json_t *pending = with_logs ? exec_attempts_json(e) : NULL;
        json_t *j = exec_to_json(e, with_logs);
        exec_unref(e);
        if (with_logs)
            execdoc_attach_attempts(j, be->attempts(be, id), pending);
        return j;
    }
    json_t *j = be->get(be, id, with_logs);
    if (j && with_logs)
        execdoc_attach_attempts(j, be->attempts(be, id), json_array());
    return j;
}

json_t *store_list(const store_filter *f, char **next)
{
    store_filter g = *f;
    if (g.limit <= 0 || g.limit > 500)
        g.limit = 50;
    json_t *a = be->list(be, &g);
    *next = NULL;
    /* Rows still live are newer than what the backend says: overlay them. */
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *row = json_array_get(a, i);
        sluice_exec *e = live_find(json_string_value(json_object_get(row, "id")));
        if (e) {
            json_array_set_new(a, i, exec_to_json(e, 0));
            exec_unref(e);
        }
    }
    if (json_array_size(a) == (size_t)g.limit)
        *next = xstrdup(
            json_string_value(json_object_get(json_array_get(a, (size_t)g.limit - 1), "id")));
    return a;
}

size_t store_find_idempotent(const char *trigger, const char *key, uint64_t since_ms,
                             char (*ids)[40], size_t max)
{
    return be->find_idempotent(be, trigger, key, since_ms, ids, max);
}

void store_row_clear(store_row *r)
{
    free(r->id);
    free(r->request_id);
    free(r->trigger);
    free(r->flow);
    free(r->state);
    free(r->event);
    free(r->function);
    free(r->replay_of);
    free(r->replaces);
    json_decref(r->headers);
    exec_body_unref(r->body);
    memset(r, 0, sizeof(*r));
}

int store_load_request(const char *id, store_row *out)
{
    return be->load_request(be, id, out);
}

json_t *store_flow_stats(const char *column)
{
    return be->flow_stats(be, column);
}

int store_recover(store_recover_fn fn, void *arg)
{
    return be->recover(be, fn, arg);
}
