/*
 * http.c - libmicrohttpd glue.
 *
 * One request goes through three phases of the access handler:
 *   headers  route, method, Content-Length and Content-Type checks; errors
 *            are answered before a byte of the body is read;
 *   body     chunks are appended up to the trigger's max_body; one byte
 *            more and a 413 is queued at once (MHD then discards the rest);
 *   done     the event, then admission (intake.c) while the connection is
 *            parked; async answers once stored, sync stays suspended until
 *            every execution of the request is final or the sync timeout
 *            passes (syncwait.c).
 * Answers are written by reply.c. The access handler never runs plugin
 * code and never blocks.
 */
#include "http.h"

#include "api.h"
#include "auth.h"
#include "engine.h"
#include "event.h"
#include "exec.h"
#include "generation.h"
#include "framing.h"
#include "gate.h"
#include "intake.h"
#include "log.h"
#include "reply.h"
#include "router.h"
#include "prematch.h"
#include "shapes.h"
#include "syncwait.h"
#include "units.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTEN 16
/* How much of an oversized streamed body is read and dropped before the
 * connection is cut instead. */
#define DISCARD_MAX (16u * 1024 * 1024)

static struct {
    pthread_mutex_t mu;
    generation *gen;
    struct MHD_Daemon *daemons[MAX_LISTEN];
    int n_daemons;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* PH_NOBODY: a request without a body, answered on the handler's second
 * call (see on_request). PH_API: parked until an admin answer is ready. */
enum phase { PH_HEADERS, PH_NOBODY, PH_REFUSED, PH_BODY, PH_STORING, PH_WAITING, PH_API, PH_DONE };

typedef struct conn_state {
    http_request rq;
    int phase;
    generation *gen;    /* the one the request started under (a reference) */
    sluice_config *cfg; /* its configuration, borrowed from gen */
    trigger_def *trigger;
    route_match match;
    uint64_t limit;
    size_t body_cap;
    uint64_t discarding;     /* bytes dropped after the limit was passed */
    framing_verdict refused; /* PH_REFUSED: the answer once the body is read */
    sluice_exec **execs;
    size_t n_execs;
    int sync;
    syncwait *wait;
    /* Parked while the store commits (see on_stored). */
    struct MHD_Connection *conn;
    pthread_mutex_t park_mu;
    int parked, stored;
    intake_result stored_as;
    api_park *park; /* an admin request parked until the main thread answers it;
                     * freed with the request, once its answer is sent */
} conn_state;

/* ---- configuration swap ---- */

void http_set_generation(generation *gen)
{
    generation_ref(gen);
    prematch_sync_tokens(
        generation_config(gen)); /* capability URLs exist before their first request */
    pthread_mutex_lock(&srv.mu);
    generation *old = srv.gen;
    srv.gen = gen;
    pthread_mutex_unlock(&srv.mu);
    generation_unref(old);
}

generation *http_get_generation(void)
{
    pthread_mutex_lock(&srv.mu);
    generation *gen = generation_ref(srv.gen);
    pthread_mutex_unlock(&srv.mu);
    return gen;
}

/* ---- per-connection state ---- */

/*
 * libmicrohttpd 0.9.75 panics (abort) when MHD_stop_daemon finds a
 * connection still suspended. A request that passed engine_reserve just
 * before draining began may reach the store or its wait only now: from
 * here such a request is refused (intake_submit), every batch already
 * handed to the store is waited for (its on_stored resumes the connection
 * or hands it to its wait), and then every wait is expired, so each
 * suspension left has its resume requested. A wait suspended later (the
 * handler's after_stored) finds itself expired and resumes at once. Runs
 * again right before the daemons stop.
 */
void http_release_waits(void)
{
    intake_close();
    syncwait_expire_all();
}

static void conn_state_free(conn_state *cs)
{
    event_request_free(&cs->rq);
    route_match_clear(&cs->match);
    for (size_t i = 0; i < cs->n_execs; i++)
        exec_unref(cs->execs[i]);
    free(cs->execs);
    syncwait_free(cs->wait);
    api_park_free(cs->park);
    generation_unref(cs->gen);
    pthread_mutex_destroy(&cs->park_mu);
    free(cs);
}

static framing_conn *conn_framing(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Every connection is on the deadline sweeper's list while it is open. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? framing_conn_open(ci->connect_fd) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        framing_conn_close(*socket_context);
        *socket_context = NULL;
    }
}

