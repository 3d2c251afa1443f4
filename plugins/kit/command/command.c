/*
 * command.c - one run of a command, as the shell and git executors run it.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The steps, each of which can fail the run with a clear message: parse
 * the event; render argv (or take /bin/sh -c script as it is); prepare
 * stdin; make the private directory with $SLUICE_EVENT and $SLUICE_OUTPUT;
 * build the clean environment; find the program; start it; supervise it to
 * the end; turn its exit status into the result and its $SLUICE_OUTPUT
 * into outputs. Everything lives in one struct kit_command so that a
 * single cleanup path frees it all.
 */
#define _GNU_SOURCE
#include "kit/command/command.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit/command/env.h"
#include "kit/command/payload.h"
#include "kit/command/proc.h"
#include "kit/kit.h"
#include "kit/outputs.h"
#include "kit/template.h"

/* ---- callbacks from the supervisor, forwarded to the host ---- */

static int kit_command_cancelled(void *ctx)
{
    struct kit_command *cmd = ctx;

    return cmd->host->exec_is_cancelled(cmd->exec);
}

static void kit_command_output(void *ctx, int stream, const char *data, size_t len)
{
    struct kit_command *cmd = ctx;

    cmd->host->exec_write_log(cmd->exec, stream, data, len);
}

static void kit_command_note(void *ctx, int level, const char *msg)
{
    struct kit_command *cmd = ctx;

    cmd->host->log(cmd->host, cmd->exec, level, "%s", msg);
}

/* ---- preparation ---- */

int kit_command_event(struct kit_command *cmd)
{
    cmd->event_text = cmd->host->exec_event(cmd->exec, &cmd->event_len);
    if (!cmd->event_text) {
        kit_errf(cmd->err, sizeof(cmd->err), "the host gave no event");
        return -1;
    }
    return kit_payload_event(cmd->cfg, cmd->event_text, cmd->event_len, &cmd->event, cmd->err,
                             sizeof(cmd->err));
}

static int kit_command_argv(struct kit_command *cmd)
{
    const struct kit_settings *cfg = cmd->cfg;

    if (cfg->script) {
        cmd->argv = calloc(4, sizeof(*cmd->argv));
        if (!cmd->argv)
            goto nomem;
        cmd->argc = 3;
        if (!(cmd->argv[0] = strdup("/bin/sh")) || !(cmd->argv[1] = strdup("-c")) ||
            !(cmd->argv[2] = strdup(cfg->script)))
            goto nomem;
        return 0;
    }
    cmd->argv = calloc(cfg->argc + 1, sizeof(*cmd->argv));
    if (!cmd->argv)
        goto nomem;
    for (size_t i = 0; i < cfg->argc; i++) {
        size_t len;

        if (cmd->slot_value && i == cmd->slot) {
            if (!(cmd->argv[i] = strdup(cmd->slot_value)))
                goto nomem;
            cmd->argc++;
            continue;
        }
        if (kit_template_render(cfg->argv[i], cmd->event, &cmd->argv[i], &len) != 0)
            goto nomem;
        cmd->argc++;
        if (strlen(cmd->argv[i]) != len) {
            kit_errf(cmd->err, sizeof(cmd->err),
                     "argv[%zu] (\"%s\") would contain a NUL byte, which an argument cannot "
                     "carry",
                     cmd->slot_value ? i - cmd->slot - 1 : i, kit_template_source(cfg->argv[i]));
            return -1;
        }
    }
    return 0;

nomem:
    kit_errf(cmd->err, sizeof(cmd->err), "out of memory");
    return -1;
}

static int kit_command_env_add(char ***envp, const char *name, const char *value)
{
    size_t n = 0;
    char **grown, *entry;

    while ((*envp)[n])
        n++;
    if (asprintf(&entry, "%s=%s", name, value) < 0)
        return -1;
    grown = realloc(*envp, (n + 2) * sizeof(*grown));
    if (!grown) {
        free(entry);
        return -1;
    }
    grown[n] = entry;
    grown[n + 1] = NULL;
    *envp = grown;
    return 0;
}

static int kit_command_is_executable_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/*
 * A program named without a '/' is looked up in the PATH the command will
 * have (not sluiced's), as execvp would. Only absolute PATH entries count:
 * a relative one would depend on the working directory of the moment.
 */
