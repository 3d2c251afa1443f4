/*
 * supervise.c - watch a started command until it and its group are gone.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * One poll() loop per execution multiplexes everything: stdout and stderr
 * are read as they come and handed on in chunks, stdin is written through a
 * non-blocking pipe only when the pipe has room (so a command that never
 * reads its stdin cannot deadlock us against a full pipe), a pidfd says
 * when the command exits, and an eventfd written by the plugin's cancel
 * callback makes a cancel prompt. The loop never sleeps longer than 100 ms,
 * so exec_is_cancelled is polled at least that often as the ABI asks.
 *
 * Process-group hygiene: the command leads its own group (pgid = pid).
 * Its exit is detected with waitid(WNOWAIT), which leaves it a zombie; a
 * zombie keeps its pid, so the pgid cannot be recycled for an unrelated
 * group while we still send signals to it. Only after the final
 * killpg(SIGKILL) is the command reaped.
 */
#define _GNU_SOURCE
#include "kit/command/proc.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sluice/plugin.h>

#include "kit/kit.h"

#define KIT_READ_CHUNK (64 * 1024)
#define KIT_POLL_MS 100
/* Without a pidfd, exit is only seen by polling waitid. */
#define KIT_POLL_NOPIDFD_MS 10
/* Bytes read per stream after the final SIGKILL, against an escaped
 * writer (a setsid() grandchild) that would otherwise keep us here. */
#define KIT_FINAL_DRAIN_MAX (4u * 1024u * 1024u)

struct kit_sv {
    struct kit_proc *proc;
    const struct kit_watch *w;
    char *buf;
    size_t in_off;
    int exited;
    int lost; /* someone else reaped the command (SIGCHLD set to SIG_IGN?) */
    int64_t exit_at;
    int term_sent;
    int64_t term_at;
    int kill_sent;
    int woken;
    int cancel_reason;
    int sigpipe_was_pending;
};

static void kit_sv_note(struct kit_sv *sv, int level, const char *fmt, ...) SLUICE_PRINTF(3, 4);

static void kit_sv_note(struct kit_sv *sv, int level, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    if (!sv->w->note)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sv->w->note(sv->w->ctx, level, msg);
}

static void kit_sv_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Read one chunk; EOF or a real error closes our end. */
static void kit_sv_read(struct kit_sv *sv, int *fd, int stream)
{
    ssize_t n = read(*fd, sv->buf, KIT_READ_CHUNK);

    if (n > 0)
        sv->w->output(sv->w->ctx, stream, sv->buf, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        kit_sv_close(fd);
}

/*
 * Write as much stdin as the pipe takes now. A command that exits or
 * closes its stdin early gives EPIPE: that is normal, not an error (the
 * SIGPIPE that comes with it is dealt with in kit_supervise).
 */
static void kit_sv_write(struct kit_sv *sv)
{
    const struct kit_watch *w = sv->w;
    ssize_t n;

    if (sv->in_off >= w->stdin_len) {
        kit_sv_close(&sv->proc->in_fd);
        return;
    }
    n = write(sv->proc->in_fd, w->stdin_data + sv->in_off, w->stdin_len - sv->in_off);
    if (n > 0) {
        sv->in_off += (size_t)n;
        if (sv->in_off >= w->stdin_len)
            kit_sv_close(&sv->proc->in_fd);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    kit_sv_close(&sv->proc->in_fd);
}

/* Has the command exited? Leaves it a zombie (see the top of the file). */
static void kit_sv_check_exit(struct kit_sv *sv, int64_t now)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)sv->proc->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
        if (si.si_pid != sv->proc->pid)
            return;
    } else if (errno == ECHILD) {
        sv->lost = 1;
    } else {
        return;
    }
    sv->exited = 1;
    sv->exit_at = now;
}

