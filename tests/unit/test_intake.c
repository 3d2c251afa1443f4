/*
 * Admission (intake.c) against a fake engine and a fake store: the test
 * plays the store's threads, calling committed() and done() itself, so
 * the order of every step is seen without libmicrohttpd or SQLite.
 */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_impl.h"
#include "engine.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

/* ---- the fake engine ---- */

static struct {
    engine_reserve_result answer; /* what engine_reserve says */
    size_t reserved, reserved_bytes, enqueued, load;
} eng;

engine_reserve_result engine_reserve(size_t n, size_t bytes)
{
    if (eng.answer == ENGINE_OK) {
        eng.reserved += n;
        eng.reserved_bytes += bytes;
    }
    return eng.answer;
}

void engine_unreserve(size_t n, size_t bytes)
{
    ck_assert_uint_ge(eng.reserved, n);
    eng.reserved -= n;
    eng.reserved_bytes -= bytes;
}

void engine_enqueue(sluice_exec **v, size_t n, int reserved)
{
    ck_assert_int_eq(reserved, 1);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(v[i]->store_status, STORE_OK);
        eng.reserved_bytes -= v[i]->qbytes;
    }
    eng.reserved -= n;
    eng.enqueued += n;
}

void engine_adopt(sluice_exec *e)
{
    (void)e;
}

size_t engine_flow_load(const flow_rt *f)
{
    (void)f;
    return eng.load;
}

int engine_cancel_oldest(const char *flow_key, const char *by, char *cancelled, size_t len)
{
    (void)flow_key;
    (void)by;
    (void)cancelled;
    (void)len;
    return -1;
}

/* ---- the fake store ---- */

static struct {
    const char *seen; /* an idempotency key already stored, as "id-seen" */
    sluice_exec **v;
    size_t n;
    void (*committed)(void *);
    void (*done)(void *, int);
    void *arg;
    int accepts;
} st;

size_t store_find_idempotent(const char *trigger, const char *key, uint64_t since_ms,
                             char (*ids)[40], size_t max)
{
    (void)trigger;
    (void)since_ms;
    if (!st.seen || strcmp(key, st.seen) != 0 || !max)
        return 0;
    snprintf(ids[0], 40, "id-seen");
    return 1;
}

void store_accept(sluice_exec **v, size_t n, void (*committed)(void *arg),
                  void (*done)(void *arg, int durable), void *arg)
{
    st.v = v;
    st.n = n;
    st.committed = committed;
    st.done = done;
    st.arg = arg;
    st.accepts++;
}

void metrics_count_accepted(void)
{
}

void log_msg(int level, const char *request_id, const char *fmt, ...)
{
    (void)level;
    (void)request_id;
    (void)fmt;
}

/* ---- executions ---- */

/* The accessors intake reads executions through, over the fake's fields. */
const char *exec_id(const sluice_exec *e)
{
    return e->id;
}

const flow_def *exec_flow(const sluice_exec *e)
{
    return e->flow;
}

flow_rt *exec_runtime(const sluice_exec *e)
{
    return e->rt;
}

int exec_store_status(const sluice_exec *e)
{
    return e->store_status;
}

void exec_set_admission(sluice_exec *e, const char *idem_key, size_t qbytes)
{
    if (idem_key && !e->idem_key)
        e->idem_key = strdup(idem_key);
    e->qbytes = qbytes;
}

void exec_set_replaces(sluice_exec *e, const char *id)
{
    snprintf(e->replaces, sizeof(e->replaces), "%s", id);
}

sluice_exec *exec_ref(sluice_exec *e)
{
    atomic_fetch_add(&e->refs, 1);
    return e;
}

