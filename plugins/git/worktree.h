/*
 * worktree.h - one immutable checkout per commit, shared and collected.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * A checkout is written under a temporary name, made read-only and renamed
 * into place (<mirror>.wt/<sha>), so a directory named after a commit is
 * always complete and never changes: a fetch, or a newer commit, never
 * touches files under a running script. Each checkout counts the
 * executions running on it and the flows whose latest commit it is (their
 * pin). One that has neither is moved aside the next time the mirror moves
 * to another commit (or its last execution ends) and deleted once that
 * execution has finished, so deleting a big tree never delays a script. A
 * checkout left by an earlier process goes at the first opportunity.
 */
#ifndef GITEXEC_WORKTREE_H
#define GITEXEC_WORKTREE_H

#include <stddef.h>

#include "mirror.h"

/* The commit a flow ran last; it keeps that checkout from collection. */
struct gitexec_pin {
    char sha[41]; /* "" when none */
};

/*
 * The checkout of commit sha (which the mirror has), created when missing;
 * its path goes to dir. Counts one user until gitexec_wt_release and moves
 * pin to sha. cancelled (may be NULL) is polled while waiting for another
 * thread's checkout of the same commit. Returns 0, or -1 with err set.
 */
int gitexec_wt_acquire(struct gitexec_mirror *m, const char *sha, struct gitexec_pin *pin,
                       int (*cancelled)(void *ctx), void *ctx, char *dir, size_t dirlen, char *err,
                       size_t errlen);

void gitexec_wt_release(struct gitexec_mirror *m, const char *sha);

/* The flow is gone (unconfigure): its commit is no longer kept for it. */
void gitexec_wt_unpin(struct gitexec_mirror *m, struct gitexec_pin *pin);

/* Forget every entry (destroy); the checkouts stay on disk for next time. */
void gitexec_wt_free_all(struct gitexec_mirror *m);

#endif /* GITEXEC_WORKTREE_H */
