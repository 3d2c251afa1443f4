/*
 * mock_host.c - a stand-in for sluiced that records what a plugin does.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * See mock_host.h for the manual. The implementation mirrors what sluiced
 * promises in <sluice/plugin.h>: every host function is thread-safe (one
 * mutex per execution, one per host for the log), every pointer the plugin
 * hands over is copied before the call returns, and the limits the header
 * lists are enforced the same way.
 */
#define _GNU_SOURCE
#include "mock_host.h"

#include "abi_rules.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <nettle/base64.h>

#include <sluice/jansson.h>

struct mock_log_line {
    int level;
    char *text;
};

struct mock_host {
    sluice_host table; /* first: host->log receives a pointer to it */
    pthread_mutex_t lock;
    int verbose;

    sluice_plugin plugin;
    int loaded;
    void *dl;
    int inited;
    void *plugin_ctx;
    char *error; /* last load/init/configure error */

    void **instances;
    size_t n_instances;
    size_t cap_instances;

    struct mock_log_line *lines;
    size_t n_lines;
    size_t cap_lines;
    size_t misuse;
};

/* One output stream, kept as sluiced keeps it. */
struct mock_stream {
    abi_rules_log keep;
    char *render;
    size_t render_len;
    int dirty;
};

struct mock_pair {
    char *key;
    char *value;
};

enum mock_state { MOCK_NEW, MOCK_RUNNING, MOCK_PENDING, MOCK_DONE };

struct sluice_exec {
    mock_host *host;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC: state, cancellers, timer */

    char *event;
    size_t event_len;
    char *body; /* exec_body: len bytes and a NUL, or NULL */
    size_t body_len;
    char *body_type;
    struct mock_pair *plugin_meta; /* exec_set_meta, in the order first set */
    size_t n_plugin_meta;
    struct mock_pair *headers;
    size_t n_headers;
    char *meta[ABI_RULES_META_COUNT]; /* the host keys, by abi_rules_host_meta */

    void *instance;
    enum mock_state state;
    int result;
    int complete_result;
    unsigned complete_calls;
    int cancel_reason;
    unsigned cancelling; /* plugin cancel callbacks in flight */
    pthread_t canceller;

    char *outputs;
    json_t *outputs_json;
    struct mock_pair *output_cache;
    size_t n_output_cache;
    char *error;
    int exit_code;
    struct mock_stream streams[2];

    int has_response;
    int response_status;
    char *response_type;
    char *response_body;
    size_t response_len;

    pthread_t timer;
    int timer_armed;
    int timer_stop;
    unsigned timer_ms;
    int timer_reason;
};

static int mock_set_pair(struct mock_pair **arr, size_t *n, const char *key, const char *value);

static mock_host *mock_host_of(const sluice_host *table)
{
    return (mock_host *)((char *)(uintptr_t)table - offsetof(mock_host, table));
}

