/*
 * captoken.h - the durable tokens of capability URLs: /t/{token}
 * (Shipyard style), as a map trigger id <-> token.
 *
 * A trigger with `capability = true;` has no fixed path: it is reached only
 * through /t/TOKEN, where TOKEN is 128 random bits in URL-safe base64 (22
 * characters). Knowing the URL is the credential, so the token is
 * compared in constant time (as a SHA-256 digest) and never logged.
 *
 * This file keeps the tokens and knows no configuration: which triggers
 * are capability triggers, what an unknown or revoked token answers and
 * the redaction of the path are prematch.c's (see prematch.h).
 *
 * Tokens live in DIR/tokens.json (DIR is server.state_dir; mode 0600,
 * written to a temporary file and renamed over the old one, so a crash
 * leaves either the old or the new file), until the durable store holds
 * them:
 *
 *   {"version": 1,
 *    "triggers": {"deploy": {"token": "q3JcM1...", "created_at": "2026-..."},
 *                 "old":    {"token": null, "removed_at": "2026-..."}},
 *    "retired":  [{"sha256": "<hex digest of a replaced token>", "trigger": "deploy"}]}
 *
 * A token is created the first time a trigger id is ensured and then
 * survives restarts and reloads. It is replaced (captoken_regenerate: the
 * old URL stops working at once) or removed (captoken_remove: the trigger
 * is unreachable until a new token is made, also across restarts).
 * Replaced and removed tokens are remembered by digest only (the latest
 * CAPTOKEN_MAX_RETIRED), so that a lookup can tell them from unknown ones.
 *
 * All functions are thread-safe (one mutex; the state is a singleton owned
 * by this file).
 */
#ifndef SLUICE_CAPTOKEN_H
#define SLUICE_CAPTOKEN_H

#include <stddef.h>

#define CAPTOKEN_LEN 22 /* 16 bytes in URL-safe base64, no padding */
#define CAPTOKEN_MAX_RETIRED 1024

/* The route template reported for capability matches (compared by address). */
extern const char captoken_template[];

/*
 * Make sure each of trigger_ids has a token (or was removed on purpose),
 * creating and saving in dir what is missing. Cheap when nothing is
 * missing. 0, or -1 when the state file cannot be read or written (logged;
 * the triggers without a token stay unreachable).
 */
int captoken_ensure(const char *dir, const char *const *trigger_ids, size_t n);

/*
 * Whose token the len bytes at token are, compared in constant time.
 * 1 with the trigger id written: a current token; -1 with the trigger id
 * written: a replaced or removed one; 0: unknown, malformed, or the state
 * of dir is not loaded (captoken_ensure failed).
 */
int captoken_lookup(const char *dir, const char *token, size_t len, char *trigger_id, size_t idlen);

/*
 * Give trigger_id a new token, retire the old one, save. 0 with the new
 * token (CAPTOKEN_LEN + 1 bytes) written to token; the capability URL is
 * "/t/" + token. -1 with a message when the state cannot be read or saved
 * (nothing changed).
 */
int captoken_regenerate(const char *dir, const char *trigger_id, char *token, size_t tokenlen,
                        char *err, size_t errlen);

/*
 * Remove trigger_id's token; its URL stops working at once and no new one
 * is made until captoken_regenerate. 0 (also when it had none), -1 with a
 * message when the state cannot be read or saved.
 */
int captoken_remove(const char *dir, const char *trigger_id, char *err, size_t errlen);

/* The current token of trigger_id. 0 with the token written, 1 when it was
 * removed, -1 when it has none. */
int captoken_get(const char *dir, const char *trigger_id, char *token, size_t tokenlen);

/* Forget the in-memory state (tests; the file is untouched). */
void captoken_reset(void);

#endif
