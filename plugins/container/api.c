/*
 * api.c - a small Docker Engine API (v1.41) client over a unix socket.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "kit/kit.h"

/* Connecting to a local socket is instant or never. */
#define CTR_CONNECT_TIMEOUT_MS 5000L

/* The longest one curl_multi_poll waits before looking at stop again. */
#define CTR_POLL_MS 100

int ctr_api_open(struct ctr_api *api, const char *socket, ctr_api_stop_fn stop, void *stop_ctx,
                 char *err, size_t errlen)
{
    memset(api, 0, sizeof(*api));
    api->stop = stop;
    api->stop_ctx = stop_ctx;
    api->socket = strdup(socket);
    api->multi = curl_multi_init();
    api->easy = curl_easy_init();
    if (!api->socket || !api->multi || !api->easy) {
        ctr_api_close(api);
        kit_errf(err, errlen, "cannot set up libcurl (out of memory)");
        return -1;
    }
    /* One connection is all a run needs; it is reused call after call. */
    curl_multi_setopt(api->multi, CURLMOPT_MAXCONNECTS, 1L);
    return 0;
}

void ctr_api_close(struct ctr_api *api)
{
    if (api->easy)
        curl_easy_cleanup(api->easy);
    if (api->multi)
        curl_multi_cleanup(api->multi);
    free(api->socket);
    memset(api, 0, sizeof(*api));
}

void ctr_api_wake(struct ctr_api *api)
{
    if (api->multi)
        curl_multi_wakeup(api->multi);
}

void ctr_resp_clear(struct ctr_resp *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

char *ctr_api_escape(struct ctr_api *api, const char *s)
{
    return curl_easy_escape(api->easy, s, 0);
}

struct ctr_xfer {
    CURL *easy;
    const struct ctr_call *call;
    struct ctr_resp *resp;
};

static int ctr_resp_append(struct ctr_resp *resp, const char *data, size_t len)
{
    size_t room = CTR_API_BODY_MAX - resp->len;
    size_t n = len < room ? len : room;
    char *grown;

    if (n == 0)
        return 0;
    grown = realloc(resp->body, resp->len + n + 1);
    if (!grown)
        return -1;
    memcpy(grown + resp->len, data, n);
    resp->len += n;
    grown[resp->len] = '\0';
    resp->body = grown;
    return 0;
}

/* 2xx bodies go to the sink when there is one; everything else is kept. */
static size_t ctr_api_write(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct ctr_xfer *x = ctx;
    size_t len = size * nmemb;
    long status = 0;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (x->call->sink && status >= 200 && status < 300) {
        if (x->call->sink(x->call->sink_ctx, data, len) != 0) {
            x->resp->sink_stopped = 1;
            return 0; /* abort the transfer: CURLE_WRITE_ERROR */
        }
        return len;
    }
    return ctr_resp_append(x->resp, data, len) == 0 ? len : 0;
}

void ctr_api_diagnose(const char *socket_path, char *buf, size_t len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char ebuf[128];
    int fd, rc, e;

    if (strlen(socket_path) >= sizeof(sa.sun_path)) {
        snprintf(buf, len, "the path is too long for a unix socket");
        return;
    }
    memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(buf, len, "cannot make a socket: %s", kit_strerror(errno, ebuf, sizeof(ebuf)));
        return;
    }
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    e = errno;
    close(fd);
    if (rc == 0)
        snprintf(buf, len, "the socket accepts connections but the engine did not answer");
    else if (e == ENOENT)
        snprintf(buf, len,
                 "no such socket (is the Docker daemon or `podman system service` "
                 "running, and is socket right?)");
    else if (e == EACCES || e == EPERM)
        snprintf(buf, len,
                 "permission denied (sluiced runs as uid %u: give it access to the "
                 "socket, e.g. the docker group, or use a rootless engine's socket)",
                 (unsigned)geteuid());
    else if (e == ECONNREFUSED)
        snprintf(buf, len,
                 "connection refused (the socket file exists but no engine listens "
                 "on it)");
    else if (e == ENOTSOCK)
        snprintf(buf, len, "not a socket");
    else
        snprintf(buf, len, "%s", kit_strerror(e, ebuf, sizeof(ebuf)));
}

