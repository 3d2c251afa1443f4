/*
 * store.h - where executions are recorded, durably, and found again.
 *
 * The store is an interface: store_open chooses a backend (a struct
 * store_backend, below) by the location it is given, and every store_*
 * function dispatches to it. What a backend must do is what this file
 * says; how it does it is the backend's file's business.
 *
 * Durability rules, every backend's:
 *   - an accepted request is on stable storage (it survives a power cut)
 *     before its 2xx is sent: done(arg, 1) means exactly that;
 *   - "running" is on record before a plugin is called: once
 *     store_mark_running returns 0, a crash cannot forget that the
 *     execution started. So a crash never runs an execution twice without
 *     a record that it had started;
 *   - results are recorded asynchronously; an execution whose result was
 *     not yet on record at a crash is found "running" at the next start and
 *     is retried (if its flow allows) or marked "unknown": its command may
 *     well have finished, so it is not a failure to retry blindly.
 *
 * No HTTP thread ever waits for a disk or a server: the writing functions
 * only queue work, and answer through callbacks. Only accepts and the
 * synchronous calls (store_flush, store_fail_stale) need to go at once;
 * the rest may ride along with the next write. Readers (the admin API)
 * must not wait behind the writer's batches.
 *
 * Unfinished executions live in memory, in the engine's live set: the
 * store is told when one joins and leaves it (store_hooks), and shows a
 * live one as it is now rather than as it was last written. Finished ones
 * are read from the backend.
 *
 * WRITING A BACKEND
 *
 * A backend is a new file, store_NAME.c (or a few: store_sqlite.c,
 * store_sqlite_write.c and store_sqlite_read.c are the model), that
 * implements struct store_backend and exports one open function of type
 * store_backend_open_fn, declared at the bottom of this file and listed in
 * store.c's table of backends with the location prefix that chooses it.
 * Nothing else changes: callers see only the store_* functions.
 *   - Documents: a backend fills an execdoc_view from what it read and
 *     lets execdoc_json write the document, and execdoc_attempt_json each
 *     attempt; it never writes the JSON itself. The store adds "attempts"
 *     and shows live executions as they are now.
 *   - What an accept writes: each sluice_exec's id, request_id, trigger
 *     and flow ids, attempt, function, idem_key, received_ms, replay_of,
 *     replaces, redacted headers (hdr_names/hdr_values), and its request:
 *     stored_event and body->bytes when both are set (the event without
 *     its body members, which the bytes rebuild), else event whole; and
 *     body->content_type. store_load_request gives them back as they were.
 *   - The rest: mark_running records state "running", started_ms and
 *     attempt; finish the final state, exit code, error, started_ms,
 *     finished_ms, attempt, replaced_by, replaces, outputs, the output
 *     (logbuf_render) and meta (exec_meta_json_locked), under e->mu;
 *     requeue state "queued", attempt and no start, with the record of
 *     the ended attempt from e->attempts in the same write, then
 *     exec_attempt_written. recover finds what was queued or running.
 *   - Schema: the backend's own, created and migrated by its open, which
 *     refuses a schema newer than it knows.
 *   - Idempotency: (trigger, flow, idem_key) is unique among executions
 *     received within the trigger's idem_ttl_ms; a second accept of the
 *     same key sets store_status = STORE_DUPLICATE and dup_of.
 *   - Threads: committed, done and finish's written run on the backend's
 *     own threads, never on the caller's; every function may be called
 *     from any thread.
 *   - Tests: tests/unit/test_execdoc.c checks that a stored execution
 *     reads as the live one did; its setup opens a file path, which the
 *     new backend's location replaces to run it there.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include "exec.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_OK 0
#define STORE_DUPLICATE 1 /* same trigger, flow and idempotency key: e->dup_of */
#define STORE_FAILED 2    /* not stored (disk full, I/O error): answer 503 */