/* The URI log callback runs first and sees the raw URI, query included:
 * the request state is born here so the query can be parsed strictly. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    conn_state *cs = xcalloc(1, sizeof(*cs));
    pthread_mutex_init(&cs->park_mu, NULL);
    units_uuidv7(cs->rq.request_id);
    cs->rq.received_ms = units_now_ms();
    framing_conn_begun(conn_framing(c), cs->rq.request_id);
    /* libmicrohttpd hands an absolute-form target over as it came. */
    uri = framing_origin_form(uri);
    const char *q = strchr(uri, '?');
    cs->rq.path = q ? xstrndup(uri, (size_t)(q - uri)) : xstrdup(uri);
    if (!cs->rq.path[0]) {
        free(cs->rq.path);
        cs->rq.path = xstrdup("/");
    }
    cs->rq.query = q ? xstrdup(q + 1) : NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, cs->rq.remote_addr,
                      sizeof(cs->rq.remote_addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, cs->rq.remote_addr,
                      sizeof(cs->rq.remote_addr));
    }
    return cs;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    if (*con_cls)
        conn_state_free(*con_cls);
    *con_cls = NULL;
    /* Answered: a kept-alive connection has head_timeout for its next head. */
    framing_conn_idle(conn_framing(c));
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    http_request *rq = cls;
    if (rq->n_headers % 16 == 0)
        rq->headers = xrealloc(rq->headers, (rq->n_headers + 16) * sizeof(kv));
    char *name = xstrdup(key);
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    rq->headers[rq->n_headers].name = name;
    rq->headers[rq->n_headers].value = xstrdup(value ? value : "");
    rq->n_headers++;
    return MHD_YES;
}

static int peer_is_loopback(const http_request *rq)
{
    return strncmp(rq->remote_addr, "127.", 4) == 0 || strcmp(rq->remote_addr, "::1") == 0 ||
           strncmp(rq->remote_addr, "::ffff:127.", 11) == 0;
}

/* ---- the webhook path ---- */

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
static enum MHD_Result after_stored(struct MHD_Connection *c, conn_state *cs)
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
            snprintf(ids[i], 40, "%s", cs->execs[i]->dup_of);
        int ret = reply_duplicate(c, rq, t, ids, cs->n_execs);
        free(ids);
        return (enum MHD_Result)ret;
    }
    /* One info line per execution is enough (the "finished" one); the
     * acceptance is a debug detail: a busy server logs at its own cost. */
    for (size_t i = 0; i < cs->n_execs; i++)
        log_msg(LOG_DEBUG, rq->request_id, "accepted %s %s trigger=%s flow=%s exec=%s mode=%s",
                rq->method, rq->path, t->id, cs->execs[i]->flow->key, cs->execs[i]->id,
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
const char *http_idempotency_key(const http_request *rq, const trigger_def *t, json_t *base)
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
    /* Made by the builder, freed by accept_request. */
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

static enum MHD_Result accept_request(struct MHD_Connection *c, conn_state *cs)
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
    const char *ikey = http_idempotency_key(rq, t, base);
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
        return after_stored(c, cs);
    return MHD_YES;
}

static enum MHD_Result start_request(struct MHD_Connection *c, conn_state *cs, const char *method)
{
    http_request *rq = &cs->rq;
    rq->method = method;
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, rq);
    event_fold_headers(rq); /* one value per name, whoever reads it */
    char err[512];
    if (event_parse_query(rq, err, sizeof(err)) < 0)
        return (enum MHD_Result)reply_error(c, rq->request_id, 400, "bad_request", "%s", err);

    cs->gen = http_get_generation();
    cs->cfg = generation_config(cs->gen);
    auth_client_addr(rq, cs->cfg->server.trusted_proxies, rq->client_addr, sizeof(rq->client_addr));
    /* Size limits (414/431 in JSON) and capability URLs (/t/TOKEN) before routing. */
    gate_verdict pv = {0};
    int pre = prematch_route(cs->cfg, rq, &cs->match, &pv);
    if (pre < 0)
        return (enum MHD_Result)reply_json(c, rq->request_id, (unsigned)pv.status, NULL, pv.code,
                                           pv.message, NULL);
    int result;
    if (!pre && api_handle(c, rq, cs->gen, peer_is_loopback(rq), &result, &cs->park)) {
        cs->phase = cs->park ? PH_API : PH_DONE;
        return (enum MHD_Result)result;
    }

    int m = pre ? 1 : router_match(cs->cfg->router, rq->path, &cs->match);
    if (m < 0)
        return (enum MHD_Result)reply_error(c, rq->request_id, 400, "bad_path",
                                            "malformed path (bad percent-encoding or too deep)");
    if (m == 0)
        return (enum MHD_Result)reply_error(c, rq->request_id, 404, "not_found",
                                            "no trigger at this path");
    if (shapes_pick_program(rq, &cs->match, &pv) < 0)
        return (enum MHD_Result)reply_json(c, rq->request_id, (unsigned)pv.status, NULL, pv.code,
                                           pv.message, NULL);
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

