/*
 * test_store.c - the store's schema across versions.
 *
 *   - a database written with the version 1 schema (made here, with the
 *     statements version 1 ran, and rows as version 1 wrote them) opens, is
 *     upgraded to version 2 in place at start, and its rows read as before:
 *     documents, recovery of queued work, replay;
 *   - a database written with the version 2 schema is upgraded to version
 *     3: an execution version 2 recorded as failed "interrupted" (running
 *     at a crash, not retried), or failed at start for another reason after
 *     it had started, now says its outcome is unknown; one failed before it
 *     started, or for real, stays failed; every row reads with an
 *     "attempts" list and no links;
 *   - a database from a newer sluiced is refused, saying so;
 *   - version 2 writes each body once (the bytes; the event without its
 *     body members; no inputs) and gives back the same event, the same
 *     bytes and the same inputs, and keeps plugin meta with the results;
 *   - an attempt followed by a retry is written with the requeue and read
 *     back with its own output; one that is not retried writes no row;
 *   - a start the journal alone knows moves a running execution on to that
 *     attempt: a crash between a retry's start and its requeue's commit
 *     does not make the next start retry the same attempt again.
 *
 * The executions are built on a hand-made config, flow and trigger, as in
 * test_exec.c.
 */
#define _GNU_SOURCE
#include "exec_impl.h"
#include "store.h"

#include "engine.h"
#include "event.h"
#include "startlog.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512], db[600];

/* The live set is the engine's, as main.c hands it in. */
static const store_hooks hooks = {.queued = engine_queued,
                                  .live_add = engine_adopt,
                                  .live_remove = engine_forget,
                                  .live_find = engine_find};

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/sluice-test-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/sluice.db", dir);
}

static void teardown(void)
{
    engine_forget_all();
    char path[700];
    static const char *const suffix[] = {"", "-wal", "-shm", "-started", NULL};
    for (const char *const *s = suffix; *s; s++) {
        snprintf(path, sizeof(path), "%s%s", db, *s);
        unlink(path);
    }
    rmdir(dir);
}

static void sql(sqlite3 *h, const char *text)
{
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(h, text, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", text,
                  msg ? msg : "?");
}

static int user_version(void)
{
    sqlite3 *h;
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

/* ---- version 1, as it was ---- */

/* The version 1 schema, word for word. */
static const char v1_schema[] =
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
    "  WHERE idem_key IS NOT NULL;";

#define V1_DONE "0193a8c2-0000-7000-8000-0000000000d1"
#define V1_QUEUED "0193a8c2-0000-7000-8000-0000000000q1"
#define V1_EVENT                                                                               \
    "{\"execution_id\":\"" V1_QUEUED "\",\"trigger\":\"t\",\"flow\":\"f\","                    \
    "\"content_type\":\"application/json\",\"body\":{\"ref\":\"main\"},\"raw_body_b64\":null," \
    "\"variables\":{}}"
#define V1_INPUTS \
    "{\"params\":{},\"query\":{},\"body\":{\"ref\":\"main\"},\"variables\":{},\"function\":null}"

/* A database as a version 1 sluiced left it: one finished execution, one
 * still queued when it stopped. */
static void make_v1_database(void)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sql(h, "PRAGMA journal_mode = WAL");
    sql(h, "BEGIN");
    sql(h, v1_schema);
    sql(h, "PRAGMA user_version = 1");
    sql(h, "INSERT INTO executions (id, request_id, trigger, flow, state, attempt, event, "
           "inputs, headers, exit_code, outputs, stdout, stderr, received_at, started_at, "
           "finished_at) VALUES ('" V1_DONE "', 'r-1', 't', 'f', 'succeeded', 1, '" V1_EVENT
           "', '" V1_INPUTS "', '{\"content-type\":\"application/json\"}', 0, "
           "'{\"version\":\"1.4\"}', 'out', '', 1700000000000, 1700000000100, 1700000000200)");
    sql(h, "INSERT INTO executions (id, request_id, trigger, flow, state, attempt, event, "
           "inputs, headers, received_at) VALUES ('" V1_QUEUED "', 'r-2', 't', 'f', 'queued', "
           "1, '" V1_EVENT "', '" V1_INPUTS "', '{\"content-type\":\"application/json\"}', "
           "1700000001000)");
    sql(h, "COMMIT");
    sqlite3_close(h);
}