static void ctr_api_setup(struct ctr_api *api, const struct ctr_call *call, struct ctr_xfer *x,
                          struct curl_slist *headers, char *errbuf)
{
    CURL *e = api->easy;
    char url[2048];

    curl_easy_reset(e);
    snprintf(url, sizeof(url), "http://localhost/" CTR_API_VERSION "%s", call->path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, api->socket);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); /* an http_proxy must never see these */
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CTR_CONNECT_TIMEOUT_MS);
    if (call->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, call->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, ctr_api_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    if (strcmp(call->method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
    if (strcmp(call->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ? call->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(call->body ? call->body_len : 0));
    }
}

/* Drive one transfer to its end, or until stopped. */
static int ctr_api_drive(struct ctr_api *api, const struct ctr_call *call, CURLcode *result)
{
    int cancelled = 0;

    *result = CURLE_OK;
    if (curl_multi_add_handle(api->multi, api->easy) != CURLM_OK) {
        *result = CURLE_OUT_OF_MEMORY;
        return 0;
    }
    for (;;) {
        int running = 0;
        CURLMsg *msg;
        int left;

        if (curl_multi_perform(api->multi, &running) != CURLM_OK) {
            *result = CURLE_RECV_ERROR;
            break;
        }
        while ((msg = curl_multi_info_read(api->multi, &left)))
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == api->easy)
                *result = msg->data.result;
        if (running == 0)
            break;
        if (call->cancellable && api->stop && api->stop(api->stop_ctx)) {
            cancelled = 1;
            break;
        }
        /* Bounded: at most CTR_POLL_MS, then stop is asked again. */
        curl_multi_poll(api->multi, NULL, 0, CTR_POLL_MS, NULL);
    }
    curl_multi_remove_handle(api->multi, api->easy);
    return cancelled;
}

int ctr_api_call(struct ctr_api *api, const struct ctr_call *call, struct ctr_resp *resp, char *err,
                 size_t errlen)
{
    struct curl_slist *headers = NULL, *h;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct ctr_xfer x = {api->easy, call, resp};
    CURLcode result;
    int rc = -1;

    memset(resp, 0, sizeof(*resp));
    h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h && !(headers = curl_slist_append(h, "Expect:")))
        curl_slist_free_all(h);
    if (!headers) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    ctr_api_setup(api, call, &x, headers, errbuf);
    if (ctr_api_drive(api, call, &result)) {
        rc = CTR_API_CANCELLED;
        goto out;
    }
    curl_easy_getinfo(api->easy, CURLINFO_RESPONSE_CODE, &resp->status);
    if (result == CURLE_OK || (result == CURLE_WRITE_ERROR && resp->sink_stopped)) {
        rc = 0;
    } else if (result == CURLE_COULDNT_CONNECT) {
        char why[512];

        ctr_api_diagnose(api->socket, why, sizeof(why));
        kit_errf(err, errlen, "cannot reach the container engine at %s: %s", api->socket, why);
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        kit_errf(err, errlen, "the container engine at %s did not answer %s %s within %ld ms",
                 api->socket, call->method, call->path, call->timeout_ms);
    } else {
        kit_errf(err, errlen, "talking to the container engine at %s (%s %s): %s", api->socket,
                 call->method, call->path, errbuf[0] ? errbuf : curl_easy_strerror(result));
    }
out:
    curl_easy_setopt(api->easy, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return rc;
}

void ctr_resp_message(const struct ctr_resp *resp, char *buf, size_t len)
{
    json_t *root = NULL;
    const char *msg = NULL;

    if (resp->body && resp->len > 0)
        root = json_loadb(resp->body, resp->len, 0, NULL);
    if (json_is_object(root))
        msg = json_string_value(json_object_get(root, "message"));
    if (msg && *msg != '\0') {
        snprintf(buf, len, "%s", msg);
    } else if (resp->body && resp->len > 0) {
        size_t n = strcspn(resp->body, "\r\n");

        snprintf(buf, len, "HTTP %ld: %.*s", resp->status, (int)(n > 300 ? 300 : n), resp->body);
    } else {
        snprintf(buf, len, "HTTP %ld", resp->status);
    }
    json_decref(root);
}
