/*
 * fsutil.c - directory trees: create, remove (see fsutil.h).
 */
#define _GNU_SOURCE
#include "fsutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdirs_mode(const char *path, mode_t mode)
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
        *p = 0;
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

int fsutil_mkdirs(const char *path)
{
    return mkdirs_mode(path, 0755);
}

static int mkdirs_parent_mode(const char *path, mode_t mode)
{
    const char *slash = strrchr(path, '/');
    char parent[4096];
    if (!slash || slash == path)
        return 0;
    if ((size_t)(slash - path) >= sizeof(parent)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
    return mkdirs_mode(parent, mode);
}

int fsutil_mkdirs_parent(const char *path)
{
    return mkdirs_parent_mode(path, 0755);
}

int fsutil_mkdirs_parent_private(const char *path)
{
    return mkdirs_parent_mode(path, 0700);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

int fsutil_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return nftw(path, remove_one, 32, FTW_PHYS | FTW_DEPTH) == 0 ? 0 : -1;
}