static store_row recovered[4];
static size_t n_recovered;

static void keep_row(void *arg, store_row *r)
{
    (void)arg;
    ck_assert_uint_lt(n_recovered, 4);
    recovered[n_recovered++] = *r;
    memset(r, 0, sizeof(*r)); /* taken over */
}

START_TEST(upgrades_a_version_1_database)
{
    make_v1_database();
    ck_assert_int_eq(user_version(), 1);
    char err[512] = "";
    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(user_version(), 3);

    /* A finished version 1 row reads as it always did. */
    json_t *doc = store_get_json(V1_DONE, 1);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "state")), "succeeded");
    json_t *in = json_object_get(doc, "inputs");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(in, "body"), "ref")),
                     "main");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "outputs"), "version")),
                     "1.4");
    ck_assert_uint_eq(json_object_size(json_object_get(doc, "meta")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "stdout")), "out");
    json_decref(doc);

    /* Queued work is recovered with its whole event and no body bytes: a
     * plugin falls back to the event (exec_body returns NULL). */
    n_recovered = 0;
    ck_assert_int_eq(store_recover(keep_row, NULL), 1);
    store_row *r = &recovered[0];
    ck_assert_str_eq(r->id, V1_QUEUED);
    ck_assert_str_eq(r->state, "queued");
    ck_assert_int_eq(r->raw, 0);
    ck_assert_ptr_null(r->body);
    ck_assert_str_eq(r->event, V1_EVENT);
    ck_assert_uint_eq(r->event_len, strlen(V1_EVENT));
    ck_assert_str_eq(json_string_value(json_object_get(r->headers, "content-type")),
                     "application/json");
    store_row_clear(r);

    /* And for a replay. */
    store_row row;
    ck_assert_int_eq(store_load_request(V1_DONE, &row), 0);
    ck_assert_int_eq(row.raw, 0);
    ck_assert_str_eq(row.event, V1_EVENT);
    store_row_clear(&row);
    ck_assert_int_eq(store_load_request("no-such-id", &row), -1);
    store_close();

    /* Opening an upgraded database again changes nothing. */
    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(user_version(), 3);
    doc = store_get_json(V1_DONE, 0);
    ck_assert_ptr_nonnull(doc);
    json_decref(doc);
    store_close();
}
END_TEST

/* ---- version 2, as it was ---- */

/* The version 2 schema as migration 2 leaves it, word for word. */
static const char v2_schema[] =
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
    "CREATE TABLE executions ("
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
    "CREATE INDEX executions_state ON executions(state);"
    "CREATE INDEX executions_flow ON executions(flow, id);"
    "CREATE INDEX executions_trigger ON executions(trigger, id);"
    "CREATE INDEX executions_finished ON executions(finished_at) WHERE finished_at IS NOT NULL;"
    "CREATE UNIQUE INDEX executions_idem ON executions(trigger, flow, idem_key)"
    "  WHERE idem_key IS NOT NULL;";

#define V2_CUT "0193a8c2-0000-7000-8000-0000000000c2"
#define V2_FAILED "0193a8c2-0000-7000-8000-0000000000f2"
#define V2_GONE "0193a8c2-0000-7000-8000-0000000000g2"
#define V2_BAD "0193a8c2-0000-7000-8000-0000000000b2"
#define V2_NEVER "0193a8c2-0000-7000-8000-0000000000n2"
#define V2_OOM "0193a8c2-0000-7000-8000-0000000000o2"
#define V2_GONE_WHY "its trigger or flow is no longer configured"
#define V2_BAD_WHY "malformed JSON body at line 1 column 2: unexpected token"

