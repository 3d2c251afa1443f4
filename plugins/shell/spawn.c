/*
 * spawn.c - start a command in its own process group.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The normal path is posix_spawn(). glibc implements it with
 * clone(CLONE_VM | CLONE_VFORK): the parent's address space is not copied,
 * so starting a command costs the same whether sluiced is 20 MB or 2 GB,
 * where fork() from a large, busy, multi-threaded parent copies page tables
 * and can be 30 times slower.
 *
 * posix_spawn() cannot change the user, though: there is no file action or
 * attribute for setgroups/setgid/setuid. So when a flow sets user or group,
 * and only then, the command is started with fork() and the child drops
 * privileges itself before execve(). Everything the child needs (argv,
 * envp, the group list) is prepared before fork(), because after fork() in a
 * multi-threaded process the child may only call async-signal-safe
 * functions. A close-on-exec pipe reports a failure in the child (errno
 * and the step that failed) back to the parent; EOF on it means execve()
 * succeeded.
 *
 * Every descriptor is created O_CLOEXEC, so concurrent executions on other
 * threads never leak one command's pipes into another command. On top of
 * that the child closes every descriptor above 2 before execve: whatever
 * sluiced or a library opened without O_CLOEXEC (a database, a listening
 * socket) is none of the command's business.
 */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* posix_spawn_file_actions_addchdir_np appeared in glibc 2.29. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define SHELL_HAVE_ADDCHDIR 1
#else
#define SHELL_HAVE_ADDCHDIR 0
#endif

/* posix_spawn_file_actions_addclosefrom_np and closefrom: glibc 2.34. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define SHELL_HAVE_CLOSEFROM 1
#else
#define SHELL_HAVE_CLOSEFROM 0
#endif

enum shell_child_step {
    SHELL_STEP_STDIO,
    SHELL_STEP_GROUPS,
    SHELL_STEP_GID,
    SHELL_STEP_UID,
    SHELL_STEP_CWD,
    SHELL_STEP_EXEC
};

/*
 * The child's stdio are dup2()ed onto 0, 1 and 2. If a pipe end were
 * itself one of those (sluiced started with a closed stdin, say), dup2 onto
 * itself would keep close-on-exec set and the command would lose that
 * descriptor, so keep every pipe end at 3 or above.
 */
static int shell_fd_high(int fd)
{
    int high;

    if (fd > 2)
        return fd;
    high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return high;
}

static int shell_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fds[0] = shell_fd_high(fds[0]);
    fds[1] = shell_fd_high(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        if (fds[0] >= 0)
            close(fds[0]);
        if (fds[1] >= 0)
            close(fds[1]);
        return -1;
    }
    return 0;
}

static void shell_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int shell_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int shell_spawn_posix(const struct shell_spawn_req *req, const int child[3], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int rc;

    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if (child[0] >= 0)
        rc = posix_spawn_file_actions_adddup2(&fa, child[0], 0);
    else
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, child[1], 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, child[2], 2);
#if SHELL_HAVE_CLOSEFROM
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
#if SHELL_HAVE_ADDCHDIR
    if (rc == 0 && req->cwd != NULL)
        rc = posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
#endif
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0)
        rc = posix_spawn(pid, req->path, &fa, &attr, req->argv, req->envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* In the forked child: report why we could not exec, and leave. */
static void shell_child_fail(int report, enum shell_child_step step)
{
    int msg[2] = {(int)step, errno};
    ssize_t n;

    do
        n = write(report, msg, sizeof(msg));
    while (n < 0 && errno == EINTR);
    _exit(127);
}

/*
 * The child side of the fork path: only async-signal-safe calls from here
 * to execve(). Privileges are dropped groups first, then gid, then uid
 * (after setuid there is no right left to change the others), and the
 * directory is entered as the target user, so a cwd that user may not
 * enter fails instead of being entered with root's rights.
 */
static void shell_child_main(const struct shell_spawn_req *req, const int child[3], int report)
{
    const struct shell_runas *ra = req->runas;
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
    if (child[0] >= 0) {
        if (dup2(child[0], 0) < 0)
            shell_child_fail(report, SHELL_STEP_STDIO);
    } else {
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0)
            shell_child_fail(report, SHELL_STEP_STDIO);
    }
    if (dup2(child[1], 1) < 0 || dup2(child[2], 2) < 0)
        shell_child_fail(report, SHELL_STEP_STDIO);
#if SHELL_HAVE_CLOSEFROM
    /* All but the report pipe, which must survive until execve. */
    if (report > 3)
        close_range(3, (unsigned)report - 1, 0);
    close_range((unsigned)report + 1, ~0u, 0);
#endif
    if (ra != NULL && ra->active) {
        if (setgroups(ra->ngroups, ra->groups) != 0)
            shell_child_fail(report, SHELL_STEP_GROUPS);
        if (setgid(ra->gid) != 0)
            shell_child_fail(report, SHELL_STEP_GID);
        if (ra->change_uid && setuid(ra->uid) != 0)
            shell_child_fail(report, SHELL_STEP_UID);
    }
    if (req->cwd != NULL && chdir(req->cwd) != 0)
        shell_child_fail(report, SHELL_STEP_CWD);
    execve(req->path, req->argv, req->envp);
    shell_child_fail(report, SHELL_STEP_EXEC);
}

