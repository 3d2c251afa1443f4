/*
 * shell_test.h - shared helpers of the shell executor's unit tests.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef SHELL_TEST_H
#define SHELL_TEST_H

#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <jansson.h>

#include "mock_host.h"

/* The suites, one per file. */
Suite *shell_units_suite(void);
Suite *shell_config_suite(void);
Suite *shell_run_suite(void);
Suite *shell_cancel_suite(void);
Suite *shell_mock_suite(void);

/*
 * JSON text from a jansson pack format (json_pack), so tests can put hostile
 * strings in configs and events without hand-escaping. The result is
 * malloc'd; the test fails if the format is wrong.
 */
char *st_json(const char *fmt, ...);

/* A mock host with the statically linked shell plugin loaded and inited. */
mock_host *st_host(void);

/* Configure or fail the test with the plugin's message. */
void *st_configure(mock_host *host, const char *cfg_json);

/* The configure error for cfg_json (malloc'd), or NULL if it succeeded. */
char *st_configure_error(const char *cfg_json);

/*
 * Configure cfg_json on a fresh host, run one execution of event_json and
 * return it (finished). *host_out receives the host; free both with
 * st_done. The execution is checked for ABI misuse.
 */
mock_exec *st_run(const char *cfg_json, const char *event_json, mock_host **host_out);
void st_done(mock_host *host, mock_exec *exec);

/* The captured stdout of an execution, NUL-terminated. */
const char *st_stdout(mock_exec *exec);

/* A fresh private directory under /tmp (malloc'd path), and its removal. */
char *st_tmpdir(void);
void st_rmdir(char *path);

/* The content of a file (malloc'd, NUL-terminated) or NULL. */
char *st_read_file(const char *path, size_t *len);

/* Read a pid written by a test script into path (0 if none). */
pid_t st_read_pid(const char *path);

/*
 * Wait up to ms for pid to be gone: no such process, or a zombie waiting
 * for its new parent to reap it (a zombie has stopped running). Returns 1
 * when gone.
 */
int st_pid_gone(pid_t pid, int ms);

/* Milliseconds on CLOCK_MONOTONIC. */
long long st_now_ms(void);

/*
 * An event as sluiced builds it (execution id, flow "prod/deploy", trigger
 * "github-push", function null, empty params/query/headers...) with body
 * (a reference that is stolen; NULL for a null body), as JSON text.
 */
char *st_event(json_t *body);

/* The same with any top-level fields of extra (stolen) merged in. */
char *st_event_with(json_t *body, json_t *extra);

#endif /* SHELL_TEST_H */
