/*
 * workdir.h - the host directory an execution shares with its container.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Each execution gets a private directory (mode 0700) under the flow's
 * work_dir holding event.json (bind-mounted read-only at /sluice/event.json)
 * and out/ (bind-mounted read-write at /sluice/out, mode 0777 so a
 * container running as any user can write its outputs there). The engine
 * must see the same path: it runs on this machine, reached by a unix socket.
 * Everything in out/ is written by the container, so it is read and removed
 * without following symbolic links.
 */
#ifndef CTR_WORKDIR_H
#define CTR_WORKDIR_H

#include <limits.h>
#include <stddef.h>

struct ctr_workdir {
    char dir[PATH_MAX - 32]; /* room for the names below */
    char event_path[PATH_MAX];
    char out_dir[PATH_MAX];
    char output_path[PATH_MAX];
    int made;
};

/* Make the directory under base and write the event. Returns 0, or -1 with err. */
int ctr_workdir_create(struct ctr_workdir *wd, const char *base, const char *event,
                       size_t event_len, char *err, size_t errlen);

/*
 * Remove it all. Returns 0, or -1 when something the container left could
 * not be removed (described in err; the rest is removed anyway).
 */
int ctr_workdir_remove(struct ctr_workdir *wd, char *err, size_t errlen);

#endif /* CTR_WORKDIR_H */
