/*
 * request.c - one execution's forward: prepared on a worker, then run by
 * the loop thread one attempt at a time.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Preparation does everything that depends on the event (url, headers,
 * body), so the loop thread only moves bytes. An attempt configures the
 * easy handle once (the same handle serves every retry), builds the
 * header list anew (a Standard Webhooks timestamp must be fresh), and
 * collects the answer within max_response. The SSRF guard sits in two
 * callbacks: opensocket, before a new connection is made, and prereq,
 * before every request, on new and reused connections alike.
 */
#define _GNU_SOURCE
#include "request.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sluice/jansson.h>

#include "sign.h"
#include "kit/template.h"
#include "util.h"

/* Longest value kept of one selected response header. */
#define HTTP_HEADER_KEEP 8192

/* ---- preparation (worker thread) ---- */

static int http_slist_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);

    if (!grown)
        return -1;
    *list = grown;
    return 0;
}

static int http_req_header_line(struct curl_slist **list, const char *name, const char *value,
                                size_t len)
{
    char *line;
    int rc;

    /* "Name:" would tell libcurl to drop the header; "Name;" sends it empty. */
    if (len == 0 ? asprintf(&line, "%s;", name) < 0 : asprintf(&line, "%s: %s", name, value) < 0)
        return -1;
    rc = http_slist_add(list, line);
    free(line);
    return rc;
}

static int http_req_headers(struct http_req *req, const json_t *event, char *err, size_t errlen)
{
    const struct http_settings *cfg = req->cfg;

    for (size_t i = 0; i < cfg->nheaders; i++) {
        char *value;
        size_t len;

        if (kit_template_render_enc(cfg->headers[i].value, event, KIT_ENC_RAW, &value, &len) != 0)
            goto nomem;
        /* A line break would start a header (or a body) of the sender's
         * choosing; a NUL would cut the value. */
        if (strlen(value) != len || strpbrk(value, "\r\n")) {
            free(value);
            kit_errf(err, errlen,
                     "headers.%s: the value from the request contains a line break or a NUL "
                     "byte; refusing to send it",
                     cfg->headers[i].name);
            return -1;
        }
        if (http_req_header_line(&req->base_headers, cfg->headers[i].name, value, len) != 0) {
            free(value);
            goto nomem;
        }
        free(value);
    }
    /* Without a type of our own, libcurl would label a POST body
     * application/x-www-form-urlencoded; "Content-Type:" removes that. */
    if (!cfg->has_content_type &&
        (req->body.content_type
             ? http_req_header_line(&req->base_headers, "Content-Type", req->body.content_type,
                                    strlen(req->body.content_type))
             : http_slist_add(&req->base_headers, "Content-Type:")) != 0)
        goto nomem;
    /* No "Expect: 100-continue" round trip before larger bodies. */
    if (http_slist_add(&req->base_headers, "Expect:") != 0)
        goto nomem;
    return 0;

nomem:
    kit_errf(err, errlen, "out of memory");
    return -1;
}

