/*
 * util.h - small helpers shared by the http executor's files.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef HTTP_UTIL_H
#define HTTP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

#include "kit/kit.h"

/*
 * strndup for a site with no error path (a libcurl callback): out of
 * memory, it writes one line to stderr and aborts. Never returns NULL.
 */
char *http_xstrndup(const char *s, size_t n);

/*
 * A size: a non-negative integer optionally followed by K, M or G (powers
 * of 1024, case-insensitive, an optional trailing B or iB). At most 1 GiB.
 * Returns 0 and *bytes, or -1.
 */
int http_parse_size(const char *text, size_t *bytes);

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void http_hex(const unsigned char *data, size_t len, char *out);

/* Nonzero when the len bytes are valid UTF-8 (no overlongs, surrogates). */
int http_utf8_valid(const char *s, size_t len);

/* Nonzero for an HTTP token (RFC 9110 tchar+), the syntax of a header name. */
int http_token_ok(const char *s);

#endif /* HTTP_UTIL_H */
