/*
 * payload.h - the bytes a command receives on stdin for stdin = "body".
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef SHELL_PAYLOAD_H
#define SHELL_PAYLOAD_H

#include <stddef.h>

#include <jansson.h>

/*
 * The raw request body reconstructed from the event: the decoded
 * raw_body_b64 when the event carries one (the exact bytes, e.g. for binary
 * bodies), else body itself when it is a string (text and form bodies),
 * else body as compact JSON, else nothing. Returns 0 with a malloc'd
 * buffer in *out (NUL-terminated, *len bytes), or -1 with err set.
 */
int shell_payload_body(const json_t *event, char **out, size_t *len, char *err, size_t errlen);

/*
 * Decode standard base64 (RFC 4648, section 4; padding optional, no
 * whitespace). Returns 0 with a malloc'd buffer, or -1 for invalid input.
 */
int shell_base64_decode(const char *in, size_t inlen, char **out, size_t *outlen);

#endif /* SHELL_PAYLOAD_H */
