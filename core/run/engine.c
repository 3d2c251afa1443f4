/*
 * engine.c - queue, workers, timers.
 *
 * Executions wait in one FIFO per flow, all protected by one mutex: at the
 * rates a webhook server sees (tens of thousands per second at most) a
 * single lock is nowhere near contended. A worker takes the oldest
 * execution (by arrival number) among the heads of the flows that have a
 * free concurrency slot, so arrival order holds across flows, and a flow at
 * its limit with a long backlog costs one comparison to skip instead of a
 * walk over its backlog under the lock for every arrival.
 *
 * Reference counting: the queue holds one reference per queued execution;
 * a worker turns it into the "running" reference, which engine_finish drops
 * exactly once. The worker also holds its own reference around execute so
 * that a plugin completing from another thread cannot free the execution
 * under it.
 */
#include "exec_impl.h"
#include "engine.h"

#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* glibc spells it only under _GNU_SOURCE; Linux has had it since 2.6.23. */
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif

/* How long a PENDING execution may ignore its cancellation. */
#define PENDING_GRACE_MS 5000

struct engine_timer {
    uint64_t deadline;
    void (*fn)(void *);
    void *arg;
    engine_timer **slot;
    engine_timer *prev, *next;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;        /* queue not empty, or quitting */
    pthread_cond_t idle;        /* an execution finished */
    flow_rt *qflows;            /* flows with queued executions (flow_rt.q.head) */
    sluice_exec *chead, *ctail; /* cancelled while queued: finished first */
    uint64_t qseq;              /* arrival numbers */
    size_t queued, reserved, running, max_queue;
    uint64_t queued_bytes, reserved_bytes, max_queue_bytes;
    int stopping, quit;
    sluice_exec **run; /* running executions, for on_limit = cancel */
    size_t n_run, cap_run;
    pthread_t *workers;
    int n_workers;
    int nice;

    pthread_mutex_t tmu;
    pthread_cond_t tcond;
    engine_timer *thead, *ttail;
    int tquit;
    pthread_t timer_thread;
} eng = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .idle = PTHREAD_COND_INITIALIZER,
    .tmu = PTHREAD_MUTEX_INITIALIZER,
};

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

