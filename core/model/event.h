/*
 * event.h - one HTTP request turned into the JSON event flows receive.
 *
 * The event is built once per request and copied per flow of a fan-out
 * (only execution_id and flow differ). Authentication material is redacted
 * here, before anything is stored or handed to a plugin.
 */
#ifndef SLUICE_EVENT_H
#define SLUICE_EVENT_H

#include "config.h"
#include "request.h"
#include "router.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_MAX_QUERY_PARAMS 256

/* Free what the request owns (path, query, headers, parameters, body);
 * the struct itself is the caller's. */
void event_request_free(http_request *rq);

/* Split rq->query into rq->params. -1 with a message on bad encoding or
 * too many parameters (HTTP 400). */
int event_parse_query(http_request *rq, char *err, size_t errlen);

/*
 * Make every header name appear once: a header sent several times becomes
 * one, its values joined with ", " in the order received (RFC 9110 5.3),
 * in the place of its first occurrence, and is marked in
 * rq->header_repeated. Run once, when the headers are collected, so that
 * checks, filters, the event, exec_header and a recovered execution all
 * read the same value.
 */
void event_fold_headers(http_request *rq);
/* True when the header (name lower-case) was sent more than once. */
int event_header_repeated(const http_request *rq, const char *name);

/* The value of a request header (name lower-case), or NULL. */
const char *event_header(const http_request *rq, const char *name);

/*
 * True when a header must never reach a plugin, a log or the store: a
 * well-known credential header, or one of extra (NULL-terminated, may be
 * NULL), the headers a configuration's triggers read keys or signatures
 * from (sluice_config.secret_headers). Being the configuration's, the list
 * follows a reload both ways.
 */
int event_header_is_secret(char *const *extra, const char *lower_name);

/* JSON bodies nested deeper than this are refused (400). Far beyond what
 * senders write; it bounds the checker's recursion, and stays well within
 * jansson's own limit (2048), which plugins read the event with. */
#define EVENT_MAX_JSON_DEPTH 512

/*
 * Build the shared part of the event. Returns 0, or an HTTP status (400)
 * with a message in err for a body that does not parse or variables that
 * do not fit the trigger.
 *
 * A JSON body is judged by jsonscan.h (RFC 8259, with the trigger's
 * json_duplicate_keys), never by jansson. It becomes a tree in the event's
 * "body" only when tree is set (something reads inside it: filters, body
 * keys, variables, a body path for idempotency); a number jansson cannot
 * hold is the string of its text there (jsonscan.h). Otherwise "body"
 * stays null until event_take_body writes the received text in its place.
 * Headers named in secret (event_header_is_secret) are redacted.
 */
int event_build(json_t **out, const http_request *rq, const trigger_def *t, char *const *secret,
                const route_match *m, int tree, char *err, size_t errlen);

/* True when the request's body is JSON by its content type (an empty one
 * too: that is refused, it is not JSON). */
int event_body_is_json(const http_request *rq);

/*
 * THE EVENT'S BODY
 *
 * The request body appears in the event twice over in spirit: parsed
 * ("body": JSON, a form as an object, text) or as "raw_body_b64", and the
 * store also keeps the raw bytes (exec_body must give a plugin, after a
 * crash or a replay too, exactly what arrived). Keeping both on disk would
 * write every body twice, so the event is made in two parts: the event
 * without "body" and "raw_body_b64" (what the store keeps beside the raw
 * bytes), and those two members as text, which event_body_members rebuilds
 * from the bytes whenever the full event is needed again. The full event is
 * the first part with the members appended (event_join), so "body" and
 * "raw_body_b64" are always its last two members.
 *
 * A JSON body that nothing rewrote is written into "body" as the text that
 * was received, with CR and LF (whitespace between tokens in valid JSON)
 * turned into spaces so that an event is always one line: serializing the
 * parsed body again costs as much as parsing it, and gives back text the
 * sender did not send. Rebuilding from the bytes gives the same text.
 */

/* Parse a body as event_build does (duplicate JSON keys refused): *body
 * (JSON, form object, text or null) and *raw (base64 text or null), new
 * references. -1 with a message for a body the event cannot hold (a 400 at
 * the door). */
int event_body_json(const unsigned char *bytes, size_t len, const char *content_type, json_t **body,
                    json_t **raw, char *err, size_t errlen);

/* Remove "body" and "raw_body_b64" from base (once per request, after
 * everything that reads them) and return them as member text,
 * `"body":...,"raw_body_b64":...` (malloc'd, *len bytes). With json_text
 * (the received JSON body, which nothing rewrote), "body" is that text. */
char *event_take_body(json_t *base, const char *json_text, size_t json_len, size_t *len);

/* The same member text rebuilt from the raw bytes and the Content-Type
 * they came with. NULL with a message in err if they no longer parse. */
char *event_body_members(const unsigned char *bytes, size_t len, const char *content_type,
                         size_t *mlen, char *err, size_t errlen);

/* A compact JSON object's text with members appended (malloc'd). */
char *event_join(const char *stored, size_t stored_len, const char *members, size_t mlen,
                 size_t *len);

/* The event for one flow as JSON text (malloc'd); *len gets its length. */
char *event_for_flow(json_t *base, const char *exec_id, const flow_def *f, size_t *len);

/*
 * The inputs shown in the execution document: params, query, body,
 * variables and function of an event (JSON text). Derived when a document
 * is made rather than stored beside the event, which already holds them.
 */
json_t *event_inputs(const char *event, size_t len);

#endif
