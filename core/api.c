/*
 * api.c - the admin API.
 *
 * Guarded by server.admin_token (Authorization: Bearer, compared in
 * constant time); without a token it answers loopback peers only, so a
 * default install never exposes execution data to the network.
 */
#include "api.h"

#include "engine.h"
#include "exec.h"
#include "http.h"
#include "store.h"

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static int is_admin_path(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
           strncmp(path, "/api/v1/", 8) == 0;
}

/* Constant time in the token's length; the length itself is not secret. */
static int token_ok(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    if (gl != wl)
        return 0;
    return CRYPTO_memcmp(given, want, wl) == 0;
}

static int authorize(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
                     int loopback)
{
    const char *tok = cfg->server.admin_token;
    if (!tok) {
        if (loopback)
            return 1;
        http_error(c, rq->request_id, 403, "forbidden",
                   "the admin API answers only loopback clients when server.admin_token is "
                   "not set");
        return 0;
    }
    const char *h = event_header(rq, "authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        const char *hdrs[] = {"WWW-Authenticate", "Bearer realm=\"sluice\"", NULL};
        http_reply(c, rq->request_id, 401, NULL, "unauthorized",
                   "send Authorization: Bearer <server.admin_token>", hdrs);
        return 0;
    }
    if (!token_ok(h + 7, tok)) {
        http_error(c, rq->request_id, 403, "forbidden", "wrong admin token");
        return 0;
    }
    return 1;
}

static json_t *flows_json(sluice_config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < cfg->n_flows; i++) {
        flow_def *f = &cfg->flows[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(f->key));
        json_object_set_new(o, "namespace", f->ns ? json_string(f->ns) : json_null());
        json_object_set_new(o, "executor", json_string(f->executor));
        json_object_set_new(o, "description",
                            f->description ? json_string(f->description) : json_null());
        json_object_set_new(o, "timeout_ms", json_integer((json_int_t)f->timeout_ms));
        json_object_set_new(o, "running", json_integer(atomic_load(&f->running)));
        json_object_set_new(o, "source", json_string(f->where));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *triggers_json(sluice_config *cfg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < cfg->n_triggers; i++) {
        trigger_def *t = &cfg->triggers[i];
        json_t *o = json_object();
        char methods[96];
        config_methods_string(t->methods, methods, sizeof(methods));
        json_object_set_new(o, "id", json_string(t->id));
        json_object_set_new(o, "path", json_string(t->path));
        json_object_set_new(o, "methods", json_string(methods));
        json_object_set_new(o, "mode", json_string(t->sync ? "sync" : "async"));
        json_t *fl = json_array();
        for (size_t k = 0; k < t->n_flows; k++)
            json_array_append_new(fl, json_string(t->flows[k]->key));
        json_object_set_new(o, "flows", fl);
        json_object_set_new(o, "source", json_string(t->where));
        json_array_append_new(a, o);
    }
    return a;
}

int api_handle(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
               int loopback, int *result)
{
    const char *p = rq->path;
    if (!is_admin_path(p))
        return 0;
    const char *id_start = NULL;
    char id[64] = "";
    if (strncmp(p, "/api/v1/executions/", 19) == 0) {
        id_start = p + 19;
        size_t n = strcspn(id_start, "/");
        /* Longer paths (e.g. Kestra-style webhook routes) belong to triggers. */
        if (n == 0 || n >= sizeof(id) || id_start[n] != 0)
            return 0;
        memcpy(id, id_start, n);
        id[n] = 0;
    } else if (strcmp(p, "/healthz") != 0 && strcmp(p, "/readyz") != 0 &&
               strcmp(p, "/api/v1/flows") != 0 && strcmp(p, "/api/v1/triggers") != 0) {
        return 0;
    }
    int is_get = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;

    if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0) {
        /* Health is public: load balancers probe it without credentials. */
        json_t *d = json_object();
        json_object_set_new(d, "status", json_string("ok"));
        json_object_set_new(d, "queued", json_integer((json_int_t)engine_queued()));
        json_object_set_new(d, "running", json_integer((json_int_t)engine_running()));
        json_object_set_new(d, "queue_capacity", json_integer((json_int_t)engine_capacity()));
        *result = http_reply(c, rq->request_id, 200, d, NULL, NULL, NULL);
        return 1;
    }
    if (!authorize(c, rq, cfg, loopback)) {
        *result = MHD_YES;
        return 1;
    }
    if (!is_get) {
        const char *hdrs[] = {"Allow", "GET, HEAD", NULL};
        *result = http_reply(c, rq->request_id, 405, NULL, "method_not_allowed",
                             "this resource is read-only", hdrs);
        return 1;
    }
    if (strcmp(p, "/api/v1/flows") == 0) {
        *result = http_reply(c, rq->request_id, 200, flows_json(cfg), NULL, NULL, NULL);
        return 1;
    }
    if (strcmp(p, "/api/v1/triggers") == 0) {
        *result = http_reply(c, rq->request_id, 200, triggers_json(cfg), NULL, NULL, NULL);
        return 1;
    }
    sluice_exec *e = store_get(id);
    if (!e) {
        *result = http_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
        return 1;
    }
    *result = http_reply(c, rq->request_id, 200, exec_to_json(e, 1), NULL, NULL, NULL);
    exec_unref(e);
    return 1;
}
