/*
 * engine.c - queue, workers, timers.
 *
 * Executions move through one FIFO protected by one mutex: at the rates a
 * webhook server sees (tens of thousands per second at most) a single lock
 * is nowhere near contended, and one FIFO keeps arrival order.
 *
 * Reference counting: the queue holds one reference per queued execution;
 * a worker turns it into the "running" reference, which engine_finish drops
 * exactly once. The worker also holds its own reference around execute so
 * that a plugin completing from another thread cannot free the execution
 * under it.
 */
#include "engine.h"

#include "loader.h"
#include "log.h"
#include "store.h"
#include "units.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    pthread_cond_t work; /* queue not empty, or quitting */
    pthread_cond_t idle; /* an execution finished */
    sluice_exec *head, *tail;
    size_t queued, running, max_queue;
    int stopping, quit;
    pthread_t *workers;
    int n_workers;

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

/* ---- timers ---- */

void engine_timer_add(uint64_t deadline, void (*fn)(void *), void *arg, engine_timer **slot)
{
    engine_timer *t = calloc(1, sizeof(*t));
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
    plugin *p = e->flow->plugin;
    if (p && p->desc.cancel)
        p->desc.cancel(e->flow->instance, e);
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
            e->error = strdup("the executor did not complete after cancellation");
        pthread_mutex_unlock(&e->mu);
        /* The plugin may still hold e and call exec_complete late: keep the
         * running reference alive (engine_finish drops one, so add one). */
        exec_ref(e);
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
    }
    /* A queued execution is finished by the worker that dequeues it. */
    return 0;
}

/* ---- queue and workers ---- */

int engine_submit(sluice_exec **v, size_t n)
{
    pthread_mutex_lock(&eng.mu);
    if (eng.stopping) {
        pthread_mutex_unlock(&eng.mu);
        return -2;
    }
    if (eng.queued + n > eng.max_queue) {
        pthread_mutex_unlock(&eng.mu);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        sluice_exec *e = exec_ref(v[i]);
        e->qnext = NULL;
        if (eng.tail)
            eng.tail->qnext = e;
        else
            eng.head = e;
        eng.tail = e;
    }
    eng.queued += n;
    if (n == 1)
        pthread_cond_signal(&eng.work);
    else
        pthread_cond_broadcast(&eng.work);
    pthread_mutex_unlock(&eng.mu);
    return 0;
}

void engine_finish(sluice_exec *e, int result)
{
    if (e->timeout_timer && engine_timer_cancel(&e->timeout_timer))
        exec_unref(e); /* the timer's reference */
    int reason = atomic_load(&e->cancel_reason);
    int state;
    if (result == SLUICE_OK)
        state = EXEC_SUCCEEDED;
    else if (reason == SLUICE_CANCEL_TIMEOUT)
        state = EXEC_TIMED_OUT;
    else if (reason != SLUICE_CANCEL_NONE)
        state = EXEC_CANCELLED;
    else
        state = EXEC_FAILED;
    if (state == EXEC_FAILED) {
        pthread_mutex_lock(&e->mu);
        if (!e->error)
            e->error = strdup("the executor reported failure without a message");
        pthread_mutex_unlock(&e->mu);
    }
    if (exec_set_final(e, state) == 0) {
        atomic_fetch_sub(&e->flow->running, 1);
        store_finish(e);
        pthread_mutex_lock(&e->mu);
        int lvl = state == EXEC_SUCCEEDED ? LOG_INFO : LOG_WARN;
        char code[16] = "-";
        if (e->has_exit_code)
            snprintf(code, sizeof(code), "%d", e->exit_code);
        log_msg(lvl, e->request_id, "finished exec=%s flow=%s state=%s exit=%s in %llums%s%s",
                e->id, e->flow->key, exec_state_name(state), code,
                (unsigned long long)(e->finished_ms - e->started_ms), e->error ? ": " : "",
                e->error ? e->error : "");
        pthread_mutex_unlock(&e->mu);
    }
    pthread_mutex_lock(&eng.mu);
    eng.running--;
    pthread_cond_broadcast(&eng.idle);
    pthread_mutex_unlock(&eng.mu);
    exec_unref(e); /* the running reference */
}