static const char *kit_sv_reason(int reason)
{
    switch (reason) {
    case SLUICE_CANCEL_TIMEOUT:
        return "timeout";
    case SLUICE_CANCEL_SHUTDOWN:
        return "shutdown";
    default:
        return "cancel";
    }
}

/* Once per loop: start or escalate a stop when a cancel has come in. */
static void kit_sv_cancel_step(struct kit_sv *sv, int64_t now)
{
    const struct kit_watch *w = sv->w;
    pid_t pgid = sv->proc->pid;

    if (!sv->exited && !sv->term_sent) {
        int reason = w->cancelled ? w->cancelled(w->ctx) : 0;

        if (reason == 0 && sv->woken)
            reason = SLUICE_CANCEL_REQUEST;
        if (reason != 0) {
            sv->cancel_reason = reason;
            sv->term_sent = 1;
            sv->term_at = now;
            killpg(pgid, SIGTERM);
            kit_sv_close(&sv->proc->in_fd);
            kit_sv_note(sv, SLUICE_LOG_INFO,
                        "%s: sent SIGTERM to process group %d, SIGKILL in %ld ms",
                        kit_sv_reason(reason), (int)pgid, w->kill_grace_ms);
        }
    }
    if (sv->term_sent && !sv->kill_sent && !sv->exited && now - sv->term_at >= w->kill_grace_ms) {
        sv->kill_sent = 1;
        killpg(pgid, SIGKILL);
        kit_sv_note(sv, SLUICE_LOG_WARN,
                    "process group %d still running %ld ms after SIGTERM: sent SIGKILL", (int)pgid,
                    w->kill_grace_ms);
    }
}

static int kit_sv_timeout(const struct kit_sv *sv, int64_t now, int64_t deadline)
{
    int64_t left = deadline - now;
    int timeout = KIT_POLL_MS;

    if (left < timeout)
        timeout = left < 0 ? 0 : (int)left;
    if (!sv->exited && sv->proc->pidfd < 0 && timeout > KIT_POLL_NOPIDFD_MS)
        timeout = KIT_POLL_NOPIDFD_MS;
    return timeout;
}

