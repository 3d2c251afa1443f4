/*
 * sign.h - signatures on outgoing requests.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The executor signs the exact bytes it sends, with the headers the
 * standard schemes define, so the receiver (another sluiced, or anything
 * that verifies those schemes) can check them:
 *
 *   standard-webhooks  webhook-id: <execution id>
 *                      webhook-timestamp: <unix seconds>
 *                      webhook-signature: v1,<base64 HMAC-SHA256 of
 *                                         "id.timestamp.body">
 *                      with the key base64-decoded from "whsec_..."
 *   github             X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>
 *   generic            <header>: <prefix><hex or base64 HMAC of template>,
 *                      the template made of {body}, {timestamp} and {id}
 *                      (default "{body}"), the algorithm sha1, sha256 or
 *                      sha512, and optional headers carrying the timestamp
 *                      and the id
 *
 * The id is the execution id, stable across the retries of one execution
 * so a receiver can drop duplicates; the timestamp is taken again for
 * every attempt, so a retry after a long Retry-After is not refused as a
 * replay.
 */
#ifndef HTTP_SIGN_H
#define HTTP_SIGN_H

#include <stddef.h>

#include <jansson.h>

enum http_sign_preset { HTTP_SIGN_STANDARD = 1, HTTP_SIGN_GITHUB, HTTP_SIGN_GENERIC };
enum http_sign_md { HTTP_MD_SHA1 = 1, HTTP_MD_SHA256, HTTP_MD_SHA512 };

struct http_sign;

/* At most this many headers per signature. */
#define HTTP_SIGN_MAX_HEADERS 3

/* The headers of one signature, each a malloc'd "Name: value" line. */
struct http_signed {
    char *lines[HTTP_SIGN_MAX_HEADERS];
    size_t n;
};

/*
 * Parse the flow's sign group (a JSON object). Messages name the setting
 * ("sign.secret must be ..."). Returns 0 and sets *out, or -1 with err.
 */
int http_sign_parse(struct http_sign **out, const json_t *group, char *err, size_t errlen);

void http_sign_free(struct http_sign *s);

/* The preset a parsed signer uses. */
enum http_sign_preset http_sign_preset_of(const struct http_sign *s);

/*
 * Sign body (len bytes) for execution id at unix time ts. Returns 0 with
 * the header lines in *out (free with http_signed_clear), or -1 when out
 * of memory.
 */
int http_sign_make(const struct http_sign *s, const char *id, long long ts, const char *body,
                   size_t len, struct http_signed *out);

void http_signed_clear(struct http_signed *out);

/*
 * HMAC of data with key under md into mac (64 bytes are enough for every
 * md). Returns the MAC length, or 0 on failure.
 */
unsigned http_hmac(enum http_sign_md md, const unsigned char *key, size_t keylen, const void *data,
                   size_t len, unsigned char *mac);

/*
 * Decode a Standard Webhooks secret: "whsec_" (optional) followed by
 * base64. Returns 0 with a malloc'd key, or -1.
 */
int http_sign_whsec_key(const char *secret, unsigned char **key, size_t *keylen);

#endif /* HTTP_SIGN_H */
