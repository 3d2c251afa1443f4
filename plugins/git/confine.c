/*
 * confine.c - paths of the repository that must stay inside the checkout.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Git stores symbolic links as they are, so a repository can hold
 * "run.sh -> /etc/passwd" or "tools -> ../../..". The text checks at
 * configure refuse ".." and absolute paths; this is the check that counts,
 * made on the checkout with realpath(): whatever the links say, the file
 * that would run must be inside the checkout.
 */
#define _GNU_SOURCE
#include "confine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit/kit.h"

static int gitexec_inside(const char *root, const char *path)
{
    size_t n = strlen(root);

    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int gitexec_confine(const char *root, const char *rel, int want, char *out, size_t outlen,
                    char *why, size_t whylen)
{
    char full[PATH_MAX], rroot[PATH_MAX], real[PATH_MAX], ebuf[128];
    struct stat st;

    if (!realpath(root, rroot)) {
        kit_errf(why, whylen, "the checkout %s is not readable: %s", root,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    if (snprintf(full, sizeof(full), "%s/%s", rroot, rel) >= (int)sizeof(full)) {
        kit_errf(why, whylen, "is too long a path");
        return -1;
    }
    if (lstat(full, &st) != 0) {
        kit_errf(why, whylen, "does not exist");
        return -1;
    }
    if (!realpath(full, real)) {
        char target[PATH_MAX];
        ssize_t n = readlink(full, target, sizeof(target) - 1);

        if (n > 0) {
            target[n] = '\0';
            kit_errf(why, whylen, "is a symbolic link to \"%s\", which does not resolve (%s)",
                     target, kit_strerror(errno, ebuf, sizeof(ebuf)));
        } else {
            kit_errf(why, whylen, "cannot be resolved: %s",
                     kit_strerror(errno, ebuf, sizeof(ebuf)));
        }
        return -1;
    }
    if (!gitexec_inside(rroot, real)) {
        kit_errf(why, whylen,
                 "resolves to %s, outside the repository (through a symbolic link): refused", real);
        return -1;
    }
    if (stat(real, &st) != 0) {
        kit_errf(why, whylen, "cannot be read: %s", kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    if (want == GITEXEC_WANT_DIR && !S_ISDIR(st.st_mode)) {
        kit_errf(why, whylen, "is not a directory");
        return -1;
    }
    if (want == GITEXEC_WANT_FILE && !S_ISREG(st.st_mode)) {
        kit_errf(why, whylen, "is not a regular file");
        return -1;
    }
    if (snprintf(out, outlen, "%s", real) >= (int)outlen) {
        kit_errf(why, whylen, "is too long a path");
        return -1;
    }
    return 0;
}
