/*
 * test_gitsync.c - flows.git names, and finding internal modules.
 *
 * The mirror names are checked against `git hash-object`: a mirror
 * fetched by a sluiced that computed them with libgit2 must keep its name.
 */
#include "gitmod.h"
#include "gitsync.h"
#include "module.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_PLUGIN_DIR
#error TEST_PLUGIN_DIR must name the built loader fixtures
#endif

/* ---- names ---- */

#define MIRROR_IS(url, want)                                                 \
    do {                                                                     \
        char out_[64];                                                       \
        ck_assert_int_eq(gitsync_mirror_name((url), out_, sizeof(out_)), 0); \
        ck_assert_str_eq(out_, (want));                                      \
    } while (0)

START_TEST(mirror_name_is_gits_blob_id)
{
    /* printf %s URL | git hash-object --stdin; a trailing ".git" is dropped */
    MIRROR_IS("file:///srv/git/flows.git", "flows-50c28092d579");
    MIRROR_IS("https://git.example.com/ops/flows.git", "flows-2b727006367e");
    MIRROR_IS("x", "x-c1b0730e0133");
}
END_TEST

START_TEST(mirror_name_of_odd_urls)
{
    /* Only [A-Za-z0-9._-] survive; a name that is empty or starts with a
     * dot becomes "repo". */
    MIRROR_IS("ssh://git@example.com:2222/a b/.git", "repo-1f70e3277751");
    char out[64];
    ck_assert_int_eq(gitsync_mirror_name("https://h/we ird$name", out, sizeof(out)), 0);
    ck_assert_msg(strncmp(out, "we_ird_name-", 12) == 0, "got %s", out);
    ck_assert_int_eq(strlen(out), 12 + 12);
}
END_TEST

START_TEST(branch_names)
{
    const char *good[] = {"main", "release/1.2", "feature-x", "v1.0_rc", NULL};
    const char *bad[] = {"",   "/main", "main/", "-x", "a..b", "a//b", "x@{1}", "a b", "a~1",
                         "a^", "a:b",   "a?",    "a*", "a[",   "a\\b", "main.", NULL};
    for (const char **b = good; *b; b++)
        ck_assert_msg(gitsync_branch_ok(*b), "\"%s\" was refused", *b);
    for (const char **b = bad; *b; b++)
        ck_assert_msg(!gitsync_branch_ok(*b), "\"%s\" was accepted", *b);
}
END_TEST

/* ---- modules ---- */

START_TEST(module_missing_names_every_path_tried)
{
    char path[4096], err[4096];
    setenv("SLUICE_MODULE_PATH", "/nonexistent/a::/nonexistent/b", 1);
    void *sym = module_load("nosuchmodule", GITMOD_ENTRY, path, sizeof(path), err, sizeof(err));
    ck_assert_ptr_null(sym);
    ck_assert_msg(strstr(err, "module nosuchmodule.so not found") != NULL, "err: %s", err);
    ck_assert_msg(strstr(err, "/nonexistent/a/nosuchmodule.so, /nonexistent/b/nosuchmodule.so") !=
                      NULL,
                  "err: %s", err);
    ck_assert_msg(strstr(err, MODULEDIR "/nosuchmodule.so") != NULL, "err: %s", err);
}
END_TEST

START_TEST(module_path_comes_first)
{
    char path[4096], err[4096];
    setenv("SLUICE_MODULE_PATH", "/nonexistent:" TEST_PLUGIN_DIR, 1);
    /* The loader fixture good.so stands in for a module: it is a .so
     * with a known symbol. */
    void *sym = module_load("good", "sluice_plugin_v1", path, sizeof(path), err, sizeof(err));
    ck_assert_msg(sym != NULL, "err: %s", err);
    ck_assert_str_eq(path, TEST_PLUGIN_DIR "/good.so");
}
END_TEST

START_TEST(module_without_the_entry_is_refused)
{
    char path[4096], err[4096];
    setenv("SLUICE_MODULE_PATH", TEST_PLUGIN_DIR, 1);
    void *sym = module_load("good", GITMOD_ENTRY, path, sizeof(path), err, sizeof(err));
    ck_assert_ptr_null(sym);
    ck_assert_msg(strstr(err, TEST_PLUGIN_DIR "/good.so has no sluice_gitmod_v1 symbol") != NULL,
                  "err: %s", err);
}
END_TEST

static Suite *gitsync_suite(void)
{
    Suite *s = suite_create("gitsync");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, mirror_name_is_gits_blob_id);
    tcase_add_test(tc, mirror_name_of_odd_urls);
    tcase_add_test(tc, branch_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("modules");
    tcase_add_test(tc, module_missing_names_every_path_tried);
    tcase_add_test(tc, module_path_comes_first);
    tcase_add_test(tc, module_without_the_entry_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(gitsync_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
