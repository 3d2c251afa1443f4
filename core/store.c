/*
 * store.c - the SQLite execution store (see store.h for the rules).
 */
#include "store.h"

#include "engine.h"
#include "event.h"
#include "fsutil.h"
#include "jsonout.h"
#include "log.h"
#include "startlog.h"
#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PURGE_BATCH 500
#define STR_(x) #x
#define STR(x) STR_(x)
/* The WAL is checkpointed off the store thread once it holds this many
 * pages (16 MiB: the pages every batch rewrites, index leaves and the
 * right edge of each table, are copied back once per checkpoint, so fewer
 * checkpoints copy less), and cut back to this size. */
#define CHECKPOINT_PAGES 4000
#define WAL_SIZE_LIMIT 67108864 /* 64 MiB, spelled out for PRAGMA text */

/*
 * WHAT AN ACCEPT WRITES
 *
 * Durable accepts are the store's hot path (every one is written and
 * fdatasync'ed before its 2xx), so each body is written once. A payloads
 * row keeps:
 *
 *   body       the request body byte for byte (BLOB), which exec_body
 *              lends the plugin again after a crash and on replay;
 *   event      the event WITHOUT its "body" and "raw_body_b64" members:
 *              they are a function of the bytes and their Content-Type
 *              (body_type), and are rebuilt from them (event_body_members)
 *              when the event is needed again, which is rare (recovery,
 *              replay, reading an execution's inputs);
 * and no inputs: the document's inputs are the event's params, query,
 * body, variables and function, so they are derived on reading. Version 1
 * wrote them out, which stored every body a second time.
 *
 * So a JSON body costs its raw bytes once, where version 1 wrote its parsed
 * form twice (event and inputs), and a binary body costs its bytes instead
 * of their base64. The one exception is a body in which a key travelled
 * (gate.c redacts it in the event): its bytes are never written, and the
 * event is kept whole, with its redacted body. body IS NULL therefore
 * means "the event column is complete", also for every version 1 row.
 *
 * results.meta holds what plugins recorded with exec_set_meta, written
 * with the other results.
 *
 * WHAT AN ATTEMPT WRITES
 *
 * The executions and results rows hold the last attempt. An attempt that
 * is followed by a retry gets an attempts row (its state, exit code,
 * error, timings and output) in the same statement batch as the requeue
 * that starts the next one, so an execution that is not retried writes
 * nothing more than before. The links between executions (replay_of,
 * replaces, replaced_by) are columns of the rows already written:
 * replay_of goes with the accept, replaced_by and replaces with the result
 * (an execution cancels one to make room only once it is committed).
 */

/* Each migration takes the schema from version i to i + 1. */
static const char *const migrations[] = {
    /* 1: executions */
    "CREATE TABLE executions ("
    "  id TEXT PRIMARY KEY,"
    "  request_id TEXT NOT NULL,"
    "  trigger TEXT NOT NULL,"
    "  flow TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL DEFAULT 1,"
    "  event TEXT NOT NULL,"
    "  inputs TEXT,"
    "  function TEXT,"
    "  headers TEXT,"
    "  idem_key TEXT,"
    "  exit_code INTEGER,"
    "  outputs TEXT,"
    "  error TEXT,"
    "  stdout TEXT,"
    "  stderr TEXT,"
    "  received_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  finished_at INTEGER"
    ") WITHOUT ROWID;"
    "CREATE INDEX executions_state ON executions(state);"
    "CREATE INDEX executions_flow ON executions(flow, id);"
    "CREATE INDEX executions_trigger ON executions(trigger, id);"
    "CREATE INDEX executions_finished ON executions(finished_at) WHERE finished_at IS NOT NULL;"
    "CREATE UNIQUE INDEX executions_idem ON executions(trigger, flow, idem_key)"
    "  WHERE idem_key IS NOT NULL;",

    /*
     * 2: the row that changes state is kept narrow, and the request body is
     * kept as it came. SQLite rewrites a whole record on UPDATE, so with
     * the event (kilobytes) in it, "running" and the result each rewrote
     * the event too, a page per execution. The request (written once) and
     * the results (written once) get tables of their own; inputs are
     * derived from the event, which holds them. payloads.body holds the
     * raw bytes and body_type their Content-Type (see "what an accept
     * writes"); results.meta what plugins recorded (ABI 1.1).
     */
    "CREATE TABLE payloads ("
    "  id TEXT PRIMARY KEY,"
    "  event TEXT NOT NULL,"
    "  headers TEXT,"
    "  body BLOB,"
    "  body_type TEXT"
    ");"
    "CREATE TABLE results ("
    "  id TEXT PRIMARY KEY,"
    "  outputs TEXT,"
    "  stdout TEXT,"
    "  stderr TEXT,"
    "  meta TEXT"
    ");"
    "INSERT INTO payloads SELECT id, event, headers, NULL, NULL FROM executions;"
    "INSERT INTO results SELECT id, outputs, stdout, stderr, NULL FROM executions"
    "  WHERE outputs IS NOT NULL OR stdout IS NOT NULL OR stderr IS NOT NULL;"
    "CREATE TABLE executions_v2 ("
    "  id TEXT PRIMARY KEY,"
    "  request_id TEXT NOT NULL,"
    "  trigger TEXT NOT NULL,"
    "  flow TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL DEFAULT 1,"
    "  function TEXT,"
    "  idem_key TEXT,"
    "  exit_code INTEGER,"
    "  error TEXT,"
    "  received_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  finished_at INTEGER"
    ") WITHOUT ROWID;"
    "INSERT INTO executions_v2 SELECT id, request_id, trigger, flow, state, attempt, function,"
    "  idem_key, exit_code, error, received_at, started_at, finished_at FROM executions;"
    "DROP TABLE executions;"
    "ALTER TABLE executions_v2 RENAME TO executions;"
    "CREATE INDEX executions_state ON executions(state);"
    "CREATE INDEX executions_flow ON executions(flow, id);"
    "CREATE INDEX executions_trigger ON executions(trigger, id);"
    "CREATE INDEX executions_finished ON executions(finished_at) WHERE finished_at IS NOT NULL;"
    "CREATE UNIQUE INDEX executions_idem ON executions(trigger, flow, idem_key)"
    "  WHERE idem_key IS NOT NULL;",

    /*
     * 3: every attempt on record, the links between executions (see "what
     * an attempt writes"), and the "unknown" state. Version 2 recorded an
     * execution found running at start without a retry as failed
     * "interrupted", which it cannot know: it may have finished. Those rows
     * say so now, as version 3 writes them. So do the ones it failed for
     * another reason after they had started (started_at set; no exit code
     * or results, which only a real end writes): a trigger or flow no
     * longer configured, or a stored request it could not rebuild (every
     * message exec_from_store wrote then). Queued ones never ran: failed.
     */
    "CREATE TABLE attempts ("
    "  id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  exit_code INTEGER,"
    "  error TEXT,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  stdout TEXT,"
    "  stderr TEXT,"
    "  PRIMARY KEY (id, attempt)"
    ");"
    "ALTER TABLE executions ADD COLUMN replay_of TEXT;"
    "ALTER TABLE executions ADD COLUMN replaces TEXT;"
    "ALTER TABLE executions ADD COLUMN replaced_by TEXT;"
    "UPDATE executions SET state = 'unknown', error = '" EXEC_UNKNOWN_ERROR "'"
    "  WHERE state = 'failed' AND error = 'interrupted: sluiced stopped while it was running';"
    "UPDATE executions SET state = 'unknown', error = '" EXEC_UNKNOWN_ERROR "; ' || error"
    "  WHERE state = 'failed' AND started_at IS NOT NULL AND exit_code IS NULL"
    "  AND id NOT IN (SELECT id FROM results)"
    "  AND (error IN ('its trigger or flow is no longer configured',"
    "                 'the stored request lacks its body',"
    "                 'the stored event is not a JSON object', 'out of memory',"
    "                 'invalid form body: bad percent-encoding or not UTF-8')"
    "       OR error LIKE 'JSON body nested deeper than % levels'"
    "       OR error LIKE 'malformed JSON body at line % column %');",
};

