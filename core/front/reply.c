/*
 * reply.c - the response envelope, and the answers a request path sends.
 *
 * Every JSON answer, success or error, has one shape:
 *   {"request":{"id":...},"data":...,"error":{"code":...,"message":...}}
 * with Content-Type, X-Request-Id and Cache-Control: no-store. Below http.c,
 * api.c and follow.c, which all answer through it.
 */
#include "reply.h"

#include "exec.h"
#include "jsonout.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "xalloc.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_headers(struct MHD_Response *r, const char *request_id, const char *const *extra)
{
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (request_id && *request_id)
        MHD_add_response_header(r, "X-Request-Id", request_id);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
        MHD_add_response_header(r, extra[i], extra[i + 1]);
}

/* reply_json with the node at inside data written as raw (json_compact_splice). */
int reply_json_splice(struct MHD_Connection *c, const char *request_id, unsigned status,
                      json_t *data, const char *code, const char *message,
                      const char *const *extra_headers, const json_t *at, const char *raw,
                      size_t raw_len)
{
    json_t *env = json_object();
    json_t *req = json_object();
    json_object_set_new(req, "id", json_string(request_id ? request_id : ""));
    json_object_set_new(env, "request", req);
    json_object_set_new(env, "data", data ? data : json_null());
    if (code) {
        json_t *err = json_object();
        json_object_set_new(err, "code", json_string(code));
        json_t *msg = json_string(message ? message : "");
        json_object_set_new(err, "message", msg ? msg : json_string("(message not UTF-8)"));
        json_object_set_new(env, "error", err);
    }
    size_t len = 0;
    char *text = json_compact_splice(env, at, raw, raw_len, &len);
    json_decref(env);
    if (!text)
        return MHD_NO;
    text[len] = 0;
    char *body = xrealloc(text, len + 2);
    body[len] = '\n';
    struct MHD_Response *r = MHD_create_response_from_buffer(len + 1, body, MHD_RESPMEM_MUST_FREE);
    add_headers(r, request_id, extra_headers);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    metrics_count_response(status);
    return ret;
}

int reply_json(struct MHD_Connection *c, const char *request_id, unsigned status, json_t *data,
               const char *code, const char *message, const char *const *extra_headers)
{
    return reply_json_splice(c, request_id, status, data, code, message, extra_headers, NULL, NULL,
                             0);
}

int reply_error(struct MHD_Connection *c, const char *request_id, unsigned status, const char *code,
                const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return reply_json(c, request_id, status, NULL, code, msg, NULL);
}

