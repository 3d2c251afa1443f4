/*
 * auth.c - keys, Basic, HMAC signature schemes, addresses (see auth.h).
 *
 * The signature schemes differ only in where the signature, the timestamp
 * and the id are found and in how the signed content is laid out, so every
 * preset is the generic scheme with its fields filled in plus, for Stripe
 * and Standard Webhooks, a parser for a header that carries several
 * signatures. The signed content is fed to the MAC piece by piece, so a
 * 1 MiB body is never copied to be signed.
 */
#include "auth.h"

#include "codec.h"
#include "event.h"
#include "units.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CANDIDATES 8
#define MAX_PARTS 24
#define MAX_XFF_HOPS 64

/* ---- keys ---- */

void auth_sha256(const void *data, size_t len, unsigned char out[AUTH_DIGEST_LEN])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, AUTH_DIGEST_LEN, out);
}

int auth_keyset_add(auth_keyset *ks, const char *key, size_t len)
{
    if (len == 0)
        return -1;
    ks->digests = xrealloc(ks->digests, (ks->n + 1) * AUTH_DIGEST_LEN);
    auth_sha256(key, len, ks->digests[ks->n]);
    ks->n++;
    return 0;
}

void auth_keyset_free(auth_keyset *ks)
{
    free(ks->digests);
    ks->digests = NULL;
    ks->n = 0;
}

/*
 * Hashing first makes the comparison independent of the key's length and
 * content; looking at every key, match or not, keeps the position of the
 * matching key (which one of a rotation pair is in use) out of the timing.
 */
int auth_keyset_match(const auth_keyset *ks, const char *given, size_t len)
{
    if (!given || len == 0)
        return 0;
    unsigned char d[AUTH_DIGEST_LEN];
    auth_sha256(given, len, d);
    int found = 0;
    for (size_t i = 0; i < ks->n; i++)
        found |= memeql_sec(d, ks->digests[i], AUTH_DIGEST_LEN);
    explicit_bzero(d, sizeof(d));
    return found;
}

static const char *skip_scheme(const char *header, const char *scheme)
{
    size_t n = strlen(scheme);
    if (!header || strncasecmp(header, scheme, n) != 0 || header[n] != ' ')
        return NULL;
    header += n;
    while (*header == ' ')
        header++;
    return header;
}

const char *auth_bearer_token(const char *header)
{
    const char *t = skip_scheme(header, "Bearer");
    return t && *t ? t : NULL;
}

int auth_basic_decode(const char *header, char *out, size_t outlen)
{
    const char *b64 = skip_scheme(header, "Basic");
    if (!b64)
        return 0;
    size_t n = strlen(b64);
    while (n > 0 && b64[n - 1] == ' ')
        n--;
    size_t got;
    if (outlen == 0 || codec_b64_decode(b64, n, (unsigned char *)out, outlen - 1, &got) < 0)
        return -1;
    out[got] = 0;
    if (strlen(out) != got || !strchr(out, ':')) {
        explicit_bzero(out, outlen);
        return -1;
    }
    return 1;
}

/* ---- HMAC ---- */

int auth_alg_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcasecmp(name, "sha1") == 0)
        return AUTH_ALG_SHA1;
    if (strcasecmp(name, "sha256") == 0)
        return AUTH_ALG_SHA256;
    if (strcasecmp(name, "sha512") == 0)
        return AUTH_ALG_SHA512;
    return -1;
}

int auth_hmac_compute(int alg, const unsigned char *key, size_t keylen,
                      const unsigned char *const *parts, const size_t *lens, size_t n,
                      unsigned char *mac)
{
    if (keylen == 0)
        return -1;
        /* One context type per digest; the macros below keep the three alike. */
#define HMAC_RUN(ctx, set_key, update, digest, size) \
    do {                                             \
        set_key(&ctx, keylen, key);                  \
        for (size_t i = 0; i < n; i++)               \
            if (lens[i])                             \
                update(&ctx, lens[i], parts[i]);     \
        digest(&ctx, size, mac);                     \
        explicit_bzero(&ctx, sizeof(ctx));           \
        return size;                                 \
    } while (0)
    switch (alg) {
    case AUTH_ALG_SHA1: {
        struct hmac_sha1_ctx c;
        HMAC_RUN(c, hmac_sha1_set_key, hmac_sha1_update, hmac_sha1_digest, SHA1_DIGEST_SIZE);
    }
    case AUTH_ALG_SHA512: {
        struct hmac_sha512_ctx c;
        HMAC_RUN(c, hmac_sha512_set_key, hmac_sha512_update, hmac_sha512_digest,
                 SHA512_DIGEST_SIZE);
    }
    case AUTH_ALG_SHA256: {
        struct hmac_sha256_ctx c;
        HMAC_RUN(c, hmac_sha256_set_key, hmac_sha256_update, hmac_sha256_digest,
                 SHA256_DIGEST_SIZE);
    }
    }
#undef HMAC_RUN
    return -1;
}

