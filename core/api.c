/*
 * api.c - the admin API.
 *
 * Guarded by server.admin_token, or without one open to clients on this
 * host only (apiauth.c), so a default install never exposes execution data
 * to the network. Health probes are public.
 *
 *   GET  /api/v1/executions[?flow=&trigger=&state=&since=&until=&limit=&cursor=]
 *   GET  /api/v1/executions/{id}
 *   GET  /api/v1/executions/{id}/logs[?attempt=N|all][?follow]   (follow: NDJSON, follow.c)
 *   POST /api/v1/executions/{id}/cancel
 *   POST /api/v1/executions/{id}/replay
 *   GET  /api/v1/flows, /api/v1/triggers
 *   POST|DELETE /api/v1/triggers/{id}/token   (capability URLs)
 *   POST /api/v1/reload
 *   GET  /healthz, /readyz (public), /metrics (Prometheus text)
 */
#define _GNU_SOURCE
#include "api.h"

#include "apiauth.h"
#include "captoken.h"
#include "gate.h"
#include "xalloc.h"

#include "engine.h"
#include "exec.h"
#include "follow.h"
#include "gitsync.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "units.h"

#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *param(const http_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_params; i++)
        if (strcmp(rq->params[i].name, name) == 0)
            return rq->params[i].value;
    return NULL;
}

/* A flag parameter: present ("?follow", "?follow=1"), and not "0" or "false". */
static int flag(const http_request *rq, const char *name)
{
    const char *v = param(rq, name);
    return v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
}

/*
 * Every query parameter is one the endpoint takes (allowed, NULL-terminated)
 * and is given once: a misspelt filter must not widen a listing silently.
 * Answers 400 and returns -1 otherwise.
 */
static int check_params(struct MHD_Connection *c, const http_request *rq,
                        const char *const *allowed, int *result)
{
    char takes[200] = "";
    size_t k = 0;
    for (const char *const *a = allowed; *a && k < sizeof(takes); a++)
        k += (size_t)snprintf(takes + k, sizeof(takes) - k, "%s%s", k ? ", " : "", *a);
    for (size_t i = 0; i < rq->n_params; i++) {
        const char *n = rq->params[i].name;
        int known = 0;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, n) == 0;
        if (!known) {
            *result = allowed[0] ? http_error(c, rq->request_id, 400, "bad_request",
                                              "unknown query parameter \"%.64s\"; this "
                                              "endpoint takes %s",
                                              n, takes)
                                 : http_error(c, rq->request_id, 400, "bad_request",
                                              "unknown query parameter \"%.64s\"; this "
                                              "endpoint takes no query parameters",
                                              n);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(rq->params[j].name, n) == 0) {
                *result = http_error(c, rq->request_id, 400, "bad_request",
                                     "query parameter \"%s\" is given more than once", n);
                return -1;
            }
    }
    return 0;
}

/* A flag's value is one of "", "1", "true", "0", "false". */
static int flag_valid(const http_request *rq, const char *name)
{
    const char *v = param(rq, name);
    return !v || !*v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "0") == 0 ||
           strcmp(v, "false") == 0;
}

static json_t *flows_json(sluice_config *cfg)
{
    json_t *stats = store_flow_stats("flow");
    json_t *a = json_array();
    for (size_t i = 0; i < cfg->n_flows; i++) {
        flow_def *f = &cfg->flows[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(f->key));
        json_object_set_new(o, "namespace", f->ns ? json_string(f->ns) : json_null());
        json_object_set_new(o, "executor", json_string(f->executor));
        json_object_set_new(o, "description",
                            f->description ? json_string(f->description) : json_null());
        json_object_set_new(o, "timeout_ms", json_integer((json_int_t)f->timeout_ms));
        json_object_set_new(o, "concurrency", json_integer(f->concurrency));
        json_object_set_new(o, "running", json_integer(atomic_load(&f->running)));
        json_object_set_new(o, "queued", json_integer(atomic_load(&f->queued)));
        json_object_set_new(o, "source", json_string(f->where));
        json_object_set_new(o, "commit", f->commit ? json_string(f->commit) : json_null());
        json_t *st = json_object_get(stats, f->key);
        json_object_set(o, "executions", st ? st : json_null());
        json_array_append_new(a, o);
    }
    json_decref(stats);
    return a;
}

