/*
 * store.h - where executions are recorded and found again.
 *
 * The interface the rest of the daemon uses; this implementation keeps
 * executions in memory (every unfinished one, and the most recent finished
 * ones up to a bound). A durable backend replaces store.c behind the same
 * functions.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include "exec.h"

#include <stddef.h>

/* max_finished: how many finished executions to remember. */
int store_open(size_t max_finished);
void store_close(void);

/* Record a new execution before it is acknowledged. 0, or -1 when the store
 * cannot take it (the request then fails with 503). Takes a reference. */
int store_accept(sluice_exec *e);
/* The execution started running. */
void store_update(sluice_exec *e);
/* The execution reached a final state. */
void store_finish(sluice_exec *e);

/* Look an execution up by id; returns a new reference or NULL. */
sluice_exec *store_get(const char *id);

/* Cancel every running execution (shutdown). */
void store_cancel_running(int reason);

size_t store_count(void);

#endif
