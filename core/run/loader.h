/*
 * loader.h - finding, validating and initialising executor plugins.
 *
 * A plugin is loaded on demand the first time a flow names its executor and
 * then stays loaded for the life of the process (reloads reuse it; it is
 * never dlclose()d, so no code can vanish under a running execution).
 * Validation happens before any plugin code other than the entry function
 * runs; every refusal is one log line naming the file and the reason.
 */
#ifndef SLUICE_LOADER_H
#define SLUICE_LOADER_H

#include <sluice/plugin.h>

#include <stddef.h>

/* The host table given to one plugin; the owner lets log() name it. */
typedef struct host_table {
    sluice_host pub;
    struct plugin *owner;
} host_table;

typedef struct plugin {
    char *name;
    char *path;
    void *dl;
    sluice_plugin desc; /* copy, zero-extended to this host's size */
    void *ctx;          /* from init */
    host_table host;
    struct plugin *next;
} plugin;

/* The host services table every plugin loaded from now on gets a copy of
 * (main.c passes host_fill's; the loader does not know where it comes from).
 * Until it is set no plugin is loaded. */
void loader_set_host(const sluice_host *tmpl);

/* Directories searched before the configured plugin path (from
 * --plugin-dir and SLUICE_PLUGIN_PATH). The vector is copied. */
void loader_set_extra_dirs(const char *const *dirs);

/*
 * The plugin for executor name: already loaded, or found as NAME.so in the
 * extra dirs, then cfg_dirs (NULL-terminated, may be NULL), then the
 * built-in plugin directory. NULL with a reason in err.
 */
plugin *loader_get(const char *name, const char *const *cfg_dirs, char *err, size_t errlen);

/*
 * Load and validate one file. expect_name, when not NULL, must equal the
 * descriptor's name. NULL with a reason in err (and a log line).
 */
plugin *loader_load_file(const char *path, const char *expect_name, char *err, size_t errlen);

int loader_configure(plugin *p, const char *cfg_json, size_t cfg_len, const char *where,
                     void **instance, char *err, size_t errlen);
void loader_unconfigure(plugin *p, void *instance);

/* Call destroy on every plugin (at exit). */
void loader_shutdown(void);

#endif