static json_t *triggers_json(sluice_config *cfg)
{
    json_t *stats = store_flow_stats("trigger");
    json_t *a = json_array();
    for (size_t i = 0; i < cfg->n_triggers; i++) {
        trigger_def *t = &cfg->triggers[i];
        json_t *o = json_object();
        char methods[96];
        config_methods_string(t->methods, methods, sizeof(methods));
        json_object_set_new(o, "id", json_string(t->id));
        int capability = t->gate && gate_capability_status(t->gate);
        json_object_set_new(o, "path", json_string(capability ? "/t/{token}" : t->path));
        if (capability) {
            char tok[CAPTOKEN_LEN + 1];
            int st = captoken_get(cfg, t->id, tok, sizeof(tok));
            char url[CAPTOKEN_LEN + 4];
            snprintf(url, sizeof(url), "/t/%s", tok);
            json_object_set_new(o, "url", st == 0 ? json_string(url) : json_null());
        }
        json_object_set_new(o, "admission", gate_counters_json(t->id));
        json_object_set_new(o, "methods", json_string(methods));
        json_object_set_new(o, "mode", json_string(t->sync ? "sync" : "async"));
        json_object_set_new(o, "respond_with",
                            t->respond_with == RESPOND_UPSTREAM    ? json_string("upstream")
                            : t->respond_with == RESPOND_EXECUTION ? json_string("execution")
                                                                   : json_null());
        json_t *fl = json_array();
        for (size_t k = 0; k < t->n_flows; k++)
            json_array_append_new(fl, json_string(t->flows[k]->key));
        json_object_set_new(o, "flows", fl);
        json_object_set_new(o, "source", json_string(t->where));
        json_t *st = json_object_get(stats, t->id);
        json_object_set(o, "executions", st ? st : json_null());
        json_array_append_new(a, o);
    }
    json_decref(stats);
    return a;
}

/* Times in filters: RFC 3339 in UTC ("2026-11-23T12:00:00Z", fractions
 * allowed) or epoch milliseconds. */
static int parse_time(const char *s, uint64_t *ms)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n && n <= 15 && strspn(s, "0123456789") == n) {
        *ms = strtoull(s, NULL, 10);
        return 0;
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    uint64_t frac = 0;
    if (*rest == '.') {
        size_t d = strspn(rest + 1, "0123456789");
        if (d == 0)
            return -1;
        for (size_t i = 0; i < 3; i++)
            frac = frac * 10 + (i < d ? (uint64_t)(rest[1 + i] - '0') : 0);
        rest += 1 + d;
    }
    if (strcmp(rest, "Z") != 0)
        return -1;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    *ms = (uint64_t)t * 1000 + frac;
    return 0;
}

static int list_executions(struct MHD_Connection *c, const http_request *rq)
{
    static const char *const states[] = {"queued", "running", "succeeded", "failed",
                                         "timed_out", "cancelled", "unknown", NULL};
    store_filter f = {0};
    f.flow = param(rq, "flow");
    f.trigger = param(rq, "trigger");
    f.state = param(rq, "state");
    f.cursor = param(rq, "cursor");
    if ((f.flow && !*f.flow) || (f.trigger && !*f.trigger))
        return http_error(c, rq->request_id, 400, "bad_request",
                          "flow and trigger take a flow key or a trigger id, not nothing");
    if (f.state) {
        int known = 0;
        for (const char *const *st = states; *st && !known; st++)
            known = strcmp(*st, f.state) == 0;
        if (!known)
            return http_error(c, rq->request_id, 400, "bad_request",
                              "state must be one of queued, running, succeeded, failed, "
                              "timed_out, cancelled");
    }
    if (f.cursor) {
        /* The next_cursor of an earlier page: an execution id. */
        size_t n = strlen(f.cursor);
        if (n != 36 || strspn(f.cursor, "0123456789abcdef-") != n)
            return http_error(c, rq->request_id, 400, "bad_request",
                              "cursor takes the next_cursor of an earlier page");
    }
    const char *limit = param(rq, "limit");
    f.limit = 50;
    if (limit) {
        size_t n = strlen(limit);
        f.limit = n && n <= 3 && strspn(limit, "0123456789") == n ? atoi(limit) : 0;
    }
    if (f.limit < 1 || f.limit > 500)
        return http_error(c, rq->request_id, 400, "bad_request",
                          "limit must be a whole number from 1 to 500");
    if (parse_time(param(rq, "since"), &f.since_ms) < 0 ||
        parse_time(param(rq, "until"), &f.until_ms) < 0)
        return http_error(c, rq->request_id, 400, "bad_request",
                          "since and until take RFC 3339 times or epoch milliseconds");
    if (f.since_ms && f.until_ms && f.since_ms > f.until_ms)
        return http_error(c, rq->request_id, 400, "bad_request", "since is after until");
    char *next = NULL;
    json_t *items = store_list(&f, &next);
    json_t *d = json_object();
    json_object_set_new(d, "executions", items);
    json_object_set_new(d, "next_cursor", next ? json_string(next) : json_null());
    free(next);
    return http_reply(c, rq->request_id, 200, d, NULL, NULL, NULL);
}

