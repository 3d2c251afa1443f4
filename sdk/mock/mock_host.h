/*
 * mock_host.h - a stand-in for sluiced, for unit-testing executor plugins.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * WHAT IT IS
 *
 * The mock host implements every function of the sluice_host table in
 * <sluice/plugin.h> with the semantics the header documents, so a plugin's
 * unit tests can load the plugin, configure it and run executions without a
 * server, an HTTP request or a store. Everything the plugin hands to the host
 * (outputs, errors, exit code, logs, responses, the final result) is recorded
 * on the execution and can be read back by the test.
 *
 * The mock is strict where the real host is strict: outputs must be a JSON
 * object of at most SLUICE_MAX_OUTPUT bytes, meta keys and values follow
 * the rules and limits of exec_set_meta, errors are cut at
 * SLUICE_MAX_ERROR, stdout and stderr keep SLUICE_LOG_KEEP bytes of head and
 * of tail with a drop marker in between, exec_complete counts only once. On
 * top of that it notices ABI misuse that the real host could only survive
 * (calls on an execution after it completed, SLUICE_ERR without a reason,
 * exec_complete for an execution that did not return SLUICE_PENDING): each
 * such event is logged at SLUICE_LOG_ERROR with the prefix "ABI misuse:" and
 * counted, so a test can assert mock_host_misuse_count() == 0.
 *
 * A TYPICAL TEST
 *
 *     mock_host *host = mock_host_new();
 *     ck_assert_ptr_null(mock_host_load(host, sluice_plugin_v1()));
 *     ck_assert_ptr_null(mock_host_init(host));
 *     void *inst = NULL;
 *     const char *err = mock_host_configure(host, "{\"argv\":[\"/bin/true\"]}",
 *                                           "test.conf:1", &inst);
 *     ck_assert_msg(!err, "%s", err);
 *     mock_exec *exec = mock_exec_new(host, "{\"body\":{\"ref\":\"main\"}}");
 *     ck_assert_int_eq(mock_exec_run(exec, inst, 5000), SLUICE_OK);
 *     ck_assert_str_eq(mock_exec_output_get(exec, "version"), "1.2");
 *     mock_exec_free(exec);
 *     mock_host_free(host);      (unconfigures, destroys, unloads)
 *
 * THREADING
 *
 * The functions of the sluice_host table are thread-safe, as the ABI
 * requires. The mock_* functions that set up or read back state are meant to
 * be called from the test's thread; reading results while an execution is
 * still running is allowed (each read takes the execution's lock) but the
 * returned pointers are only stable once the execution has finished.
 * mock_exec_cancel and mock_exec_cancel_after may be used from any thread.
 *
 * OWNERSHIP
 *
 * Strings returned by the mock belong to the mock and stay valid until the
 * next call that changes the same value, or until the object is freed.
 *
 * LINKING
 *
 * Installed with the SDK as $(libdir)/libsluice-mock.a and
 * <sluice/mock_host.h>, described by sluice-mock.pc:
 *
 *     cc -o test_myplugin test_myplugin.c myplugin.c \
 *        $(pkg-config --cflags --libs sluice-mock)
 *
 * which amounts to -lsluice-mock -ljansson -ldl -lpthread. The library is
 * built like the rest of sluice: if sluice was configured with
 * --enable-sanitizers, build the tests with -fsanitize=address,undefined.
 */
#ifndef SLUICE_MOCK_HOST_H
#define SLUICE_MOCK_HOST_H

#include <stddef.h>

#include <sluice/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One mock host: one sluice_host table and at most one loaded plugin. */
typedef struct mock_host mock_host;

/*
 * One execution. It is the very object the plugin receives as sluice_exec,
 * so a test may pass it to plugin callbacks directly (for example to call
 * the plugin's cancel by hand).
 */
typedef struct sluice_exec mock_exec;

/* Returned by mock_exec_wait and mock_exec_run when a pending execution was
 * not completed in time. Distinct from every SLUICE_* result. */
#define MOCK_NOT_DONE 2

/* Returned by mock_exec_exit_code when the plugin never set one. */
#define MOCK_NO_EXIT_CODE (-1000)

/* ----------------------------------------------------------------------
 * The host
 */

/*
 * Make a mock host. Its table reports SLUICE_ABI_MAJOR/SLUICE_ABI_MINOR and
 * the size of sluice_host this header was built with. Returns NULL only when
 * out of memory. When the environment variable MOCK_HOST_VERBOSE is set,
 * every log line is also printed on stderr as it arrives.
 */
mock_host *mock_host_new(void);

