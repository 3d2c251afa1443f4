/*
 * body.c - the request body of one forward (see body.h).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kit/template.h"
#include "kit/base64.h"
#include "util.h"

enum http_jkind { HTTP_J_LITERAL, HTTP_J_STRING, HTTP_J_OBJECT, HTTP_J_ARRAY };

/* One node of a compiled JSON template; kids in the source's order. */
struct http_jtpl {
    enum http_jkind kind;
    json_t *literal;    /* HTTP_J_LITERAL: numbers, booleans, null */
    kit_template *text; /* HTTP_J_STRING */
    char **keys;        /* HTTP_J_OBJECT */
    struct http_jtpl **kids;
    size_t n;
};

void http_jtpl_free(struct http_jtpl *t)
{
    if (!t)
        return;
    json_decref(t->literal);
    kit_template_free(t->text);
    for (size_t i = 0; i < t->n; i++) {
        if (t->keys)
            free(t->keys[i]);
        http_jtpl_free(t->kids[i]);
    }
    free(t->keys);
    free(t->kids);
    free(t);
}

static int http_jtpl_node(struct http_jtpl **out, const json_t *value, const char *path, char *err,
                          size_t errlen)
{
    struct http_jtpl *t = calloc(1, sizeof(*t));
    char msg[1024];

    *out = t;
    if (!t)
        goto nomem;
    if (json_is_string(value)) {
        t->kind = HTTP_J_STRING;
        if (kit_template_compile(&t->text, json_string_value(value), msg, sizeof(msg)) != 0) {
            kit_errf(err, errlen, "%s: %s", path, msg);
            return -1;
        }
        return 0;
    }
    if (!json_is_object(value) && !json_is_array(value)) {
        t->kind = HTTP_J_LITERAL;
        t->literal = json_incref((json_t *)value);
        return 0;
    }
    t->kind = json_is_object(value) ? HTTP_J_OBJECT : HTTP_J_ARRAY;
    size_t n = json_is_object(value) ? json_object_size(value) : json_array_size(value);
    t->kids = calloc(n + 1, sizeof(*t->kids));
    if (!t->kids)
        goto nomem;
    if (t->kind == HTTP_J_OBJECT && !(t->keys = calloc(n + 1, sizeof(char *))))
        goto nomem;
    if (t->kind == HTTP_J_OBJECT) {
        const char *key;
        json_t *kid;

        json_object_foreach((json_t *)value, key, kid)
        {
            char sub[512];

            snprintf(sub, sizeof(sub), "%s.%s", path, key);
            if (!(t->keys[t->n] = strdup(key)))
                goto nomem;
            t->n++;
            if (http_jtpl_node(&t->kids[t->n - 1], kid, sub, err, errlen) != 0)
                return -1;
        }
    } else {
        size_t i;
        json_t *kid;

        json_array_foreach((json_t *)value, i, kid)
        {
            char sub[512];

            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            t->n++;
            if (http_jtpl_node(&t->kids[i], kid, sub, err, errlen) != 0)
                return -1;
        }
    }
    return 0;

nomem:
    kit_errf(err, errlen, "out of memory");
    return -1;
}