static int cancel_execution(struct MHD_Connection *c, const http_request *rq, const char *id)
{
    sluice_exec *e = engine_find(id);
    if (!e) {
        json_t *doc = store_get_json(id, 0);
        if (!doc)
            return http_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
        return http_reply(c, rq->request_id, 409, doc, "already_finished",
                          "the execution has already finished", NULL);
    }
    int rc = engine_cancel(e, SLUICE_CANCEL_REQUEST);
    log_msg(LOG_INFO, rq->request_id, "cancel requested for exec=%s flow=%s", e->id,
            e->flow->key);
    json_t *doc = exec_to_json(e, 0);
    exec_unref(e);
    if (rc < 0)
        return http_reply(c, rq->request_id, 409, doc, "already_finished",
                          "the execution has already finished", NULL);
    return http_reply(c, rq->request_id, 202, doc, NULL, NULL, NULL);
}

/*
 * The output of one attempt: the last by default (the execution's own
 * stdout and stderr, as before attempts were kept), ?attempt=N that one,
 * ?attempt=all every attempt, each labelled with its number and state.
 */
static int execution_logs(struct MHD_Connection *c, const http_request *rq, const char *id)
{
    const char *which = param(rq, "attempt");
    long n = 0;
    if (which && strcmp(which, "all") != 0) {
        char *end;
        n = strtol(which, &end, 10);
        if (!*which || *end || n < 1 || n > 1000)
            return http_error(c, rq->request_id, 400, "bad_request",
                              "attempt takes an attempt number (1, 2, ...) or \"all\"");
    }
    json_t *doc = store_get_json(id, 1);
    if (!doc)
        return http_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
    json_t *d = json_object();
    json_object_set(d, "id", json_object_get(doc, "id"));
    json_t *attempts = json_object_get(doc, "attempts");
    if (!which) {
        json_object_set(d, "state", json_object_get(doc, "state"));
        json_object_set(d, "attempt", json_object_get(doc, "attempt"));
        json_object_set(d, "stdout", json_object_get(doc, "stdout"));
        json_object_set(d, "stderr", json_object_get(doc, "stderr"));
    } else if (!n) {
        json_object_set(d, "state", json_object_get(doc, "state"));
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(attempts, i, x)
        {
            json_t *o = json_object();
            static const char *const keys[] = {"attempt", "state", "exit_code", "stdout",
                                               "stderr"};
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                json_object_set(o, keys[k], json_object_get(x, keys[k]));
            json_array_append_new(a, o);
        }
        json_object_set_new(d, "attempts", a);
    } else {
        json_t *hit = NULL;
        size_t i;
        json_t *x;
        json_array_foreach(attempts, i, x)
        {
            if (json_integer_value(json_object_get(x, "attempt")) == n)
                hit = x;
        }
        if (!hit) {
            json_decref(d);
            json_decref(doc);
            return http_error(c, rq->request_id, 404, "not_found",
                              "execution %s has no attempt %ld on record", id, n);
        }
        json_object_set(d, "state", json_object_get(hit, "state"));
        json_object_set(d, "attempt", json_object_get(hit, "attempt"));
        json_object_set(d, "exit_code", json_object_get(hit, "exit_code"));
        json_object_set(d, "stdout", json_object_get(hit, "stdout"));
        json_object_set(d, "stderr", json_object_get(hit, "stderr"));
    }
    json_decref(doc);
    return http_reply(c, rq->request_id, 200, d, NULL, NULL, NULL);
}

/* A short, bounded wait for one commit: admin operations are rare, so the
 * replay path keeps it simple instead of parking the connection. */
typedef struct replay_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sluice_exec *e;
    int committed, durable, done;
} replay_wait;

