/*
 * execdoc.c - the execution document (see execdoc.h).
 */
#include "execdoc.h"

#include "event.h"
#include "units.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static json_t *str_json(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    return j ? j : json_string("(not UTF-8)");
}

static json_t *link_json(const char *s)
{
    return s && *s ? str_json(s) : json_null();
}

static void set_time(json_t *o, const char *key, uint64_t ms)
{
    if (!ms) {
        json_object_set_new(o, key, json_null());
        return;
    }
    char buf[40];
    units_format_time(ms, buf, sizeof(buf));
    json_object_set_new(o, key, json_string(buf));
}

/* Log text is arbitrary bytes; JSON strings must be UTF-8: where the text
 * is not, bytes of a bad sequence become '?'. NULL is no output. */
static json_t *log_json(const char *text, size_t len)
{
    if (!text)
        return json_string("");
    json_t *s = json_stringn(text, len);
    if (s)
        return s;
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    s = json_stringn(copy, len);
    free(copy);
    return s ? s : json_string("");
}

static json_t *inputs_json(const execdoc_view *v)
{
    if (!v->event || !v->has_body)
        return event_inputs(v->event, v->event_len);
    char err[256];
    size_t mlen, len;
    char *members = event_body_members(v->body, v->body_len, v->body_type, &mlen, err, sizeof(err));
    char *full = members ? event_join(v->event, v->event_len, members, mlen, &len) : NULL;
    json_t *in = full ? event_inputs(full, len) : event_inputs(v->event, v->event_len);
    free(members);
    free(full);
    return in;
}

json_t *execdoc_json(const execdoc_view *v, json_t *inputs, int with_logs)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", str_json(v->id));
    json_object_set_new(o, "request_id", str_json(v->request_id));
    json_object_set_new(o, "flow", str_json(v->flow));
    json_object_set_new(o, "trigger", str_json(v->trigger));
    if (v->executor)
        json_object_set_new(o, "executor", str_json(v->executor));
    json_object_set_new(o, "state", str_json(v->state));
    json_object_set_new(o, "attempt", json_integer(v->attempt));
    json_object_set_new(o, "exit_code",
                        v->has_exit_code ? json_integer(v->exit_code) : json_null());
    json_object_set_new(o, "inputs", inputs ? inputs : inputs_json(v));
    json_t *out = v->outputs ? json_loads(v->outputs, 0, NULL) : NULL;
    if (out && !json_is_object(out)) {
        json_decref(out);
        out = NULL;
    }
    json_object_set_new(o, "outputs", out ? out : json_object());
    json_object_set_new(o, "meta", v->meta ? json_incref(v->meta) : json_object());
    json_object_set_new(o, "error", str_json(v->error));
    json_object_set_new(o, "replay_of", link_json(v->replay_of));
    json_object_set_new(o, "replaces", link_json(v->replaces));
    json_object_set_new(o, "replaced_by", link_json(v->replaced_by));
    set_time(o, "received_at", v->received_ms);
    set_time(o, "started_at", v->started_ms);
    set_time(o, "finished_at", v->finished_ms);
    if (v->finished_ms && v->started_ms)
        json_object_set_new(o, "duration_ms",
                            json_integer((json_int_t)(v->finished_ms - v->started_ms)));
    if (with_logs) {
        json_object_set_new(o, "stdout", log_json(v->out, v->out_len));
        json_object_set_new(o, "stderr", log_json(v->err, v->err_len));
    }
    return o;
}

json_t *execdoc_attempt_json(const execdoc_attempt *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "attempt", json_integer(a->attempt));
    json_object_set_new(o, "state", str_json(a->state));
    json_object_set_new(o, "exit_code",
                        a->has_exit_code ? json_integer(a->exit_code) : json_null());
    json_object_set_new(o, "error", str_json(a->error));
    set_time(o, "started_at", a->started_ms);
    set_time(o, "finished_at", a->finished_ms);
    if (a->started_ms && a->finished_ms)
        json_object_set_new(o, "duration_ms",
                            json_integer((json_int_t)(a->finished_ms - a->started_ms)));
    json_object_set_new(o, "stdout", log_json(a->out, a->out_len));
    json_object_set_new(o, "stderr", log_json(a->err, a->err_len));
    return o;
}

static int by_attempt(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "attempt"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "attempt"));
    return (x > y) - (x < y);
}

/* Whether an entry for attempt n is in the array a. */
static int has_attempt(json_t *a, json_int_t n)
{
    for (size_t i = 0; i < json_array_size(a); i++)
        if (json_integer_value(json_object_get(json_array_get(a, i), "attempt")) == n)
            return 1;
    return 0;
}

void execdoc_attach_attempts(json_t *doc, json_t *stored, json_t *pending)
{
    json_t *a = json_is_array(stored) ? stored : json_array();
    if (a != stored)
        json_decref(stored);
    size_t i;
    json_t *x;
    json_array_foreach(pending, i, x)
    {
        if (!has_attempt(a, json_integer_value(json_object_get(x, "attempt"))))
            json_array_append(a, x);
    }
    json_decref(pending);
    /* The last attempt is the execution's own; queued, it has not started
     * (a retry waiting for its turn). A start known only from the store's
     * record of starts has no time: "unknown" says it started all the
     * same. */
    const char *state = json_string_value(json_object_get(doc, "state"));
    int started = !json_is_null(json_object_get(doc, "started_at"));
    if (state && strcmp(state, "queued") != 0 && (started || strcmp(state, "unknown") == 0) &&
        !has_attempt(a, json_integer_value(json_object_get(doc, "attempt")))) {
        json_t *cur = json_object();
        static const char *const keys[] = {"attempt",     "state",      "exit_code",
                                           "error",       "started_at", "finished_at",
                                           "duration_ms", "stdout",     "stderr"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            json_t *v = json_object_get(doc, keys[k]);
            if (v)
                json_object_set(cur, keys[k], v);
        }
        json_array_append_new(a, cur);
    }
    size_t n = json_array_size(a);
    if (n > 1) {
        json_t **v = xmalloc(n * sizeof(*v));
        for (i = 0; i < n; i++)
            v[i] = json_incref(json_array_get(a, i));
        qsort(v, n, sizeof(*v), by_attempt);
        json_array_clear(a);
        for (i = 0; i < n; i++)
            json_array_append_new(a, v[i]);
        free(v);
    }
    json_object_set_new(doc, "attempts", a);
}
