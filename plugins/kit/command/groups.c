/*
 * groups.c - the durable record of each running command's process group,
 * and the end of the groups an earlier sluiced left behind.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * A command dies with sluiced (PR_SET_PDEATHSIG, see spawn.c), but only
 * the command itself: what it started in its process group (`sleep 30 &`)
 * is reparented to init and runs on, while the restarted sluiced retries
 * the execution. So before execve the child writes one line into a file
 * named after the execution, under $SLUICE_STATE_DIR/procs/<plugin>:
 *
 *     sluice-group 1 BOOT_ID OWNER_PID OWNER_START PID START PGID
 *
 * (OWNER is the sluiced that started it, START field 22 of /proc/PID/stat).
 * The supervisor removes the file once the group is gone. Nothing is
 * synced: the record must outlive sluiced, not the kernel (a machine that
 * went down took the group with it, which the boot id tells), and the page
 * cache keeps what write(2) put there whatever becomes of the writer; an
 * fdatasync and its directory's fsync cost 9 ms per execution here. A file
 * still there when the plugin is initialised again belongs to a command that was
 * running when its sluiced died; the group is then killed and waited for
 * before anything of this process runs, so a retry never runs beside it.
 *
 * A pid can be reused, so nothing is killed on a pid alone:
 *   - made before the last reboot (another boot id): nothing of it is left;
 *   - its owner still runs (same pid and start time): it is that
 *     sluiced's business, left alone;
 *   - the leader still has its start time: the group is ours, killed;
 *   - the pid runs with another start time: the number was reused, which
 *     the kernel allows only once no process holds it as a process group
 *     id either, so the group is long gone: left alone;
 *   - the leader is gone (PR_SET_PDEATHSIG killed it): what is left of the
 *     group still holds the number as its pgid, so no new process could
 *     have taken it; the processes with that pgid that started no earlier
 *     than the leader are killed.
 * Only the last case has a window: the whole group ended, the pid number
 * came round again, its new owner made a group of its own and exited
 * leaving children, all between the crash and the restart.
 *
 * An empty record names no owner: it may be one a running sluiced has just
 * made, the child not yet at its write, so only an old one is removed. And
 * `sluiced --check-config` (SLUICE_CHECK_CONFIG=1), which takes no lock and
 * runs beside the daemon or beside what a dead one left, sweeps nothing.
 *
 * Plugins find the state directory in SLUICE_STATE_DIR, which sluiced
 * exports for them (the git executor keeps its cache there as well), so
 * this needs nothing from the plugin ABI.
 */
#define _GNU_SOURCE
#include "kit/command/groups.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kit/kit.h"

/* How long the sweep at init and the check before a retry wait for a
 * killed group to be gone. */
#define KIT_GROUPS_WAIT_MS 5000
#define KIT_GROUPS_POLL_MS 10
/* An empty or torn record younger than this may be one a child is still
 * writing (the supervisor creates it, the child fills it in just before
 * execve): the sweep leaves it for a later one. */
#define KIT_GROUPS_FRESH_S 10

struct kit_group_rec {
    char boot[64];
    long owner;
    unsigned long long owner_start;
    long pid;
    unsigned long long start;
    long pgid;
};

