/*
 * syncwait.c - sync requests parked on their executions.
 *
 * A wait is shared by its request, one exec_waiter per execution (run on
 * the worker that finishes it), the timer thread and the list of waits;
 * each holds a reference. Whatever resumes the connection first wins
 * (w->resumed, under w->mu); the rest find it resumed and do nothing.
 */
#include "syncwait.h"

#include "engine.h"
#include "units.h"
#include "xalloc.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct syncwait {
    struct syncwait *next; /* in waits.head while its request lives */
    atomic_int refs;
    pthread_mutex_t mu;
    struct MHD_Connection *conn;
    size_t pending;
    int suspended; /* parked on this wait (not on the store) */
    int expired;   /* sync_timeout passed, or shutdown */
    int resumed, timed_out;
    engine_timer *timer;
    exec_waiter *waiters;
};

/* Parked sync requests, expired at shutdown. */
static struct {
    pthread_mutex_t mu;
    syncwait *head;
} waits = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void unref(syncwait *w)
{
    if (atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w->waiters);
    free(w);
}

/* Resume a parked request once every execution is final, or once it has
 * expired (expire = 1 records that). */
static void resume(syncwait *w, int expire)
{
    pthread_mutex_lock(&w->mu);
    if (expire)
        w->expired = 1;
    int go = 0;
    if (!w->resumed && w->suspended && (w->expired || w->pending == 0)) {
        w->resumed = 1;
        w->timed_out = w->pending != 0;
        go = 1;
    }
    pthread_mutex_unlock(&w->mu);
    if (go)
        MHD_resume_connection(w->conn);
}

static void exec_done(void *arg)
{
    syncwait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->pending--;
    pthread_mutex_unlock(&w->mu);
    resume(w, 0);
    unref(w);
}

static void timed_out(void *arg)
{
    syncwait *w = arg;
    resume(w, 1);
    unref(w);
}

syncwait *syncwait_start(struct MHD_Connection *c, sluice_exec **execs, size_t n,
                         uint64_t timeout_ms)
{
    syncwait *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    /* The request's, each execution's, the timer's and the list's. */
    atomic_init(&w->refs, 3 + (int)n);
    w->conn = c;
    w->pending = n;
    w->waiters = xcalloc(n ? n : 1, sizeof(exec_waiter));
    for (size_t i = 0; i < n; i++) {
        w->waiters[i].wake = exec_done;
        w->waiters[i].arg = w;
        exec_add_waiter(execs[i], &w->waiters[i]);
    }
    /* sync_timeout counts from acceptance, store time included. */
    engine_timer_add(units_mono_ms() + timeout_ms, timed_out, w, &w->timer);
    pthread_mutex_lock(&waits.mu);
    w->next = waits.head;
    waits.head = w;
    pthread_mutex_unlock(&waits.mu);
    return w;
}

void syncwait_park(syncwait *w)
{
    pthread_mutex_lock(&w->mu);
    w->suspended = 1;
    pthread_mutex_unlock(&w->mu);
    resume(w, 0); /* everything may already be done */
}

int syncwait_timed_out(syncwait *w)
{
    pthread_mutex_lock(&w->mu);
    int t = w->timed_out;
    pthread_mutex_unlock(&w->mu);
    return t;
}

void syncwait_free(syncwait *w)
{
    if (!w)
        return;
    int found = 0;
    pthread_mutex_lock(&waits.mu);
    for (syncwait **pp = &waits.head; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&waits.mu);
    if (found)
        unref(w);
    if (engine_timer_cancel(&w->timer))
        unref(w);
    unref(w);
}

void syncwait_expire_all(void)
{
    pthread_mutex_lock(&waits.mu);
    for (syncwait *w = waits.head; w; w = w->next)
        resume(w, 1);
    pthread_mutex_unlock(&waits.mu);
}