int http_req_prepare(struct http_req **out, struct http_instance *inst, sluice_exec *exec,
                     char *err, size_t errlen)
{
    const sluice_host *host = inst->host;
    struct http_req *req = calloc(1, sizeof(*req));
    const char *event_text, *id, *respond;
    struct http_raw raw = {NULL, 0, NULL};
    size_t event_len = 0, url_len;
    json_error_t jerr = {.text = "out of memory"};
    json_t *event = NULL;

    *out = NULL;
    if (!req) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    req->host = host;
    req->cfg = inst->cfg;
    req->loop = inst->loop;
    req->exec = exec;
    id = host->exec_meta(exec, "execution_id");
    snprintf(req->exec_id, sizeof(req->exec_id), "%s", id ? id : "unknown");
    /* The trigger decides whether the waiting sender gets the upstream's
     * answer (respond_with = "upstream"); a 1.0 host never asks. */
    respond = host->exec_meta(exec, "respond_with");
    req->want_response = respond && strcmp(respond, "upstream") == 0;
    if (inst->cfg->body_mode == HTTP_BODY_RAW && SLUICE_HOST_HAS(host, exec_body))
        raw.data = host->exec_body(exec, &raw.len, &raw.content_type);

    event_text = host->exec_event(exec, &event_len);
    if (!event_text) {
        kit_errf(err, errlen, "the host gave no event");
        goto fail;
    }
    /* Parsed only when something reads it: forwarding the event or the
     * bytes the host lends as they are needs no parse. Read as sluiced reads
     * bodies (sluice_json_parse_event): big numbers as their text, and a
     * body may carry \u0000; only a header refuses it. */
    event = inst->cfg->needs_event || (inst->cfg->body_mode == HTTP_BODY_RAW && !raw.data)
                ? sluice_json_parse_event(event_text, event_len, &jerr)
                : json_object();
    if (!event || !json_is_object(event)) {
        kit_errf(err, errlen, "the event is not a JSON object: %s",
                 event ? "another type" : jerr.text);
        goto fail;
    }
    if (kit_template_render_enc(inst->cfg->url, event, KIT_ENC_URL, &req->url, &url_len) != 0) {
        kit_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (http_body_build(&req->body, inst->cfg->body_mode, inst->cfg->body_tpl, &raw, event_text,
                        event_len, event, err, errlen) != 0 ||
        http_req_headers(req, event, err, errlen) != 0)
        goto fail;
    if (!(req->resp_headers = json_object())) {
        kit_errf(err, errlen, "out of memory");
        goto fail;
    }
    json_decref(event);
    *out = req;
    return 0;

fail:
    json_decref(event);
    http_req_free(req);
    return -1;
}

void http_req_free(struct http_req *req)
{
    if (!req)
        return;
    if (req->easy)
        curl_easy_cleanup(req->easy);
    curl_slist_free_all(req->headers);
    curl_slist_free_all(req->base_headers);
    free(req->url);
    http_payload_clear(&req->body);
    free(req->resp);
    json_decref(req->resp_headers);
    free(req->content_type);
    free(req);
}

/* ---- callbacks (loop thread, inside curl_multi_perform) ---- */

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_req *req = arg;
    size_t n = size * nmemb;

    if (n > req->cfg->max_response - req->resp_len) {
        req->too_large = 1;
        return 0; /* CURLE_WRITE_ERROR: stop reading at once */
    }
    if (req->resp_len + n + 1 > req->resp_cap) {
        size_t cap = req->resp_cap ? req->resp_cap : 16384;
        char *grown;

        while (cap < req->resp_len + n + 1)
            cap *= 2;
        if (cap > req->cfg->max_response + 1)
            cap = req->cfg->max_response + 1;
        if (!(grown = realloc(req->resp, cap)))
            return 0;
        req->resp = grown;
        req->resp_cap = cap;
    }
    memcpy(req->resp + req->resp_len, data, n);
    req->resp_len += n;
    req->resp[req->resp_len] = '\0';
    return n;
}

static int http_header_wanted(const struct http_settings *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nresponse_headers; i++)
        if (strcmp(cfg->response_headers[i], name) == 0)
            return 1;
    return 0;
}

/*
 * One header line. A status line starts a new response (after a redirect
 * or a 100 Continue): what was kept of the previous one is dropped.
 */
static size_t http_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct http_req *req = arg;
    size_t n = size * nmemb, nlen, vlen;
    char name[128], *colon, *value;

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        json_object_clear(req->resp_headers);
        free(req->content_type);
        req->content_type = NULL;
        return n;
    }
    colon = memchr(data, ':', n);
    if (!colon || (nlen = (size_t)(colon - data)) == 0 || nlen >= sizeof(name))
        return n;
    for (size_t i = 0; i < nlen; i++)
        name[i] = (char)tolower((unsigned char)data[i]);
    name[nlen] = '\0';
    value = colon + 1;
    vlen = n - nlen - 1;
    while (vlen > 0 && (*value == ' ' || *value == '\t'))
        value++, vlen--;
    while (vlen > 0 && (value[vlen - 1] == '\r' || value[vlen - 1] == '\n' ||
                        value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        vlen--;
    if (vlen > HTTP_HEADER_KEEP)
        vlen = HTTP_HEADER_KEEP;
    /* Unchecked, a lost type would mislabel the response; failing here could
     * only show as libcurl's unrelated "failed writing header". */
    if (strcmp(name, "content-type") == 0 && !req->content_type)
        req->content_type = http_xstrndup(value, vlen);
    if (http_header_wanted(req->cfg, name)) {
        json_t *old = json_object_get(req->resp_headers, name);
        json_t *v;

        if (old) {
            /* Repeated fields combine with ", " (RFC 9110, 5.3). */
            char *joined;

            if (asprintf(&joined, "%s, %.*s", json_string_value(old), (int)vlen, value) < 0)
                return n;
            v = json_stringn(joined, strlen(joined));
            free(joined);
        } else {
            v = json_stringn(value, vlen);
        }
        /* A header that is not UTF-8 is left out rather than mangled. */
        if (v)
            json_object_set_new(req->resp_headers, name, v);
    }
    return n;
}

/* libcurl calls this often while a transfer runs: a cancelled execution
 * stops here even before the loop's own scan sees it. */
static int http_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
    struct http_req *req = arg;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (req->host->exec_is_cancelled(req->exec) != SLUICE_CANCEL_NONE) {
        req->aborted = 1;
        return 1;
    }
    return 0;
}

