/*
 * metrics.c - Prometheus counters.
 */
#include "metrics.h"

#include "engine.h"
#include "exec.h"
#include "follow.h"
#include "store.h"
#include "xalloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Response codes are counted per exact code below 600. */
static atomic_ullong responses[600];
static atomic_ullong accepted, retries;
static atomic_ullong finished[EXEC_UNKNOWN + 1];
static atomic_ullong duration_sum_ms[EXEC_UNKNOWN + 1];

void metrics_count_response(unsigned status)
{
    if (status < 600)
        atomic_fetch_add_explicit(&responses[status], 1, memory_order_relaxed);
}

void metrics_count_accepted(void)
{
    atomic_fetch_add_explicit(&accepted, 1, memory_order_relaxed);
}

void metrics_count_finished(int state, unsigned long long duration_ms)
{
    if (state < 0 || state > EXEC_UNKNOWN)
        return;
    atomic_fetch_add_explicit(&finished[state], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&duration_sum_ms[state], duration_ms, memory_order_relaxed);
}

void metrics_count_retry(void)
{
    atomic_fetch_add_explicit(&retries, 1, memory_order_relaxed);
}

unsigned long long metrics_accepted_total(void)
{
    return atomic_load_explicit(&accepted, memory_order_relaxed);
}

char *metrics_render(size_t *len)
{
    size_t cap = 8192, n = 0;
    char *out = xmalloc(cap);
#define EMIT(...)                                                                            \
    do {                                                                                     \
        int w_ = snprintf(out + n, cap - n, __VA_ARGS__);                                    \
        if (w_ > 0 && (size_t)w_ >= cap - n) {                                               \
            cap = cap * 2 + (size_t)w_;                                                      \
            out = xrealloc(out, cap);                                                        \
            w_ = snprintf(out + n, cap - n, __VA_ARGS__);                                    \
        }                                                                                    \
        if (w_ > 0)                                                                          \
            n += (size_t)w_;                                                                 \
    } while (0)
    EMIT("# HELP sluice_http_responses_total HTTP responses by status code.\n"
         "# TYPE sluice_http_responses_total counter\n");
    for (unsigned i = 100; i < 600; i++) {
        unsigned long long v = atomic_load_explicit(&responses[i], memory_order_relaxed);
        if (v)
            EMIT("sluice_http_responses_total{code=\"%u\"} %llu\n", i, v);
    }
    EMIT("# HELP sluice_executions_accepted_total Executions stored and queued.\n"
         "# TYPE sluice_executions_accepted_total counter\n"
         "sluice_executions_accepted_total %llu\n",
         (unsigned long long)atomic_load(&accepted));
    EMIT("# HELP sluice_executions_finished_total Executions by final state.\n"
         "# TYPE sluice_executions_finished_total counter\n");
    for (int s = EXEC_SUCCEEDED; s <= EXEC_UNKNOWN; s++)
        EMIT("sluice_executions_finished_total{state=\"%s\"} %llu\n", exec_state_name(s),
             (unsigned long long)atomic_load(&finished[s]));
    EMIT("# HELP sluice_execution_duration_seconds_sum Run time of finished executions.\n"
         "# TYPE sluice_execution_duration_seconds_sum counter\n");
    /* Not "unknown": nobody saw those end, so they have no run time. */
    for (int s = EXEC_SUCCEEDED; s <= EXEC_CANCELLED; s++)
        EMIT("sluice_execution_duration_seconds_sum{state=\"%s\"} %.3f\n", exec_state_name(s),
             (double)atomic_load(&duration_sum_ms[s]) / 1000.0);
    EMIT("# HELP sluice_execution_retries_total Retries scheduled.\n"
         "# TYPE sluice_execution_retries_total counter\n"
         "sluice_execution_retries_total %llu\n",
         (unsigned long long)atomic_load(&retries));
    EMIT("# HELP sluice_queue_depth Executions waiting for a worker.\n"
         "# TYPE sluice_queue_depth gauge\n"
         "sluice_queue_depth %zu\n",
         engine_queued());
    EMIT("# HELP sluice_queue_capacity server.max_queue.\n"
         "# TYPE sluice_queue_capacity gauge\n"
         "sluice_queue_capacity %zu\n",
         engine_capacity());
    uint64_t held, limit;
    engine_queue_memory(&held, &limit);
    EMIT("# HELP sluice_queue_bytes Memory the waiting executions hold (estimated).\n"
         "# TYPE sluice_queue_bytes gauge\n"
         "sluice_queue_bytes %llu\n"
         "# HELP sluice_queue_capacity_bytes server.max_queue_memory.\n"
         "# TYPE sluice_queue_capacity_bytes gauge\n"
         "sluice_queue_capacity_bytes %llu\n",
         (unsigned long long)held, (unsigned long long)limit);
    EMIT("# HELP sluice_executions_running Executions running now.\n"
         "# TYPE sluice_executions_running gauge\n"
         "sluice_executions_running %zu\n",
         engine_running());
    EMIT("# HELP sluice_log_followers Open logs?follow streams.\n"
         "# TYPE sluice_log_followers gauge\n"
         "sluice_log_followers %zu\n",
         follow_count());
    EMIT("# HELP sluice_store_healthy 1 while the store accepts writes.\n"
         "# TYPE sluice_store_healthy gauge\n"
         "sluice_store_healthy %d\n",
         store_healthy());
#undef EMIT
    *len = n;
    return out;
}