enum op_kind { OP_ACCEPT, OP_RUNNING, OP_FINISH, OP_REQUEUE, OP_PURGE, OP_FAIL_STALE };

typedef struct store_op {
    int kind;
    sluice_exec *e;      /* RUNNING, FINISH, REQUEUE */
    int attempt;         /* RUNNING: the attempt the start journal names;
                          * REQUEUE: the attempt whose record to write, 0: none */
    int state;           /* FAIL_STALE: the final state */
    int failed;          /* this op was rolled back (the batch may still commit) */
    int lazy;            /* ACCEPT: nobody waits for it yet (store_accept) */
    sluice_exec **v;     /* ACCEPT */
    size_t n;
    void (*committed)(void *);
    void (*done)(void *, int);
    void *arg;
    uint64_t ms;         /* PURGE: cutoff */
    char *id, *reason;   /* FAIL_STALE */
    int *waiting;        /* set to 1 (ok) or -1 when written, for synchronous ops */
    struct store_op *next;
} store_op;

static struct {
    sqlite3 *wdb, *rdb;
    pthread_mutex_t rmu; /* serializes the reading connection */
    pthread_mutex_t mu;  /* ops queue and live set */
    pthread_cond_t cv, written, sync_cv, ckpt_cv;
    store_op *head, *tail;
    store_op *sync_head, *sync_tail; /* committed accepts awaiting fdatasync */
    int syncing;                     /* the syncer is in a round (syncer_main) */
    int quit, healthy, sync_quit, ckpt_quit, ckpt_wanted, ckpt_started;
    int urgent;       /* queued ops someone waits for (store_main) */
    int lazy_accepts; /* queued accepts that may wait a little (store_accept) */
    int release_wanted; /* store_release_memory: free the writer's cache */
    int is_new; /* store_open found no schema */
    int wal_fd;
    sqlite3 *cdb; /* the checkpointer's connection, opened when first needed */
    char *path;
    pthread_t thread, syncer, checkpointer;
    sluice_exec **buckets; /* the live set: chains through live_next */
    size_t n_buckets, n_live;
} st = {
    .rmu = PTHREAD_MUTEX_INITIALIZER,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .written = PTHREAD_COND_INITIALIZER,
    .sync_cv = PTHREAD_COND_INITIALIZER,
    .ckpt_cv = PTHREAD_COND_INITIALIZER,
    .wal_fd = -1,
};

/* ---- the live set ---- */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void live_grow(void)
{
    size_t nb = st.n_buckets * 2;
    sluice_exec **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < st.n_buckets; i++)
        for (sluice_exec *x = st.buckets[i], *next; x; x = next) {
            next = x->live_next;
            size_t k = hash_id(x->id) & (nb - 1);
            x->live_next = b[k];
            b[k] = x;
        }
    free(st.buckets);
    st.buckets = b;
    st.n_buckets = nb;
}

/* Called with st.mu held. The set holds a reference; the link is e's own,
 * so joining it cannot fail for want of memory. */
static void live_add(sluice_exec *e)
{
    if (st.n_live >= st.n_buckets)
        live_grow();
    size_t k = hash_id(e->id) & (st.n_buckets - 1);
    e->live_next = st.buckets[k];
    st.buckets[k] = exec_ref(e);
    st.n_live++;
}

/* Called with st.mu held; returns the reference the set held. */
static sluice_exec *live_remove(const char *id)
{
    sluice_exec **pp = &st.buckets[hash_id(id) & (st.n_buckets - 1)];
    for (; *pp; pp = &(*pp)->live_next)
        if (strcmp((*pp)->id, id) == 0) {
            sluice_exec *e = *pp;
            *pp = e->live_next;
            e->live_next = NULL;
            st.n_live--;
            return e;
        }
    return NULL;
}

void store_adopt(sluice_exec *e)
{
    pthread_mutex_lock(&st.mu);
    live_add(e);
    pthread_mutex_unlock(&st.mu);
}

sluice_exec *store_get_live(const char *id)
{
    sluice_exec *e = NULL;
    pthread_mutex_lock(&st.mu);
    if (st.buckets)
        for (sluice_exec *x = st.buckets[hash_id(id) & (st.n_buckets - 1)]; x; x = x->live_next)
            if (strcmp(x->id, id) == 0) {
                e = exec_ref(x);
                break;
            }
    pthread_mutex_unlock(&st.mu);
    return e;
}

/* ---- writing ---- */

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

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
    snprintf(err, errlen, "%s", sqlite3_errmsg(st.wdb));
    return -1;
}

static sqlite3_stmt *prep(const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st.wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        log_error("store: cannot prepare statement: %s", sqlite3_errmsg(st.wdb));
    return s;
}

static struct {
    sqlite3_stmt *insert, *insert_payload, *expire_idem, *find_dup, *running, *finish,
        *insert_result, *requeue, *purge, *purge_payloads, *purge_results, *fail, *promote,
        *promote_cut, *insert_attempt, *purge_attempts;
    sqlite3_stmt *savepoint, *rollback_to, *release, *begin, *commit;
} ws;