/*
 * Free the host: unconfigure every instance still configured, call the
 * plugin's destroy if init succeeded, dlclose a plugin loaded by path.
 * Executions must have been freed (or at least finished) before. NULL is a
 * no-op.
 */
void mock_host_free(mock_host *host);

/*
 * Load a plugin from its descriptor, typically sluice_plugin_v1() of a
 * plugin linked into the test. The descriptor is validated as sluiced's
 * loader does it: equal abi_major, abi_minor not newer than the host's,
 * struct_size at least the 1.0 size, configure/unconfigure/execute present,
 * a name matching [a-z0-9._-]+, non-NULL version, description and license.
 * The leading min(struct_size, sizeof(sluice_plugin)) bytes are copied into
 * a zeroed descriptor, so a plugin built against an older minor works.
 * Returns NULL on success or the reason for the refusal (also logged).
 * One plugin per host: a second load is refused.
 */
const char *mock_host_load(mock_host *host, const sluice_plugin *plugin);

/*
 * Load a plugin from a shared object with dlopen(RTLD_NOW | RTLD_LOCAL) and
 * dlsym("sluice_plugin_v1"), then validate it like mock_host_load. The
 * object is dlclose()d by mock_host_free. Returns NULL or the error text.
 */
const char *mock_host_load_path(mock_host *host, const char *path);

/*
 * Call the plugin's init with this host's table (a plugin without init
 * succeeds at once). Must follow a successful load and come before
 * mock_host_configure. Returns NULL or the error text the plugin wrote.
 */
const char *mock_host_init(mock_host *host);

/*
 * Configure one instance from cfg_json (NUL-terminated JSON text, checked to
 * be a JSON object first, as sluiced only ever passes objects) and where (the
 * "file:line" the plugin should name in messages; NULL means "test"). On
 * success stores the instance in *instance and returns NULL; on failure
 * returns the plugin's message (or the mock's, for invalid JSON) and leaves
 * *instance NULL. The host remembers the instance and unconfigures it in
 * mock_host_free unless mock_host_unconfigure was called.
 */
const char *mock_host_configure(mock_host *host, const char *cfg_json, const char *where,
                                void **instance);

/* Call the plugin's unconfigure on an instance made by mock_host_configure. */
void mock_host_unconfigure(mock_host *host, void *instance);

/* The validated copy of the loaded descriptor, or NULL before a load. */
const sluice_plugin *mock_host_plugin(const mock_host *host);

/* The host table this mock hands to init. */
const sluice_host *mock_host_table(const mock_host *host);

/*
 * Log lines, in arrival order: everything the plugin wrote with host->log
 * and everything the mock itself logged (refusals, ABI misuse). Lines by
 * the mock start with "mock: ". *level (may be NULL) receives the
 * SLUICE_LOG_* level. Returns NULL when i is out of range.
 */
size_t mock_host_log_count(const mock_host *host);
const char *mock_host_log_line(const mock_host *host, size_t i, int *level);

/* How many log lines contain needle (a plain substring). */
size_t mock_host_log_matches(const mock_host *host, const char *needle);

/* How many ABI misuses the mock has seen (see above). */
size_t mock_host_misuse_count(const mock_host *host);

/* ----------------------------------------------------------------------
 * Executions
 */

/*
 * Make an execution for event_json (NUL-terminated; must be a JSON object,
 * else NULL is returned). The meta keys the ABI lists are filled the way
 * sluiced fills them: "execution_id", "flow", "trigger" and "function"
 * from the event's fields of the same name when they are strings,
 * "namespace" from the part of "flow" before its '/' and "flow_id" from
 * the part after it (all of "flow" when it has none), "request_id" as
 * "req-" followed by the execution id, "attempt" "1", "timeout_ms" "0",
 * "mode" "sync", "respond_with" "execution". Headers are taken from the
 * event's "headers" object (string values). The body exec_body lends (ABI
 * 1.1) is derived from the event: "raw_body_b64" decoded, a string "body"
 * as it is, any other non-null "body" as compact JSON, with the event's
 * "content_type" (application/json for JSON the mock wrote); set the exact
 * bytes with mock_exec_set_body. All of it can be changed with the setters
 * below before the execution runs.
 */
mock_exec *mock_exec_new(mock_host *host, const char *event_json);

/*
 * Free an execution. Joins a pending mock_exec_cancel_after thread first.
 * The execution must not be running: for a pending execution, wait for it
 * to complete (or make sure the plugin can no longer touch it) first.
 */
void mock_exec_free(mock_exec *exec);

/*
 * Set or replace a header (the name matches case-insensitively); a NULL
 * value removes it. Returns 0, or -1 when out of memory.
 */
