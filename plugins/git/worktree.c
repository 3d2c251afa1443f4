/*
 * worktree.c - one immutable checkout per commit, shared and collected.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Decisions are made under the mirror's lock; slow work (checking out,
 * removing trees) happens outside it. A checkout to be collected is first
 * renamed to a ".trash-" name under the lock, so a thread that asks for
 * the same commit a moment later never sees a half-removed directory: it
 * simply checks the commit out again.
 */
#define _GNU_SOURCE
#include "worktree.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "fsutil.h"
#include "kit/kit.h"

/* At most this many directories wait for removal; the rest wait a pass. */
#define GITEXEC_GC_MAX (sizeof(((struct gitexec_mirror *)0)->trash) / sizeof(char *))

static struct gitexec_wt *gitexec_wt_find(struct gitexec_mirror *m, const char *sha)
{
    for (struct gitexec_wt *e = m->wts; e; e = e->next)
        if (strcmp(e->sha, sha) == 0)
            return e;
    return NULL;
}

/*
 * Called with m->lock held: move dir/name aside (a cheap rename), to be
 * removed by gitexec_wt_release once an execution has finished, so that
 * deleting an old tree of thousands of files never delays a script.
 */
static void gitexec_trash_add(struct gitexec_mirror *m, const char *name)
{
    char from[4096], to[4200];

    if (m->ntrash == GITEXEC_GC_MAX)
        return;
    snprintf(from, sizeof(from), "%s/%s", m->wt_dir, name);
    if (name[0] == '.') { /* already a temporary name */
        m->trash[m->ntrash] = strdup(from);
    } else {
        snprintf(to, sizeof(to), "%s/.trash-%s-%ld-%u", m->wt_dir, name, (long)getpid(),
                 m->tmp_seq++);
        if (rename(from, to) != 0)
            return;
        m->trash[m->ntrash] = strdup(to);
    }
    if (m->trash[m->ntrash])
        m->ntrash++;
}

/* A temporary name of another process (which is gone or not ours). */
static int gitexec_stale_tmp(const char *name)
{
    const char *dash;
    long pid;

    if (strncmp(name, ".tmp-", 5) != 0 && strncmp(name, ".trash-", 7) != 0)
        return 0;
    /* .tmp-<sha>-<pid>-<seq> / .trash-<sha>-<pid>-<seq> */
    dash = strchr(name + 1, '-');
    dash = dash ? strchr(dash + 1, '-') : NULL;
    pid = dash ? strtol(dash + 1, NULL, 10) : 0;
    return pid != (long)getpid();
}

/*
 * Called with m->lock held. Entries nobody runs on or pins go, except
 * keep (the commit being acquired). The first pass of a process also
 * sweeps what an earlier process left in the directory.
 */
static void gitexec_wt_collect(struct gitexec_mirror *m, const char *keep)
{
    struct gitexec_wt **pp = &m->wts;

    while (*pp) {
        struct gitexec_wt *e = *pp;

        if (e->users == 0 && e->pins == 0 && !e->creating && strcmp(e->sha, keep) != 0) {
            *pp = e->next;
            if (e->ready)
                gitexec_trash_add(m, e->sha);
            free(e);
            continue;
        }
        pp = &e->next;
    }
    if (!m->gc_done) {
        DIR *d = opendir(m->wt_dir);
        struct dirent *de;

        m->gc_done = 1;
        while (d && (de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if (de->d_name[0] == '.' ? gitexec_stale_tmp(de->d_name)
                                     : !gitexec_wt_find(m, de->d_name))
                gitexec_trash_add(m, de->d_name);
        }
        if (d)
            closedir(d);
    }
}

/* Remove what collection moved aside, outside the lock. */
static void gitexec_trash_empty(struct gitexec_mirror *m)
{
    char *paths[GITEXEC_GC_MAX];
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = m->ntrash;
    memcpy(paths, m->trash, n * sizeof(char *));
    m->ntrash = 0;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        gitexec_tree_remove(paths[i]);
        free(paths[i]);
    }
}