static sqlite3_stmt **const ws_all[] = {
    &ws.insert,        &ws.insert_payload, &ws.expire_idem, &ws.find_dup, &ws.running,
    &ws.finish,        &ws.insert_result,  &ws.requeue,     &ws.purge,    &ws.purge_payloads,
    &ws.purge_results, &ws.fail,           &ws.promote,     &ws.savepoint, &ws.rollback_to,
    &ws.release,       &ws.begin,          &ws.commit,      &ws.insert_attempt,
    &ws.purge_attempts, &ws.promote_cut,
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
    if (sqlite3_changes(st.wdb) == 0) {
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
        if (sqlite3_changes(st.wdb) > 0) {
            log_debug("store: retention removed %d executions", sqlite3_changes(st.wdb));
            /* Give the freed pages back to the file system, a few at a time. */
            exec_sql(st.wdb, "PRAGMA incremental_vacuum(256)", NULL, 0);
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
            log_error("store: write failed: %s", sqlite3_errmsg(st.wdb));
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
        exec_sql(st.wdb, "ROLLBACK", NULL, 0);
        ok_all = 0;
    } else if (!ok_all) {
        log_error("store: cannot begin a transaction: %s", err);
    }
    __atomic_store_n(&st.healthy, ok_all, __ATOMIC_RELAXED);

    for (store_op *op = ops, *next; op; op = next) {
        next = op->next;
        switch (op->kind) {
        case OP_ACCEPT:
            if (ok_all) {
                pthread_mutex_lock(&st.mu);
                for (size_t i = 0; i < op->n; i++)
                    if (op->v[i]->store_status == STORE_OK)
                        live_add(op->v[i]);
                pthread_mutex_unlock(&st.mu);
                op->committed(op->arg);
                /* Committed, not yet on disk: the syncer acknowledges it. */
                op->next = NULL;
                pthread_mutex_lock(&st.mu);
                if (st.sync_tail)
                    st.sync_tail->next = op;
                else
                    st.sync_head = op;
                st.sync_tail = op;
                pthread_cond_signal(&st.sync_cv);
                pthread_mutex_unlock(&st.mu);
                continue;
            }
            for (size_t i = 0; i < op->n; i++)
                op->v[i]->store_status = STORE_FAILED;
            op->done(op->arg, 0);
            break;
        case OP_FINISH: {
            pthread_mutex_lock(&st.mu);
            sluice_exec *held = live_remove(op->e->id);
            pthread_mutex_unlock(&st.mu);
            exec_unref(held);
            exec_unref(op->e);
            break;
        }
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
            pthread_mutex_lock(&st.mu);
            if (*op->waiting == 0)
                *op->waiting = ok_all ? 1 : -1;
            pthread_cond_broadcast(&st.written);
            pthread_mutex_unlock(&st.mu);
        }
        free(op->id);
        free(op->reason);
        free(op->v);
        free(op);
    }
}

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

/* Wait on cv (CLOCK_MONOTONIC, st.mu held) until us, or a signal. */
static void wait_until_us(pthread_cond_t *cv, uint64_t us)
{
    struct timespec t = {.tv_sec = (time_t)(us / 1000000u),
                         .tv_nsec = (long)(us % 1000000u) * 1000};
    pthread_cond_timedwait(cv, &st.mu, &t);
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
    pthread_mutex_lock(&st.mu);
    for (;;) {
        while (!st.sync_quit) {
            if (st.sync_head)
                break;
            pthread_cond_wait(&st.sync_cv, &st.mu);
        }
        if (!st.sync_head)
            break;
        store_op *ops = st.sync_head;
        st.sync_head = st.sync_tail = NULL;
        st.syncing = 1;
        pthread_mutex_unlock(&st.mu);
        int ok = fdatasync(st.wal_fd) == 0;
        if (!ok)
            log_error("store: fdatasync of the WAL failed: %s", units_strerror(errno));
        __atomic_store_n(&st.healthy, ok, __ATOMIC_RELAXED);
        for (store_op *op = ops, *next; op; op = next) {
            next = op->next;
            op->done(op->arg, ok);
            free(op->v);
            free(op);
        }
        pthread_mutex_lock(&st.mu);
        st.syncing = 0;
        pthread_cond_broadcast(&st.written);
    }
    pthread_mutex_unlock(&st.mu);
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
        pthread_mutex_lock(&st.mu);
        /* Started at the first checkpoint: a quiet daemon never needs it.
         * Should it fail to start, SQLite's own checkpointing takes over. */
        if (!st.ckpt_started) {
            if (pthread_create(&st.checkpointer, NULL, checkpointer_main, NULL) == 0) {
                st.ckpt_started = 1;
            } else {
                log_warn("store: cannot start the checkpoint thread; checkpointing in commits");
                sqlite3_wal_autocheckpoint(st.wdb, CHECKPOINT_PAGES);
            }
        }
        if (st.ckpt_started && !st.ckpt_wanted) {
            st.ckpt_wanted = 1;
            pthread_cond_signal(&st.ckpt_cv);
        }
        pthread_mutex_unlock(&st.mu);
    }
    return SQLITE_OK;
}

static int open_checkpointer(void)
{
    char why[256];
    if (sqlite3_open_v2(st.path, &st.cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
            SQLITE_OK &&
        exec_sql(st.cdb, "PRAGMA synchronous = NORMAL", why, sizeof(why)) == 0 &&
        exec_sql(st.cdb, "PRAGMA wal_autocheckpoint = 0", why, sizeof(why)) == 0) {
        sqlite3_busy_timeout(st.cdb, 5000);
        return 0;
    }
    log_warn("store: cannot open a connection for checkpoints: %s",
             st.cdb ? sqlite3_errmsg(st.cdb) : "out of memory");
    sqlite3_close(st.cdb);
    st.cdb = NULL;
    return -1;
}

static void *checkpointer_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "store-ckpt");
    pthread_mutex_lock(&st.mu);
    for (;;) {
        while (!st.ckpt_wanted && !st.ckpt_quit)
            pthread_cond_wait(&st.ckpt_cv, &st.mu);
        if (st.ckpt_quit)
            break;
        st.ckpt_wanted = 0;
        pthread_mutex_unlock(&st.mu);
        /* Opened at the first checkpoint: a quiet daemon never needs it. */
        if (!st.cdb && open_checkpointer() < 0) {
            pthread_mutex_lock(&st.mu);
            continue;
        }
        int logged = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(st.cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &logged,
                                           &done);
        if (rc == SQLITE_OK && logged >= 8 * CHECKPOINT_PAGES)
            rc = sqlite3_wal_checkpoint_v2(st.cdb, NULL, SQLITE_CHECKPOINT_RESTART, &logged,
                                           &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store: checkpoint failed: %s", sqlite3_errmsg(st.cdb));
        sqlite3_db_release_memory(st.cdb);
        pthread_mutex_lock(&st.mu);
    }
    pthread_mutex_unlock(&st.mu);
    return NULL;
}