/* Read a small file into buf, NUL-terminated. */
static ssize_t kit_groups_read(int dirfd, const char *path, char *buf, size_t len)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n;

    if (fd < 0)
        return -1;
    do
        n = read(fd, buf, len - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* State (field 3), process group (5) and start time (22) of a process. */
static int kit_groups_stat(long pid, char *state, long *pgid, unsigned long long *start)
{
    char path[64], buf[1024];
    char *p;
    int field;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (kit_groups_read(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
        return -1;
    /* The command name may hold spaces and parentheses: skip past the last ')'. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %c %*d %ld", state, pgid) != 2)
        return -1;
    for (field = 3, p++; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p, " %llu", start) != 1)
        return -1;
    return 0;
}

static void kit_groups_boot(char *buf, size_t len)
{
    ssize_t n = kit_groups_read(AT_FDCWD, "/proc/sys/kernel/random/boot_id", buf, len);

    if (n <= 0)
        snprintf(buf, len, "unknown");
    else
        buf[strcspn(buf, "\n")] = '\0';
}

static int kit_groups_mkdir(const char *path, char *err, size_t errlen)
{
    char ebuf[128];

    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    kit_errf(err, errlen, "cannot make %s: %s", path, kit_strerror(errno, ebuf, sizeof(ebuf)));
    return -1;
}

int kit_groups_open(struct kit_groups *g, const sluice_host *host, const char *name, char *err,
                    size_t errlen)
{
    const char *state = getenv("SLUICE_STATE_DIR");
    char boot[64];
    unsigned long long self_start = 0;
    long self_pgid;
    char self_state;

    memset(g, 0, sizeof(*g));
    g->dirfd = -1;
    g->host = host;
    pthread_mutex_init(&g->lock, NULL);
    if (!state || state[0] == '\0')
        return 0;
    if ((size_t)snprintf(g->state, sizeof(g->state), "%s", state) >= sizeof(g->state) ||
        (size_t)snprintf(g->dir, sizeof(g->dir), "%s/procs/%s", state, name) >= sizeof(g->dir)) {
        kit_errf(err, errlen, "the state directory %s is too long a path", state);
        pthread_mutex_destroy(&g->lock);
        return -1;
    }
    g->enabled = 1;
    g->dirfd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    kit_groups_boot(boot, sizeof(boot));
    (void)kit_groups_stat((long)getpid(), &self_state, &self_pgid, &self_start);
    g->self_start = self_start;
    snprintf(g->prefix, sizeof(g->prefix), "sluice-group 1 %.63s %ld %llu ", boot, (long)getpid(),
             self_start);
    return 0;
}

/* The directory, made on first use. Returns its descriptor, or -1 with err set. */
static int kit_groups_dir(struct kit_groups *g, char *err, size_t errlen)
{
    char procs[4096 + 8], ebuf[128];
    int fd;

    pthread_mutex_lock(&g->lock);
    if (g->dirfd < 0) {
        snprintf(procs, sizeof(procs), "%s/procs", g->state);
        if (kit_groups_mkdir(g->state, err, errlen) == 0 &&
            kit_groups_mkdir(procs, err, errlen) == 0 &&
            kit_groups_mkdir(g->dir, err, errlen) == 0) {
            g->dirfd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (g->dirfd < 0)
                kit_errf(err, errlen, "cannot open %s: %s", g->dir,
                         kit_strerror(errno, ebuf, sizeof(ebuf)));
        }
    }
    fd = g->dirfd;
    pthread_mutex_unlock(&g->lock);
    return fd;
}

void kit_groups_close(struct kit_groups *g)
{
    if (g->dirfd >= 0)
        close(g->dirfd);
    g->dirfd = -1;
    pthread_mutex_destroy(&g->lock);
}

/* A record's name: the execution id, with anything unusual made '_'. */
static int kit_groups_name(const char *exec_id, char *name, size_t len)
{
    size_t n = 0;

    if (!exec_id || exec_id[0] == '\0' || len < 2)
        return -1;
    for (; exec_id[n] != '\0'; n++) {
        unsigned char c = (unsigned char)exec_id[n];

        if (n + 1 >= len)
            return -1;
        name[n] = isalnum(c) || c == '-' || c == '_' ? (char)c : '_';
    }
    name[n] = '\0';
    return name[0] == '.' ? -1 : 0;
}

static int kit_groups_parse(const char *text, struct kit_group_rec *r)
{
    int version;

    return sscanf(text, "sluice-group %d %63s %ld %llu %ld %llu %ld", &version, r->boot, &r->owner,
                  &r->owner_start, &r->pid, &r->start, &r->pgid) == 7 &&
                   version == 1 && r->pid > 1 && r->pgid > 1
               ? 0
               : -1;
}

static int kit_groups_owner_alive(const struct kit_group_rec *r)
{
    unsigned long long start;
    long pgid;
    char state;

    return kit_groups_stat(r->owner, &state, &pgid, &start) == 0 && start == r->owner_start &&
           state != 'Z' && state != 'X';
}

/*
 * SIGKILL what is left of the group: the leader if it still has its start
 * time, and every live process whose pgid is the group's and that started
 * no earlier than the leader. Returns how many were signalled.
 */
static int kit_groups_kill_once(const struct kit_group_rec *r, int leader_ok)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    if (leader_ok) {
        unsigned long long start;
        long pgid;
        char state;

        if (kit_groups_stat(r->pid, &state, &pgid, &start) == 0 && start == r->start &&
            state != 'Z' && state != 'X') {
            kill((pid_t)r->pid, SIGKILL);
            n++;
        }
    }
    if (!d)
        return n;
    while ((de = readdir(d))) {
        unsigned long long start;
        long pid, pgid;
        char state, *end;

        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || pid == r->pid || pid == (long)getpid())
            continue;
        if (kit_groups_stat(pid, &state, &pgid, &start) != 0 || pgid != r->pgid ||
            start < r->start || state == 'Z' || state == 'X')
            continue;
        kill((pid_t)pid, SIGKILL);
        n++;
    }
    closedir(d);
    return n;
}

static void kit_groups_nap(void)
{
    struct timespec ts = {0, KIT_GROUPS_POLL_MS * 1000000L};

    nanosleep(&ts, NULL);
}

/* What ending one record came to. */
enum kit_groups_end_result {
    KIT_GROUPS_GONE,  /* nothing of it runs any more: remove the record */
    KIT_GROUPS_OTHER, /* its sluiced still runs: not ours */
    KIT_GROUPS_ALIVE  /* still running after SIGKILL and the wait */
};

static enum kit_groups_end_result kit_groups_end_group(const struct kit_groups *g, const char *name,
                                                       const char *text, int self_ok,
                                                       int64_t deadline, char *why, size_t whylen)
{
    struct kit_group_rec r;
    char boot[64], state;
    unsigned long long start;
    long pgid;
    int leader_ok = 0, leader_ran = 0, killed = 0, n;

    why[0] = '\0';
    if (kit_groups_parse(text, &r) != 0)
        return KIT_GROUPS_GONE; /* empty or torn: the child had not reached execve */
    kit_groups_boot(boot, sizeof(boot));
    if (strcmp(boot, r.boot) != 0)
        return KIT_GROUPS_GONE;
    /* In a container sluiced may well get the same pid at every start. */
    if (r.owner == (long)getpid() && r.owner_start == g->self_start ? !self_ok
                                                                    : kit_groups_owner_alive(&r))
        return KIT_GROUPS_OTHER;
    if (kit_groups_stat(r.pid, &state, &pgid, &start) == 0) {
        if (start != r.start) {
            g->host->log(g->host, NULL, SLUICE_LOG_INFO,
                         "%s: execution %s: pid %ld now belongs to another process (start "
                         "time %llu, recorded %llu); left alone",
                         g->dir, name, r.pid, start, r.start);
            return KIT_GROUPS_GONE;
        }
        leader_ok = 1; /* a zombie still holds the pid: the group is ours */
        leader_ran = state != 'Z' && state != 'X';
    }
    for (;;) {
        n = kit_groups_kill_once(&r, leader_ok);
        if (n == 0)
            break;
        killed += n;
        if (kit_now_ms() >= deadline) {
            snprintf(why, whylen, "process group %ld (leader pid %ld) is still alive after SIGKILL",
                     r.pgid, r.pid);
            return KIT_GROUPS_ALIVE;
        }
        kit_groups_nap();
    }
    if (killed > 0)
        g->host->log(g->host, NULL, SLUICE_LOG_WARN,
                     "%s: execution %s: killed process group %ld (leader pid %ld%s), left "
                     "running by a sluiced that stopped while it ran",
                     g->dir, name, r.pgid, r.pid, leader_ran ? "" : ", already gone");
    return KIT_GROUPS_GONE;
}

/* Whether a record was created or truncated less than KIT_GROUPS_FRESH_S ago. */
static int kit_groups_fresh(int dirfd, const char *name)
{
    struct stat sb;
    struct timespec now;

    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
        clock_gettime(CLOCK_REALTIME, &now) != 0)
        return 0;
    return now.tv_sec - sb.st_mtim.tv_sec < KIT_GROUPS_FRESH_S &&
           sb.st_mtim.tv_sec - now.tv_sec < KIT_GROUPS_FRESH_S;
}

/* sluiced --check-config says so (SLUICE_CHECK_CONFIG=1): it runs beside the
 * daemon, or beside the orphans of one that died, and acts on no state. */
static int kit_groups_checking(void)
{
    const char *v = getenv("SLUICE_CHECK_CONFIG");

    return v && strcmp(v, "1") == 0;
}

void kit_groups_sweep(struct kit_groups *g)
{
    int64_t deadline = kit_now_ms() + KIT_GROUPS_WAIT_MS;
    int fd;
    DIR *d;
    struct dirent *de;

    if (kit_groups_checking())
        return; /* the next start of the daemon sweeps */
    if (g->dirfd < 0 || (fd = dup(g->dirfd)) < 0)
        return;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        char text[512], why[256];
        enum kit_groups_end_result res;

        if (de->d_name[0] == '.')
            continue;
        struct kit_group_rec r;

        if (kit_groups_read(g->dirfd, de->d_name, text, sizeof(text)) < 0)
            continue;
        if (kit_groups_parse(text, &r) != 0 && kit_groups_fresh(g->dirfd, de->d_name))
            continue;
        res = kit_groups_end_group(g, de->d_name, text, 0, deadline, why, sizeof(why));
        if (res == KIT_GROUPS_GONE)
            unlinkat(g->dirfd, de->d_name, 0);
        else if (res == KIT_GROUPS_ALIVE)
            g->host->log(g->host, NULL, SLUICE_LOG_ERROR,
                         "%s: execution %s: %s; its next attempt will not start until it is "
                         "gone",
                         g->dir, de->d_name, why);
    }
    closedir(d);
}

