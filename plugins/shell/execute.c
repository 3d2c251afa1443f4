/*
 * execute.c - one execution of the shell executor.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The flow's command is run as plugins/kit's command runner runs any
 * command (kit/command/command.c: the event, argv, stdin, the private
 * directory, the clean environment, spawn, supervise, the verdict and the
 * outputs). What is the shell executor's own is only the instance's list of
 * running executions, through which a cancel wakes the supervisor.
 */
#include "shell.h"

#include <stdlib.h>

#include "kit/command/command.h"

/* How long to keep reading after the command exited, for pipes still held
 * by something it left behind, before its process group is killed. */
#define SHELL_DRAIN_MS 250

struct shell_run {
    struct shell_instance *inst;
    struct shell_running running;
    struct kit_command cmd;
};

static void shell_run_track(void *ctx, int wake_fd)
{
    struct shell_run *run = ctx;

    run->running.wake_fd = wake_fd;
    shell_instance_track(run->inst, &run->running);
}

static void shell_run_untrack(void *ctx)
{
    struct shell_run *run = ctx;

    shell_instance_untrack(run->inst, &run->running);
}

int shell_execute(void *instance, sluice_exec *exec)
{
    struct shell_instance *inst = instance;
    const sluice_host *host = inst->host;
    struct shell_run *run = calloc(1, sizeof(*run));
    int rc = SLUICE_ERR;

    if (!run) {
        host->exec_set_error(exec, "out of memory");
        return SLUICE_ERR;
    }
    run->inst = inst;
    run->running.exec = exec;
    run->running.wake_fd = -1;
    run->cmd = (struct kit_command){
        .host = host,
        .exec = exec,
        .cfg = inst->cfg,
        .groups = inst->groups,
        .what = "command",
        .cwd = inst->cfg->cwd,
        .track = shell_run_track,
        .untrack = shell_run_untrack,
        .ctx = run,
        .drain_ms = SHELL_DRAIN_MS,
    };
    if (kit_command_event(&run->cmd) != 0 || kit_command_prepare(&run->cmd) != 0)
        goto out;
    rc = kit_command_run(&run->cmd);
    if (run->cmd.spawned)
        rc = kit_command_outputs(&run->cmd, rc);
out:
    if (rc != SLUICE_OK)
        host->exec_set_error(exec, run->cmd.err[0] ? run->cmd.err : "failed");
    kit_command_cleanup(&run->cmd);
    free(run);
    return rc;
}