static int kit_command_find_program(struct kit_command *cmd)
{
    const char *name = cmd->argv[0];
    const char *path = kit_env_get(cmd->envp, "PATH");

    if (strchr(name, '/')) {
        snprintf(cmd->path, sizeof(cmd->path), "%s", name);
        return 0;
    }
    for (const char *p = path ? path : ""; *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);

        if (n > 0 && p[0] == '/' &&
            snprintf(cmd->path, sizeof(cmd->path), "%.*s/%s", (int)n, p, name) <
                (int)sizeof(cmd->path) &&
            kit_command_is_executable_file(cmd->path))
            return 0;
        p += n + (colon ? 1 : 0);
    }
    kit_errf(cmd->err, sizeof(cmd->err), "cannot run \"%s\": not found in PATH=%s", name,
             path ? path : "");
    return -1;
}

int kit_command_prepare(struct kit_command *cmd)
{
    const sluice_host *host = cmd->host;
    const struct kit_settings *cfg = cmd->cfg;
    struct kit_env_facts facts;

    if (kit_command_argv(cmd) != 0)
        return -1;
    if (kit_payload_stdin(cfg, host, cmd->exec, cmd->event, cmd->event_text, cmd->event_len,
                          &cmd->body, &cmd->body_len, cmd->err, sizeof(cmd->err)) != 0)
        return -1;
    if (kit_workdir_create(&cmd->wd, cfg->tmpdir, cmd->event_text, cmd->event_len, &cfg->runas,
                           cmd->err, sizeof(cmd->err)) != 0)
        return -1;
    facts.execution_id = host->exec_meta(cmd->exec, "execution_id");
    facts.flow = host->exec_meta(cmd->exec, "flow");
    facts.trigger = host->exec_meta(cmd->exec, "trigger");
    facts.function = host->exec_meta(cmd->exec, "function");
    facts.request_id = host->exec_meta(cmd->exec, "request_id");
    facts.event_path = cmd->wd.event_path;
    facts.output_path = cmd->wd.output_path;
    cmd->envp = kit_env_build(cfg, cmd->event, &facts, cmd->err, sizeof(cmd->err));
    if (!cmd->envp)
        return -1;
    for (const char *const *e = cmd->extra_env; e && e[0]; e += 2) {
        if (kit_command_env_add(&cmd->envp, e[0], e[1]) != 0) {
            kit_errf(cmd->err, sizeof(cmd->err), "out of memory");
            return -1;
        }
    }
    return kit_command_find_program(cmd);
}

/* ---- the result ---- */

const char *kit_command_cancel_text(int reason)
{
    switch (reason) {
    case SLUICE_CANCEL_TIMEOUT:
        return "timed out";
    case SLUICE_CANCEL_SHUTDOWN:
        return "cancelled: sluiced is shutting down";
    default:
        return "cancelled";
    }
}

static const char *kit_command_signal_name(int sig, char *buf, size_t len)
{
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev)
        snprintf(buf, len, " (SIG%s)", abbrev);
    else
        buf[0] = '\0';
    return buf;
}

static int kit_command_code_ok(const struct kit_settings *cfg, int code)
{
    for (size_t i = 0; i < cfg->nsuccess; i++)
        if (cfg->success_codes[i] == code)
            return 1;
    return 0;
}

/* Exit status and cancel reason to SLUICE_OK/SLUICE_ERR, with the message. */
static int kit_command_verdict(struct kit_command *cmd, const struct kit_outcome *oc)
{
    char sig[32];
    int code = -1;

    if (!oc->reaped) {
        kit_errf(cmd->err, sizeof(cmd->err),
                 "the %s's exit status was lost: it was reaped elsewhere (sluiced must "
                 "not ignore SIGCHLD)",
                 cmd->what);
        return SLUICE_ERR;
    }
    if (WIFEXITED(oc->status))
        code = WEXITSTATUS(oc->status);
    else if (WIFSIGNALED(oc->status))
        code = 128 + WTERMSIG(oc->status);
    if (code >= 0)
        cmd->host->exec_set_exit_code(cmd->exec, code);
    if (oc->cancel_reason != SLUICE_CANCEL_NONE) {
        kit_errf(cmd->err, sizeof(cmd->err), "%s; process group killed",
                 kit_command_cancel_text(oc->cancel_reason));
        return SLUICE_ERR;
    }
    if (WIFSIGNALED(oc->status)) {
        kit_errf(cmd->err, sizeof(cmd->err), "killed by signal %d%s", WTERMSIG(oc->status),
                 kit_command_signal_name(WTERMSIG(oc->status), sig, sizeof(sig)));
        return SLUICE_ERR;
    }
    if (!kit_command_code_ok(cmd->cfg, code)) {
        kit_errf(cmd->err, sizeof(cmd->err), "exit code %d", code);
        return SLUICE_ERR;
    }
    return SLUICE_OK;
}