static enum MHD_Result reply_refused(struct MHD_Connection *c, conn_state *cs,
                                     const framing_verdict *fv)
{
    const char *hdrs[] = {"Connection", "close", NULL};
    framing_conn_drain(conn_framing(c));
    return (enum MHD_Result)reply_json(c, cs->rq.request_id, (unsigned)fv->status, NULL, fv->code,
                                       fv->message, hdrs);
}

/* Every header entry as received; one past the limit is enough to refuse. */
typedef struct field_list {
    framing_field f[FRAMING_MAX_FIELDS + 1];
    size_t n;
} field_list;

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    field_list *l = cls;
    if (l->n > FRAMING_MAX_FIELDS)
        return MHD_NO;
    l->f[l->n++] = (framing_field){key, key_size, value ? value : "", value ? value_size : 0, 0, 0};
    return MHD_YES;
}

/*
 * What libmicrohttpd 0.9.75 hides from the field list, read from where it
 * left the fields. It parses the head in place: a field's value follows its
 * name in the read buffer (name, ':', spaces, value), and the next line
 * starts right after the value's CRLF, which it overwrites with two NULs.
 * Otherwise the library changed the line:
 *   - an obs-fold is glued to the *name* of the field before it, in a copy
 *     made elsewhere ("Transfer-Encoding: chunked\r\n identity" arrives as
 *     the field "Transfer-Encodingidentity: chunked"): the name no longer
 *     precedes its value;
 *   - a bare LF leaves one byte between a value and the next name, a NUL
 *     cuts the value short (the rest is silently dropped), leaving more.
 * Only addresses are compared, nothing outside the fields is read. The
 * request line (its version string) is measured against the first field;
 * the last field has no next line to measure against. Other versions parse
 * differently (0.9.76 and later refuse folding and bare LF themselves), so
 * this runs only on 0.9.75.
 */
static int mark_mangled_lines(const char *version, framing_field *f, size_t n)
{
    /* Every libmicrohttpd thread may be the first here: each works out the
     * same answer, and the atomic makes storing it twice no race. */
    static atomic_int checked = -1;
    int is_0975 = atomic_load_explicit(&checked, memory_order_relaxed);
    if (is_0975 < 0) {
        is_0975 = strcmp(MHD_get_version(), "0.9.75") == 0;
        atomic_store_explicit(&checked, is_0975, memory_order_relaxed);
    }
    if (!is_0975)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t name = (uintptr_t)f[i].name, value = (uintptr_t)f[i].value;
        f[i].folded = value < name + f[i].name_len + 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (f[i].folded || f[i + 1].folded)
            continue;
        uintptr_t end = (uintptr_t)f[i].value + f[i].value_len;
        uintptr_t next = (uintptr_t)f[i + 1].name;
        f[i].bad_ending = next != end + 2;
    }
    /* The request line ends the same way, before the first field. */
    return n && !f[0].folded && version &&
           (uintptr_t)f[0].name != (uintptr_t)version + strlen(version) + 2;
}

/*
 * The head is complete: refuse what could be framed two ways before
 * anything else looks at it, and close the connection, since whatever
 * follows on it cannot be trusted to be a request (RFC 9112 6.3).
 */
