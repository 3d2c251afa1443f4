/*
 * settings.h - what a command is: the shell executor's per-flow config, which
 * the git executor also reads for its script.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * What a flow's config group may hold (anything else is an error):
 *
 *     argv        ["/opt/deploy.sh", "{body.ref}", "--user={query.u}"]
 *                 a program and its arguments, run without a shell.
 *                 Placeholders (see template.h) fill arguments, each
 *                 element stays exactly one argument; argv[0] is fixed.
 *     script      "make -C /srv/app \"$TARGET\""
 *                 sh text run as /bin/sh -c; never holds placeholders:
 *                 the payload reaches it only through env, stdin and
 *                 $SLUICE_EVENT. Exactly one of argv and script.
 *     env         { TARGET = "{body.target}"; }  templates, names
 *                 [A-Za-z_][A-Za-z0-9_]*, SLUICE_* reserved
 *     inherit_env ["HTTP_PROXY"]  copied from sluiced's environment
 *     stdin       "event" (default), "body" or "none"
 *     cwd         an existing absolute directory
 *     user, group run-as (sluiced must run as root)
 *     kill_grace  "5s" (default): SIGTERM to SIGKILL on cancel
 *     success_exit_codes  [0] (default)
 *
 * Besides env, the command gets PATH=/usr/local/bin:/usr/bin:/bin, HOME,
 * LANG=C.UTF-8, SLUICE_EXECUTION_ID, SLUICE_FLOW, SLUICE_TRIGGER,
 * SLUICE_FUNCTION (when there is one), SLUICE_REQUEST_ID, SLUICE_EVENT (a
 * file holding the event) and SLUICE_OUTPUT (a file for its outputs: a JSON
 * object or key=value lines), and nothing else of sluiced's environment.
 */
#ifndef KIT_SETTINGS_H
#define KIT_SETTINGS_H

#include <stddef.h>

#include "kit/command/runas.h"
#include "kit/template.h"

enum kit_stdin_mode { KIT_STDIN_EVENT, KIT_STDIN_BODY, KIT_STDIN_RAW, KIT_STDIN_NONE };

struct kit_env_var {
    char *name;
    kit_template *value;
};

/*
 * One validated flow configuration. Immutable after kit_settings_parse, so
 * any number of executions may read it at once without a lock. Everything
 * read from sluiced's own environment (HOME, TMPDIR, inherit_env) is copied
 * here at configure time: configure runs on the main thread, where reading
 * the environment cannot race a setenv().
 */
struct kit_settings {
    kit_template **argv; /* argv mode: argv[0] has no placeholders */
    size_t argc;
    char *script; /* script mode: run as /bin/sh -c script */

    struct kit_env_var *env; /* declared env, in order */
    size_t nenv;
    char **base_env; /* "NAME=value": PATH, HOME, LANG, then inherited */
    size_t nbase_env;

    enum kit_stdin_mode stdin_mode;
    char *cwd;
    struct kit_runas runas;
    long kill_grace_ms;
    int *success_codes;
    size_t nsuccess;
    char *tmpdir;
    int needs_event_tree; /* a placeholder or stdin = "body" reads inside the event */
};

/* The PATH of the clean environment. */
#define KIT_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* Default time between SIGTERM and SIGKILL. */
#define KIT_DEFAULT_KILL_GRACE_MS 5000L

/*
 * Parse and validate cfg_json (the flow's config group as a JSON object).
 * Every error names where and the setting: "flows.d/x.conf:12: shell:
 * unknown setting \"argvv\"". Returns 0 and sets *out, or -1 with err set.
 */
int kit_settings_parse(struct kit_settings **out, const char *cfg_json, size_t cfg_len,
                       const char *where, char *err, size_t errlen);

void kit_settings_free(struct kit_settings *cfg);

/* Nonzero when name matches [A-Za-z_][A-Za-z0-9_]*. */
int kit_settings_env_name_ok(const char *name);

#endif /* KIT_SETTINGS_H */
