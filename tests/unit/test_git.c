/*
 * test_git.c - unit tests of the git executor's pure parts: settings,
 * path checks as text, path confinement on a real directory tree with
 * symbolic links, known_hosts matching, ref kinds. The plugin's sources are
 * compiled into the test (plugins/git/local.mk).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine.h"
#include "fsutil.h"
#include "gitset.h"
#include "mirror.h"
#include "remote.h"

static int parse(const char *json, struct gitexec_settings **out, char *err, size_t errlen)
{
    return gitexec_settings_parse(out, json, strlen(json), "f.conf:3", err, errlen);
}

START_TEST(settings_defaults)
{
    struct gitexec_settings *s = NULL;
    char err[1024] = "";

    unsetenv("SLUICE_STATE_DIR");
    ck_assert_int_eq(parse("{\"url\":\"file:///srv/ops.git\",\"ref\":\"main\",\"script\":\"a.sh\"}",
                           &s, err, sizeof(err)),
                     0);
    ck_assert_str_eq(s->cache_dir, "/var/lib/sluice/git");
    ck_assert_int_eq(s->fetch, GITEXEC_FETCH_ALWAYS);
    ck_assert_int_eq(s->auth.scheme, GITEXEC_URL_FILE);
    ck_assert_uint_eq(s->script_index, 0);
    ck_assert_uint_eq(s->shell->argc, 1);
    gitexec_settings_free(s);

    setenv("SLUICE_STATE_DIR", "/tmp/st/", 1);
    ck_assert_int_eq(parse("{\"url\":\"https://u@h.example:8443/o/r.git\",\"ref\":\"v1\","
                           "\"script\":\"x/{a}.sh\",\"interpreter\":[\"/bin/sh\",\"-e\"],"
                           "\"argv\":[\"{body.x}\"],\"fetch\":\"interval\","
                           "\"fetch_interval\":\"5s\",\"token\":\"t0k\"}",
                           &s, err, sizeof(err)),
                     0);
    unsetenv("SLUICE_STATE_DIR");
    ck_assert_str_eq(s->cache_dir, "/tmp/st/git");
    ck_assert_str_eq(s->url_label, "https://h.example:8443/o/r.git");
    ck_assert_str_eq(s->auth.host, "h.example");
    ck_assert_str_eq(s->auth.user, "u");
    ck_assert_int_eq(s->auth.port, 8443);
    ck_assert_int_eq(s->fetch_interval_ms, 5000);
    ck_assert_uint_eq(s->script_index, 2);
    ck_assert_uint_eq(s->shell->argc, 4); /* /bin/sh -e script {body.x} */
    gitexec_settings_free(s);
}
END_TEST

static void refused(const char *json, const char *want)
{
    struct gitexec_settings *s = NULL;
    char err[1024] = "";

    ck_assert_msg(parse(json, &s, err, sizeof(err)) == -1, "accepted: %s", json);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    ck_assert_msg(strncmp(err, "f.conf:3: git: ", 15) == 0, "error \"%s\" lacks where", err);
}

