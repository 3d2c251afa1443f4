/*
 * store_sqlite_write.c - the SQLite backend's writing path: the ops queue,
 * group commit on the store thread, the syncer that makes accepts
 * durable, and the checkpointer (see store_sqlite.c for what is written).
 */
#include "exec_impl.h"
#include "store_sqlite.h"

#include "jsonout.h"
#include "log.h"
#include "startlog.h"
#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define PURGE_BATCH 500
#define STR_(x) #x
#define STR(x) STR_(x)
/* The WAL is checkpointed off the store thread once it holds this many
 * pages (16 MiB: the pages every batch rewrites, index leaves and the
 * right edge of each table, are copied back once per checkpoint, so fewer
 * checkpoints copy less). */
#define CHECKPOINT_PAGES 4000

enum op_kind { OP_ACCEPT, OP_RUNNING, OP_FINISH, OP_REQUEUE, OP_PURGE, OP_FAIL_STALE };

typedef struct store_op {
    int kind;
    sluice_exec *e;  /* RUNNING, FINISH, REQUEUE */
    int attempt;     /* RUNNING: the attempt the start journal names;
                          * REQUEUE: the attempt whose record to write, 0: none */
    int state;       /* FAIL_STALE: the final state */
    int failed;      /* this op was rolled back (the batch may still commit) */
    int lazy;        /* ACCEPT: nobody waits for it yet (store_accept) */
    sluice_exec **v; /* ACCEPT */
    size_t n;
    void (*committed)(void *);
    void (*done)(void *, int);
    void *arg;
    void (*written)(sluice_exec *); /* FINISH */
    uint64_t ms;                    /* PURGE: cutoff */
    char *id, *reason;              /* FAIL_STALE */
    int *waiting;                   /* set to 1 (ok) or -1 when written, for synchronous ops */
    struct store_op *next;
} store_op;

static store_sqlite *const st = &store_sqlite_state;

/* ---- one batch: the ops, written in one transaction ---- */

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static char *headers_text(const sluice_exec *e)
{
    json_t *o = json_object();
    for (size_t i = 0; i < e->n_hdrs; i++) {
        json_t *v = json_string(e->hdr_values[i]);
        if (v)
            json_object_set_new(o, e->hdr_names[i], v);
    }
    char *s = json_compact(o, NULL);
    json_decref(o);
    return s;
}

static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* A prepared statement that returns no rows; -1 with SQLite's message. */
static int step_sql(sqlite3_stmt *s, char *err, size_t errlen)
{
    if (step_done(s) == 0)
        return 0;
    snprintf(err, errlen, "%s", sqlite3_errmsg(st->wdb));
    return -1;
}

static sqlite3_stmt *prep(const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        log_error("store: cannot prepare statement: %s", sqlite3_errmsg(st->wdb));
    return s;
}

static struct {
    sqlite3_stmt *insert, *insert_payload, *expire_idem, *find_dup, *running, *finish,
        *insert_result, *requeue, *purge, *purge_payloads, *purge_results, *fail, *promote,
        *promote_cut, *insert_attempt, *purge_attempts;
    sqlite3_stmt *savepoint, *rollback_to, *release, *begin, *commit;
} ws;

static sqlite3_stmt **const ws_all[] = {
    &ws.insert,        &ws.insert_payload, &ws.expire_idem, &ws.find_dup,       &ws.running,
    &ws.finish,        &ws.insert_result,  &ws.requeue,     &ws.purge,          &ws.purge_payloads,
    &ws.purge_results, &ws.fail,           &ws.promote,     &ws.savepoint,      &ws.rollback_to,
    &ws.release,       &ws.begin,          &ws.commit,      &ws.insert_attempt, &ws.purge_attempts,
    &ws.promote_cut,
};
#define N_WS (sizeof(ws_all) / sizeof(ws_all[0]))

