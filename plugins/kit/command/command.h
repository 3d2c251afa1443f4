/*
 * command.h - one run of a command: prepare, spawn, supervise, verdict and
 * outputs, the sequence the shell and git executors share.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Everything one run owns lives in one struct kit_command, which
 * kit_command_cleanup frees whatever step failed. The caller fills the
 * "given" fields, then calls kit_command_event, kit_command_prepare,
 * kit_command_run and kit_command_outputs (or the read/set halves, to add
 * outputs of its own) in that order; each step fails with a message in
 * cmd->err, which the caller hands to the host.
 */
#ifndef KIT_COMMAND_COMMAND_H
#define KIT_COMMAND_COMMAND_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <sluice/plugin.h>

#include "kit/command/groups.h"
#include "kit/command/settings.h"
#include "kit/command/workdir.h"

struct kit_command {
    /* ---- given by the caller (the rest starts zeroed) ---- */
    const sluice_host *host;
    sluice_exec *exec;
    const struct kit_settings *cfg;
    struct kit_groups *groups;
    const char *what; /* "command" or "script", in messages */
    const char *cwd;  /* the child's working directory (NULL: sluiced's) */
    /* When set, argv[slot] is this path instead of the rendered template,
     * and argv errors count from the argument after it. */
    const char *slot_value;
    size_t slot;
    /* Extra variables added after the clean environment: NAME, VALUE, ...,
     * NULL. The settings refuse SLUICE_* names, so these stay as given. */
    const char *const *extra_env;
    /* Hooks into the caller's running list: track is called with the
     * wake-up eventfd before the command starts, untrack by cleanup. */
    void (*track)(void *ctx, int wake_fd);
    void (*untrack)(void *ctx);
    /* Logs the start (NULL: a debug line "started PATH as pid N"). */
    void (*started)(void *ctx, const struct kit_command *cmd, pid_t pid);
    void *ctx;
    int drain_ms; /* how long to read after the command exited */

    /* ---- owned by the run ---- */
    const char *event_text; /* the host's, valid for the execution */
    size_t event_len;
    json_t *event;
    char **argv;
    size_t argc;
    char *body; /* stdin = "body" or "raw" */
    size_t body_len;
    struct kit_workdir wd;
    char **envp;
    char path[PATH_MAX];
    int wake_fd; /* the eventfd, when wake_open */
    int wake_open;
    int spawned; /* the command was started */
    int tracked;
    char err[SLUICE_MAX_ERROR];
};

/* Fetch the event from the host and parse it. 0 or -1 (cmd->err). */
int kit_command_event(struct kit_command *cmd);

/* argv, stdin, the private directory, the environment and the program. */
int kit_command_prepare(struct kit_command *cmd);

/* Start the command, supervise it to the end and turn its exit status (or
 * cancel reason) into SLUICE_OK or SLUICE_ERR, setting the exit code. */
int kit_command_run(struct kit_command *cmd);

/*
 * $SLUICE_OUTPUT, read whatever the result: a failing command may well have
 * written why. A problem with it fails an otherwise successful run (the
 * flow relies on its outputs) and is only logged for one that failed
 * anyway, so the first error stays the one reported. Returns rc, or
 * SLUICE_ERR for such a problem; *obj is the object read, or NULL.
 */
int kit_command_outputs_read(struct kit_command *cmd, int rc, json_t **obj);

/* Hand obj (taken) to the host as the outputs, with the same rule. */
int kit_command_outputs_set(struct kit_command *cmd, int rc, json_t *obj);

/* Both: the outputs are the command's, when it wrote any. */
int kit_command_outputs(struct kit_command *cmd, int rc);

/* The message for a cancel reason ("timed out", ...). */
const char *kit_command_cancel_text(int reason);

/* Free what the run owns and untrack it; cmd may be reused after. */
void kit_command_cleanup(struct kit_command *cmd);

#endif /* KIT_COMMAND_COMMAND_H */
