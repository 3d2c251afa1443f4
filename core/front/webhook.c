/*
 * webhook.c - a request to a trigger, from its routed head to its answer
 * (see webhook.h).
 */
#include "webhook.h"

#include "engine.h"
#include "event.h"
#include "log.h"
#include "reply.h"
#include "shapes.h"
#include "units.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int content_type_allowed(const trigger_def *t, const char *ct)
{
    if (!t->content_types)
        return 1;
    char mt[128];
    size_t i = 0;
    for (; ct && ct[i] && ct[i] != ';' && i + 1 < sizeof(mt); i++)
        mt[i] = ct[i];
    while (i > 0 && mt[i - 1] == ' ')
        i--;
    mt[i] = 0;
    for (char **p = t->content_types; *p; p++)
        if (strcasecmp(*p, mt) == 0)
            return 1;
    return 0;
}

static int wants(const http_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_params; i++)
        if (strcmp(rq->params[i].name, name) == 0)
            return strcmp(rq->params[i].value, "false") != 0 &&
                   strcmp(rq->params[i].value, "0") != 0;
    return 0;
}

/* The batch is stored (or not): answer, or wait for a sync result. */
enum MHD_Result webhook_after_stored(struct MHD_Connection *c, conn_state *cs)
{
    http_request *rq = &cs->rq;
    trigger_def *t = cs->trigger;
    reply_batch batch = {rq->request_id, t, cs->execs, cs->n_execs};
    cs->phase = PH_DONE;
    if (cs->stored_as == INTAKE_STORE_FAILED) {
        log_msg(LOG_ERROR, rq->request_id, "refused %s %s: 503 the store could not record it",
                rq->method, rq->path);
        const char *hdrs[] = {"Retry-After", "5", NULL};
        return (enum MHD_Result)reply_json(c, rq->request_id, 503, NULL, "store_unavailable",
                                           "the execution store cannot take work now", hdrs);
    }
    if (cs->stored_as == INTAKE_DUPLICATE) {
        char(*ids)[40] = xcalloc(cs->n_execs ? cs->n_execs : 1, sizeof(*ids));
        for (size_t i = 0; i < cs->n_execs; i++)
            snprintf(ids[i], 40, "%s", exec_dup_of(cs->execs[i]));
        int ret = reply_duplicate(c, rq, t, ids, cs->n_execs);
        free(ids);
        return (enum MHD_Result)ret;
    }
    /* One info line per execution is enough (the "finished" one); the
     * acceptance is a debug detail: a busy server logs at its own cost. */
    for (size_t i = 0; i < cs->n_execs; i++)
        log_msg(LOG_DEBUG, rq->request_id, "accepted %s %s trigger=%s flow=%s exec=%s mode=%s",
                rq->method, rq->path, t->id, exec_flow(cs->execs[i])->key, exec_id(cs->execs[i]),
                cs->sync ? "sync" : "async");
    if (!cs->sync)
        return (enum MHD_Result)reply_accepted(c, &batch, (unsigned)t->success_code);

    /* Stored before the connection was parked: park it on the wait now. */
    cs->phase = PH_WAITING;
    MHD_suspend_connection(c);
    syncwait_park(cs->wait);
    return MHD_YES;
}

/*
 * The idempotency key of a request: the trigger's configured header or body
 * path, else the standard headers senders use for retries (Svix names
 * Standard Webhooks' webhook-id svix-id). Runs on many threads at once, so
 * the path is walked with strtok_r.
 */
