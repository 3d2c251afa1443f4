/*
 * test_execdoc.c - one document, whichever side it is read from.
 *
 * An execution is shown from memory while it is unfinished and from the
 * store's row afterwards (store.h). Both go through execdoc: here the
 * document of a live execution is built, the execution is stored, and the
 * document the store makes of its row is compared with it, member for
 * member, while it is queued, once it runs and once it has finished, for a
 * JSON body and a binary one, with output that is not UTF-8.
 *
 * The store is opened without a live set, so every document it returns
 * comes from its row. A row does not know its flow's executor (the flow
 * may have changed since), which the live document names: that member is
 * the one left out of the comparison.
 */
#define _GNU_SOURCE
#include "execdoc.h"

#include "event.h"
#include "exec.h"
#include "exec_impl.h"
#include "store.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512], db[600];
static flow_def flow;
static flow_rt rt;
static trigger_def trig;
static char s_fid[] = "f", s_key[] = "f", s_exe[] = "none", s_tid[] = "t";

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/sluice-test-execdoc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/sluice.db", dir);
    memset(&flow, 0, sizeof(flow));
    memset(&rt, 0, sizeof(rt));
    rt.def = &flow;
    flow.id = s_fid;
    flow.key = s_key;
    flow.executor = s_exe;
    memset(&trig, 0, sizeof(trig));
    trig.id = s_tid;
    char err[512] = "";
    ck_assert_msg(store_open(db, NULL, err, sizeof(err)) == 0, "%s", err);
}

