/*
 * codec.h - base64 (RFC 4648 sections 4 and 5) and hex, on Nettle's codecs.
 * Every decoder refuses what Nettle would skip (whitespace) and reports a
 * buffer too small as bad input: callers size out for the longest valid
 * value (a MAC, a key), so more bytes than that is not one.
 */
#ifndef SLUICE_CODEC_H
#define SLUICE_CODEC_H

#include <stddef.h>

/* Standard or URL-safe alphabet (one per string), padding optional. 0 with
 * *outlen bytes in out, or -1 on bad input or more than outcap bytes. */
int codec_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap,
                     size_t *outlen);
/* URL-safe base64 without padding; out needs 4*ceil(n/3)+1 bytes. */
void codec_b64url_encode(const unsigned char *in, size_t n, char *out);
/* Hex digits (either case) to bytes. -1 on odd length, a non-hex digit or
 * more than outcap bytes. */
int codec_hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap,
                     size_t *outlen);
/* Lower-case hex; out needs 2*n+1 bytes. */
void codec_hex_encode(const unsigned char *in, size_t n, char *out);

#endif
