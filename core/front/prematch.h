/*
 * prematch.h - what happens to a request before the router sees it, and
 * the capability triggers behind /t/TOKEN.
 *
 * Before the router, a request line or headers over the limits are refused,
 * and a /t/SEGMENT path is resolved through the capability tokens
 * (captoken.h): the token names a trigger, and this file decides whether
 * that trigger is a capability trigger of the configuration serving now
 * and what a token that is not (any more) answers:
 *
 * An unknown token answers 400 with "data": null, or 404 (as if no route
 * existed) when any capability trigger sets invalid_status = 404: then a
 * prober cannot tell a revoked token from one that never existed. A
 * replaced or removed token answers its own trigger's invalid_status.
 * Either way the path becomes "/t/[redacted]" before anything records it.
 */
#ifndef SLUICE_PREMATCH_H
#define SLUICE_PREMATCH_H

#include "config.h"
#include "gate.h"
#include "request.h"
#include "router.h"

#include <stddef.h>

/* Request line and header limits, below libmicrohttpd's own (64 KiB of
 * connection memory), so that the sender gets a JSON error from us rather
 * than an HTML page from the library. */
#define PREMATCH_MAX_URI 16384
#define PREMATCH_MAX_HEADERS 32768

/*
 * Refuse request lines and headers over the limits (414, 431) and resolve
 * capability URLs. Returns 0 to go on to router_match; 1 when m is already
 * filled (target, template_path = captoken_template, no parameters); -1
 * when v holds the answer.
 */
int prematch_route(const sluice_config *cfg, http_request *rq, route_match *m, gate_verdict *v);

/*
 * Make sure every capability trigger of cfg has a token (or was removed on
 * purpose). Called when a configuration starts serving; cheap when nothing
 * is missing. 0, or -1 when the tokens cannot be read or saved (logged; a
 * request to /t/... tries again, at most once a minute).
 */
int prematch_sync_tokens(const sluice_config *cfg);

/*
 * For the admin API (POST /api/v1/triggers/{id}/token): a new token for
 * trigger_id, the old one retired. 0 with the token written
 * (CAPTOKEN_LEN + 1 bytes); -1 with a message when trigger_id is not a
 * capability trigger of cfg (answer 404); -2 when the tokens cannot be
 * saved (answer 500; nothing changed).
 */
int prematch_token_regenerate(const sluice_config *cfg, const char *trigger_id, char *token,
                              size_t tokenlen, char *err, size_t errlen);

/*
 * For the admin API (DELETE /api/v1/triggers/{id}/token): remove
 * trigger_id's token. 0 (also when it had none), -1 when trigger_id is not
 * a capability trigger of cfg, -2 when the tokens cannot be saved.
 */
int prematch_token_remove(const sluice_config *cfg, const char *trigger_id, char *err,
                          size_t errlen);

/* The current token of trigger_id (for an authenticated admin listing).
 * 0 with the token written, 1 when it was removed, -1 when it has none. */
int prematch_token_get(const sluice_config *cfg, const char *trigger_id, char *token,
                       size_t tokenlen);

/* Forget that a sync failed (tests). */
void prematch_reset(void);

#endif