int http_jtpl_compile(struct http_jtpl **out, const json_t *value, char *err, size_t errlen)
{
    if (http_jtpl_node(out, value, "body", err, errlen) != 0) {
        http_jtpl_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static json_t *http_jtpl_string(const struct http_jtpl *t, const json_t *event)
{
    const json_t *value;
    json_t *s;
    char *text;
    size_t len;

    if (kit_template_is_single(t->text)) {
        value = kit_template_single_value(t->text, event);
        return value ? json_deep_copy(value) : json_null();
    }
    if (kit_template_render_enc(t->text, event, KIT_ENC_RAW, &text, &len) != 0)
        return NULL;
    s = json_stringn(text, len);
    free(text);
    return s;
}

json_t *http_jtpl_render(const struct http_jtpl *t, const json_t *event)
{
    json_t *out;

    switch (t->kind) {
    case HTTP_J_LITERAL:
        return json_deep_copy(t->literal);
    case HTTP_J_STRING:
        return http_jtpl_string(t, event);
    case HTTP_J_OBJECT:
    case HTTP_J_ARRAY:
        break;
    }
    out = t->kind == HTTP_J_OBJECT ? json_object() : json_array();
    for (size_t i = 0; out && i < t->n; i++) {
        json_t *kid = http_jtpl_render(t->kids[i], event);
        int rc = !kid                       ? -1
                 : t->kind == HTTP_J_OBJECT ? json_object_set_new(out, t->keys[i], kid)
                                            : json_array_append_new(out, kid);

        if (rc != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

void http_payload_clear(struct http_payload *p)
{
    free(p->data);
    free(p->content_type);
    memset(p, 0, sizeof(*p));
}

/* application/x-www-form-urlencoded: space as '+', the rest of
 * everything outside ALPHA DIGIT "*-._" as %XX. */
static int http_form_append(char **buf, size_t *len, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *grown = realloc(*buf, *len + 3 * n + 1);

    if (!grown)
        return -1;
    *buf = grown;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("*-._", c)) {
            grown[(*len)++] = (char)c;
        } else if (c == ' ') {
            grown[(*len)++] = '+';
        } else {
            grown[(*len)++] = '%';
            grown[(*len)++] = hex[c >> 4];
            grown[(*len)++] = hex[c & 15];
        }
    }
    grown[*len] = '\0';
    return 0;
}

static int http_put_char(char **buf, size_t *len, char c)
{
    char *grown = realloc(*buf, *len + 2);

    if (!grown)
        return -1;
    *buf = grown;
    grown[(*len)++] = c;
    grown[*len] = '\0';
    return 0;
}

static int http_form_pair(char **buf, size_t *len, const char *key, const json_t *value)
{
    if ((*len > 0 && http_put_char(buf, len, '&') != 0) ||
        http_form_append(buf, len, key, strlen(key)) != 0 || http_put_char(buf, len, '=') != 0)
        return -1;
    return http_form_append(buf, len, json_string_value(value), json_string_length(value));
}

/* The parsed form back into its wire form: each member in order, an array
 * as repeated fields. */
static int http_form_encode(const json_t *form, char **out, size_t *outlen)
{
    char *buf = calloc(1, 1);
    size_t len = 0;
    const char *key;
    json_t *value;

    if (!buf)
        return -1;
    json_object_foreach((json_t *)form, key, value)
    {
        size_t i;
        json_t *item;

        if (json_is_string(value)) {
            if (http_form_pair(&buf, &len, key, value) != 0)
                goto fail;
            continue;
        }
        json_array_foreach(value, i, item)
        {
            if (json_is_string(item) && http_form_pair(&buf, &len, key, item) != 0)
                goto fail;
        }
    }
    *out = buf;
    *outlen = len;
    return 0;

fail:
    free(buf);
    return -1;
}

static int http_is_form(const char *ctype)
{
    return ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0;
}

/* The original body as well as the event lets us have it, where the host
 * lends no bytes (body.h). */
static int http_body_raw(struct http_payload *out, const json_t *event, char *err, size_t errlen)
{
    const json_t *raw = json_object_get(event, "raw_body_b64");
    const json_t *body = json_object_get(event, "body");
    const char *ctype = json_string_value(json_object_get(event, "content_type"));

    if (json_is_string(raw)) {
        unsigned char *bytes;
        int rc =
            kit_base64_decode(json_string_value(raw), json_string_length(raw), &bytes, &out->len);

        if (rc != 0) {
            kit_errf(err, errlen,
                     rc == -2 ? "out of memory decoding the event's raw_body_b64"
                              : "the event's raw_body_b64 is not valid base64");
            return -1;
        }
        out->data = (char *)bytes;
        if (!ctype)
            ctype = "application/octet-stream";
    } else if (json_is_string(body)) {
        out->len = json_string_length(body);
        if ((out->data = malloc(out->len + 1))) {
            memcpy(out->data, json_string_value(body), out->len);
            out->data[out->len] = '\0';
        }
        if (!ctype)
            ctype = "text/plain; charset=utf-8";
    } else if (json_is_object(body) && http_is_form(ctype)) {
        if (http_form_encode(body, &out->data, &out->len) != 0)
            out->data = NULL;
    } else if (body && !json_is_null(body)) {
        out->data = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        out->len = out->data ? strlen(out->data) : 0;
        if (!ctype)
            ctype = "application/json";
    } else {
        return 0; /* no body at all */
    }
    if (!out->data || (ctype && !(out->content_type = strdup(ctype)))) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The bytes exactly as the sender sent them, and its type, or none. */
static int http_body_lent(struct http_payload *out, const struct http_raw *raw, char *err,
                          size_t errlen)
{
    if (!(out->data = malloc(raw->len + 1)) ||
        (raw->content_type && !(out->content_type = strdup(raw->content_type)))) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(out->data, raw->data, raw->len);
    out->data[raw->len] = '\0';
    out->len = raw->len;
    return 0;
}

int http_body_build(struct http_payload *out, enum http_body_mode mode, const struct http_jtpl *jt,
                    const struct http_raw *raw, const char *event_text, size_t event_len,
                    const json_t *event, char *err, size_t errlen)
{
    json_t *doc;

    memset(out, 0, sizeof(*out));
    switch (mode) {
    case HTTP_BODY_NONE:
        return 0;
    case HTTP_BODY_RAW:
        if (raw && raw->data ? http_body_lent(out, raw, err, errlen) != 0
                             : http_body_raw(out, event, err, errlen) != 0) {
            http_payload_clear(out);
            return -1;
        }
        return 0;
    case HTTP_BODY_EVENT:
        out->data = malloc(event_len + 1);
        if (out->data) {
            memcpy(out->data, event_text, event_len);
            out->data[event_len] = '\0';
            out->len = event_len;
        }
        break;
    case HTTP_BODY_TEMPLATE:
        doc = http_jtpl_render(jt, event);
        out->data = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        out->len = out->data ? strlen(out->data) : 0;
        json_decref(doc);
        break;
    }
    if (!out->data || !(out->content_type = strdup("application/json"))) {
        http_payload_clear(out);
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