static int shell_spawn_fork(const struct shell_spawn_req *req, const int child[3], pid_t *pid,
                            enum shell_child_step *step)
{
    int report[2];
    int msg[2];
    ssize_t n;
    size_t got = 0;

    if (shell_pipe(report) != 0)
        return errno;
    *pid = fork();
    if (*pid < 0) {
        int e = errno;

        close(report[0]);
        close(report[1]);
        return e;
    }
    if (*pid == 0) {
        close(report[0]);
        shell_child_main(req, child, report[1]);
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
    *step = got == sizeof(msg) ? (enum shell_child_step)msg[0] : SHELL_STEP_EXEC;
    return got == sizeof(msg) ? msg[1] : EIO;
}

static const char *shell_step_text(enum shell_child_step step)
{
    switch (step) {
    case SHELL_STEP_STDIO:
        return "cannot set up stdin/stdout/stderr for";
    case SHELL_STEP_GROUPS:
        return "cannot set the supplementary groups for";
    case SHELL_STEP_GID:
        return "cannot switch group for";
    case SHELL_STEP_UID:
        return "cannot switch user for";
    case SHELL_STEP_CWD:
        return "cannot enter the working directory for";
    case SHELL_STEP_EXEC:
        break;
    }
    return "cannot run";
}

int shell_spawn_start(const struct shell_spawn_req *req, struct shell_proc *proc, char *err,
                      size_t errlen)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    enum shell_child_step step = SHELL_STEP_EXEC;
    int use_fork = req->runas != NULL && req->runas->active;
    char ebuf[128];
    int child[3];
    int rc;

    proc->pid = -1;
    proc->pidfd = proc->in_fd = proc->out_fd = proc->err_fd = -1;
    if ((req->stdin_pipe && shell_pipe(in) != 0) || shell_pipe(out) != 0 || shell_pipe(errp) != 0 ||
        (in[1] >= 0 && shell_set_nonblock(in[1]) != 0) || shell_set_nonblock(out[0]) != 0 ||
        shell_set_nonblock(errp[0]) != 0) {
        shell_errf(err, errlen, "cannot create pipes: %s",
                   shell_strerror(errno, ebuf, sizeof(ebuf)));
        goto fail;
    }
    child[0] = in[0];
    child[1] = out[1];
    child[2] = errp[1];
    if (!SHELL_HAVE_ADDCHDIR && req->cwd != NULL)
        use_fork = 1;
    if (use_fork)
        rc = shell_spawn_fork(req, child, &proc->pid, &step);
    else
        rc = shell_spawn_posix(req, child, &proc->pid);
    if (rc != 0) {
        shell_errf(err, errlen, "%s %s: %s", shell_step_text(step), req->path,
                   shell_strerror(rc, ebuf, sizeof(ebuf)));
        proc->pid = -1;
        goto fail;
    }
    shell_close(&in[0]);
    shell_close(&out[1]);
    shell_close(&errp[1]);
    proc->in_fd = in[1];
    proc->out_fd = out[0];
    proc->err_fd = errp[0];
#ifdef SYS_pidfd_open
    /* Always close-on-exec; -1 (ENOSYS) before Linux 5.3: then we poll. */
    proc->pidfd = (int)syscall(SYS_pidfd_open, proc->pid, 0);
#endif
    return 0;

fail:
    shell_close(&in[0]);
    shell_close(&in[1]);
    shell_close(&out[0]);
    shell_close(&out[1]);
    shell_close(&errp[0]);
    shell_close(&errp[1]);
    return -1;
}