static char *mock_strndup(const char *s, size_t n)
{
    char *copy = malloc(n + 1);

    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

static void mock_now_plus(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/*
 * Append one line to the host's log. The text is formatted before the lock
 * is taken so a slow formatter never blocks other threads' log calls.
 */
static void mock_log_append(mock_host *host, int level, const char *text)
{
    char *copy = strdup(text);

    if (!copy)
        return;
    if (host->verbose)
        fprintf(stderr, "[mock %d] %s\n", level, text);
    pthread_mutex_lock(&host->lock);
    if (host->n_lines == host->cap_lines) {
        size_t cap = host->cap_lines ? host->cap_lines * 2 : 32;
        struct mock_log_line *lines = realloc(host->lines, cap * sizeof(*lines));

        if (!lines) {
            pthread_mutex_unlock(&host->lock);
            free(copy);
            return;
        }
        host->lines = lines;
        host->cap_lines = cap;
    }
    host->lines[host->n_lines].level = level;
    host->lines[host->n_lines].text = copy;
    host->n_lines++;
    pthread_mutex_unlock(&host->lock);
}

static void mock_logf(mock_host *host, int level, const char *fmt, ...) SLUICE_PRINTF(3, 4);

static void mock_logf(mock_host *host, int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    memcpy(buf, "mock: ", 6);
    va_start(ap, fmt);
    vsnprintf(buf + 6, sizeof(buf) - 6, fmt, ap);
    va_end(ap);
    mock_log_append(host, level, buf);
}

/* Count and log one ABI misuse; see "ABI misuse" in mock_host.h. */
static void mock_misuse(mock_host *host, const char *what)
{
    pthread_mutex_lock(&host->lock);
    host->misuse++;
    pthread_mutex_unlock(&host->lock);
    mock_logf(host, SLUICE_LOG_ERROR, "ABI misuse: %s", what);
}

static void mock_set_error_text(mock_host *host, const char *text)
{
    free(host->error);
    host->error = strdup(text);
}

/* ----------------------------------------------------------------------
 * The sluice_host table
 */

static void mock_fn_log(const sluice_host *table, const sluice_exec *exec, int level,
                        const char *fmt, ...) SLUICE_PRINTF(4, 5);

static void mock_fn_log(const sluice_host *table, const sluice_exec *exec, int level,
                        const char *fmt, ...)
{
    mock_host *host = mock_host_of(table);
    char buf[4096];
    int n = 0;
    va_list ap;

    if (!fmt) {
        mock_misuse(host, "log with a NULL format");
        return;
    }
    if (exec) {
        sluice_exec *e = (sluice_exec *)(uintptr_t)exec;

        pthread_mutex_lock(&e->lock);
        n = snprintf(buf, sizeof(buf), "[%s] ", e->meta[0] ? e->meta[0] : "-");
        pthread_mutex_unlock(&e->lock);
        if (n < 0 || (size_t)n >= sizeof(buf))
            n = 0;
    }
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    mock_log_append(host, level, buf);
}

/*
 * Calls on an execution that has finished are the classic use-after-free
 * of this ABI; the mock keeps the memory alive and reports them instead.
 * Returns nonzero when the call must be refused. Called with exec->lock.
 */
static int mock_check_live(const sluice_exec *exec, const char *fn)
{
    if (exec->state == MOCK_DONE) {
        char what[128];

        snprintf(what, sizeof(what), "%s called after the execution completed", fn);
        mock_misuse(exec->host, what);
        return 1;
    }
    return 0;
}

static const char *mock_fn_exec_event(const sluice_exec *exec, size_t *len)
{
    sluice_exec *e = (sluice_exec *)(uintptr_t)exec;

    pthread_mutex_lock(&e->lock);
    mock_check_live(e, "exec_event");
    pthread_mutex_unlock(&e->lock);
    if (len)
        *len = exec->event_len;
    return exec->event;
}

static const char *mock_fn_exec_header(const sluice_exec *exec, const char *name)
{
    sluice_exec *e = (sluice_exec *)(uintptr_t)exec;
    const char *value = NULL;

    if (!name)
        return NULL;
    pthread_mutex_lock(&e->lock);
    mock_check_live(e, "exec_header");
    for (size_t i = 0; i < e->n_headers; i++) {
        if (strcasecmp(e->headers[i].key, name) == 0) {
            value = e->headers[i].value;
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return value;
}

static const char *mock_plugin_meta_locked(const sluice_exec *exec, const char *key)
{
    for (size_t i = 0; i < exec->n_plugin_meta; i++)
        if (strcmp(exec->plugin_meta[i].key, key) == 0)
            return exec->plugin_meta[i].value;
    return NULL;
}

static const char *mock_fn_exec_meta(const sluice_exec *exec, const char *key)
{
    sluice_exec *e = (sluice_exec *)(uintptr_t)exec;
    const char *value;
    int i;

    if (!key)
        return NULL;
    i = abi_rules_host_meta_find(key);
    if (i < 0 && !strchr(key, '.'))
        return NULL;
    pthread_mutex_lock(&e->lock);
    mock_check_live(e, "exec_meta");
    value = i >= 0 ? e->meta[i] : mock_plugin_meta_locked(e, key);
    pthread_mutex_unlock(&e->lock);
    return value;
}

static void mock_clear_output_cache(sluice_exec *exec)
{
    for (size_t i = 0; i < exec->n_output_cache; i++) {
        free(exec->output_cache[i].key);
        free(exec->output_cache[i].value);
    }
    free(exec->output_cache);
    exec->output_cache = NULL;
    exec->n_output_cache = 0;
}

static int mock_fn_exec_set_output(sluice_exec *exec, const char *json, size_t len)
{
    mock_host *host = exec->host;
    json_error_t jerr;
    json_t *value;
    char *copy;

    if (!json) {
        mock_logf(host, SLUICE_LOG_WARN, "exec_set_output refused: NULL text");
        return -1;
    }
    if (len > SLUICE_MAX_OUTPUT) {
        mock_logf(host, SLUICE_LOG_WARN,
                  "exec_set_output refused: %zu bytes is over the limit of %u", len,
                  SLUICE_MAX_OUTPUT);
        return -1;
    }
    value = json_loadb(json, len, 0, &jerr);
    if (!value || !json_is_object(value)) {
        mock_logf(host, SLUICE_LOG_WARN, "exec_set_output refused: not a JSON object (%s)",
                  !value ? jerr.text : "valid JSON of another type");
        json_decref(value);
        return -1;
    }
    copy = mock_strndup(json, len);
    if (!copy) {
        json_decref(value);
        return -1;
    }
    pthread_mutex_lock(&exec->lock);
    if (mock_check_live(exec, "exec_set_output")) {
        pthread_mutex_unlock(&exec->lock);
        json_decref(value);
        free(copy);
        return -1;
    }
    free(exec->outputs);
    json_decref(exec->outputs_json);
    mock_clear_output_cache(exec);
    exec->outputs = copy;
    exec->outputs_json = value;
    pthread_mutex_unlock(&exec->lock);
    return 0;
}

static int mock_fn_exec_set_error(sluice_exec *exec, const char *message)
{
    char *copy;

    if (!message) {
        mock_misuse(exec->host, "exec_set_error with a NULL message");
    }
    copy = abi_rules_error_text(message);
    if (!copy)
        return 0;
    pthread_mutex_lock(&exec->lock);
    if (mock_check_live(exec, "exec_set_error")) {
        pthread_mutex_unlock(&exec->lock);
        free(copy);
        return 0;
    }
    free(exec->error);
    exec->error = copy;
    pthread_mutex_unlock(&exec->lock);
    return 0;
}

static int mock_fn_exec_set_exit_code(sluice_exec *exec, int code)
{
    pthread_mutex_lock(&exec->lock);
    if (!mock_check_live(exec, "exec_set_exit_code"))
        exec->exit_code = code;
    pthread_mutex_unlock(&exec->lock);
    return 0;
}

static int mock_fn_exec_write_log(sluice_exec *exec, int stream, const char *data, size_t len)
{
    struct mock_stream *s;

    if (stream != SLUICE_STDOUT && stream != SLUICE_STDERR)
        return -1;
    if (!data && len > 0) {
        mock_misuse(exec->host, "exec_write_log with NULL data");
        return -1;
    }
    pthread_mutex_lock(&exec->lock);
    if (mock_check_live(exec, "exec_write_log")) {
        pthread_mutex_unlock(&exec->lock);
        return -1;
    }
    s = &exec->streams[stream - 1];
    if (abi_rules_log_append(&s->keep, data, len) != 0) {
        pthread_mutex_unlock(&exec->lock);
        return -1;
    }
    s->dirty = 1;
    pthread_mutex_unlock(&exec->lock);
    return 0;
}

static int mock_fn_exec_is_cancelled(const sluice_exec *exec)
{
    sluice_exec *e = (sluice_exec *)(uintptr_t)exec;
    int reason;

    pthread_mutex_lock(&e->lock);
    mock_check_live(e, "exec_is_cancelled");
    reason = e->cancel_reason;
    pthread_mutex_unlock(&e->lock);
    return reason;
}

/*
 * Finish the execution with its final result and wake waiters. An
 * in-flight plugin cancel callback is waited for, so the plugin is never
 * asked to cancel an execution the host considers finished. Called with
 * exec->lock.
 */
static void mock_finish_locked(sluice_exec *exec, int result)
{
    while (exec->cancelling > 0 && !pthread_equal(exec->canceller, pthread_self()))
        pthread_cond_wait(&exec->cond, &exec->lock);
    exec->state = MOCK_DONE;
    exec->result = result;
    pthread_cond_broadcast(&exec->cond);
}

static void mock_fn_exec_complete(sluice_exec *exec, int result)
{
    mock_host *host = exec->host;

    pthread_mutex_lock(&exec->lock);
    exec->complete_calls++;
    if (exec->complete_calls > 1) {
        pthread_mutex_unlock(&exec->lock);
        mock_logf(host, SLUICE_LOG_WARN, "exec_complete called again (call %u); ignored",
                  exec->complete_calls);
        return;
    }
    if (exec->cancelling > 0 && pthread_equal(exec->canceller, pthread_self())) {
        pthread_mutex_unlock(&exec->lock);
        mock_misuse(host, "exec_complete called from the plugin's cancel callback");
        pthread_mutex_lock(&exec->lock);
    }
    if (result != SLUICE_OK && result != SLUICE_ERR) {
        pthread_mutex_unlock(&exec->lock);
        mock_misuse(host, "exec_complete with a result other than SLUICE_OK or SLUICE_ERR");
        pthread_mutex_lock(&exec->lock);
        result = SLUICE_ERR;
    }
    switch (exec->state) {
    case MOCK_NEW:
    case MOCK_DONE:
        pthread_mutex_unlock(&exec->lock);
        mock_misuse(host, "exec_complete for an execution that is not running");
        return;
    case MOCK_RUNNING:
        /* Completion may race ahead of execute returning SLUICE_PENDING. */
        exec->complete_result = result;
        break;
    case MOCK_PENDING:
        mock_finish_locked(exec, result);
        break;
    }
    pthread_mutex_unlock(&exec->lock);
}

static int mock_fn_exec_set_response(sluice_exec *exec, int status, const char *content_type,
                                     const char *body, size_t len)
{
    mock_host *host = exec->host;
    char *type;
    char *copy;

    if (status < 100 || status > 599) {
        mock_logf(host, SLUICE_LOG_WARN, "exec_set_response refused: status %d", status);
        return -1;
    }
    if (len > SLUICE_MAX_OUTPUT) {
        mock_logf(host, SLUICE_LOG_WARN,
                  "exec_set_response refused: body of %zu bytes is over the limit", len);
        return -1;
    }
    if (!body && len > 0) {
        mock_misuse(host, "exec_set_response with a NULL body");
        return -1;
    }
    type = strdup(content_type ? content_type : "application/json");
    copy = mock_strndup(body ? body : "", len);
    if (!type || !copy) {
        free(type);
        free(copy);
        return -1;
    }
    pthread_mutex_lock(&exec->lock);
    if (mock_check_live(exec, "exec_set_response")) {
        pthread_mutex_unlock(&exec->lock);
        free(type);
        free(copy);
        return -1;
    }
    free(exec->response_type);
    free(exec->response_body);
    exec->has_response = 1;
    exec->response_status = status;
    exec->response_type = type;
    exec->response_body = copy;
    exec->response_len = len;
    pthread_mutex_unlock(&exec->lock);
    return 0;
}

static const char *mock_fn_exec_body(const sluice_exec *exec, size_t *len,
                                     const char **content_type)
{
    sluice_exec *e = (sluice_exec *)(uintptr_t)exec;
    const char *body;

    pthread_mutex_lock(&e->lock);
    mock_check_live(e, "exec_body");
    body = e->body;
    if (len)
        *len = e->body ? e->body_len : 0;
    if (content_type)
        *content_type = e->body_type;
    pthread_mutex_unlock(&e->lock);
    return body;
}

static int mock_fn_exec_set_meta(sluice_exec *exec, const char *key, const char *value)
{
    mock_host *host = exec->host;
    json_t *valid;
    int rc;

    if (!key || !abi_rules_meta_key_ok(key)) {
        mock_logf(host, SLUICE_LOG_WARN, "exec_set_meta refused: bad key \"%.80s\"",
                  key ? key : "(null)");
        return -1;
    }
    if (value) {
        if (strlen(value) > SLUICE_META_VALUE_MAX) {
            mock_logf(host, SLUICE_LOG_WARN, "exec_set_meta refused: %s: value over %u bytes", key,
                      SLUICE_META_VALUE_MAX);
            return -1;
        }
        valid = json_string(value);
        json_decref(valid);
        if (!valid) {
            mock_logf(host, SLUICE_LOG_WARN, "exec_set_meta refused: %s: value not UTF-8", key);
            return -1;
        }
    }
    pthread_mutex_lock(&exec->lock);
    if (mock_check_live(exec, "exec_set_meta")) {
        pthread_mutex_unlock(&exec->lock);
        return -1;
    }
    if (value && !mock_plugin_meta_locked(exec, key) && exec->n_plugin_meta == SLUICE_META_MAX) {
        pthread_mutex_unlock(&exec->lock);
        mock_logf(host, SLUICE_LOG_WARN, "exec_set_meta refused: %s: already %u keys", key,
                  SLUICE_META_MAX);
        return -1;
    }
    /* Keys are case-sensitive and already lower case, so the mock's
     * case-insensitive pair list finds exactly this key. */
    rc = mock_set_pair(&exec->plugin_meta, &exec->n_plugin_meta, key, value);
    pthread_mutex_unlock(&exec->lock);
    return rc;
}

/* ----------------------------------------------------------------------
 * Host setup
 */

mock_host *mock_host_new(void)
{
    mock_host *host = calloc(1, sizeof(*host));

    if (!host)
        return NULL;
    host->table.abi_major = SLUICE_ABI_MAJOR;
    host->table.abi_minor = SLUICE_ABI_MINOR;
    host->table.struct_size = (uint32_t)sizeof(sluice_host);
    host->table.log = mock_fn_log;
    host->table.exec_event = mock_fn_exec_event;
    host->table.exec_header = mock_fn_exec_header;
    host->table.exec_meta = mock_fn_exec_meta;
    host->table.exec_set_output = mock_fn_exec_set_output;
    host->table.exec_set_error = mock_fn_exec_set_error;
    host->table.exec_set_exit_code = mock_fn_exec_set_exit_code;
    host->table.exec_write_log = mock_fn_exec_write_log;
    host->table.exec_is_cancelled = mock_fn_exec_is_cancelled;
    host->table.exec_complete = mock_fn_exec_complete;
    host->table.exec_set_response = mock_fn_exec_set_response;
    host->table.exec_body = mock_fn_exec_body;
    host->table.exec_set_meta = mock_fn_exec_set_meta;
    host->verbose = getenv("MOCK_HOST_VERBOSE") != NULL;
    pthread_mutex_init(&host->lock, NULL);
    return host;
}

void mock_host_free(mock_host *host)
{
    if (!host)
        return;
    while (host->n_instances > 0)
        mock_host_unconfigure(host, host->instances[host->n_instances - 1]);
    if (host->inited && host->plugin.destroy)
        host->plugin.destroy(host->plugin_ctx);
    if (host->dl)
        dlclose(host->dl);
    for (size_t i = 0; i < host->n_lines; i++)
        free(host->lines[i].text);
    free(host->lines);
    free(host->instances);
    free(host->error);
    pthread_mutex_destroy(&host->lock);
    free(host);
}

static int mock_name_ok(const char *name)
{
    if (!name || *name == '\0')
        return 0;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-'))
            return 0;
    }
    return 1;
}

/*
 * The loader's checks, in the loader's order: read only the three leading
 * fields, then copy what the plugin says it has into a zeroed descriptor,
 * and only then look at the rest.
 */
static const char *mock_validate(mock_host *host, const sluice_plugin *plugin, const char *src)
{
    char msg[512], why[256];
    const char *missing;
    size_t size;

    if (!plugin) {
        snprintf(msg, sizeof(msg), "%s: sluice_plugin_v1() returned NULL", src);
        goto fail;
    }
    if (abi_rules_descriptor(plugin, why, sizeof(why)) != 0) {
        snprintf(msg, sizeof(msg), "%s: %s", src, why);
        goto fail;
    }
    size =
        plugin->struct_size < sizeof(sluice_plugin) ? plugin->struct_size : sizeof(sluice_plugin);
    memset(&host->plugin, 0, sizeof(host->plugin));
    memcpy(&host->plugin, plugin, size);
    if ((missing = abi_rules_missing_callback(&host->plugin))) {
        snprintf(msg, sizeof(msg), "%s: mandatory callback %s is NULL", src, missing);
        goto fail;
    }
    if (!mock_name_ok(host->plugin.name)) {
        snprintf(msg, sizeof(msg), "%s: name must match [a-z0-9._-]+", src);
        goto fail;
    }
    if (!host->plugin.version || !host->plugin.description || !host->plugin.license) {
        snprintf(msg, sizeof(msg), "%s: version, description and license are required", src);
        goto fail;
    }
    host->loaded = 1;
    mock_logf(host, SLUICE_LOG_INFO, "loaded plugin %s %s (%s)", host->plugin.name,
              host->plugin.version, host->plugin.license);
    return NULL;

fail:
    memset(&host->plugin, 0, sizeof(host->plugin));
    mock_set_error_text(host, msg);
    mock_logf(host, SLUICE_LOG_ERROR, "refusing plugin: %s", msg);
    return host->error;
}

const char *mock_host_load(mock_host *host, const sluice_plugin *plugin)
{
    if (host->loaded) {
        mock_set_error_text(host, "a plugin is already loaded");
        return host->error;
    }
    return mock_validate(host, plugin, "descriptor");
}

const char *mock_host_load_path(mock_host *host, const char *path)
{
    const sluice_plugin *(*entry)(void);
    const char *err;
    char msg[512];
    void *dl;

    if (host->loaded) {
        mock_set_error_text(host, "a plugin is already loaded");
        return host->error;
    }
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(msg, sizeof(msg), "%s", dlerror());
        goto fail;
    }
    *(void **)&entry = dlsym(dl, "sluice_plugin_v1");
    if (!entry) {
        snprintf(msg, sizeof(msg), "%s: no symbol sluice_plugin_v1", path);
        dlclose(dl);
        goto fail;
    }
    err = mock_validate(host, entry(), path);
    if (err) {
        dlclose(dl);
        return err;
    }
    host->dl = dl;
    return NULL;

fail:
    mock_set_error_text(host, msg);
    mock_logf(host, SLUICE_LOG_ERROR, "cannot load plugin: %s", msg);
    return host->error;
}

const char *mock_host_init(mock_host *host)
{
    char err[1024] = "";

    if (!host->loaded) {
        mock_set_error_text(host, "no plugin loaded");
        return host->error;
    }
    if (host->inited) {
        mock_set_error_text(host, "init already called");
        return host->error;
    }
    if (host->plugin.init &&
        host->plugin.init(&host->table, &host->plugin_ctx, err, sizeof(err)) != 0) {
        err[sizeof(err) - 1] = '\0';
        mock_set_error_text(host, err[0] ? err : "init failed without a message");
        return host->error;
    }
    host->inited = 1;
    return NULL;
}

const char *mock_host_configure(mock_host *host, const char *cfg_json, const char *where,
                                void **instance)
{
    char err[2048] = "";
    json_error_t jerr;
    json_t *cfg;
    void *inst = NULL;

    *instance = NULL;
    if (!host->inited) {
        mock_set_error_text(host, "configure before a successful mock_host_init");
        return host->error;
    }
    cfg = json_loads(cfg_json, 0, &jerr);
    if (!cfg || !json_is_object(cfg)) {
        snprintf(err, sizeof(err), "mock: config is not a JSON object: %s",
                 cfg ? "another type" : jerr.text);
        json_decref(cfg);
        mock_set_error_text(host, err);
        return host->error;
    }
    json_decref(cfg);
    if (host->plugin.configure(host->plugin_ctx, cfg_json, strlen(cfg_json), where ? where : "test",
                               &inst, err, sizeof(err)) != 0) {
        err[sizeof(err) - 1] = '\0';
        mock_set_error_text(host, err[0] ? err : "configure failed without a message");
        return host->error;
    }
    if (host->n_instances == host->cap_instances) {
        size_t cap = host->cap_instances ? host->cap_instances * 2 : 8;
        void **arr = realloc(host->instances, cap * sizeof(*arr));

        if (!arr) {
            host->plugin.unconfigure(inst);
            mock_set_error_text(host, "out of memory");
            return host->error;
        }
        host->instances = arr;
        host->cap_instances = cap;
    }
    host->instances[host->n_instances++] = inst;
    *instance = inst;
    return NULL;
}

void mock_host_unconfigure(mock_host *host, void *instance)
{
    for (size_t i = 0; i < host->n_instances; i++) {
        if (host->instances[i] == instance) {
            host->instances[i] = host->instances[--host->n_instances];
            host->plugin.unconfigure(instance);
            return;
        }
    }
    mock_misuse(host, "unconfigure of an instance the host does not know");
}

const sluice_plugin *mock_host_plugin(const mock_host *host)
{
    return host->loaded ? &host->plugin : NULL;
}

const sluice_host *mock_host_table(const mock_host *host)
{
    return &host->table;
}

size_t mock_host_log_count(const mock_host *host)
{
    mock_host *h = (mock_host *)(uintptr_t)host;
    size_t n;

    pthread_mutex_lock(&h->lock);
    n = h->n_lines;
    pthread_mutex_unlock(&h->lock);
    return n;
}

const char *mock_host_log_line(const mock_host *host, size_t i, int *level)
{
    mock_host *h = (mock_host *)(uintptr_t)host;
    const char *text = NULL;

    pthread_mutex_lock(&h->lock);
    if (i < h->n_lines) {
        text = h->lines[i].text;
        if (level)
            *level = h->lines[i].level;
    }
    pthread_mutex_unlock(&h->lock);
    return text;
}

size_t mock_host_log_matches(const mock_host *host, const char *needle)
{
    mock_host *h = (mock_host *)(uintptr_t)host;
    size_t n = 0;

    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n_lines; i++)
        if (strstr(h->lines[i].text, needle))
            n++;
    pthread_mutex_unlock(&h->lock);
    return n;
}

size_t mock_host_misuse_count(const mock_host *host)
{
    mock_host *h = (mock_host *)(uintptr_t)host;
    size_t n;

    pthread_mutex_lock(&h->lock);
    n = h->misuse;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* ----------------------------------------------------------------------
 * Executions
 */

static int mock_set_pair(struct mock_pair **arr, size_t *n, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcasecmp((*arr)[i].key, key) != 0)
            continue;
        if (!value) {
            free((*arr)[i].key);
            free((*arr)[i].value);
            (*arr)[i] = (*arr)[--*n];
            return 0;
        }
        char *copy = strdup(value);
        if (!copy)
            return -1;
        free((*arr)[i].value);
        (*arr)[i].value = copy;
        return 0;
    }
    if (!value)
        return 0;
    struct mock_pair *grown = realloc(*arr, (*n + 1) * sizeof(**arr));
    if (!grown)
        return -1;
    *arr = grown;
    grown[*n].key = strdup(key);
    grown[*n].value = strdup(value);
    if (!grown[*n].key || !grown[*n].value) {
        free(grown[*n].key);
        free(grown[*n].value);
        return -1;
    }
    (*n)++;
    return 0;
}

