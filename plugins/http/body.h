/*
 * body.h - what the executor sends: the event, the original body, or a
 * JSON document built from a template.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 *   body = "event"   the whole event JSON, as sluiced built it
 *                    (application/json); the default for POST, PUT, PATCH
 *   body = "body"    the request's own body, byte for byte, with the
 *                    Content-Type it came with: the bytes the host lends
 *                    (exec_body, ABI 1.1). Where it lends none (a 1.0
 *                    host; a body that carried a key, which the host
 *                    withholds) it is rebuilt from the event: text and
 *                    binary exactly, JSON compact, a form re-encoded
 *   body = "none"    no body; the default for GET, HEAD, DELETE, OPTIONS
 *   body = { ... }   a JSON template (group or list): every string in it
 *                    is a placeholder template (kit/template.h). A string that is
 *                    exactly one placeholder takes the value's own JSON
 *                    type ("{body.count}" stays a number, "{body.user}" an
 *                    object; missing is null); any other string is text.
 */
#ifndef HTTP_BODY_H
#define HTTP_BODY_H

#include <stddef.h>

#include <jansson.h>

enum http_body_mode { HTTP_BODY_NONE, HTTP_BODY_EVENT, HTTP_BODY_RAW, HTTP_BODY_TEMPLATE };

struct http_jtpl;

/* Compile a JSON template (an object or array). Returns 0 or -1 with err,
 * which names the member ("body.user.name: unclosed '{' ..."). */
int http_jtpl_compile(struct http_jtpl **out, const json_t *value, char *err, size_t errlen);

void http_jtpl_free(struct http_jtpl *t);

/* Build the document for event. Returns a new reference, or NULL when out
 * of memory. */
json_t *http_jtpl_render(const struct http_jtpl *t, const json_t *event);

/* The request's own body as the host lends it (exec_body); data NULL when
 * it lends none. */
struct http_raw {
    const char *data;
    size_t len;
    const char *content_type; /* as the sender sent it, or NULL */
};

/* The body to send. */
struct http_payload {
    char *data; /* malloc'd, NUL-terminated; NULL with len 0 for no body */
    size_t len;
    char *content_type; /* malloc'd, or NULL for none */
};

/*
 * Build the body for mode (jt only for HTTP_BODY_TEMPLATE) from the event
 * (its text and its parsed form) or, for HTTP_BODY_RAW, from raw when it
 * has bytes (raw may be NULL; event is only read when it has none).
 * Returns 0, or -1 with the reason in err.
 */
int http_body_build(struct http_payload *out, enum http_body_mode mode, const struct http_jtpl *jt,
                    const struct http_raw *raw, const char *event_text, size_t event_len,
                    const json_t *event, char *err, size_t errlen);

void http_payload_clear(struct http_payload *p);

#endif /* HTTP_BODY_H */