static void deadline_to_ts(uint64_t ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/* ---- the queue: one FIFO per flow ---- */

/* A flow is in eng.qflows only while it has queued executions, and each
 * holds the generation its flow_rt belongs to: a listed flow is alive. */

/* The list of flows with queued executions. Called with eng.mu held. */
static void flow_unlist(flow_rt *f)
{
    if (f->q.prev)
        f->q.prev->q.next = f->q.next;
    else
        eng.qflows = f->q.next;
    if (f->q.next)
        f->q.next->q.prev = f->q.prev;
    f->q.prev = f->q.next = NULL;
    f->q.listed = 0;
}

static void queue_push_cancelled(sluice_exec *e)
{
    e->qnext = NULL;
    if (eng.ctail)
        eng.ctail->qnext = e;
    else
        eng.chead = e;
    eng.ctail = e;
}

/* Append e to its flow's FIFO. Called with eng.mu held. */
static void queue_push(sluice_exec *e)
{
    flow_rt *f = e->rt;
    e->qnext = NULL;
    e->qseq = ++eng.qseq;
    /* Cancelled while it waited out a retry delay. */
    if (atomic_load(&e->cancel_reason) != SLUICE_CANCEL_NONE) {
        queue_push_cancelled(e);
        return;
    }
    if (f->q.tail)
        f->q.tail->qnext = e;
    else
        f->q.head = e;
    f->q.tail = e;
    if (!f->q.listed) {
        f->q.listed = 1;
        f->q.prev = NULL;
        f->q.next = eng.qflows;
        if (eng.qflows)
            eng.qflows->q.prev = f;
        eng.qflows = f;
    }
}

/*
 * A queued execution that was cancelled moves to the front, so a worker
 * finishes it now even when its flow is at its limit. Returns 0 if it was
 * no longer queued (a worker took it meanwhile). Called with eng.mu held.
 */
static int queue_move_cancelled(sluice_exec *e)
{
    flow_rt *f = e->rt;
    sluice_exec *prev = NULL, *x = f->q.head;
    while (x && x != e) {
        prev = x;
        x = x->qnext;
    }
    if (!x)
        return 0;
    if (prev)
        prev->qnext = e->qnext;
    else
        f->q.head = e->qnext;
    if (f->q.tail == e)
        f->q.tail = prev;
    if (!f->q.head)
        flow_unlist(f);
    queue_push_cancelled(e);
    return 1;
}

/* ---- timers ---- */

void engine_timer_add(uint64_t deadline, void (*fn)(void *), void *arg, engine_timer **slot)
{
    if (__atomic_load_n(&eng.tquit, __ATOMIC_ACQUIRE)) {
        /* Stopped: periodic work (retention) must not re-arm forever. */
        if (slot)
            *slot = NULL;
        return;
    }
    engine_timer *t = xcalloc(1, sizeof(*t));
    t->deadline = deadline;
    t->fn = fn;
    t->arg = arg;
    t->slot = slot;
    pthread_mutex_lock(&eng.tmu);
    if (slot)
        *slot = t;
    /* Deadlines mostly arrive in order (same timeout, later start), so the
     * insertion point is found from the tail in O(1) in the common case. */
    engine_timer *after = eng.ttail;
    while (after && after->deadline > deadline)
        after = after->prev;
    t->prev = after;
    t->next = after ? after->next : eng.thead;
    if (t->next)
        t->next->prev = t;
    else
        eng.ttail = t;
    if (after)
        after->next = t;
    else
        eng.thead = t;
    if (eng.thead == t)
        pthread_cond_signal(&eng.tcond);
    pthread_mutex_unlock(&eng.tmu);
}

static void timer_unlink(engine_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        eng.thead = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        eng.ttail = t->prev;
}

int engine_timer_cancel(engine_timer **slot)
{
    pthread_mutex_lock(&eng.tmu);
    engine_timer *t = *slot;
    if (!t) {
        pthread_mutex_unlock(&eng.tmu);
        return 0;
    }
    timer_unlink(t);
    *slot = NULL;
    pthread_mutex_unlock(&eng.tmu);
    free(t);
    return 1;
}

static void *timer_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "timer");
    pthread_mutex_lock(&eng.tmu);
    while (!eng.tquit) {
        uint64_t now = units_mono_ms();
        engine_timer *t = eng.thead;
        if (t && t->deadline <= now) {
            timer_unlink(t);
            if (t->slot)
                *t->slot = NULL;
            pthread_mutex_unlock(&eng.tmu);
            t->fn(t->arg);
            free(t);
            pthread_mutex_lock(&eng.tmu);
            continue;
        }
        if (t) {
            struct timespec ts;
            deadline_to_ts(t->deadline, &ts);
            pthread_cond_timedwait(&eng.tcond, &eng.tmu, &ts);
        } else {
            pthread_cond_wait(&eng.tcond, &eng.tmu);
        }
    }
    pthread_mutex_unlock(&eng.tmu);
    return NULL;
}

/* ---- cancellation and timeouts ---- */

static void call_plugin_cancel(sluice_exec *e)
{
    plugin *p = e->rt->plugin;
    if (p && p->desc.cancel)
        p->desc.cancel(e->rt->instance, e);
}

static void pending_grace_expired(void *arg)
{
    sluice_exec *e = arg;
    if (atomic_exchange(&e->completed, 1) == 0) {
        log_msg(LOG_ERROR, e->request_id,
                "exec=%s flow=%s: plugin %s did not complete within %d ms of cancellation; "
                "finishing it",
                e->id, e->flow->key, e->flow->executor, PENDING_GRACE_MS);
        pthread_mutex_lock(&e->mu);
        if (!e->error)
            e->error = xstrdup("the executor did not complete after cancellation");
        pthread_mutex_unlock(&e->mu);
        /* The plugin may still hold e and call exec_complete (or return
         * from execute) late: keep a reference for that moment, which
         * drops it (engine_finish drops the running one). */
        exec_ref(e);
        atomic_store(&e->abandoned, 1);
        engine_finish(e, SLUICE_ERR);
    }
    exec_unref(e);
}

static void timeout_fired(void *arg)
{
    sluice_exec *e = arg;
    int expected = SLUICE_CANCEL_NONE;
    if (!atomic_load(&e->completed) &&
        atomic_compare_exchange_strong(&e->cancel_reason, &expected, SLUICE_CANCEL_TIMEOUT)) {
        log_msg(LOG_WARN, e->request_id, "exec=%s flow=%s: timed out after %s ms; cancelling",
                e->id, e->flow->key, e->timeout_str);
        call_plugin_cancel(e);
        engine_timer_add(units_mono_ms() + PENDING_GRACE_MS, pending_grace_expired, exec_ref(e),
                         NULL);
    }
    exec_unref(e);
}