int kit_command_run(struct kit_command *cmd)
{
    const sluice_host *host = cmd->host;
    const struct kit_settings *cfg = cmd->cfg;
    struct kit_spawn_req req;
    struct kit_watch watch;
    struct kit_outcome oc;
    struct kit_proc proc;
    int cancelled;

    /* A timeout may pass while the execution waited in the queue. */
    if ((cancelled = host->exec_is_cancelled(cmd->exec)) != SLUICE_CANCEL_NONE) {
        kit_errf(cmd->err, sizeof(cmd->err), "%s before the %s started",
                 kit_command_cancel_text(cancelled), cmd->what);
        return SLUICE_ERR;
    }
    cmd->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    cmd->wake_open = 1;
    if (cmd->track)
        cmd->track(cmd->ctx, cmd->wake_fd);
    cmd->tracked = 1;

    req = (struct kit_spawn_req){
        .path = cmd->path,
        .argv = cmd->argv,
        .envp = cmd->envp,
        .cwd = cmd->cwd,
        .runas = &cfg->runas,
        .stdin_pipe = cfg->stdin_mode != KIT_STDIN_NONE,
        .groups = cmd->groups,
        .exec_id = host->exec_meta(cmd->exec, "execution_id"),
    };
    if (kit_spawn_start(&req, &proc, cmd->err, sizeof(cmd->err)) != 0)
        return SLUICE_ERR;
    cmd->spawned = 1;
    if (cmd->started)
        cmd->started(cmd->ctx, cmd, proc.pid);
    else
        host->log(host, cmd->exec, SLUICE_LOG_DEBUG, "started %s as pid %d", cmd->path,
                  (int)proc.pid);

    watch = (struct kit_watch){
        .stdin_data = cmd->body ? cmd->body : cmd->event_text,
        .stdin_len = cmd->body                            ? cmd->body_len
                     : cfg->stdin_mode == KIT_STDIN_EVENT ? cmd->event_len
                                                          : 0,
        .kill_grace_ms = cfg->kill_grace_ms,
        .drain_ms = cmd->drain_ms,
        .wake_fd = cmd->wake_fd,
        .cancelled = kit_command_cancelled,
        .output = kit_command_output,
        .note = kit_command_note,
        .ctx = cmd,
    };
    kit_supervise(&proc, &watch, &oc);
    return kit_command_verdict(cmd, &oc);
}

/* ---- outputs ---- */

int kit_command_outputs_read(struct kit_command *cmd, int rc, json_t **obj)
{
    const struct kit_runas *ra = &cmd->cfg->runas;

    return kit_outputs_read(cmd->host, cmd->exec, cmd->wd.output_path,
                            ra->change_uid ? ra->uid : (uid_t)-1, rc, obj, cmd->err,
                            sizeof(cmd->err));
}

int kit_command_outputs_set(struct kit_command *cmd, int rc, json_t *obj)
{
    return kit_outputs_set(cmd->host, cmd->exec, obj, rc, cmd->err, sizeof(cmd->err));
}

int kit_command_outputs(struct kit_command *cmd, int rc)
{
    json_t *obj;

    rc = kit_command_outputs_read(cmd, rc, &obj);
    return obj ? kit_command_outputs_set(cmd, rc, obj) : rc;
}

void kit_command_cleanup(struct kit_command *cmd)
{
    if (cmd->tracked && cmd->untrack)
        cmd->untrack(cmd->ctx);
    cmd->tracked = 0;
    if (cmd->wake_open && cmd->wake_fd >= 0)
        close(cmd->wake_fd);
    cmd->wake_open = 0;
    kit_workdir_remove(&cmd->wd);
    kit_env_free(cmd->envp);
    cmd->envp = NULL;
    for (size_t i = 0; cmd->argv && i <= cmd->argc; i++)
        free(cmd->argv[i]);
    free(cmd->argv);
    cmd->argv = NULL;
    cmd->argc = 0;
    free(cmd->body);
    cmd->body = NULL;
    json_decref(cmd->event);
    cmd->event = NULL;
}
