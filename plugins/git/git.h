/*
 * git.h - the git executor's plugin context and instance.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The git executor runs a script kept in a git repository: a bare mirror
 * of the repository lives in a cache directory (mirror.c), each execution
 * resolves its ref to one commit, runs on an immutable checkout of that
 * commit (worktree.c) and is started exactly as the shell executor starts
 * a command (run.c, with plugins/kit/command, as the shell executor).
 */
#ifndef GITEXEC_GIT_H
#define GITEXEC_GIT_H

#include <pthread.h>

#include <sluice/plugin.h>

#include "gitset.h"
#include "kit/command/groups.h"
#include "mirror.h"
#include "worktree.h"

/* Per process: what init was given and every mirror in use. */
struct gitexec_ctx {
    const sluice_host *host;
    struct kit_groups groups; /* see plugins/kit/command/groups.c */
    struct gitexec_mirrors mirrors;
};

/* One execution in progress, findable by the cancel callback. */
struct gitexec_running {
    sluice_exec *exec;
    int wake_fd; /* eventfd the cancel callback writes to, or -1 */
    struct gitexec_running *next;
};

/*
 * One configured flow. The settings are immutable after configure; the
 * mirror is shared with every flow on the same URL and cache directory.
 * The running list is guarded by lock (SLUICE_PF_REENTRANT: executions of
 * one flow run at once; their fetches are serialized by the mirror).
 */
struct gitexec_instance {
    const sluice_host *host;
    struct kit_groups *groups;
    struct gitexec_settings *cfg;
    struct gitexec_mirror *mirror;
    struct gitexec_pin pin; /* the commit this flow ran last, kept from GC */
    pthread_mutex_t lock;
    struct gitexec_running *running;
};

void gitexec_instance_track(struct gitexec_instance *inst, struct gitexec_running *run);
void gitexec_instance_untrack(struct gitexec_instance *inst, struct gitexec_running *run);

/* The plugin's execute callback (run.c). */
int gitexec_execute(void *instance, sluice_exec *exec);

#endif /* GITEXEC_GIT_H */
