/*
 * gate.c - checking requests against a trigger's gate (see gate.h; the
 * gate is built by gateconf.c).
 *
 * The gate is immutable once built, so the checks need no lock; what
 * changes per request (budgets, failure counts, counters) lives in the
 * process-wide tables of ratelimit.c and of this file, keyed by trigger id,
 * so that a reload keeps them.
 *
 * Credentials are looked for in three places that become known at
 * different times: the route (path keys), the headers (Bearer, key
 * headers, query keys, Basic), the body (body fields, signatures). Each
 * check recomputes what the earlier phases decided instead of carrying
 * per-request state: the request does not change between phases, and a
 * check that already refused never reaches the next phase.
 */
#include "gate_impl.h"

#include "captoken.h"
#include "config.h"
#include "units.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- counters ---- */

typedef struct counter_node {
    struct counter_node *next;
    gate_counters c;
    char id[];
} counter_node;

static struct {
    pthread_mutex_t mu;
    counter_node *head;
} counters = {.mu = PTHREAD_MUTEX_INITIALIZER};

enum { CNT_FILTERED, CNT_UNAUTHORIZED, CNT_FORBIDDEN, CNT_RATE_LIMITED };

/* Trigger ids are few and fixed by the configuration, so the list stays
 * as long as the number of triggers ever served. */
static void count(const char *id, int which)
{
    pthread_mutex_lock(&counters.mu);
    counter_node *n = counters.head;
    while (n && strcmp(n->id, id) != 0)
        n = n->next;
    if (!n) {
        n = calloc(1, sizeof(*n) + strlen(id) + 1);
        if (!n) {
            pthread_mutex_unlock(&counters.mu);
            return;
        }
        strcpy(n->id, id);
        n->next = counters.head;
        counters.head = n;
    }
    if (which == CNT_FILTERED)
        n->c.filtered++;
    else if (which == CNT_UNAUTHORIZED)
        n->c.unauthorized++;
    else if (which == CNT_FORBIDDEN)
        n->c.forbidden++;
    else
        n->c.rate_limited++;
    pthread_mutex_unlock(&counters.mu);
}

void gate_counters_get(const char *trigger_id, gate_counters *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&counters.mu);
    for (counter_node *n = counters.head; n; n = n->next)
        if (strcmp(n->id, trigger_id) == 0)
            *out = n->c;
    pthread_mutex_unlock(&counters.mu);
}

json_t *gate_counters_json(const char *trigger_id)
{
    gate_counters c;
    gate_counters_get(trigger_id, &c);
    json_t *o = json_object();
    json_object_set_new(o, "filtered", json_integer((json_int_t)c.filtered));
    json_object_set_new(o, "unauthorized", json_integer((json_int_t)c.unauthorized));
    json_object_set_new(o, "forbidden", json_integer((json_int_t)c.forbidden));
    json_object_set_new(o, "rate_limited", json_integer((json_int_t)c.rate_limited));
    return o;
}

int gate_capability_status(const struct gate *g)
{
    return g && g->capability ? g->invalid_status : 0;
}

/* ---- checking ---- */

static int refuse(gate_verdict *v, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(gate_verdict *v, int status, const char *code, const char *fmt, ...)
{
    v->status = status;
    v->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof(v->message), fmt, ap);
    va_end(ap);
    return -1;
}

static void client_of(const struct sluice_config *cfg, const http_request *rq, char *out,
                      size_t len)
{
    if (rq->client_addr[0]) { /* computed once per request (http.c) */
        snprintf(out, len, "%s", rq->client_addr);
        return;
    }
    auth_client_addr(rq, cfg ? cfg->server.trusted_proxies : NULL, out, len);
}

static void fail_key(const struct gate *g, const char *client, char *buf, size_t len)
{
    char ck[80];
    auth_addr_budget_key(client, ck, sizeof(ck));
    snprintf(buf, len, "F\x1f%s\x1f%s", g->trigger_id, ck);
}

/* Too many failures from this address: 429 before looking at anything. */
static int check_blocked(const struct gate *g, const char *client, gate_verdict *v)
{
    if (!g->has_creds || !g->fail_rule.limit)
        return 0;
    char k[256];
    unsigned ra = 0;
    fail_key(g, client, k, sizeof(k));
    if (ratelimit_peek(k, &g->fail_rule, 1, units_now_ms(), &ra) == 0)
        return 0;
    count(g->trigger_id, CNT_RATE_LIMITED);
    v->retry_after = ra;
    return refuse(v, 429, "too_many_failures",
                  "too many failed authentication attempts from this address");
}

