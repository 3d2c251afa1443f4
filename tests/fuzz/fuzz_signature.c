/*
 * fuzz_signature.c - every signature header format of auth.c: GitHub
 * (SHA-256 and the SHA-1 fallback), Stripe, Slack, Standard Webhooks (and
 * its svix-* headers) and the generic scheme with any template, algorithm,
 * encoding and prefix.
 *
 * Input: a scheme byte, a secret line, an id line, a template line (generic
 * only), a prefix line (generic only), a byte choosing a bit, then the body.
 * The signature is computed here the sender's way, with Nettle directly.
 * Checks: it always verifies (also beside a wrong secret, as in a
 * rotation); a body with one bit flipped, or a MAC with one bit flipped,
 * never does; nor a timestamp older than the tolerance.
 */
#include "fuzz.h"

#include "auth.h"
#include "codec.h"
#include "event.h"
#include "log.h"
#include "units.h"

#include <nettle/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t mac_of(int alg, const unsigned char *key, size_t klen, const unsigned char *msg,
                     size_t n, unsigned char *out)
{
    if (alg == AUTH_ALG_SHA1) {
        struct hmac_sha1_ctx c;
        hmac_sha1_set_key(&c, klen, key);
        hmac_sha1_update(&c, n, msg);
        hmac_sha1_digest(&c, SHA1_DIGEST_SIZE, out);
        return SHA1_DIGEST_SIZE;
    }
    if (alg == AUTH_ALG_SHA512) {
        struct hmac_sha512_ctx c;
        hmac_sha512_set_key(&c, klen, key);
        hmac_sha512_update(&c, n, msg);
        hmac_sha512_digest(&c, SHA512_DIGEST_SIZE, out);
        return SHA512_DIGEST_SIZE;
    }
    struct hmac_sha256_ctx c;
    hmac_sha256_set_key(&c, klen, key);
    hmac_sha256_update(&c, n, msg);
    hmac_sha256_digest(&c, SHA256_DIGEST_SIZE, out);
    return SHA256_DIGEST_SIZE;
}

typedef struct sent {
    char *names[4], *values[4];
    size_t n;
} sent;

static void add(sent *s, const char *name, const char *value)
{
    s->names[s->n] = strdup(name);
    s->values[s->n++] = strdup(value);
}

static void sent_free(sent *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->values[i]);
    }
    s->n = 0;
}

static int verify(const auth_hmac *h, const sent *s, const unsigned char *body, size_t blen,
                  int64_t now, char *msg, size_t msglen)
{
    kv hs[4];
    for (size_t i = 0; i < s->n; i++) {
        hs[i].name = s->names[i];
        hs[i].value = s->values[i];
    }
    http_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.headers = hs;
    rq.n_headers = s->n;
    rq.body = (unsigned char *)body;
    rq.body_len = blen;
    return auth_hmac_verify(h, &rq, now, msg, msglen);
}

