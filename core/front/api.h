/*
 * api.h - the admin API: executions, flows, triggers, health.
 */
#ifndef SLUICE_API_H
#define SLUICE_API_H

#include "generation.h"
#include "request.h"

struct MHD_Connection;

/* A request parked until its answer is ready: a reload (the main thread
 * does it) or a replay (the store has it). */
typedef struct api_park api_park;

/*
 * Handle rq when its path belongs to the admin API. Returns 1 when a
 * response was queued or the connection was parked (*result holds MHD's
 * result), 0 when the path is not an admin path (it may still be a trigger
 * route). peer_is_loopback says the TCP peer is on this host; whether the
 * request is (it may be forwarded) is decided here. When *park is set the
 * connection is suspended: once it is resumed, call api_resume.
 */
int api_handle(struct MHD_Connection *c, const http_request *rq, generation *gen,
               int peer_is_loopback, int *result, api_park **park);
/* Answer a parked request on its resumed connection. */
int api_resume(struct MHD_Connection *c, const http_request *rq, api_park *park);
/* Free a park when its request is done, answered or not (NULL is fine):
 * shutdown waits for answered ones (api_reload_shutdown). */
void api_park_free(api_park *p);

/*
 * Reloads (main thread): api_reload_begin takes the requests parked so far;
 * api_reload_end answers them, with the new configuration (200, and the
 * start-only settings that changed, NULL-terminated) or, when cfg is NULL,
 * err ("file:line: setting: message", 422). api_reload_shutdown answers
 * what is parked with 503, parks nothing more, and waits (a few seconds at
 * most) until every answered request has been sent; it runs before the
 * HTTP daemons stop, which they cannot do with a connection suspended.
 */
api_park *api_reload_begin(void);
void api_reload_end(api_park *list, const sluice_config *cfg, const char *err,
                    const char *const *restart_needed);
void api_reload_shutdown(void);

#endif
