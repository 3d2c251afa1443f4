/*
 * sign.c - signatures on outgoing requests (see sign.h).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kit/base64.h"
#include "util.h"

/* The parts of a generic scheme's template (what is signed). */
enum http_part_kind { HTTP_PART_TEXT, HTTP_PART_BODY, HTTP_PART_TIMESTAMP, HTTP_PART_ID };

struct http_part {
    enum http_part_kind kind;
    char *text;
    size_t len;
};

struct http_sign {
    enum http_sign_preset preset;
    unsigned char *key;
    size_t keylen;
    enum http_sign_md md;
    char *header;
    char *prefix;
    int base64;
    struct http_part *parts;
    size_t nparts;
    char *timestamp_header;
    char *id_header;
};

unsigned http_hmac(enum http_sign_md md, const unsigned char *key, size_t keylen, const void *data,
                   size_t len, unsigned char *mac)
{
    const EVP_MD *evp = md == HTTP_MD_SHA1     ? EVP_sha1()
                        : md == HTTP_MD_SHA512 ? EVP_sha512()
                                               : EVP_sha256();
    unsigned maclen = 0;
    static const unsigned char empty[1];

    /* HMAC() treats a NULL key as "reuse the context's": never pass one. */
    if (!HMAC(evp, keylen ? key : empty, (int)keylen, len ? data : empty, len, mac, &maclen))
        return 0;
    return maclen;
}

int http_sign_whsec_key(const char *secret, unsigned char **key, size_t *keylen)
{
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    if (*secret == '\0')
        return -1;
    return kit_base64_decode(secret, strlen(secret), key, keylen);
}

enum http_sign_preset http_sign_preset_of(const struct http_sign *s)
{
    return s->preset;
}

void http_sign_free(struct http_sign *s)
{
    if (!s)
        return;
    if (s->key)
        OPENSSL_cleanse(s->key, s->keylen);
    free(s->key);
    free(s->header);
    free(s->prefix);
    for (size_t i = 0; i < s->nparts; i++)
        free(s->parts[i].text);
    free(s->parts);
    free(s->timestamp_header);
    free(s->id_header);
    free(s);
}

static int http_sign_add_part(struct http_sign *s, enum http_part_kind kind, const char *text,
                              size_t len)
{
    struct http_part *parts;

    if (kind == HTTP_PART_TEXT && len == 0)
        return 0;
    if (kind == HTTP_PART_TEXT && s->nparts > 0 && s->parts[s->nparts - 1].kind == kind) {
        struct http_part *last = &s->parts[s->nparts - 1];
        char *grown = realloc(last->text, last->len + len + 1);

        if (!grown)
            return -1;
        memcpy(grown + last->len, text, len);
        last->len += len;
        grown[last->len] = '\0';
        last->text = grown;
        return 0;
    }
    parts = realloc(s->parts, (s->nparts + 1) * sizeof(*parts));
    if (!parts)
        return -1;
    s->parts = parts;
    parts[s->nparts] = (struct http_part){.kind = kind};
    if (kind == HTTP_PART_TEXT) {
        if (!(parts[s->nparts].text = strndup(text, len)))
            return -1;
        parts[s->nparts].len = len;
    }
    s->nparts++;
    return 0;
}