int auth_hmac_init(auth_hmac *h, const char *preset, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    h->alg = AUTH_ALG_SHA256;
    h->enc = AUTH_ENC_HEX;
    if (!preset || strcmp(preset, "generic") == 0) {
        h->preset = AUTH_PRESET_GENERIC;
        h->prefix = xstrdup("");
        h->tmpl = xstrdup("{body}");
    } else if (strcmp(preset, "github") == 0) {
        h->preset = AUTH_PRESET_GITHUB;
        h->header = xstrdup("x-hub-signature-256");
        h->prefix = xstrdup("sha256=");
        h->tmpl = xstrdup("{body}");
    } else if (strcmp(preset, "standard-webhooks") == 0) {
        h->preset = AUTH_PRESET_STANDARD;
        h->enc = AUTH_ENC_BASE64;
        h->header = xstrdup("webhook-signature");
        h->prefix = xstrdup("v1,");
        h->tmpl = xstrdup("{id}.{timestamp}.{body}");
        h->ts_header = xstrdup("webhook-timestamp");
        h->id_header = xstrdup("webhook-id");
        h->tolerance_s = 300;
    } else if (strcmp(preset, "stripe") == 0) {
        h->preset = AUTH_PRESET_STRIPE;
        h->header = xstrdup("stripe-signature");
        h->prefix = xstrdup("v1=");
        h->tmpl = xstrdup("{timestamp}.{body}");
        h->tolerance_s = 300;
    } else if (strcmp(preset, "slack") == 0) {
        h->preset = AUTH_PRESET_SLACK;
        h->header = xstrdup("x-slack-signature");
        h->prefix = xstrdup("v0=");
        h->tmpl = xstrdup("v0:{timestamp}:{body}");
        h->ts_header = xstrdup("x-slack-request-timestamp");
        h->tolerance_s = 300;
    } else {
        snprintf(err, errlen,
                 "unknown preset \"%s\" (use github, standard-webhooks, stripe, slack or generic)",
                 preset);
        return -1;
    }
    return 0;
}

