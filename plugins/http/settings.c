/*
 * settings.c - parse and validate the http executor's per-flow config.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Everything that can be checked without an event is checked here, so a
 * mistake fails the flow at start (or at reload, keeping the old config)
 * rather than on its first webhook: unknown settings, types, durations and
 * sizes, template syntax, the url's shape (and that no placeholder can
 * choose its host), header names, the CA file, the signing secret, and a
 * literal address the SSRF guard would refuse anyway.
 */
#define _GNU_SOURCE
#include "settings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "util.h"

static const char *const http_settings_keys[] = {"url",
                                                 "method",
                                                 "headers",
                                                 "body",
                                                 "timeout",
                                                 "connect_timeout",
                                                 "retry",
                                                 "max_redirects",
                                                 "ca_file",
                                                 "insecure",
                                                 "proxy",
                                                 "max_response",
                                                 "response_headers",
                                                 "sign",
                                                 "allow_hosts",
                                                 "deny_private",
                                                 "respond_with",
                                                 NULL};

/* Headers libcurl manages itself: a flow setting them would break framing
 * or the connection. */
static const char *const http_reserved_headers[] = {
    "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer",
    "Expect",         "Proxy-Connection",
};

static const char *const http_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                           "PATCH", "DELETE", "OPTIONS"};

/* Every configure error reads "<where>: http: <what>". */
static void http_settings_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
    SLUICE_PRINTF(4, 5);

static void http_settings_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kit_errf(err, errlen, "%s: http: %s", where ? where : "config", msg);
}

/* A duration setting: a string such as "30s" or a bare number of seconds. */
static int http_settings_duration(const json_t *v, const char *name, long min_ms, long *ms,
                                  const char *where, char *err, size_t errlen)
{
    if (kit_duration(v, ms) != 0 || *ms < min_ms) {
        http_settings_fail(err, errlen, where,
                           "%s must be a duration such as \"30s\" or \"250ms\" (units ms, s, m, "
                           "h, d, a bare number is seconds; at least %ld ms, at most 24h)",
                           name, min_ms);
        return -1;
    }
    return 0;
}

/* The host of a url, or of localhost names, judged before any request. */
static int http_settings_host_guard(struct http_settings *cfg, const char *where, char *err,
                                    size_t errlen)
{
    unsigned char addr[16];
    char host[256], msg[512];
    size_t len = strlen(cfg->host);
    int family = 0;

    if (len >= sizeof(host))
        return 0;
    memcpy(host, cfg->host, len + 1);
    if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
        memmove(host, host + 1, len - 2);
        host[len - 2] = '\0';
    }
    if (inet_pton(AF_INET, host, addr) == 1) {
        family = AF_INET;
    } else if (inet_pton(AF_INET6, host, addr) == 1) {
        family = AF_INET6;
    } else {
        /* RFC 6761: localhost and names under it are loopback, whatever DNS says. */
        size_t hl = strlen(host);

        if (hl > 0 && host[hl - 1] == '.')
            host[--hl] = '\0';
        if (strcasecmp(host, "localhost") == 0 ||
            (hl > 10 && strcasecmp(host + hl - 10, ".localhost") == 0)) {
            family = AF_INET;
            inet_pton(AF_INET, "127.0.0.1", addr);
        }
    }
    if (family != 0 && http_guard_check(cfg->guard, host, family, addr, msg, sizeof(msg)) != 0) {
        http_settings_fail(err, errlen, where, "url: %s", msg);
        return -1;
    }
    return 0;
}

/*
 * The url: a template whose scheme and authority are literal text. A
 * placeholder there would let a request choose where sluiced connects; in
 * the path and the query each value is percent-encoded (kit/template.h), so it
 * stays inside its segment or parameter.
 */
