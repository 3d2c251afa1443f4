/*
 * shell_test_run.c - the shell executor running real commands through the
 * mock host: injection safety, environment, files, outputs, exit codes,
 * bounded output, stdin handling, run-as, concurrency. Stopping commands is
 * in shell_test_cancel.c.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "shell_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every hostile string a shell would act on. */
static const char *const hostile[] = {
    "$(touch MARKER)",
    "; touch MARKER; rm -rf /",
    "`touch MARKER`",
    "a\nb\n; touch MARKER",
    "' \" \\ * ? [a] ~ $HOME | & > MARKER < /etc/passwd",
    "",
    "   spaced   out   ",
};
#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

/* Replace MARKER in s with marker (malloc'd). */
static char *with_marker(const char *s, const char *marker)
{
    const char *m = strstr(s, "MARKER");
    char *out;

    if (!m)
        return strdup(s);
    ck_assert_int_ge(asprintf(&out, "%.*s%s%s", (int)(m - s), s, marker, m + 6), 0);
    return out;
}

START_TEST(argv_values_are_single_literal_arguments)
{
    char *dir = st_tmpdir();
    char marker[256];
    char *values[N_HOSTILE];
    json_t *body = json_object(), *argv = json_array();
    mock_host *host;
    mock_exec *exec;
    size_t len;
    char *cfg, *event;
    const char *out, *p;

    snprintf(marker, sizeof(marker), "%s/pwned", dir);
    json_array_append_new(argv, json_string("/usr/bin/printf"));
    json_array_append_new(argv, json_string("%s\\0"));
    for (size_t i = 0; i < N_HOSTILE; i++) {
        char key[8], ref[32];

        values[i] = with_marker(hostile[i], marker);
        snprintf(key, sizeof(key), "v%zu", i);
        snprintf(ref, sizeof(ref), "{body.%s}", key);
        json_object_set_new(body, key, json_string(values[i]));
        json_array_append_new(argv, json_string(ref));
    }
    json_array_append_new(argv, json_string("--mixed={body.v0}|{query.q}"));
    cfg = st_json("{s:o, s:s}", "argv", argv, "stdin", "none");
    event = st_event_with(body, json_pack("{s:{s:[s]}}", "query", "q", values[1]));

    exec = st_run(cfg, event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    out = mock_exec_log(exec, SLUICE_STDOUT, &len);
    p = out;
    for (size_t i = 0; i < N_HOSTILE; i++) {
        ck_assert_msg(p < out + len, "argument %zu missing", i);
        ck_assert_msg(strcmp(p, values[i]) == 0, "argument %zu: got \"%s\" want \"%s\"", i, p,
                      values[i]);
        p += strlen(p) + 1;
    }
    char *mixed;
    ck_assert_int_ge(asprintf(&mixed, "--mixed=%s|%s", values[0], values[1]), 0);
    ck_assert_str_eq(p, mixed);
    p += strlen(p) + 1;
    ck_assert_msg(p == out + len, "more arguments than placeholders: values were split");
    ck_assert_msg(access(marker, F_OK) != 0, "a shell ran the payload: %s exists", marker);

    free(mixed);
    for (size_t i = 0; i < N_HOSTILE; i++)
        free(values[i]);
    free(cfg);
    free(event);
    st_done(host, exec);
    st_rmdir(dir);
}
END_TEST

START_TEST(argv_program_found_in_clean_path)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(json_pack("{s:s}", "x", "hello"));

    exec = st_run("{\"argv\": [\"printf\", \"%s\", \"{body.x}\"]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    ck_assert_str_eq(st_stdout(exec), "hello");
    st_done(host, exec);

    exec = st_run("{\"argv\": [\"no-such-program-xyz\"]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec), "cannot run \"no-such-program-xyz\": not found in "
                                            "PATH=/usr/local/bin:/usr/bin:/bin");
    ck_assert_int_eq(mock_exec_exit_code(exec), MOCK_NO_EXIT_CODE);
    st_done(host, exec);

    exec = st_run("{\"argv\": [\"/nonexistent/prog\"]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec),
                     "cannot run /nonexistent/prog: No such file or directory");
    st_done(host, exec);
    free(event);
}
END_TEST

START_TEST(argv_value_with_nul_is_refused)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(json_pack("{s:s%}", "x", "a\0b", (size_t)3));

    exec = st_run("{\"argv\": [\"/bin/echo\", \"{body.x}\"]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_msg(strstr(mock_exec_error(exec), "NUL") != NULL, "%s", mock_exec_error(exec));
    ck_assert_int_eq(mock_exec_exit_code(exec), MOCK_NO_EXIT_CODE);
    st_done(host, exec);
    free(event);
}
END_TEST

START_TEST(script_gets_payload_only_through_env_and_stdin)
{
    char *dir = st_tmpdir();
    char marker[256];
    mock_host *host;
    mock_exec *exec;
    char *value, *cfg, *event, *want, *body_json;

    snprintf(marker, sizeof(marker), "%s/pwned", dir);
    value = with_marker("$(touch MARKER)`touch MARKER`; touch MARKER", marker);
    cfg = st_json("{s:s, s:{s:s}, s:s}", "script",
                  "printf 'env=[%s]\\n' \"$VALUE\"; printf 'stdin=['; cat; printf ']\\n'", "env",
                  "VALUE", "{body.a}", "stdin", "body");
    event = st_event(json_pack("{s:s}", "a", value));
    body_json = st_json("{s:s}", "a", value);
    ck_assert_int_ge(asprintf(&want, "env=[%s]\nstdin=[%s]\n", value, body_json), 0);

    exec = st_run(cfg, event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_str_eq(st_stdout(exec), want);
    ck_assert_msg(access(marker, F_OK) != 0, "a shell ran the payload: %s exists", marker);

    free(want);
    free(body_json);
    free(value);
    free(cfg);
    free(event);
    st_done(host, exec);
    st_rmdir(dir);
}
END_TEST

START_TEST(event_file_and_stdin_hold_the_event)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(json_pack("{s:s, s:i}", "ref", "main", "n", 3));
    char *want, *dirline;
    const char *out;

    /* Also print the temp dir and its mode, to check it is private and gone. */
    exec = st_run("{\"script\": \"cat \\\"$SLUICE_EVENT\\\"; printf '|'; cat; printf '|'; "
                  "stat -c %a \\\"$(dirname \\\"$SLUICE_EVENT\\\")\\\"; dirname "
                  "\\\"$SLUICE_OUTPUT\\\"\"}",
                  event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    out = st_stdout(exec);
    ck_assert_int_ge(asprintf(&want, "%s|%s|700\n", event, event), 0);
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "got %s", out);
    dirline = strdup(out + strlen(want));
    dirline[strcspn(dirline, "\n")] = '\0';
    /* Work files live in /dev/shm when it is a tmpfs, else in /tmp. */
    ck_assert_msg(strncmp(dirline, "/tmp/sluice-shell.", 18) == 0 ||
                      strncmp(dirline, "/dev/shm/sluice-shell.", 22) == 0,
                  "%s", dirline);
    ck_assert_msg(access(dirline, F_OK) != 0, "the temp dir %s was not removed", dirline);
    free(dirline);
    free(want);
    free(event);
    st_done(host, exec);
}
END_TEST

START_TEST(temp_dir_removed_with_what_the_command_left)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(NULL);
    char *dir;

    exec = st_run("{\"script\": \"d=$(dirname \\\"$SLUICE_OUTPUT\\\"); mkdir \\\"$d/sub\\\"; "
                  "echo x > \\\"$d/sub/f\\\"; ln -s /etc \\\"$d/link\\\"; printf %s \\\"$d\\\"\"}",
                  event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    dir = strdup(st_stdout(exec));
    ck_assert_msg(access(dir, F_OK) != 0, "%s still exists", dir);
    ck_assert_msg(access("/etc/passwd", F_OK) == 0, "the symlink was followed on removal");
    free(dir);
    free(event);
    st_done(host, exec);
}
END_TEST

/* Split env output into a sorted list of NAME=value lines. */
static int env_has(const char *out, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (len == n && memcmp(p, line, n) == 0)
            return 1;
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (*s == '\n')
            n++;
    return n;
}

START_TEST(environment_is_clean_and_mapped)
{
    mock_host *host;
    mock_exec *exec;
    char *event, *cfg;
    const char *out, *home = getenv("HOME");

    setenv("SHELL_TEST_LEAK", "must-not-appear", 1);
    setenv("SHELL_TEST_INHERIT", "inherited value", 1);
    cfg = st_json("{s:[s], s:{s:s, s:s, s:s}, s:[s, s]}", "argv", "/usr/bin/env", "env", "REF",
                  "{body.ref}", "COMBO", "ref={body.ref};n={body.n};q={query.a}", "LANG",
                  "fr_FR.UTF-8", "inherit_env", "SHELL_TEST_INHERIT", "SHELL_TEST_UNSET_X");
    event = st_event_with(json_pack("{s:s, s:i}", "ref", "main", "n", 3),
                          json_pack("{s:{s:[s]}}", "query", "a", "1"));
    exec = st_run(cfg, event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    out = st_stdout(exec);
    ck_assert(env_has(out, "PATH=/usr/local/bin:/usr/bin:/bin"));
    ck_assert(env_has(out, "LANG=fr_FR.UTF-8"));
    ck_assert(env_has(out, "SHELL_TEST_INHERIT=inherited value"));
    ck_assert(env_has(out, "SLUICE_EXECUTION_ID=0193aaaa-bbbb-7ccc-8ddd-eeeeffff0000"));
    ck_assert(env_has(out, "SLUICE_FLOW=prod/deploy"));
    ck_assert(env_has(out, "SLUICE_TRIGGER=github-push"));
    ck_assert(env_has(out, "SLUICE_REQUEST_ID=req-0193aaaa-bbbb-7ccc-8ddd-eeeeffff0000"));
    ck_assert(env_has(out, "REF=main"));
    ck_assert(env_has(out, "COMBO=ref=main;n=3;q=1"));
    ck_assert_msg(strstr(out, "SLUICE_EVENT=/tmp/sluice-shell.") ||
                      strstr(out, "SLUICE_EVENT=/dev/shm/sluice-shell."),
                  "%s", out);
    ck_assert_msg(strstr(out, "SLUICE_OUTPUT=/tmp/sluice-shell.") ||
                      strstr(out, "SLUICE_OUTPUT=/dev/shm/sluice-shell."),
                  "%s", out);
    ck_assert_msg(!strstr(out, "SLUICE_FUNCTION"), "function is null: %s", out);
    ck_assert_msg(!strstr(out, "SHELL_TEST_LEAK"), "sluiced's env leaked: %s", out);
    if (home && *home != '\0') {
        char *line;

        ck_assert_int_ge(asprintf(&line, "HOME=%s", home), 0);
        ck_assert_msg(env_has(out, line), "%s missing in %s", line, out);
        free(line);
    }
    /* PATH HOME LANG SHELL_TEST_INHERIT, 6 SLUICE_*, REF COMBO. */
    ck_assert_msg(count_lines(out) == 12, "unexpected variables:\n%s", out);
    free(event);
    st_done(host, exec);

    event =
        st_event_with(json_pack("{s:s}", "ref", "main"), json_pack("{s:s}", "function", "main"));
    exec = st_run(cfg, event, &host);
    ck_assert(env_has(st_stdout(exec), "SLUICE_FUNCTION=main"));
    free(event);
    free(cfg);
    st_done(host, exec);
}
END_TEST

START_TEST(outputs_json)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(NULL);

    exec = st_run("{\"script\": \"printf '{\\\"version\\\": \\\"1.2\\\", \\\"n\\\": 3, "
                  "\\\"list\\\": [1, 2]}' > \\\"$SLUICE_OUTPUT\\\"\"}",
                  event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_str_eq(mock_exec_output_get(exec, "version"), "1.2");
    ck_assert_str_eq(mock_exec_output_get(exec, "n"), "3");
    ck_assert_str_eq(mock_exec_output_get(exec, "list"), "[1,2]");
    free(event);
    st_done(host, exec);
}
END_TEST

START_TEST(outputs_key_value)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(NULL);

    exec = st_run("{\"script\": \"printf '# build info\\\\n\\\\nversion=1.2\\\\nb=two words\\\\n"
                  "url=http://x/?a=b\\\\n' > \\\"$SLUICE_OUTPUT\\\"\"}",
                  event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_str_eq(mock_exec_output_get(exec, "version"), "1.2");
    ck_assert_str_eq(mock_exec_output_get(exec, "b"), "two words");
    ck_assert_str_eq(mock_exec_output_get(exec, "url"), "http://x/?a=b");
    ck_assert_ptr_null(mock_exec_output_get(exec, "# build info"));
    free(event);
    st_done(host, exec);
}
END_TEST

START_TEST(outputs_empty_bad_and_too_large)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(NULL);

    exec = st_run("{\"argv\": [\"/bin/true\"]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    ck_assert_ptr_null(mock_exec_outputs(exec));
    st_done(host, exec);

    exec = st_run("{\"script\": \"echo 'not an output line' > \\\"$SLUICE_OUTPUT\\\"\"}", event,
                  &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_msg(strstr(mock_exec_error(exec), "line 1 is not key=value") != NULL, "%s",
                  mock_exec_error(exec));
    ck_assert_int_eq(mock_exec_exit_code(exec), 0);
    st_done(host, exec);

    /* A failing command's outputs are kept, its error stays the first one. */
    exec = st_run("{\"script\": \"echo reason=disk full > \\\"$SLUICE_OUTPUT\\\"; exit 3\"}", event,
                  &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec), "exit code 3");
    ck_assert_str_eq(mock_exec_output_get(exec, "reason"), "disk full");
    st_done(host, exec);

    exec = st_run("{\"script\": \"{ printf k=; head -c 1500000 /dev/zero | tr '\\\\0' a; } "
                  "> \\\"$SLUICE_OUTPUT\\\"\"}",
                  event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_msg(strstr(mock_exec_error(exec), "outputs refused") != NULL, "%s",
                  mock_exec_error(exec));
    ck_assert_ptr_null(mock_exec_outputs(exec));
    st_done(host, exec);
    free(event);
}
END_TEST

START_TEST(exit_codes)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(NULL);

    exec = st_run("{\"script\": \"exit 0\"}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    ck_assert_int_eq(mock_exec_exit_code(exec), 0);
    ck_assert_ptr_null(mock_exec_error(exec));
    st_done(host, exec);

    exec = st_run("{\"script\": \"echo oops >&2; exit 3\"}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_int_eq(mock_exec_exit_code(exec), 3);
    ck_assert_str_eq(mock_exec_error(exec), "exit code 3");
    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDERR, NULL), "oops\n");
    st_done(host, exec);

    exec = st_run("{\"script\": \"exit 3\", \"success_exit_codes\": [0, 3]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    ck_assert_int_eq(mock_exec_exit_code(exec), 3);
    st_done(host, exec);

    exec = st_run("{\"script\": \"exit 0\", \"success_exit_codes\": [1]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec), "exit code 0");
    st_done(host, exec);

    exec = st_run("{\"script\": \"kill -TERM $$\"}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_int_eq(mock_exec_exit_code(exec), 128 + SIGTERM);
    ck_assert_str_eq(mock_exec_error(exec), "killed by signal 15 (SIGTERM)");
    st_done(host, exec);

    exec = st_run("{\"script\": \"kill -KILL $$\"}", event, &host);
    ck_assert_int_eq(mock_exec_exit_code(exec), 137);
    ck_assert_str_eq(mock_exec_error(exec), "killed by signal 9 (SIGKILL)");
    st_done(host, exec);
    free(event);
}
END_TEST

START_TEST(large_output_is_bounded)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(NULL);
    char marker[64];
    const char *out, *err;
    size_t len, elen;

    /* 5 MB on stdout and 3 MB on stderr at once: neither pipe may stall. */
    exec = st_run("{\"script\": \"head -c 3000000 /dev/zero | tr '\\\\0' e >&2 & "
                  "head -c 5000000 /dev/zero | tr '\\\\0' a; echo; echo END; wait\"}",
                  event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_uint_eq(mock_exec_log_total(exec, SLUICE_STDOUT), 5000005);
    ck_assert_uint_eq(mock_exec_log_total(exec, SLUICE_STDERR), 3000000);
    out = mock_exec_log(exec, SLUICE_STDOUT, &len);
    snprintf(marker, sizeof(marker), "\n[... %u bytes dropped ...]\n",
             5000005u - 2u * SLUICE_LOG_KEEP);
    ck_assert_uint_eq(len, 2 * SLUICE_LOG_KEEP + strlen(marker));
    ck_assert_int_eq(memcmp(out + SLUICE_LOG_KEEP, marker, strlen(marker)), 0);
    ck_assert_int_eq(out[0], 'a');
    ck_assert_int_eq(out[SLUICE_LOG_KEEP - 1], 'a');
    ck_assert_str_eq(out + len - 5, "\nEND\n");
    err = mock_exec_log(exec, SLUICE_STDERR, &elen);
    ck_assert_uint_eq(elen, 2 * SLUICE_LOG_KEEP + strlen("\n[... 2934464 bytes dropped ...]\n"));
    ck_assert_ptr_nonnull(strstr(err, "\n[... 2934464 bytes dropped ...]\n"));
    free(event);
    st_done(host, exec);
}
END_TEST

START_TEST(stdin_body_and_none)
{
    mock_host *host;
    mock_exec *exec;
    char *event;
    const char *out;
    size_t len;

    event = st_event(json_string("line1\nline2"));
    exec = st_run("{\"argv\": [\"/bin/cat\"], \"stdin\": \"body\"}", event, &host);
    ck_assert_str_eq(st_stdout(exec), "line1\nline2");
    st_done(host, exec);
    free(event);

    event = st_event(json_pack("{s:[i, s]}", "a", 1, "x"));
    exec = st_run("{\"argv\": [\"/bin/cat\"], \"stdin\": \"body\"}", event, &host);
    ck_assert_str_eq(st_stdout(exec), "{\"a\":[1,\"x\"]}");
    st_done(host, exec);
    free(event);

    event = st_event_with(NULL, json_pack("{s:s}", "raw_body_b64", "AAEC/w=="));
    exec = st_run("{\"argv\": [\"/bin/cat\"], \"stdin\": \"body\"}", event, &host);
    out = mock_exec_log(exec, SLUICE_STDOUT, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(memcmp(out, "\x00\x01\x02\xff", 4), 0);
    st_done(host, exec);

    exec = st_run("{\"argv\": [\"/bin/cat\"], \"stdin\": \"none\"}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    ck_assert_str_eq(st_stdout(exec), "");
    st_done(host, exec);
    free(event);
}
END_TEST

/* A big event and a command that never reads stdin: no deadlock, no
 * SIGPIPE death (the test process would die of it), mask restored. */
START_TEST(unread_stdin_does_not_deadlock)
{
    char *big = malloc(2 * 1024 * 1024 + 1);
    mock_host *host;
    mock_exec *exec;
    char *event;
    long long start;
    sigset_t mask, pending;

    memset(big, 'x', 2 * 1024 * 1024);
    big[2 * 1024 * 1024] = '\0';
    event = st_event(json_string(big));

    start = st_now_ms();
    exec = st_run("{\"argv\": [\"/bin/sleep\", \"0.3\"]}", event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    st_done(host, exec);

    exec = st_run("{\"script\": \"exec 0<&-; sleep 0.2; echo alive\"}", event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_str_eq(st_stdout(exec), "alive\n");
    st_done(host, exec);

    exec = st_run("{\"argv\": [\"/bin/true\"]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    st_done(host, exec);

    /* Writes a lot without reading: blocking on a full stdin pipe while it
     * blocks on a full stdout pipe would hang both for ever. */
    exec =
        st_run("{\"argv\": [\"/usr/bin/head\", \"-c\", \"1000000\", \"/dev/zero\"]}", event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_OK);
    ck_assert_uint_eq(mock_exec_log_total(exec, SLUICE_STDOUT), 1000000);
    st_done(host, exec);
    ck_assert_msg(st_now_ms() - start < 20000, "took %lld ms", st_now_ms() - start);

    /* The whole event still reaches a command that reads it. */
    exec = st_run("{\"script\": \"wc -c\"}", event, &host);
    ck_assert_int_eq(atol(st_stdout(exec)), (long)strlen(event));
    st_done(host, exec);

    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    ck_assert_msg(!sigismember(&mask, SIGPIPE), "SIGPIPE left blocked");
    sigpending(&pending);
    ck_assert_msg(!sigismember(&pending, SIGPIPE), "SIGPIPE left pending");
    free(event);
    free(big);
}
END_TEST

START_TEST(working_directory)
{
    char *dir = st_tmpdir();
    char *cfg = st_json("{s:[s], s:s}", "argv", "/bin/pwd", "cwd", dir);
    char *event = st_event(NULL);
    char *want;
    mock_host *host;
    mock_exec *exec;

    exec = st_run(cfg, event, &host);
    ck_assert_int_ge(asprintf(&want, "%s\n", dir), 0);
    ck_assert_str_eq(st_stdout(exec), want);
    free(want);
    st_done(host, exec);

    /* A relative program path is relative to cwd. */
    char script[600];
    snprintf(script, sizeof(script), "%s/tool.sh", dir);
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!/bin/sh\necho tool ran in \"$(pwd)\"\n", f);
    fclose(f);
    chmod(script, 0755);
    free(cfg);
    cfg = st_json("{s:[s], s:s}", "argv", "./tool.sh", "cwd", dir);
    exec = st_run(cfg, event, &host);
    ck_assert_int_ge(asprintf(&want, "tool ran in %s\n", dir), 0);
    ck_assert_str_eq(st_stdout(exec), want);
    free(want);
    st_done(host, exec);
    free(cfg);
    free(event);
    st_rmdir(dir);
}
END_TEST

/* A step of the child that fails before execve is reported with its errno:
 * the directory was there at configuration and is gone when it runs. */
START_TEST(working_directory_gone)
{
    char *dir = st_tmpdir();
    char *cfg = st_json("{s:[s], s:s}", "argv", "/bin/true", "cwd", dir);
    char *event = st_event(NULL);
    mock_host *host = st_host();
    void *inst = st_configure(host, cfg);
    mock_exec *exec = mock_exec_new(host, event);

    st_rmdir(dir);
    ck_assert_int_eq(mock_exec_run(exec, inst, 60000), SLUICE_ERR);
    ck_assert_str_eq(mock_exec_error(exec),
                     "cannot enter the working directory for /bin/true: No such file or "
                     "directory");
    ck_assert_int_eq(mock_exec_exit_code(exec), MOCK_NO_EXIT_CODE);
    st_done(host, exec);
    free(cfg);
    free(event);
}
END_TEST

START_TEST(run_as_nobody)
{
    mock_host *host;
    mock_exec *exec;
    char *event = st_event(NULL);

    ck_assert_msg(geteuid() == 0, "this test expects to run as root");
    exec = st_run("{\"argv\": [\"/usr/bin/id\", \"-u\"], \"user\": \"nobody\"}", event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_str_eq(st_stdout(exec), "65534\n");
    st_done(host, exec);

    /* The private files are usable by that user, and HOME is theirs. */
    exec = st_run("{\"script\": \"cat \\\"$SLUICE_EVENT\\\" >/dev/null && echo user=$(id -un) "
                  "> \\\"$SLUICE_OUTPUT\\\"; echo \\\"home=$HOME groups=$(id -G)\\\"; stat -c "
                  "%a:%U \\\"$(dirname \\\"$SLUICE_EVENT\\\")\\\"\", \"user\": \"nobody\"}",
                  event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_str_eq(mock_exec_output_get(exec, "user"), "nobody");
    ck_assert_str_eq(st_stdout(exec), "home=/nonexistent groups=65534\n700:nobody\n");
    st_done(host, exec);

    /* The group alone: root's uid, one group. */
    exec = st_run("{\"script\": \"id -u; id -G\", \"group\": \"nogroup\"}", event, &host);
    ck_assert_msg(mock_exec_result(exec) == SLUICE_OK, "%s", mock_exec_error(exec));
    ck_assert_str_eq(st_stdout(exec), "0\n65534\n");
    st_done(host, exec);

    /* The command may not point $SLUICE_OUTPUT at root's files. */
    exec = st_run("{\"script\": \"ln -sf /etc/shadow \\\"$SLUICE_OUTPUT\\\"\", "
                  "\"user\": \"nobody\"}",
                  event, &host);
    ck_assert_int_eq(mock_exec_result(exec), SLUICE_ERR);
    ck_assert_msg(strstr(mock_exec_error(exec), "symbolic link") != NULL, "%s",
                  mock_exec_error(exec));
    ck_assert_ptr_null(mock_exec_outputs(exec));
    st_done(host, exec);
    free(event);
}
END_TEST

#define N_PARALLEL 8

struct parallel_run {
    mock_host *host;
    void *inst;
    mock_exec *exec;
    int index;
};

static void *parallel_main(void *arg)
{
    struct parallel_run *r = arg;

    mock_exec_run(r->exec, r->inst, 30000);
    return NULL;
}

/* Descriptors open in this process, as a bitmap of the first 1024. */
static void open_fds(unsigned char *map)
{
    memset(map, 0, 1024);
    for (int fd = 0; fd < 1024; fd++)
        map[fd] = fcntl(fd, F_GETFD) >= 0;
}

/*
 * Several executions of one instance at once (SLUICE_PF_REENTRANT): each
 * sees its own payload, and no command inherits another's pipes, so ls
 * sees exactly 0, 1, 2 and its own. While they run, every descriptor the
 * plugin has open in this process must be close-on-exec, so that nothing
 * else sluiced spawns inherits them either.
 */
START_TEST(concurrent_executions_are_isolated)
{
    mock_host *host = st_host();
    void *inst = st_configure(host, "{\"script\": \"ls /proc/self/fd | tr '\\\\n' ' '; "
                                    "printf '%s' \\\"$V\\\"; sleep 0.2\", "
                                    "\"env\": {\"V\": \"{body.v}\"}}");
    struct parallel_run runs[N_PARALLEL];
    pthread_t thr[N_PARALLEL];
    unsigned char before[1024], during[1024];
    int new_fds = 0;

    ck_assert(mock_host_plugin(host)->flags & SLUICE_PF_REENTRANT);
    open_fds(before);
    for (int i = 0; i < N_PARALLEL; i++) {
        char value[32];
        char *event;

        snprintf(value, sizeof(value), "value-%d", i);
        event = st_event(json_pack("{s:s}", "v", value));
        runs[i] = (struct parallel_run){host, inst, mock_exec_new(host, event), i};
        free(event);
        ck_assert_int_eq(pthread_create(&thr[i], NULL, parallel_main, &runs[i]), 0);
    }
    usleep(100 * 1000);
    open_fds(during);
    for (int fd = 0; fd < 1024; fd++) {
        if (during[fd] && !before[fd]) {
            new_fds++;
            ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd %d is not close-on-exec", fd);
        }
    }
    ck_assert_msg(new_fds >= N_PARALLEL, "only %d descriptors opened by running executions",
                  new_fds);
    for (int i = 0; i < N_PARALLEL; i++) {
        char want[64];

        pthread_join(thr[i], NULL);
        ck_assert_msg(mock_exec_result(runs[i].exec) == SLUICE_OK, "%s",
                      mock_exec_error(runs[i].exec));
        snprintf(want, sizeof(want), "0 1 2 3 value-%d", i);
        ck_assert_str_eq(st_stdout(runs[i].exec), want);
        mock_exec_free(runs[i].exec);
    }
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_host_free(host);
}
END_TEST

/* The built shell.so, loaded the way sluiced loads it. */
START_TEST(loads_from_shared_object)
{
    const char *builddir = getenv("BUILDDIR");
    char path[1024];
    mock_host *host = mock_host_new();
    const char *err;
    void *inst = NULL;
    mock_exec *exec;
    char *event = st_event(NULL);

    snprintf(path, sizeof(path), "%s/plugins/shell/.libs/shell.so", builddir ? builddir : ".");
    err = mock_host_load_path(host, path);
    ck_assert_msg(!err, "%s", err);
    ck_assert_str_eq(mock_host_plugin(host)->name, "shell");
    ck_assert_str_eq(mock_host_plugin(host)->license, "MIT");
    ck_assert_ptr_null(mock_host_init(host));
    ck_assert_ptr_null(
        mock_host_configure(host, "{\"argv\": [\"/bin/echo\", \"hi\"]}", NULL, &inst));
    exec = mock_exec_new(host, event);
    ck_assert_int_eq(mock_exec_run(exec, inst, 10000), SLUICE_OK);
    ck_assert_str_eq(st_stdout(exec), "hi\n");
    free(event);
    st_done(host, exec);
}
END_TEST

Suite *shell_run_suite(void)
{
    Suite *s = suite_create("shell-run");
    TCase *tc = tcase_create("run");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, argv_values_are_single_literal_arguments);
    tcase_add_test(tc, argv_program_found_in_clean_path);
    tcase_add_test(tc, argv_value_with_nul_is_refused);
    tcase_add_test(tc, script_gets_payload_only_through_env_and_stdin);
    tcase_add_test(tc, event_file_and_stdin_hold_the_event);
    tcase_add_test(tc, temp_dir_removed_with_what_the_command_left);
    tcase_add_test(tc, environment_is_clean_and_mapped);
    tcase_add_test(tc, outputs_json);
    tcase_add_test(tc, outputs_key_value);
    tcase_add_test(tc, outputs_empty_bad_and_too_large);
    tcase_add_test(tc, exit_codes);
    tcase_add_test(tc, large_output_is_bounded);
    tcase_add_test(tc, stdin_body_and_none);
    tcase_add_test(tc, unread_stdin_does_not_deadlock);
    tcase_add_test(tc, working_directory);
    tcase_add_test(tc, working_directory_gone);
    tcase_add_test(tc, run_as_nobody);
    tcase_add_test(tc, concurrent_executions_are_isolated);
    tcase_add_test(tc, loads_from_shared_object);
    suite_add_tcase(s, tc);
    return s;
}
