/*
 * http.h - the HTTP front: libmicrohttpd glue, limits, the webhook path.
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

#endif