static void run_one(sluice_exec *e)
{
    flow_def *f = e->flow;
    plugin *p = f->plugin;
    if (atomic_load(&e->cancel_reason) != SLUICE_CANCEL_NONE) {
        pthread_mutex_lock(&e->mu);
        e->started_ms = units_now_ms();
        if (!e->error)
            e->error = strdup("cancelled before it started");
        pthread_mutex_unlock(&e->mu);
        atomic_fetch_add(&f->running, 1);
        atomic_store(&e->completed, 1);
        engine_finish(e, SLUICE_ERR);
        return;
    }
    pthread_mutex_lock(&e->mu);
    e->state = EXEC_RUNNING;
    e->started_ms = units_now_ms();
    pthread_mutex_unlock(&e->mu);
    atomic_fetch_add(&f->running, 1);
    store_update(e);
    if (f->timeout_ms)
        engine_timer_add(units_mono_ms() + f->timeout_ms, timeout_fired, exec_ref(e),
                         &e->timeout_timer);

    exec_ref(e); /* the worker's own reference, see above */
    int reentrant = (p->desc.flags & SLUICE_PF_REENTRANT) != 0;
    if (!reentrant)
        pthread_mutex_lock(&f->exec_lock);
    int rc = p->desc.execute(f->instance, e);
    if (!reentrant)
        pthread_mutex_unlock(&f->exec_lock);
    if (rc != SLUICE_PENDING) {
        if (rc != SLUICE_OK && rc != SLUICE_ERR) {
            log_msg(LOG_ERROR, e->request_id,
                    "exec=%s: plugin %s returned %d from execute; treating it as an error",
                    e->id, p->name, rc);
            rc = SLUICE_ERR;
        }
        if (atomic_exchange(&e->completed, 1) == 0)
            engine_finish(e, rc);
        else
            log_msg(LOG_WARN, e->request_id,
                    "exec=%s: plugin %s called exec_complete and also returned %d; ignored",
                    e->id, p->name, rc);
    }
    exec_unref(e);
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&eng.mu);
    for (;;) {
        while (!eng.head && !eng.quit)
            pthread_cond_wait(&eng.work, &eng.mu);
        if (!eng.head)
            break;
        sluice_exec *e = eng.head;
        eng.head = e->qnext;
        if (!eng.head)
            eng.tail = NULL;
        e->qnext = NULL;
        eng.queued--;
        eng.running++;
        pthread_mutex_unlock(&eng.mu);
        run_one(e);
        pthread_mutex_lock(&eng.mu);
    }
    pthread_mutex_unlock(&eng.mu);
    return NULL;
}

int engine_start(int workers, size_t max_queue)
{
    cond_init_mono(&eng.tcond);
    cond_init_mono(&eng.idle);
    eng.max_queue = max_queue;
    eng.n_workers = workers;
    eng.workers = calloc((size_t)workers, sizeof(pthread_t));
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
    while ((eng.queued || eng.running) && units_mono_ms() < deadline) {
        struct timespec ts;
        deadline_to_ts(deadline, &ts);
        pthread_cond_timedwait(&eng.idle, &eng.mu, &ts);
    }
    int idle = !eng.queued && !eng.running;
    pthread_mutex_unlock(&eng.mu);
    return idle;
}

size_t engine_drain(uint64_t timeout_ms)
{
    pthread_mutex_lock(&eng.mu);
    eng.stopping = 1;
    pthread_mutex_unlock(&eng.mu);
    if (wait_idle_until(units_mono_ms() + timeout_ms))
        return 0;

    /* Time is up: what has not started will not start; what runs is told
     * to stop and given a short grace. */
    pthread_mutex_lock(&eng.mu);
    sluice_exec *q = eng.head;
    size_t dropped = eng.queued;
    eng.head = eng.tail = NULL;
    eng.queued = 0;
    pthread_mutex_unlock(&eng.mu);
    while (q) {
        sluice_exec *next = q->qnext;
        atomic_store(&q->cancel_reason, SLUICE_CANCEL_SHUTDOWN);
        pthread_mutex_lock(&eng.mu);
        eng.running++;
        pthread_mutex_unlock(&eng.mu);
        run_one(q); /* finishes it as cancelled without running */
        q = next;
    }
    store_cancel_running(SLUICE_CANCEL_SHUTDOWN);
    wait_idle_until(units_mono_ms() + PENDING_GRACE_MS + 1000);
    return dropped;
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
    pthread_mutex_lock(&eng.tmu);
    eng.tquit = 1;
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
}
