/*
 * base64.h - standard base64 (RFC 4648, section 4) on Nettle's codec, for
 * the event's raw_body_b64, signing keys and known_hosts lines.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_BASE64_H
#define KIT_BASE64_H

#include <stddef.h>

/* Encode len bytes with padding. Returns a malloc'd NUL-terminated string,
 * or NULL when memory ran out. */
char *kit_base64_encode(const unsigned char *data, size_t len);

/*
 * Decode in (padding optional, no whitespace: every byte must be of the
 * alphabet). Returns 0 with a malloc'd buffer in *out (NUL-terminated for
 * convenience, *outlen bytes before the NUL), -1 when in is not base64, -2
 * when memory ran out.
 */
int kit_base64_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen);

#endif /* KIT_BASE64_H */
