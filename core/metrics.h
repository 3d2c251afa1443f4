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

/* The exposition text (malloc'd). */
char *metrics_render(size_t *len);

#endif
