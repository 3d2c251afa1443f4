/*
 * mirror.h - bare mirrors of repositories in the cache directory.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * One mirror per (cache directory, URL), shared by every flow that names
 * that URL: <cache>/<name>-<hash>.git holds every branch and tag of the
 * remote, <cache>/<name>-<hash>.wt/<sha> one checkout per commit in use
 * (worktree.h). A mirror is fetched by one thread at a time: an execution
 * that wants a fetch while another runs waits for that fetch and takes its
 * result (single flight), so a burst of executions costs one fetch. A
 * lock file keeps a second process off the same mirror. Mirrors of other
 * URLs are independent: a slow fetch blocks no other repository.
 */
#ifndef GITEXEC_MIRROR_H
#define GITEXEC_MIRROR_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gitset.h"

/* One checkout of one commit, known to this process (worktree.c). */
struct gitexec_wt {
    char sha[41];
    int users;    /* executions running on it */
    int pins;     /* flows whose last commit it is */
    int creating; /* a thread is checking it out */
    int ready;    /* on disk and complete */
    struct gitexec_wt *next;
};

struct gitexec_mirror {
    char *url;
    char *cache_dir;
    char *label;   /* the URL without user information */
    char *git_dir; /* the bare repository */
    char *wt_dir;  /* checkouts, one per commit */
    char *lock_path;

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t cond;  /* a fetch ended, a checkout is ready */
    int fetching;
    uint64_t fetches;      /* fetches that ended, for waiters */
    int64_t last_attempt;  /* monotonic ms of the last fetch's end, 0: none */
    char last_error[1024]; /* of the last fetch, "" when it succeeded */
    struct gitexec_wt *wts;
    char *trash[64]; /* checkouts renamed aside, removed after a run */
    size_t ntrash;
    unsigned tmp_seq; /* names of checkouts in progress */
    int gc_done;      /* checkouts left by an earlier process swept */

    struct gitexec_mirror *next;
};

struct gitexec_mirrors {
    pthread_mutex_t lock;
    struct gitexec_mirror *list;
};

void gitexec_mirrors_init(struct gitexec_mirrors *ms);
/* At destroy, when nothing runs any more. */
void gitexec_mirrors_free(struct gitexec_mirrors *ms);

/*
 * The mirror of url under cache_dir, created in memory on first use (the
 * disk is touched by the first fetch). Returns NULL only when out of
 * memory. The mirror lives until gitexec_mirrors_free.
 */
struct gitexec_mirror *gitexec_mirrors_get(struct gitexec_mirrors *ms, const char *cache_dir,
                                           const char *url, const char *label);

/* What a fetch needs besides the mirror. */
struct gitexec_fetch_req {
    const struct gitexec_auth *auth;
    int (*cancelled)(void *ctx); /* nonzero aborts a transfer in progress */
    void *ctx;
};

/*
 * Fetch every branch and tag (pruning deleted ones). When another thread
 * is fetching this mirror, wait for it instead and take its result; then
 * *shared is set to 1 (else 0). Returns 0, or -1 with the libgit2 error
 * text in err.
 */
int gitexec_mirror_fetch(struct gitexec_mirror *m, const struct gitexec_fetch_req *req, int *shared,
                         char *err, size_t errlen);

/*
 * When the last fetch ended (monotonic ms, 0: none in this process) and
 * its error ("" when it succeeded), copied under the lock.
 */
int64_t gitexec_mirror_last_fetch(struct gitexec_mirror *m, char *err, size_t errlen);

#define GITEXEC_RESOLVED 1
#define GITEXEC_NOT_FOUND 0
#define GITEXEC_NO_MIRROR (-2) /* nothing was ever fetched */

/*
 * Resolve ref (branch, tag, refs/... name, full or abbreviated SHA) in the
 * mirror to a commit: GITEXEC_RESOLVED with the hex SHA in sha and its
 * kind ("branch", "tag", "ref" or "commit") in kind, GITEXEC_NOT_FOUND,
 * GITEXEC_NO_MIRROR, or -1 with err set.
 */
int gitexec_mirror_resolve(struct gitexec_mirror *m, const char *ref, char sha[41],
                           const char **kind, char *err, size_t errlen);

/* Nonzero when ref is a full 40-digit SHA (a commit that never moves). */
int gitexec_ref_is_sha(const char *ref);

/* Whether the mirror has the object (a full SHA) already. */
int gitexec_mirror_has_commit(struct gitexec_mirror *m, const char *sha);

/* Up to max branch names of the mirror, for a "ref not found" message. */
void gitexec_mirror_branches(struct gitexec_mirror *m, char *buf, size_t len, int max);

#endif /* GITEXEC_MIRROR_H */
