/*
 * store_sqlite_read.c - the SQLite backend's reading path: documents,
 * lists, requests and statistics, on the reading connection (which WAL
 * lets run beside the writer; rmu serializes its users).
 */
#include "exec_impl.h"
#include "store_sqlite.h"

#include "execdoc.h"
#include "xalloc.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static store_sqlite *const st = &store_sqlite_state;

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

#define ROW_COLUMNS                                                                           \
    "x.id, request_id, flow, trigger, state, attempt, exit_code, p.event, r.outputs, error, " \
    "received_at, started_at, finished_at, r.stdout, r.stderr, p.body, p.body_type, r.meta, " \
    "x.replay_of, x.replaces, x.replaced_by"
#define ROW_FROM \
    " FROM executions x LEFT JOIN payloads p ON p.id = x.id LEFT JOIN results r ON r.id = x.id"

/* The request body of a row, NULL when the row kept none (store_sqlite.c,
 * "what an accept writes"). */
static exec_body *col_body(sqlite3_stmt *s, int body_col, int type_col)
{
    const char *type = (const char *)sqlite3_column_text(s, type_col);
    if (sqlite3_column_type(s, body_col) == SQLITE_NULL)
        return type ? exec_body_new(NULL, 0, type) : NULL;
    const void *bytes = sqlite3_column_blob(s, body_col);
    size_t len = (size_t)sqlite3_column_bytes(s, body_col);
    return exec_body_new(bytes ? bytes : "", len, type);
}

static uint64_t col_ms(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? 0 : (uint64_t)sqlite3_column_int64(s, col);
}

/* The document of a row of ROW_COLUMNS: its view, written by execdoc. A
 * row does not know its flow's executor (the flow may have changed since). */
static json_t *row_json(sqlite3_stmt *s, int with_logs)
{
    execdoc_view v = {
        .id = (const char *)sqlite3_column_text(s, 0),
        .request_id = (const char *)sqlite3_column_text(s, 1),
        .flow = (const char *)sqlite3_column_text(s, 2),
        .trigger = (const char *)sqlite3_column_text(s, 3),
        .state = (const char *)sqlite3_column_text(s, 4),
        .attempt = sqlite3_column_int(s, 5),
        .has_exit_code = sqlite3_column_type(s, 6) != SQLITE_NULL,
        .exit_code = sqlite3_column_int(s, 6),
        .event = (const char *)sqlite3_column_text(s, 7),
        .event_len = (size_t)sqlite3_column_bytes(s, 7),
        .outputs = (const char *)sqlite3_column_text(s, 8),
        .error = (const char *)sqlite3_column_text(s, 9),
        .received_ms = col_ms(s, 10),
        .started_ms = col_ms(s, 11),
        .finished_ms = col_ms(s, 12),
        /* See "what an accept writes" (store_sqlite.c): with the bytes,
         * the event lacks its body members. */
        .has_body = sqlite3_column_type(s, 15) != SQLITE_NULL,
        .body = sqlite3_column_blob(s, 15),
        .body_len = (size_t)sqlite3_column_bytes(s, 15),
        .body_type = (const char *)sqlite3_column_text(s, 16),
        .replay_of = (const char *)sqlite3_column_text(s, 18),
        .replaces = (const char *)sqlite3_column_text(s, 19),
        .replaced_by = (const char *)sqlite3_column_text(s, 20),
    };
    if (with_logs) {
        v.out = sqlite3_column_blob(s, 13);
        v.out_len = (size_t)sqlite3_column_bytes(s, 13);
        v.err = sqlite3_column_blob(s, 14);
        v.err_len = (size_t)sqlite3_column_bytes(s, 14);
    }
    v.meta = col_json(s, 17, NULL);
    json_t *o = execdoc_json(&v, NULL, with_logs);
    json_decref(v.meta);
    return o;
}

static json_t *sq_get(store_backend *b, const char *id, int with_logs)
{
    (void)b;
    json_t *j = NULL;
    pthread_mutex_lock(&st->rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->rdb, "SELECT " ROW_COLUMNS ROW_FROM " WHERE x.id = ?", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            j = row_json(s, with_logs);
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->rmu);
    return j;
}

