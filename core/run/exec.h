/*
 * exec.h - one execution: what it runs, what it produced, who waits for it.
 *
 * An execution is reference counted. The engine's live set holds one
 * reference while it is unfinished (engine_find), the queue or worker
 * holds one while it runs, a sync request holds one while it waits. Fields
 * set at creation are immutable; results are written under mu.
 */
#ifndef SLUICE_EXEC_H
#define SLUICE_EXEC_H

#include "abi_rules.h"
#include "config.h"
#include "execstate.h"
#include "generation.h"

#include <sluice/plugin.h>

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* The error of an execution (or attempt) in EXEC_UNKNOWN. */
#define EXEC_UNKNOWN_ERROR "sluiced stopped while this ran; whether it finished is not known"

/* Head and tail of one output stream; the middle is counted, not kept.
 * The mock host keeps logs with the same code (abi_rules.h). */
typedef abi_rules_log logbuf;

typedef struct exec_waiter {
    void (*wake)(void *arg);
    void *arg;
    struct exec_waiter *next;
} exec_waiter;

/*
 * A live reader of an execution's output (a logs?follow stream). For every
 * exec_write_log, push runs with e->mu held, so it must neither block nor
 * allocate; it returns 1 when its reader must be woken, and wake then runs
 * once e->mu is released. Like exec_waiter, the listener is the caller's
 * memory: registering never allocates.
 */
typedef struct exec_log_listener {
    int (*push)(void *arg, const sluice_exec *e, int stream, const char *data, size_t len);
    void (*wake)(void *arg);
    void *arg;
    struct exec_log_listener *next;      /* under e->mu */
    struct exec_log_listener *wake_next; /* from push to wake */
} exec_log_listener;

struct engine_timer;

/*
 * The request body as it arrived, with its Content-Type header: what
 * exec_body lends a plugin. One request's executions share it (a fan-out
 * does not copy the bytes), so it is reference counted and immutable.
 */
typedef struct exec_body {
    atomic_int refs;
    char *bytes; /* len bytes and a NUL; NULL when there is none to give */
    size_t len;
    char *content_type; /* as received, parameters included; NULL: none */
} exec_body;

/* bytes may be NULL (no body, or one withheld); everything is copied.
 * Returns with one reference, or NULL when out of memory. */
exec_body *exec_body_new(const void *bytes, size_t len, const char *content_type);
exec_body *exec_body_ref(exec_body *b);
void exec_body_unref(exec_body *b);

/*
 * An attempt that ended and was followed by another (a retry), with what it
 * produced. The execution keeps it only until the store has written it
 * (store_requeue): the last attempt's results are the execution's own, so
 * an execution that is not retried never makes one.
 */
typedef struct exec_attempt {
    int attempt, state;
    int exit_code, has_exit_code;
    char *error;
    uint64_t started_ms, finished_ms;
    char *out, *err; /* stdout and stderr as logbuf_render gives them; NULL: none kept */
    size_t out_len, err_len;
} exec_attempt;

/* One fact a plugin recorded with exec_set_meta. */
typedef struct exec_kv {
    char *key, *value;
} exec_kv;

/* ---- what the front reads and sets (the fields are in exec_impl.h) ---- */

/* Immutable after exec_new: no lock. */
const char *exec_id(const sluice_exec *e);
const flow_def *exec_flow(const sluice_exec *e);
flow_rt *exec_runtime(const sluice_exec *e);
/* What the store said of it when its accept batch committed (store.h,
 * STORE_OK ...), and for STORE_DUPLICATE the id it repeats: read once the
 * store has answered. */
int exec_store_status(const sluice_exec *e);
const char *exec_dup_of(const sluice_exec *e);

/* Before the execution is shared: the admission's idempotency key (kept
 * when it has one already), the memory reserved for it while queued, and
 * the execution it replays. */
void exec_set_admission(sluice_exec *e, const char *idem_key, size_t qbytes);
void exec_set_replay_of(sluice_exec *e, const char *id);
/* Recovery, before it is shared: what the store kept of its lineage, and
 * the attempt it runs as. */
void exec_set_recovered(sluice_exec *e, const char *replay_of, const char *replaces, int attempt);
/* on_limit = "cancel": the execution cancelled to make room for it. */
void exec_set_replaces(sluice_exec *e, const char *id);

/* How it stands now, copied under mu; error is malloc'd or NULL. */
typedef struct exec_outcome {
    int state;
    int attempt;
    int finished; /* final, waiters woken */
    int has_exit_code, exit_code;
    char *error;
} exec_outcome;
void exec_get_outcome(sluice_exec *e, exec_outcome *out);
/* Its state now (under mu). */
int exec_get_state(sluice_exec *e);
/* The HTTP response a plugin set (exec_set_response): 1 with copies
 * (malloc'd) of its type and body, or 0 when it set none. */
int exec_get_response(sluice_exec *e, int *status, char **ctype, char **body, size_t *len);
int exec_has_response(sluice_exec *e);
/* The attempt being run; with e->mu held (a log listener's push). */
int exec_attempt_locked(const sluice_exec *e);

/*
 * A new queued execution for flow (from trigger), taking ownership of the
 * event text. headers are copied. Returns with one reference. The
 * execution takes a reference to gen, the generation trigger and flow
 * belong to; gen may be NULL only where the caller keeps them alive for as
 * long as the execution lives (unit tests).
 */