/* What version 2 left: executions its recovery found running and marked
 * failed, "interrupted" or for a reason of its own (V2_GONE, V2_BAD); one
 * it failed while still queued (V2_NEVER); two that failed for real, one
 * with a message its recovery could have written (V2_OOM). */
static void make_v2_database(void)
{
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sql(h, "PRAGMA journal_mode = WAL");
    sql(h, "BEGIN");
    sql(h, v2_schema);
    sql(h, "PRAGMA user_version = 2");
    sql(h, "INSERT INTO executions (id, request_id, trigger, flow, state, attempt, error, "
           "received_at, started_at, finished_at) VALUES ('" V2_CUT "', 'r-3', 't', 'f', "
           "'failed', 1, 'interrupted: sluiced stopped while it was running', 1700000000000, "
           "1700000000100, 1700000009000)");
    sql(h, "INSERT INTO executions (id, request_id, trigger, flow, state, attempt, exit_code, "
           "error, received_at, started_at, finished_at) VALUES ('" V2_FAILED "', 'r-4', 't', "
           "'f', 'failed', 1, 3, 'exit code 3', 1700000000000, 1700000000100, 1700000000200)");
    sql(h, "INSERT INTO executions (id, request_id, trigger, flow, state, attempt, error, "
           "received_at, started_at, finished_at) VALUES "
           "('" V2_GONE "', 'r-5', 't', 'gone', 'failed', 2, '" V2_GONE_WHY "', 1700000000000, "
           "1700000000100, 1700000009000), "
           "('" V2_BAD "', 'r-6', 't', 'f', 'failed', 1, '" V2_BAD_WHY "', 1700000000000, "
           "1700000000100, 1700000009000), "
           "('" V2_NEVER "', 'r-7', 't', 'gone', 'failed', 1, '" V2_GONE_WHY "', 1700000000000, "
           "NULL, 1700000009000)");
    sql(h, "INSERT INTO executions (id, request_id, trigger, flow, state, attempt, exit_code, "
           "error, received_at, started_at, finished_at) VALUES ('" V2_OOM "', 'r-8', 't', "
           "'f', 'failed', 1, 1, 'out of memory', 1700000000000, 1700000000100, 1700000000200)");
    sql(h, "INSERT INTO payloads (id, event) VALUES ('" V2_CUT "', '{}'), ('" V2_FAILED
           "', '{}'), ('" V2_GONE "', '{}'), ('" V2_BAD "', '{}'), ('" V2_NEVER
           "', '{}'), ('" V2_OOM "', '{}')");
    sql(h, "INSERT INTO results (id, stdout, stderr) VALUES ('" V2_FAILED "', 'out', 'err'), "
           "('" V2_OOM "', '', 'cannot allocate')");
    sql(h, "COMMIT");
    sqlite3_close(h);
}

