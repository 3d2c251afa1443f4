/*
 * prematch.c - limits and capability URLs before the router (see
 * prematch.h).
 */
#include "prematch.h"

#include "captoken.h"
#include "log.h"
#include "units.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/sluice"
#define REDACTED_PATH "/t/[redacted]"

/* A failed sync is retried on requests, but not more than once a minute,
 * so an unwritable state directory is one log line, not one per request. */
#define SYNC_RETRY_MS 60000

static struct {
    pthread_mutex_t mu;
    uint64_t failed_ms; /* when a sync last failed (0: it did not) */
} sync_state = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *state_dir(const sluice_config *cfg)
{
    return cfg && cfg->server.state_dir ? cfg->server.state_dir : DEFAULT_STATE_DIR;
}

static int cfg_has_capability(const sluice_config *cfg)
{
    for (size_t i = 0; i < cfg->n_triggers; i++)
        if (gate_capability_status(cfg->triggers[i].gate))
            return 1;
    return 0;
}

/* The capability trigger id, or NULL when id names none in cfg. */
static trigger_def *capability_trigger(const sluice_config *cfg, const char *id)
{
    trigger_def *t = config_find_trigger(cfg, id);
    return t && gate_capability_status(t->gate) ? t : NULL;
}

static int sync_tokens(const sluice_config *cfg)
{
    const char **ids = xcalloc(cfg->n_triggers ? cfg->n_triggers : 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_triggers; i++)
        if (gate_capability_status(cfg->triggers[i].gate))
            ids[n++] = cfg->triggers[i].id;
    int rc = captoken_ensure(state_dir(cfg), ids, n);
    free(ids);
    return rc;
}

int prematch_sync_tokens(const sluice_config *cfg)
{
    if (!cfg || !cfg_has_capability(cfg))
        return 0;
    pthread_mutex_lock(&sync_state.mu);
    int rc = sync_tokens(cfg);
    sync_state.failed_ms = rc < 0 ? (units_mono_ms() ? units_mono_ms() : 1) : 0;
    pthread_mutex_unlock(&sync_state.mu);
    return rc;
}

/* A sync that failed is tried again, at most once a minute. */
static void sync_retry(const sluice_config *cfg)
{
    pthread_mutex_lock(&sync_state.mu);
    uint64_t now = units_mono_ms();
    if (!sync_state.failed_ms || now - sync_state.failed_ms > SYNC_RETRY_MS)
        sync_state.failed_ms = sync_tokens(cfg) < 0 ? (now ? now : 1) : 0;
    pthread_mutex_unlock(&sync_state.mu);
}

/* The status for a token we cannot use: see prematch.h. */
static int unknown_status(const sluice_config *cfg)
{
    for (size_t i = 0; i < cfg->n_triggers; i++)
        if (gate_capability_status(cfg->triggers[i].gate) == 404)
            return 404;
    return 400;
}

static int refuse(gate_verdict *v, int status)
{
    v->status = status;
    if (status == 404) {
        v->code = "not_found";
        snprintf(v->message, sizeof(v->message), "no trigger at this path");
    } else {
        v->code = "invalid_token";
        snprintf(v->message, sizeof(v->message),
                 "this capability URL is unknown, replaced or removed");
    }
    return -1;
}

/* 0: not a capability URL; 1: m filled; -1: v holds the answer. */
static int capability_route(const sluice_config *cfg, http_request *rq, route_match *m,
                            gate_verdict *v)
{
    const char *p = rq->path;
    if (strncmp(p, "/t/", 3) != 0 || !p[3] || strchr(p + 3, '/') || !cfg_has_capability(cfg))
        return 0;
    size_t n = strlen(p + 3);
    char token[CAPTOKEN_LEN + 1] = "";
    if (n == CAPTOKEN_LEN)
        memcpy(token, p + 3, CAPTOKEN_LEN + 1);
    /* From here on nothing may log or store the token. */
    free(rq->path);
    rq->path = xstrdup(REDACTED_PATH);

    sync_retry(cfg);
    char found[256] = "";
    int hit =
        n == CAPTOKEN_LEN ? captoken_lookup(state_dir(cfg), token, n, found, sizeof(found)) : 0;
    explicit_bzero(token, sizeof(token));
    trigger_def *t = hit ? capability_trigger(cfg, found) : NULL;
    if (!t)
        return refuse(v, unknown_status(cfg));
    if (hit < 0)
        return refuse(v, gate_capability_status(t->gate));
    memset(m, 0, sizeof(*m));
    m->target = t;
    m->template_path = captoken_template;
    return 1;
}

int prematch_route(const sluice_config *cfg, http_request *rq, route_match *m, gate_verdict *v)
{
    size_t uri = strlen(rq->path) + (rq->query ? strlen(rq->query) + 1 : 0);
    if (uri > PREMATCH_MAX_URI) {
        v->status = 414;
        v->code = "uri_too_long";
        snprintf(v->message, sizeof(v->message), "the request target is longer than %d bytes",
                 PREMATCH_MAX_URI);
        return -1;
    }
    size_t hdr = 0;
    for (size_t i = 0; i < rq->n_headers; i++)
        hdr += strlen(rq->headers[i].name) + strlen(rq->headers[i].value) + 4;
    if (hdr > PREMATCH_MAX_HEADERS) {
        v->status = 431;
        v->code = "headers_too_large";
        snprintf(v->message, sizeof(v->message), "the request headers are larger than %d bytes",
                 PREMATCH_MAX_HEADERS);
        return -1;
    }
    int r = capability_route(cfg, rq, m, v);
    if (r < 0)
        log_msg(LOG_INFO, rq->request_id, "refused %s %s: %d %s", rq->method, rq->path, v->status,
                v->message);
    return r;
}

int prematch_token_regenerate(const sluice_config *cfg, const char *trigger_id, char *token,
                              size_t tokenlen, char *err, size_t errlen)
{
    if (!capability_trigger(cfg, trigger_id)) {
        snprintf(err, errlen, "no capability trigger \"%s\"", trigger_id);
        return -1;
    }
    return captoken_regenerate(state_dir(cfg), trigger_id, token, tokenlen, err, errlen) < 0 ? -2
                                                                                             : 0;
}

int prematch_token_remove(const sluice_config *cfg, const char *trigger_id, char *err,
                          size_t errlen)
{
    if (!capability_trigger(cfg, trigger_id)) {
        snprintf(err, errlen, "no capability trigger \"%s\"", trigger_id);
        return -1;
    }
    return captoken_remove(state_dir(cfg), trigger_id, err, errlen) < 0 ? -2 : 0;
}

int prematch_token_get(const sluice_config *cfg, const char *trigger_id, char *token,
                       size_t tokenlen)
{
    return captoken_get(state_dir(cfg), trigger_id, token, tokenlen);
}

void prematch_reset(void)
{
    pthread_mutex_lock(&sync_state.mu);
    sync_state.failed_ms = 0;
    pthread_mutex_unlock(&sync_state.mu);
}
