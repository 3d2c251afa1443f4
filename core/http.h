/*
 * http.h - the HTTP front: libmicrohttpd glue, limits, responses.
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

#include "config.h"
#include "event.h"
#include "generation.h"

#include <jansson.h>

struct MHD_Connection;

/* Start listening on every address of gen's server.listen. */
int http_start(generation *gen, char *err, size_t errlen);
/* Serve new requests with gen (a reference is taken). */
void http_set_generation(generation *gen);
/* The generation now serving, with a new reference. */
generation *http_get_generation(void);
/* Stop accepting connections (close the listening sockets). */
void http_quiesce(void);
/* Shutdown: refuse to store anything more, wait for the batches the store
 * holds, then answer every parked sync request now (202 with its ids). */
void http_release_waits(void);
/* Close everything. */
void http_stop(void);

/*
 * Queue a JSON response in the common envelope:
 *   {"request":{"id":...},"data":data,"error":{"code":...,"message":...}}
 * data is stolen (may be NULL for null). code/message NULL: no error.
 */
int http_reply(struct MHD_Connection *c, const char *request_id, unsigned status, json_t *data,
               const char *code, const char *message, const char *const *extra_headers);
/* An error envelope with "data": null. */
int http_error(struct MHD_Connection *c, const char *request_id, unsigned status,
               const char *code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * The idempotency key of a request for trigger t (its idempotency_key
 * setting, else Idempotency-Key, webhook-id, svix-id, X-GitHub-Delivery),
 * borrowed from rq or base (the event), or NULL. Reentrant.
 */
const char *http_idempotency_key(const http_request *rq, const trigger_def *t, json_t *base);

#endif
