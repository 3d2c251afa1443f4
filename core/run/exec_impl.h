/*
 * exec_impl.h - the inside of an execution, for the files that own its
 * fields: exec.c (creation, results, logs), host.c (what plugins set),
 * engine.c (queue, timers, the live set) and the store (its status and
 * the rows it writes). Nothing above run/ includes this file: the front
 * reads an execution through exec.h's functions, which take mu where the
 * field is a result. tests/layers.sh holds that.
 */
#ifndef SLUICE_EXEC_IMPL_H
#define SLUICE_EXEC_IMPL_H

#include "exec.h"

struct sluice_exec {
    atomic_int refs;
    pthread_mutex_t mu;

    /* Immutable after exec_new. */
    char id[40];
    char request_id[40];
    generation *gen;      /* reference held: keeps rt, flow and trigger alive */
    flow_rt *rt;          /* the flow's plugin, instance and engine state */
    const flow_def *flow; /* rt->def */
    trigger_def *trigger;
    char *event; /* JSON text */
    size_t event_len;
    /* What the store keeps of the event (see event.h, "the event's body"):
     * the event without its body members when body holds the bytes that
     * rebuild them, NULL when event is kept as it is. */
    char *stored_event;
    size_t stored_len;
    exec_body *body; /* the request body (exec_body), or NULL */
    char *function;
    char **hdr_names, **hdr_values; /* redacted request headers */
    size_t n_hdrs;
    int sync;
    uint64_t received_ms;
    char timeout_str[24];
    char replay_of[40]; /* the execution this one replays, "" if none */
    char replaces[40];  /* the one cancelled to make room for it (on_limit = cancel), or "" */

    /* Results, under mu. */
    int state;
    int attempt;
    char attempt_str[12];
    int exit_code, has_exit_code;
    char *outputs; /* JSON object text */
    char *error;
    logbuf logs[2]; /* stdout, stderr */
    int resp_status;
    char *resp_ctype, *resp_body;
    size_t resp_len;
    exec_kv *meta; /* exec_set_meta, in the order keys were first set */
    size_t n_meta;
    uint64_t started_ms, finished_ms;
    exec_waiter *waiters;
    int finished;                     /* state is final, waiters were woken */
    exec_log_listener *log_listeners; /* live log readers, fed by exec_write_log */
    char replaced_by[40];             /* set when cancelled to make room for that execution */
    exec_attempt *attempts;           /* ended attempts the store has yet to write, oldest first */
    size_t n_attempts;

    /* Set by the store when an accept batch commits (store.h). */
    int store_status;
    char dup_of[40]; /* STORE_DUPLICATE: the execution this one repeats */
    char *idem_key;  /* idempotency key of the request, or NULL */

    atomic_int cancel_reason; /* SLUICE_CANCEL_* */
    atomic_int completed;     /* exec_complete was called (PENDING) */
    atomic_int abandoned;     /* finished by the host after the plugin ignored a
                               * cancellation; holds one reference for the
                               * plugin's late exec_complete (or return) */
    struct engine_timer *timeout_timer;
    struct sluice_exec *qnext;     /* queue link, owned by the engine */
    struct sluice_exec *live_next; /* live-set link, owned by the engine */
    uint64_t qseq;                 /* arrival order in the queue, owned by the engine */
    size_t qbytes;                 /* memory it holds while queued (engine_reserve), 0: unset */
};

#endif
