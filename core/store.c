/*
 * store.c - the in-memory execution store.
 *
 * A hash table by id (chained, resized by doubling) plus a FIFO of finished
 * executions: when more than max_finished have finished, the oldest are
 * forgotten. Unfinished executions are never forgotten; their number is
 * bounded by the engine's queue and workers.
 */
#include "store.h"

#include "engine.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    sluice_exec *e;
    struct entry *hnext;   /* hash chain */
    struct entry *fnext;   /* finished FIFO */
    int finished;
} entry;

static struct {
    pthread_mutex_t mu;
    entry **buckets;
    size_t n_buckets, count;
    entry *fhead, *ftail;
    size_t n_finished, max_finished;
} st = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int store_open(size_t max_finished)
{
    st.max_finished = max_finished;
    st.n_buckets = 1024;
    st.buckets = calloc(st.n_buckets, sizeof(entry *));
    return st.buckets ? 0 : -1;
}

static void grow(void)
{
    size_t nb = st.n_buckets * 2;
    entry **b = calloc(nb, sizeof(entry *));
    if (!b)
        return;
    for (size_t i = 0; i < st.n_buckets; i++) {
        entry *x = st.buckets[i];
        while (x) {
            entry *next = x->hnext;
            size_t k = hash_id(x->e->id) & (nb - 1);
            x->hnext = b[k];
            b[k] = x;
            x = next;
        }
    }
    free(st.buckets);
    st.buckets = b;
    st.n_buckets = nb;
}

static entry **find_slot(const char *id)
{
    entry **pp = &st.buckets[hash_id(id) & (st.n_buckets - 1)];
    while (*pp && strcmp((*pp)->e->id, id) != 0)
        pp = &(*pp)->hnext;
    return pp;
}

int store_accept(sluice_exec *e)
{
    entry *x = calloc(1, sizeof(*x));
    if (!x)
        return -1;
    x->e = exec_ref(e);
    pthread_mutex_lock(&st.mu);
    if (st.count >= st.n_buckets)
        grow();
    size_t k = hash_id(e->id) & (st.n_buckets - 1);
    x->hnext = st.buckets[k];
    st.buckets[k] = x;
    st.count++;
    pthread_mutex_unlock(&st.mu);
    return 0;
}

void store_update(sluice_exec *e)
{
    (void)e; /* in memory, the execution object is the record */
}

void store_finish(sluice_exec *e)
{
    sluice_exec *evicted = NULL;
    pthread_mutex_lock(&st.mu);
    entry *x = *find_slot(e->id);
    if (x && !x->finished) {
        x->finished = 1;
        if (st.ftail)
            st.ftail->fnext = x;
        else
            st.fhead = x;
        st.ftail = x;
        st.n_finished++;
    }
    if (st.n_finished > st.max_finished) {
        entry *old = st.fhead;
        st.fhead = old->fnext;
        if (!st.fhead)
            st.ftail = NULL;
        st.n_finished--;
        entry **pp = find_slot(old->e->id);
        *pp = old->hnext;
        st.count--;
        evicted = old->e;
        free(old);
    }
    pthread_mutex_unlock(&st.mu);
    exec_unref(evicted);
}

sluice_exec *store_get(const char *id)
{
    pthread_mutex_lock(&st.mu);
    entry *x = *find_slot(id);
    sluice_exec *e = x ? exec_ref(x->e) : NULL;
    pthread_mutex_unlock(&st.mu);
    return e;
}

void store_cancel_running(int reason)
{
    size_t n = 0, cap = 64;
    sluice_exec **v = malloc(cap * sizeof(*v));
    pthread_mutex_lock(&st.mu);
    for (size_t i = 0; i < st.n_buckets; i++)
        for (entry *x = st.buckets[i]; x; x = x->hnext)
            if (!x->finished) {
                if (n == cap)
                    v = realloc(v, (cap *= 2) * sizeof(*v));
                v[n++] = exec_ref(x->e);
            }
    pthread_mutex_unlock(&st.mu);
    for (size_t i = 0; i < n; i++) {
        engine_cancel(v[i], reason);
        exec_unref(v[i]);
    }
    free(v);
}

size_t store_count(void)
{
    pthread_mutex_lock(&st.mu);
    size_t n = st.count;
    pthread_mutex_unlock(&st.mu);
    return n;
}

void store_close(void)
{
    pthread_mutex_lock(&st.mu);
    for (size_t i = 0; i < st.n_buckets; i++) {
        entry *x = st.buckets[i];
        while (x) {
            entry *next = x->hnext;
            exec_unref(x->e);
            free(x);
            x = next;
        }
    }
    free(st.buckets);
    st.buckets = NULL;
    st.count = 0;
    st.fhead = st.ftail = NULL;
    pthread_mutex_unlock(&st.mu);
}