int mock_exec_set_header(mock_exec *exec, const char *name, const char *value);

/*
 * Set a meta value. Only the keys the ABI documents are accepted (-1
 * otherwise); a NULL value makes exec_meta return NULL for that key, which
 * is how "function" says "none". Set "respond_with" to "upstream" to run a
 * plugin as sluiced runs it for a trigger with respond_with = "upstream".
 * Keys a plugin records itself go through exec_set_meta. Returns 0 or -1.
 */
int mock_exec_set_meta(mock_exec *exec, const char *key, const char *value);

/*
 * Set what exec_body returns: len bytes of data (copied; NULL for a request
 * without a body) and content_type (NULL for none). Returns 0, or -1 when
 * out of memory.
 */
int mock_exec_set_body(mock_exec *exec, const void *data, size_t len, const char *content_type);

/*
 * Call the plugin's execute on this thread and return what it returned
 * (SLUICE_OK, SLUICE_ERR or SLUICE_PENDING). An execution runs once; a
 * second call returns SLUICE_ERR without calling the plugin.
 */
int mock_exec_execute(mock_exec *exec, void *instance);

/*
 * The final result: for SLUICE_OK and SLUICE_ERR at once; for
 * SLUICE_PENDING, wait up to timeout_ms (negative: forever) for
 * exec_complete and return its result, or MOCK_NOT_DONE if it did not come.
 */
int mock_exec_wait(mock_exec *exec, int timeout_ms);

/* mock_exec_execute followed by mock_exec_wait. */
int mock_exec_run(mock_exec *exec, void *instance, int timeout_ms);

/*
 * Cancel: from now on exec_is_cancelled returns reason (a SLUICE_CANCEL_*
 * value other than NONE), and if the execution is running and the plugin
 * has a cancel callback, it is called, as sluiced does when a timeout
 * passes. Any thread. The first reason wins.
 */
void mock_exec_cancel(mock_exec *exec, int reason);

/*
 * Call mock_exec_cancel(exec, reason) from a helper thread ms milliseconds
 * from now. Typically set up before mock_exec_run to simulate a timeout.
 * mock_exec_free joins the thread (returning early if it has not fired).
 * Returns 0, or -1 if a timer is already armed or the thread failed.
 */
int mock_exec_cancel_after(mock_exec *exec, unsigned ms, int reason);

/* The result the execution finished with, or MOCK_NOT_DONE if it has not. */
int mock_exec_result(const mock_exec *exec);

/* The outputs JSON as the plugin set it last, or NULL if never set. */
const char *mock_exec_outputs(const mock_exec *exec);

/*
 * One top-level member of the outputs: the string itself for a string
 * value, compact JSON text for anything else, NULL when the key (or the
 * outputs) is missing.
 */
const char *mock_exec_output_get(mock_exec *exec, const char *key);

/* The error message (already cut at SLUICE_MAX_ERROR), or NULL. */
const char *mock_exec_error(const mock_exec *exec);

/* The exit code the plugin recorded, or MOCK_NO_EXIT_CODE. */
int mock_exec_exit_code(const mock_exec *exec);

/*
 * The bounded text of SLUICE_STDOUT or SLUICE_STDERR as sluiced stores it:
 * everything when at most 2 * SLUICE_LOG_KEEP bytes were written, otherwise
 * the first SLUICE_LOG_KEEP bytes, the line "\n[... N bytes dropped ...]\n"
 * and the last SLUICE_LOG_KEEP bytes. *len (may be NULL) receives the
 * length; the text is also NUL-terminated. NULL for a bad stream.
 */
const char *mock_exec_log(mock_exec *exec, int stream, size_t *len);

/* How many bytes the plugin wrote to a stream in total, dropped included. */
size_t mock_exec_log_total(const mock_exec *exec, int stream);

/*
 * The response override. Returns 0 and fills the out-parameters (any may be
 * NULL) when the plugin called exec_set_response successfully, -1 if not.
 * content_type is "application/json" when the plugin passed NULL.
 */
int mock_exec_response(const mock_exec *exec, int *status, const char **content_type,
                       const char **body, size_t *len);

/* How many times the plugin called exec_complete (only the first counts). */
unsigned mock_exec_complete_calls(const mock_exec *exec);

/*
 * A fact the plugin recorded with exec_set_meta, or NULL; and how many keys
 * it holds. Unlike exec_meta these may be read after the execution ended.
 */
const char *mock_exec_meta_get(const mock_exec *exec, const char *key);
size_t mock_exec_meta_count(const mock_exec *exec);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_MOCK_HOST_H */