/* Check sha out under a temporary name, freeze it, rename it into place. */
static int gitexec_wt_create(struct gitexec_mirror *m, const char *sha, unsigned seq, char *err,
                             size_t errlen)
{
    git_checkout_options opts;
    git_repository *repo = NULL;
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    char path[4096], tmp[4096], ebuf[128];
    struct stat st;
    git_oid oid;
    int rc = -1;

    git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
    snprintf(path, sizeof(path), "%s/%s", m->wt_dir, sha);
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0; /* complete: only a rename puts a commit's name there */
    if (gitexec_mkdirs(m->wt_dir) != 0) {
        kit_errf(err, errlen, "cannot create %s: %s", m->wt_dir,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-%ld-%u", m->wt_dir, sha, (long)getpid(), seq);
    if (git_repository_open_bare(&repo, m->git_dir) != 0 || git_oid_fromstr(&oid, sha) != 0 ||
        git_commit_lookup(&commit, repo, &oid) != 0 || git_commit_tree(&tree, commit) != 0)
        goto lgerr;
    opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
    opts.target_directory = tmp;
    opts.dir_mode = 0755;
    if (git_checkout_tree(repo, (const git_object *)tree, &opts) != 0)
        goto lgerr;
    /* An empty tree checks out nothing; the directory must exist all the same. */
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        goto syserr;
    if (gitexec_tree_freeze(tmp) != 0)
        goto syserr;
    if (rename(tmp, path) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY)
            goto syserr;
        gitexec_tree_remove(tmp); /* another process made the same checkout */
    }
    rc = 0;
    goto out;
lgerr:
    kit_errf(err, errlen, "cannot check out commit %s: %s", sha,
             git_error_last() ? git_error_last()->message : "unknown libgit2 error");
    goto cleanup;
syserr:
    kit_errf(err, errlen, "cannot check out commit %s into %s: %s", sha, m->wt_dir,
             kit_strerror(errno, ebuf, sizeof(ebuf)));
cleanup:
    gitexec_tree_remove(tmp);
out:
    git_tree_free(tree);
    git_commit_free(commit);
    git_repository_free(repo);
    return rc;
}

static void gitexec_wait_100ms(struct gitexec_mirror *m)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&m->cond, &m->lock, &until);
}

int gitexec_wt_acquire(struct gitexec_mirror *m, const char *sha, struct gitexec_pin *pin,
                       int (*cancelled)(void *ctx), void *ctx, char *dir, size_t dirlen, char *err,
                       size_t errlen)
{
    struct gitexec_wt *e;
    int moved = 0, rc = 0;

    pthread_mutex_lock(&m->lock);
    e = gitexec_wt_find(m, sha);
    if (!e) {
        if (!(e = calloc(1, sizeof(*e)))) {
            pthread_mutex_unlock(&m->lock);
            kit_errf(err, errlen, "out of memory");
            return -1;
        }
        snprintf(e->sha, sizeof(e->sha), "%s", sha);
        e->next = m->wts;
        m->wts = e;
    }
    e->users++;
    if (strcmp(pin->sha, sha) != 0) {
        struct gitexec_wt *old = pin->sha[0] ? gitexec_wt_find(m, pin->sha) : NULL;

        if (old)
            old->pins--;
        e->pins++;
        snprintf(pin->sha, sizeof(pin->sha), "%s", sha);
        moved = 1;
    }
    while (e->creating) {
        gitexec_wait_100ms(m);
        if (cancelled && cancelled(ctx)) {
            e->users--;
            pthread_mutex_unlock(&m->lock);
            kit_errf(err, errlen, "cancelled while waiting for the checkout of %s", sha);
            return -1;
        }
    }
    if (!e->ready) {
        unsigned seq = m->tmp_seq++;

        e->creating = 1;
        pthread_mutex_unlock(&m->lock);
        rc = gitexec_wt_create(m, sha, seq, err, errlen);
        pthread_mutex_lock(&m->lock);
        e->creating = 0;
        e->ready = rc == 0;
        pthread_cond_broadcast(&m->cond);
        if (rc != 0)
            e->users--;
    }
    if (rc == 0 && (moved || !m->gc_done))
        gitexec_wt_collect(m, sha);
    pthread_mutex_unlock(&m->lock);
    if (rc == 0)
        snprintf(dir, dirlen, "%s/%s", m->wt_dir, sha);
    return rc;
}

/*
 * The last execution on a commit no flow pins any more (its flow moved on
 * while it ran) takes the checkout with it; whatever collection moved
 * aside is removed here, after the script ran.
 */
void gitexec_wt_release(struct gitexec_mirror *m, const char *sha)
{
    struct gitexec_wt *e;

    pthread_mutex_lock(&m->lock);
    if ((e = gitexec_wt_find(m, sha)) && e->users > 0 && --e->users == 0 && e->pins == 0)
        gitexec_wt_collect(m, "");
    pthread_mutex_unlock(&m->lock);
    gitexec_trash_empty(m);
}

void gitexec_wt_unpin(struct gitexec_mirror *m, struct gitexec_pin *pin)
{
    struct gitexec_wt *e;

    if (pin->sha[0] == '\0')
        return;
    pthread_mutex_lock(&m->lock);
    if ((e = gitexec_wt_find(m, pin->sha)) && e->pins > 0)
        e->pins--;
    pthread_mutex_unlock(&m->lock);
    pin->sha[0] = '\0';
}

void gitexec_wt_free_all(struct gitexec_mirror *m)
{
    struct gitexec_wt *e = m->wts, *next;

    for (size_t i = 0; i < m->ntrash; i++)
        free(m->trash[i]);
    m->ntrash = 0;

    for (; e; e = next) {
        next = e->next;
        free(e);
    }
    m->wts = NULL;
}
