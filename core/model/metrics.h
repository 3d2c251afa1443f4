/*
 * metrics.h - counters for GET /metrics (Prometheus text format).
 *
 * Counting is a relaxed atomic add on a fixed array, cheap enough for the
 * hot path of every request; only a flow's first finished execution
 * allocates (its histogram) or locks.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* One answered HTTP request with this status. */
void metrics_count_response(unsigned status);
/* One execution accepted (stored and queued). */
void metrics_count_accepted(void);
/* One execution of flow (its key) reached a final state (exec.h enum
 * exec_state) after running duration_ms. The first execution of a flow
 * adds its histogram, under a lock; the rest are atomic adds. */
void metrics_count_finished(const char *flow, int state, unsigned long long duration_ms);
/* One retry scheduled. */
void metrics_count_retry(void);

/* Executions accepted since start (main.c watches it to tell idle time). */
unsigned long long metrics_accepted_total(void);

/*
 * What the counters cannot know: the state of the queue, the workers, the
 * log streams and the store now. The caller (the /metrics handler) reads
 * them from their owners and hands them in, so this file stays below them.
 */
typedef struct metrics_gauges {
    size_t queued, running, capacity, followers;
    uint64_t queue_bytes, queue_limit;
    int store_healthy;
} metrics_gauges;

/* The exposition text (malloc'd): the counters and g. */
char *metrics_render(const metrics_gauges *g, size_t *len);

#endif