static void *store_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "store");
    pthread_mutex_lock(&st.mu);
    for (;;) {
        uint64_t lazy_deadline = 0;
        while (!st.quit) {
            if (!st.head) {
                if (st.release_wanted) {
                    /* Between transactions: every cached page is clean. */
                    sqlite3_db_release_memory(st.wdb);
                    st.release_wanted = 0;
                    pthread_cond_broadcast(&st.written);
                    continue;
                }
                lazy_deadline = 0;
                pthread_cond_wait(&st.cv, &st.mu);
                continue;
            }
            if (st.urgent)
                break;
            uint64_t now = mono_us();
            uint64_t linger = st.lazy_accepts ? LINGER_ACCEPT_US : LINGER_MS * 1000u;
            if (!lazy_deadline || lazy_deadline > now + linger)
                lazy_deadline = now + linger;
            if (now >= lazy_deadline)
                break;
            wait_until_us(&st.cv, lazy_deadline);
        }
        if (!st.head)
            break;
        store_op *ops = st.head;
        st.head = st.tail = NULL;
        st.urgent = 0;
        st.lazy_accepts = 0;
        pthread_mutex_unlock(&st.mu);
        write_batch(ops);
        pthread_mutex_lock(&st.mu);
    }
    pthread_mutex_unlock(&st.mu);
    return NULL;
}

static int op_is_urgent(const store_op *op)
{
    return (op->kind == OP_ACCEPT && !op->lazy) || op->waiting != NULL;
}

static void push(store_op *op)
{
    pthread_mutex_lock(&st.mu);
    int was_empty = st.head == NULL;
    if (st.tail)
        st.tail->next = op;
    else
        st.head = op;
    st.tail = op;
    if (op_is_urgent(op))
        st.urgent++;
    else if (op->kind == OP_ACCEPT)
        st.lazy_accepts++;
    /* The first lazy op starts the linger clock; later ones need no wake. */
    if (op_is_urgent(op) || was_empty)
        pthread_cond_signal(&st.cv);
    pthread_mutex_unlock(&st.mu);
}

/* Push an op and wait until the store thread has written it. */
static int push_wait(store_op *op)
{
    int waiting = 0;
    op->waiting = &waiting;
    push(op);
    pthread_mutex_lock(&st.mu);
    while (waiting == 0)
        pthread_cond_wait(&st.written, &st.mu);
    pthread_mutex_unlock(&st.mu);
    return waiting > 0 ? 0 : -1;
}

void store_accept(sluice_exec **v, size_t n, void (*committed)(void *arg),
                  void (*done)(void *arg, int durable), void *arg)
{
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_ACCEPT;
    op->v = xmalloc(n * sizeof(*v));
    memcpy(op->v, v, n * sizeof(*v));
    op->n = n;
    op->committed = committed;
    op->done = done;
    op->arg = arg;
    /* A sync request behind queued executions cannot start before they
     * do, and its sender waits for the result, not for this commit: it may
     * wait a little for others to share the commit (LINGER_ACCEPT_US).
     * Async answers wait on the commit: those go at once. */
    int all_sync = 1;
    for (size_t i = 0; i < n; i++)
        all_sync = all_sync && v[i]->sync;
    op->lazy = all_sync && engine_queued() > 0;
    push(op);
}

int store_mark_running(sluice_exec *e)
{
    /* On record at once in the start journal; in the database with the
     * next batch (startlog.h). */
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

void store_finish(sluice_exec *e)
{
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_FINISH;
    op->e = exec_ref(e);
    push(op);
}

void store_requeue(sluice_exec *e, int ended)
{
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_REQUEUE;
    op->e = exec_ref(e);
    op->attempt = ended;
    push(op);
}

void store_purge(uint64_t older_than_ms)
{
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_PURGE;
    op->ms = older_than_ms;
    push(op);
}

void store_flush(void)
{
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_PURGE;
    op->ms = 0; /* deletes nothing: finished_at is never negative */
    push_wait(op);
    /* Committed is not yet answered: the accepts committed so far wait
     * for the syncer, whose callbacks resume their parked connections.
     * Shutdown stops the HTTP daemons right after this, and a connection
     * still parked then is fatal to libmicrohttpd. */
    pthread_mutex_lock(&st.mu);
    while ((st.sync_head || st.syncing) && !st.sync_quit)
        pthread_cond_wait(&st.written, &st.mu);
    pthread_mutex_unlock(&st.mu);
}

void store_fail_stale(const char *id, int state, const char *reason)
{
    store_op *op = xcalloc(1, sizeof(*op));
    op->kind = OP_FAIL_STALE;
    op->state = state;
    op->id = xstrdup(id);
    op->reason = xstrdup(reason);
    push_wait(op);
}

/* ---- reading ---- */

static void set_ms(json_t *o, const char *key, sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL) {
        json_object_set_new(o, key, json_null());
        return;
    }
    char buf[40];
    units_format_time((uint64_t)sqlite3_column_int64(s, col), buf, sizeof(buf));
    json_object_set_new(o, key, json_string(buf));
}

static json_t *col_json(sqlite3_stmt *s, int col, json_t *dflt)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    json_t *j = t ? json_loads(t, JSON_DECODE_ANY, NULL) : NULL;
    if (j) {
        json_decref(dflt);
        return j;
    }
    return dflt;
}

static json_t *col_str(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (!t)
        return json_null();
    json_t *j = json_stringn(t, (size_t)sqlite3_column_bytes(s, col));
    return j ? j : json_string("(not UTF-8)");
}

#define ROW_COLUMNS                                                                          \
    "x.id, request_id, flow, trigger, state, attempt, exit_code, p.event, r.outputs, error, " \
    "received_at, started_at, finished_at, r.stdout, r.stderr, p.body, p.body_type, r.meta, " \
    "x.replay_of, x.replaces, x.replaced_by"
#define ROW_FROM                                                                             \
    " FROM executions x LEFT JOIN payloads p ON p.id = x.id LEFT JOIN results r ON r.id = x.id"

/* The request body of a row, NULL when the row kept none (see the top). */
static exec_body *col_body(sqlite3_stmt *s, int body_col, int type_col)
{
    const char *type = (const char *)sqlite3_column_text(s, type_col);
    if (sqlite3_column_type(s, body_col) == SQLITE_NULL)
        return type ? exec_body_new(NULL, 0, type) : NULL;
    const void *bytes = sqlite3_column_blob(s, body_col);
    size_t len = (size_t)sqlite3_column_bytes(s, body_col);
    return exec_body_new(bytes ? bytes : "", len, type);
}

