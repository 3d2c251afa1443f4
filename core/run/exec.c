/*
 * exec.c - the execution object (its JSON document is execdoc.c's).
 */
#include "exec.h"
#include "exec_impl.h"

#include "event.h"
#include "execdoc.h"
#include "jsonout.h"
#include "units.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

exec_body *exec_body_new(const void *bytes, size_t len, const char *content_type)
{
    exec_body *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    if (bytes) {
        b->bytes = malloc(len + 1);
        if (!b->bytes)
            goto fail;
        memcpy(b->bytes, bytes, len);
        b->bytes[len] = 0;
        b->len = len;
    }
    if (content_type && !(b->content_type = strdup(content_type)))
        goto fail;
    return b;
fail:
    exec_body_unref(b);
    return NULL;
}

exec_body *exec_body_ref(exec_body *b)
{
    if (b)
        atomic_fetch_add(&b->refs, 1);
    return b;
}

void exec_body_unref(exec_body *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    free(b->bytes);
    free(b->content_type);
    free(b);
}

sluice_exec *exec_new(generation *gen, trigger_def *trigger, flow_rt *flow, const char *id,
                      const char *request_id, char *event, size_t event_len, const char *function,
                      const char *const *hdr_names, const char *const *hdr_values, size_t n_hdrs,
                      int sync, uint64_t received_ms)
{
    sluice_exec *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    atomic_init(&e->refs, 1);
    pthread_mutex_init(&e->mu, NULL);
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->request_id, sizeof(e->request_id), "%s", request_id ? request_id : "");
    e->gen = generation_ref(gen);
    e->trigger = trigger;
    e->rt = flow;
    e->flow = flow->def;
    e->event = event;
    e->event_len = event_len;
    e->function = function ? xstrdup(function) : NULL;
    e->n_hdrs = n_hdrs;
    if (n_hdrs) {
        e->hdr_names = xcalloc(n_hdrs, sizeof(char *));
        e->hdr_values = xcalloc(n_hdrs, sizeof(char *));
        for (size_t i = 0; i < n_hdrs; i++) {
            e->hdr_names[i] = xstrdup(hdr_names[i]);
            e->hdr_values[i] = xstrdup(hdr_values[i]);
        }
    }
    e->sync = sync;
    e->received_ms = received_ms;
    e->state = EXEC_QUEUED;
    e->attempt = 1;
    snprintf(e->attempt_str, sizeof(e->attempt_str), "1");
    snprintf(e->timeout_str, sizeof(e->timeout_str), "%llu",
             (unsigned long long)flow->def->timeout_ms);
    atomic_init(&e->cancel_reason, 0);
    atomic_init(&e->completed, 0);
    atomic_init(&e->abandoned, 0);
    return e;
}

void exec_set_request(sluice_exec *e, exec_body *body, char *stored_event, size_t stored_len)
{
    exec_body_unref(e->body);
    e->body = exec_body_ref(body);
    free(e->stored_event);
    e->stored_event = stored_event;
    e->stored_len = stored_event ? stored_len : 0;
}

sluice_exec *exec_from_store(generation *gen, trigger_def *trigger, flow_rt *flow, const char *id,
                             const char *request_id, char *stored, size_t stored_len, int raw,
                             exec_body *body, const char *function, json_t *headers,
                             uint64_t received_ms, char *err, size_t errlen)
{
    char *event = stored;
    size_t len = stored_len;
    if (raw) {
        size_t mlen;
        char *members = NULL;
        if (body && body->bytes)
            members = event_body_members((const unsigned char *)body->bytes, body->len,
                                         body->content_type, &mlen, err, errlen);
        else
            snprintf(err, errlen, "the stored request lacks its body");
        event = members ? event_join(stored, stored_len, members, mlen, &len) : NULL;
        free(members);
        if (!event) {
            if (members)
                snprintf(err, errlen, "the stored event is not a JSON object");
            free(stored);
            return NULL;
        }
    }
    size_t nh = json_object_size(headers), k = 0;
    const char **hn = xcalloc(nh + 1, sizeof(char *)), **hv = xcalloc(nh + 1, sizeof(char *));
    const char *key;
    json_t *val;
    json_object_foreach(headers, key, val)
    {
        if (json_is_string(val)) {
            hn[k] = key;
            hv[k++] = json_string_value(val);
        }
    }
    sluice_exec *e = exec_new(gen, trigger, flow, id, request_id, event, len, function, hn, hv, k,
                              0, received_ms);
    free(hn);
    free(hv);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        free(event);
        if (raw)
            free(stored);
        return NULL;
    }
    exec_set_request(e, body, raw ? stored : NULL, stored_len);
    return e;
}