int engine_cancel(sluice_exec *e, int reason)
{
    pthread_mutex_lock(&e->mu);
    int final = e->finished;
    int queued = e->state == EXEC_QUEUED;
    pthread_mutex_unlock(&e->mu);
    if (final)
        return -1;
    int expected = SLUICE_CANCEL_NONE;
    atomic_compare_exchange_strong(&e->cancel_reason, &expected, reason);
    if (!queued) {
        call_plugin_cancel(e);
        engine_timer_add(units_mono_ms() + PENDING_GRACE_MS, pending_grace_expired, exec_ref(e),
                         NULL);
        return 0;
    }
    /* A queued execution is finished by the worker that dequeues it: at
     * once, not when its flow next has a free slot. */
    pthread_mutex_lock(&eng.mu);
    if (queue_move_cancelled(e))
        pthread_cond_signal(&eng.work);
    pthread_mutex_unlock(&eng.mu);
    return 0;
}

/* ---- queue and workers ---- */

engine_reserve_result engine_reserve(size_t n, size_t bytes)
{
    pthread_mutex_lock(&eng.mu);
    engine_reserve_result rc = ENGINE_OK;
    uint64_t held = eng.queued_bytes + eng.reserved_bytes;
    if (eng.stopping)
        rc = ENGINE_STOPPING;
    else if (eng.queued + eng.reserved + n > eng.max_queue)
        rc = ENGINE_FULL;
    else if (held && held + bytes > eng.max_queue_bytes)
        rc = ENGINE_NO_MEMORY;
    if (rc == ENGINE_OK) {
        eng.reserved += n;
        eng.reserved_bytes += bytes;
    }
    pthread_mutex_unlock(&eng.mu);
    return rc;
}

void engine_unreserve(size_t n, size_t bytes)
{
    pthread_mutex_lock(&eng.mu);
    eng.reserved -= n;
    eng.reserved_bytes -= bytes;
    pthread_mutex_unlock(&eng.mu);
}

void engine_enqueue(sluice_exec **v, size_t n, int reserved)
{
    pthread_mutex_lock(&eng.mu);
    for (size_t i = 0; i < n; i++) {
        sluice_exec *e = exec_ref(v[i]);
        queue_push(e);
        atomic_fetch_add(&e->rt->queued, 1);
        /* Set by whoever reserved room; recovered work is counted here. */
        if (!e->qbytes)
            e->qbytes = engine_exec_bytes(0, e->event_len);
        eng.queued_bytes += e->qbytes;
        if (reserved)
            eng.reserved_bytes -= e->qbytes;
    }
    eng.queued += n;
    if (reserved)
        eng.reserved -= n;
    /* One waiting worker per execution; a worker that finds nothing it may
     * run (flows at their limit) waits again, and the others would too. */
    if (n >= (size_t)eng.n_workers)
        pthread_cond_broadcast(&eng.work);
    else
        for (size_t i = 0; i < n; i++)
            pthread_cond_signal(&eng.work);
    pthread_mutex_unlock(&eng.mu);
}

size_t engine_flow_load(const flow_rt *f)
{
    return (size_t)atomic_load(&f->running) + (size_t)atomic_load(&f->queued);
}

int engine_cancel_oldest(const char *flow_key, const char *by, char *cancelled, size_t len)
{
    sluice_exec *oldest = NULL;
    pthread_mutex_lock(&eng.mu);
    for (size_t i = 0; i < eng.n_run; i++) {
        sluice_exec *e = eng.run[i];
        if (strcmp(e->flow->key, flow_key) == 0 && atomic_load(&e->cancel_reason) == 0 &&
            (!oldest || e->started_ms < oldest->started_ms))
            oldest = e;
    }
    /* Claimed here, under the lock: two requests arriving together each
     * cancel an execution of their own, and each names its own. */
    int expected = SLUICE_CANCEL_NONE;
    if (oldest &&
        atomic_compare_exchange_strong(&oldest->cancel_reason, &expected, SLUICE_CANCEL_REQUEST))
        exec_ref(oldest);
    else
        oldest = NULL;
    pthread_mutex_unlock(&eng.mu);
    if (!oldest)
        return -1;
    /* A final one is leaving the running set on its own; engine_finish
     * clears the name again if the execution ends other than cancelled. */
    pthread_mutex_lock(&oldest->mu);
    int final = oldest->finished;
    if (!final)
        snprintf(oldest->replaced_by, sizeof(oldest->replaced_by), "%s", by);
    pthread_mutex_unlock(&oldest->mu);
    if (final) {
        exec_unref(oldest);
        return -1;
    }
    snprintf(cancelled, len, "%s", oldest->id);
    log_msg(LOG_INFO, oldest->request_id,
            "exec=%s flow=%s: cancelled to make room for exec=%s (on_limit = cancel)", oldest->id,
            flow_key, by);
    engine_cancel(oldest, SLUICE_CANCEL_REQUEST);
    exec_unref(oldest);
    return 0;
}

