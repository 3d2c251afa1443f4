/*
 * proc.h - start a command and watch it until it and its group are gone.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_PROC_H
#define KIT_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kit/command/groups.h"
#include "kit/command/runas.h"

/* What to start. */
struct kit_spawn_req {
    const char *path;              /* the program: absolute, or relative to cwd */
    char *const *argv;             /* NULL-terminated */
    char *const *envp;             /* NULL-terminated, the complete environment */
    const char *cwd;               /* NULL: sluiced's own */
    const struct kit_runas *runas; /* NULL or inactive: run as sluiced */
    int stdin_pipe;                /* 1: a pipe the supervisor feeds; 0: /dev/null */
    /* Where the group is recorded before execve (NULL: not recorded), and
     * for which execution. */
    struct kit_groups *groups;
    const char *exec_id;
};

/* A started command: its pid (also its process group) and the parent's
 * ends of its pipes (-1 when absent), all O_CLOEXEC and non-blocking. */
struct kit_proc {
    pid_t pid;
    int pidfd; /* readable when pid exits; -1 when the kernel has none */
    int in_fd;
    int out_fd;
    int err_fd;
    /* The group's record, removed once the group is gone (fd -1: none). */
    const struct kit_groups *groups;
    int record_fd;
    char record_name[64];
};

/*
 * Start the command in a new process group (pgid = pid) with a clean
 * signal mask and default dispositions, stdout and stderr on pipes, and
 * stdin on a pipe or /dev/null. It gets SIGKILL when the thread that
 * started it exits (sluiced dying), and its group is recorded in
 * req->groups before it runs. Returns 0, or -1 with err set when the
 * command could not be started (nothing is left running).
 */
int kit_spawn_start(const struct kit_spawn_req *req, struct kit_proc *proc, char *err,
                    size_t errlen);

/* How the supervisor reports back to its caller. */
struct kit_watch {
    const char *stdin_data; /* fed to proc->in_fd, then closed */
    size_t stdin_len;
    long kill_grace_ms; /* SIGTERM to SIGKILL after a cancel */
    long drain_ms;      /* how long to keep reading after the command exited */
    int wake_fd;        /* readable when someone called cancel, or -1 */
    /* The SLUICE_CANCEL_* reason to stop for, or 0. Polled at least every
     * 100 ms and whenever wake_fd fires. */
    int (*cancelled)(void *ctx);
    void (*output)(void *ctx, int stream, const char *data, size_t len);
    void (*note)(void *ctx, int level, const char *msg);
    void *ctx;
};

struct kit_outcome {
    int status;        /* from waitpid; valid when reaped */
    int reaped;        /* 0 when the child was reaped by someone else */
    int cancel_reason; /* nonzero when the command was stopped for a cancel */
};

/*
 * Feed stdin, stream stdout/stderr to watch->output, and stop the process
 * group on cancel (SIGTERM, then SIGKILL after kill_grace_ms). When the
 * command exits, keep reading until its pipes reach EOF or drain_ms pass,
 * then SIGKILL whatever is left of its process group (a backgrounded
 * grandchild must not outlive the execution), and reap the command. Always
 * closes proc's descriptors and removes the group's record. SIGPIPE is
 * blocked on the calling thread while it runs, so a command that closes
 * its stdin cannot kill sluiced.
 */
void kit_supervise(struct kit_proc *proc, const struct kit_watch *watch, struct kit_outcome *out);

#endif /* KIT_PROC_H */