/* "{timestamp}.{body}" into parts; {{ and }} are literal braces. */
static int http_sign_template(struct http_sign *s, const char *text, char *err, size_t errlen)
{
    static const struct {
        const char *token;
        enum http_part_kind kind;
    } tokens[] = {
        {"{body}", HTTP_PART_BODY}, {"{timestamp}", HTTP_PART_TIMESTAMP}, {"{id}", HTTP_PART_ID}};
    const char *lit = text, *p = text;
    int has_body = 0;

    while (*p) {
        size_t i;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (http_sign_add_part(s, HTTP_PART_TEXT, lit, (size_t)(p - lit) + 1) != 0)
                goto nomem;
            p += 2;
            lit = p;
            continue;
        }
        if (*p != '{' && *p != '}') {
            p++;
            continue;
        }
        for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
            if (strncmp(p, tokens[i].token, strlen(tokens[i].token)) == 0)
                break;
        if (i == sizeof(tokens) / sizeof(tokens[0])) {
            kit_errf(err, errlen,
                     "sign.template: unknown token at offset %zu in \"%s\" (known: {body}, "
                     "{timestamp}, {id}; write {{ or }} for a literal brace)",
                     (size_t)(p - text), text);
            return -1;
        }
        if (http_sign_add_part(s, HTTP_PART_TEXT, lit, (size_t)(p - lit)) != 0 ||
            http_sign_add_part(s, tokens[i].kind, NULL, 0) != 0)
            goto nomem;
        has_body |= tokens[i].kind == HTTP_PART_BODY;
        p += strlen(tokens[i].token);
        lit = p;
    }
    if (http_sign_add_part(s, HTTP_PART_TEXT, lit, (size_t)(p - lit)) != 0)
        goto nomem;
    if (!has_body) {
        kit_errf(err, errlen,
                 "sign.template must contain {body}: a signature that does not "
                 "cover the body proves nothing about it");
        return -1;
    }
    return 0;

nomem:
    kit_errf(err, errlen, "out of memory");
    return -1;
}

static int http_sign_check_keys(const json_t *group, enum http_sign_preset preset, char *err,
                                size_t errlen)
{
    static const char *const common[] = {"preset", "secret"};
    static const char *const generic[] = {"header",   "prefix",           "encoding", "algorithm",
                                          "template", "timestamp_header", "id_header"};
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)group, key, value)
    {
        int known = 0;

        for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
            known |= strcmp(key, common[i]) == 0;
        for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
            if (strcmp(key, generic[i]) == 0) {
                if (preset != HTTP_SIGN_GENERIC) {
                    kit_errf(err, errlen,
                             "sign.%s is a setting of preset = \"generic\" only: the other "
                             "presets fix their headers and algorithm",
                             key);
                    return -1;
                }
                known = 1;
            }
        }
        if (!known) {
            kit_errf(err, errlen, "unknown setting \"sign.%s\"", key);
            return -1;
        }
    }
    return 0;
}

