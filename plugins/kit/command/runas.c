/*
 * runas.c - the user and group a command runs as.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "kit/command/runas.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit/kit.h"

/* getpw*_r and getgr*_r want a caller-sized buffer; grow it on ERANGE. */
#define KIT_RUNAS_BUF_MAX (1024 * 1024)

static int kit_parse_id(const char *s, unsigned long *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *out < (unsigned long)(uid_t)-1;
}

/*
 * Look a user up by name, or by uid for an all-digit string. Returns 1 when
 * found (*pw and *buf filled, free *buf), 0 when unknown, -1 on error.
 */
static int kit_lookup_user(const char *user, struct passwd *pw, char **buf)
{
    struct passwd *res = NULL;
    unsigned long id;
    size_t size = 4096;
    int rc;

    for (;;) {
        char *grown = realloc(*buf, size);

        if (!grown)
            return -1;
        *buf = grown;
        if (kit_parse_id(user, &id))
            rc = getpwuid_r((uid_t)id, pw, *buf, size, &res);
        else
            rc = getpwnam_r(user, pw, *buf, size, &res);
        if (rc != ERANGE || size >= KIT_RUNAS_BUF_MAX)
            break;
        size *= 2;
    }
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return -1;
    return res != NULL;
}

static int kit_lookup_group(const char *group, gid_t *gid)
{
    struct group gr, *res = NULL;
    unsigned long id;
    size_t size = 4096;
    char *buf = NULL;
    int rc;

    for (;;) {
        char *grown = realloc(buf, size);

        if (!grown) {
            free(buf);
            return -1;
        }
        buf = grown;
        if (kit_parse_id(group, &id))
            rc = getgrgid_r((gid_t)id, &gr, buf, size, &res);
        else
            rc = getgrnam_r(group, &gr, buf, size, &res);
        if (rc != ERANGE || size >= KIT_RUNAS_BUF_MAX)
            break;
        size *= 2;
    }
    if (res)
        *gid = gr.gr_gid;
    free(buf);
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return -1;
    return res != NULL;
}

static int kit_user_groups(struct kit_runas *ra, const char *name)
{
    int n = 16;

    for (;;) {
        gid_t *groups = realloc(ra->groups, (size_t)n * sizeof(*groups));
        int want = n;

        if (!groups)
            return -1;
        ra->groups = groups;
        if (getgrouplist(name, ra->gid, groups, &want) >= 0) {
            ra->ngroups = (size_t)want;
            return 0;
        }
        if (want <= n || want > 65536)
            return -1;
        n = want;
    }
}

int kit_runas_resolve(struct kit_runas *ra, const char *user, const char *group, char *err,
                      size_t errlen)
{
    struct passwd pw;
    char *buf = NULL;
    int found;

    memset(ra, 0, sizeof(*ra));
    if (!user && !group)
        return 0;
    if (geteuid() != 0) {
        if (user)
            kit_errf(err, errlen, "user = \"%s\" needs sluiced to run as root", user);
        else
            kit_errf(err, errlen, "group = \"%s\" needs sluiced to run as root", group);
        return -1;
    }
    ra->active = 1;
    if (user) {
        found = kit_lookup_user(user, &pw, &buf);
        if (found <= 0) {
            kit_errf(err, errlen,
                     found < 0 ? "user = \"%s\": lookup failed" : "user = \"%s\": no such user",
                     user);
            goto fail;
        }
        ra->change_uid = 1;
        ra->uid = pw.pw_uid;
        ra->gid = pw.pw_gid;
        if (pw.pw_dir && !(ra->home = strdup(pw.pw_dir)))
            goto nomem;
    }
    if (group) {
        found = kit_lookup_group(group, &ra->gid);
        if (found <= 0) {
            kit_errf(err, errlen,
                     found < 0 ? "group = \"%s\": lookup failed" : "group = \"%s\": no such group",
                     group);
            goto fail;
        }
    }
    if (user) {
        if (kit_user_groups(ra, pw.pw_name) != 0) {
            kit_errf(err, errlen, "user = \"%s\": cannot read its supplementary groups", user);
            goto fail;
        }
    } else {
        if (!(ra->groups = malloc(sizeof(*ra->groups))))
            goto nomem;
        ra->groups[0] = ra->gid;
        ra->ngroups = 1;
    }
    free(buf);
    return 0;

nomem:
    kit_errf(err, errlen, "out of memory");
fail:
    free(buf);
    kit_runas_clear(ra);
    return -1;
}

void kit_runas_clear(struct kit_runas *ra)
{
    free(ra->groups);
    free(ra->home);
    memset(ra, 0, sizeof(*ra));
}
