/*
 * generation.h - one served configuration with its flows bound to plugin
 * instances (nginx's cycle).
 *
 * A sluice_config is parsed data only and never changes. What running a
 * configuration needs besides (the plugin and instance of each flow, the
 * lock that serializes a non-reentrant instance, the counters and queue
 * links the engine keeps per flow) lives here, one flow_rt per flow_def.
 * A reload binds a new generation and swaps it in; the old one lives on
 * until the last request and execution that started under it let go.
 *
 * Lifetime rules:
 * - A generation holds a reference to its configuration, so whoever holds
 *   the generation may use the config, its flows and its triggers.
 * - The HTTP front holds the serving generation, each request holds the
 *   one it started under, each execution holds the one it was made under.
 * - The last generation_unref unconfigures the instances, then drops the
 *   config. No execution can be running then: each holds a reference.
 */
#ifndef SLUICE_GENERATION_H
#define SLUICE_GENERATION_H

#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct plugin;
struct sluice_exec;

typedef struct flow_rt {
    const flow_def *def;
    struct plugin *plugin;
    void *instance;
    pthread_mutex_t exec_lock; /* serializes non-reentrant instances */
    atomic_int running;
    atomic_int queued;
    /* The flow's queued executions, owned by the engine under its lock
     * (engine.c: one FIFO per flow, so a flow at its concurrency limit
     * costs nothing to skip). Nothing else touches them. */
    struct {
        struct sluice_exec *head, *tail;
        struct flow_rt *prev, *next; /* in the engine's list of flows with queued work */
        int listed;
    } q;
} flow_rt;

typedef struct generation generation;

/*
 * Load the plugins cfg's flows name and configure one instance per flow.
 * Takes a reference to cfg. On error returns NULL with the flow's
 * file:line in err and leaves nothing configured.
 */
generation *generation_bind(sluice_config *cfg, char *err, size_t errlen);

/* NULL-safe both ways. */
generation *generation_ref(generation *g);
/* Drops a reference; the last one unconfigures the instances. */
void generation_unref(generation *g);

/* The configuration (borrowed: valid while g is held). */
sluice_config *generation_config(const generation *g);
/* The runtime of f, one of g's configuration's flows. */
flow_rt *generation_flow(const generation *g, const flow_def *f);

#endif