/* The signed content of a generic template, the sender's way. */
static unsigned char *expand(const char *tmpl, const char *ts, const char *id,
                             const unsigned char *body, size_t blen, size_t *len)
{
    size_t cap = strlen(tmpl) + 8 * (blen + strlen(ts) + strlen(id)) + 1;
    unsigned char *o = malloc(cap);
    size_t k = 0;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{body}", 6) == 0) {
            memcpy(o + k, body, blen);
            k += blen;
            p += 6;
        } else if (strncmp(p, "{timestamp}", 11) == 0) {
            memcpy(o + k, ts, strlen(ts));
            k += strlen(ts);
            p += 11;
        } else if (strncmp(p, "{id}", 4) == 0) {
            memcpy(o + k, id, strlen(id));
            k += strlen(id);
            p += 4;
        } else {
            o[k++] = (unsigned char)*p++;
        }
    }
    *len = k;
    return o;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    unsigned scheme = fuzz_byte(&in) % 12;
    char *secret = fuzz_line(&in);
    char *id = fuzz_line(&in);
    char *tmpl = fuzz_line(&in);
    char *prefix = fuzz_line(&in);
    unsigned bit = fuzz_byte(&in) | fuzz_byte(&in) << 8;
    size_t blen;
    char *body = fuzz_rest(&in, &blen);
    const unsigned char *b = (const unsigned char *)body;
    /* A timestamp the sender stamps, and the server's clock beside it. */
    int64_t now = 1700000000 + (int64_t)(bit % 1000);
    char ts[24];
    snprintf(ts, sizeof(ts), "%lld", (long long)now);

    static const char *const presets[] = {
        "github", "github", "stripe", "slack", "standard-webhooks", "standard-webhooks"};
    const char *preset = scheme < 6 ? presets[scheme] : "generic";
    auth_hmac h;
    char err[256], msg[256];
    auth_hmac_init(&h, preset, err, sizeof(err));
    unsigned char key[512];
    size_t klen = strlen(secret);
    char *given = NULL;
    if (h.preset == AUTH_PRESET_STANDARD) {
        /* The key is bytes; the secret is "whsec_" + their base64. */
        klen = klen > 64 ? 64 : klen;
        memcpy(key, secret, klen);
        char *b64 = units_base64_encode(key, klen);
        given = malloc(strlen(b64) + 7);
        sprintf(given, "whsec_%s", b64);
        free(b64);
    } else {
        klen = klen > sizeof(key) ? sizeof(key) : klen;
        memcpy(key, secret, klen);
        given = strndup(secret, klen);
    }
    if (!klen || !id[0])
        goto out;
    if (h.preset == AUTH_PRESET_GENERIC) {
        h.alg = (int)(scheme % 3);
        h.enc = (int)(scheme / 3) % 2;
        h.header = strdup("x-sig");
        free(h.prefix);
        h.prefix = strdup(prefix);
        free(h.tmpl);
        h.tmpl = strdup(tmpl);
        h.ts_header = strdup("x-ts");
        h.id_header = strdup("x-id");
        h.tolerance_s = scheme % 2 ? 300 : 0;
    }
    /* A wrong secret first: rotation keeps several. */
    FUZZ_CHECK(auth_hmac_add_secret(&h,
                                    h.preset == AUTH_PRESET_STANDARD ? "whsec_d3Jvbmc=" : "wrong",
                                    err, sizeof(err)) == 0,
               "%s", err);
    FUZZ_CHECK(auth_hmac_add_secret(&h, given, err, sizeof(err)) == 0,
               "a secret of %zu bytes is refused: %s", klen, err);
    if (h.preset == AUTH_PRESET_GENERIC && auth_hmac_validate(&h, err, sizeof(err)) < 0)
        goto out;

    /* The content signed and where it goes, per the scheme's documentation. */
    size_t n;
    unsigned char *content;
    int alg = h.alg;
    if (h.preset == AUTH_PRESET_GITHUB || h.preset == AUTH_PRESET_GENERIC ||
        h.preset == AUTH_PRESET_STRIPE || h.preset == AUTH_PRESET_SLACK ||
        h.preset == AUTH_PRESET_STANDARD)
        content = expand(h.tmpl, ts, id, b, blen, &n);
    else
        abort();
    if (h.preset == AUTH_PRESET_GITHUB && scheme == 1)
        alg = AUTH_ALG_SHA1;
    unsigned char mac[AUTH_MAC_MAX];
    size_t ml = mac_of(alg, key, klen, content, n, mac);
    free(content);

    for (int variant = 0; variant < 2; variant++) {
        /* variant 1: the MAC with one bit flipped. */
        unsigned char m[AUTH_MAC_MAX];
        memcpy(m, mac, ml);
        if (variant)
            m[(bit / 8) % ml] ^= (unsigned char)(1u << (bit % 8));
        char enc[2 * AUTH_MAC_MAX + 4], val[1024];
        int b64 = h.preset == AUTH_PRESET_STANDARD || (h.preset == AUTH_PRESET_GENERIC && h.enc);
        if (b64) {
            char *e = units_base64_encode(m, ml);
            snprintf(enc, sizeof(enc), "%s", e);
            free(e);
        } else {
            codec_hex_encode(m, ml, enc);
        }
        sent s = {0};
        switch (h.preset) {
        case AUTH_PRESET_GITHUB:
            if (scheme == 1) {
                snprintf(val, sizeof(val), "sha1=%s", enc);
                add(&s, "x-hub-signature", val);
            } else {
                snprintf(val, sizeof(val), "sha256=%s", enc);
                add(&s, "x-hub-signature-256", val);
            }
            break;
        case AUTH_PRESET_STRIPE:
            snprintf(val, sizeof(val), "t=%s,v1=%s,v0=00", ts, enc);
            add(&s, "stripe-signature", val);
            break;
        case AUTH_PRESET_SLACK:
            snprintf(val, sizeof(val), "v0=%s", enc);
            add(&s, "x-slack-signature", val);
            add(&s, "x-slack-request-timestamp", ts);
            break;
        case AUTH_PRESET_STANDARD: {
            const char *pre = scheme == 5 ? "svix-" : "webhook-";
            char name[32];
            snprintf(val, sizeof(val), "v2,AAAA v1,%s", enc);
            snprintf(name, sizeof(name), "%ssignature", pre);
            add(&s, name, val);
            snprintf(name, sizeof(name), "%sid", pre);
            add(&s, name, id);
            snprintf(name, sizeof(name), "%stimestamp", pre);
            add(&s, name, ts);
            break;
        }
        default:
            snprintf(val, sizeof(val), "%s%s", prefix, enc);
            add(&s, "x-sig", val);
            add(&s, "x-ts", ts);
            add(&s, "x-id", id);
        }
        int rc = verify(&h, &s, b, blen, now, msg, sizeof(msg));
        if (!variant) {
            FUZZ_CHECK(rc == AUTH_OK, "%s (scheme %u): a correct signature %s does not verify: %s",
                       preset, scheme, val, msg);
            if (blen) {
                body[(bit / 8) % blen] ^= (char)(1u << (bit % 8));
                rc = verify(&h, &s, b, blen, now, msg, sizeof(msg));
                FUZZ_CHECK(rc == AUTH_WRONG, "%s: a body with bit %u flipped verifies (%d)", preset,
                           bit % (8 * (unsigned)blen), rc);
                body[(bit / 8) % blen] ^= (char)(1u << (bit % 8));
            }
            if (h.tolerance_s && strstr(h.tmpl, "{timestamp}")) {
                rc = verify(&h, &s, b, blen, now + h.tolerance_s + 1, msg, sizeof(msg));
                FUZZ_CHECK(rc == AUTH_WRONG, "%s: a stale signature verifies (%d)", preset, rc);
            }
        } else {
            FUZZ_CHECK(rc == AUTH_WRONG, "%s: a MAC with one bit flipped verifies (%d): %s", preset,
                       rc, val);
        }
        sent_free(&s);
    }
out:
    auth_hmac_free(&h);
    free(given);
    free(secret);
    free(id);
    free(tmpl);
    free(prefix);
    free(body);
    return 0;
}
