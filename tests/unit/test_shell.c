/*
 * test_shell.c - unit tests of the shell executor and of the SDK mock host
 * it runs under. The suites live in shell_test_*.c.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#include <stdlib.h>

#include "shell_test.h"

int main(void)
{
    SRunner *sr = srunner_create(shell_units_suite());
    int failed;

    srunner_add_suite(sr, shell_config_suite());
    srunner_add_suite(sr, shell_run_suite());
    srunner_add_suite(sr, shell_cancel_suite());
    srunner_add_suite(sr, shell_mock_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
