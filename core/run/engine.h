/*
 * engine.h - the bounded queue, the worker pool and the timers.
 *
 * HTTP threads only ever enqueue. Workers dequeue and call the plugin's
 * execute; plugin code never runs on an HTTP thread. One timer thread fires
 * flow timeouts and sync-wait deadlines.
 */
#ifndef SLUICE_ENGINE_H
#define SLUICE_ENGINE_H

#include "exec.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Start the timer thread and workers. Workers run at nice (0-19), and so
 * does everything they spawn: webhook intake, which senders time out on,
 * keeps the CPU while flows are busy, and a flow stuck in a hot loop cannot
 * starve it; idle cycles still all go to the flows. WORKER_IDLE goes
 * further (SCHED_IDLE): flows get only cycles nothing else wants, which on
 * a dedicated host gives intake all it can use, and on a busy one may hold
 * flows back for as long as it stays busy.
 */
int engine_start(int workers, int nice, size_t max_queue, uint64_t max_queue_memory);

/*
 * Admission is two steps so nothing is stored that cannot run: reserve
 * room for n executions (all or none: a fan-out is one decision) that
 * will hold bytes of memory while queued, store them, then enqueue them
 * (or release the room when the store failed). The queue is bounded in
 * both: server.max_queue executions and server.max_queue_memory bytes (an
 * empty queue takes any request, so one body under max_body always fits).
 * engine_reserve says which limit, if any, refused the reservation.
 */
typedef enum engine_reserve_result {
    ENGINE_OK,        /* reserved */
    ENGINE_FULL,      /* server.max_queue executions are queued or reserved */
    ENGINE_NO_MEMORY, /* the queue holds server.max_queue_memory bytes */
    ENGINE_STOPPING,  /* draining: nothing more is taken */
} engine_reserve_result;
engine_reserve_result engine_reserve(size_t n, size_t bytes);
void engine_unreserve(size_t n, size_t bytes);
/* Enqueue executions (taking a reference to each); reserved says whether
 * room was reserved for them (recovered work is queued regardless): each
 * releases e->qbytes of the reservation and holds them until dequeued. */
void engine_enqueue(sluice_exec **v, size_t n, int reserved);

/* What a queued execution holds, roughly, for engine_reserve: its event
 * (which carries the body as text) and the stored copy of the rest, the
 * raw body, the headers, and the bookkeeping around them. */
static inline size_t engine_exec_bytes(size_t body_len, size_t other_len)
{
    return 2 * body_len + 2 * other_len + 2048;
}

/* Executions of flow running or queued now. */
size_t engine_flow_load(const flow_rt *f);
/*
 * Cancel the execution of flow key that started first, to make room for
 * the execution by (on_limit = cancel): it records by as its replaced_by,
 * and its id goes to cancelled (len bytes). 0, or -1 when none could be.
 */
int engine_cancel_oldest(const char *flow_key, const char *by, char *cancelled, size_t len);

/* Finish an execution with SLUICE_OK or SLUICE_ERR (workers, exec_complete). */
void engine_finish(sluice_exec *e, int result);

/* Ask a queued or running execution to stop. Returns 0, or -1 when it has
 * already finished. */
int engine_cancel(sluice_exec *e, int reason);

typedef struct engine_timer engine_timer;

/*
 * Call fn(arg) on the timer thread at deadline (units_mono_ms clock). After
 * engine_stop nothing is scheduled and fn is never called. When
 * slot is not NULL it receives the timer and is cleared (under the timer
 * lock) when the timer fires, so engine_timer_cancel(slot) is always safe.
 */
void engine_timer_add(uint64_t deadline, void (*fn)(void *), void *arg, engine_timer **slot);
/* 1 when the timer was removed before firing (fn will not run), else 0. */
int engine_timer_cancel(engine_timer **slot);

size_t engine_queued(void);
size_t engine_running(void);
size_t engine_capacity(void);
/* Bytes the waiting executions hold (engine_reserve), and the limit. */
void engine_queue_memory(uint64_t *held, uint64_t *limit);

/*
 * Stop taking and starting work, let running executions finish for up to
 * timeout_ms, then cancel what still runs (SLUICE_CANCEL_SHUTDOWN: recorded
 * as queued again, to run at the next start) and give it a short grace.
 * Queued executions stay queued in the store. Returns how many were queued.
 */
size_t engine_drain(uint64_t timeout_ms);
/* Stop the worker and timer threads (after engine_drain). */
void engine_stop(void);

/*
 * The live set: unfinished executions by id, each with a reference the
 * set holds. engine_adopt adds e (an accept on record, a recovered
 * execution); engine_forget drops it once its final state is on record;
 * engine_find returns a new reference, or NULL. The store is handed these
 * (store_hooks). engine_forget_all empties the set at exit.
 */
void engine_adopt(sluice_exec *e);
void engine_forget(sluice_exec *e);
sluice_exec *engine_find(const char *id);
void engine_forget_all(void);

#endif