START_TEST(upgrades_a_version_2_database)
{
    make_v2_database();
    char err[512] = "";
    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(user_version(), 3);

    json_t *doc = store_get_json(V2_CUT, 1);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "state")), "unknown");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "error")), EXEC_UNKNOWN_ERROR);
    json_t *a = json_object_get(doc, "attempts");
    ck_assert_uint_eq(json_array_size(a), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "state")), "unknown");
    ck_assert(json_is_null(json_object_get(doc, "replay_of")));
    json_decref(doc);

    /* A real failure stays one. */
    doc = store_get_json(V2_FAILED, 1);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "state")), "failed");
    a = json_object_get(doc, "attempts");
    ck_assert_uint_eq(json_array_size(a), 1);
    json_t *one = json_array_get(a, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(one, "exit_code")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(one, "stdout")), "out");
    ck_assert_str_eq(json_string_value(json_object_get(one, "stderr")), "err");
    ck_assert(json_is_null(json_object_get(doc, "replaced_by")));
    json_decref(doc);

    /* Failed at start after it had started, for a reason of its own:
     * unknown too, the reason kept. */
    static const char *const cut[][2] = {{V2_GONE, V2_GONE_WHY}, {V2_BAD, V2_BAD_WHY}};
    for (size_t i = 0; i < 2; i++) {
        doc = store_get_json(cut[i][0], 1);
        ck_assert_str_eq(json_string_value(json_object_get(doc, "state")), "unknown");
        char want[400];
        snprintf(want, sizeof(want), "%s; %s", EXEC_UNKNOWN_ERROR, cut[i][1]);
        ck_assert_str_eq(json_string_value(json_object_get(doc, "error")), want);
        json_decref(doc);
    }

    /* Failed before it started: it never ran. */
    doc = store_get_json(V2_NEVER, 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "state")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "error")), V2_GONE_WHY);
    json_decref(doc);

    /* ?state=failed lists those that are. */
    store_filter f = {.state = "failed", .limit = 10};
    char *next = NULL;
    json_t *list = store_list(&f, &next);
    ck_assert_uint_eq(json_array_size(list), 3);
    int seen = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(list, i), "id"));
        seen |= (strcmp(id, V2_FAILED) == 0) | (strcmp(id, V2_NEVER) == 0) << 1 |
                (strcmp(id, V2_OOM) == 0) << 2;
    }
    ck_assert_int_eq(seen, 7);
    json_decref(list);
    free(next);
    store_close();
}
END_TEST

START_TEST(refuses_a_newer_database)
{
    make_v1_database();
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sql(h, "PRAGMA user_version = 9");
    sqlite3_close(h);
    char err[512] = "";
    ck_assert_int_eq(store_open(db, &hooks, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "schema version 9, newer than this sluiced knows (3)") != NULL, "%s",
                  err);
    ck_assert_int_eq(user_version(), 9);
}
END_TEST

/* ---- version 2 ---- */

static flow_def flow;
static flow_rt rt;
static trigger_def trig;
static char s_fid[] = "f", s_key[] = "f", s_exe[] = "none", s_tid[] = "t";

static void model_setup(void)
{
    setup();
    memset(&flow, 0, sizeof(flow));
    flow.id = s_fid;
    flow.key = s_key;
    flow.executor = s_exe;
    memset(&rt, 0, sizeof(rt));
    rt.def = &flow;
    memset(&trig, 0, sizeof(trig));
    trig.id = s_tid;
}

struct accept_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, durable;
};

static void on_committed(void *arg)
{
    (void)arg;
}

static void on_done(void *arg, int durable)
{
    struct accept_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    w->durable = durable;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void accept_one(sluice_exec *e)
{
    struct accept_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    store_accept(&e, 1, on_committed, on_done, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    ck_assert_int_eq(w.durable, 1);
    ck_assert_int_eq(e->store_status, STORE_OK);
}

/* An execution as http.c makes one: the event split in two, the bytes kept. */
static sluice_exec *accepted_exec(const char *id, const char *type, const char *bytes, size_t len)
{
    json_t *base =
        json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:s}", "execution_id", id, "trigger", "t",
                  "params", json_object(), "query", json_object(), "content_type", type,
                  "variables", json_object(), "received_at", "2026-11-23T13:05:01.224Z");
    json_t *body, *raw;
    char err[256];
    ck_assert_int_eq(
        event_body_json((const unsigned char *)bytes, len, type, &body, &raw, err, sizeof(err)), 0);
    json_object_set_new(base, "body", body);
    json_object_set_new(base, "raw_body_b64", raw);
    size_t mlen, slen, elen;
    /* A JSON body goes in as received, as accept_request does it. */
    int is_json = strstr(type, "json") != NULL;
    char *members = event_take_body(base, is_json ? bytes : NULL, len, &mlen);
    char *stored = event_for_flow(base, id, &flow, &slen);
    char *event = event_join(stored, slen, members, mlen, &elen);
    const char *hn[] = {"content-type"}, *hv[] = {type};
    sluice_exec *e =
        exec_new(NULL, &trig, &rt, id, "r-9", event, elen, NULL, hn, hv, 1, 0, 1700000002000ULL);
    exec_body *b = exec_body_new(bytes, len, type);
    exec_set_request(e, b, stored, slen);
    exec_body_unref(b);
    free(members);
    json_decref(base);
    return e;
}

