/*
 * settings.h - the http executor's per-flow configuration.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef HTTP_SETTINGS_H
#define HTTP_SETTINGS_H

#include <stddef.h>

#include "body.h"
#include "guard.h"
#include "sign.h"
#include "kit/template.h"

struct http_header_tpl {
    char *name;
    kit_template *value;
};

/* When to try again, and how long to wait before it. */
struct http_retry {
    int max;             /* further attempts after the first */
    long backoff_ms;     /* the first wait; doubles each time */
    long max_backoff_ms; /* cap on the doubling */
    long max_delay_ms;   /* a longer Retry-After ends the retries */
    int on_network;      /* retry connection failures and timeouts */
    unsigned char on_status[600];
};

/*
 * One validated flow configuration. Immutable after http_settings_parse, so
 * any number of executions read it at once without a lock.
 */
struct http_settings {
    kit_template *url;
    char *host; /* the url's host, for messages: never the path or query, which
                   may carry secrets */
    char *method;
    struct http_header_tpl *headers;
    size_t nheaders;
    int has_content_type; /* headers sets Content-Type itself */
    int has_user_agent;
    enum http_body_mode body_mode;
    struct http_jtpl *body_tpl;
    long timeout_ms;
    long connect_timeout_ms;
    struct http_retry retry;
    long max_redirects;
    char *ca_file;
    int insecure;
    char *proxy;
    size_t max_response;
    char **response_headers; /* lower case */
    size_t nresponse_headers;
    struct http_sign *sign;
    struct http_guard *guard;
    int needs_event; /* placeholders or a template read the parsed event */
};

#define HTTP_DEFAULT_TIMEOUT_MS 30000L
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_MAX_RESPONSE ((size_t)1024 * 1024)
/* The largest max_response. */
#define HTTP_MAX_RESPONSE_LIMIT (1024ULL * 1024 * 1024)
#define HTTP_MAX_REDIRECTS 20

/*
 * Parse and validate cfg_json (the flow's config group as a JSON object).
 * Every error reads "<where>: http: <what>", naming the setting. Returns 0
 * and sets *out, or -1 with err set.
 */
int http_settings_parse(struct http_settings **out, const char *cfg_json, size_t cfg_len,
                        const char *where, char *err, size_t errlen);

void http_settings_free(struct http_settings *cfg);

#endif /* HTTP_SETTINGS_H */