/* A row's inputs, derived from its event, whose body members are rebuilt
 * from the bytes when the row kept them (see the top of this file). */
static json_t *row_inputs(sqlite3_stmt *s)
{
    const char *ev = (const char *)sqlite3_column_text(s, 7);
    size_t evlen = (size_t)sqlite3_column_bytes(s, 7);
    if (!ev || sqlite3_column_type(s, 15) == SQLITE_NULL)
        return event_inputs(ev, evlen);
    char err[256];
    size_t mlen, len;
    char *members = event_body_members(sqlite3_column_blob(s, 15),
                                       (size_t)sqlite3_column_bytes(s, 15),
                                       (const char *)sqlite3_column_text(s, 16), &mlen, err,
                                       sizeof(err));
    char *full = members ? event_join(ev, evlen, members, mlen, &len) : NULL;
    json_t *in = full ? event_inputs(full, len) : event_inputs(ev, evlen);
    free(members);
    free(full);
    return in;
}

/* The same document exec_to_json makes, from a row of ROW_COLUMNS. */
static json_t *row_json(sqlite3_stmt *s, int with_logs)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", col_str(s, 0));
    json_object_set_new(o, "request_id", col_str(s, 1));
    json_object_set_new(o, "flow", col_str(s, 2));
    json_object_set_new(o, "trigger", col_str(s, 3));
    json_object_set_new(o, "state", col_str(s, 4));
    json_object_set_new(o, "attempt", json_integer(sqlite3_column_int(s, 5)));
    json_object_set_new(o, "exit_code", sqlite3_column_type(s, 6) == SQLITE_NULL
                                            ? json_null()
                                            : json_integer(sqlite3_column_int(s, 6)));
    json_object_set_new(o, "inputs", row_inputs(s));
    json_object_set_new(o, "outputs", col_json(s, 8, json_object()));
    json_object_set_new(o, "meta", col_json(s, 17, json_object()));
    json_object_set_new(o, "error", col_str(s, 9));
    json_object_set_new(o, "replay_of", col_str(s, 18));
    json_object_set_new(o, "replaces", col_str(s, 19));
    json_object_set_new(o, "replaced_by", col_str(s, 20));
    set_ms(o, "received_at", s, 10);
    set_ms(o, "started_at", s, 11);
    set_ms(o, "finished_at", s, 12);
    if (sqlite3_column_type(s, 11) != SQLITE_NULL && sqlite3_column_type(s, 12) != SQLITE_NULL)
        json_object_set_new(o, "duration_ms",
                            json_integer(sqlite3_column_int64(s, 12) -
                                         sqlite3_column_int64(s, 11)));
    if (with_logs) {
        json_object_set_new(o, "stdout", sqlite3_column_type(s, 13) == SQLITE_NULL
                                             ? json_string("")
                                             : col_str(s, 13));
        json_object_set_new(o, "stderr", sqlite3_column_type(s, 14) == SQLITE_NULL
                                             ? json_string("")
                                             : col_str(s, 14));
    }
    return o;
}

static int by_attempt(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "attempt"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "attempt"));
    return (x > y) - (x < y);
}

/* Whether an entry for attempt n is in the array a. */
static int has_attempt(json_t *a, json_int_t n)
{
    for (size_t i = 0; i < json_array_size(a); i++)
        if (json_integer_value(json_object_get(json_array_get(a, i), "attempt")) == n)
            return 1;
    return 0;
}

/*
 * doc["attempts"]: the attempts rows of id (earlier attempts that the store
 * has written), those of pending (the execution's records of ended
 * attempts not yet written; taken over), and the current or last attempt,
 * which is the document's own state and results, once it has started.
 * pending is read before the rows: a record leaves memory only once its row
 * is committed, so each attempt is in one or the other.
 */
static void attach_attempts(json_t *doc, const char *id, json_t *pending)
{
    json_t *a = json_array();
    pthread_mutex_lock(&st.rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.rdb,
                           "SELECT attempt, state, exit_code, error, started_at, finished_at, "
                           "stdout, stderr FROM attempts WHERE id = ? ORDER BY attempt",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(
                a, exec_attempt_entry(
                       sqlite3_column_int(s, 0), (const char *)sqlite3_column_text(s, 1),
                       sqlite3_column_type(s, 2) != SQLITE_NULL, sqlite3_column_int(s, 2),
                       (const char *)sqlite3_column_text(s, 3),
                       (uint64_t)sqlite3_column_int64(s, 4), (uint64_t)sqlite3_column_int64(s, 5),
                       sqlite3_column_blob(s, 6), (size_t)sqlite3_column_bytes(s, 6),
                       sqlite3_column_blob(s, 7), (size_t)sqlite3_column_bytes(s, 7)));
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st.rmu);
    size_t i;
    json_t *x;
    json_array_foreach(pending, i, x)
    {
        if (!has_attempt(a, json_integer_value(json_object_get(x, "attempt"))))
            json_array_append(a, x);
    }
    json_decref(pending);
    /* The last attempt is the execution's own row; queued, it has not
     * started (a retry waiting for its turn). A start known only from the
     * start journal has no time: "unknown" says it started all the same. */
    const char *state = json_string_value(json_object_get(doc, "state"));
    int started = !json_is_null(json_object_get(doc, "started_at"));
    if (state && strcmp(state, "queued") != 0 && (started || strcmp(state, "unknown") == 0) &&
        !has_attempt(a, json_integer_value(json_object_get(doc, "attempt")))) {
        json_t *cur = json_object();
        static const char *const keys[] = {"attempt",     "state",       "exit_code",
                                           "error",       "started_at",  "finished_at",
                                           "duration_ms", "stdout",      "stderr"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            json_t *v = json_object_get(doc, keys[k]);
            if (v)
                json_object_set(cur, keys[k], v);
        }
        json_array_append_new(a, cur);
    }
    size_t n = json_array_size(a);
    if (n > 1) {
        json_t **v = xmalloc(n * sizeof(*v));
        for (i = 0; i < n; i++)
            v[i] = json_incref(json_array_get(a, i));
        qsort(v, n, sizeof(*v), by_attempt);
        json_array_clear(a);
        for (i = 0; i < n; i++)
            json_array_append_new(a, v[i]);
        free(v);
    }
    json_object_set_new(doc, "attempts", a);
}