static int check_framing(struct MHD_Connection *c, conn_state *cs, const char *version,
                         framing_verdict *fv)
{
    field_list fields = {.n = 0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_field, &fields);
    int bad_line = mark_mangled_lines(version, fields.f, fields.n);
    if (framing_check(fields.f, fields.n, version, fv) == 0 && !bad_line)
        return 0;
    if (!fv->status) {
        fv->status = 400;
        fv->code = "bad_request";
        snprintf(fv->message, sizeof(fv->message), "the request line is not ended by CRLF");
    }
    /* Not the target: this is before routing has taken path keys and
     * capability tokens out of it. */
    log_msg(LOG_INFO, cs->rq.request_id, "refused a request: %d %s", fv->status, fv->message);
    if (fv->has_body && fv->delimited) {
        /* libmicrohttpd 0.9.75 stops reading once an answer is queued and
         * closes with the rest of the body unread, which resets the
         * connection and often loses the answer: read the body as it
         * frames it (dropping it), then answer and close. */
        cs->refused = *fv;
        return 1;
    }
    return reply_refused(c, cs, fv) == MHD_YES ? -1 : -2;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    conn_state *cs = *con_cls;
    if (!cs)
        return MHD_NO;
    /* A parked request comes back here after on_stored, on the syncer
     * thread, set phase and stored_as under park_mu and resumed the
     * connection. libmicrohttpd 0.9.75 passes the resume on through its
     * inter-thread eventfd or pipe, an edge the memory model (and
     * ThreadSanitizer) knows nothing of: reading them under the same
     * mutex is what orders them. It is contended only at that moment. */
    pthread_mutex_lock(&cs->park_mu);
    int phase = cs->phase;
    pthread_mutex_unlock(&cs->park_mu);
    switch (phase) {
    case PH_HEADERS: {
        if (framing_conn_head_done(conn_framing(c)) < 0)
            return MHD_NO; /* answered 408 already */
        framing_verdict fv;
        int fr = check_framing(c, cs, version, &fv);
        if (fr < 0) {
            cs->phase = PH_DONE;
            framing_conn_body_done(conn_framing(c));
            return fr == -1 ? MHD_YES : MHD_NO;
        }
        if (fr > 0) {
            cs->phase = PH_REFUSED;
            return MHD_YES;
        }
        if (!fv.has_body) {
            /* libmicrohttpd 0.9.75 closes the connection after an answer
             * queued on this first call, even with no body to skip, and
             * drops the requests pipelined behind it: a request without a
             * body is handled on the second call, once it is complete. */
            cs->phase = PH_NOBODY;
            return MHD_YES;
        }
        enum MHD_Result r = start_request(c, cs, method);
        if (cs->phase == PH_HEADERS)
            cs->phase = PH_DONE;
        if (cs->phase == PH_DONE || cs->phase == PH_API) {
            /* A response was queued, or will be once the connection is
             * resumed: no deadline while it is sent, or the sweeper's 408
             * could land in the middle of it. */
            framing_conn_body_done(conn_framing(c));
        }
        return r;
    }
    case PH_REFUSED:
        if (*upload_data_size) {
            cs->discarding += *upload_data_size;
            *upload_data_size = 0;
            if (cs->discarding <= DISCARD_MAX)
                return MHD_YES;
        }
        cs->phase = PH_DONE;
        framing_conn_body_done(conn_framing(c));
        return reply_refused(c, cs, &cs->refused);
    case PH_NOBODY: {
        if (framing_conn_body_done(conn_framing(c)) < 0)
            return MHD_NO;
        enum MHD_Result r = start_request(c, cs, method);
        if (cs->phase == PH_HEADERS)
            cs->phase = PH_DONE; /* a response was queued */
        if (cs->phase != PH_BODY)
            return r;
        cs->phase = PH_DONE;
        return accept_request(c, cs);
    }
    case PH_BODY:
        if (*upload_data_size) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            if (cs->discarding || cs->rq.body_len + n > cs->limit) {
                /* Past the limit nothing more is kept. Clients that stream
                 * (chunked, Expect: 100-continue) often cannot read an
                 * answer sent mid-upload, so the rest is read and dropped,
                 * up to a bound, and the 413 sent when the body ends. */
                cs->discarding += n;
                if (cs->discarding <= DISCARD_MAX)
                    return MHD_YES;
                cs->phase = PH_DONE;
                framing_conn_body_done(conn_framing(c));
                log_msg(LOG_INFO, cs->rq.request_id, "refused %s %s: 413 body over %llu bytes",
                        method, cs->rq.path, (unsigned long long)cs->limit);
                return (enum MHD_Result)reply_error(c, cs->rq.request_id, 413, "payload_too_large",
                                                    "the body is larger than %llu bytes",
                                                    (unsigned long long)cs->limit);
            }
            if (cs->rq.body_len + n > cs->body_cap) {
                size_t cap = cs->body_cap ? cs->body_cap : 4096;
                while (cap < cs->rq.body_len + n)
                    cap *= 2;
                if (cap > cs->limit)
                    cap = (size_t)cs->limit;
                cs->rq.body = xrealloc(cs->rq.body, cap + 1);
                cs->body_cap = cap;
            }
            memcpy(cs->rq.body + cs->rq.body_len, upload_data, n);
            cs->rq.body_len += n;
            return MHD_YES;
        }
        cs->phase = PH_DONE;
        if (framing_conn_body_done(conn_framing(c)) < 0)
            return MHD_NO;
        if (cs->discarding) {
            log_msg(LOG_INFO, cs->rq.request_id, "refused %s %s: 413 body over %llu bytes", method,
                    cs->rq.path, (unsigned long long)cs->limit);
            return (enum MHD_Result)reply_error(c, cs->rq.request_id, 413, "payload_too_large",
                                                "the body is larger than %llu bytes",
                                                (unsigned long long)cs->limit);
        }
        return accept_request(c, cs);
    case PH_STORING:
        return after_stored(c, cs);
    case PH_WAITING:
        cs->phase = PH_DONE;
        if (syncwait_timed_out(cs->wait)) {
            log_msg(LOG_INFO, cs->rq.request_id,
                    "sync wait passed %llu ms; answering 202 with the execution id",
                    (unsigned long long)cs->trigger->sync_timeout_ms);
            return (enum MHD_Result)reply_accepted(
                c, &(reply_batch){cs->rq.request_id, cs->trigger, cs->execs, cs->n_execs}, 202);
        }
        return (enum MHD_Result)reply_finished(
            c, &(reply_batch){cs->rq.request_id, cs->trigger, cs->execs, cs->n_execs});
    case PH_API:
        /* Resumed: the answer is ready; a body is not read. */
        *upload_data_size = 0;
        cs->phase = PH_DONE;
        return (enum MHD_Result)api_resume(c, &cs->rq, cs->park);
    default:
        /* Body bytes after an early response are discarded by MHD. */
        *upload_data_size = 0;
        return MHD_YES;
    }
}

