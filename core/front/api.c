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
#include "generation.h"
#include "prematch.h"
#include "xalloc.h"

#include "engine.h"
#include "exec.h"
#include "follow.h"
#include "gitsync.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "router.h"
#include "store.h"
#include "units.h"

#include <microhttpd.h>
#include <pthread.h>
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
            *result = allowed[0] ? reply_error(c, rq->request_id, 400, "bad_request",
                                               "unknown query parameter \"%.64s\"; this "
                                               "endpoint takes %s",
                                               n, takes)
                                 : reply_error(c, rq->request_id, 400, "bad_request",
                                               "unknown query parameter \"%.64s\"; this "
                                               "endpoint takes no query parameters",
                                               n);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(rq->params[j].name, n) == 0) {
                *result = reply_error(c, rq->request_id, 400, "bad_request",
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

static json_t *flows_json(generation *gen)
{
    sluice_config *cfg = generation_config(gen);
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
        flow_rt *rt = generation_flow(gen, f);
        json_object_set_new(o, "running", json_integer(atomic_load(&rt->running)));
        json_object_set_new(o, "queued", json_integer(atomic_load(&rt->queued)));
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
            int st = prematch_token_get(cfg, t->id, tok, sizeof(tok));
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
    static const char *const states[] = {"queued",    "running",   "succeeded", "failed",
                                         "timed_out", "cancelled", "unknown",   NULL};
    store_filter f = {0};
    f.flow = param(rq, "flow");
    f.trigger = param(rq, "trigger");
    f.state = param(rq, "state");
    f.cursor = param(rq, "cursor");
    if ((f.flow && !*f.flow) || (f.trigger && !*f.trigger))
        return reply_error(c, rq->request_id, 400, "bad_request",
                           "flow and trigger take a flow key or a trigger id, not nothing");
    if (f.state) {
        int known = 0;
        for (const char *const *st = states; *st && !known; st++)
            known = strcmp(*st, f.state) == 0;
        if (!known)
            return reply_error(c, rq->request_id, 400, "bad_request",
                               "state must be one of queued, running, succeeded, failed, "
                               "timed_out, cancelled");
    }
    if (f.cursor) {
        /* The next_cursor of an earlier page: an execution id. */
        size_t n = strlen(f.cursor);
        if (n != 36 || strspn(f.cursor, "0123456789abcdef-") != n)
            return reply_error(c, rq->request_id, 400, "bad_request",
                               "cursor takes the next_cursor of an earlier page");
    }
    const char *limit = param(rq, "limit");
    f.limit = 50;
    if (limit) {
        size_t n = strlen(limit);
        f.limit = n && n <= 3 && strspn(limit, "0123456789") == n ? atoi(limit) : 0;
    }
    if (f.limit < 1 || f.limit > 500)
        return reply_error(c, rq->request_id, 400, "bad_request",
                           "limit must be a whole number from 1 to 500");
    if (parse_time(param(rq, "since"), &f.since_ms) < 0 ||
        parse_time(param(rq, "until"), &f.until_ms) < 0)
        return reply_error(c, rq->request_id, 400, "bad_request",
                           "since and until take RFC 3339 times or epoch milliseconds");
    if (f.since_ms && f.until_ms && f.since_ms > f.until_ms)
        return reply_error(c, rq->request_id, 400, "bad_request", "since is after until");
    char *next = NULL;
    json_t *items = store_list(&f, &next);
    json_t *d = json_object();
    json_object_set_new(d, "executions", items);
    json_object_set_new(d, "next_cursor", next ? json_string(next) : json_null());
    free(next);
    return reply_json(c, rq->request_id, 200, d, NULL, NULL, NULL);
}

static int cancel_execution(struct MHD_Connection *c, const http_request *rq, const char *id)
{
    sluice_exec *e = engine_find(id);
    if (!e) {
        json_t *doc = store_get_json(id, 0);
        if (!doc)
            return reply_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
        return reply_json(c, rq->request_id, 409, doc, "already_finished",
                          "the execution has already finished", NULL);
    }
    int rc = engine_cancel(e, SLUICE_CANCEL_REQUEST);
    log_msg(LOG_INFO, rq->request_id, "cancel requested for exec=%s flow=%s", exec_id(e),
            exec_flow(e)->key);
    json_t *doc = exec_to_json(e, 0);
    exec_unref(e);
    if (rc < 0)
        return reply_json(c, rq->request_id, 409, doc, "already_finished",
                          "the execution has already finished", NULL);
    return reply_json(c, rq->request_id, 202, doc, NULL, NULL, NULL);
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
            return reply_error(c, rq->request_id, 400, "bad_request",
                               "attempt takes an attempt number (1, 2, ...) or \"all\"");
    }
    json_t *doc = store_get_json(id, 1);
    if (!doc)
        return reply_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
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
            static const char *const keys[] = {"attempt", "state", "exit_code", "stdout", "stderr"};
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
            return reply_error(c, rq->request_id, 404, "not_found",
                               "execution %s has no attempt %ld on record", id, n);
        }
        json_object_set(d, "state", json_object_get(hit, "state"));
        json_object_set(d, "attempt", json_object_get(hit, "attempt"));
        json_object_set(d, "exit_code", json_object_get(hit, "exit_code"));
        json_object_set(d, "stdout", json_object_get(hit, "stdout"));
        json_object_set(d, "stderr", json_object_get(hit, "stderr"));
    }
    json_decref(doc);
    return reply_json(c, rq->request_id, 200, d, NULL, NULL, NULL);
}