static void teardown(void)
{
    store_close();
    char path[700];
    static const char *const suffix[] = {"", "-wal", "-shm", "-started", NULL};
    for (const char *const *s = suffix; *s; s++) {
        snprintf(path, sizeof(path), "%s%s", db, *s);
        unlink(path);
    }
    rmdir(dir);
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

/* An execution as the front makes one: the event in two parts, the body's
 * bytes kept (test_store.c, accepted_exec). */
static sluice_exec *accepted_exec(const char *id, const char *type, const char *bytes, size_t len)
{
    json_t *base =
        json_pack("{s:s, s:s, s:{s:s}, s:{s:[s]}, s:s, s:o, s:s}", "execution_id", id, "trigger",
                  "t", "params", "repo", "a\"b", "query", "x", "1", "content_type", type,
                  "variables", json_object(), "received_at", "2026-11-23T13:05:01.224Z");
    json_t *body, *raw;
    char err[256];
    ck_assert_int_eq(
        event_body_json((const unsigned char *)bytes, len, type, &body, &raw, err, sizeof(err)), 0);
    json_object_set_new(base, "body", body);
    json_object_set_new(base, "raw_body_b64", raw);
    size_t mlen, slen, elen;
    int is_json = strstr(type, "json") != NULL;
    char *members = event_take_body(base, is_json ? bytes : NULL, len, &mlen);
    char *stored = event_for_flow(base, id, &flow, &slen);
    char *event = event_join(stored, slen, members, mlen, &elen);
    const char *hn[] = {"content-type"}, *hv[] = {type};
    sluice_exec *e =
        exec_new(NULL, &trig, &rt, id, "r-1", event, elen, NULL, hn, hv, 1, 0, 1700000002000ULL);
    exec_body *b = exec_body_new(bytes, len, type);
    exec_set_request(e, b, stored, slen);
    exec_body_unref(b);
    free(members);
    json_decref(base);
    return e;
}

/* The live document and the stored one agree, but for the executor the
 * row does not know, and the attempts the store adds with the logs. */
static void same_document(sluice_exec *e, int with_logs, const char *when)
{
    json_t *live = exec_to_json(e, with_logs);
    ck_assert_str_eq(json_string_value(json_object_get(live, "executor")), "none");
    json_object_del(live, "executor");
    json_t *stored = store_get_json(e->id, with_logs);
    ck_assert_msg(stored != NULL, "%s: no stored document", when);
    ck_assert_ptr_null(json_object_get(stored, "executor"));
    if (with_logs)
        ck_assert_msg(json_is_array(json_object_get(stored, "attempts")), "%s", when);
    json_object_del(stored, "attempts");
    char *a = json_dumps(live, JSON_SORT_KEYS), *b = json_dumps(stored, JSON_SORT_KEYS);
    ck_assert_msg(json_equal(live, stored), "%s (logs %d):\n live   %s\n stored %s", when,
                  with_logs, a, b);
    free(a);
    free(b);

    /* And a list shows the same as the document without logs. */
    if (!with_logs) {
        store_filter f = {.limit = 500};
        char *next = NULL;
        json_t *list = store_list(&f, &next);
        json_t *row = NULL;
        for (size_t i = 0; i < json_array_size(list); i++)
            if (strcmp(json_string_value(json_object_get(json_array_get(list, i), "id")), e->id) ==
                0)
                row = json_array_get(list, i);
        ck_assert_msg(row && json_equal(row, live), "%s: the list differs", when);
        json_decref(list);
        free(next);
    }
    json_decref(live);
    json_decref(stored);
}

static void live_and_stored_agree(const char *id, const char *type, const char *bytes, size_t len)
{
    sluice_exec *e = accepted_exec(id, type, bytes, len);
    snprintf(e->replay_of, sizeof(e->replay_of), "0193a8c2-0000-7000-8000-0000000000aa");
    accept_one(e);
    same_document(e, 0, "queued");
    same_document(e, 1, "queued");

    pthread_mutex_lock(&e->mu);
    e->state = EXEC_RUNNING;
    e->started_ms = 1700000003000ULL;
    pthread_mutex_unlock(&e->mu);
    ck_assert_int_eq(store_mark_running(e), 0);
    store_flush();
    same_document(e, 0, "running");

    /* Finished, with everything a result can carry; the output is not
     * all UTF-8. */
    pthread_mutex_lock(&e->mu);
    static const char out[] = "built \xff\xfe ok\n", err[] = "warn: caf\xc3\xa9\n";
    logbuf_append(&e->logs[0], out, sizeof(out) - 1);
    logbuf_append(&e->logs[1], err, sizeof(err) - 1);
    e->outputs = strdup("{\"version\":\"1.4\",\"n\":[1,2]}");
    e->exit_code = 3;
    e->has_exit_code = 1;
    e->error = strdup("exit code 3");
    e->meta = calloc(1, sizeof(exec_kv));
    e->meta[0].key = strdup("git.commit");
    e->meta[0].value = strdup("9a0b");
    e->n_meta = 1;
    snprintf(e->replaced_by, sizeof(e->replaced_by), "0193a8c2-0000-7000-8000-0000000000bb");
    pthread_mutex_unlock(&e->mu);
    exec_set_final(e, EXEC_FAILED);
    store_finish(e);
    store_flush();
    same_document(e, 0, "finished");
    same_document(e, 1, "finished");
    exec_unref(e);
}

START_TEST(json_body)
{
    static const char odd[] = "{ \"b\" :1,\n\t\"a\": [1 , 2.50], \"s\":\"\\u00e9\" }";
    live_and_stored_agree("0193a8c2-0000-7000-8000-0000000000d1", "application/json", odd,
                          strlen(odd));
}
END_TEST

START_TEST(binary_body)
{
    static const char bin[] = "\x01\x02\xff\x00z";
    live_and_stored_agree("0193a8c2-0000-7000-8000-0000000000d2", "application/octet-stream", bin,
                          sizeof(bin) - 1);
}
END_TEST

/* The writer itself: a view with nothing in it is still a whole document. */
START_TEST(empty_view)
{
    execdoc_view v = {.id = "x", .state = "queued", .attempt = 1};
    json_t *d = execdoc_json(&v, NULL, 1);
    static const char *const null_keys[] = {"request_id",  "exit_code",  "error",
                                            "replay_of",   "replaces",   "replaced_by",
                                            "received_at", "started_at", "finished_at"};
    for (size_t i = 0; i < sizeof(null_keys) / sizeof(null_keys[0]); i++)
        ck_assert_msg(json_is_null(json_object_get(d, null_keys[i])), "%s", null_keys[i]);
    ck_assert(json_is_object(json_object_get(d, "outputs")));
    ck_assert(json_is_object(json_object_get(d, "meta")));
    ck_assert_str_eq(json_string_value(json_object_get(d, "stdout")), "");
    ck_assert_ptr_null(json_object_get(d, "executor"));
    ck_assert_ptr_null(json_object_get(d, "duration_ms"));
    json_decref(d);
}
END_TEST

static Suite *execdoc_suite(void)
{
    Suite *s = suite_create("execdoc");
    TCase *tc = tcase_create("live and stored");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, json_body);
    tcase_add_test(tc, binary_body);
    suite_add_tcase(s, tc);
    tc = tcase_create("writer");
    tcase_add_test(tc, empty_view);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(execdoc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
