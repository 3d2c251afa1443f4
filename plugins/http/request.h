/*
 * request.h - one execution's forward: prepared on a worker, run by the
 * loop thread.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "body.h"
#include "http.h"

enum http_req_state { HTTP_REQ_NEW, HTTP_REQ_RUNNING, HTTP_REQ_WAITING };

struct http_req {
    /* Set by http_req_prepare, read-only afterwards. */
    const sluice_host *host;
    const struct http_settings *cfg;
    struct http_loop *loop;
    sluice_exec *exec;
    char exec_id[64];
    char *url;
    struct curl_slist *base_headers; /* the flow's headers, Content-Type, Expect */
    struct http_payload body;
    int want_response; /* the trigger's respond_with = "upstream" (exec_meta) */

    /* Owned by the loop thread from submission on. */
    enum http_req_state state;
    CURL *easy;
    struct curl_slist *headers; /* this attempt's: base + signature */
    int attempts;
    int64_t started_ms, attempt_ms, due_ms;
    struct http_req *prev, *next;

    /* The current attempt's answer. */
    char *resp;
    size_t resp_len, resp_cap;
    int too_large;
    int refused; /* the SSRF guard said no */
    int aborted; /* the progress callback saw a cancellation */
    char refused_msg[512];
    json_t *resp_headers; /* the selected ones, lower-case names */
    char *content_type;
    char errbuf[CURL_ERROR_SIZE];
};

/*
 * Prepare the forward for exec on the worker thread: parse the event,
 * render url and headers, build the body. Returns 0 with *out, or -1 with
 * the reason in err (the execution fails with it).
 */
int http_req_prepare(struct http_req **out, struct http_instance *inst, sluice_exec *exec,
                     char *err, size_t errlen);

/* Free everything; the easy handle must not be in a multi handle. */
void http_req_free(struct http_req *req);

/*
 * Loop thread. Start an attempt: configure the easy handle (once), sign,
 * add it to multi. Returns 0, or -1 with the reason in err (the request
 * is untouched and not in multi).
 */
int http_req_start(struct http_req *req, CURLM *multi, char *err, size_t errlen);

/*
 * Loop thread. An attempt ended with rc (the handle is already removed
 * from the multi handle). Either finishes the execution (returns 1, the
 * request is freed) or schedules a retry (returns 0, state WAITING with
 * due_ms set).
 */
int http_req_done(struct http_req *req, CURLcode rc);

/*
 * Loop thread. Finish the execution as cancelled for reason (a
 * SLUICE_CANCEL_*), or as failed with msg when reason is 0. The request
 * must not be in the multi handle; it is freed.
 */
void http_req_abort(struct http_req *req, int reason, const char *msg);

/* result.c: set outputs, error and response, then complete and free. */
void http_req_finish_http(struct http_req *req, long status);
void http_req_finish_error(struct http_req *req, const char *fmt, ...) SLUICE_PRINTF(2, 3);

#endif /* HTTP_REQUEST_H */
