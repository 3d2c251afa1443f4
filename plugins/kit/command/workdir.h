/*
 * workdir.h - the private temporary directory of one execution.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_WORKDIR_H
#define KIT_WORKDIR_H

#include <limits.h>
#include <stddef.h>

#include "kit/command/runas.h"

struct kit_workdir {
    char dir[PATH_MAX - 32];    /* room for the file names below */
    char event_path[PATH_MAX];  /* $SLUICE_EVENT: the event JSON */
    char output_path[PATH_MAX]; /* $SLUICE_OUTPUT: empty, for the command */
};

/*
 * Make a fresh mkdtemp directory (mode 0700) under tmpdir holding the
 * event file and an empty output file (mode 0600), all owned by the run-as
 * user when ra is active, so the command can read and write them and no
 * other user can. Returns 0, or -1 with err set (nothing is left behind).
 */
int kit_workdir_create(struct kit_workdir *wd, const char *tmpdir, const char *event,
                       size_t event_len, const struct kit_runas *ra, char *err, size_t errlen);

/*
 * Remove the directory and everything the command left in it, without
 * following symbolic links. Safe on a workdir whose create failed.
 */
void kit_workdir_remove(struct kit_workdir *wd);

#endif /* KIT_WORKDIR_H */
