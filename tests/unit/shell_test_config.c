/*
 * shell_test_config.c - configure: what a flow may say, and how a mistake
 * is reported (at start, naming the file:line and the setting).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "shell_test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Assert that cfg fails to configure with a message containing want. */
static void expect_error(const char *cfg, const char *want)
{
    char *err = st_configure_error(cfg);

    ck_assert_msg(err != NULL, "configure of %s succeeded, expected \"%s\"", cfg, want);
    ck_assert_msg(strstr(err, want) != NULL, "configure of %s: \"%s\" lacks \"%s\"", cfg, err,
                  want);
    ck_assert_msg(strncmp(err, "flows.d/x.conf:12: shell: ", 26) == 0,
                  "error does not start with where: %s", err);
    free(err);
}

static void expect_ok(const char *cfg)
{
    char *err = st_configure_error(cfg);

    ck_assert_msg(!err, "configure of %s failed: %s", cfg, err);
}

START_TEST(unknown_setting)
{
    char *err = st_configure_error("{\"argvv\": [\"/bin/true\"]}");

    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "flows.d/x.conf:12: shell: unknown setting \"argvv\""
                          " (known: argv, script, env, inherit_env, stdin, cwd, user, group,"
                          " kill_grace, success_exit_codes)");
    free(err);
    expect_error("{\"argv\": [\"/bin/true\"], \"timeout\": \"5s\"}", "unknown setting \"timeout\"");
}
END_TEST

START_TEST(argv_or_script)
{
    expect_error("{\"argv\": [\"/bin/true\"], \"script\": \"true\"}",
                 "argv and script are exclusive");
    expect_error("{}", "set argv");
    expect_error("{\"argv\": []}", "argv must be a non-empty array");
    expect_error("{\"argv\": \"/bin/true\"}", "argv must be a non-empty array");
    expect_error("{\"argv\": [\"/bin/true\", 3]}", "argv[1] must be a string");
    expect_error("{\"argv\": [\"{body.prog}\"]}", "argv[0] must name a fixed program");
    expect_error("{\"argv\": [\"\"]}", "argv[0] must name a fixed program");
    expect_error("{\"script\": \"\"}", "script must be a non-empty string");
    expect_ok("{\"argv\": [\"/bin/true\", \"{body.x}\", \"--n={query.n}\"]}");
    expect_ok("{\"script\": \"echo \\\"$REF\\\"; awk '{print $1}' </dev/null\"}");
}
END_TEST

START_TEST(placeholders)
{
    expect_error("{\"argv\": [\"/bin/echo\", \"{bdy.x}\"]}", "unknown placeholder root \"bdy\"");
    expect_error("{\"argv\": [\"/bin/echo\", \"{body.x\"]}", "argv[1]: unclosed '{'");
    expect_error("{\"env\": {\"A\": \"{nope}\"}, \"argv\": [\"/bin/true\"]}",
                 "env.A: unknown placeholder root \"nope\"");
}
END_TEST

START_TEST(placeholder_in_script)
{
    char *err = st_configure_error("{\"script\": \"git checkout {body.ref}\"}");

    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "{body.ref}") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "env") != NULL, "the message says to use env: %s", err);
    ck_assert_msg(strstr(err, "shell code") != NULL, "the message says why: %s", err);
    free(err);
}
END_TEST

START_TEST(env_settings)
{
    expect_error("{\"argv\": [\"/bin/true\"], \"env\": {\"BAD-NAME\": \"x\"}}",
                 "env name \"BAD-NAME\" is not valid");
    expect_error("{\"argv\": [\"/bin/true\"], \"env\": {\"1X\": \"x\"}}", "env name \"1X\"");
    expect_error("{\"argv\": [\"/bin/true\"], \"env\": {\"SLUICE_OUTPUT\": \"/etc/passwd\"}}",
                 "reserved");
    expect_error("{\"argv\": [\"/bin/true\"], \"env\": {\"A\": [1]}}", "env.A must be a string");
    expect_error("{\"argv\": [\"/bin/true\"], \"env\": [\"A\"]}", "env must be a group");
    expect_error("{\"argv\": [\"/bin/true\"], \"inherit_env\": [\"A B\"]}", "inherit_env[0]");
    expect_error("{\"argv\": [\"/bin/true\"], \"inherit_env\": \"PATH\"}",
                 "inherit_env must be an array");
    expect_error("{\"argv\": [\"/bin/true\"], \"inherit_env\": [\"SLUICE_X\"]}", "reserved");
    expect_ok("{\"argv\": [\"/bin/true\"], \"env\": {\"REF\": \"{body.ref}\", \"N\": 3, "
              "\"B\": true}, \"inherit_env\": [\"TERM\", \"NOT_SET_ANYWHERE_X\"]}");
}
END_TEST

