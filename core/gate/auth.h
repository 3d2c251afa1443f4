/*
 * auth.h - credentials: keys, HTTP Basic, HMAC signatures, addresses.
 *
 * Everything here is pure: no configuration parsing, no global state, no
 * logging, so each check can be unit-tested against published vectors.
 * gate.c builds these objects from a trigger's settings and decides what a
 * result means for the request (401, 403, 404).
 *
 * Secrets are compared in constant time. Keys and Basic credentials are
 * kept only as SHA-256 digests and a presented value is hashed before it is
 * compared, so neither the content nor the length of a key leaks through
 * timing. Signatures are compared with nettle's memeql_sec over equal lengths
 * (the length of an HMAC is public).
 */
#ifndef SLUICE_AUTH_H
#define SLUICE_AUTH_H

#include "request.h"

#include <stddef.h>
#include <stdint.h>

/* The outcome of one credential check. */
#define AUTH_OK 0
#define AUTH_MISSING 1 /* nothing presented: 401 */
#define AUTH_WRONG 2   /* presented and wrong, malformed or stale: 403 */

#define AUTH_DIGEST_LEN 32

/* ---- keys (also Basic "user:password" pairs) ---- */

typedef struct auth_keyset {
    unsigned char (*digests)[AUTH_DIGEST_LEN];
    size_t n;
} auth_keyset;

/* SHA-256 of len bytes. */
void auth_sha256(const void *data, size_t len, unsigned char out[AUTH_DIGEST_LEN]);

/* Remember one accepted key (several for rotation). 0, or -1 for an empty key. */
int auth_keyset_add(auth_keyset *ks, const char *key, size_t len);
void auth_keyset_free(auth_keyset *ks);
/* 1 when given equals one of the keys. Every key is compared, match or not. */
int auth_keyset_match(const auth_keyset *ks, const char *given, size_t len);

/*
 * The credentials of an "Authorization: Basic ..." header as "user:password"
 * in out. 1 when the header is Basic and decodes, 0 when it is another
 * scheme (or absent), -1 when it is Basic but malformed.
 */
int auth_basic_decode(const char *header, char *out, size_t outlen);
/* The token of "Authorization: Bearer TOKEN", or NULL. */
const char *auth_bearer_token(const char *header);

/* ---- HMAC signatures ---- */

#define AUTH_ALG_SHA1 0
#define AUTH_ALG_SHA256 1
#define AUTH_ALG_SHA512 2

#define AUTH_ENC_HEX 0
#define AUTH_ENC_BASE64 1

#define AUTH_PRESET_GENERIC 0
#define AUTH_PRESET_GITHUB 1
#define AUTH_PRESET_STANDARD 2 /* Standard Webhooks (and Svix's svix-* headers) */
#define AUTH_PRESET_STRIPE 3
#define AUTH_PRESET_SLACK 4

#define AUTH_MAC_MAX 64 /* SHA-512 */

typedef struct auth_secret {
    unsigned char *key;
    size_t len;
} auth_secret;

/*
 * One signature scheme with its secrets. The presets fill every field; the
 * generic scheme reads a signature from `header`, strips `prefix`, decodes
 * it (`enc`) and compares it with the HMAC (`alg`) of the content described
 * by `tmpl`, where {body} is the raw body, {timestamp} the value of
 * `ts_header` and {id} the value of `id_header`.
 */
typedef struct auth_hmac {
    int preset;
    int alg;
    int enc;
    char *header; /* lower-case */
    char *prefix;
    char *tmpl;
    char *ts_header;     /* lower-case, may be NULL */
    char *id_header;     /* lower-case, may be NULL */
    int64_t tolerance_s; /* 0: the timestamp is signed but its age is not checked */
    auth_secret *secrets;
    size_t n_secrets;
} auth_hmac;

/* Zero h and apply a preset ("github", "standard-webhooks", "stripe",
 * "slack", or "generic"/NULL). -1 with a message for an unknown name. */
int auth_hmac_init(auth_hmac *h, const char *preset, char *err, size_t errlen);
/* Add a secret. Standard Webhooks secrets are "whsec_" + base64 and are
 * decoded; every other scheme uses the secret's bytes as they are. */
int auth_hmac_add_secret(auth_hmac *h, const char *secret, char *err, size_t errlen);
/* Check a generic scheme is complete and consistent. */
int auth_hmac_validate(const auth_hmac *h, char *err, size_t errlen);
void auth_hmac_free(auth_hmac *h);
/* True when verifying with h reads the header (name lower-case): the
 * signature, timestamp and id headers, and the presets' other names. */
int auth_hmac_reads_header(const auth_hmac *h, const char *name);
/* "sha1", "sha256", "sha512" to AUTH_ALG_*, or -1. */
int auth_alg_parse(const char *name);

/* mac = HMAC(alg, key, the concatenation of n parts). Returns the MAC length, or -1. */
int auth_hmac_compute(int alg, const unsigned char *key, size_t keylen,
                      const unsigned char *const *parts, const size_t *lens, size_t n,
                      unsigned char *mac);

/*
 * Verify rq (headers, and the raw body rq->body/rq->body_len) against h at
 * time now_s. Returns AUTH_OK, AUTH_MISSING (no signature header) or
 * AUTH_WRONG; msg says why in words safe to send back (never a secret, never
 * the expected signature).
 */
int auth_hmac_verify(const auth_hmac *h, const http_request *rq, int64_t now_s, char *msg,
                     size_t msglen);

/* ---- addresses ---- */

/* Addresses are kept as 16 bytes; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
typedef struct auth_cidr {
    unsigned char addr[16];
    int bits;
} auth_cidr;

/* "10.0.0.0/8", "2001:db8::/32", "127.0.0.1" (a host). -1 when malformed. */
int auth_cidr_parse(const char *s, auth_cidr *out);
/* An address (no prefix). -1 when malformed. */
int auth_addr_parse(const char *s, unsigned char out[16]);
int auth_cidr_contains(const auth_cidr *c, const unsigned char addr[16]);
/* The list of textual CIDRs contains addr (unparsable entries never match). */
int auth_cidr_strv_contains(char *const *list, const unsigned char addr[16]);

/*
 * The address of the client. The peer, unless the peer is one of
 * trusted_proxies: then X-Forwarded-For is read from the right, skipping
 * trusted proxies, and the first address that is not one is the client.
 * A sender can prepend anything to X-Forwarded-For, so only the entries
 * our own proxies appended are believed.
 */
void auth_client_addr(const http_request *rq, char *const *trusted_proxies, char *out,
                      size_t outlen);

/*
 * addr as a client's key in a failure budget: an IPv6 address by its /64
 * ("2001:db8:1:2::/64"), for a host is routinely given one and may send
 * from any address in it; IPv4 and anything unparsed as written.
 */
void auth_addr_budget_key(const char *addr, char *out, size_t outlen);

#endif
