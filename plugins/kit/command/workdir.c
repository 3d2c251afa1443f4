/*
 * workdir.c - the private temporary directory of one execution.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "kit/command/workdir.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit/kit.h"

static int kit_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Create one file exclusively (never through a planted link) and fill it. */
static int kit_workdir_file(const char *path, const char *data, size_t len,
                            const struct kit_runas *ra)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int saved;

    if (fd < 0)
        return -1;
    if ((ra->active && fchown(fd, ra->change_uid ? ra->uid : (uid_t)-1, ra->gid) != 0) ||
        kit_write_all(fd, data, len) != 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

int kit_workdir_create(struct kit_workdir *wd, const char *tmpdir, const char *event,
                       size_t event_len, const struct kit_runas *ra, char *err, size_t errlen)
{
    char ebuf[128];
    const char *what;

    memset(wd, 0, sizeof(*wd));
    if (snprintf(wd->dir, sizeof(wd->dir), "%s/sluice-shell.XXXXXX", tmpdir) >=
        (int)sizeof(wd->dir)) {
        kit_errf(err, errlen, "TMPDIR \"%s\" is too long", tmpdir);
        wd->dir[0] = '\0';
        return -1;
    }
    if (!mkdtemp(wd->dir)) {
        kit_errf(err, errlen, "cannot create a temporary directory in %s: %s", tmpdir,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        wd->dir[0] = '\0';
        return -1;
    }
    snprintf(wd->event_path, sizeof(wd->event_path), "%s/event.json", wd->dir);
    snprintf(wd->output_path, sizeof(wd->output_path), "%s/output", wd->dir);
    what = "chown";
    if (ra->active && chown(wd->dir, ra->change_uid ? ra->uid : (uid_t)-1, ra->gid) != 0)
        goto fail;
    what = "write event.json in";
    if (kit_workdir_file(wd->event_path, event, event_len, ra) != 0)
        goto fail;
    what = "create output in";
    if (kit_workdir_file(wd->output_path, "", 0, ra) != 0)
        goto fail;
    return 0;

fail:
    kit_errf(err, errlen, "cannot %s %s: %s", what, wd->dir,
             kit_strerror(errno, ebuf, sizeof(ebuf)));
    kit_workdir_remove(wd);
    return -1;
}

static int kit_workdir_unlink(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void kit_workdir_remove(struct kit_workdir *wd)
{
    if (wd->dir[0] == '\0')
        return;
    /* Usually only the two files made here are left: three system calls
     * instead of a tree walk. unlink never follows a link the command may
     * have put in their place; anything else it left makes rmdir fail, and
     * the walk takes over. */
    unlink(wd->event_path);
    unlink(wd->output_path);
    if (rmdir(wd->dir) != 0)
        nftw(wd->dir, kit_workdir_unlink, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    wd->dir[0] = '\0';
}
