/*
 * metrics.c - Prometheus counters, gauges and the per-flow histograms of
 * execution run time.
 */
#include "metrics.h"

#include "execstate.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Response codes are counted per exact code below 600. */
static atomic_ullong responses[600];
static atomic_ullong accepted, retries;
static atomic_ullong finished[EXEC_UNKNOWN + 1];

/* Upper bounds of the duration buckets, in ms: from a 5 ms command to an
 * hour-long deployment. */
static const unsigned bucket_ms[] = {5,    10,   25,    50,    100,   250,    500,    1000,
                                     2500, 5000, 10000, 30000, 60000, 300000, 900000, 3600000};
#define N_BUCKETS (sizeof(bucket_ms) / sizeof(bucket_ms[0]))

/* One flow's run-time histogram. Kept by flow key and never freed, so a
 * reload keeps its series (a counter must not go back) and the list is as
 * long as the number of flow keys ever served, as gate.c's counters are. */
typedef struct flow_hist {
    struct flow_hist *next;
    atomic_ullong bucket[N_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
    atomic_ullong sum_ms;
    char key[];
} flow_hist;

static struct {
    pthread_mutex_t mu;
    flow_hist *head;
} hists = {.mu = PTHREAD_MUTEX_INITIALIZER};

static flow_hist *hist_of(const char *key)
{
    pthread_mutex_lock(&hists.mu);
    flow_hist *h = hists.head;
    while (h && strcmp(h->key, key) != 0)
        h = h->next;
    if (!h) {
        h = calloc(1, sizeof(*h) + strlen(key) + 1);
        if (h) {
            strcpy(h->key, key);
            h->next = hists.head;
            hists.head = h;
        }
    }
    pthread_mutex_unlock(&hists.mu);
    return h;
}

void metrics_count_response(unsigned status)
{
    if (status < 600)
        atomic_fetch_add_explicit(&responses[status], 1, memory_order_relaxed);
}

void metrics_count_accepted(void)
{
    atomic_fetch_add_explicit(&accepted, 1, memory_order_relaxed);
}

void metrics_count_finished(const char *flow, int state, unsigned long long duration_ms)
{
    if (state < 0 || state > EXEC_UNKNOWN)
        return;
    atomic_fetch_add_explicit(&finished[state], 1, memory_order_relaxed);
    /* Not "unknown": nobody saw those end, so they have no run time. */
    if (state == EXEC_UNKNOWN)
        return;
    flow_hist *h = flow ? hist_of(flow) : NULL;
    if (!h)
        return;
    size_t b = 0;
    while (b < N_BUCKETS && duration_ms > bucket_ms[b])
        b++;
    atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ms, duration_ms, memory_order_relaxed);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void label_escape(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; *s && k + 3 < cap; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            out[k++] = '\\';
            out[k++] = *s == '\n' ? 'n' : *s;
        } else {
            out[k++] = *s;
        }
    }
    out[k] = 0;
}

void metrics_count_retry(void)
{
    atomic_fetch_add_explicit(&retries, 1, memory_order_relaxed);
}

unsigned long long metrics_accepted_total(void)
{
    return atomic_load_explicit(&accepted, memory_order_relaxed);
}

char *metrics_render(const metrics_gauges *g, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *out = xmalloc(cap);
#define EMIT(...)                                         \
    do {                                                  \
        int w_ = snprintf(out + n, cap - n, __VA_ARGS__); \
        if (w_ > 0 && (size_t)w_ >= cap - n) {            \
            cap = cap * 2 + (size_t)w_;                   \
            out = xrealloc(out, cap);                     \
            w_ = snprintf(out + n, cap - n, __VA_ARGS__); \
        }                                                 \
        if (w_ > 0)                                       \
            n += (size_t)w_;                              \
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
    /* Seconds, as Prometheus wants them; the sum is written from whole
     * milliseconds so that it stays exact. */
    EMIT("# HELP sluice_execution_duration_seconds Run time of finished executions, per flow.\n"
         "# TYPE sluice_execution_duration_seconds histogram\n");
    /* Histograms are only ever prepended, never changed or freed: the
     * list from the head read under the lock is safe to walk without it. */
    pthread_mutex_lock(&hists.mu);
    flow_hist *first = hists.head;
    pthread_mutex_unlock(&hists.mu);
    for (flow_hist *h = first; h; h = h->next) {
        char flow[512];
        label_escape(h->key, flow, sizeof(flow));
        unsigned long long cum = 0;
        for (size_t b = 0; b <= N_BUCKETS; b++) {
            cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
            if (b < N_BUCKETS)
                EMIT("sluice_execution_duration_seconds_bucket{flow=\"%s\",le=\"%g\"} %llu\n", flow,
                     bucket_ms[b] / 1000.0, cum);
            else
                EMIT("sluice_execution_duration_seconds_bucket{flow=\"%s\",le=\"+Inf\"} %llu\n",
                     flow, cum);
        }
        unsigned long long sum = atomic_load_explicit(&h->sum_ms, memory_order_relaxed);
        EMIT("sluice_execution_duration_seconds_sum{flow=\"%s\"} %llu.%03llu\n"
             "sluice_execution_duration_seconds_count{flow=\"%s\"} %llu\n",
             flow, sum / 1000, sum % 1000, flow, cum);
    }
    EMIT("# HELP sluice_execution_retries_total Retries scheduled.\n"
         "# TYPE sluice_execution_retries_total counter\n"
         "sluice_execution_retries_total %llu\n",
         (unsigned long long)atomic_load(&retries));
    EMIT("# HELP sluice_queue_depth Executions waiting for a worker.\n"
         "# TYPE sluice_queue_depth gauge\n"
         "sluice_queue_depth %zu\n",
         g->queued);
    EMIT("# HELP sluice_queue_capacity server.max_queue.\n"
         "# TYPE sluice_queue_capacity gauge\n"
         "sluice_queue_capacity %zu\n",
         g->capacity);
    EMIT("# HELP sluice_queue_bytes Memory the waiting executions hold (estimated).\n"
         "# TYPE sluice_queue_bytes gauge\n"
         "sluice_queue_bytes %llu\n"
         "# HELP sluice_queue_capacity_bytes server.max_queue_memory.\n"
         "# TYPE sluice_queue_capacity_bytes gauge\n"
         "sluice_queue_capacity_bytes %llu\n",
         (unsigned long long)g->queue_bytes, (unsigned long long)g->queue_limit);
    EMIT("# HELP sluice_executions_running Executions running now.\n"
         "# TYPE sluice_executions_running gauge\n"
         "sluice_executions_running %zu\n",
         g->running);
    EMIT("# HELP sluice_log_followers Open logs?follow streams.\n"
         "# TYPE sluice_log_followers gauge\n"
         "sluice_log_followers %zu\n",
         g->followers);
    EMIT("# HELP sluice_store_healthy 1 while the store accepts writes.\n"
         "# TYPE sluice_store_healthy gauge\n"
         "sluice_store_healthy %d\n",
         g->store_healthy);
#undef EMIT
    *len = n;
    return out;
}
