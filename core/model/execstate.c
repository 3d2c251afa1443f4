/*
 * execstate.c - the names of an execution's states (see execstate.h).
 */
#include "execstate.h"

static const char *const state_names[] = {"queued",    "running",   "succeeded", "failed",
                                          "timed_out", "cancelled", "unknown"};

const char *exec_state_name(int state)
{
    return state >= 0 && state <= EXEC_UNKNOWN ? state_names[state] : "invalid";
}

int exec_state_is_final(int state)
{
    return state >= EXEC_SUCCEEDED;
}
