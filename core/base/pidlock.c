/*
 * pidlock.c - one sluiced per state directory and per store (pidlock.h).
 */
#include "pidlock.h"

#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The PID the holder wrote, or 0 when the file says nothing usable yet. */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    return pid > 0 && (*end == '\n' || *end == 0) ? pid : 0;
}

int pidlock_take(const char *path, const char *what, char *err, size_t errlen)
{
    if (fsutil_mkdirs_parent_private(path) < 0) {
        snprintf(err, errlen, "%s: cannot create the directory of %s: %s", what, path,
                 strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open the lock file %s: %s", what, path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            snprintf(err, errlen, "%s: cannot lock %s: %s", what, path, strerror(errno));
            close(fd);
            return -1;
        }
        /* The holder writes its PID just after it takes the lock: a start
         * racing that moment finds the file empty and says so. */
        long pid = holder_pid(fd);
        char who[64] = "another sluiced (its PID not written yet)";
        if (pid)
            snprintf(who, sizeof(who), "another sluiced, PID %ld", pid);
        snprintf(err, errlen,
                 "%s is in use by %s: it holds the lock on %s; stop it, or give this one "
                 "another state directory and store",
                 what, who, path);
        close(fd);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        snprintf(err, errlen, "%s: cannot write the lock file %s: %s", what, path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