static int mock_meta_set_index(sluice_exec *exec, int i, const char *value)
{
    char *copy = NULL;

    if (value && !(copy = strdup(value)))
        return -1;
    free(exec->meta[i]);
    exec->meta[i] = copy;
    return 0;
}

/* Standard base64, as sluiced writes raw_body_b64, on Nettle's decoder as
 * sluiced's own is. NULL when it does not decode. */
static char *mock_b64_decode(const char *in, size_t n, size_t *len)
{
    struct base64_decode_ctx ctx;
    char *out = malloc(BASE64_DECODE_LENGTH(n) + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &o, (uint8_t *)out, n, in) || !base64_decode_final(&ctx)) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *len = o;
    return out;
}

static int mock_set_body_locked(sluice_exec *exec, const char *data, size_t len,
                                const char *content_type)
{
    char *body = data ? mock_strndup(data, len) : NULL;
    char *type = content_type ? strdup(content_type) : NULL;

    if ((data && !body) || (content_type && !type)) {
        free(body);
        free(type);
        return -1;
    }
    free(exec->body);
    free(exec->body_type);
    exec->body = body;
    exec->body_len = body ? len : 0;
    exec->body_type = type;
    return 0;
}

/*
 * What exec_body gives until the test sets the bytes itself: the event's
 * raw_body_b64 decoded, a string body as it is, any other body as compact
 * JSON; the type is the event's content_type (application/json for JSON
 * the mock wrote).
 */
