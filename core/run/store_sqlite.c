/*
 * store_sqlite.c - the SQLite backend of the store (store.h): opening,
 * the schema and its migrations, closing. The writing path is
 * store_sqlite_write.c, the reading path store_sqlite_read.c.
 *
 * SQLite in WAL mode. One store thread owns the writing connection and
 * commits whatever has accumulated while the previous commit was being
 * synced (group commit): under load one fsync covers hundreds of requests.
 * Commits run with synchronous=NORMAL; a syncer thread fdatasyncs the WAL
 * once per round for everything committed before it, and only then are
 * accepts answered (store.h's first rule). Checkpoints run on a thread of
 * their own. "Running" goes first to the start journal (startlog.h), whose
 * lines are folded into the database at the next open. Readers use a
 * second connection, which WAL lets run beside the writer.
 */
#include "exec_impl.h"
#include "store_sqlite.h"

#include "fsutil.h"
#include "log.h"
#include "startlog.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)
/* The WAL is cut back to this size after a checkpoint (their pacing is
 * store_sqlite_write.c's). */
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

store_sqlite store_sqlite_state = {
    .rmu = PTHREAD_MUTEX_INITIALIZER,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .written = PTHREAD_COND_INITIALIZER,
    .sync_cv = PTHREAD_COND_INITIALIZER,
    .ckpt_cv = PTHREAD_COND_INITIALIZER,
    .wal_fd = -1,
};
static store_sqlite *const st = &store_sqlite_state;

int store_sqlite_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
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

/* Sets st->is_new: the database has no schema at all yet. */
static int store_is_new(char *err, size_t errlen)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->wdb, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) !=
            SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st->wdb));
        sqlite3_finalize(s);
        return -1;
    }
    st->is_new = sqlite3_column_int(s, 0) == 0;
    sqlite3_finalize(s);
    return 0;
}

static int migrate(char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int version = 0;
    if (sqlite3_prepare_v2(st->wdb, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st->wdb));
        sqlite3_finalize(s);
        return -1;
    }
    version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));
    if (version > latest) {
        snprintf(err, errlen,
                 "the database has schema version %d, newer than this sluiced knows (%d)", version,
                 latest);
        return -1;
    }
    for (int v = version; v < latest; v++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
        if (store_sqlite_exec(st->wdb, "BEGIN IMMEDIATE", err, errlen) < 0)
            return -1;
        if (store_sqlite_exec(st->wdb, migrations[v], err, errlen) < 0 ||
            store_sqlite_exec(st->wdb, sql, err, errlen) < 0 ||
            store_sqlite_exec(st->wdb, "COMMIT", err, errlen) < 0) {
            store_sqlite_exec(st->wdb, "ROLLBACK", NULL, 0);
            return -1;
        }
        if (version > 0)
            log_info("store: upgraded the schema to version %d", v + 1);
    }
    return 0;
}

static void sq_close(store_backend *b)
{
    (void)b;
    if (!st->wdb)
        return;
    store_sqlite_stop();
    sqlite3_close(st->cdb);
    st->cdb = NULL;
    free(st->path);
    st->path = NULL;
    /* Everything is committed: what the journal says is in the database. */
    startlog_clear();
    startlog_close();
    store_sqlite_finalize();
    store_sqlite_exec(st->wdb, "PRAGMA incremental_vacuum", NULL, 0);
    sqlite3_close(st->rdb);
    sqlite3_close(st->wdb);
    st->rdb = st->wdb = NULL;
    close(st->wal_fd);
    st->wal_fd = -1;
}

static int sq_healthy(store_backend *b)
{
    (void)b;
    return __atomic_load_n(&st->healthy, __ATOMIC_RELAXED);
}

static void sq_fill(store_backend *b)
{
    b->version = STORE_BACKEND_VERSION;
    b->name = st->name;
    b->close = sq_close;
    b->healthy = sq_healthy;
    store_sqlite_set_writes(b);
    store_sqlite_set_reads(b);
}

