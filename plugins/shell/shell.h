/*
 * shell.h - the shell executor's instance, shared by shell.c and execute.c.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef SHELL_SHELL_H
#define SHELL_SHELL_H

#include <pthread.h>

#include <sluice/plugin.h>

#include "kit/command/groups.h"
#include "kit/command/settings.h"

/* One execution in progress, findable by the cancel callback. */
struct shell_running {
    sluice_exec *exec;
    int wake_fd; /* eventfd the cancel callback writes to, or -1 */
    struct shell_running *next;
};

/*
 * One configured flow. The settings are immutable; the list of running
 * executions is the only mutable state and is guarded by lock, so any
 * number of executions may run at once (SLUICE_PF_REENTRANT).
 */
struct shell_instance {
    const sluice_host *host;
    struct kit_groups *groups; /* the plugin's, see groups.c */
    struct kit_settings *cfg;
    pthread_mutex_t lock;
    struct shell_running *running;
};

/* Add or remove an execution from the instance's running list. */
void shell_instance_track(struct shell_instance *inst, struct shell_running *run);
void shell_instance_untrack(struct shell_instance *inst, struct shell_running *run);

/* The plugin's execute callback (execute.c). */
int shell_execute(void *instance, sluice_exec *exec);

#endif /* SHELL_SHELL_H */