/* The host of the URL being fetched now (it changes with redirects). */
static void http_req_current_host(struct http_req *req, char *buf, size_t len)
{
    char *url = NULL, *host = NULL;
    CURLU *u;

    buf[0] = '\0';
    if (curl_easy_getinfo(req->easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url)
        return;
    if (!(u = curl_url()))
        return;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
        size_t hl = strlen(host);

        /* "[::1]" -> "::1" */
        if (hl > 2 && host[0] == '[' && host[hl - 1] == ']')
            snprintf(buf, len, "%.*s", (int)(hl - 2), host + 1);
        else
            snprintf(buf, len, "%s", host);
    }
    curl_free(host);
    curl_url_cleanup(u);
}

/*
 * Before a new connection. Through a proxy the address is the proxy's,
 * which the operator chose: the guard then has nothing to judge (see the
 * README on proxies).
 */
static curl_socket_t http_on_opensocket(void *arg, curlsocktype purpose,
                                        struct curl_sockaddr *address)
{
    struct http_req *req = arg;
    char host[256];
    int fd;

    if (purpose == CURLSOCKTYPE_IPCXN && !req->cfg->proxy && !http_guard_is_open(req->cfg->guard)) {
        const unsigned char *bytes = NULL;

        if (address->family == AF_INET)
            bytes = (const unsigned char *)&((struct sockaddr_in *)&address->addr)->sin_addr;
        else if (address->family == AF_INET6)
            bytes = (const unsigned char *)&((struct sockaddr_in6 *)&address->addr)->sin6_addr;
        http_req_current_host(req, host, sizeof(host));
        if (!bytes || http_guard_check(req->cfg->guard, host[0] ? host : NULL, address->family,
                                       bytes, req->refused_msg, sizeof(req->refused_msg)) != 0) {
            if (!bytes)
                snprintf(req->refused_msg, sizeof(req->refused_msg),
                         "refused by the SSRF guard: not an IP address");
            req->refused = 1;
            return CURL_SOCKET_BAD;
        }
    }
    /* Close-on-exec: other executors start processes, which must not
     * inherit our connections. */
    fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* Before every request, on a new or a reused connection. */
static int http_on_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
                          int local_port)
{
    struct http_req *req = arg;
    char host[256], ip[64];

    (void)local_ip, (void)primary_port, (void)local_port;
    if (req->cfg->proxy || http_guard_is_open(req->cfg->guard))
        return CURL_PREREQFUNC_OK;
    snprintf(ip, sizeof(ip), "%s", primary_ip ? primary_ip : "");
    ip[strcspn(ip, "%")] = '\0'; /* an IPv6 zone ("fe80::1%eth0") */
    http_req_current_host(req, host, sizeof(host));
    if (http_guard_check_text(req->cfg->guard, host[0] ? host : NULL, ip, req->refused_msg,
                              sizeof(req->refused_msg)) != 0) {
        req->refused = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* ---- attempts (loop thread) ---- */

#define HTTP_SETOPT(easy, opt, val)                       \
    do {                                                  \
        if (curl_easy_setopt(easy, opt, val) != CURLE_OK) \
            return -1;                                    \
    } while (0)

static int http_req_method(struct http_req *req)
{
    const char *m = req->cfg->method;
    CURL *e = req->easy;

    if (strcmp(m, "GET") == 0) {
        HTTP_SETOPT(e, CURLOPT_HTTPGET, 1L);
        return 0;
    }
    if (strcmp(m, "HEAD") == 0) {
        HTTP_SETOPT(e, CURLOPT_NOBODY, 1L);
        return 0;
    }
    if (req->cfg->body_mode != HTTP_BODY_NONE || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
        strcmp(m, "PATCH") == 0) {
        /* libcurl sends these bytes as they are and does not copy them:
         * req->body lives as long as the handle. */
        HTTP_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
        HTTP_SETOPT(e, CURLOPT_POSTFIELDS, req->body.data ? req->body.data : "");
    }
    if (strcmp(m, "POST") != 0)
        HTTP_SETOPT(e, CURLOPT_CUSTOMREQUEST, m);
    return 0;
}

static int http_req_setup(struct http_req *req)
{
    const struct http_settings *cfg = req->cfg;
    CURL *e = req->easy = curl_easy_init();

    if (!e)
        return -1;
    HTTP_SETOPT(e, CURLOPT_PRIVATE, req);
    HTTP_SETOPT(e, CURLOPT_URL, req->url);
    HTTP_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    HTTP_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(e, CURLOPT_FOLLOWLOCATION, cfg->max_redirects > 0 ? 1L : 0L);
    HTTP_SETOPT(e, CURLOPT_MAXREDIRS, cfg->max_redirects);
    HTTP_SETOPT(e, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    HTTP_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, cfg->connect_timeout_ms);
    HTTP_SETOPT(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_response);
    HTTP_SETOPT(e, CURLOPT_WRITEFUNCTION, http_on_body);
    HTTP_SETOPT(e, CURLOPT_WRITEDATA, req);
    HTTP_SETOPT(e, CURLOPT_HEADERFUNCTION, http_on_header);
    HTTP_SETOPT(e, CURLOPT_HEADERDATA, req);
    HTTP_SETOPT(e, CURLOPT_XFERINFOFUNCTION, http_on_progress);
    HTTP_SETOPT(e, CURLOPT_XFERINFODATA, req);
    HTTP_SETOPT(e, CURLOPT_NOPROGRESS, 0L);
    HTTP_SETOPT(e, CURLOPT_OPENSOCKETFUNCTION, http_on_opensocket);
    HTTP_SETOPT(e, CURLOPT_OPENSOCKETDATA, req);
    HTTP_SETOPT(e, CURLOPT_PREREQFUNCTION, http_on_prereq);
    HTTP_SETOPT(e, CURLOPT_PREREQDATA, req);
    HTTP_SETOPT(e, CURLOPT_ERRORBUFFER, req->errbuf);
    HTTP_SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* An empty proxy also ignores http_proxy and friends from sluiced's
     * environment: where a flow connects is said in its config only. */
    HTTP_SETOPT(e, CURLOPT_PROXY, cfg->proxy ? cfg->proxy : "");
    HTTP_SETOPT(e, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    HTTP_SETOPT(e, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    if (cfg->ca_file)
        HTTP_SETOPT(e, CURLOPT_CAINFO, cfg->ca_file);
    if (!cfg->has_user_agent)
        HTTP_SETOPT(e, CURLOPT_USERAGENT, "sluice-http/" HTTP_PLUGIN_VERSION);
    return http_req_method(req);
}

/* base headers + this attempt's signature. */
static int http_req_attempt_headers(struct http_req *req)
{
    struct http_signed sig = {.n = 0};
    struct curl_slist *list = NULL, *grown;

    curl_slist_free_all(req->headers);
    req->headers = NULL;
    for (struct curl_slist *h = req->base_headers; h; h = h->next) {
        if (!(grown = curl_slist_append(list, h->data)))
            goto fail;
        list = grown;
    }
    if (req->cfg->sign) {
        if (http_sign_make(req->cfg->sign, req->exec_id, (long long)time(NULL), req->body.data,
                           req->body.len, &sig) != 0)
            goto fail;
        for (size_t i = 0; i < sig.n; i++) {
            if (!(grown = curl_slist_append(list, sig.lines[i])))
                goto fail;
            list = grown;
        }
        http_signed_clear(&sig);
    }
    req->headers = list;
    return curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, list) == CURLE_OK ? 0 : -1;

fail:
    http_signed_clear(&sig);
    curl_slist_free_all(list);
    return -1;
}

int http_req_start(struct http_req *req, CURLM *multi, char *err, size_t errlen)
{
    CURLMcode mc;

    if (!req->easy && http_req_setup(req) != 0) {
        kit_errf(err, errlen, "cannot set up the transfer (libcurl refused an option)");
        return -1;
    }
    if (http_req_attempt_headers(req) != 0) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    req->resp_len = 0;
    req->too_large = req->refused = req->aborted = 0;
    req->refused_msg[0] = req->errbuf[0] = '\0';
    json_object_clear(req->resp_headers);
    free(req->content_type);
    req->content_type = NULL;
    if ((mc = curl_multi_add_handle(multi, req->easy)) != CURLM_OK) {
        kit_errf(err, errlen, "cannot start the transfer: %s", curl_multi_strerror(mc));
        return -1;
    }
    req->attempts++;
    req->attempt_ms = kit_now_ms();
    if (req->attempts == 1)
        req->started_ms = req->attempt_ms;
    req->state = HTTP_REQ_RUNNING;
    return 0;
}