/* After the final SIGKILL: take what is still buffered, boundedly. */
static void kit_sv_final_drain(struct kit_sv *sv, int *fd, int stream)
{
    size_t taken = 0;

    while (*fd >= 0 && taken < KIT_FINAL_DRAIN_MAX) {
        ssize_t n = read(*fd, sv->buf, KIT_READ_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sv->w->output(sv->w->ctx, stream, sv->buf, (size_t)n);
        taken += (size_t)n;
    }
    kit_sv_close(fd);
}

static void kit_sv_loop(struct kit_sv *sv)
{
    struct kit_proc *proc = sv->proc;
    const struct kit_watch *w = sv->w;

    if (proc->in_fd >= 0 && w->stdin_len == 0)
        kit_sv_close(&proc->in_fd);
    for (;;) {
        int64_t now = kit_now_ms();
        int64_t deadline = now + KIT_POLL_MS;
        struct pollfd pfd[5];
        int idx_out = -1, idx_err = -1, idx_in = -1, idx_wake = -1;
        nfds_t n = 0;

        kit_sv_cancel_step(sv, now);
        if (!sv->exited)
            kit_sv_check_exit(sv, now);
        if (sv->exited) {
            kit_sv_close(&proc->in_fd);
            deadline = sv->term_sent ? sv->term_at + w->kill_grace_ms : sv->exit_at + w->drain_ms;
            if ((proc->out_fd < 0 && proc->err_fd < 0) || now >= deadline)
                break;
        } else if (sv->term_sent && !sv->kill_sent) {
            deadline = sv->term_at + w->kill_grace_ms;
        }
        if (proc->out_fd >= 0) {
            idx_out = (int)n;
            pfd[n++] = (struct pollfd){.fd = proc->out_fd, .events = POLLIN};
        }
        if (proc->err_fd >= 0) {
            idx_err = (int)n;
            pfd[n++] = (struct pollfd){.fd = proc->err_fd, .events = POLLIN};
        }
        if (proc->in_fd >= 0) {
            idx_in = (int)n;
            pfd[n++] = (struct pollfd){.fd = proc->in_fd, .events = POLLOUT};
        }
        if (w->wake_fd >= 0 && !sv->woken) {
            idx_wake = (int)n;
            pfd[n++] = (struct pollfd){.fd = w->wake_fd, .events = POLLIN};
        }
        /* Only a wake-up: the next round's waitid says what happened. */
        if (proc->pidfd >= 0 && !sv->exited)
            pfd[n++] = (struct pollfd){.fd = proc->pidfd, .events = POLLIN};
        if (poll(pfd, n, kit_sv_timeout(sv, now, deadline)) <= 0)
            continue;
        if (idx_out >= 0 && pfd[idx_out].revents != 0)
            kit_sv_read(sv, &proc->out_fd, SLUICE_STDOUT);
        if (idx_err >= 0 && pfd[idx_err].revents != 0)
            kit_sv_read(sv, &proc->err_fd, SLUICE_STDERR);
        if (idx_in >= 0 && pfd[idx_in].revents != 0 && proc->in_fd >= 0)
            kit_sv_write(sv);
        if (idx_wake >= 0 && pfd[idx_wake].revents != 0)
            sv->woken = 1;
    }
}

/*
 * Writing to a pipe whose reader is gone raises SIGPIPE on this thread
 * (even a write that still got some bytes through can raise it). It was
 * blocked while we wrote, so it is pending now: take it off before the old
 * mask comes back, unless one was already pending before we started, which
 * is then not ours to swallow.
 */
static void kit_sv_forget_sigpipe(const struct kit_sv *sv, const sigset_t *pipeset)
{
    static const struct timespec zero = {0, 0};
    sigset_t pending;

    if (sv->sigpipe_was_pending || sigpending(&pending) != 0 || !sigismember(&pending, SIGPIPE))
        return;
    while (sigtimedwait(pipeset, NULL, &zero) < 0 && errno == EINTR)
        ;
}

void kit_supervise(struct kit_proc *proc, const struct kit_watch *watch, struct kit_outcome *out)
{
    struct kit_sv sv = {.proc = proc, .w = watch};
    sigset_t pipeset, oldmask, pending;
    int status = 0;

    memset(out, 0, sizeof(*out));
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
    if (sigpending(&pending) == 0)
        sv.sigpipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
    sv.buf = malloc(KIT_READ_CHUNK);
    if (!sv.buf) {
        /* Cannot read: still stop and reap the command rather than leak it. */
        killpg(proc->pid, SIGKILL);
        sv.exited = 1;
    } else {
        kit_sv_loop(&sv);
    }
    kit_sv_close(&proc->in_fd);
    if (!sv.lost)
        killpg(proc->pid, SIGKILL);
    if (sv.buf) {
        kit_sv_final_drain(&sv, &proc->out_fd, SLUICE_STDOUT);
        kit_sv_final_drain(&sv, &proc->err_fd, SLUICE_STDERR);
    }
    kit_sv_close(&proc->out_fd);
    kit_sv_close(&proc->err_fd);
    kit_sv_close(&proc->pidfd);
    if (!sv.lost) {
        pid_t r;

        do
            r = waitpid(proc->pid, &status, 0);
        while (r < 0 && errno == EINTR);
        out->reaped = r == proc->pid;
        out->status = status;
    }
    /* Reaped, and its group killed: nothing of it is left to find. */
    if (!sv.lost)
        kit_groups_end(proc->groups, proc->record_fd, proc->record_name);
    else if (proc->record_fd >= 0)
        close(proc->record_fd);
    proc->record_fd = -1;
    out->cancel_reason = sv.cancel_reason;
    free(sv.buf);
    kit_sv_forget_sigpipe(&sv, &pipeset);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
}
