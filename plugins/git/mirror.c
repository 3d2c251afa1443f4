/*
 * mirror.c - bare mirrors of repositories in the cache directory.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * A git_repository handle is opened per operation and never shared
 * between threads: libgit2 objects are not safe to use from two threads at
 * once, while the files on disk are (libgit2 writes refs and packs with
 * lock files and renames), so reading a mirror while it is fetched is fine.
 */
#define _GNU_SOURCE
#include "mirror.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "fsutil.h"
#include "remote.h"
#include "kit/kit.h"
#include "worktree.h"

void gitexec_mirrors_init(struct gitexec_mirrors *ms)
{
    pthread_mutex_init(&ms->lock, NULL);
    ms->list = NULL;
}

void gitexec_mirrors_free(struct gitexec_mirrors *ms)
{
    struct gitexec_mirror *m = ms->list, *next;

    for (; m; m = next) {
        next = m->next;
        gitexec_wt_free_all(m); /* trash left on disk goes with the next process's sweep */
        free(m->url);
        free(m->cache_dir);
        free(m->label);
        free(m->git_dir);
        free(m->wt_dir);
        free(m->lock_path);
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->cond);
        free(m);
    }
    ms->list = NULL;
    pthread_mutex_destroy(&ms->lock);
}

/*
 * "<name>-<hash>": readable (the repository's last path part) and unique
 * (the first 12 hex digits of the SHA-1 of the URL).
 */
static int gitexec_mirror_name(const char *url, const char *label, char *out, size_t len)
{
    const char *base = strrchr(label, '/');
    char name[33];
    size_t n = 0;
    git_oid oid;
    char hex[GIT_OID_HEXSZ + 1];

    base = base ? base + 1 : label;
    for (; *base && n < sizeof(name) - 1; base++) {
        if (strcmp(base, ".git") == 0)
            break;
        name[n++] = isalnum((unsigned char)*base) || *base == '-' || *base == '_' || *base == '.'
                        ? *base
                        : '_';
    }
    name[n] = '\0';
    if (git_odb_hash(&oid, url, strlen(url), GIT_OBJECT_BLOB) != 0)
        return -1;
    git_oid_tostr(hex, sizeof(hex), &oid);
    snprintf(out, len, "%s-%.12s", n > 0 && name[0] != '.' ? name : "repo", hex);
    return 0;
}