static void replay_committed(void *arg)
{
    replay_wait *w = arg;
    if (w->e->store_status == STORE_OK)
        engine_enqueue(&w->e, 1, 1);
    else
        engine_unreserve(1, w->e->qbytes);
    w->committed = 1;
}

static void replay_stored(void *arg, int durable)
{
    replay_wait *w = arg;
    if (!w->committed)
        engine_unreserve(1, w->e->qbytes);
    w->durable = durable;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/*
 * A new execution of a stored request: the same event (a new execution_id,
 * and "replay_of" naming the original) and the same body bytes, so a
 * plugin that forwards the body byte for byte forwards what first came.
 */
static int replay_execution(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
                            const char *id)
{
    store_row r;
    if (store_load_request(id, &r) < 0)
        return http_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
    int ret;
    char nid[40], err[300];
    sluice_exec *e = NULL;
    trigger_def *t = config_find_trigger(cfg, r.trigger);
    flow_def *f = config_find_flow(cfg, r.flow);
    json_t *ev = json_loadb(r.event, r.event_len, JSON_ALLOW_NUL, NULL);
    if (!t || !f || !json_is_object(ev)) {
        ret = http_error(c, rq->request_id, 409, "not_replayable",
                         "trigger %s or flow %s is no longer configured", r.trigger, r.flow);
        goto out;
    }
    size_t qbytes = engine_exec_bytes(0, r.event_len);
    if (engine_reserve(1, qbytes) < 0) {
        const char *hdrs[] = {"Retry-After", "1", NULL};
        ret = http_reply(c, rq->request_id, 503, NULL, "queue_full",
                         "the execution queue is full; retry later", hdrs);
        goto out;
    }
    units_uuidv7(nid);
    json_object_set_new(ev, "execution_id", json_string(nid));
    json_object_set_new(ev, "replay_of", json_string(id));
    char *text = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
    e = text ? exec_from_store(cfg, t, f, nid, rq->request_id, text, strlen(text), r.raw, r.body,
                               r.function, r.headers, units_now_ms(), err, sizeof(err))
             : NULL;
    if (!e) {
        engine_unreserve(1, qbytes);
        ret = http_error(c, rq->request_id, 409, "not_replayable", "execution %s: %s", id,
                         text ? err : "out of memory");
        goto out;
    }
    e->qbytes = qbytes; /* what was reserved, released as it is enqueued */
    snprintf(e->replay_of, sizeof(e->replay_of), "%s", id);
    replay_wait w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .e = e};
    store_accept(&e, 1, replay_committed, replay_stored, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (e->store_status != STORE_OK || !w.durable) {
        const char *hdrs[] = {"Retry-After", "5", NULL};
        ret = http_reply(c, rq->request_id, 503, NULL, "store_unavailable",
                         "the execution store cannot take work now", hdrs);
    } else {
        log_msg(LOG_INFO, rq->request_id, "replay of exec=%s queued as exec=%s flow=%s", id, nid,
                f->key);
        json_t *d = json_object();
        json_object_set_new(d, "execution_id", json_string(nid));
        json_object_set_new(d, "replay_of", json_string(id));
        json_object_set_new(d, "flow", json_string(f->key));
        char url[128];
        snprintf(url, sizeof(url), "/api/v1/executions/%s", nid);
        json_object_set_new(d, "status_url", json_string(url));
        const char *hdrs[] = {"Location", url, NULL};
        ret = http_reply(c, rq->request_id, 202, d, NULL, NULL, hdrs);
    }
    exec_unref(e);
out:
    json_decref(ev);
    store_row_clear(&r);
    return ret;
}

static int method_not_allowed(struct MHD_Connection *c, const http_request *rq,
                              const char *allow);

/* Shipyard's "replace" and "remove" for capability URLs. */
static int trigger_token(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
                         const char *id)
{
    char err[256] = "";
    int del = strcmp(rq->method, "DELETE") == 0;
    if (!del && strcmp(rq->method, "POST") != 0)
        return method_not_allowed(c, rq, "POST, DELETE");
    char tok[CAPTOKEN_LEN + 1] = "";
    int rc = del ? captoken_remove(cfg, id, err, sizeof(err))
                 : captoken_regenerate(cfg, id, tok, sizeof(tok), err, sizeof(err));
    if (rc == -1)
        return http_error(c, rq->request_id, 404, "not_found", "%s",
                          err[0] ? err : "no capability trigger by that id");
    if (rc < 0)
        return http_error(c, rq->request_id, 500, "state_unwritable", "%s", err);
    log_msg(LOG_INFO, rq->request_id, "trigger %s: capability URL %s through the API", id,
            del ? "removed" : "replaced");
    json_t *d = json_object();
    json_object_set_new(d, "trigger", json_string(id));
    if (del) {
        json_object_set_new(d, "url", json_null());
        return http_reply(c, rq->request_id, 200, d, NULL, NULL, NULL);
    }
    char url[CAPTOKEN_LEN + 4];
    snprintf(url, sizeof(url), "/t/%s", tok);
    json_object_set_new(d, "url", json_string(url));
    return http_reply(c, rq->request_id, 201, d, NULL, NULL, NULL);
}

static int health(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
                  int ready)
{
    int ok = !ready || (store_healthy() && cfg->bound);
    json_t *d = json_object();
    json_object_set_new(d, "status", json_string(ok ? "ok" : "unavailable"));
    json_object_set_new(d, "store", json_string(store_healthy() ? "ok" : "failing"));
    json_object_set_new(d, "plugins", json_string(cfg->bound ? "ok" : "not loaded"));
    json_object_set_new(d, "queued", json_integer((json_int_t)engine_queued()));
    json_object_set_new(d, "running", json_integer((json_int_t)engine_running()));
    json_object_set_new(d, "queue_capacity", json_integer((json_int_t)engine_capacity()));
    json_t *fg = gitsync_status_json();
    if (fg)
        json_object_set_new(d, "flows_git", fg);
    if (ok)
        return http_reply(c, rq->request_id, 200, d, NULL, NULL, NULL);
    return http_reply(c, rq->request_id, 503, d, "not_ready", "the store is failing", NULL);
}

static int method_not_allowed(struct MHD_Connection *c, const http_request *rq,
                              const char *allow)
{
    const char *hdrs[] = {"Allow", allow, NULL};
    return http_reply(c, rq->request_id, 405, NULL, "method_not_allowed",
                      "this resource does not accept this method", hdrs);
}

/*
 * POST /api/v1/reload answers with the outcome, and reloading runs plugin
 * code (configure), which never runs on an HTTP thread. So the request is
 * parked: its connection is suspended and put on this list, the main
 * thread is woken as SIGHUP would wake it, and when that reload is done
 * (api_reload_end) each parked connection gets its answer and is resumed.
 * Signals coalesce, so one reload may answer several requests; a request
 * parked after a reload began waits for the next one, which its own
 * SIGHUP brings.
 */
struct api_park {
    struct api_park *next;
    struct MHD_Connection *conn;
    unsigned status;
    json_t *data;
    char *code, *message;
};

/* How long shutdown waits for answered reload requests to be sent. */
#define RELOAD_SEND_WAIT_S 5

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    api_park *head;
    int closed;    /* shutting down: no more parking */
    int answering; /* resumed, and their connections not done with them yet */
} reloads = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int reload_park(struct MHD_Connection *c, const http_request *rq, api_park **out)
{
    api_park *p = xcalloc(1, sizeof(*p));
    p->conn = c;
    pthread_mutex_lock(&reloads.mu);
    if (reloads.closed) {
        pthread_mutex_unlock(&reloads.mu);
        free(p);
        const char *hdrs[] = {"Retry-After", "5", NULL};
        return http_reply(c, rq->request_id, 503, NULL, "shutting_down",
                          "sluiced is shutting down", hdrs);
    }
    /* Suspended before it is listed: once listed it may be resumed at any
     * moment, and MHD must not see a resume before its suspend. */
    MHD_suspend_connection(c);
    p->next = reloads.head;
    reloads.head = p;
    pthread_mutex_unlock(&reloads.mu);
    *out = p;
    log_msg(LOG_INFO, rq->request_id, "reload requested through the API");
    kill(getpid(), SIGHUP);
    return MHD_YES;
}