/* A response a flow chose itself (exec_set_response): not enveloped. */
int reply_raw(struct MHD_Connection *c, const char *request_id, sluice_exec *e)
{
    int status = 0;
    char *ctype = NULL, *body = NULL;
    size_t len = 0;
    (void)exec_get_response(e, &status, &ctype, &body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (ctype)
        MHD_add_response_header(r, "Content-Type", ctype);
    free(ctype);
    MHD_add_response_header(r, "X-Request-Id", request_id);
    MHD_add_response_header(r, "X-Sluice-Execution-Id", exec_id(e));
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    metrics_count_response((unsigned)status);
    return ret;
}

int reply_verdict(struct MHD_Connection *c, const http_request *rq, const trigger_def *t,
                  const gate_verdict *v)
{
    if (v->filtered) {
        log_msg(LOG_INFO, rq->request_id, "filtered %s %s trigger=%s: %s", rq->method, rq->path,
                t->id, v->message);
        json_t *d = json_object();
        json_object_set_new(d, "filtered", json_true());
        json_object_set_new(d, "trigger", json_string(t->id));
        return reply_json(c, rq->request_id, v->status ? (unsigned)v->status : 202, d, NULL, NULL,
                          NULL);
    }
    log_msg(LOG_INFO, rq->request_id, "refused %s %s trigger=%s: %d %s", rq->method, rq->path,
            t->id, v->status, v->message);
    char ra[16];
    snprintf(ra, sizeof(ra), "%u", v->retry_after);
    const char *hdrs[5] = {NULL};
    size_t nh = 0;
    if (v->retry_after) {
        hdrs[nh++] = "Retry-After";
        hdrs[nh++] = ra;
    }
    if (v->www_authenticate) {
        hdrs[nh++] = "WWW-Authenticate";
        hdrs[nh++] = v->www_authenticate;
    }
    return reply_json(c, rq->request_id, (unsigned)v->status, NULL, v->code ? v->code : "refused",
                      v->message, nh ? hdrs : NULL);
}

static json_t *queued_doc(sluice_exec *e)
{
    json_t *d = json_object();
    json_object_set_new(d, "execution_id", json_string(exec_id(e)));
    json_object_set_new(d, "flow", json_string(exec_flow(e)->key));
    json_object_set_new(d, "state", json_string(exec_state_name(exec_get_state(e))));
    char url[128];
    snprintf(url, sizeof(url), "/api/v1/executions/%s", exec_id(e));
    json_object_set_new(d, "status_url", json_string(url));
    return d;
}

/* s as a JSON string literal at out (cap bytes); the length, 0 if it does not fit. */
static size_t json_quote(char *out, size_t cap, const char *s)
{
    size_t k = 0;
    if (cap < 3)
        return 0;
    out[k++] = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (k + 8 >= cap)
            return 0;
        if (ch == '"' || ch == '\\') {
            out[k++] = '\\';
            out[k++] = (char)ch;
        } else if (ch < 0x20) {
            k += (size_t)snprintf(out + k, cap - k, "\\u%04x", ch);
        } else {
            out[k++] = (char)ch;
        }
    }
    out[k++] = '"';
    out[k] = 0;
    return k;
}

/*
 * The 202 of one execution is the answer a busy server sends most: written
 * directly, the same document reply_accepted builds with jansson.
 */
static int reply_accepted_one(struct MHD_Connection *c, const reply_batch *cs, unsigned status)
{
    sluice_exec *e = cs->execs[0];
    char flow[300], trig[300], url[96], *body = malloc(1024);
    const char *state = exec_state_name(exec_get_state(e));
    snprintf(url, sizeof(url), "/api/v1/executions/%s", exec_id(e));
    int n = -1;
    if (body && json_quote(flow, sizeof(flow), exec_flow(e)->key) &&
        json_quote(trig, sizeof(trig), cs->trigger->id))
        n = snprintf(body, 1024,
                     "{\"request\":{\"id\":\"%s\"},\"data\":{\"execution_id\":\"%s\","
                     "\"flow\":%s,\"state\":\"%s\",\"status_url\":\"%s\",\"trigger\":%s}}\n",
                     cs->request_id, exec_id(e), flow, state, url, trig);
    if (n < 0 || n >= 1024) {
        free(body);
        return -1;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_FREE);
    const char *hdrs[] = {"Location", url, NULL};
    add_headers(r, cs->request_id, hdrs);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    metrics_count_response(status);
    return ret;
}

/* The async answer, also used when a sync wait times out. */
int reply_accepted(struct MHD_Connection *c, const reply_batch *cs, unsigned status)
{
    int fast = cs->n_execs == 1 ? reply_accepted_one(c, cs, status) : -1;
    if (fast >= 0)
        return fast;
    json_t *data;
    if (cs->n_execs == 1) {
        data = queued_doc(cs->execs[0]);
    } else {
        data = json_object();
        json_t *ids = json_array();
        json_t *list = json_array();
        for (size_t i = 0; i < cs->n_execs; i++) {
            json_array_append_new(ids, json_string(exec_id(cs->execs[i])));
            json_array_append_new(list, queued_doc(cs->execs[i]));
        }
        json_object_set_new(data, "execution_ids", ids);
        json_object_set_new(data, "executions", list);
    }
    json_object_set_new(data, "trigger", json_string(cs->trigger->id));
    char loc[128];
    snprintf(loc, sizeof(loc), "/api/v1/executions/%s", exec_id(cs->execs[0]));
    const char *hdrs[] = {"Location", loc, NULL};
    return reply_json(c, cs->request_id, status, data, NULL, NULL, hdrs);
}

