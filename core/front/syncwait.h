/*
 * syncwait.h - sync requests parked on their executions.
 *
 * A sync request's connection stays suspended until every execution it
 * made is final, its sync_timeout passes, or shutdown expires every wait;
 * whichever comes first resumes it, once.
 */
#ifndef SLUICE_SYNCWAIT_H
#define SLUICE_SYNCWAIT_H

#include "exec.h"

#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;

typedef struct syncwait syncwait;

/* Wait on execs[0..n) for connection c, timing out timeout_ms from now.
 * Call before the executions can run (before they are stored), so none
 * finishes unseen; the wait is listed for syncwait_expire_all. */
syncwait *syncwait_start(struct MHD_Connection *c, sluice_exec **execs, size_t n,
                         uint64_t timeout_ms);
/* The connection is suspended on w now: it is resumed when w is done or
 * expired, at once if it already is. */
void syncwait_park(syncwait *w);
/* After the resume: 1 when it came from the timeout (or shutdown) with
 * executions still running. */
int syncwait_timed_out(syncwait *w);
/* The request is done with w (answered, or its connection closed). */
void syncwait_free(syncwait *w);
/* Shutdown: expire every wait, so each parked connection is resumed. */
void syncwait_expire_all(void);

#endif
