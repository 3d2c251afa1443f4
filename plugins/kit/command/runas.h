/*
 * runas.h - the user and group a command runs as.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_RUNAS_H
#define KIT_RUNAS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Resolved at configure time, so an unknown user fails the flow at start
 * and the child after fork() needs no lookups (which are not
 * async-signal-safe). Group membership changes are seen on reload.
 */
struct kit_runas {
    int active;     /* user or group was configured */
    int change_uid; /* user was configured */
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups, gid included */
    size_t ngroups;
    char *home; /* the user's home directory, or NULL */
};

/*
 * Resolve user and/or group (either may be NULL; names, or decimal ids).
 * With a user and no group the user's primary group is used; the
 * supplementary groups are the user's. With only a group, the process keeps
 * sluiced's uid and gets that single group. Needs sluiced to run as root.
 * Returns 0, or -1 with the reason in err.
 */
int kit_runas_resolve(struct kit_runas *ra, const char *user, const char *group, char *err,
                      size_t errlen);

void kit_runas_clear(struct kit_runas *ra);

#endif /* KIT_RUNAS_H */