static void run_list_remove(sluice_exec *e)
{
    for (size_t i = 0; i < eng.n_run; i++)
        if (eng.run[i] == e) {
            eng.run[i] = eng.run[--eng.n_run];
            return;
        }
}

/* Exponential backoff with +-20% jitter, capped at an hour. */
static uint64_t retry_delay(const flow_def *f, int attempt)
{
    uint64_t d = f->retry_backoff_ms;
    for (int i = 1; i < attempt && d < 3600000; i++)
        d *= 2;
    if (d > 3600000)
        d = 3600000;
    uint32_t r = 0;
    units_random(&r, sizeof(r));
    int64_t jitter = (int64_t)(d / 5);
    return (uint64_t)((int64_t)d - jitter +
                      (jitter ? (int64_t)(r % (uint64_t)(2 * jitter + 1)) : 0));
}

static void retry_fire(void *arg)
{
    sluice_exec *e = arg;
    engine_enqueue(&e, 1, 0);
    exec_unref(e);
}

/* Leave the running set; called once per attempt. */
static void leave_running(sluice_exec *e)
{
    atomic_fetch_sub(&e->rt->running, 1);
    pthread_mutex_lock(&eng.mu);
    run_list_remove(e);
    eng.running--;
    pthread_cond_broadcast(&eng.idle);
    pthread_cond_signal(&eng.work); /* a concurrency slot opened: one more may start */
    pthread_mutex_unlock(&eng.mu);
}

/*
 * Put e back in the store as queued, with the record of the attempt that
 * ended (0: none, it runs again as the same attempt); the running reference
 * goes with it.
 */
static void requeue(sluice_exec *e, int ended, uint64_t delay_ms, const char *why)
{
    pthread_mutex_lock(&e->mu);
    e->state = EXEC_QUEUED;
    pthread_mutex_unlock(&e->mu);
    store_requeue(e, ended);
    log_msg(LOG_INFO, e->request_id, "exec=%s flow=%s: %s", e->id, e->flow->key, why);
    leave_running(e);
    if (delay_ms) {
        engine_timer_add(units_mono_ms() + delay_ms, retry_fire, e, NULL);
    } else {
        exec_unref(e);
    }
}

