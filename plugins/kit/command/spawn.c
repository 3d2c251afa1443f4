/*
 * spawn.c - start a command in its own process group.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The normal path is clone(CLONE_VM | CLONE_VFORK), as glibc's and musl's
 * posix_spawn() do it: the parent's address space is not copied, so
 * starting a command costs the same whether sluiced is 20 MB or 2 GB,
 * where fork() from a large, busy, multi-threaded parent copies page tables
 * and can be 30 times slower. Calling clone() here rather than
 * posix_spawn() saves what glibc adds around it on every call: an mmap'd
 * stack for the child, whose munmap interrupts every other CPU running a
 * sluiced thread to flush its TLB (8% of a worker's time with /bin/true),
 * and a getrlimit per file action. The child runs on a stack in the
 * parent's frame (the parent is suspended until execve or _exit, which is
 * what musl does) and CLONE_PIDFD hands back the pidfd at once.
 *
 * Sharing the parent's memory, the child may only touch its own stack and
 * the argument block, and call async-signal-safe functions: everything it
 * needs (argv, envp, the group list) is prepared before. All signals are
 * blocked around clone() and the child sets every disposition to the
 * default before unblocking them, so no handler of sluiced's ever runs in
 * it. A failing step records its errno in the argument block for the
 * parent, and the child leaves with _exit.
 *
 * clone with CLONE_VM cannot change the user, though: glibc's setuid()
 * would signal the threads of the process it believes it is part of. So
 * when a flow sets user or group, and only then, the command is started
 * with fork() and the child drops privileges itself before execve(),
 * reporting a failure over a close-on-exec pipe (EOF means execve()
 * succeeded). Both children run the same steps (kit_child_main).
 *
 * The command must not outlive sluiced, nor leave a group behind that a
 * restarted sluiced does not know of. So the child records its pid, start
 * time and group in the execution's file (groups.c) before it can run
 * anything, and sets PR_SET_PDEATHSIG (SIGKILL) as the last step
 * before execve: after the change of user, which clears it. The signal
 * comes when the thread that started the child exits, which is the
 * worker thread waiting for it, gone only with the process. If sluiced
 * died before that, getppid() is no longer the pid it had, and the child
 * leaves instead of running an orphan.
 *
 * Every descriptor is created O_CLOEXEC, so concurrent executions on other
 * threads never leak one command's pipes into another command. On top of
 * that the child closes every descriptor above 2 before execve: whatever
 * sluiced or a library opened without O_CLOEXEC (a database, a listening
 * socket) is none of the command's business.
 */
#define _GNU_SOURCE
#include "kit/command/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/kit.h"

/* close_range: glibc 2.34. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define KIT_HAVE_CLOSEFROM 1
#else
#define KIT_HAVE_CLOSEFROM 0
#endif

enum kit_child_step {
    KIT_STEP_RECORD,
    KIT_STEP_PDEATHSIG,
    KIT_STEP_STDIO,
    KIT_STEP_GROUPS,
    KIT_STEP_GID,
    KIT_STEP_UID,
    KIT_STEP_CWD,
    KIT_STEP_EXEC
};

/*
 * The child's stdio are dup2()ed onto 0, 1 and 2. If a pipe end were
 * itself one of those (sluiced started with a closed stdin, say), dup2 onto
 * itself would keep close-on-exec set and the command would lose that
 * descriptor, so keep every pipe end at 3 or above.
 */
static int kit_fd_high(int fd)
{
    int high;

    if (fd > 2)
        return fd;
    high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return high;
}

static int kit_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fds[0] = kit_fd_high(fds[0]);
    fds[1] = kit_fd_high(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        if (fds[0] >= 0)
            close(fds[0]);
        if (fds[1] >= 0)
            close(fds[1]);
        return -1;
    }
    return 0;
}

static void kit_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int kit_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Where a child reports the step that failed: a pipe (fork) or the
 * parent's memory (clone). */
struct kit_child_report {
    int fd;
    int err;
    enum kit_child_step step;
};

/*
 * ThreadSanitizer intercepts clone() as if it were fork(): in the child it
 * resets its own bookkeeping (every other thread is marked gone, their
 * clocks dropped, "forked while multi-threaded" set). With CLONE_VM that
 * bookkeeping is the parent's, so the parent goes on with lost
 * happens-before edges (false data races on executions freed by the store
 * thread, on settings freed at reload) and dies at its next
 * pthread_create. Under TSan the command is started with fork(), which
 * TSan models correctly; the child runs the same steps.
 */