int store_sqlite_open(const char *path, store_backend **out, char *err, size_t errlen)
{
    sq_fill(&st->base);
    char why[512] = "";
    if (fsutil_mkdirs_parent_private(path) < 0) {
        snprintf(err, errlen, "store %s: cannot create its directory: %s", path,
                 units_strerror(errno));
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
    if (sqlite3_open_v2(path, &st->wdb, flags, NULL) != SQLITE_OK) {
        snprintf(why, sizeof(why), "%s", st->wdb ? sqlite3_errmsg(st->wdb) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st->wdb, 5000);
    /* A WAL left behind by a crash is folded into the database before
     * anything else: it may have grown to the last byte the disk had, and
     * every write appends to it, so a store that filled its disk could not
     * start again even once there is room for the database to grow. */
    char ckpt[256];
    if (store_sqlite_exec(st->wdb, "PRAGMA wal_checkpoint(TRUNCATE)", ckpt, sizeof(ckpt)) < 0)
        log_warn("store %s: cannot fold its WAL into the database: %s", path, ckpt);
    /* auto_vacuum only takes effect on a new database, before any table;
     * setting it writes, so an existing database is left alone. */
    if (store_is_new(why, sizeof(why)) < 0 ||
        (st->is_new &&
         store_sqlite_exec(st->wdb, "PRAGMA auto_vacuum = INCREMENTAL", why, sizeof(why)) < 0) ||
        store_sqlite_exec(st->wdb, "PRAGMA journal_mode = WAL", why, sizeof(why)) < 0 ||
        store_sqlite_exec(st->wdb, "PRAGMA synchronous = NORMAL", why, sizeof(why)) < 0 ||
        store_sqlite_exec(st->wdb, "PRAGMA wal_autocheckpoint = 0", why, sizeof(why)) < 0 ||
        store_sqlite_exec(st->wdb, "PRAGMA journal_size_limit = " STR(WAL_SIZE_LIMIT), why,
                          sizeof(why)) < 0 ||
        store_sqlite_exec(st->wdb, "PRAGMA foreign_keys = ON", why, sizeof(why)) < 0 ||
        migrate(why, sizeof(why)) < 0 ||
        store_sqlite_exec(st->wdb, "SELECT count(*) FROM executions", why, sizeof(why)) < 0)
        goto fail;
    if (access(path, W_OK) != 0) {
        snprintf(why, sizeof(why), "not writable: %s", units_strerror(errno));
        goto fail;
    }
    if (sqlite3_open_v2(path, &st->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(why, sizeof(why), "%s", sqlite3_errmsg(st->rdb));
        goto fail;
    }
    sqlite3_busy_timeout(st->rdb, 5000);
    free(st->path);
    st->path = strdup(path);
    if (store_sqlite_prepare(why, sizeof(why)) < 0)
        goto fail;
    /* Executions the start journal says had started are running, whatever
     * the database had time to learn (startlog.h). */
    char journal[4200];
    snprintf(journal, sizeof(journal), "%s-started", path);
    if (store_sqlite_exec(st->wdb, "BEGIN IMMEDIATE", why, sizeof(why)) < 0)
        goto fail;
    if (startlog_open(journal, store_sqlite_promote_started, NULL, why, sizeof(why)) < 0) {
        store_sqlite_exec(st->wdb, "ROLLBACK", NULL, 0);
        goto fail;
    }
    if (store_sqlite_exec(st->wdb, "COMMIT", why, sizeof(why)) < 0 || startlog_clear() < 0) {
        if (!*why)
            snprintf(why, sizeof(why), "cannot empty the start journal %.400s: %s", journal,
                     units_strerror(errno));
        goto fail;
    }
    /* The WAL persists while a connection is open; the syncer flushes it. */
    char wal[4200];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    st->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (st->wal_fd < 0) {
        snprintf(why, sizeof(why), "cannot open its WAL file: %s", units_strerror(errno));
        goto fail;
    }
    if (store_sqlite_start(why, sizeof(why)) < 0)
        goto fail;
    snprintf(st->name, sizeof(st->name), "SQLite %s, WAL", sqlite3_libversion());
    log_info("store: %s (%s)", path, st->name);
    *out = &st->base;
    return 0;
fail:
    snprintf(err, errlen, "store %s: %s", path, why);
    store_sqlite_finalize(); /* a connection with statements left does not close */
    sqlite3_close(st->cdb);
    sqlite3_close(st->rdb);
    sqlite3_close(st->wdb);
    st->cdb = st->rdb = st->wdb = NULL;
    if (st->wal_fd >= 0)
        close(st->wal_fd);
    st->wal_fd = -1;
    startlog_close();
    return -1;
}