json_t *store_get_json(const char *id, int with_logs)
{
    sluice_exec *e = store_get_live(id);
    if (e) {
        json_t *pending = with_logs ? exec_attempts_json(e) : NULL;
        json_t *j = exec_to_json(e, with_logs);
        exec_unref(e);
        if (with_logs)
            attach_attempts(j, id, pending);
        return j;
    }
    json_t *j = NULL;
    pthread_mutex_lock(&st.rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.rdb, "SELECT " ROW_COLUMNS ROW_FROM " WHERE x.id = ?", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            j = row_json(s, with_logs);
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st.rmu);
    if (j && with_logs)
        attach_attempts(j, id, json_array());
    return j;
}

json_t *store_list(const store_filter *f, char **next)
{
    char sql[1024] = "SELECT " ROW_COLUMNS ROW_FROM " WHERE 1";
    if (f->flow)
        strcat(sql, " AND flow = :flow");
    if (f->trigger)
        strcat(sql, " AND trigger = :trigger");
    if (f->state)
        strcat(sql, " AND state = :state");
    if (f->since_ms)
        strcat(sql, " AND received_at >= :since");
    if (f->until_ms)
        strcat(sql, " AND received_at < :until");
    if (f->cursor)
        strcat(sql, " AND x.id < :cursor");
    strcat(sql, " ORDER BY x.id DESC LIMIT :limit");
    int limit = f->limit > 0 && f->limit <= 500 ? f->limit : 50;
    json_t *a = json_array();
    *next = NULL;
    pthread_mutex_lock(&st.rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.rdb, sql, -1, &s, NULL) == SQLITE_OK) {
#define BIND_TEXT(name, v)                                                                   \
    if (v)                                                                                   \
        sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, name), v, -1, SQLITE_STATIC)
        BIND_TEXT(":flow", f->flow);
        BIND_TEXT(":trigger", f->trigger);
        BIND_TEXT(":state", f->state);
        BIND_TEXT(":cursor", f->cursor);
#undef BIND_TEXT
        if (f->since_ms)
            sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":since"),
                               (sqlite3_int64)f->since_ms);
        if (f->until_ms)
            sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":until"),
                               (sqlite3_int64)f->until_ms);
        sqlite3_bind_int(s, sqlite3_bind_parameter_index(s, ":limit"), limit);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(a, row_json(s, 0));
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st.rmu);
    /* Rows still live are newer than what the database says: overlay them. */
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *row = json_array_get(a, i);
        sluice_exec *e = store_get_live(json_string_value(json_object_get(row, "id")));
        if (e) {
            json_array_set_new(a, i, exec_to_json(e, 0));
            exec_unref(e);
        }
    }
    if (json_array_size(a) == (size_t)limit)
        *next = xstrdup(json_string_value(json_object_get(json_array_get(a, (size_t)limit - 1),
                                                          "id")));
    return a;
}

size_t store_find_idempotent(const char *trigger, const char *key, uint64_t since_ms,
                             char (*ids)[40], size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&st.rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.rdb,
                           "SELECT id FROM executions WHERE trigger = ? AND idem_key = ? AND "
                           "received_at >= ? ORDER BY id",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, trigger, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)since_ms);
        while (n < max && sqlite3_step(s) == SQLITE_ROW)
            snprintf(ids[n++], 40, "%s", (const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st.rmu);
    return n;
}

static char *col_dup(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? xstrdup(t) : NULL;
}

#define REQUEST_COLUMNS                                                                      \
    "x.id, request_id, trigger, flow, state, attempt, p.event, function, p.headers, "       \
    "received_at, p.body, p.body_type, started_at, x.replay_of, x.replaces"
#define REQUEST_FROM " FROM executions x JOIN payloads p ON p.id = x.id"

/* A row of REQUEST_COLUMNS. */
static void request_row(sqlite3_stmt *s, store_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = col_dup(s, 0);
    r->request_id = col_dup(s, 1);
    r->trigger = col_dup(s, 2);
    r->flow = col_dup(s, 3);
    r->state = col_dup(s, 4);
    r->attempt = sqlite3_column_int(s, 5);
    const char *ev = (const char *)sqlite3_column_text(s, 6);
    r->event_len = (size_t)sqlite3_column_bytes(s, 6);
    r->event = ev ? xmalloc(r->event_len + 1) : NULL;
    if (r->event) {
        memcpy(r->event, ev, r->event_len);
        r->event[r->event_len] = 0;
    }
    r->function = col_dup(s, 7);
    r->headers = col_json(s, 8, json_object());
    r->received_ms = (uint64_t)sqlite3_column_int64(s, 9);
    r->raw = sqlite3_column_type(s, 10) != SQLITE_NULL;
    r->body = col_body(s, 10, 11);
    r->started_ms = (uint64_t)sqlite3_column_int64(s, 12);
    r->replay_of = col_dup(s, 13);
    r->replaces = col_dup(s, 14);
}

void store_row_clear(store_row *r)
{
    free(r->id);
    free(r->request_id);
    free(r->trigger);
    free(r->flow);
    free(r->state);
    free(r->event);
    free(r->function);
    free(r->replay_of);
    free(r->replaces);
    json_decref(r->headers);
    exec_body_unref(r->body);
    memset(r, 0, sizeof(*r));
}

int store_load_request(const char *id, store_row *out)
{
    int rc = -1;
    pthread_mutex_lock(&st.rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.rdb, "SELECT " REQUEST_COLUMNS REQUEST_FROM " WHERE x.id = ?",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            request_row(s, out);
            rc = out->event ? 0 : -1;
            if (rc < 0)
                store_row_clear(out);
        }
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st.rmu);
    return rc;
}

json_t *store_flow_stats(const char *column)
{
    json_t *o = json_object();
    char sql[512];
    /* column is "flow" or "trigger", never user input. */
    snprintf(sql, sizeof(sql),
             "SELECT %s, count(*), max(id) FROM executions GROUP BY %s", column, column);
    pthread_mutex_lock(&st.rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.rdb, sql, -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            json_t *x = json_object();
            json_object_set_new(x, "executions", json_integer(sqlite3_column_int64(s, 1)));
            json_object_set_new(x, "last_execution_id", col_str(s, 2));
            json_object_set_new(o, (const char *)sqlite3_column_text(s, 0), x);
        }
        sqlite3_finalize(s);
    }
    if (sqlite3_prepare_v2(st.rdb, "SELECT state FROM executions WHERE id = ?", -1, &s, NULL) ==
        SQLITE_OK) {
        const char *k;
        json_t *x;
        json_object_foreach(o, k, x)
        {
            sqlite3_bind_text(s, 1, json_string_value(json_object_get(x, "last_execution_id")), -1,
                              SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW)
                json_object_set_new(x, "last_state", col_str(s, 0));
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st.rmu);
    return o;
}