void engine_finish(sluice_exec *e, int result)
{
    if (e->timeout_timer && engine_timer_cancel(&e->timeout_timer))
        exec_unref(e); /* the timer's reference */
    int reason = atomic_load(&e->cancel_reason);
    int unknown = 0;
    if (reason == SLUICE_CANCEL_SHUTDOWN && result != SLUICE_OK) {
        pthread_mutex_lock(&e->mu);
        int started = e->state == EXEC_RUNNING;
        pthread_mutex_unlock(&e->mu);
        if (!started) {
            requeue(e, 0, 0,
                    "stopped by shutdown before it started; queued again for the next "
                    "start");
            return;
        }
        /* Killed at shutdown_timeout mid-way: whether the command did its
         * work is not known, exactly as after a crash, and it is recorded
         * as recovery would (main.c, recover_one): the next attempt if the
         * flow allows one, else "unknown". Running it again as the same
         * attempt would run a flow without retry (a deploy) twice. */
        pthread_mutex_lock(&e->mu);
        char *said = e->error; /* the executor's word on the kill, kept after ours */
        size_t n = sizeof(EXEC_UNKNOWN_ERROR) + (said ? strlen(said) + 2 : 0);
        e->error = xmalloc(n);
        snprintf(e->error, n, "%s%s%s", EXEC_UNKNOWN_ERROR, said ? "; " : "", said ? said : "");
        free(said);
        pthread_mutex_unlock(&e->mu);
        if (e->attempt <= e->flow->retry_max) {
            int attempt = e->attempt;
            int ended = exec_end_attempt(e, EXEC_UNKNOWN);
            char why[160];
            snprintf(why, sizeof(why),
                     "attempt %d killed by shutdown; attempt %d of %d runs at the next start",
                     attempt, attempt + 1, e->flow->retry_max + 1);
            requeue(e, ended, 0, why);
            return;
        }
        unknown = 1;
    }
    if (result != SLUICE_OK && reason == SLUICE_CANCEL_NONE && e->attempt <= e->flow->retry_max) {
        uint64_t delay = retry_delay(e->flow, e->attempt);
        char why[160];
        snprintf(why, sizeof(why), "attempt %d failed; retrying in %llu ms (attempt %d of %d)",
                 e->attempt, (unsigned long long)delay, e->attempt + 1, e->flow->retry_max + 1);
        /* Its output, exit code and timings stay on record beside the
         * next attempt's. e->completed stays set: a second completion of
         * this failed attempt must be ignored. run_one clears it when the
         * next attempt starts. */
        int ended = exec_end_attempt(e, EXEC_FAILED);
        metrics_count_retry();
        requeue(e, ended, delay, why);
        return;
    }
    int state;
    if (result == SLUICE_OK)
        state = EXEC_SUCCEEDED;
    else if (unknown)
        state = EXEC_UNKNOWN;
    else if (reason == SLUICE_CANCEL_TIMEOUT)
        state = EXEC_TIMED_OUT;
    else if (reason != SLUICE_CANCEL_NONE)
        state = EXEC_CANCELLED;
    else
        state = EXEC_FAILED;
    if (state == EXEC_FAILED) {
        pthread_mutex_lock(&e->mu);
        if (!e->error)
            e->error = xstrdup("the executor reported failure without a message");
        pthread_mutex_unlock(&e->mu);
    }
    if (exec_set_final(e, state) == 0) {
        if (state != EXEC_CANCELLED) {
            /* It ended before a cancellation to make room reached it:
             * nothing replaced it. Cleared before the store reads it. */
            pthread_mutex_lock(&e->mu);
            e->replaced_by[0] = 0;
            pthread_mutex_unlock(&e->mu);
        }
        store_finish(e);
        metrics_count_finished(e->flow->key, state, e->finished_ms - e->started_ms);
        pthread_mutex_lock(&e->mu);
        int lvl = state == EXEC_SUCCEEDED ? LOG_INFO : LOG_WARN;
        char code[16] = "-";
        if (e->has_exit_code)
            snprintf(code, sizeof(code), "%d", e->exit_code);
        log_msg(lvl, e->request_id,
                "finished exec=%s trigger=%s flow=%s state=%s exit=%s in %llums%s%s", e->id,
                e->trigger->id, e->flow->key, exec_state_name(state), code,
                (unsigned long long)(e->finished_ms - e->started_ms), e->error ? ": " : "",
                e->error ? e->error : "");
        pthread_mutex_unlock(&e->mu);
    }
    leave_running(e);
    exec_unref(e); /* the running reference */
}

/* Called with eng.mu held when e has left the queue for a worker. */
static void enter_running(sluice_exec *e)
{
    atomic_fetch_add(&e->rt->running, 1);
    atomic_fetch_sub(&e->rt->queued, 1);
    if (eng.n_run == eng.cap_run) {
        eng.cap_run = eng.cap_run ? eng.cap_run * 2 : 16;
        eng.run = xrealloc(eng.run, eng.cap_run * sizeof(*eng.run));
    }
    eng.run[eng.n_run++] = e;
    eng.running++;
}

