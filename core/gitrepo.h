/*
 * gitrepo.h - libgit2 operations for git-backed flow definitions.
 *
 * A bare mirror fetched with libgit2 (no git command at run time), and
 * checkouts of one commit each. Used by gitsync.c only; every function is
 * safe to call from any thread as long as two of them never work on the
 * same mirror at once (gitsync serializes them).
 */
#ifndef SLUICE_GITREPO_H
#define SLUICE_GITREPO_H

#include <stdatomic.h>
#include <stddef.h>

/* How to reach and authenticate to the remote. */
typedef struct gitrepo_remote {
    const char *url;
    const char *token;       /* https password, or NULL */
    const char *ssh_key;     /* a key file, or the key's text, or NULL (agent) */
    const char *known_hosts; /* a known_hosts file, or its text; ssh only */
    atomic_int *stop;        /* nonzero aborts a transfer in progress; may be NULL */
} gitrepo_remote;

/* Process-wide libgit2 state, counted: one gitrepo_init per gitrepo_shutdown. */
int gitrepo_init(void);
void gitrepo_shutdown(void);

/*
 * Fetch refs/heads/<branch> of the remote into the bare repository at
 * git_dir (created, with its parents, when missing). Returns 0, or -1 with
 * libgit2's error text in err.
 */
int gitrepo_fetch(const char *git_dir, const char *branch, const gitrepo_remote *r, char *err,
                  size_t errlen);

/* The commit of refs/heads/<branch>: 1 with sha filled, 0 when absent. */
int gitrepo_branch_commit(const char *git_dir, const char *branch, char sha[41]);

/*
 * Check commit sha out into dest (which must not exist) through a
 * temporary directory and a rename, so dest is either absent or complete.
 * Returns 0 (also when dest already exists), or -1 with err set.
 */
int gitrepo_checkout(const char *git_dir, const char *sha, const char *dest, char *err,
                     size_t errlen);

/* mkdir -p (0755). */
int gitrepo_mkdirs(const char *path);
/* rm -rf without following symbolic links. */
int gitrepo_remove_tree(const char *path);

/* "<name>-<hash12>" for url: its last path part, and a hash for uniqueness. */
int gitrepo_dir_name(const char *url, char *out, size_t len);

/* Nonzero when branch is a name git accepts (and not a revision expression). */
int gitrepo_branch_ok(const char *branch);

#endif