/*
 * What the store is handed by its owner (main.c hands the engine's): the
 * live set it keeps, and how busy its queue is. Any member may be NULL.
 */
typedef struct store_hooks {
    /* Executions waiting for a worker: an accept of sync requests behind
     * them cannot start soon, so it may wait a little for company. */
    size_t (*queued)(void);
    /* e is on record as accepted and is about to be queued (called on a
     * store thread before the accept's committed callback, with a
     * reference for the set to take); or it left it, its final state on
     * record (the set drops its reference). */
    void (*live_add)(sluice_exec *e);
    void (*live_remove)(sluice_exec *e);
    /* An unfinished execution by id (new reference), or NULL. */
    sluice_exec *(*live_find)(const char *id);
} store_hooks;

/* Open location (creating and migrating as needed) with the backend whose
 * prefix it starts with (store.c's table; a plain file path has none). hooks
 * is copied (NULL: none). -1 with a reason in err. */
int store_open(const char *location, const store_hooks *hooks, char *err, size_t errlen);
/* Flush what is pending, stop the backend's threads, close. */
void store_close(void);
/* Give back the memory the backend caches (when idle). May wait for the
 * writer to finish its batch. */
void store_release_memory(void);
/* 1 while the store can take work. */
int store_healthy(void);

/*
 * Record n new executions, in two steps:
 *   committed(arg) runs once they are on record (each execution's
 *     store_status is STORE_OK or STORE_DUPLICATE, and the OK ones have
 *     joined the live set): they may start running now, since a crash of
 *     the process can no longer lose them;
 *   done(arg, durable) runs once they are on stable storage (durable = 1:
 *     the request may be acknowledged) or when the batch failed (durable =
 *     0; committed was not called if recording them failed, and every
 *     store_status is then STORE_FAILED).
 * Starting work once it is recorded rather than once it is on stable
 * storage overlaps the flush with the execution; only the acknowledgement
 * waits for the disk.
 */
void store_accept(sluice_exec **v, size_t n, void (*committed)(void *arg),
                  void (*done)(void *arg, int durable), void *arg);

/* Record that e starts running: 0 once a crash can no longer forget it,
 * -1 when it could not be recorded (the plugin must then not be called). */
int store_mark_running(sluice_exec *e);
/* Record e's final state and results, then drop it from the live set. */
void store_finish(sluice_exec *e);
/* Record e as queued again (a retry, or a shutdown before it finished),
 * with the record of attempt ended from e->attempts (0: none; see
 * exec_end_attempt), in the same write. */
void store_requeue(sluice_exec *e, int ended);

/* An execution document by id (live or stored), or NULL. with_logs adds
 * stdout and stderr, and "attempts": each attempt with its own. */
json_t *store_get_json(const char *id, int with_logs);

typedef struct store_filter {
    const char *flow, *trigger, *state;
    uint64_t since_ms, until_ms; /* received_at bounds, 0: none */
    const char *cursor;          /* list ids older than this one */
    int limit;
} store_filter;
/* Executions newest first; *next gets the cursor for the next page or NULL. */
json_t *store_list(const store_filter *f, char **next);

/* Ids of executions of trigger with idempotency key received since since_ms. */
size_t store_find_idempotent(const char *trigger, const char *key, uint64_t since_ms,
                             char (*ids)[40], size_t max);

/*
 * A request as the store kept it, for recovery and replay. event is the
 * event as stored: without its "body" and "raw_body_b64" members when raw
 * is set (body->bytes rebuild them, see exec_from_store), whole otherwise.
 * body carries the Content-Type too; NULL for rows written before the
 * store kept bodies. Every pointer is owned by the row.
 */
typedef struct store_row {
    char *id, *request_id, *trigger, *flow, *state, *function;
    char *replay_of, *replaces; /* NULL: none */
    int attempt;
    uint64_t received_ms;
    uint64_t started_ms; /* 0: not on record (a start known without its time) */
    char *event;
    size_t event_len;
    int raw;
    exec_body *body;
    json_t *headers; /* redacted request headers, a JSON object of strings */
} store_row;