static void run_one(sluice_exec *e)
{
    const flow_def *f = e->flow;
    flow_rt *rt = e->rt;
    plugin *p = rt->plugin;
    if (atomic_load(&e->cancel_reason) != SLUICE_CANCEL_NONE) {
        pthread_mutex_lock(&e->mu);
        e->started_ms = units_now_ms();
        if (!e->error)
            e->error = xstrdup("cancelled before it started");
        pthread_mutex_unlock(&e->mu);
        atomic_store(&e->completed, 1);
        engine_finish(e, SLUICE_ERR);
        return;
    }
    pthread_mutex_lock(&e->mu);
    e->state = EXEC_RUNNING;
    e->started_ms = units_now_ms();
    /* This attempt's completion is still to come. */
    int attempt = e->attempt;
    atomic_store(&e->completed, 0);
    pthread_mutex_unlock(&e->mu);
    /* Recorded before the plugin runs: after a crash, an execution is either
     * still queued (never started) or known to have started. */
    if (store_mark_running(e) < 0) {
        pthread_mutex_lock(&e->mu);
        if (!e->error)
            e->error = xstrdup("the store could not record the start; not run");
        pthread_mutex_unlock(&e->mu);
        atomic_store(&e->completed, 1);
        engine_finish(e, SLUICE_ERR);
        return;
    }
    if (f->timeout_ms)
        engine_timer_add(units_mono_ms() + f->timeout_ms, timeout_fired, exec_ref(e),
                         &e->timeout_timer);

    exec_ref(e); /* the worker's own reference, see above */
    int reentrant = (p->desc.flags & SLUICE_PF_REENTRANT) != 0;
    if (!reentrant)
        pthread_mutex_lock(&rt->exec_lock);
    int rc = p->desc.execute(rt->instance, e);
    if (!reentrant)
        pthread_mutex_unlock(&rt->exec_lock);
    if (rc != SLUICE_PENDING) {
        if (rc != SLUICE_OK && rc != SLUICE_ERR) {
            log_msg(LOG_ERROR, e->request_id,
                    "exec=%s: plugin %s returned %d from execute; treating it as an error", e->id,
                    p->name, rc);
            rc = SLUICE_ERR;
        }
        /* Claim this attempt's completion, unless exec_complete did (a
         * retry may already have moved e on to its next attempt). */
        pthread_mutex_lock(&e->mu);
        int claim = e->attempt == attempt && atomic_exchange(&e->completed, 1) == 0;
        pthread_mutex_unlock(&e->mu);
        if (claim) {
            engine_finish(e, rc);
        } else if (atomic_exchange(&e->abandoned, 0)) {
            log_msg(LOG_WARN, e->request_id,
                    "exec=%s: plugin %s returned %d after the host had finished the "
                    "execution; ignored",
                    e->id, p->name, rc);
            exec_unref(e); /* the reference pending_grace_expired kept */
        } else {
            log_msg(LOG_WARN, e->request_id,
                    "exec=%s: plugin %s called exec_complete and also returned %d; ignored", e->id,
                    p->name, rc);
        }
    }
    exec_unref(e);
}

/*
 * An execution cancelled while queued, else the oldest queued execution
 * whose flow has a free concurrency slot (a flow at its limit does not hold
 * up the others). Called with eng.mu held.
 */
static sluice_exec *queue_take(void)
{
    sluice_exec *e = eng.chead;
    if (e) {
        eng.chead = e->qnext;
        if (!eng.chead)
            eng.ctail = NULL;
    } else {
        flow_rt *best = NULL;
        for (flow_rt *f = eng.qflows; f; f = f->q.next) {
            if (f->def->concurrency && atomic_load(&f->running) >= f->def->concurrency)
                continue;
            if (!best || f->q.head->qseq < best->q.head->qseq)
                best = f;
        }
        if (!best)
            return NULL;
        e = best->q.head;
        best->q.head = e->qnext;
        if (!best->q.head) {
            best->q.tail = NULL;
            flow_unlist(best);
        }
    }
    e->qnext = NULL;
    eng.queued--;
    eng.queued_bytes -= e->qbytes;
    return e;
}

static void *worker_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "worker");
    /* Per thread on Linux, and inherited by every process it spawns. */
    struct sched_param idle = {0};
    if (eng.nice == WORKER_IDLE && sched_setscheduler(0, SCHED_IDLE, &idle) < 0)
        log_warn("engine: cannot run the workers at SCHED_IDLE: %s", units_strerror(errno));
    /* Below intake, never above it: a sluiced started at nice 15 keeps its
     * flows at 15 rather than lifting them over its own threads. */
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int own = getpriority(PRIO_PROCESS, tid);
    if (errno)
        own = 0;
    if (eng.nice > own && setpriority(PRIO_PROCESS, tid, eng.nice) < 0)
        log_warn("engine: cannot lower the worker priority to nice %d: %s", eng.nice,
                 units_strerror(errno));
    pthread_mutex_lock(&eng.mu);
    for (;;) {
        sluice_exec *e = NULL;
        while (!eng.quit && (eng.stopping || !(e = queue_take())))
            pthread_cond_wait(&eng.work, &eng.mu);
        if (!e)
            break;
        enter_running(e);
        pthread_mutex_unlock(&eng.mu);
        run_one(e);
        pthread_mutex_lock(&eng.mu);
    }
    pthread_mutex_unlock(&eng.mu);
    return NULL;
}

