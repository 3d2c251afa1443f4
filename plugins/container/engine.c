/*
 * engine.c - the Engine API calls the executor makes, one function each.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kit/kit.h"

/* Make a plain call (no sink) and turn a non-2xx answer into err. */
static int ctr_engine_simple(struct ctr_api *api, const struct ctr_call *call,
                             struct ctr_resp *resp, const char *what, char *err, size_t errlen)
{
    int rc = ctr_api_call(api, call, resp, err, errlen);

    if (rc != 0)
        return rc;
    if (resp->status < 200 || resp->status >= 300) {
        char msg[1024];

        ctr_resp_message(resp, msg, sizeof(msg));
        kit_errf(err, errlen, "%s: the engine answered %ld: %s", what, resp->status, msg);
        return -1;
    }
    return 0;
}

int ctr_engine_ping(struct ctr_api *api, char *err, size_t errlen)
{
    struct ctr_call call = {.method = "GET", .path = "/_ping", .timeout_ms = CTR_PING_TIMEOUT_MS};
    struct ctr_resp resp;
    int rc = ctr_engine_simple(api, &call, &resp, "ping", err, errlen);

    ctr_resp_clear(&resp);
    return rc;
}

int ctr_engine_create(struct ctr_api *api, const char *name, const char *spec, size_t spec_len,
                      char *id, size_t idlen, int *image_missing, char *err, size_t errlen)
{
    struct ctr_call call = {
        .method = "POST", .body = spec, .body_len = spec_len, .timeout_ms = CTR_CALL_TIMEOUT_MS};
    struct ctr_resp resp;
    char path[512];
    json_t *root = NULL;
    const char *cid;
    int rc;

    *image_missing = 0;
    snprintf(path, sizeof(path), "/containers/create?name=%s", name);
    call.path = path;
    rc = ctr_api_call(api, &call, &resp, err, errlen);
    if (rc != 0)
        goto out;
    if (resp.status == 404) {
        char msg[1024];

        /* Docker and Podman both answer 404 for a missing image, and
         * nothing else in the create body can be missing but a network. */
        ctr_resp_message(&resp, msg, sizeof(msg));
        *image_missing = !strcasestr(msg, "network");
        kit_errf(err, errlen, "creating the container: the engine answered 404: %s", msg);
        rc = -1;
        goto out;
    }
    if (resp.status != 201 && resp.status != 200) {
        char msg[1024];

        ctr_resp_message(&resp, msg, sizeof(msg));
        kit_errf(err, errlen, "creating the container: the engine answered %ld: %s", resp.status,
                 msg);
        rc = -1;
        goto out;
    }
    root = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
    cid = json_string_value(json_object_get(root, "Id"));
    if (!cid || strlen(cid) >= idlen || strspn(cid, "0123456789abcdef") != strlen(cid)) {
        kit_errf(err, errlen, "creating the container: the engine's answer has no valid Id");
        rc = -1;
        goto out;
    }
    snprintf(id, idlen, "%s", cid);
out:
    json_decref(root);
    ctr_resp_clear(&resp);
    return rc;
}

int ctr_engine_image_exists(struct ctr_api *api, const char *image, char *err, size_t errlen)
{
    struct ctr_call call = {.method = "GET", .timeout_ms = CTR_CALL_TIMEOUT_MS};
    struct ctr_resp resp;
    char path[1024];
    int rc;

    /* The engines route /images/{name}/json with slashes in the name. */
    snprintf(path, sizeof(path), "/images/%s/json", image);
    call.path = path;
    rc = ctr_api_call(api, &call, &resp, err, errlen);
    if (rc == 0) {
        if (resp.status == 200) {
            rc = 1;
        } else if (resp.status == 404) {
            rc = 0;
        } else {
            char msg[1024];

            ctr_resp_message(&resp, msg, sizeof(msg));
            kit_errf(err, errlen, "inspecting image %s: the engine answered %ld: %s", image,
                     resp.status, msg);
            rc = -1;
        }
    }
    ctr_resp_clear(&resp);
    return rc;
}

/* The pull's progress stream: JSON objects, one a line; remember an error. */
struct ctr_pull_state {
    char line[4096];
    size_t have;
    int overflow;
    char error[1024];
};