/* One accepted execution, inside the batch transaction. */
static int write_accept(sluice_exec *e)
{
    if (e->idem_key) {
        /* Keys past their TTL no longer hold their slot in the unique index. */
        sqlite3_bind_text(ws.expire_idem, 1, e->trigger->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ws.expire_idem, 2, e->flow->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ws.expire_idem, 3, e->idem_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ws.expire_idem, 4,
                           (sqlite3_int64)(e->received_ms - e->trigger->idem_ttl_ms));
        if (step_done(ws.expire_idem) < 0)
            return -1;
    }
    sqlite3_stmt *s = ws.insert;
    sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, e->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, e->trigger->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, e->flow->key, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, e->attempt);
    bind_text(s, 6, e->function);
    bind_text(s, 7, e->idem_key);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)e->received_ms);
    bind_text(s, 9, e->replay_of[0] ? e->replay_of : NULL);
    bind_text(s, 10, e->replaces[0] ? e->replaces : NULL);
    if (step_done(s) < 0)
        return -1;
    if (sqlite3_changes(st->wdb) == 0) {
        /* A concurrent request with the same key won the race. */
        e->store_status = STORE_DUPLICATE;
        sqlite3_bind_text(ws.find_dup, 1, e->trigger->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ws.find_dup, 2, e->flow->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(ws.find_dup, 3, e->idem_key ? e->idem_key : "", -1, SQLITE_STATIC);
        if (sqlite3_step(ws.find_dup) == SQLITE_ROW)
            snprintf(e->dup_of, sizeof(e->dup_of), "%s",
                     (const char *)sqlite3_column_text(ws.find_dup, 0));
        sqlite3_reset(ws.find_dup);
        sqlite3_clear_bindings(ws.find_dup);
        return 0;
    }
    char *hdrs = headers_text(e);
    s = ws.insert_payload;
    sqlite3_bind_text(s, 1, e->id, -1, SQLITE_STATIC);
    /* See "what an accept writes": the bytes, or the whole event. */
    if (e->stored_event && e->body && e->body->bytes) {
        sqlite3_bind_text(s, 2, e->stored_event, (int)e->stored_len, SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, e->body->bytes, (int)e->body->len, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(s, 2, e->event, (int)e->event_len, SQLITE_STATIC);
    }
    bind_text(s, 3, hdrs);
    bind_text(s, 5, e->body ? e->body->content_type : NULL);
    int rc = step_done(s);
    free(hdrs);
    if (rc < 0)
        return -1;
    e->store_status = STORE_OK;
    return 0;
}

static int write_finish(sluice_exec *e)
{
    sqlite3_stmt *s = ws.finish, *r = ws.insert_result;
    pthread_mutex_lock(&e->mu);
    size_t ol, el;
    char *out = logbuf_render(&e->logs[0], &ol);
    char *errt = logbuf_render(&e->logs[1], &el);
    sqlite3_bind_text(s, 1, exec_state_name(e->state), -1, SQLITE_STATIC);
    if (e->has_exit_code)
        sqlite3_bind_int(s, 2, e->exit_code);
    else
        sqlite3_bind_null(s, 2);
    bind_text(s, 3, e->error);
    if (e->started_ms)
        sqlite3_bind_int64(s, 4, (sqlite3_int64)e->started_ms);
    else
        sqlite3_bind_null(s, 4);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)e->finished_ms);
    sqlite3_bind_int(s, 6, e->attempt);
    sqlite3_bind_text(s, 7, e->id, -1, SQLITE_TRANSIENT);
    bind_text(s, 8, e->replaced_by[0] ? e->replaced_by : NULL);
    bind_text(s, 9, e->replaces[0] ? e->replaces : NULL);
    sqlite3_bind_text(r, 1, e->id, -1, SQLITE_TRANSIENT);
    bind_text(r, 2, e->outputs);
    sqlite3_bind_blob(r, 3, out, (int)ol, SQLITE_TRANSIENT);
    sqlite3_bind_blob(r, 4, errt, (int)el, SQLITE_TRANSIENT);
    char *meta = NULL;
    if (e->n_meta) {
        json_t *m = exec_meta_json_locked(e);
        meta = json_compact(m, NULL);
        json_decref(m);
    }
    pthread_mutex_unlock(&e->mu);
    bind_text(r, 5, meta);
    free(meta);
    free(out);
    free(errt);
    if (step_done(s) < 0) {
        sqlite3_reset(r);
        sqlite3_clear_bindings(r);
        return -1;
    }
    return step_done(r);
}

