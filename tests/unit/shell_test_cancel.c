/*
 * shell_test_cancel.c - stopping commands: timeouts and cancels kill the
 * whole process group (SIGTERM, then SIGKILL after kill_grace), promptly,
 * through exec_is_cancelled or the cancel callback alone; and whatever a
 * command leaves running when it exits is killed with its group.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "shell_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Run script (with $D set to a fresh directory) on its own host, cancelled
 * after cancel_ms with reason. Returns the execution (finished) and the
 * elapsed time; *gc receives the pid the script wrote to $D/gc.
 */
static mock_exec *run_cancelled(const char *script, const char *grace, int cancel_ms, int reason,
                                mock_host **host, long long *elapsed, pid_t *gc)
{
    char *dir = st_tmpdir();
    char *cfg = st_json("{s:s, s:{s:s}, s:s}", "script", script, "env", "D", "{body.dir}",
                        "kill_grace", grace);
    char *event = st_event(json_pack("{s:s}", "dir", dir));
    char gcpath[512];
    void *inst;
    mock_exec *exec;
    long long start;

    *host = st_host();
    inst = st_configure(*host, cfg);
    exec = mock_exec_new(*host, event);
    start = st_now_ms();
    ck_assert_int_eq(mock_exec_cancel_after(exec, (unsigned)cancel_ms, reason), 0);
    ck_assert_int_eq(mock_exec_run(exec, inst, 30000), SLUICE_ERR);
    *elapsed = st_now_ms() - start;
    snprintf(gcpath, sizeof(gcpath), "%s/gc", dir);
    *gc = st_read_pid(gcpath);
    ck_assert_msg(*gc > 1, "the script did not record its grandchild");
    free(cfg);
    free(event);
    st_rmdir(dir);
    return exec;
}

START_TEST(timeout_kills_the_process_group)
{
    mock_host *host;
    mock_exec *exec;
    long long elapsed;
    pid_t gc;

    exec = run_cancelled("sleep 30 & echo $! > \"$D/gc\"; sleep 30", "5s", 200,
                         SLUICE_CANCEL_TIMEOUT, &host, &elapsed, &gc);
    ck_assert_str_eq(mock_exec_error(exec), "timed out; process group killed");
    ck_assert_int_eq(mock_exec_exit_code(exec), 128 + SIGTERM);
    ck_assert_msg(elapsed >= 200 && elapsed < 10000, "took %lld ms", elapsed);
    ck_assert_msg(st_pid_gone(gc, 2000), "grandchild %d survived the timeout", (int)gc);
    ck_assert_uint_ge(mock_host_log_matches(host, "sent SIGTERM to process group"), 1);
    st_done(host, exec);
}
END_TEST

START_TEST(cancel_escalates_to_sigkill)
{
    mock_host *host;
    mock_exec *exec;
    long long elapsed;
    pid_t gc;

    /* Everything ignores SIGTERM (the disposition is inherited). */
    exec = run_cancelled("trap '' TERM; sleep 30 & echo $! > \"$D/gc\"; sleep 30", "300ms", 200,
                         SLUICE_CANCEL_REQUEST, &host, &elapsed, &gc);
    ck_assert_str_eq(mock_exec_error(exec), "cancelled; process group killed");
    ck_assert_int_eq(mock_exec_exit_code(exec), 128 + SIGKILL);
    ck_assert_msg(elapsed >= 500 && elapsed < 10000, "took %lld ms", elapsed);
    ck_assert_msg(st_pid_gone(gc, 2000), "grandchild %d survived SIGKILL", (int)gc);
    ck_assert_uint_ge(mock_host_log_matches(host, "sent SIGKILL"), 1);
    st_done(host, exec);
}
END_TEST

START_TEST(shutdown_reason)
{
    mock_host *host;
    mock_exec *exec;
    long long elapsed;
    pid_t gc;

    exec = run_cancelled("echo $$ > \"$D/gc\"; exec sleep 30", "1s", 100, SLUICE_CANCEL_SHUTDOWN,
                         &host, &elapsed, &gc);
    ck_assert_str_eq(mock_exec_error(exec),
                     "cancelled: sluiced is shutting down; process group killed");
    st_done(host, exec);
}
END_TEST

