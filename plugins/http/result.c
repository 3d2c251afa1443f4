/*
 * result.c - how one attempt ends: retry, or finish the execution with
 * outputs, an error and (a trigger with respond_with = "upstream") the
 * answer to send.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The rules, in order: a cancelled execution stops (timed out, cancelled,
 * shutting down); a refusal by the SSRF guard, a response over
 * max_response, a TLS failure and too many redirects are final; a 2xx
 * succeeds; a status or network failure listed in retry.on is tried again
 * while attempts remain, after Retry-After when the upstream sent one
 * (unless it is longer than retry.max_delay) or else after the backoff,
 * doubled each time up to retry.max_backoff; anything else fails.
 *
 * Every attempt leaves one line in the execution's stdout, so the
 * execution document tells what happened without a debug log.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loop.h"
#include "request.h"
#include "kit/base64.h"
#include "util.h"

/* Text bodies are kept in outputs up to this many bytes. */
#define HTTP_OUTPUT_TEXT_MAX (64 * 1024)
/* The start of the body quoted in an error message. */
#define HTTP_ERROR_BODY_MAX 256

static void http_req_note(struct http_req *req, const char *fmt, ...) SLUICE_PRINTF(2, 3);

static void http_req_note(struct http_req *req, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    req->host->exec_write_log(req->exec, SLUICE_STDOUT, line, (size_t)n);
}

/* Give the slot back and complete; req is gone afterwards. */
static void http_req_complete(struct http_req *req, int rc)
{
    const sluice_host *host = req->host;
    sluice_exec *exec = req->exec;
    struct http_loop *loop = req->loop;

    http_req_free(req);
    http_loop_release(loop);
    host->exec_complete(exec, rc);
}

void http_req_finish_error(struct http_req *req, const char *fmt, ...)
{
    char msg[SLUICE_MAX_ERROR];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    req->host->exec_set_error(req->exec, msg);
    http_req_complete(req, SLUICE_ERR);
}

void http_req_abort(struct http_req *req, int reason, const char *msg)
{
    const char *when = req->attempts == 0               ? "before the first attempt"
                       : req->state == HTTP_REQ_WAITING ? "while waiting to retry"
                                                        : "during the transfer";

    switch (reason) {
    case SLUICE_CANCEL_NONE:
        http_req_finish_error(req, "%s", msg ? msg : "failed");
        return;
    case SLUICE_CANCEL_TIMEOUT:
        http_req_note(req, "attempt %d: aborted, the flow timed out", req->attempts);
        http_req_finish_error(req, "timed out %s (attempt %d to %s); the transfer was aborted",
                              when, req->attempts, req->cfg->host);
        return;
    case SLUICE_CANCEL_SHUTDOWN:
        http_req_finish_error(req, "cancelled %s: sluiced is shutting down", when);
        return;
    default:
        http_req_finish_error(req, "cancelled %s (attempt %d to %s); the transfer was aborted",
                              when, req->attempts, req->cfg->host);
        return;
    }
}

static int http_ctype_is_json(const char *ctype)
{
    const char *semi, *plus;
    size_t len;

    if (!ctype)
        return 0;
    semi = strchr(ctype, ';');
    len = semi ? (size_t)(semi - ctype) : strlen(ctype);
    while (len > 0 && ctype[len - 1] == ' ')
        len--;
    if (len == 16 && strncasecmp(ctype, "application/json", 16) == 0)
        return 1;
    plus = memchr(ctype, '+', len);
    return plus && (size_t)(ctype + len - plus) == 5 && strncasecmp(plus, "+json", 5) == 0;
}

/* Back up to the start of a UTF-8 sequence so a cut never splits one. */
static size_t http_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/* The body in outputs: parsed when JSON, else text, always bounded. */
static int http_outputs_body(struct http_req *req, json_t *out)
{
    const char *data = req->resp ? req->resp : "";
    size_t len = req->resp_len, keep;
    json_t *v = NULL;

    if (len == 0)
        return json_object_set_new(out, "body", json_null());
    if (http_ctype_is_json(req->content_type) ||
        (!req->content_type && (data[0] == '{' || data[0] == '['))) {
        v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        /* Escaping can grow it past what the host accepts: then text. */
        if (v && len < SLUICE_MAX_OUTPUT - 4096 && json_object_set_new(out, "body", v) == 0) {
            char *dump = json_dumps(out, JSON_COMPACT);
            size_t dl = dump ? strlen(dump) : SIZE_MAX;

            free(dump);
            if (dl < SLUICE_MAX_OUTPUT)
                return 0;
        } else {
            json_decref(v);
        }
    }
    if (http_utf8_valid(data, len)) {
        keep = http_utf8_cut(data, len, HTTP_OUTPUT_TEXT_MAX);
        v = json_stringn(data, keep);
    } else {
        char *b64;

        keep = len < HTTP_OUTPUT_TEXT_MAX ? len : HTTP_OUTPUT_TEXT_MAX;
        b64 = kit_base64_encode((const unsigned char *)data, keep);
        v = b64 ? json_string(b64) : NULL;
        free(b64);
        json_object_set_new(out, "body_encoding", json_string("base64"));
    }
    if (keep < len)
        json_object_set_new(out, "body_truncated", json_true());
    return json_object_set_new(out, "body", v ? v : json_null());
}

static void http_req_outputs(struct http_req *req, long status)
{
    json_t *out = json_object();
    char *text;

    if (!out)
        return;
    json_object_set_new(out, "status", json_integer(status));
    json_object_set(out, "headers", req->resp_headers);
    json_object_set_new(out, "attempts", json_integer(req->attempts));
    json_object_set_new(out, "duration_ms", json_integer(kit_now_ms() - req->started_ms));
    http_outputs_body(req, out);
    text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (text && req->host->exec_set_output(req->exec, text, strlen(text)) != 0)
        req->host->log(req->host, req->exec, SLUICE_LOG_WARN, "outputs refused by the host");
    free(text);
}