START_TEST(settings_refusals)
{
    refused("{\"ref\":\"main\",\"script\":\"a\"}", "missing setting \"url\"");
    refused("{\"url\":\"file:///r\",\"script\":\"a\"}", "missing setting \"ref\"");
    refused("{\"url\":\"file:///r\",\"ref\":\"main\"}", "missing setting \"script\"");
    refused("{\"url\":\"file://r\",\"ref\":\"m\",\"script\":\"a\"}", "absolute path");
    refused("{\"url\":\"git://h/r\",\"ref\":\"m\",\"script\":\"a\"}", "use file://");
    refused("{\"url\":\"https://u:pw@h/r\",\"ref\":\"m\",\"script\":\"a\"}", "password");
    refused("{\"url\":\"https://h\",\"ref\":\"m\",\"script\":\"a\"}", "needs a host and");
    refused("{\"url\":\"https://h:99999/r\",\"ref\":\"m\",\"script\":\"a\"}", "bad port");
    refused("{\"url\":\"file:///r\",\"ref\":\"a..b\",\"script\":\"a\"}", "not a valid");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"../a\"}", "leads out");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"/a\"}", "absolute path");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"a//b\"}", "empty part");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"a\",\"token\":\"x\"}",
            "https:// URLs only");
    refused("{\"url\":\"ssh://h/r\",\"ref\":\"m\",\"script\":\"a\"}", "needs known_hosts");
    refused("{\"url\":\"ssh://h/r\",\"ref\":\"m\",\"script\":\"a\",\"known_hosts\":\"x\","
            "\"ssh_key\":\"rel/key\"}",
            "absolute path or the key's text");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"a\",\"fetch_interval\":\"1s\"}",
            "needs fetch = \"interval\"");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"a\",\"interpreter\":[\"{x}\"]}",
            "interpreter[0] must be a fixed");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"a\",\"cache_dir\":\"rel\"}",
            "cache_dir must be an absolute path");
    /* The shell's own checks, renumbered to the flow's argv. */
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"a\",\"argv\":[\"x\",\"{nope.y}\"]}",
            "git: argv[1]: ");
    refused("{\"url\":\"file:///r\",\"ref\":\"m\",\"script\":\"a\",\"stdin\":\"bogus\"}",
            "stdin must be");
}
END_TEST

START_TEST(path_problems)
{
    ck_assert_ptr_null(gitexec_settings_path_problem("a/b.sh"));
    ck_assert_ptr_null(gitexec_settings_path_problem("./a..b/.c"));
    ck_assert_ptr_nonnull(gitexec_settings_path_problem(".."));
    ck_assert_ptr_nonnull(gitexec_settings_path_problem("a/../../b"));
    ck_assert_ptr_nonnull(gitexec_settings_path_problem("a/.."));
    ck_assert_ptr_nonnull(gitexec_settings_path_problem("/etc/passwd"));
    ck_assert_ptr_nonnull(gitexec_settings_path_problem(""));
}
END_TEST

static char tmp[PATH_MAX];

static void tree_setup(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char p[PATH_MAX + 64];

    snprintf(tmp, sizeof(tmp), "%s/sluice-git-unit.XXXXXX", base);
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(p, sizeof(p), "%s/root/bin", tmp);
    ck_assert_int_eq(gitexec_mkdirs(p), 0);
    snprintf(p, sizeof(p), "%s/root/bin/run.sh", tmp);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/outside", tmp);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/root/evil", tmp);
    ck_assert_int_eq(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof(p), "%s/root/up", tmp);
    ck_assert_int_eq(symlink("../outside", p), 0);
    snprintf(p, sizeof(p), "%s/root/ok", tmp);
    ck_assert_int_eq(symlink("bin/run.sh", p), 0);
    snprintf(p, sizeof(p), "%s/root/dangling", tmp);
    ck_assert_int_eq(symlink("nowhere", p), 0);
}

static void tree_teardown(void)
{
    gitexec_tree_remove(tmp);
}

START_TEST(confinement)
{
    char root[PATH_MAX + 8], out[PATH_MAX], why[PATH_MAX + 128], want[PATH_MAX + 32];

    snprintf(root, sizeof(root), "%s/root", tmp);
    ck_assert_int_eq(
        gitexec_confine(root, "bin/run.sh", GITEXEC_WANT_FILE, out, sizeof(out), why, sizeof(why)),
        0);
    ck_assert_ptr_nonnull(strstr(out, "/root/bin/run.sh"));
    ck_assert_int_eq(
        gitexec_confine(root, "ok", GITEXEC_WANT_FILE, out, sizeof(out), why, sizeof(why)), 0);
    ck_assert_int_eq(
        gitexec_confine(root, "evil", GITEXEC_WANT_FILE, out, sizeof(out), why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "resolves to /etc/passwd, outside the repository"));
    ck_assert_int_eq(
        gitexec_confine(root, "up", GITEXEC_WANT_FILE, out, sizeof(out), why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "outside the repository"));
    ck_assert_int_eq(
        gitexec_confine(root, "missing.sh", GITEXEC_WANT_FILE, out, sizeof(out), why, sizeof(why)),
        -1);
    ck_assert_str_eq(why, "does not exist");
    ck_assert_int_eq(
        gitexec_confine(root, "dangling", GITEXEC_WANT_FILE, out, sizeof(out), why, sizeof(why)),
        -1);
    ck_assert_ptr_nonnull(strstr(why, "symbolic link to \"nowhere\""));
    ck_assert_int_eq(
        gitexec_confine(root, "bin", GITEXEC_WANT_FILE, out, sizeof(out), why, sizeof(why)), -1);
    ck_assert_str_eq(why, "is not a regular file");
    ck_assert_int_eq(
        gitexec_confine(root, ".", GITEXEC_WANT_DIR, out, sizeof(out), why, sizeof(why)), 0);
    snprintf(want, sizeof(want), "%s", out);
    ck_assert_int_eq(strlen(want) > 0, 1);
}
END_TEST