void exec_unref(sluice_exec *e)
{
    if (atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    free(e->idem_key);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static flow_def flows[2];
static flow_rt rts[2] = {{.def = &flows[0]}, {.def = &flows[1]}};
static flow_rt *flow_list[2] = {&rts[0], &rts[1]};
static trigger_def trig = {.id = "t"};

static struct {
    int builds;
    int fail; /* make one execution fewer than asked */
    int done_calls;
    intake_result result;
} cb;

static size_t build(void *arg, sluice_exec **out, size_t n)
{
    (void)arg;
    cb.builds++;
    size_t k = cb.fail ? n - 1 : n;
    for (size_t i = 0; i < k; i++) {
        sluice_exec *e = calloc(1, sizeof(*e));
        atomic_init(&e->refs, 1);
        pthread_mutex_init(&e->mu, NULL);
        e->flow = &flows[i];
        e->rt = &rts[i];
        snprintf(e->id, sizeof(e->id), "e%zu", i);
        out[i] = e;
    }
    return k;
}

static void done(void *arg, intake_result r)
{
    (void)arg;
    cb.done_calls++;
    cb.result = r;
}

static intake_request request(size_t n_flows, const char *key)
{
    return (intake_request){.request_id = "r",
                            .trigger = &trig,
                            .flows = flow_list,
                            .n_flows = n_flows,
                            .idem_key = key,
                            .received_ms = 1000,
                            .qbytes = 100,
                            .build = build,
                            .done = done};
}

static void reset(void)
{
    memset(&eng, 0, sizeof(eng));
    memset(&st, 0, sizeof(st));
    memset(&cb, 0, sizeof(cb));
    memset(flows, 0, sizeof(flows));
    flows[0].key = "f0";
    flows[1].key = "f1";
}

static void unref_all(sluice_exec **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i])
            exec_unref(v[i]);
}

START_TEST(test_refusals_build_nothing)
{
    reset();
    sluice_exec *v[2] = {0};
    intake_refusal why;
    intake_request rq = request(2, "k");

    st.seen = "k";
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_SEEN);
    ck_assert_uint_eq(why.status, 200);
    ck_assert_uint_eq(why.n_dups, 1);
    ck_assert_str_eq(why.dup_ids[0], "id-seen");
    st.seen = NULL;

    /* The second flow is at its limit and rejects: the whole request is refused. */
    flows[1].concurrency = 1;
    flows[1].on_limit = ON_LIMIT_REJECT;
    eng.load = 1;
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_FLOW_BUSY);
    ck_assert_uint_eq(why.status, 503);
    ck_assert_str_eq(why.code, "flow_busy");
    ck_assert_str_eq(why.retry_after, "1");
    ck_assert_ptr_nonnull(strstr(why.message, "f1"));
    /* "queue" waits for its turn instead. */
    flows[1].on_limit = ON_LIMIT_QUEUE;
    eng.answer = ENGINE_FULL;
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_QUEUE_FULL);
    ck_assert_str_eq(why.code, "queue_full");
    eng.answer = ENGINE_NO_MEMORY;
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_QUEUE_MEMORY);
    ck_assert_ptr_nonnull(strstr(why.message, "max_queue_memory"));
    eng.answer = ENGINE_STOPPING;
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_STOPPING);
    ck_assert_str_eq(why.code, "shutting_down");
    ck_assert_str_eq(why.retry_after, "5");

    ck_assert_int_eq(cb.builds, 0);
    ck_assert_int_eq(st.accepts, 0);
    ck_assert_uint_eq(eng.reserved, 0);
}
END_TEST

START_TEST(test_build_failure_gives_room_back)
{
    reset();
    sluice_exec *v[2] = {0};
    intake_refusal why;
    intake_request rq = request(2, NULL);
    cb.fail = 1;
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_NOT_BUILT);
    ck_assert_int_eq(cb.builds, 1);
    ck_assert_ptr_null(v[0]);
    ck_assert_int_eq(st.accepts, 0);
    ck_assert_uint_eq(eng.reserved, 0);
    ck_assert_uint_eq(eng.reserved_bytes, 0);
}
END_TEST