static int http_settings_url(struct http_settings *cfg, const json_t *v, const char *where,
                             char *err, size_t errlen)
{
    const char *text = json_string_value(v);
    const char *auth, *auth_end;
    char msg[1024], *sample = NULL, *host = NULL;
    size_t sample_len;
    CURLU *u = NULL;
    CURLUcode uc;
    int rc = -1;

    if (!text || *text == '\0') {
        http_settings_fail(err, errlen, where, "url must be a non-empty string");
        return -1;
    }
    if (strncasecmp(text, "http://", 7) == 0)
        auth = text + 7;
    else if (strncasecmp(text, "https://", 8) == 0)
        auth = text + 8;
    else {
        http_settings_fail(err, errlen, where, "url must start with http:// or https://");
        return -1;
    }
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '{', (size_t)(auth_end - auth)) ||
        memchr(auth, '}', (size_t)(auth_end - auth))) {
        http_settings_fail(err, errlen, where,
                           "url: placeholders may fill the path and the query, never the scheme "
                           "or the host: a request must not choose where sluiced connects");
        return -1;
    }
    if (kit_template_compile(&cfg->url, text, msg, sizeof(msg)) != 0) {
        http_settings_fail(err, errlen, where, "url: %s", msg);
        return -1;
    }
    /* Render with every placeholder empty: what remains must be a URL. */
    json_t *empty = json_object();
    if (!empty ||
        kit_template_render_enc(cfg->url, empty, KIT_ENC_URL, &sample, &sample_len) != 0 ||
        !(u = curl_url())) {
        json_decref(empty);
        http_settings_fail(err, errlen, where, "out of memory");
        goto out;
    }
    json_decref(empty);
    uc = curl_url_set(u, CURLUPART_URL, sample, 0);
    if (uc != CURLUE_OK) {
        http_settings_fail(err, errlen, where, "url \"%s\" is not a valid URL: %s", text,
                           curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || *host == '\0') {
        http_settings_fail(err, errlen, where, "url \"%s\" names no host", text);
        goto out;
    }
    if (!(cfg->host = strdup(host))) {
        http_settings_fail(err, errlen, where, "out of memory");
        goto out;
    }
    rc = 0;
out:
    curl_free(host);
    curl_url_cleanup(u);
    free(sample);
    return rc;
}

