/*
 * execstate.h - the states of an execution and their names.
 *
 * Apart from exec.h so that what only counts or shows executions (the
 * metrics) need not know the execution itself.
 */
#ifndef SLUICE_EXECSTATE_H
#define SLUICE_EXECSTATE_H

enum exec_state {
    EXEC_QUEUED,
    EXEC_RUNNING,
    EXEC_SUCCEEDED,
    EXEC_FAILED,
    EXEC_TIMED_OUT,
    EXEC_CANCELLED,
    EXEC_UNKNOWN, /* sluiced stopped while it ran: whether it finished is not known */
};

/* "queued", "running", ... as documents and the API spell them;
 * "invalid" for a number that is no state. */
const char *exec_state_name(int state);
/* succeeded, failed, timed_out, cancelled or unknown. */
int exec_state_is_final(int state);

#endif
