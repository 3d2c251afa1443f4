/*
 * misbehave.c - a plugin that breaks the rules, to prove the host survives
 * it (tests/abi/safety.sh). config = { mode = "..."; }:
 *
 *   park          return SLUICE_PENDING and never complete; the execution
 *                 is remembered so that "release" can complete it late
 *   release       call exec_complete on every parked execution (after the
 *                 host has timed them out: must be ignored and logged)
 *   twice         SLUICE_PENDING, then exec_complete twice from a thread
 *                 (SLUICE_OK, then SLUICE_ERR)
 *   twice_err     the same with SLUICE_ERR first (matters with retries)
 *   twice_inside  exec_complete twice inside execute, then SLUICE_PENDING
 *   twice_late    like twice, with 300 ms between the two calls, so that
 *                 nothing but the host's own care keeps exec alive
 *   complete_and_return  exec_complete(SLUICE_OK) inside execute, then
 *                 return SLUICE_ERR
 *   complete_err_and_return  exec_complete(SLUICE_ERR), then SLUICE_OK
 *   bad_result    return 42 from execute
 *   bad_complete  SLUICE_PENDING, then exec_complete(exec, 7)
 *   silent_fail   SLUICE_ERR without exec_set_error
 *   limits        every refusal the host documents; the return codes are
 *                 reported as outputs
 *   long_error    an error message longer than SLUICE_MAX_ERROR
 *   utf8_error    the same, with a multibyte character across the cut
 *   latin1_error  an error message that is not UTF-8
 *   loud          3 * SLUICE_LOG_KEEP bytes on stdout
 *   block         block in execute for 7 s, ignoring cancellation, then
 *                 return SLUICE_ERR (after the host has given up on it)
 */
#include <sluice/jansson.h>
#include <sluice/plugin.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum mode {
    M_PARK,
    M_RELEASE,
    M_TWICE,
    M_TWICE_ERR,
    M_TWICE_INSIDE,
    M_TWICE_LATE,
    M_COMPLETE_AND_RETURN,
    M_COMPLETE_ERR_AND_RETURN,
    M_BAD_RESULT,
    M_BAD_COMPLETE,
    M_SILENT_FAIL,
    M_LIMITS,
    M_LONG_ERROR,
    M_UTF8_ERROR,
    M_LATIN1_ERROR,
    M_LOUD,
    M_BLOCK,
};

static const char *const mode_names[] = {
    "park",
    "release",
    "twice",
    "twice_err",
    "twice_inside",
    "twice_late",
    "complete_and_return",
    "complete_err_and_return",
    "bad_result",
    "bad_complete",
    "silent_fail",
    "limits",
    "long_error",
    "utf8_error",
    "latin1_error",
    "loud",
    "block",
};

static const sluice_host *g_host;

/* Parked executions, in arrival order. */
#define MAX_PARKED 64
static pthread_mutex_t parked_mu = PTHREAD_MUTEX_INITIALIZER;
static sluice_exec *parked[MAX_PARKED];
static size_t n_parked;

typedef struct {
    enum mode mode;
} instance;

static int mb_init(const sluice_host *host, void **ctx, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    g_host = host;
    return 0;
}

