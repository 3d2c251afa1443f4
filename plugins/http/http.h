/*
 * http.h - the http executor's plugin context and instance.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <sluice/plugin.h>

#include "settings.h"

/* Set from configure's version by plugins/http/local.mk. */
#ifndef HTTP_PLUGIN_VERSION
#define HTTP_PLUGIN_VERSION "0.1.0"
#endif

struct http_loop;

/* Per process: the host table and the one transfer loop (loop.h). */
struct http_plugin {
    const sluice_host *host;
    struct http_loop *loop;
};

/* One configured flow. Immutable after configure: executions only read it. */
struct http_instance {
    const sluice_host *host;
    struct http_loop *loop;
    struct http_settings *cfg;
};

/* The plugin's execute callback (execute.c). */
int http_execute(void *instance, sluice_exec *exec);

#endif /* HTTP_HTTP_H */
