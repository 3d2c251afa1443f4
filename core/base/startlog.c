/*
 * startlog.c - the start journal (see startlog.h).
 */
#include "startlog.h"

#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Past this size, a journal that cannot be emptied is rewritten. */
#define STARTLOG_REWRITE_AT (64 * 1024)
/*
 * A journal with nothing unsettled is emptied once it holds this much:
 * truncating after every execution cost a tenth of the store thread under
 * a stream of sync requests. Settled lines are harmless at the next start:
 * their executions are no longer queued with that attempt, so promoting
 * them changes nothing. (A clean stop empties the journal; see store.c.)
 */
#define STARTLOG_EMPTY_AT (16 * 1024)

typedef struct {
    char id[40];
    int attempt;
} entry;

static struct {
    pthread_mutex_t mu;
    int fd;
    char *path;
    size_t size; /* bytes in the file */
    entry *pending;
    size_t n, cap;
} sl = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static int format_line(char *buf, size_t len, const char *id, int attempt)
{
    return snprintf(buf, len, "%s %d\n", id, attempt);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static void replay(FILE *f, void (*fn)(void *, const char *, int), void *arg)
{
    char line[128];
    while (fgets(line, sizeof(line), f)) {
        char id[40];
        int attempt;
        /* A line cut by a crash mid-write has no newline: it was never
         * followed by a plugin call, so it is ignored. */
        if (!strchr(line, '\n') || sscanf(line, "%39s %d", id, &attempt) != 2)
            continue;
        fn(arg, id, attempt);
    }
}

int startlog_open(const char *path, void (*fn)(void *arg, const char *id, int attempt), void *arg,
                  char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the start journal %s: %s", path, units_strerror(errno));
        return -1;
    }
    int rfd = dup(fd);
    FILE *f = rfd >= 0 ? fdopen(rfd, "r") : NULL;
    if (!f) {
        snprintf(err, errlen, "cannot read the start journal %s: %s", path, units_strerror(errno));
        if (rfd >= 0)
            close(rfd);
        close(fd);
        return -1;
    }
    replay(f, fn, arg);
    fclose(f);
    pthread_mutex_lock(&sl.mu);
    sl.fd = fd;
    free(sl.path);
    sl.path = xstrdup(path);
    off_t end = lseek(fd, 0, SEEK_END);
    sl.size = end > 0 ? (size_t)end : 0;
    sl.n = 0;
    pthread_mutex_unlock(&sl.mu);
    return 0;
}

int startlog_clear(void)
{
    pthread_mutex_lock(&sl.mu);
    int rc = sl.n == 0 && ftruncate(sl.fd, 0) == 0 ? 0 : -1;
    if (rc == 0)
        sl.size = 0;
    pthread_mutex_unlock(&sl.mu);
    return rc;
}

int startlog_append(const char *id, int attempt)
{
    char line[64];
    int len = format_line(line, sizeof(line), id, attempt);
    pthread_mutex_lock(&sl.mu);
    if (sl.n == sl.cap) {
        size_t cap = sl.cap ? sl.cap * 2 : 64;
        entry *p = realloc(sl.pending, cap * sizeof(*p));
        if (!p) {
            pthread_mutex_unlock(&sl.mu);
            errno = ENOMEM;
            return -1;
        }
        sl.pending = p;
        sl.cap = cap;
    }
    int rc = write_all(sl.fd, line, (size_t)len);
    if (rc == 0) {
        snprintf(sl.pending[sl.n].id, sizeof(sl.pending[sl.n].id), "%s", id);
        sl.pending[sl.n++].attempt = attempt;
        sl.size += (size_t)len;
    }
    pthread_mutex_unlock(&sl.mu);
    return rc;
}

/*
 * Replace the file by one holding only what is unsettled. Called with sl.mu
 * held. The new file is complete on disk before the rename makes it the
 * journal, so a crash at any point leaves one or the other.
 */
static void rewrite(void)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.new", sl.path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return; /* keep appending to the old one; it is still correct */
    size_t size = 0;
    int ok = 1;
    for (size_t i = 0; ok && i < sl.n; i++) {
        char line[64];
        int len = format_line(line, sizeof(line), sl.pending[i].id, sl.pending[i].attempt);
        ok = write_all(fd, line, (size_t)len) == 0;
        size += (size_t)len;
    }
    if (!ok || rename(tmp, sl.path) < 0) {
        close(fd);
        unlink(tmp);
        return;
    }
    close(sl.fd);
    sl.fd = fd;
    sl.size = size;
}

void startlog_settle(const char *id, int attempt)
{
    pthread_mutex_lock(&sl.mu);
    for (size_t i = 0; i < sl.n; i++)
        if (sl.pending[i].attempt == attempt && strcmp(sl.pending[i].id, id) == 0) {
            sl.pending[i] = sl.pending[--sl.n];
            break;
        }
    if (sl.n == 0 && sl.size >= STARTLOG_EMPTY_AT) {
        if (ftruncate(sl.fd, 0) == 0)
            sl.size = 0;
    } else if (sl.size > STARTLOG_REWRITE_AT) {
        rewrite();
    }
    pthread_mutex_unlock(&sl.mu);
}

void startlog_close(void)
{
    pthread_mutex_lock(&sl.mu);
    if (sl.fd >= 0)
        close(sl.fd);
    sl.fd = -1;
    free(sl.path);
    sl.path = NULL;
    free(sl.pending);
    sl.pending = NULL;
    sl.n = sl.cap = 0;
    pthread_mutex_unlock(&sl.mu);
}