#define V2_ID "0193a8c2-0000-7000-8000-0000000000e2"

START_TEST(keeps_each_body_once)
{
    static const char odd[] = "{ \"b\" :1,\n\t\"a\": [1 , 2.50], \"s\":\"\\u00e9\" }";
    char err[512] = "";
    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    sluice_exec *e = accepted_exec(V2_ID, "application/json; charset=utf-8", odd, strlen(odd));
    accept_one(e);

    /* What is on disk: the bytes once, the event without them; no inputs
     * anywhere (the narrow executions row has no room for them). */
    sqlite3 *h;
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(h,
                                        "SELECT event, body, body_type FROM payloads "
                                        "WHERE id = '" V2_ID "'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    const char *ev = (const char *)sqlite3_column_text(s, 0);
    ck_assert_ptr_null(strstr(ev, "\"body\""));
    ck_assert_ptr_null(strstr(ev, "raw_body_b64"));
    ck_assert_int_eq(sqlite3_column_bytes(s, 1), (int)strlen(odd));
    ck_assert_int_eq(memcmp(sqlite3_column_blob(s, 1), odd, strlen(odd)), 0);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 2), "application/json; charset=utf-8");
    sqlite3_finalize(s);
    ck_assert_int_ne(sqlite3_prepare_v2(h, "SELECT inputs FROM executions", -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_close(h);

    /* What comes back for a replay: the same event, the same bytes. */
    store_row r;
    ck_assert_int_eq(store_load_request(V2_ID, &r), 0);
    ck_assert_int_eq(r.raw, 1);
    ck_assert_uint_eq(r.body->len, strlen(odd));
    ck_assert_int_eq(memcmp(r.body->bytes, odd, strlen(odd)), 0);
    ck_assert_str_eq(r.body->content_type, "application/json; charset=utf-8");
    sluice_exec *again = exec_from_store(NULL, &trig, &rt, V2_ID, "r-9", r.event, r.event_len,
                                         r.raw, r.body, r.function, r.headers, 1, err, sizeof(err));
    r.event = NULL;
    ck_assert_msg(again != NULL, "%s", err);
    ck_assert_uint_eq(again->event_len, e->event_len);
    ck_assert_int_eq(memcmp(again->event, e->event, e->event_len), 0);
    json_t *in_again = event_inputs(again->event, again->event_len);
    json_t *in_first = event_inputs(e->event, e->event_len);
    ck_assert(json_equal(in_again, in_first));
    json_decref(in_again);
    json_decref(in_first);
    ck_assert_ptr_eq(again->body, r.body);
    exec_unref(again);
    store_row_clear(&r);

    /* Finished, with meta: the document comes from the row. */
    pthread_mutex_lock(&e->mu);
    e->meta = calloc(1, sizeof(exec_kv));
    e->meta[0].key = strdup("git.commit");
    e->meta[0].value = strdup("9a0b");
    e->n_meta = 1;
    pthread_mutex_unlock(&e->mu);
    exec_set_final(e, EXEC_SUCCEEDED);
    store_finish(e);
    store_flush();
    ck_assert_ptr_null(engine_find(V2_ID));
    json_t *doc = store_get_json(V2_ID, 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "meta"), "git.commit")),
                     "9a0b");
    json_t *in = json_object_get(doc, "inputs");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(in, "body"), "b")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(in, "body"), "s")),
                     "\xc3\xa9");
    json_t *want = event_inputs(e->event, e->event_len);
    ck_assert(json_equal(in, want));
    json_decref(want);
    json_decref(doc);
    exec_unref(e);
    store_close();
}
END_TEST

#define V3_ID "0193a8c2-0000-7000-8000-0000000000e3"
#define V3_ONCE "0193a8c2-0000-7000-8000-0000000000e4"

