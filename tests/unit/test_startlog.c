/*
 * test_startlog.c - the start journal keeps exactly the starts the database
 * has not learned yet, across a "crash" (closing without settling).
 */
#include "startlog.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/sluice-startlog.XXXXXX";
static char path[256];

typedef struct {
    char ids[4096][40];
    int attempts[4096];
    size_t n;
} seen;

static void collect(void *arg, const char *id, int attempt)
{
    seen *s = arg;
    ck_assert_uint_lt(s->n, 4096);
    snprintf(s->ids[s->n], 40, "%s", id);
    s->attempts[s->n++] = attempt;
}

static seen *reopen(void)
{
    static seen s;
    memset(&s, 0, sizeof(s));
    startlog_close();
    char err[256];
    ck_assert_msg(startlog_open(path, collect, &s, err, sizeof(err)) == 0, "%s", err);
    return &s;
}

static off_t size_of(void)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_size;
}

static void setup(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sluice.db-started", dir);
    reopen();
}

static void teardown(void)
{
    startlog_close();
    unlink(path);
    rmdir(dir);
    strcpy(dir, "/tmp/sluice-startlog.XXXXXX");
}

START_TEST(unsettled_starts_survive_a_crash)
{
    ck_assert_int_eq(startlog_append("e1", 1), 0);
    ck_assert_int_eq(startlog_append("e2", 1), 0);
    ck_assert_int_eq(startlog_append("e2", 2), 0);
    startlog_settle("e2", 1);
    /* No settle for e1 and e2/2: a crash now. */
    seen *s = reopen();
    ck_assert_uint_eq(s->n, 3); /* the file is append-only until emptied */
    ck_assert_str_eq(s->ids[0], "e1");
    ck_assert_int_eq(s->attempts[2], 2);
}
END_TEST

/* Settled lines stay until the file has grown a little (truncating after
 * every execution is costly); clear empties it when nothing is unsettled. */
START_TEST(settling_everything_empties_the_file)
{
    ck_assert_int_eq(startlog_append("e1", 1), 0);
    ck_assert_int_eq(startlog_append("e2", 3), 0);
    startlog_settle("e2", 3);
    ck_assert_int_eq(startlog_clear(), -1); /* e1 is unsettled */
    startlog_settle("e1", 1);
    ck_assert_int_gt(size_of(), 0);
    ck_assert_int_eq(startlog_clear(), 0);
    ck_assert_int_eq(size_of(), 0);
    ck_assert_uint_eq(reopen()->n, 0);

    char id[40];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "0193a8c2-0000-7000-8000-%012d", i);
        ck_assert_int_eq(startlog_append(id, 1), 0);
        startlog_settle(id, 1);
    }
    ck_assert_int_lt(size_of(), 16 * 1024);
}
END_TEST

START_TEST(settle_needs_the_same_attempt)
{
    ck_assert_int_eq(startlog_append("e1", 1), 0);
    startlog_settle("e1", 2);
    ck_assert_int_gt(size_of(), 0);
    seen *s = reopen();
    ck_assert_uint_eq(s->n, 1);
}
END_TEST

START_TEST(clear_after_open)
{
    ck_assert_int_eq(startlog_append("e1", 1), 0);
    ck_assert_uint_eq(reopen()->n, 1);
    ck_assert_int_eq(startlog_clear(), 0);
    ck_assert_int_eq(size_of(), 0);
    ck_assert_uint_eq(reopen()->n, 0);
}
END_TEST

/* Under load the file may never empty; past its bound it is rewritten with
 * only what is unsettled, which a crash must still find. */
START_TEST(a_long_journal_is_rewritten)
{
    char id[40];
    ck_assert_int_eq(startlog_append("keep-me", 7), 0);
    for (int i = 0; i < 4000; i++) {
        snprintf(id, sizeof(id), "0193a8c2-0000-7000-8000-%012d", i);
        ck_assert_int_eq(startlog_append(id, 1), 0);
        startlog_settle(id, 1);
    }
    ck_assert_int_lt(size_of(), 64 * 1024);
    seen *s = reopen();
    ck_assert_uint_ge(s->n, 1);
    int found = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], "keep-me") == 0 && s->attempts[i] == 7)
            found = 1;
    ck_assert_msg(found, "the unsettled start was lost in the rewrite");
}
END_TEST

/* A line cut short by a crash mid-write was never followed by a start. */
START_TEST(a_torn_line_is_ignored)
{
    ck_assert_int_eq(startlog_append("e1", 1), 0);
    FILE *f = fopen(path, "a");
    fputs("e2 1", f);
    fclose(f);
    seen *s = reopen();
    ck_assert_uint_eq(s->n, 1);
    ck_assert_str_eq(s->ids[0], "e1");
}
END_TEST

START_TEST(an_unwritable_place_is_an_error)
{
    char err[256] = "";
    startlog_close();
    ck_assert_int_eq(startlog_open("/proc/no/such/dir/journal", collect, NULL, err, sizeof(err)),
                     -1);
    ck_assert_msg(strstr(err, "/proc/no/such/dir/journal") != NULL, "%s", err);
}
END_TEST

static Suite *startlog_suite(void)
{
    Suite *s = suite_create("startlog");
    TCase *tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unsettled_starts_survive_a_crash);
    tcase_add_test(tc, settling_everything_empties_the_file);
    tcase_add_test(tc, settle_needs_the_same_attempt);
    tcase_add_test(tc, clear_after_open);
    tcase_add_test(tc, a_long_journal_is_rewritten);
    tcase_add_test(tc, a_torn_line_is_ignored);
    tcase_add_test(tc, an_unwritable_place_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(startlog_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
