/*
 * settings.h - the container executor's per-flow configuration.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef CTR_SETTINGS_H
#define CTR_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "kit/template.h"

enum ctr_pull { CTR_PULL_NEVER, CTR_PULL_MISSING, CTR_PULL_ALWAYS };

/* env: a value rendered against the event for every execution. */
struct ctr_env_var {
    char *name;
    kit_template *value;
};

/* secrets: a literal value, never parsed for placeholders nor logged. */
struct ctr_secret {
    char *name;
    char *value;
};

struct ctr_ulimit {
    char name[16];
    int64_t soft;
    int64_t hard;
};

/* A bind mount of a host path; read-only unless the flow says otherwise. */
struct ctr_mount {
    char *source;
    char *target;
    int read_only;
};

/* A list of templates: command or entrypoint. present = the key was set. */
struct ctr_argv {
    kit_template **items;
    size_t n;
    int present;
};

/*
 * One validated flow configuration. Immutable after ctr_settings_parse, so
 * any number of executions read it at once without a lock. What comes from
 * sluiced's environment ($DOCKER_HOST, $TMPDIR) is read here, on the main
 * thread, never during an execution.
 */
struct ctr_settings {
    char *socket; /* the engine's unix socket, a path */
    int socket_explicit;
    char *image;
    struct ctr_argv command;
    struct ctr_argv entrypoint;
    struct ctr_env_var *env;
    size_t nenv;
    struct ctr_secret *secrets;
    size_t nsecrets;
    int stdin_event;
    char *network;
    int64_t memory;     /* bytes, 0 = the engine's default */
    int64_t nano_cpus;  /* 1e9 per CPU, 0 = unlimited */
    int64_t pids_limit; /* 0 = the engine's default */
    struct ctr_ulimit *ulimits;
    size_t nulimits;
    char *user;
    int read_only_rootfs;
    struct ctr_mount *mounts;
    size_t nmounts;
    enum ctr_pull pull;
    long timeout_ms; /* 0 = only the flow's timeout */
    int keep;
    char *work_dir; /* where per-execution host directories are made */
};

/* Where the engine finds the event and the outputs inside the container. */
#define CTR_EVENT_PATH "/sluice/event.json"
#define CTR_OUT_DIR "/sluice/out"
#define CTR_OUTPUT_PATH "/sluice/out/outputs"

/* The smallest memory limit engines accept (Docker refuses less than 6 MiB). */
#define CTR_MIN_MEMORY (6 * 1024 * 1024)

/*
 * Parse and validate cfg_json (the flow's config group as a JSON object).
 * Every error reads "<where>: container: <what>". Returns 0 and sets *out,
 * or -1 with err set.
 */
int ctr_settings_parse(struct ctr_settings **out, const char *cfg_json, size_t cfg_len,
                       const char *where, char *err, size_t errlen);

void ctr_settings_free(struct ctr_settings *cfg);

/* Nonzero when name matches [A-Za-z_][A-Za-z0-9_]*. */
int ctr_settings_env_name_ok(const char *name);

/* "never", "missing" or "always". */
const char *ctr_pull_name(enum ctr_pull pull);

#endif /* CTR_SETTINGS_H */