static int mock_exec_seed_body(sluice_exec *exec, json_t *event)
{
    const json_t *raw = json_object_get(event, "raw_body_b64");
    const json_t *body = json_object_get(event, "body");
    const char *type = json_string_value(json_object_get(event, "content_type"));
    char *bytes = NULL;
    size_t len = 0;
    int rc;

    if (json_is_string(raw)) {
        bytes = mock_b64_decode(json_string_value(raw), json_string_length(raw), &len);
    } else if (json_is_string(body)) {
        len = json_string_length(body);
        bytes = mock_strndup(json_string_value(body), len);
    } else if (body && !json_is_null(body)) {
        bytes = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        len = bytes ? strlen(bytes) : 0;
        if (!type)
            type = "application/json";
    } else {
        return mock_set_body_locked(exec, NULL, 0, type);
    }
    if (!bytes)
        return -1;
    rc = mock_set_body_locked(exec, bytes, len, type);
    free(bytes);
    return rc;
}

/* Fill meta and headers from the event as sluiced would. */
static int mock_exec_seed(sluice_exec *exec, json_t *event)
{
    static const abi_rules_host_meta from_event[] = {ABI_RULES_META_EXECUTION_ID,
                                                     ABI_RULES_META_FLOW, ABI_RULES_META_TRIGGER,
                                                     ABI_RULES_META_FUNCTION};
    const char *flow, *id, *key, *slash;
    char buf[512];
    json_t *headers, *value;

    for (size_t i = 0; i < sizeof(from_event) / sizeof(from_event[0]); i++) {
        const char *s =
            json_string_value(json_object_get(event, abi_rules_host_meta_name(from_event[i])));

        if (s && mock_meta_set_index(exec, from_event[i], s) != 0)
            return -1;
    }
    id = exec->meta[ABI_RULES_META_EXECUTION_ID];
    snprintf(buf, sizeof(buf), "req-%s", id ? id : "mock");
    if (mock_meta_set_index(exec, ABI_RULES_META_REQUEST_ID, buf) != 0)
        return -1;
    flow = exec->meta[ABI_RULES_META_FLOW];
    slash = flow ? strchr(flow, '/') : NULL;
    if (slash) {
        snprintf(buf, sizeof(buf), "%.*s", (int)(slash - flow), flow);
        if (mock_meta_set_index(exec, ABI_RULES_META_NAMESPACE, buf) != 0)
            return -1;
    }
    /* sluiced's flow key is "namespace/id" or "id". */
    if (flow && mock_meta_set_index(exec, ABI_RULES_META_FLOW_ID, slash ? slash + 1 : flow) != 0)
        return -1;
    if (mock_meta_set_index(exec, ABI_RULES_META_ATTEMPT, "1") != 0 ||
        mock_meta_set_index(exec, ABI_RULES_META_TIMEOUT_MS, "0") != 0 ||
        mock_meta_set_index(exec, ABI_RULES_META_MODE, "sync") != 0 ||
        mock_meta_set_index(exec, ABI_RULES_META_RESPOND_WITH, "execution") != 0)
        return -1;
    if (mock_exec_seed_body(exec, event) != 0)
        return -1;
    headers = json_object_get(event, "headers");
    json_object_foreach(headers, key, value)
    {
        if (json_is_string(value) &&
            mock_set_pair(&exec->headers, &exec->n_headers, key, json_string_value(value)) != 0)
            return -1;
    }
    return 0;
}

