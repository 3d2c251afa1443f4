/*
 * test_metrics.c - the exposition text: counters, and the gauges the caller
 * hands in.
 */
#include "execstate.h"
#include "metrics.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static char *render(const metrics_gauges *g)
{
    size_t len;
    char *text = metrics_render(g, &len);
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

static void has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    ck_abort_msg("no line \"%s\" in:\n%s", line, text);
}

START_TEST(gauges_are_the_ones_handed_in)
{
    metrics_gauges g = {.queued = 7,
                        .running = 3,
                        .capacity = 1000,
                        .followers = 2,
                        .queue_bytes = 4096,
                        .queue_limit = 1u << 20,
                        .store_healthy = 1};
    char *text = render(&g);
    has_line(text, "sluice_queue_depth 7");
    has_line(text, "sluice_executions_running 3");
    has_line(text, "sluice_queue_capacity 1000");
    has_line(text, "sluice_log_followers 2");
    has_line(text, "sluice_queue_bytes 4096");
    has_line(text, "sluice_queue_capacity_bytes 1048576");
    has_line(text, "sluice_store_healthy 1");
    free(text);
    g.store_healthy = 0;
    g.queued = 0;
    text = render(&g);
    has_line(text, "sluice_store_healthy 0");
    has_line(text, "sluice_queue_depth 0");
    free(text);
}
END_TEST

START_TEST(counters_by_state_and_flow)
{
    metrics_count_accepted();
    metrics_count_accepted();
    metrics_count_response(202);
    metrics_count_finished("ops/deploy", EXEC_SUCCEEDED, 7);
    metrics_count_finished("ops/deploy", EXEC_FAILED, 2500);
    metrics_count_finished(NULL, EXEC_UNKNOWN, 0);
    metrics_count_finished("ops/deploy", EXEC_UNKNOWN + 1, 0); /* no state: ignored */
    metrics_gauges g = {0};
    char *text = render(&g);
    has_line(text, "sluice_executions_accepted_total 2");
    has_line(text, "sluice_http_responses_total{code=\"202\"} 1");
    has_line(text, "sluice_executions_finished_total{state=\"succeeded\"} 1");
    has_line(text, "sluice_executions_finished_total{state=\"failed\"} 1");
    has_line(text, "sluice_executions_finished_total{state=\"unknown\"} 1");
    has_line(text, "sluice_execution_duration_seconds_bucket{flow=\"ops/deploy\",le=\"0.005\"} 0");
    has_line(text, "sluice_execution_duration_seconds_bucket{flow=\"ops/deploy\",le=\"0.01\"} 1");
    has_line(text, "sluice_execution_duration_seconds_bucket{flow=\"ops/deploy\",le=\"+Inf\"} 2");
    has_line(text, "sluice_execution_duration_seconds_sum{flow=\"ops/deploy\"} 2.507");
    free(text);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, gauges_are_the_ones_handed_in);
    tcase_add_test(tc, counters_by_state_and_flow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