sluice_exec *exec_new(generation *gen, trigger_def *trigger, flow_rt *flow, const char *id,
                      const char *request_id, char *event, size_t event_len, const char *function,
                      const char *const *hdr_names, const char *const *hdr_values, size_t n_hdrs,
                      int sync, uint64_t received_ms);
/*
 * Give a new execution its request body (a reference is taken; NULL for
 * none) and the stored form of its event (taken over; NULL when the store
 * keeps the event itself). Only before the execution is shared.
 */
void exec_set_request(sluice_exec *e, exec_body *body, char *stored_event, size_t stored_len);

/*
 * An execution rebuilt from what the store kept of a request (recovery,
 * replay). stored is the event as stored (taken over): without its body
 * members when raw is set, which are then rebuilt from body's bytes (see
 * event.h, "the event's body"), else the whole event. headers is a JSON
 * object of strings. The inputs are derived from the event. NULL with the
 * reason in err when the body no longer makes an event.
 */
sluice_exec *exec_from_store(generation *gen, trigger_def *trigger, flow_rt *flow, const char *id,
                             const char *request_id, char *stored, size_t stored_len, int raw,
                             exec_body *body, const char *function, json_t *headers,
                             uint64_t received_ms, char *err, size_t errlen);

sluice_exec *exec_ref(sluice_exec *e);
void exec_unref(sluice_exec *e);

/* Register a callback for when the execution reaches a final state. Returns
 * 0, or 1 when it already has (the callback is then not registered). */
int exec_add_waiter(sluice_exec *e, exec_waiter *w);

/* Unregister w. Returns 1 when it was still registered (its callback will
 * not run), 0 when it was not: it has run, or is about to. */
int exec_remove_waiter(sluice_exec *e, exec_waiter *w);
/* Shutdown leaves e queued (in the store) and drops it from memory: call
 * every waiter now, as for a final state, so each lets go of what it holds
 * (a sync request has long been answered 202 with the id by then). */
void exec_abandon_waiters(sluice_exec *e);

/* Set the final state, wake waiters. Returns 0, or -1 if already final. */
int exec_set_final(sluice_exec *e, int state);

/*
 * Register l with e->mu held: a reader takes what was written so far under
 * the same lock, so that it misses nothing and sees nothing twice.
 */
void exec_add_log_listener_locked(sluice_exec *e, exec_log_listener *l);
/*
 * Begin following e: under one hold of e->mu, the output so far (pre[s],
 * malloc'd, and its length, for stdout and stderr) and the attempt; and,
 * unless e has finished, l registered. Returns 1 when e had finished (l
 * is then not registered), else 0.
 */
int exec_follow_begin(sluice_exec *e, exec_log_listener *l, char *pre[2], size_t pre_len[2],
                      int *attempt);
/* Unregister l (takes e->mu); once it returns, push is not called again. */
void exec_remove_log_listener(sluice_exec *e, exec_log_listener *l);

/*
 * Keep stream's bytes (SLUICE_STDOUT or SLUICE_STDERR) and give them to
 * every listener; wakes the listeners that asked once e->mu is released.
 */
void exec_write_log(sluice_exec *e, int stream, const char *data, size_t len);

/* Append output with head/tail bounding. */
void logbuf_append(logbuf *b, const char *data, size_t len);
/* The kept text with a marker where bytes were dropped (malloc'd). */
char *logbuf_render(const logbuf *b, size_t *len);

/* Forget what an attempt produced (outputs, error, exit code, logs, the
 * response and meta it set) before the next one: a retry starts clean. */
void exec_reset_results(sluice_exec *e);

/*
 * End the current attempt as state (a retry follows): keep its exit code,
 * error, timings and output as an exec_attempt for the store to write,
 * reset the results (exec_reset_results) and make e queued as attempt + 1.
 * Returns the number of the attempt that ended.
 */
int exec_end_attempt(sluice_exec *e, int state);
/* Keep a record of an earlier attempt (recovery: one cut short by a stop);
 * a's strings are copied. */
void exec_add_attempt(sluice_exec *e, const exec_attempt *a);
/* The store has written the record of attempt n: let it go. */
void exec_attempt_written(sluice_exec *e, int n);
/* The same, as the document's attempt entries ({"attempt", "state", ...,
 * "stdout", "stderr"}), oldest first (new reference). */
json_t *exec_attempts_json(sluice_exec *e);
/* The facts plugins recorded, as a JSON object (new reference). Called
 * with e->mu held. */
json_t *exec_meta_json_locked(const sluice_exec *e);

/*
 * The execution as a JSON document (execdoc.h): id, flow, trigger, state,
 * exit_code, inputs, outputs, meta, error, timings. with_logs adds stdout
 * and stderr.
 */
json_t *exec_to_json(sluice_exec *e, int with_logs);

/*
 * The inputs of the document as JSON text (malloc'd), made without parsing
 * the body: the small members come from the event without its body, and
 * "body" is the body member's text as the event carries it. NULL when the
 * execution does not keep its event in two parts (see event.h); the caller
 * then uses exec_to_json.
 */
char *exec_inputs_text(const sluice_exec *e, size_t *len);

/*
 * exec_to_json with "inputs" left as a placeholder (*inputs_at) for
 * exec_inputs_text's text, to be spliced in by json_compact_splice: a sync
 * answer no longer parses every body it echoes. *inputs_at is NULL (and the
 * document complete) when there is no such text.
 */
json_t *exec_to_json_deferred(sluice_exec *e, int with_logs, json_t **inputs_at, char **inputs_text,
                              size_t *inputs_len);

#endif
