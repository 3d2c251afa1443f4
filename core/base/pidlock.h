/*
 * pidlock.h - one sluiced per state directory and per store.
 *
 * Two daemons on one store would each take the other's running executions
 * for interrupted ones and run the same queued work twice. So before the
 * store is opened, plugins are loaded or anything is recovered, sluiced
 * takes an exclusive flock(2) on a lock file and holds it for its whole
 * life: the kernel drops it when the process ends, however it ends, so a
 * crash or kill -9 never leaves a stale lock behind. The holder writes its
 * PID into the file so that the one refused can name it.
 *
 * The file itself stays (removing it would race with the next start
 * taking it); only the lock on it matters.
 */
#ifndef SLUICE_PIDLOCK_H
#define SLUICE_PIDLOCK_H

#include <stddef.h>

/*
 * Take the lock file at path (creating it 0600, and its directory 0700 if
 * missing). what names the thing it guards in the error: "state directory
 * /var/lib/sluice". Returns a descriptor to keep open for the life of the
 * process (close-on-exec, so flows never inherit it), or -1 with a message
 * in err naming what, the other process's PID when it is held, and path.
 */
int pidlock_take(const char *path, const char *what, char *err, size_t errlen);

#endif