/* The record of attempt n of e, which e keeps until it is written. */
static int write_attempt(sluice_exec *e, int n)
{
    sqlite3_stmt *s = ws.insert_attempt;
    int found = 0;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < e->n_attempts && !found; i++) {
        const exec_attempt *a = &e->attempts[i];
        if (a->attempt != n)
            continue;
        found = 1;
        sqlite3_bind_text(s, 1, e->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 2, a->attempt);
        sqlite3_bind_text(s, 3, exec_state_name(a->state), -1, SQLITE_STATIC);
        if (a->has_exit_code)
            sqlite3_bind_int(s, 4, a->exit_code);
        bind_text(s, 5, a->error);
        if (a->started_ms)
            sqlite3_bind_int64(s, 6, (sqlite3_int64)a->started_ms);
        if (a->finished_ms)
            sqlite3_bind_int64(s, 7, (sqlite3_int64)a->finished_ms);
        if (a->out)
            sqlite3_bind_blob(s, 8, a->out, (int)a->out_len, SQLITE_TRANSIENT);
        if (a->err)
            sqlite3_bind_blob(s, 9, a->err, (int)a->err_len, SQLITE_TRANSIENT);
    }
    pthread_mutex_unlock(&e->mu);
    return found ? step_done(s) : 0;
}

static int write_op(store_op *op)
{
    sqlite3_stmt *s;
    switch (op->kind) {
    case OP_ACCEPT:
        for (size_t i = 0; i < op->n; i++)
            if (write_accept(op->v[i]) < 0)
                return -1;
        return 0;
    case OP_RUNNING:
        s = ws.running;
        sqlite3_bind_int64(s, 1, (sqlite3_int64)op->ms);
        sqlite3_bind_int(s, 2, op->attempt);
        sqlite3_bind_text(s, 3, op->e->id, -1, SQLITE_STATIC);
        return step_done(s);
    case OP_FINISH:
        return write_finish(op->e);
    case OP_REQUEUE:
        if (op->attempt && write_attempt(op->e, op->attempt) < 0)
            return -1;
        s = ws.requeue;
        sqlite3_bind_int(s, 1, op->e->attempt);
        sqlite3_bind_text(s, 2, op->e->id, -1, SQLITE_STATIC);
        return step_done(s);
    case OP_PURGE:
        if (!op->ms)
            return 0;
        /* The same batch each time: the subquery orders by finished_at, id. */
        sqlite3_bind_int64(ws.purge_payloads, 1, (sqlite3_int64)op->ms);
        sqlite3_bind_int64(ws.purge_results, 1, (sqlite3_int64)op->ms);
        sqlite3_bind_int64(ws.purge_attempts, 1, (sqlite3_int64)op->ms);
        sqlite3_bind_int64(ws.purge, 1, (sqlite3_int64)op->ms);
        if (step_done(ws.purge_payloads) < 0 || step_done(ws.purge_results) < 0 ||
            step_done(ws.purge_attempts) < 0 || step_done(ws.purge) < 0)
            return -1;
        if (sqlite3_changes(st->wdb) > 0) {
            log_debug("store: retention removed %d executions", sqlite3_changes(st->wdb));
            /* Give the freed pages back to the file system, a few at a time. */
            store_sqlite_exec(st->wdb, "PRAGMA incremental_vacuum(256)", NULL, 0);
        }
        return 0;
    case OP_FAIL_STALE:
        s = ws.fail;
        sqlite3_bind_text(s, 1, op->reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, exec_state_name(op->state), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)units_now_ms());
        sqlite3_bind_text(s, 3, op->id, -1, SQLITE_STATIC);
        return step_done(s);
    }
    return -1;
}

/*
 * Each op gets a savepoint, so one bad op (say, a constraint) fails alone;
 * the commit fails or succeeds for the whole batch.
 */