sluice_exec *exec_ref(sluice_exec *e)
{
    atomic_fetch_add(&e->refs, 1);
    return e;
}

void exec_unref(sluice_exec *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    generation_unref(e->gen);
    free(e->event);
    free(e->stored_event);
    exec_body_unref(e->body);
    free(e->function);
    free(e->idem_key);
    for (size_t i = 0; i < e->n_hdrs; i++) {
        free(e->hdr_names[i]);
        free(e->hdr_values[i]);
    }
    free(e->hdr_names);
    free(e->hdr_values);
    free(e->outputs);
    free(e->error);
    for (int i = 0; i < 2; i++) {
        free(e->logs[i].head);
        free(e->logs[i].tail);
    }
    free(e->resp_ctype);
    free(e->resp_body);
    for (size_t i = 0; i < e->n_meta; i++) {
        free(e->meta[i].key);
        free(e->meta[i].value);
    }
    free(e->meta);
    for (size_t i = 0; i < e->n_attempts; i++) {
        free(e->attempts[i].error);
        free(e->attempts[i].out);
        free(e->attempts[i].err);
    }
    free(e->attempts);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

int exec_add_waiter(sluice_exec *e, exec_waiter *w)
{
    pthread_mutex_lock(&e->mu);
    if (e->finished) {
        pthread_mutex_unlock(&e->mu);
        return 1;
    }
    w->next = e->waiters;
    e->waiters = w;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

int exec_remove_waiter(sluice_exec *e, exec_waiter *w)
{
    int found = 0;
    pthread_mutex_lock(&e->mu);
    for (exec_waiter **pp = &e->waiters; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&e->mu);
    return found;
}

void exec_add_log_listener_locked(sluice_exec *e, exec_log_listener *l)
{
    l->next = e->log_listeners;
    e->log_listeners = l;
}

void exec_remove_log_listener(sluice_exec *e, exec_log_listener *l)
{
    pthread_mutex_lock(&e->mu);
    for (exec_log_listener **pp = &e->log_listeners; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    pthread_mutex_unlock(&e->mu);
}

void exec_write_log(sluice_exec *e, int stream, const char *data, size_t len)
{
    exec_log_listener *wake = NULL;
    pthread_mutex_lock(&e->mu);
    logbuf_append(&e->logs[stream - 1], data, len);
    for (exec_log_listener *l = e->log_listeners; l; l = l->next)
        if (l->push(l->arg, e, stream, data, len)) {
            l->wake_next = wake;
            wake = l;
        }
    pthread_mutex_unlock(&e->mu);
    while (wake) {
        /* Read before waking: from then on the listener may be freed. */
        exec_log_listener *next = wake->wake_next;
        wake->wake(wake->arg);
        wake = next;
    }
}

/* Wake outside the execution's lock: a waiter may read it at once. */
static void wake_all(exec_waiter *w)
{
    while (w) {
        exec_waiter *next = w->next;
        w->wake(w->arg);
        w = next;
    }
}

void exec_abandon_waiters(sluice_exec *e)
{
    pthread_mutex_lock(&e->mu);
    exec_waiter *w = e->waiters;
    e->waiters = NULL;
    pthread_mutex_unlock(&e->mu);
    wake_all(w);
}

int exec_set_final(sluice_exec *e, int state)
{
    pthread_mutex_lock(&e->mu);
    if (e->finished) {
        pthread_mutex_unlock(&e->mu);
        return -1;
    }
    e->state = state;
    e->finished = 1;
    e->finished_ms = units_now_ms();
    exec_waiter *w = e->waiters;
    e->waiters = NULL;
    pthread_mutex_unlock(&e->mu);
    wake_all(w);
    return 0;
}

static void reset_results_locked(sluice_exec *e)
{
    e->has_exit_code = 0;
    free(e->outputs);
    e->outputs = NULL;
    free(e->error);
    e->error = NULL;
    for (int i = 0; i < 2; i++) {
        free(e->logs[i].head);
        free(e->logs[i].tail);
        memset(&e->logs[i], 0, sizeof(e->logs[i]));
    }
    /* A response or a fact of the failed attempt would otherwise be taken
     * for one of the attempt that succeeds. */
    e->resp_status = 0;
    free(e->resp_ctype);
    free(e->resp_body);
    e->resp_ctype = e->resp_body = NULL;
    e->resp_len = 0;
    for (size_t i = 0; i < e->n_meta; i++) {
        free(e->meta[i].key);
        free(e->meta[i].value);
    }
    free(e->meta);
    e->meta = NULL;
    e->n_meta = 0;
}

void exec_reset_results(sluice_exec *e)
{
    pthread_mutex_lock(&e->mu);
    reset_results_locked(e);
    pthread_mutex_unlock(&e->mu);
}

/* Room for one more attempt record; called with e->mu held. */
static exec_attempt *attempt_slot(sluice_exec *e)
{
    e->attempts = xrealloc(e->attempts, (e->n_attempts + 1) * sizeof(*e->attempts));
    exec_attempt *a = &e->attempts[e->n_attempts++];
    memset(a, 0, sizeof(*a));
    return a;
}

int exec_end_attempt(sluice_exec *e, int state)
{
    pthread_mutex_lock(&e->mu);
    exec_attempt *a = attempt_slot(e);
    int n = e->attempt;
    a->attempt = n;
    a->state = state;
    a->exit_code = e->exit_code;
    a->has_exit_code = e->has_exit_code;
    /* Taken over: reset_results_locked would free it. */
    a->error = e->error;
    e->error = NULL;
    a->started_ms = e->started_ms;
    a->finished_ms = units_now_ms();
    a->out = logbuf_render(&e->logs[0], &a->out_len);
    a->err = logbuf_render(&e->logs[1], &a->err_len);
    reset_results_locked(e);
    /* The next attempt has not started: its document shows no start yet. */
    e->started_ms = 0;
    e->state = EXEC_QUEUED;
    e->attempt = n + 1;
    snprintf(e->attempt_str, sizeof(e->attempt_str), "%d", e->attempt);
    pthread_mutex_unlock(&e->mu);
    return n;
}

void exec_add_attempt(sluice_exec *e, const exec_attempt *from)
{
    pthread_mutex_lock(&e->mu);
    exec_attempt *a = attempt_slot(e);
    *a = *from;
    a->error = from->error ? xstrdup(from->error) : NULL;
    a->out = a->err = NULL;
    a->out_len = a->err_len = 0;
    if (from->out) {
        a->out = xmalloc(from->out_len + 1);
        memcpy(a->out, from->out, from->out_len);
        a->out[from->out_len] = 0;
        a->out_len = from->out_len;
    }
    if (from->err) {
        a->err = xmalloc(from->err_len + 1);
        memcpy(a->err, from->err, from->err_len);
        a->err[from->err_len] = 0;
        a->err_len = from->err_len;
    }
    pthread_mutex_unlock(&e->mu);
}

void exec_attempt_written(sluice_exec *e, int n)
{
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n_attempts; i++)
        if (e->attempts[i].attempt == n) {
            free(e->attempts[i].error);
            free(e->attempts[i].out);
            free(e->attempts[i].err);
            memmove(&e->attempts[i], &e->attempts[i + 1],
                    (e->n_attempts - i - 1) * sizeof(*e->attempts));
            e->n_attempts--;
            break;
        }
    if (!e->n_attempts) {
        free(e->attempts);
        e->attempts = NULL;
    }
    pthread_mutex_unlock(&e->mu);
}

json_t *exec_meta_json_locked(const sluice_exec *e)
{
    json_t *o = json_object();
    for (size_t i = 0; i < e->n_meta; i++)
        json_object_set_new(o, e->meta[i].key, json_string(e->meta[i].value));
    return o;
}

void logbuf_append(logbuf *b, const char *data, size_t len)
{
    if (abi_rules_log_append(b, data, len) != 0)
        xalloc_die(SLUICE_LOG_KEEP);
}

char *logbuf_render(const logbuf *b, size_t *len)
{
    char *out = xmalloc(abi_rules_log_render_size(b));
    *len = abi_rules_log_render(b, out);
    return out;
}

json_t *exec_attempts_json(sluice_exec *e)
{
    json_t *a = json_array();
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n_attempts; i++) {
        const exec_attempt *x = &e->attempts[i];
        execdoc_attempt v = {.attempt = x->attempt,
                             .state = exec_state_name(x->state),
                             .has_exit_code = x->has_exit_code,
                             .exit_code = x->exit_code,
                             .error = x->error,
                             .started_ms = x->started_ms,
                             .finished_ms = x->finished_ms,
                             .out = x->out,
                             .out_len = x->out_len,
                             .err = x->err,
                             .err_len = x->err_len};
        json_array_append_new(a, execdoc_attempt_json(&v));
    }
    pthread_mutex_unlock(&e->mu);
    return a;
}

/* The view of e for execdoc, read under e->mu; out and err are rendered
 * for it when with_logs (the caller frees them). */
static json_t *document(sluice_exec *e, int with_logs, json_t *inputs)
{
    execdoc_view v = {.id = e->id,
                      .request_id = e->request_id,
                      .flow = e->flow->key,
                      .trigger = e->trigger->id,
                      .executor = e->flow->executor,
                      .received_ms = e->received_ms,
                      .replay_of = e->replay_of,
                      .replaces = e->replaces,
                      .event = e->event,
                      .event_len = e->event_len};
    char *out = NULL, *err = NULL;
    pthread_mutex_lock(&e->mu);
    v.state = exec_state_name(e->state);
    v.attempt = e->attempt;
    v.has_exit_code = e->has_exit_code;
    v.exit_code = e->exit_code;
    v.outputs = e->outputs;
    v.meta = exec_meta_json_locked(e);
    v.error = e->error;
    v.replaced_by = e->replaced_by;
    v.started_ms = e->started_ms;
    v.finished_ms = e->finished_ms;
    if (with_logs) {
        v.out = out = logbuf_render(&e->logs[0], &v.out_len);
        v.err = err = logbuf_render(&e->logs[1], &v.err_len);
    }
    json_t *o = execdoc_json(&v, inputs, with_logs);
    pthread_mutex_unlock(&e->mu);
    json_decref(v.meta);
    free(out);
    free(err);
    return o;
}

json_t *exec_to_json(sluice_exec *e, int with_logs)
{
    return document(e, with_logs, NULL);
}

char *exec_inputs_text(const sluice_exec *e, size_t *len)
{
    /* event = stored without its "}" + "," + members + "}" (event_join),
     * members = "body":X,"raw_body_b64":Y with Y null or a base64 string,
     * which holds no quote: the last ,"raw_body_b64": ends X. */
    static const char body_key[] = "\"body\":", raw_key[] = ",\"raw_body_b64\":";
    if (!e->stored_event || e->stored_len < 3 || e->event_len < e->stored_len + 2)
        return NULL;
    const char *m = e->event + e->stored_len;
    size_t mlen = e->event_len - e->stored_len - 1;
    size_t bk = sizeof(body_key) - 1, rk = sizeof(raw_key) - 1;
    if (mlen < bk + rk || memcmp(m, body_key, bk) != 0)
        return NULL;
    const char *x = m + bk, *end = NULL;
    for (const char *p = m + mlen - rk; p >= x; p--)
        if (memcmp(p, raw_key, rk) == 0) {
            end = p;
            break;
        }
    if (!end)
        return NULL;
    /* The other members are read back from the bodyless event's compact
     * text as they are, in the order a document lists them; a missing one
     * is null, as json_object_get would have it. */
    static const char *const keys[] = {"params", "query", "body", "variables", "function"};
    const char *val[5];
    size_t vlen[5], total = 2;
    for (size_t i = 0; i < 5; i++) {
        if (i == 2) {
            val[i] = x;
            vlen[i] = (size_t)(end - x);
        } else {
            int rc =
                json_compact_member(e->stored_event, e->stored_len, keys[i], &val[i], &vlen[i]);
            if (rc < 0)
                return NULL;
            if (rc > 0) {
                val[i] = "null";
                vlen[i] = 4;
            }
        }
        total += strlen(keys[i]) + 4 + vlen[i];
    }
    char *text = malloc(total + 1), *w = text;
    if (!text)
        return NULL;
    for (size_t i = 0; i < 5; i++) {
        size_t kl = strlen(keys[i]);
        *w++ = i ? ',' : '{';
        *w++ = '"';
        memcpy(w, keys[i], kl);
        w += kl;
        *w++ = '"';
        *w++ = ':';
        memcpy(w, val[i], vlen[i]);
        w += vlen[i];
    }
    *w++ = '}';
    *w = 0;
    *len = (size_t)(w - text);
    return text;
}

json_t *exec_to_json_deferred(sluice_exec *e, int with_logs, json_t **inputs_at, char **inputs_text,
                              size_t *inputs_len)
{
    *inputs_text = exec_inputs_text(e, inputs_len);
    *inputs_at = *inputs_text ? json_object() : NULL;
    return document(e, with_logs, *inputs_at);
}

/* ---- what the front reads and sets ---- */

const char *exec_id(const sluice_exec *e)
{
    return e->id;
}

const flow_def *exec_flow(const sluice_exec *e)
{
    return e->flow;
}

flow_rt *exec_runtime(const sluice_exec *e)
{
    return e->rt;
}

int exec_store_status(const sluice_exec *e)
{
    return e->store_status;
}

const char *exec_dup_of(const sluice_exec *e)
{
    return e->dup_of;
}

void exec_set_admission(sluice_exec *e, const char *idem_key, size_t qbytes)
{
    if (idem_key && !e->idem_key)
        e->idem_key = xstrdup(idem_key);
    e->qbytes = qbytes;
}

void exec_set_replay_of(sluice_exec *e, const char *id)
{
    snprintf(e->replay_of, sizeof(e->replay_of), "%s", id ? id : "");
}

void exec_set_recovered(sluice_exec *e, const char *replay_of, const char *replaces, int attempt)
{
    snprintf(e->replay_of, sizeof(e->replay_of), "%s", replay_of ? replay_of : "");
    snprintf(e->replaces, sizeof(e->replaces), "%s", replaces ? replaces : "");
    e->attempt = attempt;
    snprintf(e->attempt_str, sizeof(e->attempt_str), "%d", attempt);
}

void exec_set_replaces(sluice_exec *e, const char *id)
{
    /* Live already: the API may be reading it. */
    pthread_mutex_lock(&e->mu);
    snprintf(e->replaces, sizeof(e->replaces), "%s", id);
    pthread_mutex_unlock(&e->mu);
}

void exec_get_outcome(sluice_exec *e, exec_outcome *out)
{
    pthread_mutex_lock(&e->mu);
    out->state = e->state;
    out->attempt = e->attempt;
    out->finished = e->finished;
    out->has_exit_code = e->has_exit_code;
    out->exit_code = e->exit_code;
    out->error = e->error ? xstrdup(e->error) : NULL;
    pthread_mutex_unlock(&e->mu);
}

int exec_get_response(sluice_exec *e, int *status, char **ctype, char **body, size_t *len)
{
    pthread_mutex_lock(&e->mu);
    int has = e->resp_status != 0;
    if (has) {
        *status = e->resp_status;
        *ctype = e->resp_ctype ? xstrdup(e->resp_ctype) : NULL;
        *body = xmalloc(e->resp_len + 1);
        if (e->resp_len)
            memcpy(*body, e->resp_body, e->resp_len);
        (*body)[e->resp_len] = '\0';
        *len = e->resp_len;
    }
    pthread_mutex_unlock(&e->mu);
    return has;
}

int exec_has_response(sluice_exec *e)
{
    pthread_mutex_lock(&e->mu);
    int has = e->resp_status != 0;
    pthread_mutex_unlock(&e->mu);
    return has;
}

int exec_get_state(sluice_exec *e)
{
    pthread_mutex_lock(&e->mu);
    int state = e->state;
    pthread_mutex_unlock(&e->mu);
    return state;
}

int exec_attempt_locked(const sluice_exec *e)
{
    return e->attempt;
}

int exec_follow_begin(sluice_exec *e, exec_log_listener *l, char *pre[2], size_t pre_len[2],
                      int *attempt)
{
    pthread_mutex_lock(&e->mu);
    for (int s = 0; s < 2; s++)
        pre[s] = logbuf_render(&e->logs[s], &pre_len[s]);
    int finished = e->finished;
    *attempt = e->attempt;
    if (!finished)
        exec_add_log_listener_locked(e, l);
    pthread_mutex_unlock(&e->mu);
    return finished;
}