START_TEST(test_stored_batch_is_enqueued_at_commit)
{
    reset();
    sluice_exec *v[2] = {0};
    intake_refusal why;
    intake_request rq = request(2, "k");
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_SUBMITTED);
    ck_assert_int_eq(st.accepts, 1);
    ck_assert_uint_eq(st.n, 2);
    ck_assert_uint_eq(eng.reserved, 2);
    ck_assert_uint_eq(eng.reserved_bytes, 200);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_ptr_eq(st.v[i], v[i]);
        ck_assert_str_eq(v[i]->idem_key, "k");
        ck_assert_uint_eq(v[i]->qbytes, 100);
    }
    /* The store finds the second a duplicate of one stored meanwhile. */
    v[1]->store_status = STORE_DUPLICATE;
    st.committed(st.arg);
    ck_assert_uint_eq(eng.enqueued, 1);
    ck_assert_uint_eq(eng.reserved, 0);
    ck_assert_uint_eq(eng.reserved_bytes, 0);
    ck_assert_int_eq(cb.done_calls, 0); /* answered only once durable */
    st.done(st.arg, 1);
    ck_assert_int_eq(cb.done_calls, 1);
    ck_assert_int_eq(cb.result, INTAKE_STORED);
    unref_all(v, 2);
}
END_TEST

START_TEST(test_all_duplicates_and_failures)
{
    reset();
    sluice_exec *v[2] = {0};
    intake_refusal why;
    intake_request rq = request(2, "k");
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_SUBMITTED);
    v[0]->store_status = v[1]->store_status = STORE_DUPLICATE;
    st.committed(st.arg);
    st.done(st.arg, 1);
    ck_assert_int_eq(cb.result, INTAKE_DUPLICATE);
    ck_assert_uint_eq(eng.enqueued, 0);
    ck_assert_uint_eq(eng.reserved, 0);
    unref_all(v, 2);

    /* Refused by the store before any commit: the room goes back. */
    memset(v, 0, sizeof(v));
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_SUBMITTED);
    st.done(st.arg, 0);
    ck_assert_int_eq(cb.result, INTAKE_STORE_FAILED);
    ck_assert_uint_eq(eng.reserved, 0);
    ck_assert_uint_eq(eng.reserved_bytes, 0);
    ck_assert_uint_eq(eng.enqueued, 0);
    unref_all(v, 2);

    /* Committed, then not durable: queued, yet answered as failed. */
    memset(v, 0, sizeof(v));
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_SUBMITTED);
    st.committed(st.arg);
    st.done(st.arg, 0);
    ck_assert_int_eq(cb.result, INTAKE_STORE_FAILED);
    ck_assert_uint_eq(eng.enqueued, 2);
    ck_assert_uint_eq(eng.reserved, 0);
    unref_all(v, 2);
}
END_TEST

/* Each test runs in a process of its own (Check's default): intake_close
 * cannot be undone, and a failed test leaves no batch storing. */
START_TEST(test_close_waits_and_refuses)
{
    reset();
    sluice_exec *v[1] = {0};
    intake_refusal why;
    intake_request rq = request(1, NULL);
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_SUBMITTED);
    st.committed(st.arg);
    st.done(st.arg, 1); /* nothing left storing: close returns at once */
    intake_close();
    exec_unref(v[0]);
    v[0] = NULL;
    ck_assert_int_eq(intake_submit(&rq, v, &why), INTAKE_STOPPING);
    ck_assert_str_eq(why.code, "shutting_down");
    ck_assert_uint_eq(eng.reserved, 0);
    ck_assert_int_eq(cb.builds, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("intake");
    TCase *tc = tcase_create("admission");
    tcase_add_test(tc, test_refusals_build_nothing);
    tcase_add_test(tc, test_build_failure_gives_room_back);
    tcase_add_test(tc, test_stored_batch_is_enqueued_at_commit);
    tcase_add_test(tc, test_all_duplicates_and_failures);
    tcase_add_test(tc, test_close_waits_and_refuses);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