/*
 * A parked admin request: a reload (answered by the main thread, see
 * api_reload_begin) or a replay (answered once intake has stored it).
 * Either way its connection is suspended and resumed when the answer is
 * ready, as a webhook's is, so no HTTP thread waits.
 */
struct api_park {
    struct api_park *next;
    struct MHD_Connection *conn;
    int reload;
    unsigned status;
    json_t *data;
    char *code, *message;
    /* A replay: what the store made of it (replay_stored). */
    pthread_mutex_t mu;
    int parked, ready;
    intake_result result;
    sluice_exec *e;
    const trigger_def *trigger;
    char replay_of[40];
};

static api_park *park_new(struct MHD_Connection *c)
{
    api_park *p = xcalloc(1, sizeof(*p));
    p->conn = c;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

/* What the replay's builder needs. */
typedef struct replay_build {
    generation *gen;
    trigger_def *t;
    flow_def *f;
    store_row *r;
    json_t *ev;
    const char *id, *request_id;
    uint64_t received_ms;
    char err[300];
} replay_build;

/* The same event (a new execution_id, and "replay_of" naming the
 * original) and the same body bytes. */
static size_t replay_build_exec(void *arg, sluice_exec **out, size_t n)
{
    replay_build *b = arg;
    (void)n;
    char nid[40];
    units_uuidv7(nid);
    json_object_set_new(b->ev, "execution_id", json_string(nid));
    json_object_set_new(b->ev, "replay_of", json_string(b->id));
    char *text = json_dumps(b->ev, JSON_COMPACT | JSON_ENCODE_ANY);
    sluice_exec *e =
        text ? exec_from_store(b->gen, b->t, generation_flow(b->gen, b->f), nid, b->request_id,
                               text, strlen(text), b->r->raw, b->r->body, b->r->function,
                               b->r->headers, b->received_ms, b->err, sizeof(b->err))
             : NULL;
    if (!e) {
        if (!text)
            snprintf(b->err, sizeof(b->err), "out of memory");
        return 0;
    }
    exec_set_replay_of(e, b->id);
    out[0] = e;
    return 1;
}

/* Syncer thread: the replay is stored (or not); its connection may go on. */
static void replay_stored(void *arg, intake_result r)
{
    api_park *p = arg;
    pthread_mutex_lock(&p->mu);
    p->result = r;
    p->ready = 1;
    int resume = p->parked;
    pthread_mutex_unlock(&p->mu);
    /* From here the connection owns p and may free it at once. */
    if (resume)
        MHD_resume_connection(p->conn);
}

/* The answer to a stored replay, on an HTTP thread (the store is read). */
static int replay_answer(struct MHD_Connection *c, const http_request *rq, api_park *p)
{
    sluice_exec *e = p->e;
    if (p->result == INTAKE_STORE_FAILED) {
        log_msg(LOG_ERROR, rq->request_id, "replay of exec=%s: 503 the store could not record it",
                p->replay_of);
        const char *hdrs[] = {"Retry-After", "5", NULL};
        return reply_json(c, rq->request_id, 503, NULL, "store_unavailable",
                          "the execution store cannot take work now", hdrs);
    }
    if (p->result == INTAKE_DUPLICATE) {
        char ids[1][40];
        snprintf(ids[0], sizeof(ids[0]), "%s", exec_dup_of(e));
        return reply_duplicate(c, rq, p->trigger, ids, 1);
    }
    log_msg(LOG_INFO, rq->request_id, "replay of exec=%s queued as exec=%s flow=%s", p->replay_of,
            exec_id(e), exec_flow(e)->key);
    json_t *d = json_object();
    json_object_set_new(d, "execution_id", json_string(exec_id(e)));
    json_object_set_new(d, "replay_of", json_string(p->replay_of));
    json_object_set_new(d, "flow", json_string(exec_flow(e)->key));
    char url[128];
    snprintf(url, sizeof(url), "/api/v1/executions/%s", exec_id(e));
    json_object_set_new(d, "status_url", json_string(url));
    const char *hdrs[] = {"Location", url, NULL};
    return reply_json(c, rq->request_id, 202, d, NULL, NULL, hdrs);
}

/*
 * A new execution of a stored request, admitted as a webhook is
 * (intake_submit): the flow's concurrency and on_limit, the queue's room,
 * and an Idempotency-Key the replay request itself carries (a retried
 * replay is answered as a duplicate of the first instead of running
 * again). The connection is parked until the store has it.
 */
static int replay_execution(struct MHD_Connection *c, const http_request *rq, generation *gen,
                            const char *id, api_park **park)
{
    sluice_config *cfg = generation_config(gen);
    store_row r;
    if (store_load_request(id, &r) < 0)
        return reply_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
    int ret;
    trigger_def *t = config_find_trigger(cfg, r.trigger);
    flow_def *f = config_find_flow(cfg, r.flow);
    json_t *ev = json_loadb(r.event, r.event_len, JSON_ALLOW_NUL, NULL);
    if (!t || !f || !json_is_object(ev)) {
        ret = reply_error(c, rq->request_id, 409, "not_replayable",
                          "trigger %s or flow %s is no longer configured", r.trigger, r.flow);
        goto out;
    }
    /* Scoped to the original: the same key on another replay, or on a
     * webhook of the trigger, is another request. */
    const char *key = event_header(rq, "idempotency-key");
    char idem[400];
    if (key && *key)
        snprintf(idem, sizeof(idem), "replay:%s:%.300s", id, key);
    replay_build b = {.gen = gen,
                      .t = t,
                      .f = f,
                      .r = &r,
                      .ev = ev,
                      .id = id,
                      .request_id = rq->request_id,
                      .received_ms = rq->received_ms};
    api_park *p = park_new(c);
    p->trigger = t;
    snprintf(p->replay_of, sizeof(p->replay_of), "%s", id);
    flow_rt *flows[1] = {generation_flow(gen, f)};
    intake_request in = {
        .request_id = rq->request_id,
        .trigger = t,
        .flows = flows,
        .n_flows = 1,
        .idem_key = key && *key ? idem : NULL,
        .received_ms = rq->received_ms,
        .qbytes = engine_exec_bytes(0, r.event_len),
        .build = replay_build_exec,
        .build_arg = &b,
        .done = replay_stored,
        .arg = p,
    };
    intake_refusal why;
    intake_status st = intake_submit(&in, &p->e, &why);
    if (st == INTAKE_SUBMITTED) {
        pthread_mutex_lock(&p->mu);
        if (!p->ready) {
            MHD_suspend_connection(c);
            p->parked = 1;
        }
        pthread_mutex_unlock(&p->mu);
        if (p->parked) {
            *park = p;
            ret = MHD_YES;
        } else {
            ret = replay_answer(c, rq, p);
            api_park_free(p);
        }
        goto out;
    }
    api_park_free(p);
    if (st == INTAKE_NOT_BUILT) {
        ret = reply_error(c, rq->request_id, 409, "not_replayable", "execution %s: %s", id, b.err);
    } else if (st == INTAKE_SEEN) {
        ret = reply_duplicate(c, rq, t, why.dup_ids, why.n_dups);
    } else {
        log_msg(st == INTAKE_FLOW_BUSY ? LOG_INFO : LOG_WARN, rq->request_id,
                "replay of exec=%s refused: %u %s", id, why.status, why.message);
        const char *hdrs[] = {"Retry-After", why.retry_after, NULL};
        ret = reply_json(c, rq->request_id, why.status, NULL, why.code, why.message, hdrs);
    }
out:
    json_decref(ev);
    store_row_clear(&r);
    return ret;
}

/* Shipyard's "replace" and "remove" for capability URLs. */
static int trigger_token(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
                         const char *id, int del)
{
    char err[256] = "";
    char tok[CAPTOKEN_LEN + 1] = "";
    int rc = del ? prematch_token_remove(cfg, id, err, sizeof(err))
                 : prematch_token_regenerate(cfg, id, tok, sizeof(tok), err, sizeof(err));
    if (rc == -1)
        return reply_error(c, rq->request_id, 404, "not_found", "%s",
                           err[0] ? err : "no capability trigger by that id");
    if (rc < 0)
        return reply_error(c, rq->request_id, 500, "state_unwritable", "%s", err);
    log_msg(LOG_INFO, rq->request_id, "trigger %s: capability URL %s through the API", id,
            del ? "removed" : "replaced");
    json_t *d = json_object();
    json_object_set_new(d, "trigger", json_string(id));
    if (del) {
        json_object_set_new(d, "url", json_null());
        return reply_json(c, rq->request_id, 200, d, NULL, NULL, NULL);
    }
    char url[CAPTOKEN_LEN + 4];
    snprintf(url, sizeof(url), "/t/%s", tok);
    json_object_set_new(d, "url", json_string(url));
    return reply_json(c, rq->request_id, 201, d, NULL, NULL, NULL);
}

/* Only a bound generation is served (generation.h): its plugins are loaded. */
static int health(struct MHD_Connection *c, const http_request *rq, int ready)
{
    int ok = !ready || store_healthy();
    json_t *d = json_object();
    json_object_set_new(d, "status", json_string(ok ? "ok" : "unavailable"));
    json_object_set_new(d, "store", json_string(store_healthy() ? "ok" : "failing"));
    json_object_set_new(d, "plugins", json_string("ok"));
    json_object_set_new(d, "queued", json_integer((json_int_t)engine_queued()));
    json_object_set_new(d, "running", json_integer((json_int_t)engine_running()));
    json_object_set_new(d, "queue_capacity", json_integer((json_int_t)engine_capacity()));
    json_t *fg = gitsync_status_json();
    if (fg)
        json_object_set_new(d, "flows_git", fg);
    if (ok)
        return reply_json(c, rq->request_id, 200, d, NULL, NULL, NULL);
    return reply_json(c, rq->request_id, 503, d, "not_ready", "the store is failing", NULL);
}

static int method_not_allowed(struct MHD_Connection *c, const http_request *rq, const char *allow)
{
    const char *hdrs[] = {"Allow", allow, NULL};
    return reply_json(c, rq->request_id, 405, NULL, "method_not_allowed",
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
    api_park *p = park_new(c);
    p->reload = 1;
    pthread_mutex_lock(&reloads.mu);
    if (reloads.closed) {
        pthread_mutex_unlock(&reloads.mu);
        api_park_free(p);
        const char *hdrs[] = {"Retry-After", "5", NULL};
        return reply_json(c, rq->request_id, 503, NULL, "shutting_down", "sluiced is shutting down",
                          hdrs);
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
    reload_answer(list, cfg, err, restart_needed, cfg ? 200 : 422, cfg ? NULL : "config_invalid");
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
    while (reloads.answering > 0 && pthread_cond_timedwait(&reloads.cv, &reloads.mu, &until) == 0)
        ;
    pthread_mutex_unlock(&reloads.mu);
}

int api_resume(struct MHD_Connection *c, const http_request *rq, api_park *p)
{
    if (!p->reload)
        return replay_answer(c, rq, p);
    json_t *d = p->data;
    p->data = NULL; /* reply_json takes it */
    if (p->status == 503) {
        const char *hdrs[] = {"Retry-After", "5", NULL};
        return reply_json(c, rq->request_id, 503, d, p->code, p->message, hdrs);
    }
    if (p->status == 200)
        log_msg(LOG_INFO, rq->request_id, "reload through the API: done");
    else
        log_msg(LOG_INFO, rq->request_id, "reload through the API: rejected: %s", p->message);
    return reply_json(c, rq->request_id, p->status, d, p->code, p->message, NULL);
}

/* When the request is done: its answer has been sent, or never will be. */
void api_park_free(api_park *p)
{
    if (!p)
        return;
    if (p->reload && p->status) {
        pthread_mutex_lock(&reloads.mu);
        reloads.answering--;
        pthread_cond_broadcast(&reloads.cv);
        pthread_mutex_unlock(&reloads.mu);
    }
    json_decref(p->data);
    free(p->code);
    free(p->message);
    if (p->e)
        exec_unref(p->e);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ---- routing ---- */

/* One admin request as its handler sees it. */
typedef struct api_call {
    struct MHD_Connection *c;
    const http_request *rq;
    generation *gen;
    sluice_config *cfg; /* gen's, borrowed */
    const char *id;     /* the path's {id}, or NULL */
    api_park **park;
} api_call;

static int h_live(const api_call *a)
{
    return health(a->c, a->rq, 0);
}

static int h_ready(const api_call *a)
{
    return health(a->c, a->rq, 1);
}

static int h_metrics(const api_call *a)
{
    size_t len;
    metrics_gauges g = {.queued = engine_queued(),
                        .running = engine_running(),
                        .capacity = engine_capacity(),
                        .followers = follow_count(),
                        .store_healthy = store_healthy()};
    engine_queue_memory(&g.queue_bytes, &g.queue_limit);
    char *text = metrics_render(&g, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    MHD_add_response_header(r, "X-Request-Id", a->rq->request_id);
    int ret = MHD_queue_response(a->c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static int h_list(const api_call *a)
{
    return list_executions(a->c, a->rq);
}

static int h_get(const api_call *a)
{
    json_t *doc = store_get_json(a->id, 1);
    return doc ? reply_json(a->c, a->rq->request_id, 200, doc, NULL, NULL, NULL)
               : reply_error(a->c, a->rq->request_id, 404, "not_found", "no execution %s", a->id);
}

static int h_logs(const api_call *a)
{
    if (flag(a->rq, "follow"))
        return follow_handle(a->c, a->rq, a->cfg, a->id);
    return execution_logs(a->c, a->rq, a->id);
}

static int h_cancel(const api_call *a)
{
    return cancel_execution(a->c, a->rq, a->id);
}

static int h_replay(const api_call *a)
{
    return replay_execution(a->c, a->rq, a->gen, a->id, a->park);
}

static int h_flows(const api_call *a)
{
    /* A rejected flows.git commit rides in the envelope's error member:
     * the listing (data) stays what is serving. */
    char *rejected = gitsync_rejection_text();
    int ret = reply_json(a->c, a->rq->request_id, 200, flows_json(a->gen),
                         rejected ? "commit_rejected" : NULL, rejected, NULL);
    free(rejected);
    return ret;
}

static int h_triggers(const api_call *a)
{
    return reply_json(a->c, a->rq->request_id, 200, triggers_json(a->cfg), NULL, NULL, NULL);
}

static int h_reload(const api_call *a)
{
    return reload_park(a->c, a->rq, a->park);
}

static int h_token_replace(const api_call *a)
{
    return trigger_token(a->c, a->rq, a->cfg, a->id, 0);
}

static int h_token_remove(const api_call *a)
{
    return trigger_token(a->c, a->rq, a->cfg, a->id, 1);
}

/* Who may call a route: anyone (health probes), the metrics token or the
 * admin token, or the admin token only (apiauth_check). */
enum api_access { API_PUBLIC, API_METRICS, API_ADMIN };

static const char *const no_params[] = {NULL};
static const char *const list_params[] = {"flow",  "trigger", "state",  "since",
                                          "until", "limit",   "cursor", NULL};
static const char *const logs_params[] = {"follow", "attempt", NULL};

/* The routes of one path are adjacent; GET also answers HEAD. */
static const struct api_route {
    const char *method;
    const char *path;
    int (*handler)(const api_call *a);
    enum api_access access;
    const char *const *params; /* the query parameters the path takes */
} api_routes[] = {
    {"GET", "/healthz", h_live, API_PUBLIC, no_params},
    {"GET", "/readyz", h_ready, API_PUBLIC, no_params},
    {"GET", "/metrics", h_metrics, API_METRICS, no_params},
    {"GET", "/api/v1/executions", h_list, API_ADMIN, list_params},
    {"GET", "/api/v1/executions/{id}", h_get, API_ADMIN, no_params},
    {"GET", "/api/v1/executions/{id}/logs", h_logs, API_ADMIN, logs_params},
    {"POST", "/api/v1/executions/{id}/cancel", h_cancel, API_ADMIN, no_params},
    {"POST", "/api/v1/executions/{id}/replay", h_replay, API_ADMIN, no_params},
    {"GET", "/api/v1/flows", h_flows, API_ADMIN, no_params},
    {"GET", "/api/v1/triggers", h_triggers, API_ADMIN, no_params},
    {"POST", "/api/v1/reload", h_reload, API_ADMIN, no_params},
    {"POST", "/api/v1/triggers/{id}/token", h_token_replace, API_ADMIN, no_params},
    {"DELETE", "/api/v1/triggers/{id}/token", h_token_remove, API_ADMIN, no_params},
};
#define N_API_ROUTES (sizeof(api_routes) / sizeof(api_routes[0]))

/* Built once, read by every HTTP thread; the target of a path is its
 * first route. */
static router *api_router;
static pthread_once_t api_router_once = PTHREAD_ONCE_INIT;

static void api_router_build(void)
{
    api_router = router_new();
    for (size_t i = 0; i < N_API_ROUTES; i++) {
        if (i && strcmp(api_routes[i - 1].path, api_routes[i].path) == 0)
            continue;
        char err[256];
        void *other;
        if (router_add(api_router, api_routes[i].path, (void *)&api_routes[i], &other, err,
                       sizeof(err)) < 0)
            log_msg(LOG_ERROR, NULL, "admin API: %s", err); /* a bug in the table */
    }
}

/* The route of path's family (first..end) for this method, and the Allow
 * header's text for the family. */
static const struct api_route *api_route_for(const struct api_route *first, const char *method,
                                             char *allow, size_t allow_len)
{
    const struct api_route *hit = NULL, *end = api_routes + N_API_ROUTES;
    size_t k = 0;
    allow[0] = 0;
    int head = strcmp(method, "HEAD") == 0;
    for (const struct api_route *r = first; r < end && strcmp(r->path, first->path) == 0; r++) {
        int get = strcmp(r->method, "GET") == 0;
        if (strcmp(r->method, method) == 0 || (get && head))
            hit = r;
        k += (size_t)snprintf(allow + k, allow_len - k, "%s%s%s", k ? ", " : "", r->method,
                              get ? ", HEAD" : "");
        if (k >= allow_len)
            k = allow_len - 1;
    }
    return hit;
}

int api_handle(struct MHD_Connection *c, const http_request *rq, generation *gen, int loopback,
               int *result, api_park **park)
{
    sluice_config *cfg = generation_config(gen);
    pthread_once(&api_router_once, api_router_build);
    route_match m;
    if (router_match(api_router, rq->path, &m) != 1)
        return 0;
    const struct api_route *first = m.target;
    /* Ids are short: a longer segment is no admin resource, as before
     * this path had a table (it may still be a trigger route). */
    const char *id = m.n_params ? m.values[0] : NULL;
    if (id && strlen(id) >= 64) {
        route_match_clear(&m);
        return 0;
    }
    char allow[64];
    const struct api_route *rt = api_route_for(first, rq->method, allow, sizeof(allow));
    api_call a = {.c = c, .rq = rq, .gen = gen, .cfg = cfg, .id = id, .park = park};
    /* The admin API checks who asks before anything else; health probes
     * and /metrics check the method first. */
    if (first->access != API_ADMIN && !rt) {
        *result = method_not_allowed(c, rq, allow);
    } else if (first->access != API_PUBLIC &&
               !apiauth_check(c, rq, cfg, loopback, first->access == API_METRICS)) {
        *result = MHD_YES;
    } else if (check_params(c, rq, first->params, result) < 0) {
        /* answered */
    } else if (first->params == logs_params && !flag_valid(rq, "follow")) {
        *result = reply_error(c, rq->request_id, 400, "bad_request",
                              "follow takes no value, or 1, true, 0, false");
    } else if (!rt) {
        *result = method_not_allowed(c, rq, allow);
    } else {
        *result = rt->handler(&a);
    }
    route_match_clear(&m);
    return 1;
}