START_TEST(other_settings)
{
    expect_error("{\"argv\": [\"/bin/true\"], \"stdin\": \"file\"}", "stdin must be");
    expect_error("{\"argv\": [\"/bin/true\"], \"cwd\": \"relative/dir\"}", "absolute");
    expect_error("{\"argv\": [\"/bin/true\"], \"cwd\": \"/nonexistent-dir-xyz\"}",
                 "cwd \"/nonexistent-dir-xyz\": No such file or directory");
    expect_error("{\"argv\": [\"/bin/true\"], \"cwd\": \"/etc/passwd\"}", "not a directory");
    expect_error("{\"argv\": [\"/bin/true\"], \"kill_grace\": \"5x\"}", "kill_grace must be");
    expect_error("{\"argv\": [\"/bin/true\"], \"kill_grace\": \"25h\"}", "kill_grace must be");
    expect_error("{\"argv\": [\"/bin/true\"], \"kill_grace\": -1}", "kill_grace must be");
    expect_error("{\"argv\": [\"/bin/true\"], \"success_exit_codes\": []}", "non-empty");
    expect_error("{\"argv\": [\"/bin/true\"], \"success_exit_codes\": [0, 256]}",
                 "success_exit_codes[1]");
    expect_error("{\"argv\": [\"/bin/true\"], \"success_exit_codes\": [\"0\"]}",
                 "success_exit_codes[0]");
    expect_ok("{\"argv\": [\"/bin/true\"], \"stdin\": \"none\", \"cwd\": \"/tmp\", "
              "\"kill_grace\": \"500ms\", \"success_exit_codes\": [0, 3]}");
}
END_TEST

START_TEST(unknown_user_and_group)
{
    ck_assert_msg(geteuid() == 0, "this test expects to run as root");
    expect_error("{\"argv\": [\"/bin/true\"], \"user\": \"no-such-user-xyz\"}",
                 "user = \"no-such-user-xyz\": no such user");
    expect_error("{\"argv\": [\"/bin/true\"], \"group\": \"no-such-group-xyz\"}",
                 "group = \"no-such-group-xyz\": no such group");
    expect_error("{\"argv\": [\"/bin/true\"], \"user\": \"\"}", "user must be a non-empty");
    expect_ok("{\"argv\": [\"/bin/true\"], \"user\": \"nobody\"}");
    expect_ok("{\"argv\": [\"/bin/true\"], \"user\": \"nobody\", \"group\": \"nogroup\"}");
}
END_TEST

/*
 * The "needs root" error, for real: a child process drops to nobody and
 * configures there, then reports the message through a pipe.
 */
START_TEST(user_needs_root)
{
    int fds[2];
    char buf[512] = "";
    pid_t pid;
    int status;
    ssize_t n;

    ck_assert_msg(geteuid() == 0, "this test expects to run as root");
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char *err;

        close(fds[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        err = st_configure_error("{\"argv\": [\"/bin/true\"], \"user\": \"deploy\"}");
        if (err && write(fds[1], err, strlen(err)) < 0)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "flows.d/x.conf:12: shell: user = \"deploy\" needs sluiced to run as "
                          "root");
}
END_TEST

START_TEST(where_defaults)
{
    mock_host *host = st_host();
    void *inst = NULL;
    const char *err = mock_host_configure(host, "{\"bogus\": 1}", NULL, &inst);

    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "test: shell: unknown setting \"bogus\""
                          " (known: argv, script, env, inherit_env, stdin, cwd, user, group,"
                          " kill_grace, success_exit_codes)");
    ck_assert_ptr_null(inst);
    mock_host_free(host);
}
END_TEST

Suite *shell_config_suite(void)
{
    Suite *s = suite_create("shell-config");
    TCase *tc = tcase_create("configure");

    tcase_add_test(tc, unknown_setting);
    tcase_add_test(tc, argv_or_script);
    tcase_add_test(tc, placeholders);
    tcase_add_test(tc, placeholder_in_script);
    tcase_add_test(tc, env_settings);
    tcase_add_test(tc, other_settings);
    tcase_add_test(tc, unknown_user_and_group);
    tcase_add_test(tc, user_needs_root);
    tcase_add_test(tc, where_defaults);
    suite_add_tcase(s, tc);
    return s;
}
