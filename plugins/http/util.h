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

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void http_hex(const unsigned char *data, size_t len, char *out);

/* Nonzero when the len bytes are valid UTF-8 (no overlongs, surrogates). */
int http_utf8_valid(const char *s, size_t len);

/* Nonzero for an HTTP token (RFC 9110 tchar+), the syntax of a header name. */
int http_token_ok(const char *s);

#endif /* HTTP_UTIL_H */
