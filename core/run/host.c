/*
 * host.c - the services sluiced offers plugins (the sluice_host table).
 *
 * Everything a plugin hands over is validated and copied here, with the
 * limits documented in <sluice/plugin.h>; a plugin that misbehaves gets a
 * log line naming it, never a crash of the host.
 */
#include "exec_impl.h"
#include "abi_rules.h"
#include "engine.h"
#include "exec.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "units.h"
#include "xalloc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *plugin_name(const sluice_host *h)
{
    const host_table *t = (const host_table *)h;
    return t->owner ? t->owner->name : "?";
}

__attribute__((format(printf, 4, 5))) static void host_log(const sluice_host *h,
                                                           const sluice_exec *e, int level,
                                                           const char *fmt, ...)
{
    char prefix[160];
    if (e)
        snprintf(prefix, sizeof(prefix), "plugin %s exec=%s", plugin_name(h), e->id);
    else
        snprintf(prefix, sizeof(prefix), "plugin %s", plugin_name(h));
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, e ? e->request_id : NULL, prefix, fmt, ap);
    va_end(ap);
}

static const char *host_exec_event(const sluice_exec *e, size_t *len)
{
    if (len)
        *len = e->event_len;
    return e->event;
}

static const char *host_exec_header(const sluice_exec *e, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < e->n_hdrs; i++)
        if (strcasecmp(e->hdr_names[i], name) == 0)
            return e->hdr_values[i];
    return NULL;
}

static const char *host_exec_meta(const sluice_exec *e, const char *key)
{
    if (!key)
        return NULL;
    switch (abi_rules_host_meta_find(key)) {
    case ABI_RULES_META_EXECUTION_ID:
        return e->id;
    case ABI_RULES_META_REQUEST_ID:
        return e->request_id;
    case ABI_RULES_META_FLOW:
        return e->flow->key;
    case ABI_RULES_META_FLOW_ID:
        return e->flow->id;
    case ABI_RULES_META_NAMESPACE:
        return e->flow->ns;
    case ABI_RULES_META_TRIGGER:
        return e->trigger->id;
    case ABI_RULES_META_FUNCTION:
        return e->function;
    case ABI_RULES_META_ATTEMPT:
        return e->attempt_str;
    case ABI_RULES_META_TIMEOUT_MS:
        return e->timeout_str;
    case ABI_RULES_META_MODE:
        return e->sync ? "sync" : "async";
    case ABI_RULES_META_RESPOND_WITH:
        return e->sync && e->trigger->respond_with == RESPOND_UPSTREAM ? "upstream" : "execution";
    case ABI_RULES_META_NONE:
    case ABI_RULES_META_COUNT:
        break;
    }
    /* Plugin keys always hold a dot, host keys never do. */
    if (!strchr(key, '.'))
        return NULL;
    const char *v = NULL;
    sluice_exec *m = (sluice_exec *)e;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta[i].key, key) == 0) {
            v = m->meta[i].value;
            break;
        }
    pthread_mutex_unlock(&m->mu);
    return v;
}

static sluice_host *host_of(sluice_exec *e)
{
    return &e->rt->plugin->host.pub;
}

