/*
 * test_http_main.c - unit tests of the http executor. The suites live in
 * test_http_*.c.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#include <stdlib.h>

#include "test_http_suites.h"

int main(void)
{
    SRunner *sr = srunner_create(http_sign_suite());
    int failed;

    srunner_add_suite(sr, http_template_suite());
    srunner_add_suite(sr, http_guard_suite());
    srunner_add_suite(sr, http_config_suite());
    srunner_add_suite(sr, http_run_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
