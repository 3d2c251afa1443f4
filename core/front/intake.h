/*
 * intake.h - admission: the one way work enters the engine.
 *
 * A webhook request and a replay through the admin API are both admitted
 * by intake_submit, so both obey the same rules in the same order:
 *   1. idempotency: a key seen for the trigger within its idempotency TTL
 *      is a duplicate, answered with what was stored then;
 *   2. the flows' concurrency: a flow at its limit with on_limit = "reject"
 *      refuses the request ("cancel" makes room once it is committed);
 *   3. room in the queue (engine_reserve): server.max_queue and
 *      server.max_queue_memory, and not while shutting down;
 *   4. the executions are built (by the caller: only it knows where they
 *      come from) and handed to the store; at commit the new ones are
 *      enqueued, the rest of the reservation is released, and once the
 *      batch is durable (or failed) done() runs on the store's syncer
 *      thread. Nothing waits: the caller parks its connection meanwhile.
 *
 * Recovery at start does not go through intake_submit but through its
 * last step (intake_recover): what it finds was acknowledged by an earlier
 * process, so refusing it for a limit or as a duplicate would lose
 * acknowledged work, and its row is already in the store.
 */
#ifndef SLUICE_INTAKE_H
#define SLUICE_INTAKE_H

#include "config.h"
#include "exec.h"
#include "generation.h"

#include <stddef.h>
#include <stdint.h>

/* What intake_submit did with a request. */
typedef enum intake_status {
    INTAKE_SUBMITTED,    /* handed to the store: done() will run, once */
    INTAKE_SEEN,         /* its idempotency key was seen: why->dup_ids */
    INTAKE_FLOW_BUSY,    /* a flow is at its concurrency, on_limit = "reject" */
    INTAKE_QUEUE_FULL,   /* server.max_queue executions are waiting */
    INTAKE_QUEUE_MEMORY, /* the queue holds server.max_queue_memory bytes */
    INTAKE_STOPPING,     /* sluiced is shutting down */
    INTAKE_NOT_BUILT,    /* build() failed; the reason is the caller's */
} intake_status;

/* What the store made of a submitted batch, handed to done(). */
typedef enum intake_result {
    INTAKE_STORED,       /* durable; the new executions are queued */
    INTAKE_DUPLICATE,    /* every execution repeats one stored meanwhile (e->dup_of) */
    INTAKE_STORE_FAILED, /* not durable: answer 503, the sender may retry */
} intake_result;

#define INTAKE_MAX_DUPS 16

/* Why a request was refused, as the answer says it (statuses as webhooks
 * have always had them), for every status but SUBMITTED and NOT_BUILT. */
typedef struct intake_refusal {
    unsigned status;  /* 503, or 200 for INTAKE_SEEN */
    const char *code; /* "flow_busy", "queue_full", ... */
    char message[300];
    const char *retry_after; /* seconds, as the header's text */
    char dup_ids[INTAKE_MAX_DUPS][40];
    size_t n_dups;
} intake_refusal;

typedef struct intake_request {
    const char *request_id;
    const trigger_def *trigger; /* idempotency scope and TTL */
    flow_rt *const *flows;      /* one execution each, in this order (generation.h) */
    size_t n_flows;
    const char *idem_key; /* NULL: none; copied into each execution */
    uint64_t received_ms;
    size_t qbytes; /* what each execution holds while queued (engine_exec_bytes) */
    /* Make the executions into out[0..n_flows) once room is reserved;
     * returns how many it made (fewer: failed, and those are dropped). It
     * may also prepare what must exist before the store can answer (a sync
     * wait on the executions). */
    size_t (*build)(void *build_arg, sluice_exec **out, size_t n);
    void *build_arg;
    void (*done)(void *arg, intake_result r);
    void *arg;
} intake_request;

/*
 * Admit a request. SUBMITTED: execs[0..n_flows) hold the executions (the
 * caller's references) and done(arg, ...) will run on the syncer thread.
 * Otherwise nothing is reserved or stored (build ran only for NOT_BUILT),
 * execs is left empty, and why says how to answer. execs has room for
 * n_flows. Never blocks.
 */
intake_status intake_submit(const intake_request *rq, sluice_exec **execs, intake_refusal *why);

/* Shutdown: refuse every submit from now on, then wait until every batch
 * already submitted has had its done() (so no connection stays parked on
 * the store). Safe to call more than once. */
void intake_close(void);

/* Recovery: queue e, which the store already holds and an earlier process
 * accepted, with no limit applied (see above). */
void intake_recover(sluice_exec *e);

#endif