static long count_attempt_rows(const char *id)
{
    sqlite3 *h;
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_prepare_v2(h, "SELECT count(*) FROM attempts WHERE id = ?", -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return n;
}

/* An attempt: started, with output and an exit code. */
static void run_attempt(sluice_exec *e, const char *out, int code)
{
    pthread_mutex_lock(&e->mu);
    e->state = EXEC_RUNNING;
    e->started_ms = 1700000003000ULL + (uint64_t)e->attempt * 1000;
    logbuf_append(&e->logs[0], out, strlen(out));
    e->exit_code = code;
    e->has_exit_code = 1;
    pthread_mutex_unlock(&e->mu);
    ck_assert_int_eq(store_mark_running(e), 0);
}

START_TEST(keeps_each_attempt)
{
    char err[512] = "";
    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    sluice_exec *e = accepted_exec(V3_ID, "application/json", "{}", 2);
    accept_one(e);
    run_attempt(e, "first\n", 11);
    ck_assert_int_eq(exec_end_attempt(e, EXEC_FAILED), 1);
    ck_assert_int_eq(e->attempt, 2);
    ck_assert_uint_eq(e->n_attempts, 1);
    store_requeue(e, 1);
    store_flush();
    /* Written: the row holds it, the execution no longer does. */
    ck_assert_uint_eq(e->n_attempts, 0);
    ck_assert_int_eq(count_attempt_rows(V3_ID), 1);

    /* Live, queued for its second attempt: the first one only. */
    json_t *doc = store_get_json(V3_ID, 1);
    json_t *a = json_object_get(doc, "attempts");
    ck_assert_uint_eq(json_array_size(a), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "stdout")), "first\n");
    ck_assert(json_is_null(json_object_get(doc, "started_at")));
    json_decref(doc);

    /* An ended attempt not yet written is shown from memory. */
    run_attempt(e, "second\n", 12);
    ck_assert_int_eq(exec_end_attempt(e, EXEC_FAILED), 2);
    doc = store_get_json(V3_ID, 1);
    a = json_object_get(doc, "attempts");
    ck_assert_uint_eq(json_array_size(a), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(a, 1), "exit_code")), 12);
    json_decref(doc);
    store_requeue(e, 2);

    run_attempt(e, "third\n", 0);
    exec_set_final(e, EXEC_SUCCEEDED);
    store_finish(e);
    store_flush();
    ck_assert_ptr_null(engine_find(V3_ID));
    ck_assert_int_eq(count_attempt_rows(V3_ID), 2);
    doc = store_get_json(V3_ID, 1);
    a = json_object_get(doc, "attempts");
    ck_assert_uint_eq(json_array_size(a), 3);
    static const char *const outs[] = {"first\n", "second\n", "third\n"};
    static const int codes[] = {11, 12, 0};
    static const char *const states[] = {"failed", "failed", "succeeded"};
    for (size_t i = 0; i < 3; i++) {
        json_t *x = json_array_get(a, i);
        ck_assert_int_eq(json_integer_value(json_object_get(x, "attempt")), (int)i + 1);
        ck_assert_str_eq(json_string_value(json_object_get(x, "stdout")), outs[i]);
        ck_assert_str_eq(json_string_value(json_object_get(x, "state")), states[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(x, "exit_code")), codes[i]);
        ck_assert(json_is_string(json_object_get(x, "started_at")));
        ck_assert(json_is_string(json_object_get(x, "finished_at")));
    }
    ck_assert_str_eq(json_string_value(json_object_get(doc, "stdout")), "third\n");
    json_decref(doc);
    /* A list carries no attempts: it would cost a query per row. */
    store_filter f = {.limit = 10};
    char *next = NULL;
    json_t *list = store_list(&f, &next);
    ck_assert_ptr_null(json_object_get(json_array_get(list, 0), "attempts"));
    json_decref(list);
    free(next);
    exec_unref(e);

    /* No retry, no attempts row; the links ride on the rows it writes. */
    sluice_exec *o = accepted_exec(V3_ONCE, "application/json", "{}", 2);
    snprintf(o->replay_of, sizeof(o->replay_of), "%s", V3_ID);
    accept_one(o);
    run_attempt(o, "once\n", 0);
    pthread_mutex_lock(&o->mu);
    snprintf(o->replaced_by, sizeof(o->replaced_by), "%s", V2_ID);
    pthread_mutex_unlock(&o->mu);
    exec_set_final(o, EXEC_CANCELLED);
    store_finish(o);
    store_flush();
    ck_assert_int_eq(count_attempt_rows(V3_ONCE), 0);
    doc = store_get_json(V3_ONCE, 1);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "attempts")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "replay_of")), V3_ID);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "replaced_by")), V2_ID);
    json_decref(doc);
    exec_unref(o);

    /* Retention takes the attempts rows with their execution. */
    store_purge(UINT64_MAX / 2);
    store_flush();
    ck_assert_int_eq(count_attempt_rows(V3_ID), 0);
    ck_assert_ptr_null(store_get_json(V3_ID, 0));
    store_close();
}
END_TEST

