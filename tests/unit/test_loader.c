/*
 * test_loader.c - loading and validating executor plugins.
 *
 * Each fixture in tests/plugins differs from a good plugin in exactly one
 * respect, so each refusal here is pinned to the check that must catch it.
 * Loaded plugins stay loaded for the life of the process; Check runs every
 * test in its own child process, so each test starts with none loaded.
 */
#include "loader.h"

#include "host.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE(name) TEST_PLUGIN_DIR "/" name ".so"

static plugin *load_ok(const char *path, const char *expect)
{
    char err[1024] = "";
    plugin *p = loader_load_file(path, expect, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s was refused: %s", path, err);
    return p;
}

/* The fixture must be refused with a reason containing why. */
static void load_refused(const char *path, const char *expect, const char *why)
{
    char err[1024] = "";
    plugin *p = loader_load_file(path, expect, err, sizeof(err));
    ck_assert_msg(!p, "%s was loaded", path);
    ck_assert_msg(strstr(err, why) != NULL, "%s: reason \"%s\" lacks \"%s\"", path, err, why);
}

/* ---- the good plugin ---- */

START_TEST(good_loads)
{
    plugin *p = load_ok(FIXTURE("good"), "good");
    ck_assert_str_eq(p->name, "good");
    ck_assert_str_eq(p->path, FIXTURE("good"));
    ck_assert_ptr_nonnull(p->dl);
    ck_assert_uint_eq(p->desc.abi_major, SLUICE_ABI_MAJOR);
    ck_assert_uint_eq(p->desc.struct_size, sizeof(sluice_plugin));
    ck_assert_str_eq(p->desc.version, "1.0");
    ck_assert_ptr_nonnull(p->desc.configure);
    ck_assert_ptr_nonnull(p->desc.unconfigure);
    ck_assert_ptr_nonnull(p->desc.execute);
    ck_assert_ptr_null(p->desc.init);
    ck_assert_ptr_null(p->desc.cancel);
}
END_TEST

START_TEST(good_gets_a_host_table)
{
    plugin *p = load_ok(FIXTURE("good"), NULL);
    const sluice_host *h = &p->host.pub;
    ck_assert_uint_eq(h->abi_major, SLUICE_ABI_MAJOR);
    ck_assert_uint_eq(h->abi_minor, SLUICE_ABI_MINOR);
    ck_assert_uint_eq(h->struct_size, sizeof(sluice_host));
    ck_assert_ptr_eq(p->host.owner, p);
    ck_assert(SLUICE_HOST_HAS(h, log));
    ck_assert(SLUICE_HOST_HAS(h, exec_event));
    ck_assert(SLUICE_HOST_HAS(h, exec_header));
    ck_assert(SLUICE_HOST_HAS(h, exec_meta));
    ck_assert(SLUICE_HOST_HAS(h, exec_set_output));
    ck_assert(SLUICE_HOST_HAS(h, exec_set_error));
    ck_assert(SLUICE_HOST_HAS(h, exec_set_exit_code));
    ck_assert(SLUICE_HOST_HAS(h, exec_write_log));
    ck_assert(SLUICE_HOST_HAS(h, exec_is_cancelled));
    ck_assert(SLUICE_HOST_HAS(h, exec_complete));
    ck_assert(SLUICE_HOST_HAS(h, exec_set_response));
}
END_TEST

static void handed_log(const sluice_host *h, const sluice_exec *e, int level, const char *fmt, ...)
{
    (void)h;
    (void)e;
    (void)level;
    (void)fmt;
}

/* The loader gives plugins the table main.c handed it, not one of its own. */
START_TEST(good_gets_the_table_it_was_handed)
{
    sluice_host t;
    host_fill(&t);
    t.log = handed_log;
    loader_set_host(&t);
    plugin *p = load_ok(FIXTURE("good"), NULL);
    ck_assert_ptr_eq(p->host.pub.log, handed_log);
    ck_assert_ptr_eq(p->host.pub.exec_complete, t.exec_complete);
}
END_TEST

START_TEST(good_configure)
{
    plugin *p = load_ok(FIXTURE("good"), "good");
    char err[256];
    void *inst = NULL;
    ck_assert_int_eq(loader_configure(p, "{}", 2, "x.conf:1", &inst, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(inst);
    loader_unconfigure(p, inst);

    const char *bad = "{\"fail\":true}";
    inst = (void *)1;
    ck_assert_int_eq(loader_configure(p, bad, strlen(bad), "x.conf:1", &inst, err, sizeof(err)),
                     -1);
    ck_assert_ptr_null(inst);
    ck_assert_str_eq(err, "fixture refuses this config");
    loader_shutdown();
}
END_TEST

/* A larger descriptor is fine when the fields this host lacks are zero. */
START_TEST(bigzero_loads)
{
    plugin *p = load_ok(FIXTURE("bigzero"), "bigzero");
    ck_assert_str_eq(p->name, "bigzero");
    ck_assert_uint_eq(p->desc.struct_size, sizeof(sluice_plugin) + 16);
    ck_assert_ptr_nonnull(p->desc.execute);
}
END_TEST

/* ---- refusals ---- */

START_TEST(nosym_refused)
{
    load_refused(FIXTURE("nosym"), NULL, "no sluice_plugin_v1");
}
END_TEST

START_TEST(major_refused)
{
    /* The fixture keeps this header's minor: "2.<minor>". */
    load_refused(FIXTURE("major"), "major", "built for ABI 2.");
}
END_TEST

START_TEST(minor_refused)
{
    load_refused(FIXTURE("minor"), "minor", "newer");
}
END_TEST

START_TEST(small_refused)
{
    load_refused(FIXTURE("small"), "small", "smaller than the v1.0 size");
}
END_TEST

START_TEST(nullcb_refused)
{
    load_refused(FIXTURE("nullcb"), "nullcb", "execute");
}
END_TEST

START_TEST(badname_refused)
{
    load_refused(FIXTURE("badname"), NULL, "Bad Name");
}
END_TEST

START_TEST(initfail_refused)
{
    load_refused(FIXTURE("initfail"), "initfail", "fixture init says no");
}
END_TEST

START_TEST(bigtail_refused)
{
    load_refused(FIXTURE("bigtail"), "bigtail", "extra fields are set");
}
END_TEST

START_TEST(missing_file_refused)
{
    load_refused(TEST_PLUGIN_DIR "/does-not-exist.so", NULL, "cannot load");
}
END_TEST

START_TEST(expect_name_mismatch_refused)
{
    load_refused(FIXTURE("good"), "other", "\"other\"");
    /* The refusal left nothing behind: the plugin still loads by its name. */
    plugin *p = load_ok(FIXTURE("good"), "good");
    ck_assert_str_eq(p->name, "good");
}
END_TEST

START_TEST(duplicate_name_refused)
{
    plugin *good = load_ok(FIXTURE("good"), "good");
    char err[1024] = "";
    ck_assert_ptr_null(loader_load_file(FIXTURE("dupe"), NULL, err, sizeof(err)));
    ck_assert_msg(strstr(err, "already loaded") && strstr(err, FIXTURE("good")),
                  "reason \"%s\" must name the loaded copy", err);
    /* The same file twice is a duplicate too. */
    load_refused(FIXTURE("good"), "good", "already loaded");
    char gerr[256];
    ck_assert_ptr_eq(loader_get("good", NULL, gerr, sizeof(gerr)), good);
}
END_TEST

/* ---- loader_get ---- */

START_TEST(get_finds_in_extra_dirs_once)
{
    const char *dirs[] = {"/nonexistent/sluice-a", TEST_PLUGIN_DIR, NULL};
    loader_set_extra_dirs(dirs);
    char err[1024] = "";
    plugin *p = loader_get("good", NULL, err, sizeof(err));
    ck_assert_msg(p != NULL, "loader_get: %s", err);
    ck_assert_str_eq(p->name, "good");
    ck_assert_str_eq(p->path, FIXTURE("good"));
    ck_assert_ptr_eq(loader_get("good", NULL, err, sizeof(err)), p);
    /* Once loaded, the search path no longer matters. */
    loader_set_extra_dirs(NULL);
    ck_assert_ptr_eq(loader_get("good", NULL, err, sizeof(err)), p);
}
END_TEST

START_TEST(get_searches_config_dirs)
{
    loader_set_extra_dirs(NULL);
    const char *cfg_dirs[] = {"/nonexistent/sluice-cfg", TEST_PLUGIN_DIR, NULL};
    char err[1024] = "";
    plugin *p = loader_get("bigzero", cfg_dirs, err, sizeof(err));
    ck_assert_msg(p != NULL, "loader_get: %s", err);
    ck_assert_str_eq(p->name, "bigzero");
}
END_TEST

START_TEST(get_unknown_lists_searched_dirs)
{
    const char *dirs[] = {"/nonexistent/sluice-a", TEST_PLUGIN_DIR, NULL};
    const char *cfg_dirs[] = {"/nonexistent/sluice-cfg", NULL};
    loader_set_extra_dirs(dirs);
    char err[2048] = "";
    ck_assert_ptr_null(loader_get("nope", cfg_dirs, err, sizeof(err)));
    ck_assert_msg(strstr(err, "unknown executor") && strstr(err, "nope.so"), "reason: %s", err);
    ck_assert_msg(strstr(err, "/nonexistent/sluice-a"), "extra dir missing: %s", err);
    ck_assert_msg(strstr(err, TEST_PLUGIN_DIR), "extra dir missing: %s", err);
    ck_assert_msg(strstr(err, "/nonexistent/sluice-cfg"), "config dir missing: %s", err);
    ck_assert_msg(strstr(err, PLUGINDIR), "built-in dir missing: %s", err);
}
END_TEST

START_TEST(get_checks_file_name_against_descriptor)
{
    const char *dirs[] = {TEST_PLUGIN_DIR, NULL};
    loader_set_extra_dirs(dirs);
    char err[1024] = "";
    /* dupe.so calls itself "good": the file name must not be trusted. */
    ck_assert_ptr_null(loader_get("dupe", NULL, err, sizeof(err)));
    ck_assert_msg(strstr(err, "\"good\"") && strstr(err, "\"dupe\""), "reason: %s", err);
}
END_TEST

START_TEST(get_refuses_bad_executor_names)
{
    const char *dirs[] = {TEST_PLUGIN_DIR, NULL};
    loader_set_extra_dirs(dirs);
    char err[1024] = "";
    ck_assert_ptr_null(loader_get("../plugins/.libs/good", NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "executor names"));
    ck_assert_ptr_null(loader_get("Good", NULL, err, sizeof(err)));
    ck_assert_ptr_null(loader_get("", NULL, err, sizeof(err)));
}
END_TEST

START_TEST(get_refused_plugin_is_not_cached)
{
    const char *dirs[] = {TEST_PLUGIN_DIR, NULL};
    loader_set_extra_dirs(dirs);
    char err[1024] = "";
    ck_assert_ptr_null(loader_get("initfail", NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "fixture init says no"));
    err[0] = 0;
    ck_assert_ptr_null(loader_get("initfail", NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "fixture init says no"));
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");

    TCase *tc = tcase_create("load");
    tcase_add_test(tc, good_loads);
    tcase_add_test(tc, good_gets_a_host_table);
    tcase_add_test(tc, good_gets_the_table_it_was_handed);
    tcase_add_test(tc, good_configure);
    tcase_add_test(tc, bigzero_loads);
    suite_add_tcase(s, tc);

    tc = tcase_create("refuse");
    tcase_add_test(tc, nosym_refused);
    tcase_add_test(tc, major_refused);
    tcase_add_test(tc, minor_refused);
    tcase_add_test(tc, small_refused);
    tcase_add_test(tc, nullcb_refused);
    tcase_add_test(tc, badname_refused);
    tcase_add_test(tc, initfail_refused);
    tcase_add_test(tc, bigtail_refused);
    tcase_add_test(tc, missing_file_refused);
    tcase_add_test(tc, expect_name_mismatch_refused);
    tcase_add_test(tc, duplicate_name_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("get");
    tcase_add_test(tc, get_finds_in_extra_dirs_once);
    tcase_add_test(tc, get_searches_config_dirs);
    tcase_add_test(tc, get_unknown_lists_searched_dirs);
    tcase_add_test(tc, get_checks_file_name_against_descriptor);
    tcase_add_test(tc, get_refuses_bad_executor_names);
    tcase_add_test(tc, get_refused_plugin_is_not_cached);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    sluice_host host;
    host_fill(&host);
    loader_set_host(&host);
    SRunner *sr = srunner_create(loader_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