api_park *api_reload_begin(void)
{
    pthread_mutex_lock(&reloads.mu);
    api_park *list = reloads.head;
    reloads.head = NULL;
    pthread_mutex_unlock(&reloads.mu);
    return list;
}

static void reload_answer(api_park *list, const sluice_config *cfg, const char *err,
                          const char *const *restart_needed, unsigned status, const char *code)
{
    while (list) {
        api_park *p = list;
        list = p->next;
        json_t *d = json_object();
        if (cfg) {
            json_object_set_new(d, "reload", json_string("done"));
            json_object_set_new(d, "config", json_string(cfg->path));
            json_object_set_new(d, "flows", json_integer((json_int_t)cfg->n_flows));
            json_object_set_new(d, "triggers", json_integer((json_int_t)cfg->n_triggers));
            json_t *r = json_array();
            for (const char *const *n = restart_needed; n && *n; n++)
                json_array_append_new(r, json_string(*n));
            json_object_set_new(d, "restart_required", r);
        } else {
            json_object_set_new(d, "reload", json_string("rejected"));
            json_t *errs = json_array();
            if (status == 422)
                json_array_append_new(errs, json_string(err));
            json_object_set_new(d, "errors", errs);
            p->code = xstrdup(code);
            p->message = xstrdup(err);
        }
        p->status = status;
        p->data = d;
        pthread_mutex_lock(&reloads.mu);
        reloads.answering++;
        pthread_mutex_unlock(&reloads.mu);
        /* From here the connection owns p and may free it at once. */
        MHD_resume_connection(p->conn);
    }
}

