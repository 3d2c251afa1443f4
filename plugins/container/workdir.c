/*
 * workdir.c - the host directory an execution shares with its container.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "workdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit/kit.h"

/* A container can leave a deep or wide tree in out/; removal is bounded. */
#define CTR_RM_MAX_DEPTH 32
#define CTR_RM_MAX_ENTRIES 100000

static int ctr_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int ctr_workdir_create(struct ctr_workdir *wd, const char *base, const char *event,
                       size_t event_len, char *err, size_t errlen)
{
    char ebuf[128];
    int fd;

    memset(wd, 0, sizeof(*wd));
    if (snprintf(wd->dir, sizeof(wd->dir), "%s/sluice-container.XXXXXX", base) >=
        (int)sizeof(wd->dir)) {
        kit_errf(err, errlen, "work_dir \"%s\" is too long", base);
        return -1;
    }
    if (!mkdtemp(wd->dir)) {
        kit_errf(err, errlen, "cannot make a directory in %s: %s", base,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    wd->made = 1;
    snprintf(wd->event_path, sizeof(wd->event_path), "%s/event.json", wd->dir);
    snprintf(wd->out_dir, sizeof(wd->out_dir), "%s/out", wd->dir);
    snprintf(wd->output_path, sizeof(wd->output_path), "%s/out/outputs", wd->dir);
    fd = open(wd->event_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || ctr_write_all(fd, event, event_len) != 0 || fchmod(fd, 0644) != 0) {
        kit_errf(err, errlen, "cannot write %s: %s", wd->event_path,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    /* chmod after mkdir: the umask must not take the write bits away. */
    if (mkdir(wd->out_dir, 0700) != 0 || chmod(wd->out_dir, 0777) != 0) {
        kit_errf(err, errlen, "cannot make %s: %s", wd->out_dir,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    return 0;
}

/* Remove everything inside dirfd (which it closes), never following links. */
static int ctr_rm_tree(int dirfd, int depth, size_t *budget)
{
    DIR *d = fdopendir(dirfd);
    struct dirent *ent;
    int rc = 0;

    if (!d) {
        close(dirfd);
        return -1;
    }
    while ((ent = readdir(d))) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        if (*budget == 0) {
            rc = -1;
            break;
        }
        (*budget)--;
        if (unlinkat(dirfd, ent->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            rc = -1;
            continue;
        }
        int sub = openat(dirfd, ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (sub < 0 || depth >= CTR_RM_MAX_DEPTH) {
            if (sub >= 0)
                close(sub);
            rc = -1;
            continue;
        }
        if (ctr_rm_tree(sub, depth + 1, budget) != 0)
            rc = -1;
        if (unlinkat(dirfd, ent->d_name, AT_REMOVEDIR) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int ctr_workdir_remove(struct ctr_workdir *wd, char *err, size_t errlen)
{
    size_t budget = CTR_RM_MAX_ENTRIES;
    int fd, rc = 0;

    if (!wd->made)
        return 0;
    wd->made = 0;
    fd = open(wd->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && ctr_rm_tree(fd, 0, &budget) != 0)
        rc = -1;
    if (rmdir(wd->dir) != 0)
        rc = -1;
    if (rc != 0)
        kit_errf(err, errlen,
                 "could not remove all of %s (files the container left in "
                 "/sluice/out?)",
                 wd->dir);
    return rc;
}
