/*
 * ratelimit.c - GCRA budgets in one bounded hash table (see ratelimit.h).
 *
 * A rule's state is a single number, the theoretical arrival time (TAT) in
 * microseconds: each request moves it on by period/limit, and a request is
 * allowed while TAT - now stays within period - period/limit. Every
 * (key, rule) pair has its own entry, so changing a trigger's limit in a
 * reload starts that rule afresh instead of misreading the old state.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 16384

typedef struct entry {
    struct entry *next;
    uint64_t tat_us;
    char key[];
} entry;

static struct {
    pthread_mutex_t mu;
    entry *buckets[BUCKETS];
    size_t n;
} rl = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The k-th smallest (from 0) of a[0..n), reordering a (Hoare's selection). */
static uint64_t kth_smallest(uint64_t *a, ptrdiff_t n, ptrdiff_t k)
{
    ptrdiff_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint64_t pivot = a[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                uint64_t t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* Drop the entries for which keep() says no. */
static void drop_where(int (*keep)(const entry *, uint64_t, size_t *), uint64_t arg, size_t *budget)
{
    for (size_t b = 0; b < BUCKETS; b++)
        for (entry **pp = &rl.buckets[b]; *pp;) {
            entry *e = *pp;
            if (keep(e, arg, budget)) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            free(e);
            rl.n--;
        }
}

static int not_refilled(const entry *e, uint64_t now_us, size_t *budget)
{
    (void)budget;
    return e->tat_us > now_us;
}

/* Above the cut, or at it once *budget entries at it have gone. */
static int above_cut(const entry *e, uint64_t cut, size_t *budget)
{
    if (e->tat_us > cut)
        return 1;
    if (e->tat_us == cut) {
        if (*budget == 0)
            return 1;
        --*budget;
    }
    return 0;
}

/*
 * The table is full. Keys whose budget has refilled go first (they are
 * indistinguishable from new ones); if that leaves it fuller than
 * RATELIMIT_LOW_WATER, the keys closest to refilled go too, down to it. A
 * stream of new keys (a sender per address, say) then pays one pass over
 * the table per RATELIMIT_MAX_KEYS - RATELIMIT_LOW_WATER keys: one pass per
 * key, as evicting a single entry each time was, held the lock for the
 * whole table on every request.
 */
static void sweep(uint64_t now_us)
{
    drop_where(not_refilled, now_us, NULL);
    if (rl.n <= RATELIMIT_LOW_WATER)
        return;
    size_t n = rl.n, k = n - RATELIMIT_LOW_WATER, i = 0;
    uint64_t *tats = malloc(n * sizeof(*tats));
    if (!tats) {
        /* No room to choose: the one closest to refilled. */
        k = 1;
        uint64_t cut = UINT64_MAX;
        for (size_t b = 0; b < BUCKETS; b++)
            for (entry *e = rl.buckets[b]; e; e = e->next)
                cut = e->tat_us < cut ? e->tat_us : cut;
        drop_where(above_cut, cut, &k);
        return;
    }
    for (size_t b = 0; b < BUCKETS; b++)
        for (entry *e = rl.buckets[b]; e; e = e->next)
            tats[i++] = e->tat_us;
    uint64_t cut = kth_smallest(tats, (ptrdiff_t)n, (ptrdiff_t)k - 1);
    free(tats);
    /* Everything below the cut, and as many at it as make up k. */
    size_t below = 0;
    for (size_t b = 0; b < BUCKETS; b++)
        for (entry *e = rl.buckets[b]; e; e = e->next)
            below += e->tat_us < cut;
    size_t at_cut = k - below;
    drop_where(above_cut, cut, &at_cut);
}

static entry *lookup(const char *key, int create, uint64_t now_us)
{
    uint32_t b = hash(key) % BUCKETS;
    for (entry *e = rl.buckets[b]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    if (!create)
        return NULL;
    size_t len = strlen(key);
    entry *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    memcpy(e->key, key, len + 1);
    e->tat_us = now_us;
    e->next = rl.buckets[b];
    rl.buckets[b] = e;
    rl.n++;
    return e;
}

static void rule_key(char *buf, size_t len, const char *key, const ratelimit_rule *r)
{
    snprintf(buf, len, "%s\x1f%llu\x1f%u", key, (unsigned long long)r->period_ms, r->limit);
}

static int check(const char *key, const ratelimit_rule *rules, size_t n, uint64_t now_ms,
                 unsigned *retry_after_s, int take)
{
    uint64_t now_us = now_ms * 1000;
    uint64_t wait_us = 0;
    entry *es[RATELIMIT_MAX_RULES] = {0};
    if (n > RATELIMIT_MAX_RULES)
        n = RATELIMIT_MAX_RULES;
    pthread_mutex_lock(&rl.mu);
    /* Before any lookup: a sweep must not free an entry held in es[]. */
    for (int tries = 0; take && rl.n + n > RATELIMIT_MAX_KEYS && tries < RATELIMIT_MAX_RULES;
         tries++)
        sweep(now_us);
    for (size_t i = 0; i < n; i++) {
        if (rules[i].limit == 0 || rules[i].period_ms == 0)
            continue;
        char k[512];
        rule_key(k, sizeof(k), key, &rules[i]);
        es[i] = lookup(k, take, now_us);
        uint64_t period_us = rules[i].period_ms * 1000;
        uint64_t t_us = period_us / rules[i].limit;
        uint64_t tau_us = period_us - t_us;
        uint64_t tat = es[i] && es[i]->tat_us > now_us ? es[i]->tat_us : now_us;
        if (tat - now_us > tau_us && tat - now_us - tau_us > wait_us)
            wait_us = tat - now_us - tau_us;
    }
    if (wait_us == 0 && take)
        for (size_t i = 0; i < n; i++) {
            if (!es[i])
                continue;
            uint64_t t_us = rules[i].period_ms * 1000 / rules[i].limit;
            uint64_t tat = es[i]->tat_us > now_us ? es[i]->tat_us : now_us;
            es[i]->tat_us = tat + t_us;
        }
    pthread_mutex_unlock(&rl.mu);
    if (wait_us == 0)
        return 0;
    uint64_t s = (wait_us + 999999) / 1000000;
    *retry_after_s = s == 0 ? 1 : s > 0xffffffffu ? 0xffffffffu : (unsigned)s;
    return -1;
}

int ratelimit_take(const char *key, const ratelimit_rule *rules, size_t n, uint64_t now_ms,
                   unsigned *retry_after_s)
{
    return check(key, rules, n, now_ms, retry_after_s, 1);
}

int ratelimit_peek(const char *key, const ratelimit_rule *rules, size_t n, uint64_t now_ms,
                   unsigned *retry_after_s)
{
    return check(key, rules, n, now_ms, retry_after_s, 0);
}

void ratelimit_refund(const char *key, const ratelimit_rule *rules, size_t n, uint64_t now_ms)
{
    uint64_t now_us = now_ms * 1000;
    if (n > RATELIMIT_MAX_RULES)
        n = RATELIMIT_MAX_RULES;
    pthread_mutex_lock(&rl.mu);
    for (size_t i = 0; i < n; i++) {
        if (rules[i].limit == 0 || rules[i].period_ms == 0)
            continue;
        char k[512];
        rule_key(k, sizeof(k), key, &rules[i]);
        entry *e = lookup(k, 0, now_us);
        if (!e)
            continue; /* swept: already as good as refilled */
        uint64_t t_us = rules[i].period_ms * 1000 / rules[i].limit;
        e->tat_us = e->tat_us > now_us + t_us ? e->tat_us - t_us : now_us;
    }
    pthread_mutex_unlock(&rl.mu);
}

void ratelimit_reset(void)
{
    pthread_mutex_lock(&rl.mu);
    for (size_t b = 0; b < BUCKETS; b++) {
        entry *e = rl.buckets[b];
        while (e) {
            entry *next = e->next;
            free(e);
            e = next;
        }
        rl.buckets[b] = NULL;
    }
    rl.n = 0;
    pthread_mutex_unlock(&rl.mu);
}

size_t ratelimit_size(void)
{
    pthread_mutex_lock(&rl.mu);
    size_t n = rl.n;
    pthread_mutex_unlock(&rl.mu);
    return n;
}
