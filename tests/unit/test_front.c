/*
 * test_front.c - the request helpers of http.c that run on libmicrohttpd's
 * threads, several at a time.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

/* One thread's request: a body path of its own and a body where only that
 * path leads to its key. */
typedef struct idem_case {
    trigger_def t;
    json_t *base;
    http_request rq;
    char want[32];
    int wrong;
} idem_case;

static void *idem_loop(void *arg)
{
    idem_case *c = arg;
    for (int i = 0; i < 200000; i++) {
        const char *k = webhook_idempotency_key(&c->rq, &c->t, c->base);
        if (!k || strcmp(k, c->want) != 0)
            c->wrong++;
    }
    return NULL;
}

START_TEST(test_idempotency_key_threads)
{
    /* Paths of different depths and names: a walk that continued in
     * another thread's path would find another key or none. */
    static const char *const paths[] = {"body:delivery.id", "body:meta.event.key", "body:x.0.y.z",
                                        "body:a"};
    static const char *const bodies[] = {
        "{\"delivery\":{\"id\":\"K0\"},\"meta\":{\"event\":{\"key\":\"no\"}}}",
        "{\"meta\":{\"event\":{\"key\":\"K1\"}},\"delivery\":{\"id\":\"no\"}}",
        "{\"x\":[{\"y\":{\"z\":\"K2\"}}],\"a\":\"no\"}",
        "{\"a\":\"K3\",\"x\":[{\"y\":{\"z\":\"no\"}}]}"};
    enum { N = 4 };
    idem_case cs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        memset(&cs[i], 0, sizeof(cs[i]));
        cs[i].t.idem_key = (char *)paths[i];
        cs[i].base = json_object();
        json_object_set_new(cs[i].base, "body", json_loads(bodies[i], 0, NULL));
        snprintf(cs[i].want, sizeof(cs[i].want), "K%d", i);
        ck_assert_str_eq(webhook_idempotency_key(&cs[i].rq, &cs[i].t, cs[i].base), cs[i].want);
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, idem_loop, &cs[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(cs[i].wrong == 0, "thread %d read a wrong key %d times", i, cs[i].wrong);
        json_decref(cs[i].base);
    }
}
END_TEST

START_TEST(test_idempotency_key_headers)
{
    http_request rq;
    memset(&rq, 0, sizeof(rq));
    kv h[] = {{"svix-id", "msg_2"}, {"x-github-delivery", "gh"}};
    rq.headers = h;
    rq.n_headers = 2;
    trigger_def t;
    memset(&t, 0, sizeof(t));
    /* Svix's name for webhook-id, before the GitHub delivery id. */
    ck_assert_str_eq(webhook_idempotency_key(&rq, &t, NULL), "msg_2");
    t.idem_key = "header:x-github-delivery";
    ck_assert_str_eq(webhook_idempotency_key(&rq, &t, NULL), "gh");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("front");
    TCase *tc = tcase_create("idempotency");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_idempotency_key_threads);
    tcase_add_test(tc, test_idempotency_key_headers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