#if defined(__SANITIZE_THREAD__)
#define KIT_SPAWN_CLONE_OK 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KIT_SPAWN_CLONE_OK 0
#endif
#endif
#ifndef KIT_SPAWN_CLONE_OK
#define KIT_SPAWN_CLONE_OK 1
#endif

/* What the child needs besides the request, prepared by the parent. */
struct kit_child_ctx {
    pid_t parent;       /* getpid() of sluiced */
    int record_fd;      /* the group's record, or -1 */
    const char *prefix; /* the record's first fields */
};

/*
 * The child runs on memory it shares with the parent (clone) or on a copy
 * whose allocator state may be inconsistent (fork): nothing of it may be
 * instrumented by a sanitizer, which keeps state of its own.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__clang__)
#define KIT_CHILD_CODE __attribute__((no_sanitize("address", "undefined"), noinline))
#else
#define KIT_CHILD_CODE __attribute__((noinline))
#endif

/* In the child: report why we could not exec, and leave. */
KIT_CHILD_CODE static void kit_child_fail(struct kit_child_report *rep, enum kit_child_step step)
{
    int msg[2] = {(int)step, errno};
    ssize_t n;

    if (rep->fd < 0) {
        rep->step = step;
        rep->err = errno;
        _exit(127);
    }
    do
        n = write(rep->fd, msg, sizeof(msg));
    while (n < 0 && errno == EINTR);
    _exit(127);
}