const char *webhook_idempotency_key(const http_request *rq, const trigger_def *t, json_t *base)
{
    if (t->idem_key && strncmp(t->idem_key, "header:", 7) == 0)
        return event_header(rq, t->idem_key + 7);
    if (t->idem_key) {
        json_t *v = json_object_get(base, "body");
        char path[256], *save = NULL;
        snprintf(path, sizeof(path), "%s", t->idem_key + 5);
        for (char *tok = strtok_r(path, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
            v = json_is_array(v) ? json_array_get(v, (size_t)atoi(tok)) : json_object_get(v, tok);
        return json_is_string(v) ? json_string_value(v) : NULL;
    }
    static const char *const std[] = {"idempotency-key", "webhook-id", "svix-id",
                                      "x-github-delivery", NULL};
    for (const char *const *h = std; *h; h++) {
        const char *v = event_header(rq, *h);
        if (v && *v)
            return v;
    }
    return NULL;
}

/* Syncer thread (intake's done): stored or not; the request may be answered. */
static void on_stored(void *arg, intake_result r)
{
    conn_state *cs = arg;
    cs->stored_as = r;
    /* After the unlock cs may be freed at any moment (an unparked handler
     * goes on and answers): remember what resuming needs first. */
    int handover = cs->sync && r == INTAKE_STORED;
    syncwait *w = cs->wait;
    pthread_mutex_lock(&cs->park_mu);
    cs->stored = 1;
    struct MHD_Connection *resume = cs->parked ? cs->conn : NULL;
    if (resume && handover)
        cs->phase = PH_WAITING;
    pthread_mutex_unlock(&cs->park_mu);
    if (!resume)
        return;
    if (handover) {
        /* A sync request stays parked, now on its executions: one resume
         * for the whole request instead of one per step. intake_close
         * returns only after this, so shutdown cannot expire the wait
         * before the handover. */
        syncwait_park(w);
    } else {
        MHD_resume_connection(resume);
    }
}

/* What intake_submit needs to make this request's executions. */
typedef struct webhook_build {
    conn_state *cs;
    json_t *base;
    int body_redacted;
    /* Made by the builder, freed by webhook_accept. */
    char *members;
    size_t mlen;
    exec_body *body;
    const char **hn, **hv;
} webhook_build;

static size_t webhook_build_execs(void *arg, sluice_exec **out, size_t n)
{
    webhook_build *b = arg;
    conn_state *cs = b->cs;
    http_request *rq = &cs->rq;
    trigger_def *t = cs->trigger;
    /* The body leaves the shared event here (event.h, "the event's body"),
     * once room is reserved: each execution's event is the rest plus these
     * members, and the store keeps the rest plus the raw bytes. A JSON
     * body goes in as received. A body that carried a key keeps its
     * redacted form in the event instead, and its bytes go nowhere. */
    const char *fn = json_string_value(json_object_get(b->base, "function"));
    int verbatim = event_body_is_json(rq) && !b->body_redacted;
    b->members =
        event_take_body(b->base, verbatim ? (const char *)rq->body : NULL, rq->body_len, &b->mlen);
    b->body = exec_body_new(rq->body_len && !b->body_redacted ? rq->body : NULL, rq->body_len,
                            event_header(rq, "content-type"));
    int keep_raw = b->body && b->body->bytes;
    /* Headers a plugin may read: everything but authentication material. */
    b->hn = xcalloc(rq->n_headers + 1, sizeof(char *));
    b->hv = xcalloc(rq->n_headers + 1, sizeof(char *));
    size_t nh = 0;
    for (size_t i = 0; i < rq->n_headers; i++)
        if (!event_header_is_secret(cs->cfg->secret_headers, rq->headers[i].name)) {
            b->hn[nh] = rq->headers[i].name;
            b->hv[nh++] = rq->headers[i].value;
        }
    if (!b->members)
        return 0;
    size_t made = 0;
    for (; made < n; made++) {
        char id[40];
        units_uuidv7(id);
        size_t slen, len;
        char *stored = event_for_flow(b->base, id, t->flows[made], &slen);
        char *text = stored ? event_join(stored, slen, b->members, b->mlen, &len) : NULL;
        sluice_exec *e = text ? exec_new(cs->gen, t, generation_flow(cs->gen, t->flows[made]), id,
                                         rq->request_id, text, len, fn, b->hn, b->hv, nh, cs->sync,
                                         rq->received_ms)
                              : NULL;
        if (!e) {
            free(text);
            free(stored);
            return made;
        }
        if (keep_raw) {
            exec_set_request(e, b->body, stored, slen);
        } else {
            exec_set_request(e, b->body, NULL, 0);
            free(stored);
        }
        out[made] = e;
    }
    cs->n_execs = made;
    /* Listed while intake counts this batch as storing: shutdown expires
     * the wait only after the batch is stored (http_release_waits), and
     * on_stored always finds it. */
    if (cs->sync)
        cs->wait = syncwait_start(cs->conn, out, made, t->sync_timeout_ms);
    return made;
}

enum MHD_Result webhook_accept(struct MHD_Connection *c, conn_state *cs)
{
    http_request *rq = &cs->rq;
    trigger_def *t = cs->trigger;
    char err[1024];
    json_t *base;
    int tree = (t->idem_key && strncmp(t->idem_key, "body:", 5) == 0) ||
               (t->gate && gate_reads_body(t->gate));
    int st = event_build(&base, rq, t, cs->cfg->secret_headers, &cs->match, tree, err, sizeof(err));
    if (st) {
        /* A parser's message quotes the body ("near '...'"), which may be
         * the very key a trigger reads from it: the sender is told, the
         * log is not. */
        log_msg(LOG_INFO, rq->request_id, "refused %s %s: 400 %s", rq->method, rq->path,
                t->gate && gate_body_keys(t->gate) ? "a body that does not parse (the "
                                                     "message is not logged: it may quote a key)"
                                                   : err);
        return (enum MHD_Result)reply_error(c, rq->request_id, 400, "bad_request", "%s", err);
    }
    gate_verdict v = {0};
    if (t->gate && gate_check_body(t->gate, cs->cfg, rq, base, &v) != 0) {
        json_decref(base);
        return (enum MHD_Result)reply_verdict(c, rq, t, &v);
    }

    cs->sync = (t->sync || wants(rq, "wait")) && !wants(rq, "async");
    /* A key taken from the body must be copied first: it lives there, and
     * the body leaves the event below. */
    const char *ikey = webhook_idempotency_key(rq, t, base);
    char *idem = ikey ? xstrdup(ikey) : NULL;
    size_t other = strlen(rq->path) + (rq->query ? strlen(rq->query) : 0);
    for (size_t i = 0; i < rq->n_headers; i++)
        other += strlen(rq->headers[i].name) + strlen(rq->headers[i].value) + 8;
    webhook_build b = {.cs = cs, .base = base, .body_redacted = v.body_redacted};

    cs->execs = xcalloc(t->n_flows ? t->n_flows : 1, sizeof(sluice_exec *));
    cs->conn = c;
    flow_rt **rts = xcalloc(t->n_flows ? t->n_flows : 1, sizeof(*rts));
    for (size_t i = 0; i < t->n_flows; i++)
        rts[i] = generation_flow(cs->gen, t->flows[i]);
    intake_request in = {
        .request_id = rq->request_id,
        .trigger = t,
        .flows = rts,
        .n_flows = t->n_flows,
        .idem_key = idem,
        .received_ms = rq->received_ms,
        .qbytes = engine_exec_bytes(rq->body_len, other),
        .build = webhook_build_execs,
        .build_arg = &b,
        .done = on_stored,
        .arg = cs,
    };
    /* Parked before intake can call on_stored: the flag is read under park_mu. */
    cs->phase = PH_STORING;
    intake_refusal why;
    intake_status ist = intake_submit(&in, cs->execs, &why);
    free(rts);
    exec_body_unref(b.body);
    free(b.members);
    free(idem);
    free(b.hn);
    free(b.hv);
    json_decref(base);
    switch (ist) {
    case INTAKE_SUBMITTED:
        cs->n_execs = t->n_flows;
        break;
    case INTAKE_SEEN:
        cs->phase = PH_DONE;
        return (enum MHD_Result)reply_duplicate(c, rq, t, why.dup_ids, why.n_dups);
    case INTAKE_NOT_BUILT: {
        cs->phase = PH_DONE;
        cs->n_execs = 0;
        log_msg(LOG_ERROR, rq->request_id, "refused %s %s: 503 out of memory", rq->method,
                rq->path);
        const char *hdrs[] = {"Retry-After", "1", NULL};
        return (enum MHD_Result)reply_json(c, rq->request_id, 503, NULL, "out_of_memory",
                                           "sluiced could not allocate the execution; retry later",
                                           hdrs);
    }
    default: {
        cs->phase = PH_DONE;
        log_msg(ist == INTAKE_FLOW_BUSY ? LOG_INFO : LOG_WARN, rq->request_id,
                "refused %s %s: %u %s", rq->method, rq->path, why.status, why.message);
        const char *hdrs[] = {"Retry-After", why.retry_after, NULL};
        return (enum MHD_Result)reply_json(c, rq->request_id, why.status, NULL, why.code,
                                           why.message, hdrs);
    }
    }

    /* Durable before acknowledged: park the connection until the store
     * thread has committed the batch (group commit), never block here. */
    pthread_mutex_lock(&cs->park_mu);
    if (!cs->stored) {
        MHD_suspend_connection(c);
        cs->parked = 1;
    }
    pthread_mutex_unlock(&cs->park_mu);
    if (!cs->parked)
        return webhook_after_stored(c, cs);
    return MHD_YES;
}

/* The trigger's part of the request head, once prematch_route and the
 * admin API have passed it (pre: 1 when prematch_route already matched). */
enum MHD_Result webhook_route(struct MHD_Connection *c, conn_state *cs, const char *method, int pre,
                              gate_verdict *pv)
{
    http_request *rq = &cs->rq;
    int m = pre ? 1 : router_match(cs->cfg->router, rq->path, &cs->match);
    if (m < 0)
        return (enum MHD_Result)reply_error(c, rq->request_id, 400, "bad_path",
                                            "malformed path (bad percent-encoding or too deep)");
    if (m == 0)
        return (enum MHD_Result)reply_error(c, rq->request_id, 404, "not_found",
                                            "no trigger at this path");
    if (shapes_pick_program(rq, &cs->match, pv) < 0)
        return (enum MHD_Result)reply_json(c, rq->request_id, (unsigned)pv->status, NULL, pv->code,
                                           pv->message, NULL);
    trigger_def *t = cs->match.target;
    cs->trigger = t;
    /* Address allowlist, failed-attempt limit, path keys (then redacted from rq->path). */
    gate_verdict rv = {0};
    if (t->gate && gate_check_route(t->gate, cs->cfg, rq, &cs->match, &rv) != 0)
        return (enum MHD_Result)reply_verdict(c, rq, t, &rv);
    char allow[96];
    config_methods_string(t->methods, allow, sizeof(allow));
    if (strcmp(method, "OPTIONS") == 0) {
        const char *hdrs[] = {"Allow", allow, NULL};
        return (enum MHD_Result)reply_json(c, rq->request_id, 200, NULL, NULL, NULL, hdrs);
    }
    const char *routed = strcmp(method, "HEAD") == 0 ? "GET" : method;
    if (!(config_method_bit(routed) & t->methods)) {
        const char *hdrs[] = {"Allow", allow, NULL};
        return (enum MHD_Result)reply_json(c, rq->request_id, 405, NULL, "method_not_allowed",
                                           "this trigger does not accept this method", hdrs);
    }
    cs->limit = t->max_body;
    const char *cl = event_header(rq, "content-length");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        /* Too large by its Content-Length: nothing of it is kept. A client
         * that asked "Expect: 100-continue" gets the 413 before sending it;
         * one that is already sending would often lose an answer sent while
         * it writes (the close resets the connection), so a body of
         * moderate size is read and dropped first, as for chunked bodies. */
        const char *expect = event_header(rq, "expect");
        if (*end == 0 && n > cs->limit &&
            (n > DISCARD_MAX || (expect && strcasecmp(expect, "100-continue") == 0))) {
            log_msg(LOG_INFO, rq->request_id, "refused %s %s: 413 Content-Length %llu", method,
                    rq->path, n);
            return (enum MHD_Result)reply_error(c, rq->request_id, 413, "payload_too_large",
                                                "the body is larger than %llu bytes",
                                                (unsigned long long)cs->limit);
        }
        if (*end == 0 && n > cs->limit) {
            /* Counted from here and answered 413 when it ends; like the
             * early answer, it takes nothing from rate budgets. */
            cs->discarding = 1;
            cs->phase = PH_BODY;
            return MHD_YES;
        }
    }
    const char *ct = event_header(rq, "content-type");
    if ((cl || event_header(rq, "transfer-encoding")) && !content_type_allowed(t, ct))
        return (enum MHD_Result)reply_error(c, rq->request_id, 415, "unsupported_media_type",
                                            "content type \"%s\" is not accepted here",
                                            ct ? ct : "(none)");
    gate_verdict v = {0};
    if (t->gate && gate_check_headers(t->gate, cs->cfg, rq, &v) != 0)
        return (enum MHD_Result)reply_verdict(c, rq, t, &v);
    if (strcmp(method, "HEAD") == 0) {
        /* The status GET would get, without running anything: HEAD is safe
         * (RFC 9110 9.3.2), monitors and link checkers send it freely. */
        int sync = (t->sync || wants(rq, "wait")) && !wants(rq, "async");
        json_t *d = json_object();
        json_object_set_new(d, "trigger", json_string(t->id));
        return (enum MHD_Result)reply_json(
            c, rq->request_id, sync ? 200 : (unsigned)t->success_code, d, NULL, NULL, NULL);
    }
    cs->phase = PH_BODY;
    return MHD_YES;
}