mock_exec *mock_exec_new(mock_host *host, const char *event_json)
{
    pthread_condattr_t attr;
    json_error_t jerr;
    sluice_exec *exec;
    json_t *event;

    /* Read as plugins read it (sluice_json_parse_event): an event the mock
     * takes must be one sluiced could give. */
    event = sluice_json_parse_event(event_json, strlen(event_json), &jerr);
    if (!event || !json_is_object(event)) {
        mock_logf(host, SLUICE_LOG_ERROR, "mock_exec_new: event is not a JSON object: %s",
                  event ? "another type" : jerr.text);
        json_decref(event);
        return NULL;
    }
    exec = calloc(1, sizeof(*exec));
    if (!exec)
        goto fail;
    exec->host = host;
    exec->result = MOCK_NOT_DONE;
    exec->exit_code = MOCK_NO_EXIT_CODE;
    exec->event_len = strlen(event_json);
    exec->event = mock_strndup(event_json, exec->event_len);
    pthread_mutex_init(&exec->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&exec->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (!exec->event || mock_exec_seed(exec, event) != 0) {
        mock_exec_free(exec);
        exec = NULL;
    }
fail:
    json_decref(event);
    return exec;
}

void mock_exec_free(mock_exec *exec)
{
    if (!exec)
        return;
    pthread_mutex_lock(&exec->lock);
    exec->timer_stop = 1;
    pthread_cond_broadcast(&exec->cond);
    pthread_mutex_unlock(&exec->lock);
    if (exec->timer_armed)
        pthread_join(exec->timer, NULL);
    if (exec->state == MOCK_RUNNING || exec->state == MOCK_PENDING)
        mock_misuse(exec->host, "mock_exec_free on an execution that is still running");
    free(exec->event);
    free(exec->body);
    free(exec->body_type);
    for (size_t i = 0; i < exec->n_plugin_meta; i++) {
        free(exec->plugin_meta[i].key);
        free(exec->plugin_meta[i].value);
    }
    free(exec->plugin_meta);
    for (size_t i = 0; i < exec->n_headers; i++) {
        free(exec->headers[i].key);
        free(exec->headers[i].value);
    }
    free(exec->headers);
    for (size_t i = 0; i < ABI_RULES_META_COUNT; i++)
        free(exec->meta[i]);
    free(exec->outputs);
    json_decref(exec->outputs_json);
    mock_clear_output_cache(exec);
    free(exec->error);
    for (int i = 0; i < 2; i++) {
        free(exec->streams[i].keep.head);
        free(exec->streams[i].keep.tail);
        free(exec->streams[i].render);
    }
    free(exec->response_type);
    free(exec->response_body);
    pthread_cond_destroy(&exec->cond);
    pthread_mutex_destroy(&exec->lock);
    free(exec);
}

int mock_exec_set_header(mock_exec *exec, const char *name, const char *value)
{
    int rc;

    pthread_mutex_lock(&exec->lock);
    rc = mock_set_pair(&exec->headers, &exec->n_headers, name, value);
    pthread_mutex_unlock(&exec->lock);
    return rc;
}

int mock_exec_set_meta(mock_exec *exec, const char *key, const char *value)
{
    int i = abi_rules_host_meta_find(key);
    int rc;

    if (i < 0)
        return -1;
    pthread_mutex_lock(&exec->lock);
    rc = mock_meta_set_index(exec, i, value);
    pthread_mutex_unlock(&exec->lock);
    return rc;
}

int mock_exec_set_body(mock_exec *exec, const void *data, size_t len, const char *content_type)
{
    int rc;

    pthread_mutex_lock(&exec->lock);
    rc = mock_set_body_locked(exec, data, len, content_type);
    pthread_mutex_unlock(&exec->lock);
    return rc;
}

int mock_exec_execute(mock_exec *exec, void *instance)
{
    mock_host *host = exec->host;
    int rc;

    pthread_mutex_lock(&exec->lock);
    if (exec->state != MOCK_NEW || !host->loaded) {
        pthread_mutex_unlock(&exec->lock);
        mock_logf(host, SLUICE_LOG_ERROR, "mock_exec_execute: %s",
                  host->loaded ? "an execution runs only once" : "no plugin loaded");
        return SLUICE_ERR;
    }
    exec->state = MOCK_RUNNING;
    exec->instance = instance;
    pthread_mutex_unlock(&exec->lock);

    rc = host->plugin.execute(instance, exec);

    pthread_mutex_lock(&exec->lock);
    if (rc == SLUICE_PENDING) {
        if (exec->complete_calls > 0)
            mock_finish_locked(exec, exec->complete_result);
        else
            exec->state = MOCK_PENDING;
        pthread_mutex_unlock(&exec->lock);
        return rc;
    }
    if (rc != SLUICE_OK && rc != SLUICE_ERR) {
        pthread_mutex_unlock(&exec->lock);
        mock_misuse(host, "execute returned a value other than OK, ERR or PENDING");
        pthread_mutex_lock(&exec->lock);
        rc = SLUICE_ERR;
    }
    if (exec->complete_calls > 0) {
        pthread_mutex_unlock(&exec->lock);
        mock_misuse(host, "exec_complete called but execute did not return SLUICE_PENDING");
        pthread_mutex_lock(&exec->lock);
    }
    if (rc == SLUICE_ERR && !exec->error) {
        pthread_mutex_unlock(&exec->lock);
        mock_misuse(host, "execute returned SLUICE_ERR without exec_set_error");
        pthread_mutex_lock(&exec->lock);
    }
    mock_finish_locked(exec, rc);
    pthread_mutex_unlock(&exec->lock);
    return rc;
}

int mock_exec_wait(mock_exec *exec, int timeout_ms)
{
    struct timespec deadline;
    int result;

    mock_now_plus(&deadline, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&exec->lock);
    while (exec->state != MOCK_DONE) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&exec->cond, &exec->lock);
        } else if (pthread_cond_timedwait(&exec->cond, &exec->lock, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    result = exec->state == MOCK_DONE ? exec->result : MOCK_NOT_DONE;
    pthread_mutex_unlock(&exec->lock);
    return result;
}

int mock_exec_run(mock_exec *exec, void *instance, int timeout_ms)
{
    int rc = mock_exec_execute(exec, instance);

    if (rc != SLUICE_PENDING)
        return mock_exec_result(exec);
    return mock_exec_wait(exec, timeout_ms);
}

void mock_exec_cancel(mock_exec *exec, int reason)
{
    mock_host *host = exec->host;
    void *instance;

    if (reason == SLUICE_CANCEL_NONE)
        return;
    pthread_mutex_lock(&exec->lock);
    if (exec->cancel_reason == SLUICE_CANCEL_NONE)
        exec->cancel_reason = reason;
    if ((exec->state != MOCK_RUNNING && exec->state != MOCK_PENDING) || !host->plugin.cancel) {
        pthread_mutex_unlock(&exec->lock);
        return;
    }
    instance = exec->instance;
    exec->cancelling++;
    exec->canceller = pthread_self();
    pthread_mutex_unlock(&exec->lock);

    host->plugin.cancel(instance, exec);

    pthread_mutex_lock(&exec->lock);
    exec->cancelling--;
    pthread_cond_broadcast(&exec->cond);
    pthread_mutex_unlock(&exec->lock);
}

static void *mock_timer_main(void *arg)
{
    sluice_exec *exec = arg;
    struct timespec deadline;
    int fire = 1;

    mock_now_plus(&deadline, (long)exec->timer_ms);
    pthread_mutex_lock(&exec->lock);
    while (!exec->timer_stop) {
        if (pthread_cond_timedwait(&exec->cond, &exec->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (exec->timer_stop)
        fire = 0;
    pthread_mutex_unlock(&exec->lock);
    if (fire)
        mock_exec_cancel(exec, exec->timer_reason);
    return NULL;
}

int mock_exec_cancel_after(mock_exec *exec, unsigned ms, int reason)
{
    if (exec->timer_armed)
        return -1;
    exec->timer_ms = ms;
    exec->timer_reason = reason;
    if (pthread_create(&exec->timer, NULL, mock_timer_main, exec) != 0)
        return -1;
    exec->timer_armed = 1;
    return 0;
}

int mock_exec_result(const mock_exec *exec)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    int result;

    pthread_mutex_lock(&e->lock);
    result = e->state == MOCK_DONE ? e->result : MOCK_NOT_DONE;
    pthread_mutex_unlock(&e->lock);
    return result;
}

const char *mock_exec_outputs(const mock_exec *exec)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    const char *outputs;

    pthread_mutex_lock(&e->lock);
    outputs = e->outputs;
    pthread_mutex_unlock(&e->lock);
    return outputs;
}

const char *mock_exec_output_get(mock_exec *exec, const char *key)
{
    const char *result = NULL;
    json_t *value;
    char *text;

    pthread_mutex_lock(&exec->lock);
    for (size_t i = 0; i < exec->n_output_cache; i++) {
        if (strcmp(exec->output_cache[i].key, key) == 0) {
            result = exec->output_cache[i].value;
            goto out;
        }
    }
    value = json_object_get(exec->outputs_json, key);
    if (!value)
        goto out;
    if (json_is_string(value))
        text = mock_strndup(json_string_value(value), json_string_length(value));
    else
        text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        goto out;
    {
        struct mock_pair *grown =
            realloc(exec->output_cache, (exec->n_output_cache + 1) * sizeof(*grown));
        char *k = strdup(key);

        if (!grown || !k) {
            if (grown)
                exec->output_cache = grown;
            free(k);
            free(text);
            goto out;
        }
        exec->output_cache = grown;
        grown[exec->n_output_cache].key = k;
        grown[exec->n_output_cache].value = text;
        exec->n_output_cache++;
        result = text;
    }
out:
    pthread_mutex_unlock(&exec->lock);
    return result;
}

const char *mock_exec_error(const mock_exec *exec)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    const char *error;

    pthread_mutex_lock(&e->lock);
    error = e->error;
    pthread_mutex_unlock(&e->lock);
    return error;
}

int mock_exec_exit_code(const mock_exec *exec)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    int code;

    pthread_mutex_lock(&e->lock);
    code = e->exit_code;
    pthread_mutex_unlock(&e->lock);
    return code;
}

