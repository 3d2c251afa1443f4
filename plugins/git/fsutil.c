/*
 * fsutil.c - directories of the cache: create, freeze, remove.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * nftw with FTW_PHYS everywhere: a checkout may hold symbolic links that
 * point anywhere (the script confinement refuses to run through them), and
 * walking the tree must never follow one out of it.
 */
#define _GNU_SOURCE
#include "fsutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open descriptors nftw may use; checkouts are rarely deeper than this. */
#define GITEXEC_NFTW_FDS 32

int gitexec_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int gitexec_mkdirs_parent(const char *path)
{
    char buf[4096];
    const char *slash = strrchr(path, '/');

    if (!slash || slash == path)
        return 0;
    if ((size_t)(slash - path) >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(buf, sizeof(buf), "%.*s", (int)(slash - path), path);
    return gitexec_mkdirs(buf);
}

static int gitexec_freeze_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_SL || type == FTW_SLN)
        return 0;
    return chmod(path, st->st_mode & 07555) == 0 ? 0 : -1;
}

int gitexec_tree_freeze(const char *dir)
{
    /* Depth first: a directory loses its write bit after its contents. */
    return nftw(dir, gitexec_freeze_one, GITEXEC_NFTW_FDS, FTW_PHYS | FTW_DEPTH) == 0 ? 0 : -1;
}

static int gitexec_thaw_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D && (st->st_mode & 0700) != 0700)
        chmod(path, (st->st_mode & 07777) | 0700);
    return 0;
}

static int gitexec_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int gitexec_tree_remove(const char *dir)
{
    struct stat st;

    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(dir);
    /* Pre-order: a directory becomes writable before its entries go. */
    nftw(dir, gitexec_thaw_one, GITEXEC_NFTW_FDS, FTW_PHYS);
    return nftw(dir, gitexec_remove_one, GITEXEC_NFTW_FDS, FTW_PHYS | FTW_DEPTH) == 0 ? 0 : -1;
}
