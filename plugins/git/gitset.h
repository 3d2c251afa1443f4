/*
 * gitset.h - the git executor's per-flow configuration.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * What a flow's config group may hold (anything else is an error):
 *
 *     url          "file:///srv/git/ops.git", "https://host/ops.git" or
 *                  "ssh://git@host/ops.git"                    (required)
 *     ref          a branch ("main"), a tag ("v1.2"), a full ref name
 *                  ("refs/heads/main") or a commit SHA          (required)
 *     script       the program to run, a path inside the repository
 *                  ("deploy/run.sh"): no "..", not absolute     (required)
 *     interpreter  ["/bin/sh"]: run the script through this program
 *                  (fixed strings); without it the script must be
 *                  executable in the repository (git's mode 100755)
 *     cwd          a directory inside the repository (default its root)
 *     fetch        "always" (default: before every execution), "interval"
 *                  (when the last fetch is older than fetch_interval) or
 *                  "never" (only to create the mirror, or to find a commit
 *                  or ref the mirror lacks)
 *     fetch_interval  "1m" (default), for fetch = "interval"
 *     token        https only: sent as the password ("@env:GH_TOKEN")
 *     ssh_key      ssh only: a private key file, or the key's text
 *                  ("@file:deploy_key"); without it, the ssh agent
 *     known_hosts  ssh only, required: a known_hosts file or its text
 *     cache_dir    where mirrors and checkouts live (default
 *                  $SLUICE_STATE_DIR/git, which sluiced sets to its state
 *                  directory, else /var/lib/sluice/git)
 *
 * and, exactly as for the shell executor: argv (the script's arguments,
 * templates), env, inherit_env, stdin, user, group, kill_grace,
 * success_exit_codes. The flow's timeout applies as for any flow.
 *
 * Nothing here touches the network or the repository: configure validates
 * the text only, and the first execution fetches.
 */
#ifndef GITEXEC_GITSET_H
#define GITEXEC_GITSET_H

#include <stddef.h>

#include "kit/command/settings.h" /* the shell executor's command settings */

enum gitexec_fetch_mode { GITEXEC_FETCH_ALWAYS, GITEXEC_FETCH_INTERVAL, GITEXEC_FETCH_NEVER };

/* How to authenticate one fetch; parts from the URL, parts from secrets. */
struct gitexec_auth {
    int scheme;    /* GITEXEC_URL_* */
    char *user;    /* from the URL, or NULL */
    char *host;    /* NULL for file:// */
    int port;      /* 0: the scheme's default */
    char *token;   /* https password, or NULL */
    char *ssh_key; /* a path, or the key text when ssh_key_text */
    int ssh_key_text;
    char *known_hosts; /* the text of a known_hosts file */
};

#define GITEXEC_URL_FILE 1
#define GITEXEC_URL_HTTPS 2
#define GITEXEC_URL_SSH 3

struct gitexec_settings {
    char *url;
    char *url_label; /* the URL without user information, for messages */
    char *ref;
    char *script;
    char *cwd;           /* NULL: the repository root */
    size_t script_index; /* where the script goes in shell->argv */
    enum gitexec_fetch_mode fetch;
    long fetch_interval_ms;
    char *cache_dir;
    struct gitexec_auth auth;
    /* argv = interpreter + script + arguments, env, user...: the shell
     * executor's settings, so the command starts exactly as there. */
    struct kit_settings *shell;
};

/*
 * Parse and validate cfg_json. Errors read "<where>: git: <message>".
 * Returns 0 and sets *out, or -1 with err set.
 */
int gitexec_settings_parse(struct gitexec_settings **out, const char *cfg_json, size_t cfg_len,
                           const char *where, char *err, size_t errlen);

void gitexec_settings_free(struct gitexec_settings *cfg);

/*
 * Check a path inside the repository as text: relative, no ".." part, no
 * empty name. Returns NULL when fine, else why not.
 */
const char *gitexec_settings_path_problem(const char *path);

#endif /* GITEXEC_GITSET_H */