int kit_groups_begin(struct kit_groups *g, const char *exec_id, int *fd, char *name, size_t namelen,
                     char *err, size_t errlen)
{
    char text[512], why[256], ebuf[128];

    *fd = -1;
    if (!g || !g->enabled)
        return 0;
    if (kit_groups_dir(g, err, errlen) < 0)
        return -1;
    if (kit_groups_name(exec_id, name, namelen) != 0) {
        kit_errf(err, errlen, "the execution id \"%s\" cannot name a record in %s",
                 exec_id ? exec_id : "", g->dir);
        return -1;
    }
    /* Only a record the sweep could not clear (or a previous attempt of
     * this process, which removes its own) can be here. */
    if (kit_groups_read(g->dirfd, name, text, sizeof(text)) >= 0) {
        switch (kit_groups_end_group(g, name, text, 1, kit_now_ms() + KIT_GROUPS_WAIT_MS, why,
                                     sizeof(why))) {
        case KIT_GROUPS_GONE:
            break;
        case KIT_GROUPS_OTHER:
            kit_errf(err, errlen,
                     "not started: %s/%s says a sluiced that still runs started this "
                     "execution's command",
                     g->dir, name);
            return -1;
        case KIT_GROUPS_ALIVE:
            kit_errf(err, errlen, "not started: an earlier attempt's %s", why);
            return -1;
        }
    }
    *fd = openat(g->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd < 0) {
        kit_errf(err, errlen, "cannot record the command's process group in %s/%s: %s", g->dir,
                 name, kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    return 0;
}

void kit_groups_end(const struct kit_groups *g, int fd, const char *name)
{
    if (fd < 0)
        return;
    close(fd);
    /* A record that comes back after a crash of the machine is of
     * another boot, which the sweep recognises. */
    unlinkat(g->dirfd, name, 0);
}