/* The start of the body for an error message: printable, one line. */
static void http_body_excerpt(const struct http_req *req, char *buf, size_t len)
{
    size_t n = 0,
           max = http_utf8_cut(req->resp ? req->resp : "", req->resp_len,
                               len - 4 < HTTP_ERROR_BODY_MAX ? len - 4 : HTTP_ERROR_BODY_MAX);

    for (size_t i = 0; i < max; i++) {
        unsigned char c = (unsigned char)req->resp[i];

        buf[n++] = c == '\n' || c == '\r' || c == '\t' ? ' '
                   : c < 0x20 || c == 0x7f             ? '?'
                                                       : (char)c;
    }
    if (max < req->resp_len)
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    buf[n] = '\0';
}

static void http_req_finish_status(struct http_req *req, long status, const char *why)
{
    int ok = status >= 200 && status <= 299;

    http_req_note(req, "attempt %d: %ld from %s in %lld ms", req->attempts, status, req->cfg->host,
                  (long long)(kit_now_ms() - req->attempt_ms));
    http_req_outputs(req, status);
    if (req->want_response && status >= 100 && status <= 599 &&
        req->host->exec_set_response(req->exec, (int)status, req->content_type,
                                     req->resp ? req->resp : "", req->resp_len) != 0)
        req->host->log(req->host, req->exec, SLUICE_LOG_WARN,
                       "the upstream's answer (%zu bytes) could not be passed on; the host "
                       "takes at most %u (max_response is larger)",
                       req->resp_len, SLUICE_MAX_OUTPUT);
    if (ok) {
        http_req_complete(req, SLUICE_OK);
        return;
    }
    char excerpt[HTTP_ERROR_BODY_MAX + 8];
    http_body_excerpt(req, excerpt, sizeof(excerpt));
    http_req_finish_error(req, "%s answered %ld%s (attempt %d)%s%s", req->cfg->host, status,
                          why ? why : "", req->attempts, excerpt[0] ? ": " : "", excerpt);
}

void http_req_finish_http(struct http_req *req, long status)
{
    http_req_finish_status(req, status, NULL);
}

/* Failures that another attempt may not meet: the network's. */
static int http_curl_is_network(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

static long http_backoff_ms(const struct http_retry *r, int attempt)
{
    long d = r->backoff_ms;

    for (int i = 1; i < attempt && d < r->max_backoff_ms; i++)
        d = d > r->max_backoff_ms / 2 ? r->max_backoff_ms : d * 2;
    return d < r->max_backoff_ms ? d : r->max_backoff_ms;
}

static void http_req_schedule(struct http_req *req, long delay_ms, const char *what)
{
    http_req_note(req, "attempt %d: %s from %s in %lld ms; retrying in %ld ms", req->attempts, what,
                  req->cfg->host, (long long)(kit_now_ms() - req->attempt_ms), delay_ms);
    req->state = HTTP_REQ_WAITING;
    req->due_ms = kit_now_ms() + delay_ms;
}

int http_req_done(struct http_req *req, CURLcode rc)
{
    const struct http_retry *r = &req->cfg->retry;
    int cancel = req->host->exec_is_cancelled(req->exec);
    int more = req->attempts <= r->max;
    long status = 0;

    if (cancel != SLUICE_CANCEL_NONE || req->aborted) {
        http_req_abort(req, cancel != SLUICE_CANCEL_NONE ? cancel : SLUICE_CANCEL_REQUEST, NULL);
        return 1;
    }
    if (req->refused) {
        http_req_note(req, "attempt %d: %s", req->attempts, req->refused_msg);
        http_req_finish_error(req, "%s", req->refused_msg);
        return 1;
    }
    if (req->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        http_req_note(req, "attempt %d: the response is too large", req->attempts);
        http_req_finish_error(req,
                              "the response from %s is larger than max_response (%zu "
                              "bytes); the transfer was stopped",
                              req->cfg->host, req->cfg->max_response);
        return 1;
    }
    if (rc == CURLE_OK) {
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 300 && status < 600 && r->on_status[status] && more) {
            curl_off_t after = 0;
            char what[32];

            curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &after);
            snprintf(what, sizeof(what), "%ld", status);
            if (after > 0 && after * 1000 > r->max_delay_ms) {
                char why[160];

                snprintf(why, sizeof(why),
                         " with Retry-After: %lld s, longer than retry.max_delay (%ld ms), so "
                         "it was not retried",
                         (long long)after, r->max_delay_ms);
                http_req_finish_status(req, status, why);
                return 1;
            }
            http_req_schedule(
                req, after > 0 ? (long)after * 1000 : http_backoff_ms(r, req->attempts), what);
            return 0;
        }
        http_req_finish_http(req, status);
        return 1;
    }
    const char *detail = req->errbuf[0] ? req->errbuf : curl_easy_strerror(rc);
    if (http_curl_is_network(rc) && r->on_network && more) {
        http_req_schedule(req, http_backoff_ms(r, req->attempts), detail);
        return 0;
    }
    http_req_note(req, "attempt %d: %s", req->attempts, detail);
    http_req_finish_error(
        req, "%sthe request to %s failed (attempt %d): %s%s",
        rc == CURLE_OPERATION_TIMEDOUT ? "timed out: " : "", req->cfg->host, req->attempts, detail,
        rc == CURLE_PEER_FAILED_VERIFICATION && strstr(detail, "certificate problem")
            ? " (set ca_file to the CA that signed the upstream's certificate)"
            : "");
    return 1;
}