int auth_hmac_add_secret(auth_hmac *h, const char *secret, char *err, size_t errlen)
{
    size_t len = strlen(secret);
    unsigned char *key;
    size_t klen;
    if (len == 0) {
        snprintf(err, errlen, "a secret must not be empty");
        return -1;
    }
    if (h->preset == AUTH_PRESET_STANDARD) {
        /* The spec's secrets are "whsec_" + base64 of the key bytes. */
        const char *b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
        key = xmalloc(strlen(b64) + 1);
        if (codec_b64_decode(b64, strlen(b64), key, strlen(b64), &klen) < 0 || klen == 0) {
            free(key);
            snprintf(err, errlen, "a standard-webhooks secret must be \"whsec_\" + base64");
            return -1;
        }
    } else {
        key = xmalloc(len);
        memcpy(key, secret, len);
        klen = len;
    }
    auth_secret *s = realloc(h->secrets, (h->n_secrets + 1) * sizeof(*s));
    if (!s) {
        explicit_bzero(key, klen);
        free(key);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->secrets = s;
    h->secrets[h->n_secrets].key = key;
    h->secrets[h->n_secrets].len = klen;
    h->n_secrets++;
    return 0;
}

/* Count the placeholders of a template; -1 on an unknown one. */
static int template_scan(const char *t, int *has_ts, int *has_id, int *has_body)
{
    int n = 0;
    *has_ts = *has_id = *has_body = 0;
    for (const char *p = t; *p; p++) {
        if (*p != '{')
            continue;
        if (strncmp(p, "{body}", 6) == 0)
            *has_body = 1;
        else if (strncmp(p, "{timestamp}", 11) == 0)
            *has_ts = 1;
        else if (strncmp(p, "{id}", 4) == 0)
            *has_id = 1;
        else
            return -1;
        n++;
    }
    return n;
}

int auth_hmac_validate(const auth_hmac *h, char *err, size_t errlen)
{
    int has_ts, has_id, has_body;
    if (!h->header || !*h->header) {
        snprintf(err, errlen, "the generic scheme needs a header (where the signature is)");
        return -1;
    }
    if (!h->tmpl || strlen(h->tmpl) > 256) {
        snprintf(err, errlen, "template must be at most 256 characters");
        return -1;
    }
    int n = template_scan(h->tmpl, &has_ts, &has_id, &has_body);
    if (n < 0 || n > 8) {
        snprintf(err, errlen, "template \"%s\": use at most 8 of {body}, {timestamp} and {id}",
                 h->tmpl);
        return -1;
    }
    if (!has_body) {
        snprintf(err, errlen, "template \"%s\" must sign the {body}", h->tmpl);
        return -1;
    }
    if (has_ts && !h->ts_header && h->preset != AUTH_PRESET_STRIPE) {
        snprintf(err, errlen, "template uses {timestamp}: set timestamp_header");
        return -1;
    }
    if (has_id && !h->id_header) {
        snprintf(err, errlen, "template uses {id}: set id_header");
        return -1;
    }
    if (h->n_secrets == 0) {
        snprintf(err, errlen, "at least one secret is needed");
        return -1;
    }
    return 0;
}

void auth_hmac_free(auth_hmac *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_secrets; i++) {
        explicit_bzero(h->secrets[i].key, h->secrets[i].len);
        free(h->secrets[i].key);
    }
    free(h->secrets);
    free(h->header);
    free(h->prefix);
    free(h->tmpl);
    free(h->ts_header);
    free(h->id_header);
    memset(h, 0, sizeof(*h));
}

int auth_hmac_reads_header(const auth_hmac *h, const char *name)
{
    const char *own[] = {h->header, h->ts_header, h->id_header};
    for (size_t i = 0; i < 3; i++)
        if (own[i] && strcmp(own[i], name) == 0)
            return 1;
    /* The fallbacks of auth_hmac_verify. */
    if (h->preset == AUTH_PRESET_GITHUB)
        return strcmp(name, "x-hub-signature") == 0;
    if (h->preset == AUTH_PRESET_STANDARD)
        return strcmp(name, "svix-signature") == 0 || strcmp(name, "svix-timestamp") == 0 ||
               strcmp(name, "svix-id") == 0;
    return 0;
}

typedef struct candidates {
    unsigned char sig[MAX_CANDIDATES][AUTH_MAC_MAX];
    size_t len[MAX_CANDIDATES];
    size_t n;
} candidates;

static void add_candidate(candidates *c, int enc, const char *s, size_t len)
{
    if (c->n == MAX_CANDIDATES)
        return;
    int rc = enc == AUTH_ENC_BASE64
                 ? codec_b64_decode(s, len, c->sig[c->n], AUTH_MAC_MAX, &c->len[c->n])
                 : codec_hex_decode(s, len, c->sig[c->n], AUTH_MAC_MAX, &c->len[c->n]);
    if (rc == 0 && c->len[c->n] > 0)
        c->n++;
}

/* Stripe: "t=1492774577,v1=5257a869...,v1=...,v0=..." */
static void parse_stripe(const char *v, candidates *c, char *ts, size_t tslen)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        if (n > 2 && p[0] == 't' && p[1] == '=' && n - 2 < tslen) {
            memcpy(ts, p + 2, n - 2);
            ts[n - 2] = 0;
        } else if (n > 3 && strncmp(p, "v1=", 3) == 0) {
            add_candidate(c, AUTH_ENC_HEX, p + 3, n - 3);
        }
        p += n;
    }
}

/* Standard Webhooks: "v1,<base64> v1,<base64>" (other versions are ignored). */
static void parse_standard(const char *v, candidates *c)
{
    const char *p = v;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n > 3 && strncmp(p, "v1,", 3) == 0)
            add_candidate(c, AUTH_ENC_BASE64, p + 3, n - 3);
        p += n;
    }
}

static int parse_unix_time(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 15)
        return -1;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