START_TEST(freeze_and_remove)
{
    char p[PATH_MAX + 64];
    struct stat st;

    snprintf(p, sizeof(p), "%s/root", tmp);
    ck_assert_int_eq(gitexec_tree_freeze(p), 0);
    snprintf(p, sizeof(p), "%s/root/bin/run.sh", tmp);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0222, 0);
    ck_assert_int_eq(stat("/etc/passwd", &st), 0);
    ck_assert_int_ne(st.st_mode & 0200, 0); /* the link was not followed */
    snprintf(p, sizeof(p), "%s/root", tmp);
    ck_assert_int_eq(gitexec_tree_remove(p), 0);
    ck_assert_int_ne(lstat(p, &st), 0);
}
END_TEST

START_TEST(known_hosts)
{
    /* "AAAA" decodes to three zero bytes; "AQID" to 1, 2, 3. */
    const char *kh = "# comment\n"
                     "|1|hashed|entry ssh-ed25519 AQID\n"
                     "other.example ssh-ed25519 AQID\n"
                     "git.example,alias ssh-ed25519 AAAA comment\n"
                     "[git.example]:2222 ssh-rsa AQID\n"
                     "*.wild.example ssh-ed25519 AQID\n";
    const char zero[3] = {0, 0, 0}, ott[3] = {1, 2, 3};

    ck_assert_int_eq(gitexec_known_host(kh, "git.example", 0, zero, 3), 1);
    ck_assert_int_eq(gitexec_known_host(kh, "alias", 22, zero, 3), 1);
    ck_assert_int_eq(gitexec_known_host(kh, "git.example", 0, ott, 3), 0);
    ck_assert_int_eq(gitexec_known_host(kh, "git.example", 2222, ott, 3), 1);
    ck_assert_int_eq(gitexec_known_host(kh, "git.example", 2222, zero, 3), 0);
    ck_assert_int_eq(gitexec_known_host(kh, "a.wild.example", 0, ott, 3), 1);
    ck_assert_int_eq(gitexec_known_host(kh, "unknown.example", 0, ott, 3), 0);
    ck_assert_int_eq(gitexec_known_host(kh, "entry", 0, ott, 3), 0);
}
END_TEST

START_TEST(ref_kinds)
{
    ck_assert_int_eq(gitexec_ref_is_sha("0123456789abcdef0123456789abcdef01234567"), 1);
    ck_assert_int_eq(gitexec_ref_is_sha("0123456789abcdef0123456789abcdef0123456"), 0);
    ck_assert_int_eq(gitexec_ref_is_sha("0123456789ABCDEF0123456789abcdef01234567"), 0);
    ck_assert_int_eq(gitexec_ref_is_sha("main"), 0);
}
END_TEST

static Suite *git_suite(void)
{
    Suite *s = suite_create("git");
    TCase *tc = tcase_create("settings");

    tcase_add_test(tc, settings_defaults);
    tcase_add_test(tc, settings_refusals);
    tcase_add_test(tc, path_problems);
    tcase_add_test(tc, ref_kinds);
    tcase_add_test(tc, known_hosts);
    suite_add_tcase(s, tc);
    tc = tcase_create("tree");
    tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
    tcase_add_test(tc, confinement);
    tcase_add_test(tc, freeze_and_remove);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(git_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