static void ctr_pull_line(struct ctr_pull_state *st)
{
    json_t *obj = json_loadb(st->line, st->have, 0, NULL);
    const char *msg = json_string_value(json_object_get(obj, "error"));

    if (msg)
        snprintf(st->error, sizeof(st->error), "%s", msg);
    json_decref(obj);
}

static int ctr_pull_sink(void *ctx, const char *data, size_t len)
{
    struct ctr_pull_state *st = ctx;

    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            if (!st->overflow)
                ctr_pull_line(st);
            st->have = 0;
            st->overflow = 0;
        } else if (st->have < sizeof(st->line)) {
            st->line[st->have++] = data[i];
        } else {
            st->overflow = 1; /* a progress line this long carries no error */
        }
    }
    return 0;
}

/* A reference without a tag or digest gets ":latest": an empty tag would
 * make Docker pull every tag of the repository. */
static int ctr_image_has_tag(const char *image)
{
    const char *slash = strrchr(image, '/');

    return strchr(image, '@') || strchr(slash ? slash : image, ':');
}

int ctr_engine_pull(struct ctr_api *api, const char *image, char *err, size_t errlen)
{
    struct ctr_pull_state *st = calloc(1, sizeof(*st));
    struct ctr_call call = {.method = "POST",
                            .cancellable = 1,
                            .timeout_ms = CTR_PULL_TIMEOUT_MS,
                            .sink = ctr_pull_sink,
                            .sink_ctx = st};
    struct ctr_resp resp = {0};
    char *esc = ctr_api_escape(api, image);
    char *path = NULL;
    int rc = -1;

    if (!st || !esc ||
        asprintf(&path, "/images/create?fromImage=%s%s", esc,
                 ctr_image_has_tag(image) ? "" : "&tag=latest") < 0) {
        path = NULL;
        kit_errf(err, errlen, "out of memory");
        goto out;
    }
    call.path = path;
    rc = ctr_engine_simple(api, &call, &resp, "pulling the image", err, errlen);
    if (rc == 0 && st->have > 0 && !st->overflow)
        ctr_pull_line(st);
    if (rc == 0 && st->error[0] != '\0') {
        kit_errf(err, errlen, "pulling image %s: %s", image, st->error);
        rc = -1;
    }
out:
    ctr_resp_clear(&resp);
    curl_free(esc);
    free(path);
    free(st);
    return rc;
}

int ctr_engine_start(struct ctr_api *api, const char *id, char *err, size_t errlen)
{
    struct ctr_call call = {.method = "POST", .timeout_ms = CTR_CALL_TIMEOUT_MS};
    struct ctr_resp resp;
    char path[256];
    int rc;

    snprintf(path, sizeof(path), "/containers/%s/start", id);
    call.path = path;
    rc = ctr_api_call(api, &call, &resp, err, errlen);
    if (rc == 0 && resp.status != 204 && resp.status != 304 && resp.status != 200) {
        char msg[2048];

        ctr_resp_message(&resp, msg, sizeof(msg));
        kit_errf(err, errlen, "starting the container: the engine answered %ld: %s", resp.status,
                 msg);
        rc = -1;
    }
    ctr_resp_clear(&resp);
    return rc;
}

int ctr_engine_wait(struct ctr_api *api, const char *id, int *code, char *err, size_t errlen)
{
    struct ctr_call call = {.method = "POST", .cancellable = 1};
    struct ctr_resp resp;
    char path[256];
    json_t *root = NULL, *status;
    const char *msg;
    int rc;

    snprintf(path, sizeof(path), "/containers/%s/wait", id);
    call.path = path;
    rc = ctr_engine_simple(api, &call, &resp, "waiting for the container", err, errlen);
    if (rc != 0)
        goto out;
    root = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
    status = json_object_get(root, "StatusCode");
    msg = json_string_value(json_object_get(json_object_get(root, "Error"), "Message"));
    if (msg && *msg != '\0') {
        kit_errf(err, errlen, "waiting for the container: %s", msg);
        rc = -1;
    } else if (!json_is_integer(status)) {
        kit_errf(err, errlen, "waiting for the container: the answer has no StatusCode");
        rc = -1;
    } else {
        *code = (int)json_integer_value(status);
    }
out:
    json_decref(root);
    ctr_resp_clear(&resp);
    return rc;
}