int auth_hmac_verify(const auth_hmac *h, const http_request *rq, int64_t now_s, char *msg,
                     size_t msglen)
{
    const char *sig_name = h->header, *ts_name = h->ts_header, *id_name = h->id_header;
    const char *prefix = h->prefix ? h->prefix : "";
    int alg = h->alg;
    const char *sig = event_header(rq, sig_name);
    if (!sig && h->preset == AUTH_PRESET_GITHUB) {
        /* GitHub still sends the SHA-1 signature; older senders only that. */
        sig_name = "x-hub-signature";
        sig = event_header(rq, sig_name);
        prefix = "sha1=";
        alg = AUTH_ALG_SHA1;
    }
    if (!sig && h->preset == AUTH_PRESET_STANDARD) {
        /* Svix, the reference implementation, names the same headers svix-*. */
        sig_name = "svix-signature";
        sig = event_header(rq, sig_name);
        ts_name = "svix-timestamp";
        id_name = "svix-id";
    }
    if (!sig) {
        snprintf(msg, msglen, "missing the %s header (a signed request is required)", h->header);
        return AUTH_MISSING;
    }

    candidates *c = xcalloc(1, sizeof(*c));
    char ts_buf[32] = "";
    const char *ts = NULL, *id = NULL;
    int rc = AUTH_WRONG;
    if (h->preset == AUTH_PRESET_STRIPE) {
        parse_stripe(sig, c, ts_buf, sizeof(ts_buf));
        ts = ts_buf[0] ? ts_buf : NULL;
    } else if (h->preset == AUTH_PRESET_STANDARD) {
        parse_standard(sig, c);
    } else {
        size_t pl = strlen(prefix);
        if (strncmp(sig, prefix, pl) != 0) {
            snprintf(msg, msglen, "the %s header must start with \"%s\"", sig_name, prefix);
            goto out;
        }
        add_candidate(c, h->enc, sig + pl, strlen(sig + pl));
    }
    if (c->n == 0) {
        snprintf(msg, msglen, "the %s header holds no signature in the expected form", sig_name);
        goto out;
    }

    int has_ts, has_id, has_body;
    template_scan(h->tmpl, &has_ts, &has_id, &has_body);
    int64_t t = 0;
    if (has_ts) {
        if (!ts)
            ts = ts_name ? event_header(rq, ts_name) : NULL;
        if (parse_unix_time(ts, &t) < 0) {
            snprintf(msg, msglen, "missing or malformed signature timestamp");
            goto out;
        }
        int64_t age = now_s - t;
        if (h->tolerance_s && (age > h->tolerance_s || age < -h->tolerance_s)) {
            snprintf(msg, msglen,
                     "the signature timestamp is more than %lld seconds from the server's time",
                     (long long)h->tolerance_s);
            goto out;
        }
    }
    if (has_id) {
        id = id_name ? event_header(rq, id_name) : NULL;
        if (!id || !*id) {
            snprintf(msg, msglen, "missing the %s header", id_name ? id_name : "id");
            goto out;
        }
    }

    /* The signed content, as pieces: literal text and the three values. */
    const unsigned char *parts[MAX_PARTS];
    size_t lens[MAX_PARTS], np = 0;
    const char *p = h->tmpl, *lit = p;
    while (*p && np + 2 < MAX_PARTS) {
        const char *val = NULL;
        size_t vlen = 0, skip = 0;
        if (strncmp(p, "{body}", 6) == 0) {
            val = rq->body ? (const char *)rq->body : "";
            vlen = rq->body_len;
            skip = 6;
        } else if (strncmp(p, "{timestamp}", 11) == 0) {
            val = ts;
            vlen = strlen(ts);
            skip = 11;
        } else if (strncmp(p, "{id}", 4) == 0) {
            val = id;
            vlen = strlen(id);
            skip = 4;
        }
        if (!skip) {
            p++;
            continue;
        }
        if (p > lit) {
            parts[np] = (const unsigned char *)lit;
            lens[np++] = (size_t)(p - lit);
        }
        parts[np] = (const unsigned char *)val;
        lens[np++] = vlen;
        p += skip;
        lit = p;
    }
    if (*lit && np < MAX_PARTS) {
        parts[np] = (const unsigned char *)lit;
        lens[np++] = strlen(lit);
    }

    int match = 0;
    for (size_t s = 0; s < h->n_secrets && !match; s++) {
        unsigned char mac[AUTH_MAC_MAX];
        int ml = auth_hmac_compute(alg, h->secrets[s].key, h->secrets[s].len, parts, lens, np, mac);
        for (size_t k = 0; ml > 0 && k < c->n; k++)
            if (c->len[k] == (size_t)ml && memeql_sec(mac, c->sig[k], (size_t)ml))
                match = 1;
        explicit_bzero(mac, sizeof(mac));
    }
    if (match) {
        rc = AUTH_OK;
        msg[0] = 0;
    } else {
        snprintf(msg, msglen, "the signature in %s does not match the body", sig_name);
    }
out:
    free(c);
    return rc;
}