int store_recover(store_recover_fn fn, void *arg)
{
    pthread_mutex_lock(&st.rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.rdb,
                           "SELECT " REQUEST_COLUMNS REQUEST_FROM " WHERE state IN "
                           "('queued', 'running') ORDER BY x.id",
                           -1, &s, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&st.rmu);
        return -1;
    }
    /* Collect first: fn may write through the store thread. */
    size_t n = 0, cap = 0;
    store_row *rows = NULL;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == cap) {
            store_row *grown = realloc(rows, (cap = cap ? cap * 2 : 16) * sizeof(*rows));
            if (!grown)
                break;
            rows = grown;
        }
        request_row(s, &rows[n]);
        if (rows[n].event && rows[n].id && rows[n].trigger && rows[n].flow && rows[n].state)
            n++;
        else
            store_row_clear(&rows[n]);
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st.rmu);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].attempt < 1)
            rows[i].attempt = 1;
        fn(arg, &rows[i]);
        store_row_clear(&rows[i]);
    }
    free(rows);
    return (int)n;
}

void store_cancel_running(int reason)
{
    size_t n = 0;
    pthread_mutex_lock(&st.mu);
    /* engine_cancel cannot run under st.mu: collect first, sized exactly. */
    sluice_exec **v = xmalloc(st.n_live * sizeof(*v));
    for (size_t i = 0; st.buckets && i < st.n_buckets; i++)
        for (sluice_exec *x = st.buckets[i]; x; x = x->live_next)
            v[n++] = exec_ref(x);
    pthread_mutex_unlock(&st.mu);
    for (size_t i = 0; i < n; i++) {
        engine_cancel(v[i], reason);
        exec_unref(v[i]);
    }
    free(v);
}

void store_release_memory(void)
{
    pthread_mutex_lock(&st.rmu);
    if (st.rdb)
        sqlite3_db_release_memory(st.rdb);
    pthread_mutex_unlock(&st.rmu);
    /* The writer's connection belongs to the store thread: ask, and wait
     * (it answers at once when idle), so a malloc_trim after this finds
     * the pages free. */
    pthread_mutex_lock(&st.mu);
    if (st.wdb && !st.quit) {
        st.release_wanted = 1;
        pthread_cond_signal(&st.cv);
        while (st.release_wanted && !st.quit)
            pthread_cond_wait(&st.written, &st.mu);
    }
    pthread_mutex_unlock(&st.mu);
}

int store_healthy(void)
{
    return __atomic_load_n(&st.healthy, __ATOMIC_RELAXED);
}

/* ---- opening ---- */

/*
 * The database holds request bodies and headers: it and every file beside
 * it are for sluiced's user alone, whatever the umask. SQLite creates a
 * database 0644 less the umask and gives its -wal and -shm the database's
 * mode, so the database is created here first, 0600; a database an older
 * sluiced made readable, and what lies beside it, are closed the same way.
 * Errors are left to sqlite3_open_v2, which names them.
 */
static void make_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077)) {
        if (fchmod(fd, sb.st_mode & 0700) == 0)
            log_info("store %s: made private to its owner (it was mode %04o)", path,
                     (unsigned)(sb.st_mode & 07777));
        else
            log_warn("store %s: cannot make it private: %s", path, strerror(errno));
    }
    close(fd);
    static const char *const beside[] = {"-wal", "-shm", "-journal", "-started"};
    for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
        char p[4200];
        snprintf(p, sizeof(p), "%s%s", path, beside[i]);
        if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077) &&
            chmod(p, sb.st_mode & 0700) < 0)
            log_warn("store %s: cannot make it private: %s", p, strerror(errno));
    }
}

/* Sets st.is_new: the database has no schema at all yet. */
static int store_is_new(char *err, size_t errlen)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st.wdb, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) !=
            SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.wdb));
        sqlite3_finalize(s);
        return -1;
    }
    st.is_new = sqlite3_column_int(s, 0) == 0;
    sqlite3_finalize(s);
    return 0;
}

static int migrate(char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int version = 0;
    if (sqlite3_prepare_v2(st.wdb, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.wdb));
        sqlite3_finalize(s);
        return -1;
    }
    version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));
    if (version > latest) {
        snprintf(err, errlen,
                 "the database has schema version %d, newer than this sluiced knows (%d)",
                 version, latest);
        return -1;
    }
    for (int v = version; v < latest; v++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
        if (exec_sql(st.wdb, "BEGIN IMMEDIATE", err, errlen) < 0)
            return -1;
        if (exec_sql(st.wdb, migrations[v], err, errlen) < 0 ||
            exec_sql(st.wdb, sql, err, errlen) < 0 || exec_sql(st.wdb, "COMMIT", err, errlen) < 0) {
            exec_sql(st.wdb, "ROLLBACK", NULL, 0);
            return -1;
        }
        if (version > 0)
            log_info("store: upgraded the schema to version %d", v + 1);
    }
    return 0;
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
static void promote_started(void *arg, const char *id, int attempt)
{
    (void)arg;
    sqlite3_bind_int(ws.promote_cut, 1, attempt);
    sqlite3_bind_text(ws.promote_cut, 2, id, -1, SQLITE_STATIC);
    step_done(ws.promote_cut);
    sqlite3_bind_int(ws.promote, 1, attempt);
    sqlite3_bind_text(ws.promote, 2, id, -1, SQLITE_STATIC);
    step_done(ws.promote);
}