struct gitexec_mirror *gitexec_mirrors_get(struct gitexec_mirrors *ms, const char *cache_dir,
                                           const char *url, const char *label)
{
    struct gitexec_mirror *m;
    char name[64], path[4096];

    if (gitexec_mirror_name(url, label, name, sizeof(name)) != 0)
        return NULL;
    pthread_mutex_lock(&ms->lock);
    for (m = ms->list; m; m = m->next) {
        if (strcmp(m->url, url) == 0 && strcmp(m->cache_dir, cache_dir) == 0)
            goto out;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        goto out;
    snprintf(path, sizeof(path), "%s/%s.git", cache_dir, name);
    m->git_dir = strdup(path);
    snprintf(path, sizeof(path), "%s/%s.wt", cache_dir, name);
    m->wt_dir = strdup(path);
    snprintf(path, sizeof(path), "%s/%s.lock", cache_dir, name);
    m->lock_path = strdup(path);
    m->url = strdup(url);
    m->label = strdup(label);
    m->cache_dir = strdup(cache_dir);
    if (!m->git_dir || !m->wt_dir || !m->lock_path || !m->url || !m->label || !m->cache_dir) {
        free(m->git_dir);
        free(m->wt_dir);
        free(m->lock_path);
        free(m->url);
        free(m->label);
        free(m->cache_dir);
        free(m);
        m = NULL;
        goto out;
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    m->next = ms->list;
    ms->list = m;
out:
    pthread_mutex_unlock(&ms->lock);
    return m;
}

/* Another sluiced (or a --check-config run) may share the cache. */
static int gitexec_lock_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

int gitexec_mirror_fetch(struct gitexec_mirror *m, const struct gitexec_fetch_req *req, int *shared,
                         char *err, size_t errlen)
{
    char ebuf[1024];
    uint64_t seen;
    int rc, fd;

    *shared = 0;
    pthread_mutex_lock(&m->lock);
    if (m->fetching) {
        *shared = 1;
        /* Single flight: wait for the fetch in progress and share its result.
         * Wake up now and then to notice a cancel of this execution. */
        seen = m->fetches;
        while (m->fetching && m->fetches == seen) {
            struct timespec until;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&m->cond, &m->lock, &until);
            if (req->cancelled && req->cancelled(req->ctx)) {
                pthread_mutex_unlock(&m->lock);
                kit_errf(err, errlen, "cancelled while waiting for a fetch");
                return -1;
            }
        }
        rc = m->last_error[0] ? -1 : 0;
        kit_errf(err, errlen, "%s", m->last_error);
        pthread_mutex_unlock(&m->lock);
        return rc;
    }
    m->fetching = 1;
    pthread_mutex_unlock(&m->lock);

    /* The lock file lives in the cache directory, which may not exist yet. */
    ebuf[0] = '\0';
    fd = -1;
    if (gitexec_mkdirs_parent(m->lock_path) != 0 || (fd = gitexec_lock_file(m->lock_path)) < 0) {
        char eb[128];

        kit_errf(ebuf, sizeof(ebuf), "cannot lock %s: %s", m->lock_path,
                 kit_strerror(errno, eb, sizeof(eb)));
        rc = -1;
    } else {
        rc = gitexec_remote_fetch(m->git_dir, m->url, req->auth, req->cancelled, req->ctx, ebuf,
                                  sizeof(ebuf));
        close(fd);
    }

    pthread_mutex_lock(&m->lock);
    m->fetching = 0;
    m->fetches++;
    m->last_attempt = kit_now_ms();
    snprintf(m->last_error, sizeof(m->last_error), "%s", rc == 0 ? "" : ebuf);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    if (rc != 0)
        kit_errf(err, errlen, "%s", ebuf);
    return rc;
}

int64_t gitexec_mirror_last_fetch(struct gitexec_mirror *m, char *err, size_t errlen)
{
    int64_t at;

    pthread_mutex_lock(&m->lock);
    at = m->last_attempt;
    kit_errf(err, errlen, "%s", m->last_error);
    pthread_mutex_unlock(&m->lock);
    return at;
}

int gitexec_ref_is_sha(const char *ref)
{
    size_t n = strspn(ref, "0123456789abcdef");

    return n == GIT_OID_HEXSZ && ref[n] == '\0';
}

static int gitexec_lookup_ref(git_repository *repo, const char *name, git_oid *oid)
{
    git_reference *ref = NULL;
    git_object *obj = NULL;
    int rc = git_reference_lookup(&ref, repo, name);

    if (rc == 0)
        rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
    if (rc == 0)
        git_oid_cpy(oid, git_object_id(obj));
    git_object_free(obj);
    git_reference_free(ref);
    return rc;
}

/* Nonzero when the mirror holds at least one branch or tag. */
static int gitexec_has_refs(git_repository *repo)
{
    git_reference_iterator *it = NULL;
    const char *name;
    int found = 0;

    if (git_reference_iterator_glob_new(&it, repo, "refs/*") != 0)
        return 0;
    found = git_reference_next_name(&name, it) == 0;
    git_reference_iterator_free(it);
    return found;
}

int gitexec_mirror_resolve(struct gitexec_mirror *m, const char *ref, char sha[41],
                           const char **kind, char *err, size_t errlen)
{
    git_repository *repo = NULL;
    git_object *obj = NULL, *peeled = NULL;
    git_oid oid;
    char name[1024];
    int rc = GITEXEC_NOT_FOUND, lg;

    if (git_repository_open_bare(&repo, m->git_dir) != 0)
        return GITEXEC_NO_MIRROR;
    if (gitexec_ref_is_sha(ref)) {
        git_commit *c = NULL;

        *kind = "commit";
        if (git_oid_fromstr(&oid, ref) == 0 && git_commit_lookup(&c, repo, &oid) == 0) {
            git_commit_free(c);
            rc = GITEXEC_RESOLVED;
        }
    } else if (strncmp(ref, "refs/", 5) == 0) {
        *kind = "ref";
        if (gitexec_lookup_ref(repo, ref, &oid) == 0)
            rc = GITEXEC_RESOLVED;
    } else {
        snprintf(name, sizeof(name), "refs/heads/%s", ref);
        *kind = "branch";
        if (gitexec_lookup_ref(repo, name, &oid) == 0) {
            rc = GITEXEC_RESOLVED;
        } else {
            snprintf(name, sizeof(name), "refs/tags/%s", ref);
            *kind = "tag";
            if (gitexec_lookup_ref(repo, name, &oid) == 0)
                rc = GITEXEC_RESOLVED;
        }
        /* An abbreviated SHA: at least 7 hex digits, as git prints them. */
        if (rc != GITEXEC_RESOLVED && strlen(ref) >= 7 && strlen(ref) < GIT_OID_HEXSZ &&
            strspn(ref, "0123456789abcdef") == strlen(ref) &&
            git_oid_fromstrn(&oid, ref, strlen(ref)) == 0) {
            *kind = "commit";
            lg = git_object_lookup_prefix(&obj, repo, &oid, strlen(ref), GIT_OBJECT_ANY);
            if (lg == GIT_EAMBIGUOUS) {
                kit_errf(err, errlen, "ref \"%s\" is an ambiguous abbreviated commit", ref);
                rc = -1;
            } else if (lg == 0 && git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0) {
                git_oid_cpy(&oid, git_object_id(peeled));
                rc = GITEXEC_RESOLVED;
            }
        }
    }
    if (rc == GITEXEC_RESOLVED)
        git_oid_tostr(sha, 41, &oid);
    else if (rc == GITEXEC_NOT_FOUND && !gitexec_has_refs(repo))
        rc = GITEXEC_NO_MIRROR;
    git_object_free(peeled);
    git_object_free(obj);
    git_repository_free(repo);
    return rc;
}

int gitexec_mirror_has_commit(struct gitexec_mirror *m, const char *sha)
{
    git_repository *repo = NULL;
    git_commit *c = NULL;
    git_oid oid;
    int found = 0;

    if (git_repository_open_bare(&repo, m->git_dir) != 0)
        return 0;
    found = git_oid_fromstr(&oid, sha) == 0 && git_commit_lookup(&c, repo, &oid) == 0;
    git_commit_free(c);
    git_repository_free(repo);
    return found;
}

void gitexec_mirror_branches(struct gitexec_mirror *m, char *buf, size_t len, int max)
{
    git_repository *repo = NULL;
    git_reference_iterator *it = NULL;
    const char *name;
    size_t used = 0;
    int n = 0;

    buf[0] = '\0';
    if (git_repository_open_bare(&repo, m->git_dir) != 0)
        return;
    if (git_reference_iterator_glob_new(&it, repo, "refs/heads/*") == 0) {
        while (git_reference_next_name(&name, it) == 0 && used + 1 < len) {
            if (n++ == max) {
                snprintf(buf + used, len - used, ", ...");
                break;
            }
            used += (size_t)snprintf(buf + used, len - used, "%s%s", n > 1 ? ", " : "",
                                     name + strlen("refs/heads/"));
            if (used >= len)
                used = len - 1;
        }
        git_reference_iterator_free(it);
    }
    git_repository_free(repo);
}
