/*
 * gitsync.h - flow definitions kept in a git repository (flows.git).
 *
 *     flows: { git = { url = "https://git.example.com/ops/flows.git";
 *                      branch = "main"; dir = "flows.d"; poll = "60s";
 *                      token = "@env:FLOWS_TOKEN"; }; };
 *
 * Before it loads a configuration with flows.git, main.c calls
 * gitsync_prepare: fetch the branch into a bare mirror under
 * <state_dir>/flows-git and check its commit out into a directory of its
 * own (immutable: one per commit), whose .conf files in <checkout>/<dir>
 * config_load_git then reads like flows.include. When the fetch
 * fails, the last commit fetched is used, with a warning, so a reload
 * still works while the git server is down.
 *
 * What happens next is main.c's: a configuration that binds and serves
 * is reported with gitsync_serving, one that fails with gitsync_rejected
 * (logged with the commit and the file:line error, kept for /readyz and
 * GET /api/v1/flows; the previous configuration keeps serving).
 *
 * A poller thread fetches every poll interval and, when the branch moved
 * to a commit that is neither serving nor already rejected, asks the main
 * thread to reload with SIGHUP, exactly as POST /api/v1/reload does:
 * reload runs plugin code and belongs to the main thread. Its own thread
 * keeps a slow fetch off the engine's timer thread.
 *
 * The git work itself (libgit2) is done by the flows.git module,
 * gitsync.so, loaded by the first gitsync_prepare (gitmod.h): a sluiced
 * without flows.git never maps libgit2.
 */
#ifndef SLUICE_GITSYNC_H
#define SLUICE_GITSYNC_H

#include "config.h"
#include "confparse.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gitsync_conf {
    char *url;
    char *branch;      /* default "main" */
    char *dir;         /* inside the repository, default "flows.d" */
    uint64_t poll_ms;  /* default 60 s; 0: only on reload */
    char *token;       /* https */
    char *ssh_key;     /* ssh: a key file or the key's text; NULL: the agent */
    char *known_hosts; /* ssh: a known_hosts file or its text (required) */
} gitsync_conf;

/* Parse the flows.git group (errors through c, with file:line). */
int gitsync_conf_parse(parse_ctx *c, const config_setting_t *g, gitsync_conf **out);
void gitsync_conf_free(gitsync_conf *gc);

/*
 * Main thread, before a configuration is loaded. state_dir may be NULL
 * (the default). On success dir receives the directory of flow files of the
 * branch's commit and sha that commit. Returns 0, or -1 with err set.
 */
int gitsync_prepare(const gitsync_conf *gc, const char *state_dir, char *dir, size_t dirlen,
                    char sha[41], char *err, size_t errlen);

/* Main thread: the configuration being built failed with err. */
void gitsync_rejected(const char *err);

/*
 * Main thread: cfg now serves. Records its commit, starts, retunes or
 * idles the poller, and removes checkouts no longer needed.
 */
void gitsync_serving(const sluice_config *cfg);

/* For /readyz and the admin API: a new object, or NULL without flows.git. */
json_t *gitsync_status_json(void);

/* The rejected commit as one line ("commit <sha>: <error>"), or NULL. malloc'd. */
char *gitsync_rejection_text(void);

/* Nonzero when branch is a name git accepts (and not a revision expression). */
int gitsync_branch_ok(const char *branch);

/* "<name>-<hash12>" for url: its last path part, and a hash for uniqueness. */
int gitsync_mirror_name(const char *url, char *out, size_t len);

/* Stop the poller and release libgit2 (at exit, main thread). */
void gitsync_shutdown(void);

#endif
