/*
 * intake.c - admission: idempotency, flow limits, queue room, store, queue.
 *
 * Threads: intake_submit runs on an HTTP thread; on_committed on the store
 * thread, on_stored on the syncer thread. A batch belongs to intake from
 * store_accept until on_stored has called done(); the caller's references
 * to the executions are its own.
 */
#include "intake.h"

#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    pthread_mutex_t mu;
    /* Shutdown (intake_close): nothing more is stored, so no request can
     * still be parked on the store when the daemons stop. */
    int closing;
    size_t storing;        /* batches between store_accept and on_stored */
    pthread_cond_t stored; /* storing went down */
} in = {.mu = PTHREAD_MUTEX_INITIALIZER, .stored = PTHREAD_COND_INITIALIZER};

typedef struct batch {
    sluice_exec **execs; /* intake's references */
    size_t n;
    size_t qbytes;
    int committed;
    void (*done)(void *arg, intake_result r);
    void *arg;
    char request_id[40];
} batch;

static void refuse(intake_refusal *why, const char *code, const char *retry_after, const char *msg)
{
    why->status = 503;
    why->code = code;
    why->retry_after = retry_after;
    snprintf(why->message, sizeof(why->message), "%s", msg);
}

/* Per-flow concurrency at admission: on_limit = "reject" refuses here;
 * "cancel" makes room once the batch is committed (make_room). */
static int flows_busy(const intake_request *rq, intake_refusal *why)
{
    for (size_t i = 0; i < rq->n_flows; i++) {
        const flow_def *f = rq->flows[i]->def;
        if (!f->concurrency || engine_flow_load(rq->flows[i]) < (size_t)f->concurrency)
            continue;
        if (f->on_limit == ON_LIMIT_REJECT) {
            char msg[300];
            snprintf(msg, sizeof(msg), "flow %s is running %d executions, its limit", f->key,
                     f->concurrency);
            refuse(why, "flow_busy", "1", msg);
            return 1;
        }
    }
    return 0;
}

/* on_limit = "cancel", store thread: once the new executions are
 * committed, each cancels the oldest running one of its flow if the flow
 * is at its limit, and the two name each other. Not before: a batch the
 * store refused (answered 503) or a duplicate of a delivery stored
 * meanwhile would have cancelled a running execution for nothing, in
 * favour of an id that is never stored. The newcomer's "replaces" goes to
 * the store with its result (store.c, "what an attempt writes"). */
static void make_room(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        sluice_exec *e = b->execs[i];
        const flow_def *f = exec_flow(e);
        if (exec_store_status(e) != STORE_OK || f->on_limit != ON_LIMIT_CANCEL || !f->concurrency ||
            engine_flow_load(exec_runtime(e)) < (size_t)f->concurrency)
            continue;
        char old[40];
        if (engine_cancel_oldest(f->key, exec_id(e), old, sizeof(old)) < 0)
            continue;
        exec_set_replaces(e, old);
    }
}

/* Store thread, the batch is committed: what is new may run now. */
static void on_committed(void *arg)
{
    batch *b = arg;
    make_room(b);
    size_t ok = 0;
    /* As many as the trigger has flows: config sets no cap on those. */
    sluice_exec **run = xcalloc(b->n ? b->n : 1, sizeof(*run));
    for (size_t i = 0; i < b->n; i++)
        if (exec_store_status(b->execs[i]) == STORE_OK)
            run[ok++] = b->execs[i];
    if (ok)
        engine_enqueue(run, ok, 1);
    free(run);
    engine_unreserve(b->n - ok, (b->n - ok) * b->qbytes);
    for (size_t i = 0; i < ok; i++)
        metrics_count_accepted();
    b->committed = 1;
}

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        exec_unref(b->execs[i]);
    free(b->execs);
    free(b);
}

/* A batch handed to the store has its answer: on_stored is done with it. */
static void storing_done(void)
{
    pthread_mutex_lock(&in.mu);
    if (--in.storing == 0)
        pthread_cond_broadcast(&in.stored);
    pthread_mutex_unlock(&in.mu);
}