int engine_start(int workers, int nice, size_t max_queue, uint64_t max_queue_memory)
{
    eng.nice = nice;
    cond_init_mono(&eng.tcond);
    cond_init_mono(&eng.idle);
    eng.max_queue = max_queue;
    eng.max_queue_bytes = max_queue_memory;
    eng.n_workers = workers;
    eng.workers = xcalloc((size_t)workers, sizeof(pthread_t));
    if (pthread_create(&eng.timer_thread, NULL, timer_main, NULL) != 0)
        return -1;
    for (int i = 0; i < workers; i++)
        if (pthread_create(&eng.workers[i], NULL, worker_main, NULL) != 0)
            return -1;
    return 0;
}

size_t engine_queued(void)
{
    pthread_mutex_lock(&eng.mu);
    size_t n = eng.queued;
    pthread_mutex_unlock(&eng.mu);
    return n;
}

void engine_queue_memory(uint64_t *held, uint64_t *limit)
{
    pthread_mutex_lock(&eng.mu);
    *held = eng.queued_bytes;
    *limit = eng.max_queue_bytes;
    pthread_mutex_unlock(&eng.mu);
}

size_t engine_running(void)
{
    pthread_mutex_lock(&eng.mu);
    size_t n = eng.running;
    pthread_mutex_unlock(&eng.mu);
    return n;
}

size_t engine_capacity(void)
{
    return eng.max_queue;
}

static int wait_idle_until(uint64_t deadline)
{
    pthread_mutex_lock(&eng.mu);
    while (eng.running && units_mono_ms() < deadline) {
        struct timespec ts;
        deadline_to_ts(deadline, &ts);
        pthread_cond_timedwait(&eng.idle, &eng.mu, &ts);
    }
    int idle = !eng.running;
    pthread_mutex_unlock(&eng.mu);
    return idle;
}

size_t engine_drain(uint64_t timeout_ms)
{
    pthread_mutex_lock(&eng.mu);
    eng.stopping = 1;
    pthread_cond_broadcast(&eng.work);
    size_t queued = eng.queued;
    pthread_mutex_unlock(&eng.mu);
    if (!wait_idle_until(units_mono_ms() + timeout_ms)) {
        /* Time is up: what still runs is told to stop; the store records it
         * as queued again, so it runs at the next start. */
        log_warn("shutdown: %zu executions still running after %llu ms; cancelling them",
                 engine_running(), (unsigned long long)timeout_ms);
        pthread_mutex_lock(&eng.mu);
        size_t n = eng.n_run;
        sluice_exec **v = xmalloc((n ? n : 1) * sizeof(*v));
        for (size_t i = 0; i < n; i++)
            v[i] = exec_ref(eng.run[i]);
        pthread_mutex_unlock(&eng.mu);
        for (size_t i = 0; i < n; i++) {
            engine_cancel(v[i], SLUICE_CANCEL_SHUTDOWN);
            exec_unref(v[i]);
        }
        free(v);
        wait_idle_until(units_mono_ms() + PENDING_GRACE_MS + 1000);
    }
    return queued;
}

/* At stop: the store keeps e queued for the next start. */
static void queue_drop(sluice_exec *e)
{
    atomic_fetch_sub(&e->rt->queued, 1);
    exec_abandon_waiters(e);
    exec_unref(e);
}

