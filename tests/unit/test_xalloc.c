/*
 * test_xalloc.c - the x-allocators never return NULL: they succeed, or log
 * one "out of memory" line and abort.
 */
#include "xalloc.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under ASan an impossible allocation must come back NULL, as it does from
 * glibc, instead of ending the test binary in ASan's own report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

START_TEST(zero_sizes_are_not_null)
{
    void *p = xmalloc(0);
    ck_assert_ptr_nonnull(p);
    p = xrealloc(p, 0);
    ck_assert_ptr_nonnull(p);
    free(p);
    p = xcalloc(0, 8);
    ck_assert_ptr_nonnull(p);
    free(p);
    char *s = xstrndup("sluice", 3);
    ck_assert_str_eq(s, "slu");
    free(s);
    s = xstrdup("");
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(realloc_keeps_contents)
{
    char *p = xmalloc(4);
    memcpy(p, "abc", 4);
    p = xrealloc(p, 1 << 20);
    ck_assert_str_eq(p, "abc");
    free(p);
}
END_TEST

/* Run fn in a child with stderr in a file; return what it wrote and how
 * it ended. */
static char *in_child(void (*fn)(void), int *status)
{
    char path[] = "/tmp/sluice-xalloc-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd, 2);
        fn();
        _exit(0); /* not reached when fn aborts */
    }
    ck_assert_int_eq(waitpid(pid, status, 0), pid);
    static char out[512];
    ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
    out[n > 0 ? n : 0] = 0;
    close(fd);
    return out;
}

static void huge_malloc(void)
{
    volatile size_t n = SIZE_MAX / 2;
    void *p = xmalloc(n);
    printf("%p\n", p); /* keeps the call */
}

static void huge_calloc(void)
{
    volatile size_t n = SIZE_MAX / 4;
    void *p = xcalloc(n, 2);
    printf("%p\n", p);
}

static void huge_realloc(void)
{
    volatile size_t n = SIZE_MAX / 2;
    void *p = xrealloc(xmalloc(16), n);
    printf("%p\n", p);
}

START_TEST(failure_logs_and_aborts)
{
    void (*const fns[])(void) = {huge_malloc, huge_calloc, huge_realloc};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int st;
        char *out = in_child(fns[i], &st);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
                      "case %zu: child ended with status 0x%x, not SIGABRT", i, st);
        ck_assert_msg(strstr(out, "out of memory: cannot allocate") != NULL,
                      "case %zu: stderr was \"%s\"", i, out);
    }
}
END_TEST

static Suite *xalloc_suite(void)
{
    Suite *s = suite_create("xalloc");
    TCase *tc = tcase_create("xalloc");
    tcase_add_test(tc, zero_sizes_are_not_null);
    tcase_add_test(tc, realloc_keeps_contents);
    tcase_add_test(tc, failure_logs_and_aborts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xalloc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
