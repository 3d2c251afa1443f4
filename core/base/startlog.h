/*
 * startlog.h - the start journal: "this execution is about to run".
 *
 * Before a plugin is called the execution must be on record as started, so
 * that a crash never makes the next start run it again as if it had never
 * begun (store.h). Writing that record through the store thread cost every
 * execution a round trip to another thread and a SQLite transaction before
 * its plugin could run. Instead the worker appends one line, "ID ATTEMPT",
 * to a small file beside the database: one write(2), no thread hand-off.
 * The database learns "running" a moment later, batched with other writes.
 *
 * The line is in the page cache when write returns, so it survives a crash
 * of the process, exactly like a commit with synchronous=NORMAL (which is
 * what recorded "running" before). Lines whose state has reached the
 * database are settled; once the file has grown a little and none is
 * unsettled it is truncated, and a file that grows past a bound while some
 * stay unsettled is rewritten with only those (new file, then rename: never
 * a moment without them). A clean stop leaves it empty.
 *
 * At start the store reads the journal before anything runs and marks every
 * execution it names, still queued or running at that attempt or an earlier
 * one, as running that attempt (the requeue that led to it may not have
 * reached the database).
 */
#ifndef SLUICE_STARTLOG_H
#define SLUICE_STARTLOG_H

#include <stddef.h>

/*
 * Open (creating) the journal at path. Lines left by an earlier process are
 * passed to fn first, then the file is emptied only by startlog_clear.
 * -1 with a reason in err.
 */
int startlog_open(const char *path, void (*fn)(void *arg, const char *id, int attempt), void *arg,
                  char *err, size_t errlen);
/* Empty the journal: what it said is now in the database (after open). */
int startlog_clear(void);
/* Record that id starts attempt. 0, or -1 (errno set) when not written. */
int startlog_append(const char *id, int attempt);
/* That id started attempt has been committed to the database. */
void startlog_settle(const char *id, int attempt);
void startlog_close(void);

#endif