#define V3_LOOP "0193a8c2-0000-7000-8000-0000000000e5"

struct seen {
    int n, attempt;
    char state[16];
    uint64_t started_ms;
};

static void see_row(void *arg, store_row *r)
{
    struct seen *w = arg;
    if (strcmp(r->id, V3_LOOP) != 0)
        return;
    w->n++;
    w->attempt = r->attempt;
    snprintf(w->state, sizeof(w->state), "%s", r->state);
    w->started_ms = r->started_ms;
}

/*
 * Recovery retries a running attempt 1 as attempt 2: the requeue goes to
 * the store thread and the worker journals the start of attempt 2 at once.
 * A crash before the requeue commits leaves the row running attempt 1 and
 * the journal saying 2. Unless the next start learns 2, it retries 2 again,
 * and so on at every crash: retry.max would bound nothing.
 */
START_TEST(journal_advances_the_attempt)
{
    char err[512] = "";
    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    sluice_exec *e = accepted_exec(V3_LOOP, "application/json", "{}", 2);
    accept_one(e);
    run_attempt(e, "", 0);
    store_flush();
    /* The retry's start, journaled; its requeue never committed. */
    ck_assert_int_eq(startlog_append(V3_LOOP, 2), 0);
    exec_unref(e);
    store_close();

    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    struct seen w = {0};
    store_recover(see_row, &w);
    ck_assert_int_eq(w.n, 1);
    ck_assert_str_eq(w.state, "running");
    ck_assert_int_eq(w.attempt, 2);
    /* started_at was attempt 1's: attempt 2's start is not on record. */
    ck_assert_uint_eq(w.started_ms, 0);
    /* Attempt 1 stays on record, its outcome unknown (its record went
     * with the requeue). */
    ck_assert_int_eq(count_attempt_rows(V3_LOOP), 1);
    json_t *doc = store_get_json(V3_LOOP, 1);
    json_t *one = json_array_get(json_object_get(doc, "attempts"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(one, "attempt")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(one, "state")), "unknown");
    json_decref(doc);
    store_close();

    /* The journal is empty now: a third start sees the same. */
    ck_assert_msg(store_open(db, &hooks, err, sizeof(err)) == 0, "%s", err);
    memset(&w, 0, sizeof(w));
    store_recover(see_row, &w);
    ck_assert_int_eq(w.attempt, 2);
    store_close();
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("versions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, upgrades_a_version_1_database);
    tcase_add_test(tc, upgrades_a_version_2_database);
    tcase_add_test(tc, refuses_a_newer_database);
    suite_add_tcase(s, tc);
    tc = tcase_create("bodies");
    tcase_add_checked_fixture(tc, model_setup, teardown);
    tcase_add_test(tc, keeps_each_body_once);
    tcase_add_test(tc, keeps_each_attempt);
    tcase_add_test(tc, journal_advances_the_attempt);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