void engine_stop(void)
{
    pthread_mutex_lock(&eng.mu);
    eng.quit = 1;
    pthread_cond_broadcast(&eng.work);
    pthread_mutex_unlock(&eng.mu);
    for (int i = 0; i < eng.n_workers; i++)
        pthread_join(eng.workers[i], NULL);
    free(eng.workers);
    eng.workers = NULL;
    free(eng.run);
    eng.run = NULL;
    pthread_mutex_lock(&eng.tmu);
    __atomic_store_n(&eng.tquit, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&eng.tcond);
    pthread_mutex_unlock(&eng.tmu);
    pthread_join(eng.timer_thread, NULL);
    /* Timers left (sync waits, grace periods) hold references: fire them
     * now so their owners release what they hold. */
    while (eng.thead) {
        engine_timer *t = eng.thead;
        timer_unlink(t);
        if (t->slot)
            *t->slot = NULL;
        t->fn(t->arg);
        free(t);
    }
    /* Queued executions (a retry that was waiting out its delay has just
     * joined them) are safe in the store; drop the memory copies, and
     * whoever still waits for one. */
    while (eng.qflows) {
        flow_rt *f = eng.qflows;
        sluice_exec *e = f->q.head, *next;
        /* Unlisted first: the last execution dropped may free f. */
        f->q.head = f->q.tail = NULL;
        flow_unlist(f);
        for (; e; e = next) {
            next = e->qnext;
            queue_drop(e);
        }
    }
    for (sluice_exec *e = eng.chead, *next; e; e = next) {
        next = e->qnext;
        queue_drop(e);
    }
    eng.chead = eng.ctail = NULL;
    eng.queued = 0;
    eng.queued_bytes = 0;
}

/* ---- the live set: unfinished executions by id ---- */

/*
 * Cancel, follow and sync waits find the execution object itself while it
 * is unfinished; the store shows it from here too (store_hooks, handed in
 * by main.c). An execution joins when its accept is on record, or when
 * recovery resumes it, and leaves once its final state is: until then the
 * store's own record is behind it. live.mu is a leaf: nothing is called
 * with it held.
 */
static struct {
    pthread_mutex_t mu;
    sluice_exec **buckets; /* chains through live_next; NULL until the first */
    size_t n_buckets, n;
} live = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t live_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Called with live.mu held. Fails only for want of memory, and then only
 * the first time: a set that cannot grow keeps longer chains. */
static int live_grow(void)
{
    size_t nb = live.n_buckets ? live.n_buckets * 2 : 64;
    sluice_exec **b = calloc(nb, sizeof(*b));
    if (!b)
        return live.buckets ? 0 : -1;
    for (size_t i = 0; i < live.n_buckets; i++)
        for (sluice_exec *x = live.buckets[i], *next; x; x = next) {
            next = x->live_next;
            size_t k = live_hash(x->id) & (nb - 1);
            x->live_next = b[k];
            b[k] = x;
        }
    free(live.buckets);
    live.buckets = b;
    live.n_buckets = nb;
    return 0;
}

void engine_adopt(sluice_exec *e)
{
    pthread_mutex_lock(&live.mu);
    if (live.n >= live.n_buckets && live_grow() < 0) {
        pthread_mutex_unlock(&live.mu);
        log_error("exec=%s: out of memory for the live set", e->id);
        return;
    }
    /* The set holds a reference; the link is e's own. */
    size_t k = live_hash(e->id) & (live.n_buckets - 1);
    e->live_next = live.buckets[k];
    live.buckets[k] = exec_ref(e);
    live.n++;
    pthread_mutex_unlock(&live.mu);
}

void engine_forget(sluice_exec *e)
{
    sluice_exec *held = NULL;
    pthread_mutex_lock(&live.mu);
    if (live.buckets)
        for (sluice_exec **pp = &live.buckets[live_hash(e->id) & (live.n_buckets - 1)]; *pp;
             pp = &(*pp)->live_next)
            if (*pp == e) {
                held = e;
                *pp = e->live_next;
                e->live_next = NULL;
                live.n--;
                break;
            }
    pthread_mutex_unlock(&live.mu);
    exec_unref(held);
}

sluice_exec *engine_find(const char *id)
{
    sluice_exec *e = NULL;
    pthread_mutex_lock(&live.mu);
    if (live.buckets)
        for (sluice_exec *x = live.buckets[live_hash(id) & (live.n_buckets - 1)]; x;
             x = x->live_next)
            if (strcmp(x->id, id) == 0) {
                e = exec_ref(x);
                break;
            }
    pthread_mutex_unlock(&live.mu);
    return e;
}

void engine_forget_all(void)
{
    pthread_mutex_lock(&live.mu);
    for (size_t i = 0; i < live.n_buckets; i++)
        for (sluice_exec *x = live.buckets[i], *next; x; x = next) {
            next = x->live_next;
            x->live_next = NULL;
            exec_unref(x);
        }
    free(live.buckets);
    live.buckets = NULL;
    live.n_buckets = live.n = 0;
    pthread_mutex_unlock(&live.mu);
}