int store_open(const char *path, char *err, size_t errlen)
{
    char why[512] = "";
    if (fsutil_mkdirs_parent_private(path) < 0) {
        snprintf(err, errlen, "store %s: cannot create its directory: %s", path, units_strerror(errno));
        return -1;
    }
    /* Without this each connection's page cache starts with one 87 KiB
     * block of 20 pages, written through at once: 170 KiB of idle RSS for
     * our two connections, when a database this small reads a handful of
     * pages. Pages are then allocated as the cache grows and reused, so
     * only the first 20 allocations change. Must precede the first open
     * (later it is refused, harmlessly). */
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)NULL, 0, 0);
    /* SQLite's allocation statistics take a global mutex around every
     * malloc and free (4% of the store thread's instructions per accept);
     * nothing here reads them, nor sets a heap limit that needs them. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    make_private(path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st.wdb, flags, NULL) != SQLITE_OK) {
        snprintf(why, sizeof(why), "%s", st.wdb ? sqlite3_errmsg(st.wdb) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st.wdb, 5000);
    /* A WAL left behind by a crash is folded into the database before
     * anything else: it may have grown to the last byte the disk had, and
     * every write appends to it, so a store that filled its disk could not
     * start again even once there is room for the database to grow. */
    char ckpt[256];
    if (exec_sql(st.wdb, "PRAGMA wal_checkpoint(TRUNCATE)", ckpt, sizeof(ckpt)) < 0)
        log_warn("store %s: cannot fold its WAL into the database: %s", path, ckpt);
    /* auto_vacuum only takes effect on a new database, before any table;
     * setting it writes, so an existing database is left alone. */
    if (store_is_new(why, sizeof(why)) < 0 ||
        (st.is_new && exec_sql(st.wdb, "PRAGMA auto_vacuum = INCREMENTAL", why, sizeof(why)) < 0) ||
        exec_sql(st.wdb, "PRAGMA journal_mode = WAL", why, sizeof(why)) < 0 ||
        exec_sql(st.wdb, "PRAGMA synchronous = NORMAL", why, sizeof(why)) < 0 ||
        exec_sql(st.wdb, "PRAGMA wal_autocheckpoint = 0", why, sizeof(why)) < 0 ||
        exec_sql(st.wdb, "PRAGMA journal_size_limit = " STR(WAL_SIZE_LIMIT), why,
                 sizeof(why)) < 0 ||
        exec_sql(st.wdb, "PRAGMA foreign_keys = ON", why, sizeof(why)) < 0 ||
        migrate(why, sizeof(why)) < 0 ||
        exec_sql(st.wdb, "SELECT count(*) FROM executions", why, sizeof(why)) < 0)
        goto fail;
    if (access(path, W_OK) != 0) {
        snprintf(why, sizeof(why), "not writable: %s", units_strerror(errno));
        goto fail;
    }
    if (sqlite3_open_v2(path, &st.rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(why, sizeof(why), "%s", sqlite3_errmsg(st.rdb));
        goto fail;
    }
    sqlite3_busy_timeout(st.rdb, 5000);
    free(st.path);
    st.path = strdup(path);
    sqlite3_wal_hook(st.wdb, wal_hook, NULL);
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
#define PURGE_IDS                                                                            \
    "(SELECT id FROM executions WHERE finished_at IS NOT NULL AND finished_at < ?1 "         \
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
            snprintf(why, sizeof(why), "%s", sqlite3_errmsg(st.wdb));
            goto fail;
        }
    /* Executions the start journal says had started are running, whatever
     * the database had time to learn (startlog.h). */
    char journal[4200];
    snprintf(journal, sizeof(journal), "%s-started", path);
    if (exec_sql(st.wdb, "BEGIN IMMEDIATE", why, sizeof(why)) < 0)
        goto fail;
    if (startlog_open(journal, promote_started, NULL, why, sizeof(why)) < 0) {
        exec_sql(st.wdb, "ROLLBACK", NULL, 0);
        goto fail;
    }
    if (exec_sql(st.wdb, "COMMIT", why, sizeof(why)) < 0 || startlog_clear() < 0) {
        if (!*why)
            snprintf(why, sizeof(why), "cannot empty the start journal %.400s: %s", journal,
                     units_strerror(errno));
        goto fail;
    }
    /* The WAL persists while a connection is open; the syncer flushes it. */
    char wal[4200];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    st.wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (st.wal_fd < 0) {
        snprintf(why, sizeof(why), "cannot open its WAL file: %s", units_strerror(errno));
        goto fail;
    }
    st.n_buckets = 64; /* grows with the live set (live_grow) */
    st.buckets = calloc(st.n_buckets, sizeof(*st.buckets));
    if (!st.buckets) {
        snprintf(why, sizeof(why), "out of memory");
        goto fail;
    }
    st.healthy = 1;
    st.quit = 0;
    st.sync_quit = 0;
    st.ckpt_quit = 0;
    st.urgent = 0;
    st.lazy_accepts = 0;
    st.release_wanted = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&st.cv);
    pthread_cond_init(&st.cv, &ca);
    pthread_cond_destroy(&st.sync_cv);
    pthread_cond_init(&st.sync_cv, &ca);
    pthread_condattr_destroy(&ca);
    st.ckpt_started = 0;
    if (pthread_create(&st.thread, NULL, store_main, NULL) != 0 ||
        pthread_create(&st.syncer, NULL, syncer_main, NULL) != 0) {
        snprintf(why, sizeof(why), "cannot start the store threads");
        goto fail;
    }
    log_info("store: %s (SQLite %s, WAL)", path, sqlite3_libversion());
    return 0;
fail:
    snprintf(err, errlen, "store %s: %s", path, why);
    sqlite3_close(st.cdb);
    sqlite3_close(st.rdb);
    sqlite3_close(st.wdb);
    st.cdb = st.rdb = st.wdb = NULL;
    if (st.wal_fd >= 0)
        close(st.wal_fd);
    st.wal_fd = -1;
    startlog_close();
    return -1;
}

void store_close(void)
{
    if (!st.wdb)
        return;
    pthread_mutex_lock(&st.mu);
    st.quit = 1;
    pthread_cond_signal(&st.cv);
    pthread_mutex_unlock(&st.mu);
    pthread_join(st.thread, NULL);
    pthread_mutex_lock(&st.mu);
    st.sync_quit = 1;
    pthread_cond_signal(&st.sync_cv);
    pthread_mutex_unlock(&st.mu);
    pthread_join(st.syncer, NULL);
    pthread_mutex_lock(&st.mu);
    st.ckpt_quit = 1;
    pthread_cond_signal(&st.ckpt_cv);
    int ckpt = st.ckpt_started;
    st.ckpt_started = 0;
    pthread_mutex_unlock(&st.mu);
    if (ckpt)
        pthread_join(st.checkpointer, NULL);
    sqlite3_close(st.cdb);
    st.cdb = NULL;
    free(st.path);
    st.path = NULL;
    /* Everything is committed: what the journal says is in the database. */
    startlog_clear();
    startlog_close();
    for (size_t i = 0; i < N_WS; i++) {
        sqlite3_finalize(*ws_all[i]);
        *ws_all[i] = NULL;
    }
    exec_sql(st.wdb, "PRAGMA incremental_vacuum", NULL, 0);
    sqlite3_close(st.rdb);
    sqlite3_close(st.wdb);
    st.rdb = st.wdb = NULL;
    close(st.wal_fd);
    st.wal_fd = -1;
    for (size_t i = 0; i < st.n_buckets; i++)
        for (sluice_exec *x = st.buckets[i], *next; x; x = next) {
            next = x->live_next;
            x->live_next = NULL;
            exec_unref(x);
        }
    free(st.buckets);
    st.buckets = NULL;
    st.n_live = 0;
}
