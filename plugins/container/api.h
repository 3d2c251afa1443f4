/*
 * api.h - a small Docker Engine API (v1.41) client over a unix socket.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * One struct ctr_api per execution (or per configure-time check): a libcurl
 * multi handle whose connection cache keeps one keep-alive connection to
 * the engine across the create/start/wait/logs/remove calls of a run. Every
 * call is driven by curl_multi_poll in steps of at most 100 ms, so a call
 * marked cancellable notices a cancellation within 100 ms, and the cancel
 * callback (any thread) can wake it at once with ctr_api_wake. Both Docker
 * and Podman's compatible service speak this API.
 */
#ifndef CTR_API_H
#define CTR_API_H

#include <stddef.h>

#include <curl/curl.h>

#if LIBCURL_VERSION_NUM < 0x074400
#error "the container executor needs libcurl >= 7.68 (curl_multi_poll, curl_multi_wakeup)"
#endif

/* The API version every path is prefixed with. */
#define CTR_API_VERSION "v1.41"

/* Returned by ctr_api_call besides 0 and -1. */
#define CTR_API_CANCELLED (-2)

/* Nonzero when the work should stop (a SLUICE_CANCEL_* reason or a timeout). */
typedef int (*ctr_api_stop_fn)(void *ctx);

/* Body bytes of a 2xx answer, streamed. Return 0 to go on, -1 to stop reading. */
typedef int (*ctr_api_sink_fn)(void *ctx, const char *data, size_t len);

struct ctr_api {
    char *socket;
    CURLM *multi;
    CURL *easy;
    ctr_api_stop_fn stop;
    void *stop_ctx;
};

struct ctr_call {
    const char *method; /* "GET", "POST", "DELETE" */
    const char *path;   /* "/containers/create?name=x": the version is prepended */
    const char *body;   /* JSON text, or NULL */
    size_t body_len;
    long timeout_ms;      /* 0: no time limit (only for cancellable calls) */
    int cancellable;      /* stop when api->stop says so */
    ctr_api_sink_fn sink; /* optional: where a 2xx body goes instead of resp */
    void *sink_ctx;
};

struct ctr_resp {
    long status;
    char *body; /* NUL-terminated, at most CTR_API_BODY_MAX bytes kept */
    size_t len;
    int sink_stopped; /* the sink asked to stop reading */
};

#define CTR_API_BODY_MAX (4u * 1024u * 1024u)

/*
 * Prepare a client for the engine at socket. stop (may be NULL) is asked
 * during cancellable calls. Returns 0, or -1 with err set.
 */
int ctr_api_open(struct ctr_api *api, const char *socket, ctr_api_stop_fn stop, void *stop_ctx,
                 char *err, size_t errlen);

void ctr_api_close(struct ctr_api *api);

/*
 * Make one call. Returns 0 when the engine answered (any status: see
 * resp->status), CTR_API_CANCELLED when a cancellable call was stopped, or
 * -1 when the engine could not be reached or did not answer in time, with
 * a message in err that says why in an operator's terms (socket missing,
 * permission denied, nothing listening, timed out). resp is filled in every
 * case and freed with ctr_resp_clear.
 */
int ctr_api_call(struct ctr_api *api, const struct ctr_call *call, struct ctr_resp *resp, char *err,
                 size_t errlen);

/* Wake a ctr_api_call blocked in curl_multi_poll. Any thread. */
void ctr_api_wake(struct ctr_api *api);

void ctr_resp_clear(struct ctr_resp *resp);

/*
 * The daemon's own words for a failed call: the "message" member of its
 * JSON error body, else the body's first line, else "HTTP <status>".
 */
void ctr_resp_message(const struct ctr_resp *resp, char *buf, size_t len);

/*
 * Why the socket cannot be used, by connecting to it once ourselves:
 * "no such file", "permission denied (...)", "connection refused (...)".
 */
void ctr_api_diagnose(const char *socket, char *buf, size_t len);

/* URL-escape s for a query or path segment; free with curl_free. */
char *ctr_api_escape(struct ctr_api *api, const char *s);

#endif /* CTR_API_H */