/* Syncer thread: durable (or failed); the request may be answered. */
static void on_stored(void *arg, int durable)
{
    batch *b = arg;
    if (!b->committed)
        engine_unreserve(b->n, b->n * b->qbytes);
    if (!durable && b->committed)
        log_msg(LOG_ERROR, b->request_id,
                "the request was committed but could not be flushed to disk; its "
                "executions may still run");
    intake_result r = INTAKE_STORE_FAILED;
    if (durable && b->committed) {
        r = INTAKE_DUPLICATE;
        for (size_t i = 0; i < b->n; i++)
            if (exec_store_status(b->execs[i]) != STORE_DUPLICATE)
                r = INTAKE_STORED;
    }
    b->done(b->arg, r);
    batch_free(b);
    /* Last: shutdown must not go on before this request was handed back. */
    storing_done();
}

intake_status intake_submit(const intake_request *rq, sluice_exec **execs, intake_refusal *why)
{
    memset(why, 0, sizeof(*why));
    const trigger_def *t = rq->trigger;
    if (rq->idem_key) {
        size_t n = store_find_idempotent(t->id, rq->idem_key, rq->received_ms - t->idem_ttl_ms,
                                         why->dup_ids, INTAKE_MAX_DUPS);
        if (n) {
            why->status = 200;
            why->n_dups = n;
            return INTAKE_SEEN;
        }
    }
    if (flows_busy(rq, why))
        return INTAKE_FLOW_BUSY;
    switch (engine_reserve(rq->n_flows, rq->n_flows * rq->qbytes)) {
    case ENGINE_OK:
        break;
    case ENGINE_STOPPING:
        refuse(why, "shutting_down", "5", "sluiced is shutting down");
        return INTAKE_STOPPING;
    case ENGINE_FULL:
        refuse(why, "queue_full", "1", "the execution queue is full; retry later");
        return INTAKE_QUEUE_FULL;
    case ENGINE_NO_MEMORY:
        refuse(why, "queue_full", "1",
               "the execution queue holds all the memory it may (server.max_queue_memory); "
               "retry later");
        return INTAKE_QUEUE_MEMORY;
    }
    /* Shutting down: the store may answer after the daemons stop, so
     * nothing is stored any more (intake_close). Counted before the
     * executions are built, so a sync wait the builder lists is expired
     * only once this batch is stored. */
    pthread_mutex_lock(&in.mu);
    if (in.closing) {
        pthread_mutex_unlock(&in.mu);
        engine_unreserve(rq->n_flows, rq->n_flows * rq->qbytes);
        refuse(why, "shutting_down", "5", "sluiced is shutting down");
        return INTAKE_STOPPING;
    }
    in.storing++;
    pthread_mutex_unlock(&in.mu);

    size_t made = rq->build(rq->build_arg, execs, rq->n_flows);
    if (made < rq->n_flows) {
        /* Nothing was stored or queued: the room goes back, the sender may retry. */
        for (size_t i = 0; i < made; i++) {
            exec_unref(execs[i]);
            execs[i] = NULL;
        }
        engine_unreserve(rq->n_flows, rq->n_flows * rq->qbytes);
        storing_done();
        return INTAKE_NOT_BUILT;
    }
    batch *b = xcalloc(1, sizeof(*b));
    b->execs = xcalloc(rq->n_flows ? rq->n_flows : 1, sizeof(*b->execs));
    b->n = rq->n_flows;
    b->qbytes = rq->qbytes;
    b->done = rq->done;
    b->arg = rq->arg;
    snprintf(b->request_id, sizeof(b->request_id), "%s", rq->request_id ? rq->request_id : "");
    for (size_t i = 0; i < b->n; i++) {
        sluice_exec *e = execs[i];
        /* qbytes: what was reserved, released as it is enqueued. */
        exec_set_admission(e, rq->idem_key, rq->qbytes);
        b->execs[i] = exec_ref(e);
    }
    /* Durable before acknowledged: the caller parks until on_stored. */
    store_accept(b->execs, b->n, on_committed, on_stored, b);
    return INTAKE_SUBMITTED;
}

void intake_close(void)
{
    pthread_mutex_lock(&in.mu);
    in.closing = 1;
    while (in.storing > 0)
        pthread_cond_wait(&in.stored, &in.mu);
    pthread_mutex_unlock(&in.mu);
}

void intake_recover(sluice_exec *e)
{
    engine_adopt(e);
    engine_enqueue(&e, 1, 0);
}