/* A refusal for credentials: counted, and charged to the address. */
static int refuse_auth(const struct gate *g, const char *client, gate_verdict *v, int missing,
                       const char *msg)
{
    if (g->fail_rule.limit) {
        char k[256];
        unsigned ra;
        fail_key(g, client, k, sizeof(k));
        ratelimit_take(k, &g->fail_rule, 1, units_now_ms(), &ra);
    }
    if (missing) {
        count(g->trigger_id, CNT_UNAUTHORIZED);
        for (size_t i = 0; i < g->n_src; i++)
            if (g->src[i].kind == SRC_BEARER)
                v->www_authenticate = "Bearer realm=\"sluice\"";
        if (g->basic.n)
            v->www_authenticate = "Basic realm=\"sluice\"";
        return refuse(v, 401, "unauthorized", "%s", msg);
    }
    count(g->trigger_id, CNT_FORBIDDEN);
    if (g->wrong_status == 404)
        return refuse(v, 404, "not_found", "no trigger at this path");
    return refuse(v, g->wrong_status, g->wrong_status == 401 ? "unauthorized" : "forbidden", "%s",
                  msg);
}

static int take_rate(const struct gate *g, gate_verdict *v, int peek)
{
    if (!g->n_rules)
        return 0;
    char k[256];
    unsigned ra = 0;
    snprintf(k, sizeof(k), "R\x1f%s", g->trigger_id);
    int rc = peek ? ratelimit_peek(k, g->rules, g->n_rules, units_now_ms(), &ra)
                  : ratelimit_take(k, g->rules, g->n_rules, units_now_ms(), &ra);
    if (rc == 0)
        return 0;
    count(g->trigger_id, CNT_RATE_LIMITED);
    v->retry_after = ra;
    return refuse(v, 429, "rate_limited", "this trigger's rate limit is reached; retry later");
}