/* Render the kept text once per change, for mock_exec_log to lend. */
static int mock_stream_render(struct mock_stream *s)
{
    char *out = malloc(abi_rules_log_render_size(&s->keep));

    if (!out)
        return -1;
    s->render_len = abi_rules_log_render(&s->keep, out);
    free(s->render);
    s->render = out;
    s->dirty = 0;
    return 0;
}

const char *mock_exec_log(mock_exec *exec, int stream, size_t *len)
{
    struct mock_stream *s;
    const char *text = NULL;

    if (stream != SLUICE_STDOUT && stream != SLUICE_STDERR)
        return NULL;
    pthread_mutex_lock(&exec->lock);
    s = &exec->streams[stream - 1];
    if ((s->dirty || !s->render) && mock_stream_render(s) != 0)
        goto out;
    text = s->render;
    if (len)
        *len = s->render_len;
out:
    pthread_mutex_unlock(&exec->lock);
    return text;
}

size_t mock_exec_log_total(const mock_exec *exec, int stream)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    size_t total;

    if (stream != SLUICE_STDOUT && stream != SLUICE_STDERR)
        return 0;
    pthread_mutex_lock(&e->lock);
    total = (size_t)e->streams[stream - 1].keep.total;
    pthread_mutex_unlock(&e->lock);
    return total;
}

int mock_exec_response(const mock_exec *exec, int *status, const char **content_type,
                       const char **body, size_t *len)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    int rc = -1;

    pthread_mutex_lock(&e->lock);
    if (e->has_response) {
        if (status)
            *status = e->response_status;
        if (content_type)
            *content_type = e->response_type;
        if (body)
            *body = e->response_body;
        if (len)
            *len = e->response_len;
        rc = 0;
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

unsigned mock_exec_complete_calls(const mock_exec *exec)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    unsigned n;

    pthread_mutex_lock(&e->lock);
    n = e->complete_calls;
    pthread_mutex_unlock(&e->lock);
    return n;
}

const char *mock_exec_meta_get(const mock_exec *exec, const char *key)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    const char *value;

    if (!key)
        return NULL;
    pthread_mutex_lock(&e->lock);
    value = mock_plugin_meta_locked(e, key);
    pthread_mutex_unlock(&e->lock);
    return value;
}

size_t mock_exec_meta_count(const mock_exec *exec)
{
    mock_exec *e = (mock_exec *)(uintptr_t)exec;
    size_t n;

    pthread_mutex_lock(&e->lock);
    n = e->n_plugin_meta;
    pthread_mutex_unlock(&e->lock);
    return n;
}
