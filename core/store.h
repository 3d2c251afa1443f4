/*
 * store.h - where executions are recorded, durably, and found again.
 *
 * SQLite in WAL mode. One store thread owns the writing connection and
 * commits whatever has accumulated while the previous commit was being
 * synced (group commit): under load one fsync covers hundreds of requests,
 * and no HTTP thread ever waits for a disk. Readers (the admin API) use a
 * second connection, which WAL lets run beside the writer.
 *
 * Durability rules:
 *   - an accepted request is committed and the WAL fdatasync'ed (by a
 *     separate syncer thread, once per round for everything committed
 *     before it) before its 2xx is sent: a power cut after the answer
 *     loses nothing;
 *   - "running" is on record before a plugin is called: one line in the
 *     start journal (startlog.h), in the OS when write returns, like a
 *     synchronous=NORMAL commit; the database learns it with its next
 *     batch. So a crash never runs an execution twice without a record
 *     that it had started;
 *   - results are committed asynchronously; an execution whose result was
 *     not yet committed at a crash is found "running" at the next start and
 *     is retried (if its flow allows) or marked "unknown": its command may
 *     well have finished, so it is not a failure to retry blindly.
 *
 * Only work someone waits for (accepts, synchronous ops) wakes the store
 * thread; the rest rides along with the next batch or goes within 10 ms.
 * Checkpoints run on a thread of their own.
 *
 * Unfinished executions also live in memory (the "live" set) so cancel and
 * sync waits find the object itself; finished ones are read from the
 * database.
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

/* Open (creating and migrating as needed). -1 with a reason in err. */
int store_open(const char *path, char *err, size_t errlen);
/* Flush what is pending, stop the store thread, close. */
void store_close(void);
/* Give back the page caches of both connections (when idle). Waits for the
 * store thread, which answers between two batches. */
void store_release_memory(void);
/* 1 while the store can take work. */
int store_healthy(void);

/*
 * Record n new executions, in two steps:
 *   committed(arg) runs on the store thread once the batch is committed
 *     (each execution's store_status is STORE_OK or STORE_DUPLICATE, and
 *     the OK ones have joined the live set): they may start running now,
 *     since a crash of the process can no longer lose them;
 *   done(arg, durable) runs on the syncer thread once the WAL is on disk
 *     (durable = 1: the request may be acknowledged) or when the batch
 *     failed (durable = 0; committed was not called if the commit itself
 *     failed, and every store_status is then STORE_FAILED).
 * Starting work at commit rather than at fsync overlaps the fsync with the
 * execution; only the acknowledgement waits for the disk.
 */
void store_accept(sluice_exec **v, size_t n, void (*committed)(void *arg),
                  void (*done)(void *arg, int durable), void *arg);

/* Record that e starts running: 0 once it is in the start journal, -1 when
 * it could not be written (the plugin must then not be called). */
int store_mark_running(sluice_exec *e);
/* Record e's final state and results, then drop it from the live set. */
void store_finish(sluice_exec *e);
/* Record e as queued again (a retry, or a shutdown before it finished),
 * with the record of attempt ended from e->attempts (0: none; see
 * exec_end_attempt), in the same batch. */
void store_requeue(sluice_exec *e, int ended);

/* An unfinished execution by id (new reference), or NULL. */
sluice_exec *store_get_live(const char *id);
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
    uint64_t started_ms; /* 0: not on record (a start only the journal knew) */
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
/* Add an execution recovered at start to the live set. */
void store_adopt(sluice_exec *e);
/* Mark an execution found at start as final: EXEC_FAILED, or EXEC_UNKNOWN
 * for one that had started, with a reason (synchronous). */
void store_fail_stale(const char *id, int state, const char *reason);

/* Return once everything pushed so far has been written, and the accepts
 * among it made durable and answered (their done callbacks have run). */
void store_flush(void);

/* Delete finished executions older than ms, in small batches. */
void store_purge(uint64_t older_than_ms);

/* Cancel every running execution (shutdown). */
void store_cancel_running(int reason);

#endif