/* ---- addresses ---- */

int auth_addr_parse(const char *s, unsigned char out[16])
{
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        return 0;
    }
    return -1;
}

int auth_cidr_parse(const char *s, auth_cidr *out)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    int v4 = !strchr(buf, ':');
    if (auth_addr_parse(buf, out->addr) < 0)
        return -1;
    int max = v4 ? 32 : 128;
    int bits = max;
    if (slash) {
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3)
            return -1;
        bits = 0;
        for (; *p; p++) {
            if (!isdigit((unsigned char)*p))
                return -1;
            bits = bits * 10 + (*p - '0');
        }
        if (bits > max)
            return -1;
    }
    out->bits = v4 ? bits + 96 : bits;
    return 0;
}

int auth_cidr_contains(const auth_cidr *c, const unsigned char addr[16])
{
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

int auth_cidr_strv_contains(char *const *list, const unsigned char addr[16])
{
    for (size_t i = 0; list && list[i]; i++) {
        auth_cidr c;
        if (auth_cidr_parse(list[i], &c) == 0 && auth_cidr_contains(&c, addr))
            return 1;
    }
    return 0;
}

/* One X-Forwarded-For entry, without brackets or port, into out. */
static int xff_entry(const char *s, size_t len, char *out, size_t outlen, unsigned char a[16])
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb)
            return -1;
        s++;
        len = (size_t)(rb - s);
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
            len = (size_t)(colon - s); /* "1.2.3.4:5678" */
    }
    if (len == 0 || len >= outlen)
        return -1;
    memcpy(out, s, len);
    out[len] = 0;
    return auth_addr_parse(out, a);
}

void auth_client_addr(const http_request *rq, char *const *trusted_proxies, char *out,
                      size_t outlen)
{
    snprintf(out, outlen, "%s", rq->remote_addr);
    unsigned char a[16];
    if (!trusted_proxies || !trusted_proxies[0] || auth_addr_parse(rq->remote_addr, a) < 0 ||
        !auth_cidr_strv_contains(trusted_proxies, a))
        return;
    /* Several X-Forwarded-For headers form one list, in order; walk it
     * from the right end, where our own proxies appended. */
    int hops = 0;
    for (size_t i = rq->n_headers; i-- > 0 && hops < MAX_XFF_HOPS;) {
        if (strcmp(rq->headers[i].name, "x-forwarded-for") != 0)
            continue;
        const char *v = rq->headers[i].value;
        size_t end = strlen(v);
        while (hops < MAX_XFF_HOPS) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',')
                start--;
            char entry[64];
            if (xff_entry(v + start, end - start, entry, sizeof(entry), a) < 0)
                return; /* garbage: the last trusted hop is all we know */
            snprintf(out, outlen, "%s", entry);
            hops++;
            if (!auth_cidr_strv_contains(trusted_proxies, a))
                return;
            if (start == 0)
                break;
            end = start - 1;
        }
    }
}

void auth_addr_budget_key(const char *addr, char *out, size_t outlen)
{
    unsigned char a[16];
    static const unsigned char v4[12] = {[10] = 0xff, [11] = 0xff};
    char net[INET6_ADDRSTRLEN];
    if (auth_addr_parse(addr, a) < 0 || memcmp(a, v4, 12) == 0) {
        snprintf(out, outlen, "%s", addr);
        return;
    }
    memset(a + 8, 0, 8);
    if (!inet_ntop(AF_INET6, a, net, sizeof(net)))
        snprintf(net, sizeof(net), "%s", addr);
    snprintf(out, outlen, "%s/64", net);
}