int ctr_engine_logs(struct ctr_api *api, const char *id, int cancellable, long timeout_ms,
                    ctr_api_sink_fn sink, void *sink_ctx, int *cut_short, char *err, size_t errlen)
{
    struct ctr_call call = {.method = "GET",
                            .timeout_ms = timeout_ms,
                            .cancellable = cancellable,
                            .sink = sink,
                            .sink_ctx = sink_ctx};
    struct ctr_resp resp;
    char path[256];
    int rc;

    snprintf(path, sizeof(path), "/containers/%s/logs?stdout=1&stderr=1", id);
    call.path = path;
    rc = ctr_engine_simple(api, &call, &resp, "reading the container's output", err, errlen);
    *cut_short = resp.sink_stopped;
    ctr_resp_clear(&resp);
    return rc;
}

int ctr_engine_oom_killed(struct ctr_api *api, const char *id)
{
    struct ctr_call call = {.method = "GET", .timeout_ms = CTR_CALL_TIMEOUT_MS};
    struct ctr_resp resp;
    char path[256], err[256];
    json_t *root = NULL;
    int oom = 0;

    snprintf(path, sizeof(path), "/containers/%s/json", id);
    call.path = path;
    if (ctr_engine_simple(api, &call, &resp, "inspect", err, sizeof(err)) == 0 && resp.body) {
        root = json_loads(resp.body, 0, NULL);
        oom = json_is_true(json_object_get(json_object_get(root, "State"), "OOMKilled"));
    }
    json_decref(root);
    ctr_resp_clear(&resp);
    return oom;
}

int ctr_engine_kill(struct ctr_api *api, const char *id, char *err, size_t errlen)
{
    struct ctr_call call = {.method = "POST", .timeout_ms = CTR_CALL_TIMEOUT_MS};
    struct ctr_resp resp;
    char path[256];
    int rc;

    snprintf(path, sizeof(path), "/containers/%s/kill", id);
    call.path = path;
    rc = ctr_api_call(api, &call, &resp, err, errlen);
    /* 409: not running any more; 404: gone. Both are what kill wanted. */
    if (rc == 0 && (resp.status < 200 || resp.status >= 300) && resp.status != 409 &&
        resp.status != 404) {
        char msg[1024];

        ctr_resp_message(&resp, msg, sizeof(msg));
        kit_errf(err, errlen, "killing the container: the engine answered %ld: %s", resp.status,
                 msg);
        rc = -1;
    }
    ctr_resp_clear(&resp);
    return rc;
}

int ctr_engine_remove(struct ctr_api *api, const char *id, char *err, size_t errlen)
{
    struct ctr_call call = {.method = "DELETE", .timeout_ms = CTR_CALL_TIMEOUT_MS};
    struct ctr_resp resp;
    char path[256];
    int rc;

    snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
    call.path = path;
    rc = ctr_api_call(api, &call, &resp, err, errlen);
    if (rc == 0 && (resp.status < 200 || resp.status >= 300) && resp.status != 404) {
        char msg[1024];

        ctr_resp_message(&resp, msg, sizeof(msg));
        kit_errf(err, errlen, "removing the container: the engine answered %ld: %s", resp.status,
                 msg);
        rc = -1;
    }
    ctr_resp_clear(&resp);
    return rc;
}

int ctr_engine_list_ours(struct ctr_api *api, json_t **list, char *err, size_t errlen)
{
    /* filters={"label":["sluice.execution"]}, escaped. */
    struct ctr_call call = {
        .method = "GET",
        .path = "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22sluice.execution%22%5D%7D",
        .timeout_ms = CTR_CALL_TIMEOUT_MS};
    struct ctr_resp resp;
    int rc = ctr_engine_simple(api, &call, &resp, "listing containers", err, errlen);

    *list = NULL;
    if (rc == 0) {
        *list = resp.body ? json_loads(resp.body, 0, NULL) : NULL;
        if (!json_is_array(*list)) {
            json_decref(*list);
            *list = NULL;
            kit_errf(err, errlen, "listing containers: the answer is not a JSON array");
            rc = -1;
        }
    }
    ctr_resp_clear(&resp);
    return rc;
}