/*
 * The answer to a sync request once its executions are final. The trigger
 * decides whether a response a plugin set (exec_set_response) replaces the
 * execution document: always with respond_with = "upstream", never with
 * "execution", and when there is one otherwise (ABI 1.0's promise).
 */
int reply_finished(struct MHD_Connection *c, const reply_batch *cs)
{
    int respond = cs->trigger->respond_with;
    if (cs->n_execs == 1 && respond != RESPOND_EXECUTION) {
        sluice_exec *e = cs->execs[0];
        if (exec_has_response(e))
            return reply_raw(c, cs->request_id, e);
        if (respond == RESPOND_UPSTREAM) {
            /* A relay whose flow produced no answer (upstream unreachable,
             * refused by the guard, over 1 MiB...): a gateway error, with
             * the execution saying why. */
            log_msg(LOG_INFO, cs->request_id,
                    "trigger=%s exec=%s: respond_with = \"upstream\" but the flow set no "
                    "response; answering 502",
                    cs->trigger->id, exec_id(e));
            exec_outcome o;
            exec_get_outcome(e, &o);
            char *msg = o.error ? o.error : xstrdup("the flow finished without a response");
            int ret =
                reply_json(c, cs->request_id, 502, exec_to_json(e, 1), "no_response", msg, NULL);
            free(msg);
            return ret;
        }
    }
    int all_ok = 1;
    for (size_t i = 0; i < cs->n_execs; i++)
        if (exec_get_state(cs->execs[i]) != EXEC_SUCCEEDED)
            all_ok = 0;
    json_t *data;
    if (cs->n_execs == 1) {
        /* The inputs echo the request: spliced in as text, not parsed. */
        json_t *at;
        char *inputs;
        size_t ilen = 0;
        data = exec_to_json_deferred(cs->execs[0], 1, &at, &inputs, &ilen);
        exec_outcome o = {0};
        if (!all_ok)
            exec_get_outcome(cs->execs[0], &o);
        const char *msg = o.error ? o.error : "the flow did not succeed";
        int ret = reply_json_splice(c, cs->request_id, all_ok ? 200 : 500, data,
                                    all_ok ? NULL : "flow_failed", all_ok ? NULL : msg, NULL, at,
                                    inputs, ilen);
        free(o.error);
        free(inputs);
        return ret;
    } else {
        data = json_object();
        json_t *list = json_array();
        for (size_t i = 0; i < cs->n_execs; i++)
            json_array_append_new(list, exec_to_json(cs->execs[i], 1));
        json_object_set_new(data, "executions", list);
    }
    if (all_ok)
        return reply_json(c, cs->request_id, 200, data, NULL, NULL, NULL);
    return reply_json(c, cs->request_id, 500, data, "flow_failed", "the flow did not succeed",
                      NULL);
}

int reply_duplicate(struct MHD_Connection *c, const http_request *rq, const trigger_def *t,
                    char (*ids)[40], size_t n)
{
    json_t *data;
    if (n == 1) {
        data = store_get_json(ids[0], 0);
        if (!data)
            data = json_object();
    } else {
        data = json_object();
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *d = store_get_json(ids[i], 0);
            if (d)
                json_array_append_new(list, d);
        }
        json_object_set_new(data, "executions", list);
    }
    json_object_set_new(data, "duplicate", json_true());
    log_msg(LOG_INFO, rq->request_id, "duplicate %s %s trigger=%s: answered with %s", rq->method,
            rq->path, t->id, ids[0]);
    return reply_json(c, rq->request_id, 200, data, NULL, NULL, NULL);
}
