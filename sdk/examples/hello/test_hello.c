/*
 * test_hello.c - unit test of the hello plugin, without a server.
 *
 * hello.c is compiled into this program; the SDK's mock host
 * (<sluice/mock_host.h>, libsluice-mock.a) plays sluiced: it validates the
 * descriptor like the loader, calls init, configure and execute, and records
 * what the plugin hands back (outputs, errors, logs) for the checks below.
 *
 * No test framework is needed: each CHECK prints a line, and the exit
 * status tells automake's test driver whether everything passed.
 *
 * This file is in the public domain (CC0).
 */
#include <sluice/mock_host.h>
#include <sluice/plugin.h>

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (cond) {                                                   \
            printf("ok - %s\n", #cond);                               \
        } else {                                                      \
            printf("FAIL - %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            failures++;                                               \
        }                                                             \
    } while (0)

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int main(void)
{
    mock_host *host = mock_host_new();
    void *instance = NULL;
    const char *err;
    mock_exec *exec;

    /* Load: the same checks sluiced's loader makes. */
    CHECK(!mock_host_load(host, sluice_plugin_v1()));
    CHECK(streq(mock_host_plugin(host)->name, "hello"));
    CHECK(!mock_host_init(host));

    /* configure refuses settings, naming where they came from... */
    err = mock_host_configure(host, "{\"greeting\":\"hi\"}", "flows.d/hello.conf:12", &instance);
    CHECK(streq(err, "flows.d/hello.conf:12: hello takes no settings; remove the config group"));
    CHECK(!instance);
    /* ...and accepts an empty group. */
    err = mock_host_configure(host, "{}", "flows.d/hello.conf:12", &instance);
    CHECK(!err);

    /* No X-Name: hello, world. */
    exec = mock_exec_new(host, "{\"flow\":\"hello\",\"body\":{}}");
    CHECK(mock_exec_run(exec, instance, 1000) == SLUICE_OK);
    CHECK(streq(mock_exec_output_get(exec, "message"), "hello, world"));
    CHECK(streq(mock_exec_output_get(exec, "flow"), "hello"));
    CHECK(streq(mock_exec_log(exec, SLUICE_STDOUT, NULL), "hello, world\n"));
    CHECK(!mock_exec_error(exec));
    mock_exec_free(exec);

    /* A name from the header (any case). */
    exec = mock_exec_new(host, "{\"flow\":\"hello\"}");
    mock_exec_set_header(exec, "x-name", "Ada");
    CHECK(mock_exec_run(exec, instance, 1000) == SLUICE_OK);
    CHECK(streq(mock_exec_output_get(exec, "message"), "hello, Ada"));
    mock_exec_free(exec);

    /* A name that is not allowed: SLUICE_ERR with a reason, no outputs. */
    exec = mock_exec_new(host, "{\"flow\":\"hello\"}");
    mock_exec_set_header(exec, "X-Name", "a \"quoted\" name");
    CHECK(mock_exec_run(exec, instance, 1000) == SLUICE_ERR);
    CHECK(mock_exec_error(exec) && strstr(mock_exec_error(exec), "X-Name must be"));
    CHECK(!mock_exec_outputs(exec));
    mock_exec_free(exec);

    /* The plugin used the host correctly throughout. */
    CHECK(mock_host_misuse_count(host) == 0);
    mock_host_free(host); /* unconfigures and destroys */

    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