static void write_batch(store_op *ops)
{
    char err[256];
    int ok_all = step_sql(ws.begin, err, sizeof(err)) == 0;
    int n_ops = 0;
    for (store_op *op = ops; ok_all && op; op = op->next, n_ops++) {
        /* Ops of several statements get a savepoint; a single statement
         * is atomic by itself and needs none. */
        int multi = op->kind == OP_ACCEPT || op->kind == OP_FINISH || op->kind == OP_PURGE ||
                    (op->kind == OP_REQUEUE && op->attempt);
        if (multi)
            step_done(ws.savepoint);
        int ok = write_op(op) == 0;
        if (!ok) {
            log_error("store: write failed: %s", sqlite3_errmsg(st->wdb));
            if (multi)
                step_done(ws.rollback_to);
            if (op->kind == OP_ACCEPT)
                for (size_t i = 0; i < op->n; i++)
                    op->v[i]->store_status = STORE_FAILED;
        }
        if (multi)
            step_done(ws.release);
        op->failed = !ok;
        if (op->waiting && !ok)
            *op->waiting = -1;
    }
    if (ok_all && step_sql(ws.commit, err, sizeof(err)) < 0) {
        log_error("store: commit failed: %s", err);
        store_sqlite_exec(st->wdb, "ROLLBACK", NULL, 0);
        ok_all = 0;
    } else if (!ok_all) {
        log_error("store: cannot begin a transaction: %s", err);
    }
    __atomic_store_n(&st->healthy, ok_all, __ATOMIC_RELAXED);

    for (store_op *op = ops, *next; op; op = next) {
        next = op->next;
        switch (op->kind) {
        case OP_ACCEPT:
            if (ok_all) {
                op->committed(op->arg);
                /* Committed, not yet on disk: the syncer acknowledges it. */
                op->next = NULL;
                pthread_mutex_lock(&st->mu);
                if (st->sync_tail)
                    st->sync_tail->next = op;
                else
                    st->sync_head = op;
                st->sync_tail = op;
                pthread_cond_signal(&st->sync_cv);
                pthread_mutex_unlock(&st->mu);
                continue;
            }
            for (size_t i = 0; i < op->n; i++)
                op->v[i]->store_status = STORE_FAILED;
            op->done(op->arg, 0);
            break;
        case OP_FINISH:
            op->written(op->e);
            exec_unref(op->e);
            break;
        case OP_RUNNING:
            /* Only a committed "running" may leave the start journal. */
            if (ok_all && !op->failed)
                startlog_settle(op->e->id, op->attempt);
            exec_unref(op->e);
            break;
        case OP_REQUEUE:
            /* Written: the database has the record now, the memory lets go. */
            if (ok_all && !op->failed && op->attempt)
                exec_attempt_written(op->e, op->attempt);
            exec_unref(op->e);
            break;
        default:
            break;
        }
        if (op->waiting) {
            pthread_mutex_lock(&st->mu);
            if (*op->waiting == 0)
                *op->waiting = ok_all ? 1 : -1;
            pthread_cond_broadcast(&st->written);
            pthread_mutex_unlock(&st->mu);
        }
        free(op->id);
        free(op->reason);
        free(op);
    }
}

/* ---- the threads: store (group commit), syncer, checkpointer ---- */

/*
 * Only what someone waits for wakes the store thread: accepts (a 2xx is
 * parked on them) and synchronous ops. "Running" (already in the start
 * journal), results and requeues ride along with the next such batch, or
 * go after LINGER_MS: a sync /bin/true used to cost three transactions,
 * each with its own WAL append and lock round, and now mostly shares one.
 */
#define LINGER_MS 10
#define LINGER_ACCEPT_US 2000u
/*
 * No pacing beyond that: a commit starts as soon as the previous one ends
 * and an fdatasync as soon as the previous one returns. Batches still form
 * (whatever arrives during a commit or an fsync goes in the next one), and
 * holding a commit back to gather more only added its wait to every
 * answer: with 32 senders, windows of 0.5 ms between commits and 1 ms
 * between fsyncs cost a fifth of the async throughput and doubled the
 * median at 2,000 requests/s, for no CPU saved (bench/run.sh, paced).
 */

static uint64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* Wait on cv (CLOCK_MONOTONIC, st->mu held) until us, or a signal. */
static void wait_until_us(pthread_cond_t *cv, uint64_t us)
{
    struct timespec t = {.tv_sec = (time_t)(us / 1000000u),
                         .tv_nsec = (long)(us % 1000000u) * 1000};
    pthread_cond_timedwait(cv, &st->mu, &t);
}