START_TEST(cancelled_before_start)
{
    char *dir = st_tmpdir();
    char *cfg = st_json("{s:s, s:{s:s}}", "script", "touch \"$D/ran\"", "env", "D", "{body.dir}");
    char *event = st_event(json_pack("{s:s}", "dir", dir));
    char ran[512];
    mock_host *host = st_host();
    void *inst = st_configure(host, cfg);
    mock_exec *exec = mock_exec_new(host, event);

    mock_exec_cancel(exec, SLUICE_CANCEL_TIMEOUT);
    ck_assert_int_eq(mock_exec_run(exec, inst, 5000), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec), "timed out before the command started");
    ck_assert_int_eq(mock_exec_exit_code(exec), MOCK_NO_EXIT_CODE);
    snprintf(ran, sizeof(ran), "%s/ran", dir);
    ck_assert_msg(access(ran, F_OK) != 0, "the command ran");
    free(cfg);
    free(event);
    st_done(host, exec);
    st_rmdir(dir);
}
END_TEST

struct cancel_later {
    const sluice_plugin *plugin;
    void *inst;
    mock_exec *exec;
};

static void *cancel_thread(void *arg)
{
    struct cancel_later *c = arg;

    usleep(200 * 1000);
    c->plugin->cancel(c->inst, c->exec);
    return NULL;
}

/*
 * The plugin's cancel callback alone (no reason set, so exec_is_cancelled
 * stays 0) must stop the command: it wakes the poll loop through the
 * execution's eventfd.
 */
START_TEST(cancel_callback_alone_stops_the_command)
{
    mock_host *host = st_host();
    void *inst = st_configure(host, "{\"argv\": [\"/bin/sleep\", \"30\"]}");
    char *event = st_event(NULL);
    mock_exec *exec = mock_exec_new(host, event);
    struct cancel_later c = {mock_host_plugin(host), inst, exec};
    pthread_t thr;
    long long start = st_now_ms(), elapsed;

    ck_assert_ptr_nonnull(c.plugin->cancel);
    ck_assert_int_eq(pthread_create(&thr, NULL, cancel_thread, &c), 0);
    ck_assert_int_eq(mock_exec_run(exec, inst, 30000), SLUICE_ERR);
    elapsed = st_now_ms() - start;
    pthread_join(thr, NULL);
    ck_assert_str_eq(mock_exec_error(exec), "cancelled; process group killed");
    ck_assert_msg(elapsed < 10000, "took %lld ms", elapsed);
    free(event);
    st_done(host, exec);
}
END_TEST

START_TEST(leftovers_are_killed_after_the_command_exits)
{
    char *dir = st_tmpdir();
    char *event = st_event(json_pack("{s:s}", "dir", dir));
    char gcpath[512];
    mock_host *host;
    mock_exec *exec;
    long long start;
    pid_t gc;

    snprintf(gcpath, sizeof(gcpath), "%s/gc", dir);
    /* The grandchild holds stdout open: we must not wait for it. */
    start = st_now_ms();
    exec = st_run("{\"script\": \"sleep 30 & echo $! > \\\"$D/gc\\\"; echo done\", "
                  "\"env\": {\"D\": \"{body.dir}\"}}",
                  event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_msg(st_now_ms() - start < 10000, "waited for the grandchild's pipe");
    ck_assert_str_eq(st_stdout(exec), "done\n");
    gc = st_read_pid(gcpath);
    ck_assert_int_gt(gc, 1);
    ck_assert_msg(st_pid_gone(gc, 2000), "grandchild %d outlived the execution", (int)gc);
    st_done(host, exec);

    /* Not holding any pipe, it is killed all the same. */
    unlink(gcpath);
    exec = st_run("{\"script\": \"sleep 30 >/dev/null 2>&1 </dev/null & echo $! > "
                  "\\\"$D/gc\\\"\", \"env\": {\"D\": \"{body.dir}\"}}",
                  event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    gc = st_read_pid(gcpath);
    ck_assert_int_gt(gc, 1);
    ck_assert_msg(st_pid_gone(gc, 2000), "grandchild %d outlived the execution", (int)gc);
    st_done(host, exec);
    free(event);
    st_rmdir(dir);
}
END_TEST

Suite *shell_cancel_suite(void)
{
    Suite *s = suite_create("shell-cancel");
    TCase *tc = tcase_create("cancel");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, timeout_kills_the_process_group);
    tcase_add_test(tc, cancel_escalates_to_sigkill);
    tcase_add_test(tc, shutdown_reason);
    tcase_add_test(tc, cancelled_before_start);
    tcase_add_test(tc, cancel_callback_alone_stops_the_command);
    tcase_add_test(tc, leftovers_are_killed_after_the_command_exits);
    suite_add_tcase(s, tc);
    return s;
}
