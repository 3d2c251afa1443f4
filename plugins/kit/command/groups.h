/*
 * groups.h - the durable record of each running command's process group,
 * and the end of the groups an earlier sluiced left behind.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_GROUPS_H
#define KIT_GROUPS_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <sluice/plugin.h>

/* The record directory of one plugin. */
struct kit_groups {
    int enabled;                   /* 0: no state directory, nothing is recorded */
    int dirfd;                     /* -1 until the directory exists */
    pthread_mutex_t lock;          /* making and opening the directory */
    char state[4096];              /* $SLUICE_STATE_DIR */
    char dir[4096];                /* state/procs/NAME */
    char prefix[160];              /* "sluice-group 1 BOOT OWNER_PID OWNER_START " */
    unsigned long long self_start; /* this process's start time */
    const sluice_host *host;
};

/*
 * Find $SLUICE_STATE_DIR/procs/NAME and open it when it exists; it is made
 * (0700) when the first command is recorded, so a `--check-config` or a
 * first start makes nothing it does not need. Without SLUICE_STATE_DIR (a
 * host other than sluiced) nothing is recorded. Returns -1 with err set
 * only when the path is too long.
 */
int kit_groups_open(struct kit_groups *g, const sluice_host *host, const char *name, char *err,
                    size_t errlen);
void kit_groups_close(struct kit_groups *g);

/*
 * At init, before this process starts any command: end every group a
 * sluiced that is no longer running recorded and did not see finish, and
 * remove its record; a record whose group would not die stays, for the
 * execution's next attempt to try again. Bounded in time.
 */
void kit_groups_sweep(struct kit_groups *g);

/*
 * Before a command of execution exec_id starts: end what an earlier
 * attempt of it left (a record the sweep kept), then create its empty
 * record. *fd gets the record's descriptor (O_CLOEXEC), which the child
 * fills and syncs before execve, or -1 when nothing is recorded. Returns
 * -1 with err set when the record cannot be made or an earlier attempt's
 * process is still alive: the command must not start then.
 */
int kit_groups_begin(struct kit_groups *g, const char *exec_id, int *fd, char *name, size_t namelen,
                     char *err, size_t errlen);

/* After the group is gone: close fd and remove the record named name. */
void kit_groups_end(const struct kit_groups *g, int fd, const char *name);

#endif /* KIT_GROUPS_H */