/* Replace the segment of rq->path where the template has {name}. */
static void redact_path_segment(http_request *rq, const char *tmpl, const char *name)
{
    char want[300];
    snprintf(want, sizeof(want), "{%s}", name);
    size_t idx = 0, wl = strlen(want);
    int found = 0;
    for (const char *p = tmpl; *p == '/' && !found;) {
        p++;
        size_t n = strcspn(p, "/");
        if (n == wl && strncmp(p, want, n) == 0)
            found = 1;
        else
            idx++;
        p += n;
    }
    if (!found)
        return;
    char *out = xmalloc(strlen(rq->path) + sizeof(GATE_REDACTED) + 1);
    size_t o = 0, i = 0;
    for (const char *p = rq->path; *p == '/'; i++) {
        p++;
        size_t n = strcspn(p, "/");
        out[o++] = '/';
        if (i == idx) {
            memcpy(out + o, GATE_REDACTED, sizeof(GATE_REDACTED) - 1);
            o += sizeof(GATE_REDACTED) - 1;
        } else {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = 0;
    free(rq->path);
    rq->path = out;
}

int gate_check_route(struct gate *g, const struct sluice_config *cfg, http_request *rq,
                     route_match *m, gate_verdict *v)
{
    char client[64];
    client_of(cfg, rq, client, sizeof(client));
    /* Path keys are checked first and replaced by "[redacted]" at once, so
     * that no refusal below (allowlist, failure limit) logs the path with a
     * key in it; the verdict on them comes after those refusals. */
    int wrong_key = 0;
    for (size_t s = 0; s < g->n_src; s++) {
        if (g->src[s].kind != SRC_PATH)
            continue;
        for (size_t i = 0; i < m->n_params; i++) {
            if (strcmp(m->names[i], g->src[s].name) != 0)
                continue;
            if (!auth_keyset_match(&g->keys, m->values[i], strlen(m->values[i])))
                wrong_key = 1;
            free(m->values[i]);
            m->values[i] = xstrdup(GATE_REDACTED);
            redact_path_segment(rq, m->template_path, g->src[s].name);
        }
    }
    if (g->n_allow) {
        unsigned char a[16];
        int ok = 0;
        if (auth_addr_parse(client, a) == 0)
            for (size_t i = 0; i < g->n_allow && !ok; i++)
                ok = auth_cidr_contains(&g->allow[i], a);
        if (!ok) {
            count(g->trigger_id, CNT_FORBIDDEN);
            return refuse(v, 403, "forbidden", "requests from %s are not accepted here", client);
        }
    }
    if (g->capability && m->template_path != captoken_template)
        return refuse(v, 404, "not_found", "no trigger at this path");
    if (check_blocked(g, client, v) < 0)
        return -1;
    if (wrong_key)
        return refuse_auth(g, client, v, 0, "wrong key");
    return 0;
}

/* Credentials in the route (already verified), headers and query. */
static int header_creds(const struct gate *g, const http_request *rq, char *msg, size_t msglen)
{
    int ok = g->path_creds, wrong = 0;
    const char *authz = event_header(rq, "authorization");
    for (size_t s = 0; s < g->n_src; s++) {
        const key_source *src = &g->src[s];
        if (src->kind == SRC_BEARER) {
            const char *tok = auth_bearer_token(authz);
            if (tok) {
                if (auth_keyset_match(&g->keys, tok, strlen(tok)))
                    ok = 1;
                else
                    wrong = 1;
            }
        } else if (src->kind == SRC_HEADER) {
            const char *val = event_header(rq, src->name);
            if (val) {
                if (auth_keyset_match(&g->keys, val, strlen(val)))
                    ok = 1;
                else
                    wrong = 1;
            }
        } else if (src->kind == SRC_QUERY) {
            for (size_t i = 0; i < rq->n_params; i++)
                if (strcmp(rq->params[i].name, src->name) == 0) {
                    const char *val = rq->params[i].value;
                    if (auth_keyset_match(&g->keys, val, strlen(val)))
                        ok = 1;
                    else
                        wrong = 1;
                }
        }
    }
    if (g->basic.n) {
        char pair[1024];
        int r = auth_basic_decode(authz, pair, sizeof(pair));
        if (r < 0) {
            wrong = 1;
        } else if (r > 0) {
            if (auth_keyset_match(&g->basic, pair, strlen(pair)))
                ok = 1;
            else
                wrong = 1;
            memset(pair, 0, sizeof(pair));
        }
    }
    if (wrong) {
        snprintf(msg, msglen, "wrong credentials");
        return AUTH_WRONG;
    }
    if (ok)
        return AUTH_OK;
    snprintf(msg, msglen, "credentials are required");
    return AUTH_MISSING;
}

/* A header whose value decides admission: a key, a signature, what a
 * filter reads. */
static int header_guarded(const struct gate *g, const char *name)
{
    if (strcmp(name, "authorization") == 0 && g->basic.n)
        return 1;
    for (size_t s = 0; s < g->n_src; s++) {
        const key_source *src = &g->src[s];
        if ((src->kind == SRC_BEARER && strcmp(name, "authorization") == 0) ||
            (src->kind == SRC_HEADER && strcmp(name, src->name) == 0))
            return 1;
    }
    return (g->hmac && auth_hmac_reads_header(g->hmac, name)) ||
           filter_reads_header(g->filter, name);
}

/*
 * A repeated header reads as its values joined (event_fold_headers), which
 * is never one credential: one copy could be right and another wrong, or a
 * filter could pass on one and the flow act on another. Refused outright.
 */
static int check_repeated(const struct gate *g, const http_request *rq, gate_verdict *v)
{
    for (size_t i = 0; rq->header_repeated && i < rq->n_headers; i++)
        if (rq->header_repeated[i] && header_guarded(g, rq->headers[i].name))
            return refuse(v, 400, "repeated_header",
                          "the %.100s header was sent more than once; send it once",
                          rq->headers[i].name);
    return 0;
}

/*
 * Before the body the rate budget is only looked at: a request spent
 * nothing until it has passed every check that can refuse it (credentials
 * here and in the body, the body's size and syntax), gate_check_body.
 */
int gate_check_headers(struct gate *g, const struct sluice_config *cfg, const http_request *rq,
                       gate_verdict *v)
{
    char client[64], msg[200];
    client_of(cfg, rq, client, sizeof(client));
    if (check_repeated(g, rq, v) < 0)
        return -1;
    if (check_blocked(g, client, v) < 0)
        return -1;
    if (!g->has_creds)
        return take_rate(g, v, 1);
    int st = header_creds(g, rq, msg, sizeof(msg));
    if (st == AUTH_WRONG)
        return refuse_auth(g, client, v, 0, msg);
    if (st == AUTH_OK)
        return take_rate(g, v, 1);
    if (!g->body_creds)
        return refuse_auth(g, client, v, 1, msg);
    return take_rate(g, v, 1);
}

/* A key in a body field: a JSON or form body object's string member. */
static int body_creds(const struct gate *g, const http_request *rq, json_t *event, char *msg,
                      size_t msglen)
{
    int ok = 0, wrong = 0, missing_sig = 0;
    json_t *body = json_object_get(event, "body");
    for (size_t s = 0; s < g->n_src; s++) {
        if (g->src[s].kind != SRC_BODY || !json_is_object(body))
            continue;
        json_t *val = json_object_get(body, g->src[s].name);
        if (!val)
            continue;
        if (json_is_string(val) &&
            auth_keyset_match(&g->keys, json_string_value(val), json_string_length(val)))
            ok = 1;
        else
            wrong = 1;
    }
    char hmsg[200] = "";
    if (g->hmac) {
        int r = auth_hmac_verify(g->hmac, rq, (int64_t)(units_now_ms() / 1000), hmsg, sizeof(hmsg));
        if (r == AUTH_OK)
            ok = 1;
        else if (r == AUTH_WRONG)
            wrong = 1;
        else
            missing_sig = 1;
    }
    if (wrong) {
        snprintf(msg, msglen, "%s", hmsg[0] ? hmsg : "wrong credentials");
        return AUTH_WRONG;
    }
    if (ok)
        return AUTH_OK;
    snprintf(msg, msglen, "%s", missing_sig && !g->keys.n ? hmsg : "credentials are required");
    return AUTH_MISSING;
}

int gate_body_keys(const struct gate *g)
{
    for (size_t s = 0; s < g->n_src; s++)
        if (g->src[s].kind == SRC_BODY)
            return 1;
    return 0;
}

int gate_reads_body(const struct gate *g)
{
    if (g->filter)
        return 1;
    for (size_t s = 0; s < g->n_src; s++)
        if (g->src[s].kind == SRC_BODY)
            return 1;
    return 0;
}

/* Returns 1 when a key was found in the body (and redacted there). */
static int redact_event(const struct gate *g, json_t *event)
{
    int in_body = 0;
    json_t *query = json_object_get(event, "query");
    json_t *body = json_object_get(event, "body");
    json_t *headers = json_object_get(event, "headers");
    for (size_t s = 0; s < g->n_src; s++) {
        const key_source *src = &g->src[s];
        json_t *v;
        if (src->kind == SRC_QUERY && (v = json_object_get(query, src->name))) {
            for (size_t i = 0; i < json_array_size(v); i++)
                json_array_set_new(v, i, json_string(GATE_REDACTED));
        } else if (src->kind == SRC_BODY && json_is_object(body) &&
                   json_object_get(body, src->name)) {
            json_object_set_new(body, src->name, json_string(GATE_REDACTED));
            in_body = 1;
        } else if (src->kind == SRC_HEADER && json_object_get(headers, src->name)) {
            json_object_set_new(headers, src->name, json_string(GATE_REDACTED));
        }
    }
    if (g->hmac && json_object_get(headers, g->hmac->header))
        json_object_set_new(headers, g->hmac->header, json_string(GATE_REDACTED));
    return in_body;
}

int gate_check_body(struct gate *g, const struct sluice_config *cfg, const http_request *rq,
                    json_t *event, gate_verdict *v)
{
    char client[64], msg[200];
    client_of(cfg, rq, client, sizeof(client));
    if (check_repeated(g, rq, v) < 0)
        return -1;
    if (g->has_creds && header_creds(g, rq, msg, sizeof(msg)) != AUTH_OK) {
        int st = body_creds(g, rq, event, msg, sizeof(msg));
        if (st != AUTH_OK)
            return refuse_auth(g, client, v, st == AUTH_MISSING, msg);
    } else if (g->body_creds && body_creds(g, rq, event, msg, sizeof(msg)) == AUTH_WRONG) {
        /* Authenticated already, but a wrong key or signature rides along:
         * never accept a request that carries a wrong credential. */
        return refuse_auth(g, client, v, 0, msg);
    }
    /* Admitted: now, and only now, the request spends from the budget (a
     * filtered one too: it was sent, it only does not run). */
    if (take_rate(g, v, 0) < 0)
        return -1;
    char why[200];
    if (g->filter && !filter_eval(g->filter, rq, event, why, sizeof(why))) {
        count(g->trigger_id, CNT_FILTERED);
        v->filtered = 1;
        v->status = g->filter_status;
        snprintf(v->message, sizeof(v->message), "filter: %s", why);
        return -1;
    }
    v->body_redacted = redact_event(g, event);
    return 0;
}