/* Free what a row holds (a field a caller took over may be NULL). */
void store_row_clear(store_row *r);

/* The stored request of an execution, for replay: 0, or -1 when unknown. */
int store_load_request(const char *id, store_row *out);

/* Per flow: {"flow": {"executions": n, "last": {...}}} */
json_t *store_flow_stats(const char *column);

/*
 * Executions left queued or running by an earlier process, oldest first.
 * fn is called for each with its row (which it may take fields from, leaving
 * NULL behind); used once at start. Returns how many, or -1.
 */
typedef void (*store_recover_fn)(void *arg, store_row *row);
int store_recover(store_recover_fn fn, void *arg);
/* Mark an execution found at start as final: EXEC_FAILED, or EXEC_UNKNOWN
 * for one that had started, with a reason (synchronous). */
void store_fail_stale(const char *id, int state, const char *reason);

/* Return once everything pushed so far has been written, and the accepts
 * among it made durable and answered (their done callbacks have run). */
void store_flush(void);

/* Delete finished executions older than ms, a bounded batch at a time. */
void store_purge(uint64_t older_than_ms);

/* ---- the backend interface ---- */

#define STORE_BACKEND_VERSION 1

/*
 * A backend: its functions, each given the backend itself (embed this
 * struct first in the backend's own state to reach it). Every member is
 * required unless it says otherwise. Each does what the store_* function
 * of its name promises, with the differences said here.
 */
typedef struct store_backend store_backend;
struct store_backend {
    unsigned version; /* STORE_BACKEND_VERSION: the layout this was built for */
    const char *name; /* for the log: what it is, its version and mode */

    void (*close)(store_backend *b);
    int (*healthy)(store_backend *b);
    void (*release_memory)(store_backend *b); /* may be NULL */

    /* lazy: nobody waits for this commit yet (sync requests behind a
     * queue), so it may wait a little to share a write. v stays valid
     * until done has been called. */
    void (*accept)(store_backend *b, sluice_exec **v, size_t n, int lazy,
                   void (*committed)(void *arg), void (*done)(void *arg, int durable), void *arg);
    int (*mark_running)(store_backend *b, sluice_exec *e);
    /* written(e) once the final state is on record, or failed to be. */
    void (*finish)(store_backend *b, sluice_exec *e, void (*written)(sluice_exec *e));
    void (*requeue)(store_backend *b, sluice_exec *e, int ended);
    void (*purge)(store_backend *b, uint64_t older_than_ms);
    void (*flush)(store_backend *b);
    void (*fail_stale)(store_backend *b, const char *id, int state, const char *reason);

    /* The document of id as last written (execdoc_json), without
     * "attempts"; NULL when unknown. */
    json_t *(*get)(store_backend *b, const char *id, int with_logs);
    /* The attempts written with requeues (execdoc_attempt_json), oldest
     * first, as a JSON array. */
    json_t *(*attempts)(store_backend *b, const char *id);
    /* Documents without logs, newest first, at most f->limit (1-500). */
    json_t *(*list)(store_backend *b, const store_filter *f);
    size_t (*find_idempotent)(store_backend *b, const char *trigger, const char *key,
                              uint64_t since_ms, char (*ids)[40], size_t max);
    int (*load_request)(store_backend *b, const char *id, store_row *out);
    /* column is "flow" or "trigger". */
    json_t *(*flow_stats)(store_backend *b, const char *column);
    int (*recover)(store_backend *b, store_recover_fn fn, void *arg);
};

/* A backend's constructor: *out is the opened backend. -1 with a reason
 * in err (which names the location). */
typedef int (*store_backend_open_fn)(const char *location, store_backend **out, char *err,
                                     size_t errlen);

/* The backends (store.c lists them). */
int store_sqlite_open(const char *path, store_backend **out, char *err, size_t errlen);

#endif