void api_reload_end(api_park *list, const sluice_config *cfg, const char *err,
                    const char *const *restart_needed)
{
    reload_answer(list, cfg, err, restart_needed, cfg ? 200 : 422,
                  cfg ? NULL : "config_invalid");
}

void api_reload_shutdown(void)
{
    pthread_mutex_lock(&reloads.mu);
    reloads.closed = 1;
    api_park *list = reloads.head;
    reloads.head = NULL;
    pthread_mutex_unlock(&reloads.mu);
    reload_answer(list, NULL, "sluiced is shutting down; the reload did not happen", NULL, 503,
                  "shutting_down");
    /* A resumed connection still has to be answered and its answer sent;
     * stopping the daemons now would cut it off. Bounded: a client that
     * does not read cannot hold the shutdown. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RELOAD_SEND_WAIT_S;
    pthread_mutex_lock(&reloads.mu);
    while (reloads.answering > 0 &&
           pthread_cond_timedwait(&reloads.cv, &reloads.mu, &until) == 0)
        ;
    pthread_mutex_unlock(&reloads.mu);
}

int api_resume(struct MHD_Connection *c, const http_request *rq, api_park *p)
{
    json_t *d = p->data;
    p->data = NULL; /* http_reply takes it */
    if (p->status == 503) {
        const char *hdrs[] = {"Retry-After", "5", NULL};
        return http_reply(c, rq->request_id, 503, d, p->code, p->message, hdrs);
    }
    if (p->status == 200)
        log_msg(LOG_INFO, rq->request_id, "reload through the API: done");
    else
        log_msg(LOG_INFO, rq->request_id, "reload through the API: rejected: %s", p->message);
    return http_reply(c, rq->request_id, p->status, d, p->code, p->message, NULL);
}

/* When the request is done: its answer has been sent, or never will be. */
void api_park_free(api_park *p)
{
    if (!p)
        return;
    if (p->status) {
        pthread_mutex_lock(&reloads.mu);
        reloads.answering--;
        pthread_cond_broadcast(&reloads.cv);
        pthread_mutex_unlock(&reloads.mu);
    }
    json_decref(p->data);
    free(p->code);
    free(p->message);
    free(p);
}