static int host_exec_set_output(sluice_exec *e, const char *json, size_t len)
{
    if (!json) {
        host_log(host_of(e), e, LOG_ERROR, "exec_set_output: NULL output refused");
        return -1;
    }
    if (len > SLUICE_MAX_OUTPUT) {
        host_log(host_of(e), e, LOG_ERROR, "exec_set_output: %zu bytes refused (the limit is %u)",
                 len, SLUICE_MAX_OUTPUT);
        return -1;
    }
    json_error_t jerr;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
        host_log(host_of(e), e, LOG_ERROR, "exec_set_output: not a JSON object: %s",
                 j ? "wrong type" : jerr.text);
        json_decref(j);
        return -1;
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    pthread_mutex_lock(&e->mu);
    free(e->outputs);
    e->outputs = text;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static int host_exec_set_error(sluice_exec *e, const char *message)
{
    char *copy = abi_rules_error_text(message);
    if (!copy)
        return 0;
    pthread_mutex_lock(&e->mu);
    free(e->error);
    e->error = copy;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static int host_exec_set_exit_code(sluice_exec *e, int code)
{
    pthread_mutex_lock(&e->mu);
    e->exit_code = code;
    e->has_exit_code = 1;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static int host_exec_write_log(sluice_exec *e, int stream, const char *data, size_t len)
{
    if (stream != SLUICE_STDOUT && stream != SLUICE_STDERR) {
        host_log(host_of(e), e, LOG_ERROR, "exec_write_log: unknown stream %d", stream);
        return -1;
    }
    if (!data || !len)
        return 0;
    exec_write_log(e, stream, data, len);
    return 0;
}

static int host_exec_is_cancelled(const sluice_exec *e)
{
    return atomic_load(&((sluice_exec *)e)->cancel_reason);
}

/* How long a completed execution stays valid for a plugin's stray second
 * exec_complete (forbidden by the ABI, but the host must survive it). */
#define LATE_CALL_GRACE_MS 30000

static void late_call_grace_over(void *arg)
{
    exec_unref(arg);
}

static void host_exec_complete(sluice_exec *e, int result)
{
    if (atomic_exchange(&e->completed, 1) != 0) {
        host_log(host_of(e), e, LOG_WARN,
                 "exec_complete called for an execution that is already complete; ignored");
        /* The host finished it after an unanswered cancellation and kept a
         * reference for this very call: the plugin has let go of e now. */
        if (atomic_exchange(&e->abandoned, 0))
            exec_unref(e);
        return;
    }
    /* A plugin that calls again from its thread after this returns must
     * find a completed execution, not freed memory: keep e a while. */
    engine_timer_add(units_mono_ms() + LATE_CALL_GRACE_MS, late_call_grace_over, exec_ref(e), NULL);
    if (result != SLUICE_OK && result != SLUICE_ERR) {
        host_log(host_of(e), e, LOG_ERROR, "exec_complete: bad result %d; treating as error",
                 result);
        result = SLUICE_ERR;
    }
    engine_finish(e, result);
}

static int host_exec_set_response(sluice_exec *e, int status, const char *content_type,
                                  const char *body, size_t len)
{
    if (status < 100 || status > 599) {
        host_log(host_of(e), e, LOG_ERROR, "exec_set_response: bad status %d refused", status);
        return -1;
    }
    if (len > SLUICE_MAX_OUTPUT || (len && !body)) {
        host_log(host_of(e), e, LOG_ERROR, "exec_set_response: body of %zu bytes refused", len);
        return -1;
    }
    if (content_type && strpbrk(content_type, "\r\n")) {
        host_log(host_of(e), e, LOG_ERROR, "exec_set_response: bad content type refused");
        return -1;
    }
    char *b = xmalloc(len + 1);
    if (len)
        memcpy(b, body, len);
    b[len] = 0;
    char *ct = xstrdup(content_type ? content_type : "application/json");
    pthread_mutex_lock(&e->mu);
    free(e->resp_body);
    free(e->resp_ctype);
    e->resp_status = status;
    e->resp_body = b;
    e->resp_len = len;
    e->resp_ctype = ct;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static const char *host_exec_body(const sluice_exec *e, size_t *len, const char **content_type)
{
    const exec_body *b = e->body;
    if (len)
        *len = b && b->bytes ? b->len : 0;
    if (content_type)
        *content_type = b ? b->content_type : NULL;
    return b ? b->bytes : NULL;
}

/* Keys follow abi_rules_meta_key_ok ([a-z0-9][a-z0-9._-]* with a dot), so no
 * plugin key is ever a host key. */
static int host_exec_set_meta(sluice_exec *e, const char *key, const char *value)
{
    if (!key || !abi_rules_meta_key_ok(key)) {
        host_log(host_of(e), e, LOG_ERROR,
                 "exec_set_meta: key \"%.80s\" refused: it must match [a-z0-9][a-z0-9._-]*, "
                 "hold a '.' and be at most %u bytes",
                 key ? key : "(null)", SLUICE_META_KEY_MAX);
        return -1;
    }
    char *copy = NULL;
    if (value) {
        size_t n = strnlen(value, SLUICE_META_VALUE_MAX + 1);
        if (n > SLUICE_META_VALUE_MAX) {
            host_log(host_of(e), e, LOG_ERROR, "exec_set_meta: %s: value refused: over %u bytes",
                     key, SLUICE_META_VALUE_MAX);
            return -1;
        }
        json_t *valid = json_stringn(value, n); /* it goes into JSON documents */
        json_decref(valid);
        if (!valid) {
            host_log(host_of(e), e, LOG_ERROR, "exec_set_meta: %s: value refused: not UTF-8", key);
            return -1;
        }
        if (!(copy = strndup(value, n)))
            return -1;
    }
    pthread_mutex_lock(&e->mu);
    size_t i = 0;
    while (i < e->n_meta && strcmp(e->meta[i].key, key) != 0)
        i++;
    if (i < e->n_meta) {
        free(e->meta[i].value);
        if (copy) {
            e->meta[i].value = copy;
        } else {
            free(e->meta[i].key);
            memmove(&e->meta[i], &e->meta[i + 1], (e->n_meta - i - 1) * sizeof(e->meta[0]));
            e->n_meta--;
        }
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
    if (!copy) {
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
    if (e->n_meta == SLUICE_META_MAX) {
        pthread_mutex_unlock(&e->mu);
        free(copy);
        host_log(host_of(e), e, LOG_ERROR, "exec_set_meta: %s refused: already %u keys", key,
                 SLUICE_META_MAX);
        return -1;
    }
    exec_kv *grown = realloc(e->meta, (e->n_meta + 1) * sizeof(*grown));
    char *k = strdup(key);
    if (!grown || !k) {
        if (grown)
            e->meta = grown;
        pthread_mutex_unlock(&e->mu);
        free(k);
        free(copy);
        return -1;
    }
    e->meta = grown;
    e->meta[e->n_meta].key = k;
    e->meta[e->n_meta].value = copy;
    e->n_meta++;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

void host_fill(sluice_host *h)
{
    memset(h, 0, sizeof(*h));
    h->abi_major = SLUICE_ABI_MAJOR;
    h->abi_minor = SLUICE_ABI_MINOR;
    h->struct_size = sizeof(sluice_host);
    h->log = host_log;
    h->exec_event = host_exec_event;
    h->exec_header = host_exec_header;
    h->exec_meta = host_exec_meta;
    h->exec_set_output = host_exec_set_output;
    h->exec_set_error = host_exec_set_error;
    h->exec_set_exit_code = host_exec_set_exit_code;
    h->exec_write_log = host_exec_write_log;
    h->exec_is_cancelled = host_exec_is_cancelled;
    h->exec_complete = host_exec_complete;
    h->exec_set_response = host_exec_set_response;
    h->exec_body = host_exec_body;
    h->exec_set_meta = host_exec_set_meta;
}