static int http_sign_header_name(char **out, const json_t *v, const char *what, char *err,
                                 size_t errlen)
{
    if (!json_is_string(v) || !http_token_ok(json_string_value(v))) {
        kit_errf(err, errlen, "sign.%s must be a header name (letters, digits, '-'...)", what);
        return -1;
    }
    if (!(*out = strdup(json_string_value(v)))) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int http_sign_generic(struct http_sign *s, const json_t *group, char *err, size_t errlen)
{
    const json_t *v;
    const char *text;

    if (http_sign_header_name(&s->header, json_object_get(group, "header"), "header", err,
                              errlen) != 0)
        return -1;
    v = json_object_get(group, "prefix");
    text = v ? json_string_value(v) : "";
    if (!text || strpbrk(text, "\r\n")) {
        kit_errf(err, errlen, "sign.prefix must be a string on one line");
        return -1;
    }
    if (!(s->prefix = strdup(text)))
        goto nomem;
    v = json_object_get(group, "encoding");
    text = v ? json_string_value(v) : "hex";
    if (!text || (strcmp(text, "hex") != 0 && strcmp(text, "base64") != 0)) {
        kit_errf(err, errlen, "sign.encoding must be \"hex\" or \"base64\"");
        return -1;
    }
    s->base64 = strcmp(text, "base64") == 0;
    v = json_object_get(group, "algorithm");
    text = v ? json_string_value(v) : "sha256";
    if (text && strcmp(text, "sha256") == 0)
        s->md = HTTP_MD_SHA256;
    else if (text && strcmp(text, "sha512") == 0)
        s->md = HTTP_MD_SHA512;
    else if (text && strcmp(text, "sha1") == 0)
        s->md = HTTP_MD_SHA1;
    else {
        kit_errf(err, errlen, "sign.algorithm must be \"sha256\", \"sha512\" or \"sha1\"");
        return -1;
    }
    v = json_object_get(group, "template");
    if (v && !json_is_string(v)) {
        kit_errf(err, errlen, "sign.template must be a string such as \"{timestamp}.{body}\"");
        return -1;
    }
    if (http_sign_template(s, v ? json_string_value(v) : "{body}", err, errlen) != 0)
        return -1;
    if ((v = json_object_get(group, "timestamp_header")) &&
        http_sign_header_name(&s->timestamp_header, v, "timestamp_header", err, errlen) != 0)
        return -1;
    if ((v = json_object_get(group, "id_header")) &&
        http_sign_header_name(&s->id_header, v, "id_header", err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < s->nparts; i++) {
        if ((s->parts[i].kind == HTTP_PART_TIMESTAMP && !s->timestamp_header) ||
            (s->parts[i].kind == HTTP_PART_ID && !s->id_header)) {
            int ts = s->parts[i].kind == HTTP_PART_TIMESTAMP;

            kit_errf(err, errlen,
                     "sign.template signs {%s}, so set sign.%s_header: the receiver needs the "
                     "value to check the signature",
                     ts ? "timestamp" : "id", ts ? "timestamp" : "id");
            return -1;
        }
    }
    return 0;

nomem:
    kit_errf(err, errlen, "out of memory");
    return -1;
}

int http_sign_parse(struct http_sign **out, const json_t *group, char *err, size_t errlen)
{
    struct http_sign *s;
    const char *preset, *secret;

    *out = NULL;
    if (!json_is_object(group)) {
        kit_errf(err, errlen,
                 "sign must be a group: sign = { preset = \"...\"; secret = "
                 "\"@env:NAME\"; }");
        return -1;
    }
    preset = json_string_value(json_object_get(group, "preset"));
    if (!(s = calloc(1, sizeof(*s)))) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    if (preset && strcmp(preset, "standard-webhooks") == 0)
        s->preset = HTTP_SIGN_STANDARD;
    else if (preset && strcmp(preset, "github") == 0)
        s->preset = HTTP_SIGN_GITHUB;
    else if (preset && strcmp(preset, "generic") == 0)
        s->preset = HTTP_SIGN_GENERIC;
    else {
        kit_errf(err, errlen,
                 "sign.preset must be \"standard-webhooks\", \"github\" or \"generic\"");
        goto fail;
    }
    if (http_sign_check_keys(group, s->preset, err, errlen) != 0)
        goto fail;
    secret = json_string_value(json_object_get(group, "secret"));
    if (!secret || *secret == '\0') {
        kit_errf(err, errlen,
                 "sign.secret must be a non-empty string (use \"@env:NAME\" or "
                 "\"@file:PATH\" to keep it out of the file)");
        goto fail;
    }
    s->md = HTTP_MD_SHA256;
    if (s->preset == HTTP_SIGN_STANDARD) {
        if (http_sign_whsec_key(secret, &s->key, &s->keylen) != 0 || s->keylen == 0) {
            kit_errf(err, errlen,
                     "sign.secret: a Standard Webhooks secret is \"whsec_\" "
                     "followed by base64, and this one does not decode");
            goto fail;
        }
    } else {
        s->keylen = strlen(secret);
        if (!(s->key = (unsigned char *)strdup(secret))) {
            kit_errf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (s->preset == HTTP_SIGN_GENERIC && http_sign_generic(s, group, err, errlen) != 0)
        goto fail;
    *out = s;
    return 0;

fail:
    http_sign_free(s);
    return -1;
}

void http_signed_clear(struct http_signed *out)
{
    for (size_t i = 0; i < out->n; i++)
        free(out->lines[i]);
    out->n = 0;
}

/* The bytes a signature covers, in one buffer: HMAC() takes one. */
static char *http_sign_message(const struct http_sign *s, const char *id, const char *ts,
                               const char *body, size_t len, size_t *outlen)
{
    size_t total = 0, used = 0;
    char *msg;

    for (size_t i = 0; i < s->nparts; i++) {
        const struct http_part *p = &s->parts[i];

        total += p->kind == HTTP_PART_TEXT        ? p->len
                 : p->kind == HTTP_PART_BODY      ? len
                 : p->kind == HTTP_PART_TIMESTAMP ? strlen(ts)
                                                  : strlen(id);
    }
    if (!(msg = malloc(total + 1)))
        return NULL;
    for (size_t i = 0; i < s->nparts; i++) {
        const struct http_part *p = &s->parts[i];
        const char *src = p->kind == HTTP_PART_TEXT        ? p->text
                          : p->kind == HTTP_PART_BODY      ? body
                          : p->kind == HTTP_PART_TIMESTAMP ? ts
                                                           : id;
        size_t n = p->kind == HTTP_PART_TEXT   ? p->len
                   : p->kind == HTTP_PART_BODY ? len
                                               : strlen(src);

        if (n > 0)
            memcpy(msg + used, src, n);
        used += n;
    }
    msg[used] = '\0';
    *outlen = used;
    return msg;
}

static int http_sign_line(struct http_signed *out, const char *name, const char *prefix,
                          const char *value)
{
    if (asprintf(&out->lines[out->n], "%s: %s%s", name, prefix, value) < 0) {
        out->lines[out->n] = NULL;
        return -1;
    }
    out->n++;
    return 0;
}

int http_sign_make(const struct http_sign *s, const char *id, long long ts, const char *body,
                   size_t len, struct http_signed *out)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    char tsbuf[24], hex[2 * EVP_MAX_MD_SIZE + 1];
    char *msg = NULL, *b64 = NULL;
    size_t msglen = 0;
    unsigned maclen;
    int rc = -1;

    out->n = 0;
    snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
    if (s->preset == HTTP_SIGN_STANDARD) {
        /* id.timestamp.body */
        size_t idl = strlen(id), tsl = strlen(tsbuf);

        msglen = idl + 1 + tsl + 1 + len;
        if (!(msg = malloc(msglen + 1)))
            return -1;
        memcpy(msg, id, idl);
        msg[idl] = '.';
        memcpy(msg + idl + 1, tsbuf, tsl);
        msg[idl + 1 + tsl] = '.';
        if (len > 0)
            memcpy(msg + idl + tsl + 2, body, len);
    } else if (s->preset == HTTP_SIGN_GENERIC) {
        if (!(msg = http_sign_message(s, id, tsbuf, body, len, &msglen)))
            return -1;
    }
    maclen = http_hmac(s->md, s->key, s->keylen, msg ? msg : body, msg ? msglen : len, mac);
    if (maclen == 0)
        goto out;
    if (s->preset == HTTP_SIGN_STANDARD || (s->preset == HTTP_SIGN_GENERIC && s->base64)) {
        if (!(b64 = kit_base64_encode(mac, maclen)))
            goto out;
    } else {
        http_hex(mac, maclen, hex);
    }
    switch (s->preset) {
    case HTTP_SIGN_STANDARD:
        if (http_sign_line(out, "webhook-id", "", id) != 0 ||
            http_sign_line(out, "webhook-timestamp", "", tsbuf) != 0 ||
            http_sign_line(out, "webhook-signature", "v1,", b64) != 0)
            goto out;
        break;
    case HTTP_SIGN_GITHUB:
        if (http_sign_line(out, "X-Hub-Signature-256", "sha256=", hex) != 0)
            goto out;
        break;
    case HTTP_SIGN_GENERIC:
        if (http_sign_line(out, s->header, s->prefix, s->base64 ? b64 : hex) != 0 ||
            (s->timestamp_header && http_sign_line(out, s->timestamp_header, "", tsbuf) != 0) ||
            (s->id_header && http_sign_line(out, s->id_header, "", id) != 0))
            goto out;
        break;
    }
    rc = 0;
out:
    if (rc != 0)
        http_signed_clear(out);
    OPENSSL_cleanse(mac, sizeof(mac));
    free(msg);
    free(b64);
    return rc;
}