int api_handle(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
               int loopback, int *result, api_park **park)
{
    static const char *const none[] = {NULL};
    const char *p = rq->path;
    int get = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;
    int post = strcmp(rq->method, "POST") == 0;

    if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0) {
        if (!get)
            *result = method_not_allowed(c, rq, "GET, HEAD");
        else if (check_params(c, rq, none, result) == 0)
            *result = health(c, rq, cfg, p[1] == 'r');
        return 1;
    }
    if (strcmp(p, "/metrics") == 0) {
        if (!get) {
            *result = method_not_allowed(c, rq, "GET, HEAD");
            return 1;
        }
        if (!apiauth_check(c, rq, cfg, loopback, 1)) {
            *result = MHD_YES;
            return 1;
        }
        if (check_params(c, rq, none, result) < 0)
            return 1;
        size_t len;
        char *text = metrics_render(&len);
        struct MHD_Response *r =
            MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
        MHD_add_response_header(r, "X-Request-Id", rq->request_id);
        *result = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return 1;
    }
    if (strncmp(p, "/api/v1/", 8) != 0)
        return 0;

    /* Which admin resource, if any: executions/{id}[/verb] has at most two
     * segments after "executions"; longer paths belong to triggers. */
    const char *rest = p + 8;
    char id[64] = "", verb[16] = "";
    int kind = 0;
    if (strcmp(rest, "executions") == 0) {
        kind = 1;
    } else if (strncmp(rest, "executions/", 11) == 0) {
        const char *s = rest + 11;
        size_t n = strcspn(s, "/");
        if (n == 0 || n >= sizeof(id))
            return 0;
        memcpy(id, s, n);
        id[n] = 0;
        if (s[n] == 0) {
            kind = 2;
        } else {
            const char *v = s + n + 1;
            if (strchr(v, '/') || strlen(v) >= sizeof(verb))
                return 0;
            snprintf(verb, sizeof(verb), "%s", v);
            if (strcmp(verb, "logs") != 0 && strcmp(verb, "cancel") != 0 &&
                strcmp(verb, "replay") != 0)
                return 0;
            kind = 3;
        }
    } else if (strcmp(rest, "flows") == 0) {
        kind = 4;
    } else if (strcmp(rest, "triggers") == 0) {
        kind = 5;
    } else if (strcmp(rest, "reload") == 0) {
        kind = 6;
    } else if (strncmp(rest, "triggers/", 9) == 0) {
        const char *s = rest + 9;
        size_t n = strcspn(s, "/");
        if (n == 0 || n >= sizeof(id) || strcmp(s + n, "/token") != 0)
            return 0;
        memcpy(id, s, n);
        id[n] = 0;
        kind = 7;
    } else {
        return 0;
    }
    if (!apiauth_check(c, rq, cfg, loopback, 0)) {
        *result = MHD_YES;
        return 1;
    }
    static const char *const list_params[] = {"flow",  "trigger", "state", "since",
                                              "until", "limit",   "cursor", NULL};
    static const char *const logs_params[] = {"follow", "attempt", NULL};
    const char *const *takes = kind == 1                              ? list_params
                               : kind == 3 && strcmp(verb, "logs") == 0 ? logs_params
                                                                        : none;
    if (check_params(c, rq, takes, result) < 0)
        return 1;
    if (takes == logs_params && !flag_valid(rq, "follow")) {
        *result = http_error(c, rq->request_id, 400, "bad_request",
                             "follow takes no value, or 1, true, 0, false");
        return 1;
    }
    switch (kind) {
    case 1:
        *result = get ? list_executions(c, rq) : method_not_allowed(c, rq, "GET, HEAD");
        break;
    case 2: {
        if (!get) {
            *result = method_not_allowed(c, rq, "GET, HEAD");
            break;
        }
        json_t *doc = store_get_json(id, 1);
        *result = doc ? http_reply(c, rq->request_id, 200, doc, NULL, NULL, NULL)
                      : http_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
        break;
    }
    case 3:
        if (strcmp(verb, "logs") == 0) {
            if (!get) {
                *result = method_not_allowed(c, rq, "GET, HEAD");
                break;
            }
            if (flag(rq, "follow")) {
                *result = follow_handle(c, rq, cfg, id);
                break;
            }
            *result = execution_logs(c, rq, id);
        } else if (!post) {
            *result = method_not_allowed(c, rq, "POST");
        } else if (strcmp(verb, "cancel") == 0) {
            *result = cancel_execution(c, rq, id);
        } else {
            *result = replay_execution(c, rq, cfg, id);
        }
        break;
    case 4: {
        /* A rejected flows.git commit rides in the envelope's error member:
         * the listing (data) stays what is serving. */
        char *rejected = get ? gitsync_rejection_text() : NULL;
        *result = get ? http_reply(c, rq->request_id, 200, flows_json(cfg),
                                   rejected ? "commit_rejected" : NULL, rejected, NULL)
                      : method_not_allowed(c, rq, "GET, HEAD");
        free(rejected);
        break;
    }
    case 5:
        *result = get ? http_reply(c, rq->request_id, 200, triggers_json(cfg), NULL, NULL, NULL)
                      : method_not_allowed(c, rq, "GET, HEAD");
        break;
    case 6:
        if (!post) {
            *result = method_not_allowed(c, rq, "POST");
            break;
        }
        *result = reload_park(c, rq, park);
        break;
    case 7:
        *result = trigger_token(c, rq, cfg, id);
        break;
    }
    return 1;
}