/* In the child: the decimal digits of v at buf, returning their count. */
KIT_CHILD_CODE static size_t kit_child_utoa(char *buf, unsigned long long v)
{
    char tmp[24];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* In the child: field 22 of /proc/self/stat, the start time, or -1. */
KIT_CHILD_CODE static int kit_child_start_time(unsigned long long *start)
{
    char st[1024];
    ssize_t n;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    int field = 2;
    ssize_t i, close_paren = -1;

    if (fd < 0)
        return -1;
    n = read(fd, st, sizeof(st) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    for (i = 0; i < n; i++)
        if (st[i] == ')')
            close_paren = i;
    if (close_paren < 0)
        return -1;
    /* Past ')' each space starts the next field. */
    for (i = close_paren + 1; i < n && field < 22; i++)
        if (st[i] == ' ')
            field++;
    if (field != 22 || i >= n || st[i] < '0' || st[i] > '9')
        return -1;
    *start = 0;
    for (; i < n && st[i] >= '0' && st[i] <= '9'; i++)
        *start = *start * 10 + (unsigned long long)(st[i] - '0');
    return 0;
}

/*
 * In the child: "PREFIX PID START PGID\n" into the record before the
 * command can run. Returns 0 or -1 (errno). Not synced: the record has to
 * outlive sluiced, not the kernel, and what a write(2) put in the page
 * cache is there for the next sluiced however this one died; a machine
 * that crashes ends the group as well (groups.c checks the boot id).
 */
KIT_CHILD_CODE static int kit_child_record(const struct kit_child_ctx *cc)
{
    char line[256];
    unsigned long long start;
    size_t n = 0, off = 0;
    ssize_t w;

    if (cc->record_fd < 0)
        return 0;
    if (kit_child_start_time(&start) != 0) {
        errno = EIO;
        return -1;
    }
    for (const char *p = cc->prefix; *p != '\0' && n < 160; p++)
        line[n++] = *p;
    n += kit_child_utoa(line + n, (unsigned long long)getpid());
    line[n++] = ' ';
    n += kit_child_utoa(line + n, start);
    line[n++] = ' ';
    n += kit_child_utoa(line + n, (unsigned long long)getpgid(0));
    line[n++] = '\n';
    while (off < n) {
        w = write(cc->record_fd, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/*
 * The child, after clone or fork: only async-signal-safe calls from here to
 * execve(). Privileges (fork only) are dropped groups first, then gid, then
 * uid (after setuid there is no right left to change the others), and the
 * directory is entered as the target user, so a cwd that user may not
 * enter fails instead of being entered with root's rights.
 */
KIT_CHILD_CODE static void kit_child_main(const struct kit_spawn_req *req,
                                          const struct kit_child_ctx *cc, const int child[3],
                                          struct kit_child_report *rep)
{
    const struct kit_runas *ra = req->runas;
    struct sigaction sa;
    sigset_t none;
    int devnull;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    /* Before the dup2s below, which could land on a low record fd. */
    if (kit_child_record(cc) != 0)
        kit_child_fail(rep, KIT_STEP_RECORD);
    if (child[0] >= 0) {
        if (dup2(child[0], 0) < 0)
            kit_child_fail(rep, KIT_STEP_STDIO);
    } else {
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0)
            kit_child_fail(rep, KIT_STEP_STDIO);
    }
    if (dup2(child[1], 1) < 0 || dup2(child[2], 2) < 0)
        kit_child_fail(rep, KIT_STEP_STDIO);
#if KIT_HAVE_CLOSEFROM
    if (rep->fd < 0) {
        close_range(3, ~0u, 0);
    } else {
        /* All but the report pipe, which must survive until execve. */
        if (rep->fd > 3)
            close_range(3, (unsigned)rep->fd - 1, 0);
        close_range((unsigned)rep->fd + 1, ~0u, 0);
    }
#endif
    if (ra && ra->active) {
        if (setgroups(ra->ngroups, ra->groups) != 0)
            kit_child_fail(rep, KIT_STEP_GROUPS);
        if (setgid(ra->gid) != 0)
            kit_child_fail(rep, KIT_STEP_GID);
        if (ra->change_uid && setuid(ra->uid) != 0)
            kit_child_fail(rep, KIT_STEP_UID);
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        kit_child_fail(rep, KIT_STEP_PDEATHSIG);
    if (getppid() != cc->parent)
        _exit(127); /* sluiced is gone: no one to run this for */
    if (req->cwd && chdir(req->cwd) != 0)
        kit_child_fail(rep, KIT_STEP_CWD);
    execve(req->path, req->argv, req->envp);
    kit_child_fail(rep, KIT_STEP_EXEC);
}

/* What the clone child gets: the request, its stdio, and where to report. */
struct kit_clone_args {
    const struct kit_spawn_req *req;
    const struct kit_child_ctx *cc;
    const int *child;
    struct kit_child_report rep;
};

KIT_CHILD_CODE static int kit_clone_child(void *arg)
{
    struct kit_clone_args *a = arg;

    kit_child_main(a->req, a->cc, a->child, &a->rep);
    return 127; /* not reached: kit_child_main execs or exits */
}

/* Enough for kit_child_main and execve, with room to spare. */
#define KIT_CLONE_STACK (64 * 1024)

/*
 * Start the command with clone(CLONE_VM | CLONE_VFORK): returns 0, or an
 * errno with *step saying what failed. *pidfd gets a pidfd, or -1 when the
 * kernel has no CLONE_PIDFD (before 5.2).
 */
static int kit_spawn_clone(const struct kit_spawn_req *req, const struct kit_child_ctx *cc,
                           const int child[3], pid_t *pid, int *pidfd, enum kit_child_step *step)
{
    _Alignas(16) char stack[KIT_CLONE_STACK];
    struct kit_clone_args a = {req, cc, child, {-1, 0, KIT_STEP_EXEC}};
    int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    sigset_t all, old;
    int err = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    *pidfd = -1;
#ifdef CLONE_PIDFD
    *pid = clone(kit_clone_child, stack + sizeof(stack), flags | CLONE_PIDFD, &a, pidfd);
    if (*pid < 0 && errno == EINVAL)
#endif
        *pid = clone(kit_clone_child, stack + sizeof(stack), flags, &a);
    if (*pid < 0)
        err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0)
        return err;
    /* Back here once the child has exec'd or exited: a step that failed
     * left its errno in a.rep, and the child is gone (exit 127). */
    if (a.rep.err != 0) {
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (*pidfd >= 0)
            close(*pidfd);
        *pidfd = -1;
        *step = a.rep.step;
        return a.rep.err;
    }
    return 0;
}

static int kit_spawn_fork(const struct kit_spawn_req *req, const struct kit_child_ctx *cc,
                          const int child[3], pid_t *pid, enum kit_child_step *step)
{
    int report[2];
    int msg[2];
    ssize_t n;
    size_t got = 0;

    if (kit_pipe(report) != 0)
        return errno;
    *pid = fork();
    if (*pid < 0) {
        int e = errno;

        close(report[0]);
        close(report[1]);
        return e;
    }
    if (*pid == 0) {
        struct kit_child_report rep = {report[1], 0, KIT_STEP_EXEC};

        close(report[0]);
        kit_child_main(req, cc, child, &rep);
    }
    /* Also here, so the group exists before anyone may signal it. */
    setpgid(*pid, *pid);
    close(report[1]);
    while (got < sizeof(msg)) {
        n = read(report[0], (char *)msg + got, sizeof(msg) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(report[0]);
    if (got == 0)
        return 0;
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
        ;
    *step = got == sizeof(msg) ? (enum kit_child_step)msg[0] : KIT_STEP_EXEC;
    return got == sizeof(msg) ? msg[1] : EIO;
}

static const char *kit_step_text(enum kit_child_step step)
{
    switch (step) {
    case KIT_STEP_RECORD:
        return "cannot record the process group of";
    case KIT_STEP_PDEATHSIG:
        return "cannot tie to sluiced's life (PR_SET_PDEATHSIG)";
    case KIT_STEP_STDIO:
        return "cannot set up stdin/stdout/stderr for";
    case KIT_STEP_GROUPS:
        return "cannot set the supplementary groups for";
    case KIT_STEP_GID:
        return "cannot switch group for";
    case KIT_STEP_UID:
        return "cannot switch user for";
    case KIT_STEP_CWD:
        return "cannot enter the working directory for";
    case KIT_STEP_EXEC:
        break;
    }
    return "cannot run";
}

int kit_spawn_start(const struct kit_spawn_req *req, struct kit_proc *proc, char *err,
                    size_t errlen)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    enum kit_child_step step = KIT_STEP_EXEC;
    int use_fork = (req->runas && req->runas->active) || !KIT_SPAWN_CLONE_OK;
    struct kit_child_ctx cc = {.parent = getpid(), .record_fd = -1};
    char ebuf[128];
    int child[3];
    int rc;

    proc->pid = -1;
    proc->pidfd = proc->in_fd = proc->out_fd = proc->err_fd = -1;
    proc->groups = req->groups;
    proc->record_fd = -1;
    proc->record_name[0] = '\0';
    if (kit_groups_begin(req->groups, req->exec_id, &cc.record_fd, proc->record_name,
                         sizeof(proc->record_name), err, errlen) != 0)
        return -1;
    cc.prefix = req->groups ? req->groups->prefix : "";
    if ((req->stdin_pipe && kit_pipe(in) != 0) || kit_pipe(out) != 0 || kit_pipe(errp) != 0 ||
        (in[1] >= 0 && kit_set_nonblock(in[1]) != 0) || kit_set_nonblock(out[0]) != 0 ||
        kit_set_nonblock(errp[0]) != 0) {
        kit_errf(err, errlen, "cannot create pipes: %s", kit_strerror(errno, ebuf, sizeof(ebuf)));
        goto fail;
    }
    child[0] = in[0];
    child[1] = out[1];
    child[2] = errp[1];
    if (use_fork)
        rc = kit_spawn_fork(req, &cc, child, &proc->pid, &step);
    else
        rc = kit_spawn_clone(req, &cc, child, &proc->pid, &proc->pidfd, &step);
    if (rc != 0) {
        kit_errf(err, errlen, "%s %s: %s", kit_step_text(step), req->path,
                 kit_strerror(rc, ebuf, sizeof(ebuf)));
        proc->pid = -1;
        goto fail;
    }
    kit_close(&in[0]);
    kit_close(&out[1]);
    kit_close(&errp[1]);
    proc->in_fd = in[1];
    proc->out_fd = out[0];
    proc->err_fd = errp[0];
    proc->record_fd = cc.record_fd;
#ifdef SYS_pidfd_open
    /* Always close-on-exec; -1 (ENOSYS) before Linux 5.3: then we poll. */
    if (proc->pidfd < 0)
        proc->pidfd = (int)syscall(SYS_pidfd_open, proc->pid, 0);
#endif
    return 0;

fail:
    /* Nothing runs: the child failed before execve, or never existed. */
    kit_groups_end(req->groups, cc.record_fd, proc->record_name);
    kit_close(&in[0]);
    kit_close(&in[1]);
    kit_close(&out[0]);
    kit_close(&out[1]);
    kit_close(&errp[0]);
    kit_close(&errp[1]);
    return -1;
}