/*
 * Commits run with synchronous=NORMAL, so the store thread never waits for
 * the disk; this thread makes accepted requests durable with one
 * fdatasync of the WAL per round (everything committed before it started
 * is then on disk, exactly what synchronous=FULL would have given) and
 * only then lets them be answered. Marking executions as running and
 * recording results never wait behind an fsync.
 */
static void *syncer_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "store-fsync");
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->sync_quit) {
            if (st->sync_head)
                break;
            pthread_cond_wait(&st->sync_cv, &st->mu);
        }
        if (!st->sync_head)
            break;
        store_op *ops = st->sync_head;
        st->sync_head = st->sync_tail = NULL;
        st->syncing = 1;
        pthread_mutex_unlock(&st->mu);
        int ok = fdatasync(st->wal_fd) == 0;
        if (!ok)
            log_error("store: fdatasync of the WAL failed: %s", units_strerror(errno));
        __atomic_store_n(&st->healthy, ok, __ATOMIC_RELAXED);
        for (store_op *op = ops, *next; op; op = next) {
            next = op->next;
            op->done(op->arg, ok);
            free(op);
        }
        pthread_mutex_lock(&st->mu);
        st->syncing = 0;
        pthread_cond_broadcast(&st->written);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/*
 * Checkpoints copy the WAL back into the database file and fsync both: left
 * to SQLite they run inside a commit on the store thread, stalling every
 * request behind them. Here the writer only notes that the WAL has grown
 * (wal_hook) and a thread of its own, on its own connection, checkpoints
 * PASSIVE (never blocking the writer). Under sustained load a passive
 * checkpoint never catches up with the end of the WAL, which then cannot
 * start over; past a bound the checkpointer asks for RESTART, which waits
 * for the writer between two transactions, once.
 */
static void *checkpointer_main(void *arg);

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)arg;
    (void)db;
    (void)name;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&st->mu);
        /* Started at the first checkpoint: a quiet daemon never needs it.
         * Should it fail to start, SQLite's own checkpointing takes over. */
        if (!st->ckpt_started) {
            if (pthread_create(&st->checkpointer, NULL, checkpointer_main, NULL) == 0) {
                st->ckpt_started = 1;
            } else {
                log_warn("store: cannot start the checkpoint thread; checkpointing in commits");
                sqlite3_wal_autocheckpoint(st->wdb, CHECKPOINT_PAGES);
            }
        }
        if (st->ckpt_started && !st->ckpt_wanted) {
            st->ckpt_wanted = 1;
            pthread_cond_signal(&st->ckpt_cv);
        }
        pthread_mutex_unlock(&st->mu);
    }
    return SQLITE_OK;
}