/* ---- listening ---- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, int *v6)
{
    char host[256];
    const char *colon;
    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (strchr(host, ':')) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return -1;
        *len = sizeof(*a6);
        *v6 = 1;
        return 0;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (host[0] == 0 || strcmp(host, "*") == 0)
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return -1;
    *len = sizeof(*a4);
    *v6 = 0;
    return 0;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    log_msg(LOG_DEBUG, NULL, "http: %s", buf);
}

int http_start(generation *gen, char *err, size_t errlen)
{
    sluice_config *cfg = generation_config(gen);
    http_set_generation(gen);
    if (framing_start(cfg->server.head_timeout_ms, cfg->server.body_timeout_ms) < 0) {
        snprintf(err, errlen, "cannot start the request deadline thread");
        return -1;
    }
    for (char **l = cfg->server.listen; *l; l++) {
        if (srv.n_daemons == MAX_LISTEN) {
            snprintf(err, errlen, "server.listen: at most %d addresses", MAX_LISTEN);
            return -1;
        }
        struct sockaddr_storage ss;
        socklen_t sl;
        int v6;
        if (parse_listen(*l, &ss, &sl, &v6) < 0) {
            snprintf(err, errlen,
                     "server.listen: bad address \"%s\" (use HOST:PORT or [IPV6]:PORT)", *l);
            return -1;
        }
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
        if (v6)
            flags |= MHD_USE_IPv6;
        struct MHD_Daemon *d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->server.http_threads,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
            NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->server.max_connections,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->server.max_connections_per_address,
            /* A head that fits in this memory meets sluice's own limits
             * (routes_before_match: 32 KiB; framing_check:
             * FRAMING_MAX_FIELDS fields) and their JSON 431; a larger one
             * gets libmicrohttpd's HTML 431. No larger: 0.9.75 zeroes the
             * whole pool on every request (MHD_pool_reset), and 256 KiB
             * measured 20% off async intake, 64 KiB 5-8%. */
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_EXTERNAL_LOGGER,
            mhd_log, NULL, MHD_OPTION_END);
        if (!d) {
            snprintf(err, errlen, "server.listen: cannot listen on %s (in use, or no permission)",
                     *l);
            return -1;
        }
        srv.daemons[srv.n_daemons++] = d;
        /* Port 0 asks the kernel for a free port: say which one it gave. */
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        unsigned port = di ? di->port : 0;
        const char *colon = strrchr(*l, ':');
        log_info("listening on http://%.*s:%u", (int)(colon - *l), *l, port);
    }
    return 0;
}

void http_quiesce(void)
{
    for (int i = 0; i < srv.n_daemons; i++) {
        MHD_socket s = MHD_quiesce_daemon(srv.daemons[i]);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

void http_stop(void)
{
    /* Whatever was stored or parked since the last release (see there). */
    http_release_waits();
    for (int i = 0; i < srv.n_daemons; i++)
        MHD_stop_daemon(srv.daemons[i]);
    srv.n_daemons = 0;
    framing_stop();
    pthread_mutex_lock(&srv.mu);
    generation *gen = srv.gen;
    srv.gen = NULL;
    pthread_mutex_unlock(&srv.mu);
    generation_unref(gen);
}
