/*
 * captoken.h - capability URLs: /t/{token} (Shipyard style).
 *
 * A trigger with `capability = true;` has no fixed path: it is reached only
 * through /t/TOKEN, where TOKEN is 128 random bits in URL-safe base64 (22
 * characters). Knowing the URL is the credential, so the token is
 * compared in constant time (as a SHA-256 digest), never logged, and the
 * path is rewritten to "/t/[redacted]" before anything records it.
 *
 * Tokens live in <server.state_dir>/tokens.json (mode 0600, written to a
 * temporary file and renamed over the old one, so a crash leaves either
 * the old or the new file), until the durable store holds them:
 *
 *   {"version": 1,
 *    "triggers": {"deploy": {"token": "q3JcM1...", "created_at": "2026-..."},
 *                 "old":    {"token": null, "removed_at": "2026-..."}},
 *    "retired":  [{"sha256": "<hex digest of a replaced token>", "trigger": "deploy"}]}
 *
 * A token is created the first time a configuration with that trigger is
 * served (captoken_sync) and then survives restarts and reloads. The admin
 * API replaces it (captoken_regenerate: the old URL stops working at once)
 * or removes it (captoken_remove: the trigger is unreachable until a new
 * token is made, also across restarts). Replaced and removed tokens are
 * remembered by digest only (the latest CAPTOKEN_MAX_RETIRED) so that
 * their trigger's `invalid_status` answers them.
 *
 * An unknown token answers 400 with "data": null, or 404 (as if no route
 * existed) when any capability trigger sets invalid_status = 404: then a
 * prober cannot tell a revoked token from one that never existed.
 *
 * All functions are thread-safe (one mutex; the state is a singleton owned
 * by this file).
 */
#ifndef SLUICE_CAPTOKEN_H
#define SLUICE_CAPTOKEN_H

#include "config.h"
#include "event.h"
#include "gate.h"
#include "router.h"

#include <stddef.h>

#define CAPTOKEN_LEN 22 /* 16 bytes in URL-safe base64, no padding */
#define CAPTOKEN_MAX_RETIRED 1024

/* The route template reported for capability matches (compared by address). */
extern const char captoken_template[];

/* Where tokens.json lives for cfg: server.state_dir or the default. */
const char *captoken_state_dir(const sluice_config *cfg);

/*
 * Make sure every capability trigger of cfg has a token (or was removed on
 * purpose), creating and saving what is missing. Called when a
 * configuration starts serving; cheap when nothing is missing. 0, or -1
 * when the state file cannot be read or written (logged; the triggers
 * without a token stay unreachable).
 */
int captoken_sync(const sluice_config *cfg);

/*
 * Route rq when its path is /t/SEGMENT and cfg has capability triggers.
 * Returns 0 when the path is not a capability URL (route it normally);
 * 1 when the token belongs to a capability trigger of cfg: m is filled
 * (target, template_path = captoken_template, no parameters); -1 when the
 * token is unknown or revoked: v holds the answer (400 or 404). In both
 * of the last cases rq->path becomes "/t/[redacted]".
 */
int captoken_route(const sluice_config *cfg, http_request *rq, route_match *m,
                   gate_verdict *v);

/*
 * For the admin API (POST /api/v1/triggers/{id}/token): give trigger_id a
 * new token, retire the old one, save. On success returns 0 and writes the
 * new token (CAPTOKEN_LEN + 1 bytes) to token; the capability URL is
 * "/t/" + token. Returns -1 with a message when trigger_id is not a
 * capability trigger of cfg (answer 404), -2 when the state cannot be
 * saved (answer 500; nothing changed).
 */
int captoken_regenerate(const sluice_config *cfg, const char *trigger_id, char *token,
                        size_t tokenlen, char *err, size_t errlen);

/*
 * For the admin API (DELETE /api/v1/triggers/{id}/token): remove
 * trigger_id's token; its URL stops working at once and no new one is
 * made until captoken_regenerate. Returns 0 (also when it had none), -1
 * when trigger_id is not a capability trigger of cfg, -2 when the state
 * cannot be saved.
 */
int captoken_remove(const sluice_config *cfg, const char *trigger_id, char *err, size_t errlen);

/*
 * The current token of trigger_id (for an authenticated admin listing).
 * 0 with the token written, 1 when it was removed, -1 when it has none.
 */
int captoken_get(const sluice_config *cfg, const char *trigger_id, char *token,
                 size_t tokenlen);

/* Forget the in-memory state (tests; the file is untouched). */
void captoken_reset(void);

#endif