static int open_checkpointer(void)
{
    char why[256];
    if (sqlite3_open_v2(st->path, &st->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK &&
        store_sqlite_exec(st->cdb, "PRAGMA synchronous = NORMAL", why, sizeof(why)) == 0 &&
        store_sqlite_exec(st->cdb, "PRAGMA wal_autocheckpoint = 0", why, sizeof(why)) == 0) {
        sqlite3_busy_timeout(st->cdb, 5000);
        return 0;
    }
    log_warn("store: cannot open a connection for checkpoints: %s",
             st->cdb ? sqlite3_errmsg(st->cdb) : "out of memory");
    sqlite3_close(st->cdb);
    st->cdb = NULL;
    return -1;
}

static void *checkpointer_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "store-ckpt");
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->ckpt_wanted && !st->ckpt_quit)
            pthread_cond_wait(&st->ckpt_cv, &st->mu);
        if (st->ckpt_quit)
            break;
        st->ckpt_wanted = 0;
        pthread_mutex_unlock(&st->mu);
        /* Opened at the first checkpoint: a quiet daemon never needs it. */
        if (!st->cdb && open_checkpointer() < 0) {
            pthread_mutex_lock(&st->mu);
            continue;
        }
        int logged = 0, done = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(st->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &logged, &done);
        if (rc == SQLITE_OK && logged >= 8 * CHECKPOINT_PAGES)
            rc =
                sqlite3_wal_checkpoint_v2(st->cdb, NULL, SQLITE_CHECKPOINT_RESTART, &logged, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store: checkpoint failed: %s", sqlite3_errmsg(st->cdb));
        sqlite3_db_release_memory(st->cdb);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

static void *store_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "store");
    pthread_mutex_lock(&st->mu);
    for (;;) {
        uint64_t lazy_deadline = 0;
        while (!st->quit) {
            if (!st->head) {
                if (st->release_wanted) {
                    /* Between transactions: every cached page is clean. */
                    sqlite3_db_release_memory(st->wdb);
                    st->release_wanted = 0;
                    pthread_cond_broadcast(&st->written);
                    continue;
                }
                lazy_deadline = 0;
                pthread_cond_wait(&st->cv, &st->mu);
                continue;
            }
            if (st->urgent)
                break;
            uint64_t now = mono_us();
            uint64_t linger = st->lazy_accepts ? LINGER_ACCEPT_US : LINGER_MS * 1000u;
            if (!lazy_deadline || lazy_deadline > now + linger)
                lazy_deadline = now + linger;
            if (now >= lazy_deadline)
                break;
            wait_until_us(&st->cv, lazy_deadline);
        }
        if (!st->head)
            break;
        store_op *ops = st->head;
        st->head = st->tail = NULL;
        st->urgent = 0;
        st->lazy_accepts = 0;
        pthread_mutex_unlock(&st->mu);
        write_batch(ops);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

static int op_is_urgent(const store_op *op)
{
    return (op->kind == OP_ACCEPT && !op->lazy) || op->waiting;
}

static void push(store_op *op)
{
    pthread_mutex_lock(&st->mu);
    int was_empty = !st->head;
    if (st->tail)
        st->tail->next = op;
    else
        st->head = op;
    st->tail = op;
    if (op_is_urgent(op))
        st->urgent++;
    else if (op->kind == OP_ACCEPT)
        st->lazy_accepts++;
    /* The first lazy op starts the linger clock; later ones need no wake. */
    if (op_is_urgent(op) || was_empty)
        pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Push an op and wait until the store thread has written it. */
static int push_wait(store_op *op)
{
    int waiting = 0;
    op->waiting = &waiting;
    push(op);
    pthread_mutex_lock(&st->mu);
    while (waiting == 0)
        pthread_cond_wait(&st->written, &st->mu);
    pthread_mutex_unlock(&st->mu);
    return waiting > 0 ? 0 : -1;
}

/* ---- the backend's writing functions ---- */

static void sq_accept(store_backend *b, sluice_exec **v, size_t n, int lazy,
                      void (*committed)(void *arg), void (*done)(void *arg, int durable), void *arg)
{
    (void)b;
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_ACCEPT;
    op->v = v;
    op->n = n;
    op->committed = committed;
    op->done = done;
    op->arg = arg;
    /* Nobody waits for this commit yet: it may wait a little for others
     * to share it (LINGER_ACCEPT_US). */
    op->lazy = lazy;
    push(op);
}

/*
 * "Running" is on record at once in the start journal (startlog.h), a
 * line in the OS when write returns, like a synchronous=NORMAL commit;
 * the database learns it with its next batch, and a start the journal
 * alone knew is taken in at the next open (store_sqlite_promote_started).
 */
static int sq_mark_running(store_backend *b, sluice_exec *e)
{
    (void)b;
    if (startlog_append(e->id, e->attempt) < 0) {
        log_error("store: cannot write the start journal: %s", units_strerror(errno));
        return -1;
    }
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_RUNNING;
    op->e = exec_ref(e);
    op->attempt = e->attempt;
    op->ms = e->started_ms;
    push(op);
    return 0;
}

static void sq_finish(store_backend *b, sluice_exec *e, void (*written)(sluice_exec *e))
{
    (void)b;
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_FINISH;
    op->e = exec_ref(e);
    op->written = written;
    push(op);
}

static void sq_requeue(store_backend *b, sluice_exec *e, int ended)
{
    (void)b;
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_REQUEUE;
    op->e = exec_ref(e);
    op->attempt = ended;
    push(op);
}

static void sq_purge(store_backend *b, uint64_t older_than_ms)
{
    (void)b;
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_PURGE;
    op->ms = older_than_ms;
    push(op);
}

static void sq_flush(store_backend *b)
{
    (void)b;
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_PURGE;
    op->ms = 0; /* deletes nothing: finished_at is never negative */
    push_wait(op);
    /* Committed is not yet answered: the accepts committed so far wait
     * for the syncer, whose callbacks resume their parked connections.
     * Shutdown stops the HTTP daemons right after this, and a connection
     * still parked then is fatal to libmicrohttpd. */
    pthread_mutex_lock(&st->mu);
    while ((st->sync_head || st->syncing) && !st->sync_quit)
        pthread_cond_wait(&st->written, &st->mu);
    pthread_mutex_unlock(&st->mu);
}

static void sq_fail_stale(store_backend *b, const char *id, int state, const char *reason)
{
    (void)b;
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_FAIL_STALE;
    op->state = state;
    op->id = xstrdup(id);
    op->reason = xstrdup(reason);
    push_wait(op);
}

static void sq_release_memory(store_backend *b)
{
    (void)b;
    pthread_mutex_lock(&st->rmu);
    if (st->rdb)
        sqlite3_db_release_memory(st->rdb);
    pthread_mutex_unlock(&st->rmu);
    /* The writer's connection belongs to the store thread: ask, and wait
     * (it answers at once when idle), so a malloc_trim after this finds
     * the pages free. */
    pthread_mutex_lock(&st->mu);
    if (st->wdb && !st->quit) {
        st->release_wanted = 1;
        pthread_cond_signal(&st->cv);
        while (st->release_wanted && !st->quit)
            pthread_cond_wait(&st->written, &st->mu);
    }
    pthread_mutex_unlock(&st->mu);
}

void store_sqlite_set_writes(store_backend *b)
{
    b->release_memory = sq_release_memory;
    b->accept = sq_accept;
    b->mark_running = sq_mark_running;
    b->finish = sq_finish;
    b->requeue = sq_requeue;
    b->purge = sq_purge;
    b->flush = sq_flush;
    b->fail_stale = sq_fail_stale;
}

/* ---- opening and closing the writer ---- */

int store_sqlite_prepare(char *why, size_t len)
{
    sqlite3_wal_hook(st->wdb, wal_hook, NULL);
    ws.insert = prep("INSERT INTO executions (id, request_id, trigger, flow, state, attempt, "
                     "function, idem_key, received_at, replay_of, replaces) VALUES "
                     "(?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING");
    ws.insert_payload = prep("INSERT INTO payloads (id, event, headers, body, body_type) "
                             "VALUES (?1, ?2, ?3, ?4, ?5)");
    ws.expire_idem = prep("UPDATE executions SET idem_key = NULL WHERE trigger = ?1 AND "
                          "flow = ?2 AND idem_key = ?3 AND received_at < ?4");
    ws.find_dup = prep("SELECT id FROM executions WHERE trigger = ?1 AND flow = ?2 AND "
                       "idem_key = ?3");
    ws.running = prep("UPDATE executions SET state = 'running', started_at = ?1, attempt = ?2 "
                      "WHERE id = ?3");
    ws.finish = prep("UPDATE executions SET state = ?1, exit_code = ?2, error = ?3, "
                     "started_at = ?4, finished_at = ?5, attempt = ?6, replaced_by = ?8, "
                     "replaces = COALESCE(?9, replaces) WHERE id = ?7");
    ws.insert_attempt = prep("INSERT OR REPLACE INTO attempts (id, attempt, state, exit_code, "
                             "error, started_at, finished_at, stdout, stderr) VALUES "
                             "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    ws.insert_result = prep("INSERT OR REPLACE INTO results (id, outputs, stdout, stderr, meta) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)");
    ws.requeue = prep("UPDATE executions SET state = 'queued', attempt = ?1, started_at = NULL "
                      "WHERE id = ?2");
#define PURGE_IDS                                                                    \
    "(SELECT id FROM executions WHERE finished_at IS NOT NULL AND finished_at < ?1 " \
    "ORDER BY finished_at, id LIMIT " STR(PURGE_BATCH) ")"
    ws.purge_payloads = prep("DELETE FROM payloads WHERE id IN " PURGE_IDS);
    ws.purge_results = prep("DELETE FROM results WHERE id IN " PURGE_IDS);
    ws.purge_attempts = prep("DELETE FROM attempts WHERE id IN " PURGE_IDS);
    ws.purge = prep("DELETE FROM executions WHERE id IN " PURGE_IDS);
#undef PURGE_IDS
    ws.fail = prep("UPDATE executions SET state = ?4, error = ?1, finished_at = ?2 "
                   "WHERE id = ?3");
    ws.promote = prep("UPDATE executions SET state = 'running', attempt = ?1, started_at = "
                      "CASE WHEN attempt = ?1 THEN started_at END WHERE id = ?2 AND "
                      "attempt <= ?1 AND state IN ('queued', 'running')");
    ws.promote_cut = prep("INSERT OR IGNORE INTO attempts (id, attempt, state, error, started_at) "
                          "SELECT id, attempt, 'unknown', '" EXEC_UNKNOWN_ERROR "', started_at "
                          "FROM executions WHERE id = ?2 AND attempt < ?1 AND "
                          "state IN ('queued', 'running')");
    ws.begin = prep("BEGIN IMMEDIATE");
    ws.commit = prep("COMMIT");
    ws.savepoint = prep("SAVEPOINT op");
    ws.rollback_to = prep("ROLLBACK TO op");
    ws.release = prep("RELEASE op");
    for (size_t i = 0; i < N_WS; i++)
        if (!*ws_all[i]) {
            snprintf(why, len, "%s", sqlite3_errmsg(st->wdb));
            return -1;
        }
    return 0;
}

void store_sqlite_finalize(void)
{
    for (size_t i = 0; i < N_WS; i++) {
        sqlite3_finalize(*ws_all[i]);
        *ws_all[i] = NULL;
    }
}

int store_sqlite_start(char *why, size_t len)
{
    st->healthy = 1;
    st->quit = 0;
    st->sync_quit = 0;
    st->ckpt_quit = 0;
    st->urgent = 0;
    st->lazy_accepts = 0;
    st->release_wanted = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&st->cv);
    pthread_cond_init(&st->cv, &ca);
    pthread_cond_destroy(&st->sync_cv);
    pthread_cond_init(&st->sync_cv, &ca);
    pthread_condattr_destroy(&ca);
    st->ckpt_started = 0;
    if (pthread_create(&st->thread, NULL, store_main, NULL) != 0 ||
        pthread_create(&st->syncer, NULL, syncer_main, NULL) != 0) {
        snprintf(why, len, "cannot start the store threads");
        return -1;
    }
    return 0;
}

/* Let the store thread write what is queued, then the syncer answer it,
 * then stop the checkpointer. */
void store_sqlite_stop(void)
{
    pthread_mutex_lock(&st->mu);
    st->quit = 1;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    pthread_mutex_lock(&st->mu);
    st->sync_quit = 1;
    pthread_cond_signal(&st->sync_cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->syncer, NULL);
    pthread_mutex_lock(&st->mu);
    st->ckpt_quit = 1;
    pthread_cond_signal(&st->ckpt_cv);
    int ckpt = st->ckpt_started;
    st->ckpt_started = 0;
    pthread_mutex_unlock(&st->mu);
    if (ckpt)
        pthread_join(st->checkpointer, NULL);
}

/*
 * A journal line: id started attempt. The database may not know that
 * attempt yet, nor even the requeue that led to it: recovery (or a retry)
 * requeues attempt N as N+1 through the store thread while the worker
 * journals N+1 at once, so a crash in between leaves the row at attempt N
 * and the journal ahead of it. Taking the journal's attempt is what keeps
 * the count moving, so that retry.max bounds how often a crash loop runs
 * it. The attempt the database knew had started too; its record went with
 * the lost requeue, so it stays on record with its outcome unknown. Lines
 * already settled, or older than the row, change nothing; a finished row
 * is left alone.
 */
void store_sqlite_promote_started(void *arg, const char *id, int attempt)
{
    (void)arg;
    sqlite3_bind_int(ws.promote_cut, 1, attempt);
    sqlite3_bind_text(ws.promote_cut, 2, id, -1, SQLITE_STATIC);
    step_done(ws.promote_cut);
    sqlite3_bind_int(ws.promote, 1, attempt);
    sqlite3_bind_text(ws.promote, 2, id, -1, SQLITE_STATIC);
    step_done(ws.promote);
}