static int http_settings_method(struct http_settings *cfg, const json_t *v, const char *where,
                                char *err, size_t errlen)
{
    const char *m = v ? json_string_value(v) : "POST";

    for (size_t i = 0; m && i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
        if (strcasecmp(m, http_methods[i]) == 0) {
            if (!(cfg->method = strdup(http_methods[i]))) {
                http_settings_fail(err, errlen, where, "out of memory");
                return -1;
            }
            return 0;
        }
    }
    http_settings_fail(err, errlen, where,
                       "method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    return -1;
}

static int http_settings_headers(struct http_settings *cfg, const json_t *v, const char *where,
                                 char *err, size_t errlen)
{
    const char *name;
    json_t *value;
    char msg[1024];

    if (!json_is_object(v)) {
        http_settings_fail(err, errlen, where,
                           "headers must be a group of Name = \"value\" (values may hold "
                           "placeholders and \"@env:NAME\" secrets)");
        return -1;
    }
    cfg->headers = calloc(json_object_size(v) + 1, sizeof(*cfg->headers));
    if (!cfg->headers)
        goto nomem;
    json_object_foreach((json_t *)v, name, value)
    {
        struct http_header_tpl *h = &cfg->headers[cfg->nheaders];
        char text[64];
        const char *src = text;

        if (!http_token_ok(name)) {
            http_settings_fail(err, errlen, where, "headers: \"%s\" is not a header name", name);
            return -1;
        }
        for (size_t i = 0; i < sizeof(http_reserved_headers) / sizeof(char *); i++) {
            if (strcasecmp(name, http_reserved_headers[i]) == 0) {
                http_settings_fail(err, errlen, where,
                                   "headers.%s is managed by the executor and cannot be set", name);
                return -1;
            }
        }
        if (json_is_string(value))
            src = json_string_value(value);
        else if (json_is_integer(value))
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        else {
            http_settings_fail(err, errlen, where, "headers.%s must be a string", name);
            return -1;
        }
        if (strpbrk(src, "\r\n")) {
            http_settings_fail(err, errlen, where, "headers.%s must be on one line", name);
            return -1;
        }
        if (!(h->name = strdup(name)))
            goto nomem;
        cfg->nheaders++;
        if (kit_template_compile(&h->value, src, msg, sizeof(msg)) != 0) {
            http_settings_fail(err, errlen, where, "headers.%s: %s", name, msg);
            return -1;
        }
        cfg->has_content_type |= strcasecmp(name, "Content-Type") == 0;
        cfg->has_user_agent |= strcasecmp(name, "User-Agent") == 0;
    }
    return 0;

nomem:
    http_settings_fail(err, errlen, where, "out of memory");
    return -1;
}

static int http_settings_body(struct http_settings *cfg, const json_t *v, const char *where,
                              char *err, size_t errlen)
{
    const char *mode = json_string_value(v);
    char msg[1024];
    int bodyless = strcmp(cfg->method, "GET") == 0 || strcmp(cfg->method, "HEAD") == 0;

    if (!v) {
        cfg->body_mode =
            bodyless || strcmp(cfg->method, "DELETE") == 0 || strcmp(cfg->method, "OPTIONS") == 0
                ? HTTP_BODY_NONE
                : HTTP_BODY_EVENT;
        return 0;
    }
    if (mode && strcmp(mode, "event") == 0)
        cfg->body_mode = HTTP_BODY_EVENT;
    else if (mode && strcmp(mode, "body") == 0)
        cfg->body_mode = HTTP_BODY_RAW;
    else if (mode && strcmp(mode, "none") == 0)
        cfg->body_mode = HTTP_BODY_NONE;
    else if (json_is_object(v) || json_is_array(v)) {
        cfg->body_mode = HTTP_BODY_TEMPLATE;
        if (http_jtpl_compile(&cfg->body_tpl, v, msg, sizeof(msg)) != 0) {
            http_settings_fail(err, errlen, where, "%s", msg);
            return -1;
        }
    } else {
        http_settings_fail(err, errlen, where,
                           "body must be \"event\", \"body\", \"none\" or a JSON template (a "
                           "group or a list)");
        return -1;
    }
    if (bodyless && cfg->body_mode != HTTP_BODY_NONE) {
        http_settings_fail(err, errlen, where,
                           "a %s request carries no body: drop body or "
                           "choose another method",
                           cfg->method);
        return -1;
    }
    return 0;
}

static int http_settings_retry_on(struct http_retry *r, const json_t *on, const char *where,
                                  char *err, size_t errlen)
{
    size_t i;
    json_t *item;

    if (!json_is_array(on)) {
        http_settings_fail(err, errlen, where,
                           "retry.on must be a list of status codes and \"network\", such as "
                           "[429, 500, 502, 503, 504, \"network\"]");
        return -1;
    }
    json_array_foreach(on, i, item)
    {
        if (json_is_string(item) && strcmp(json_string_value(item), "network") == 0) {
            r->on_network = 1;
        } else if (json_is_integer(item) && json_integer_value(item) >= 300 &&
                   json_integer_value(item) <= 599) {
            r->on_status[json_integer_value(item)] = 1;
        } else {
            http_settings_fail(err, errlen, where,
                               "retry.on[%zu] must be a status code from 300 to 599 or "
                               "\"network\"",
                               i);
            return -1;
        }
    }
    return 0;
}

static int http_settings_retry(struct http_retry *r, const json_t *v, const char *where, char *err,
                               size_t errlen)
{
    static const char *const keys[] = {"max", "backoff", "max_backoff", "max_delay", "on"};
    static const int default_on[] = {429, 500, 502, 503, 504};
    const char *key;
    json_t *value;

    r->max = 0;
    r->backoff_ms = 1000;
    r->max_backoff_ms = 30000;
    r->max_delay_ms = 60000;
    if (!v)
        return 0;
    if (!json_is_object(v)) {
        http_settings_fail(err, errlen, where,
                           "retry must be a group: retry = { max = 3; backoff = \"1s\"; }");
        return -1;
    }
    json_object_foreach((json_t *)v, key, value)
    {
        size_t i;

        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (strcmp(key, keys[i]) == 0)
                break;
        if (i == sizeof(keys) / sizeof(keys[0])) {
            http_settings_fail(err, errlen, where, "unknown setting \"retry.%s\"", key);
            return -1;
        }
    }
    r->max = 3;
    if ((value = json_object_get(v, "max"))) {
        if (!json_is_integer(value) || json_integer_value(value) < 0 ||
            json_integer_value(value) > 100) {
            http_settings_fail(err, errlen, where, "retry.max must be an integer from 0 to 100");
            return -1;
        }
        r->max = (int)json_integer_value(value);
    }
    if (((value = json_object_get(v, "backoff")) &&
         http_settings_duration(value, "retry.backoff", 0, &r->backoff_ms, where, err, errlen) !=
             0) ||
        ((value = json_object_get(v, "max_backoff")) &&
         http_settings_duration(value, "retry.max_backoff", 0, &r->max_backoff_ms, where, err,
                                errlen) != 0) ||
        ((value = json_object_get(v, "max_delay")) &&
         http_settings_duration(value, "retry.max_delay", 0, &r->max_delay_ms, where, err,
                                errlen) != 0))
        return -1;
    if ((value = json_object_get(v, "on")))
        return http_settings_retry_on(r, value, where, err, errlen);
    for (size_t i = 0; i < sizeof(default_on) / sizeof(default_on[0]); i++)
        r->on_status[default_on[i]] = 1;
    r->on_network = 1;
    return 0;
}

static int http_settings_tls(struct http_settings *cfg, const json_t *root, const char *where,
                             char *err, size_t errlen)
{
    const json_t *v;
    char ebuf[128];
    struct stat st;

    if ((v = json_object_get(root, "insecure"))) {
        if (!json_is_boolean(v)) {
            http_settings_fail(err, errlen, where, "insecure must be true or false");
            return -1;
        }
        cfg->insecure = json_is_true(v);
    }
    if (!(v = json_object_get(root, "ca_file")))
        return 0;
    if (!json_is_string(v) || json_string_value(v)[0] != '/') {
        http_settings_fail(err, errlen, where, "ca_file must be an absolute path to a PEM file");
        return -1;
    }
    if (stat(json_string_value(v), &st) != 0 || access(json_string_value(v), R_OK) != 0) {
        http_settings_fail(err, errlen, where, "ca_file \"%s\": %s", json_string_value(v),
                           kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        http_settings_fail(err, errlen, where, "ca_file \"%s\" is not a file",
                           json_string_value(v));
        return -1;
    }
    if (!(cfg->ca_file = strdup(json_string_value(v)))) {
        http_settings_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

static int http_settings_proxy(struct http_settings *cfg, const json_t *v, const char *where,
                               char *err, size_t errlen)
{
    static const char *const schemes[] = {"http://",    "https://",  "socks4://",
                                          "socks4a://", "socks5://", "socks5h://"};
    const char *text = json_string_value(v);
    int ok = 0;

    for (size_t i = 0; text && i < sizeof(schemes) / sizeof(schemes[0]); i++)
        ok |= strncasecmp(text, schemes[i], strlen(schemes[i])) == 0;
    if (!ok) {
        http_settings_fail(err, errlen, where,
                           "proxy must be a URL such as \"http://proxy.internal:3128\" (http, "
                           "https, socks4, socks4a, socks5, socks5h)");
        return -1;
    }
    if (!(cfg->proxy = strdup(text))) {
        http_settings_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

static int http_settings_response_headers(struct http_settings *cfg, const json_t *v,
                                          const char *where, char *err, size_t errlen)
{
    json_t *dflt = NULL;
    size_t i;
    json_t *item;
    int rc = -1;

    if (!v)
        v = dflt = json_pack("[s]", "content-type");
    if (!json_is_array(v)) {
        http_settings_fail(err, errlen, where,
                           "response_headers must be a list of header "
                           "names");
        goto out;
    }
    cfg->response_headers = calloc(json_array_size(v) + 1, sizeof(char *));
    if (!cfg->response_headers) {
        http_settings_fail(err, errlen, where, "out of memory");
        goto out;
    }
    json_array_foreach((json_t *)v, i, item)
    {
        char *name;

        if (!http_token_ok(json_string_value(item))) {
            http_settings_fail(err, errlen, where,
                               "response_headers[%zu] must be a header "
                               "name",
                               i);
            goto out;
        }
        if (!(name = strdup(json_string_value(item)))) {
            http_settings_fail(err, errlen, where, "out of memory");
            goto out;
        }
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        cfg->response_headers[cfg->nresponse_headers++] = name;
    }
    rc = 0;
out:
    json_decref(dflt);
    return rc;
}

static int http_settings_limits(struct http_settings *cfg, const json_t *root, const char *where,
                                char *err, size_t errlen)
{
    const json_t *v;

    cfg->timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
    cfg->connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->max_response = HTTP_DEFAULT_MAX_RESPONSE;
    if (((v = json_object_get(root, "timeout")) &&
         http_settings_duration(v, "timeout", 1, &cfg->timeout_ms, where, err, errlen) != 0) ||
        ((v = json_object_get(root, "connect_timeout")) &&
         http_settings_duration(v, "connect_timeout", 1, &cfg->connect_timeout_ms, where, err,
                                errlen) != 0))
        return -1;
    if ((v = json_object_get(root, "max_response"))) {
        uint64_t bytes;

        if (kit_size(v, &bytes) == 0 && bytes <= HTTP_MAX_RESPONSE_LIMIT) {
            cfg->max_response = (size_t)bytes;
        } else {
            http_settings_fail(err, errlen, where,
                               "max_response must be a size such as \"64K\" or \"1M\" (at most "
                               "1G)");
            return -1;
        }
    }
    if ((v = json_object_get(root, "max_redirects"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > HTTP_MAX_REDIRECTS) {
            http_settings_fail(err, errlen, where,
                               "max_redirects must be an integer from 0 (the default: a 3xx "
                               "answer is final) to %d",
                               HTTP_MAX_REDIRECTS);
            return -1;
        }
        cfg->max_redirects = (long)json_integer_value(v);
    }
    return 0;
}

/*
 * respond_with was a setting of this executor; one flow may serve several
 * triggers, so the trigger decides now. A config that still has it would
 * otherwise silently stop relaying: say where it went.
 */
static int http_settings_respond_moved(const char *where, char *err, size_t errlen)
{
    http_settings_fail(err, errlen, where,
                       "respond_with is a trigger setting now: remove it here and set "
                       "respond_with = \"upstream\" in each sync trigger whose sender should "
                       "get the upstream's answer");
    return -1;
}

static int http_settings_guard(struct http_settings *cfg, const json_t *root, const char *where,
                               char *err, size_t errlen)
{
    const json_t *v = json_object_get(root, "deny_private");
    char msg[1024];

    if (v && !json_is_boolean(v)) {
        http_settings_fail(err, errlen, where, "deny_private must be true or false");
        return -1;
    }
    if (http_guard_new(&cfg->guard, json_object_get(root, "allow_hosts"), !v || json_is_true(v),
                       msg, sizeof(msg)) != 0) {
        http_settings_fail(err, errlen, where, "%s", msg);
        return -1;
    }
    return 0;
}

int http_settings_parse(struct http_settings **out, const char *cfg_json, size_t cfg_len,
                        const char *where, char *err, size_t errlen)
{
    struct http_settings *cfg = NULL;
    json_t *root, *v;
    char msg[1024];

    *out = NULL;
    if (!(root = kit_config(cfg_json, cfg_len, http_settings_keys, where, "http", err, errlen)))
        goto fail;
    if (!(cfg = calloc(1, sizeof(*cfg)))) {
        http_settings_fail(err, errlen, where, "out of memory");
        goto fail;
    }
    if (!(v = json_object_get(root, "url"))) {
        http_settings_fail(err, errlen, where, "url is required: where to send the request");
        goto fail;
    }
    if (http_settings_guard(cfg, root, where, err, errlen) != 0 ||
        http_settings_url(cfg, v, where, err, errlen) != 0 ||
        http_settings_host_guard(cfg, where, err, errlen) != 0 ||
        http_settings_method(cfg, json_object_get(root, "method"), where, err, errlen) != 0 ||
        http_settings_body(cfg, json_object_get(root, "body"), where, err, errlen) != 0 ||
        http_settings_limits(cfg, root, where, err, errlen) != 0 ||
        http_settings_retry(&cfg->retry, json_object_get(root, "retry"), where, err, errlen) ||
        http_settings_tls(cfg, root, where, err, errlen) != 0 ||
        http_settings_response_headers(cfg, json_object_get(root, "response_headers"), where, err,
                                       errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "headers")) &&
        http_settings_headers(cfg, v, where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "proxy")) &&
        http_settings_proxy(cfg, v, where, err, errlen) != 0)
        goto fail;
    if (json_object_get(root, "respond_with")) {
        http_settings_respond_moved(where, err, errlen);
        goto fail;
    }
    if ((v = json_object_get(root, "sign"))) {
        if (http_sign_parse(&cfg->sign, v, msg, sizeof(msg)) != 0) {
            http_settings_fail(err, errlen, where, "%s", msg);
            goto fail;
        }
    }
    /* body = "body" reads the event only when the host lends no bytes
     * (request.c decides per execution). */
    cfg->needs_event =
        kit_template_has_placeholders(cfg->url) || cfg->body_mode == HTTP_BODY_TEMPLATE;
    for (size_t i = 0; i < cfg->nheaders; i++)
        cfg->needs_event |= kit_template_has_placeholders(cfg->headers[i].value);
    json_decref(root);
    *out = cfg;
    return 0;

fail:
    json_decref(root);
    http_settings_free(cfg);
    return -1;
}

void http_settings_free(struct http_settings *cfg)
{
    if (!cfg)
        return;
    kit_template_free(cfg->url);
    free(cfg->host);
    free(cfg->method);
    for (size_t i = 0; i < cfg->nheaders; i++) {
        free(cfg->headers[i].name);
        kit_template_free(cfg->headers[i].value);
    }
    free(cfg->headers);
    http_jtpl_free(cfg->body_tpl);
    free(cfg->ca_file);
    free(cfg->proxy);
    for (size_t i = 0; i < cfg->nresponse_headers; i++)
        free(cfg->response_headers[i]);
    free(cfg->response_headers);
    http_sign_free(cfg->sign);
    http_guard_free(cfg->guard);
    free(cfg);
}