static int mb_configure(void *ctx, const char *cfg_json, size_t cfg_len, const char *where,
                        void **out, char *err, size_t errlen)
{
    static const char *const known[] = {"mode", NULL};
    (void)ctx;
    json_t *cfg = sluice_json_config(cfg_json, cfg_len, where, err, errlen);
    if (!cfg)
        return -1;
    if (sluice_json_check_keys(cfg, known, where, err, errlen) < 0) {
        json_decref(cfg);
        return -1;
    }
    const char *m = sluice_json_path_string(cfg, "mode");
    size_t i;
    for (i = 0; m && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (strcmp(m, mode_names[i]) == 0)
            break;
    if (!m || i == sizeof(mode_names) / sizeof(mode_names[0])) {
        json_decref(cfg);
        return sluice_json_error(err, errlen, where, "unknown mode");
    }
    json_decref(cfg);
    instance *in = calloc(1, sizeof(*in));
    if (!in)
        return sluice_json_error(err, errlen, where, "out of memory");
    in->mode = (enum mode)i;
    *out = in;
    return 0;
}

static void mb_unconfigure(void *in)
{
    free(in);
}

static void mb_cancel(void *in, sluice_exec *exec)
{
    (void)in;
    /* Flag only (the ABI forbids completing here); this plugin ignores it. */
    g_host->log(g_host, exec, SLUICE_LOG_INFO, "misbehave: cancel called, reason %d, ignoring it",
                g_host->exec_is_cancelled(exec));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void twice(sluice_exec *exec, int first, int second, long gap_ms)
{
    sleep_ms(20);
    g_host->exec_complete(exec, first);
    sleep_ms(gap_ms);
    /* Wrong: exec must not be touched after exec_complete. The host keeps
     * the execution in its store for a while, so this must be survivable,
     * ignored and logged. */
    g_host->exec_complete(exec, second);
}

static void *twice_thread(void *arg)
{
    twice(arg, SLUICE_OK, SLUICE_ERR, 0);
    return NULL;
}

static void *twice_late_thread(void *arg)
{
    twice(arg, SLUICE_OK, SLUICE_ERR, 300);
    return NULL;
}

static void *twice_err_thread(void *arg)
{
    twice(arg, SLUICE_ERR, SLUICE_OK, 0);
    return NULL;
}

static void *bad_complete_thread(void *arg)
{
    sleep_ms(10);
    g_host->exec_complete(arg, 7);
    return NULL;
}

static int spawn(void *(*fn)(void *), sluice_exec *exec)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, exec) != 0)
        return SLUICE_ERR;
    pthread_detach(t);
    return SLUICE_PENDING;
}

static int report(sluice_exec *exec, json_t *out)
{
    int rc = sluice_json_set_output(g_host, exec, out);
    json_decref(out);
    return rc == 0 ? SLUICE_OK : SLUICE_ERR;
}

static int limits(sluice_exec *exec)
{
    const sluice_host *h = g_host;
    json_t *rc = json_object();
    /* Outputs: NULL, over the limit, exactly at the limit, not an object,
     * not JSON. */
    json_object_set_new(rc, "output_null", json_integer(h->exec_set_output(exec, NULL, 0)));
    size_t big = SLUICE_MAX_OUTPUT + 1;
    char *text = malloc(big + 1);
    if (!text)
        return SLUICE_ERR;
    /* {"k":"xxx...x"} of exactly n bytes */
    size_t n = SLUICE_MAX_OUTPUT + 1;
    memcpy(text, "{\"k\":\"", 6);
    memset(text + 6, 'x', n - 8);
    memcpy(text + n - 2, "\"}", 2);
    text[n] = 0;
    json_object_set_new(rc, "output_over", json_integer(h->exec_set_output(exec, text, n)));
    n = SLUICE_MAX_OUTPUT;
    memcpy(text + n - 2, "\"}", 2);
    text[n] = 0;
    json_object_set_new(rc, "output_at_limit", json_integer(h->exec_set_output(exec, text, n)));
    json_object_set_new(rc, "output_array", json_integer(h->exec_set_output(exec, "[1,2]", 5)));
    json_object_set_new(rc, "output_invalid", json_integer(h->exec_set_output(exec, "{\"a\":", 5)));
    json_object_set_new(rc, "output_duplicate",
                        json_integer(h->exec_set_output(exec, "{\"a\":1,\"a\":2}", 13)));
    /* Logs: an unknown stream. */
    json_object_set_new(rc, "log_stream_0", json_integer(h->exec_write_log(exec, 0, "x", 1)));
    json_object_set_new(rc, "log_stream_3", json_integer(h->exec_write_log(exec, 3, "x", 1)));
    /* Responses: bad status, body over the limit, NULL body with a length,
     * a content type that would split the header. */
    json_object_set_new(rc, "response_status_99",
                        json_integer(h->exec_set_response(exec, 99, NULL, "", 0)));
    json_object_set_new(rc, "response_status_600",
                        json_integer(h->exec_set_response(exec, 600, NULL, "", 0)));
    json_object_set_new(
        rc, "response_over",
        json_integer(h->exec_set_response(exec, 200, NULL, text, SLUICE_MAX_OUTPUT + 1)));
    json_object_set_new(rc, "response_null_body",
                        json_integer(h->exec_set_response(exec, 200, NULL, NULL, 5)));
    json_object_set_new(
        rc, "response_crlf_type",
        json_integer(h->exec_set_response(exec, 200, "text/plain\r\nX-Evil: 1", "ok", 2)));
    free(text);
    /* Unknown meta keys and headers: NULL, never a crash. */
    json_object_set_new(rc, "meta_null_key", json_boolean(!h->exec_meta(exec, NULL)));
    json_object_set_new(rc, "header_null_name", json_boolean(!h->exec_header(exec, NULL)));
    json_object_set_new(rc, "event_null_len", json_boolean(h->exec_event(exec, NULL) != NULL));
    return report(exec, rc);
}