static json_t *sq_attempts(store_backend *b, const char *id)
{
    (void)b;
    json_t *a = json_array();
    pthread_mutex_lock(&st->rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->rdb,
                           "SELECT attempt, state, exit_code, error, started_at, finished_at, "
                           "stdout, stderr FROM attempts WHERE id = ? ORDER BY attempt",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW) {
            execdoc_attempt x = {
                .attempt = sqlite3_column_int(s, 0),
                .state = (const char *)sqlite3_column_text(s, 1),
                .has_exit_code = sqlite3_column_type(s, 2) != SQLITE_NULL,
                .exit_code = sqlite3_column_int(s, 2),
                .error = (const char *)sqlite3_column_text(s, 3),
                .started_ms = (uint64_t)sqlite3_column_int64(s, 4),
                .finished_ms = (uint64_t)sqlite3_column_int64(s, 5),
                .out = sqlite3_column_blob(s, 6),
                .out_len = (size_t)sqlite3_column_bytes(s, 6),
                .err = sqlite3_column_blob(s, 7),
                .err_len = (size_t)sqlite3_column_bytes(s, 7),
            };
            json_array_append_new(a, execdoc_attempt_json(&x));
        }
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->rmu);
    return a;
}

static json_t *sq_list(store_backend *b, const store_filter *f)
{
    (void)b;
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
    json_t *a = json_array();
    pthread_mutex_lock(&st->rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL) == SQLITE_OK) {
#define BIND_TEXT(name, v) \
    if (v)                 \
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
        sqlite3_bind_int(s, sqlite3_bind_parameter_index(s, ":limit"), f->limit);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(a, row_json(s, 0));
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->rmu);
    return a;
}

static size_t sq_find_idempotent(store_backend *b, const char *trigger, const char *key,
                                 uint64_t since_ms, char (*ids)[40], size_t max)
{
    (void)b;
    size_t n = 0;
    pthread_mutex_lock(&st->rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->rdb,
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
    pthread_mutex_unlock(&st->rmu);
    return n;
}

static char *col_dup(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? xstrdup(t) : NULL;
}

#define REQUEST_COLUMNS                                                               \
    "x.id, request_id, trigger, flow, state, attempt, p.event, function, p.headers, " \
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

static int sq_load_request(store_backend *b, const char *id, store_row *out)
{
    (void)b;
    int rc = -1;
    pthread_mutex_lock(&st->rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->rdb, "SELECT " REQUEST_COLUMNS REQUEST_FROM " WHERE x.id = ?", -1,
                           &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            request_row(s, out);
            rc = out->event ? 0 : -1;
            if (rc < 0)
                store_row_clear(out);
        }
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->rmu);
    return rc;
}

static json_t *sq_flow_stats(store_backend *b, const char *column)
{
    (void)b;
    json_t *o = json_object();
    char sql[512];
    /* column is "flow" or "trigger", never user input. */
    snprintf(sql, sizeof(sql), "SELECT %s, count(*), max(id) FROM executions GROUP BY %s", column,
             column);
    pthread_mutex_lock(&st->rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            json_t *x = json_object();
            json_object_set_new(x, "executions", json_integer(sqlite3_column_int64(s, 1)));
            json_object_set_new(x, "last_execution_id", col_str(s, 2));
            json_object_set_new(o, (const char *)sqlite3_column_text(s, 0), x);
        }
        sqlite3_finalize(s);
    }
    if (sqlite3_prepare_v2(st->rdb, "SELECT state FROM executions WHERE id = ?", -1, &s, NULL) ==
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
    pthread_mutex_unlock(&st->rmu);
    return o;
}

static int sq_recover(store_backend *b, store_recover_fn fn, void *arg)
{
    (void)b;
    pthread_mutex_lock(&st->rmu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->rdb,
                           "SELECT " REQUEST_COLUMNS REQUEST_FROM " WHERE state IN "
                           "('queued', 'running') ORDER BY x.id",
                           -1, &s, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&st->rmu);
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
    pthread_mutex_unlock(&st->rmu);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].attempt < 1)
            rows[i].attempt = 1;
        fn(arg, &rows[i]);
        store_row_clear(&rows[i]);
    }
    free(rows);
    return (int)n;
}

void store_sqlite_set_reads(store_backend *b)
{
    b->get = sq_get;
    b->attempts = sq_attempts;
    b->list = sq_list;
    b->find_idempotent = sq_find_idempotent;
    b->load_request = sq_load_request;
    b->flow_stats = sq_flow_stats;
    b->recover = sq_recover;
}
