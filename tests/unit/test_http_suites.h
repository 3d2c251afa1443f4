/*
 * test_http_suites.h - the suites of the http executor's unit tests.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef TEST_HTTP_SUITES_H
#define TEST_HTTP_SUITES_H

#include <check.h>

Suite *http_sign_suite(void);
Suite *http_template_suite(void);
Suite *http_guard_suite(void);
Suite *http_config_suite(void);
Suite *http_run_suite(void);

#endif /* TEST_HTTP_SUITES_H */