static int mb_execute(void *vin, sluice_exec *exec)
{
    instance *in = vin;
    const sluice_host *h = g_host;
    switch (in->mode) {
    case M_PARK:
        pthread_mutex_lock(&parked_mu);
        if (n_parked == MAX_PARKED) {
            pthread_mutex_unlock(&parked_mu);
            h->exec_set_error(exec, "too many parked");
            return SLUICE_ERR;
        }
        parked[n_parked++] = exec;
        pthread_mutex_unlock(&parked_mu);
        h->log(h, exec, SLUICE_LOG_INFO, "misbehave: parked, never completing");
        return SLUICE_PENDING;
    case M_RELEASE: {
        pthread_mutex_lock(&parked_mu);
        size_t n = n_parked;
        for (size_t i = 0; i < n; i++)
            h->exec_complete(parked[i], SLUICE_OK);
        /* exec_complete was the last call: forget them, pointers included
         * (so LeakSanitizer sees whether the host still owns them). */
        memset(parked, 0, sizeof(parked));
        n_parked = 0;
        pthread_mutex_unlock(&parked_mu);
        return report(exec, json_pack("{s:I}", "released", (json_int_t)n));
    }
    case M_TWICE:
        return spawn(twice_thread, exec);
    case M_TWICE_ERR:
        return spawn(twice_err_thread, exec);
    case M_TWICE_LATE:
        return spawn(twice_late_thread, exec);
    case M_TWICE_INSIDE:
        h->exec_complete(exec, SLUICE_OK);
        h->exec_complete(exec, SLUICE_ERR);
        return SLUICE_PENDING;
    case M_COMPLETE_AND_RETURN:
        h->exec_set_output(exec, "{\"completed\":true}", 18);
        h->exec_complete(exec, SLUICE_OK);
        return SLUICE_ERR;
    case M_COMPLETE_ERR_AND_RETURN:
        h->exec_set_error(exec, "completed with SLUICE_ERR");
        h->exec_complete(exec, SLUICE_ERR);
        return SLUICE_OK;
    case M_BAD_RESULT:
        return 42;
    case M_BAD_COMPLETE:
        return spawn(bad_complete_thread, exec);
    case M_SILENT_FAIL:
        return SLUICE_ERR;
    case M_LIMITS:
        return limits(exec);
    case M_LONG_ERROR:
    case M_UTF8_ERROR: {
        size_t n = SLUICE_MAX_ERROR * 3;
        char *msg = malloc(n + 1);
        if (!msg)
            return SLUICE_ERR;
        memset(msg, 'e', n);
        msg[n] = 0;
        if (in->mode == M_UTF8_ERROR) {
            /* U+20AC (3 bytes) starting two bytes before the cut. */
            memcpy(msg + SLUICE_MAX_ERROR - 3, "\xe2\x82\xac", 3);
        }
        h->exec_set_error(exec, msg);
        free(msg);
        return SLUICE_ERR;
    }
    case M_LATIN1_ERROR:
        h->exec_set_error(exec, "caf\xe9 au lait: \xff\xfe not UTF-8");
        return SLUICE_ERR;
    case M_BLOCK:
        for (int i = 0; i < 70; i++)
            sleep_ms(100); /* never looks at exec_is_cancelled */
        return SLUICE_ERR;
    case M_LOUD: {
        char chunk[1024];
        for (int i = 0; i < 3 * (int)(SLUICE_LOG_KEEP / sizeof(chunk)); i++) {
            memset(chunk, 'a' + i % 26, sizeof(chunk));
            h->exec_write_log(exec, SLUICE_STDOUT, chunk, sizeof(chunk));
        }
        h->exec_write_log(exec, SLUICE_STDOUT, "\nEND\n", 5);
        return SLUICE_OK;
    }
    }
    return SLUICE_ERR;
}

SLUICE_PLUGIN_DEFINE(.name = "misbehave", .version = "1.0",
                     .description = "breaks the plugin rules on purpose", .license = "MIT",
                     .flags = SLUICE_PF_REENTRANT, .init = mb_init, .configure = mb_configure,
                     .unconfigure = mb_unconfigure, .execute = mb_execute, .cancel = mb_cancel)
