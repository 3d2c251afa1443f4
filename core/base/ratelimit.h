/*
 * ratelimit.h - request budgets per key (a trigger, or a trigger and an
 * address), kept across configuration reloads.
 *
 * Each rule allows `limit` requests per `period`, as a burst of up to
 * `limit` that refills evenly (GCRA, the algorithm behind nginx's
 * limit_req): 5 per minute lets five requests through at once and then one
 * every 12 seconds. There are no calendar windows, so no double burst at a
 * window boundary and no test that depends on the wall clock's minute.
 *
 * The table is one process-wide singleton owned by this file; a reload
 * builds new gates but the budgets stay, so SIGHUP is not a way around a
 * per-day limit. It holds at most RATELIMIT_MAX_KEYS keys: when full, keys
 * whose budget has fully refilled are dropped (they are indistinguishable
 * from new ones), then those closest to refilled, down to
 * RATELIMIT_LOW_WATER, so that a flood of new keys costs one pass over the
 * table per RATELIMIT_MAX_KEYS - RATELIMIT_LOW_WATER of them.
 */
#ifndef SLUICE_RATELIMIT_H
#define SLUICE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_MAX_KEYS 65536
#define RATELIMIT_LOW_WATER (RATELIMIT_MAX_KEYS - RATELIMIT_MAX_KEYS / 8)
#define RATELIMIT_MAX_RULES 4

typedef struct ratelimit_rule {
    uint64_t period_ms;
    uint32_t limit;
} ratelimit_rule;

/*
 * Take one request from every rule under key, all or nothing. 0 when
 * allowed; -1 when not, with *retry_after_s the whole seconds (>= 1) until
 * it would be.
 */
int ratelimit_take(const char *key, const ratelimit_rule *rules, size_t n, uint64_t now_ms,
                   unsigned *retry_after_s);
/* The same question without taking anything. */
int ratelimit_peek(const char *key, const ratelimit_rule *rules, size_t n, uint64_t now_ms,
                   unsigned *retry_after_s);
/*
 * Give back one request a successful ratelimit_take took under key. Taking
 * first and giving back is how a caller reserves a budget before it knows
 * whether the request counts: a peek followed by a take lets every request
 * in flight pass the peek.
 */
void ratelimit_refund(const char *key, const ratelimit_rule *rules, size_t n, uint64_t now_ms);
/* Forget every key (tests). */
void ratelimit_reset(void);
/* Keys held now (tests, metrics). */
size_t ratelimit_size(void);

#endif
