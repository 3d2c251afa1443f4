/*
 * sandbox.c - the settings that confine a container: network, memory,
 * CPUs, processes, ulimits, user and bind mounts.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Part of the settings parser (settings.c holds the rest and the entry
 * point); every value is checked here, at configure time.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings_parts.h"
#include "kit/kit.h"

/* Names Docker and Podman accept in HostConfig.Ulimits. */
static const char *const ctr_ulimit_names[] = {
    "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
    "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",
};

/* Sent on every create: some hosts refuse the engines' own defaults (runc
 * fails to set rlimits it was not given on hybrid-cgroup hosts). */
#define CTR_DEFAULT_NOFILE 1024
#define CTR_DEFAULT_NPROC 4096

int ctr_settings_network(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                         size_t errlen)
{
    const char *s = v ? json_string_value(v) : "none";

    if (!s || !ctr_chars_ok(s, "._:-") || strlen(s) > 255) {
        ctr_fail(err, errlen, where,
                 "network must be \"none\" (the default), \"bridge\", \"host\" or the name of "
                 "a network of the engine");
        return -1;
    }
    if (!(cfg->network = strdup(s))) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

int ctr_settings_memory(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                        size_t errlen)
{
    uint64_t bytes;

    if (kit_size(v, &bytes) != 0 || bytes < CTR_MIN_MEMORY || bytes > INT64_MAX) {
        ctr_fail(err, errlen, where,
                 "memory must be a size such as \"256M\" or \"1G\" (bytes, K, M, G), at least "
                 "6M");
        return -1;
    }
    cfg->memory = (int64_t)bytes;
    return 0;
}

int ctr_settings_cpus(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                      size_t errlen)
{
    double cpus = json_is_number(v) ? json_number_value(v) : -1.0;

    if (!(cpus >= 0.01 && cpus <= 1024.0)) {
        ctr_fail(err, errlen, where,
                 "cpus must be a number of CPUs from 0.01 to 1024, such as "
                 "0.5 or 2");
        return -1;
    }
    cfg->nano_cpus = (int64_t)llround(cpus * 1e9);
    return 0;
}

int ctr_settings_pids(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                      size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4194304) {
        ctr_fail(err, errlen, where, "pids_limit must be an integer from 1 to 4194304");
        return -1;
    }
    cfg->pids_limit = (int64_t)json_integer_value(v);
    return 0;
}

static struct ctr_ulimit *ctr_ulimit_find(struct ctr_settings *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nulimits; i++)
        if (strcmp(cfg->ulimits[i].name, name) == 0)
            return &cfg->ulimits[i];
    return NULL;
}

static int ctr_ulimit_put(struct ctr_settings *cfg, const char *name, int64_t soft, int64_t hard)
{
    struct ctr_ulimit *u = ctr_ulimit_find(cfg, name);

    if (!u) {
        struct ctr_ulimit *grown = realloc(cfg->ulimits, (cfg->nulimits + 1) * sizeof(*grown));

        if (!grown)
            return -1;
        cfg->ulimits = grown;
        u = &grown[cfg->nulimits++];
        snprintf(u->name, sizeof(u->name), "%s", name);
    }
    u->soft = soft;
    u->hard = hard;
    return 0;
}

/* One value: N (soft = hard = N) or [soft, hard]; -1 means unlimited. */
static int ctr_ulimit_value(json_t *v, int64_t *soft, int64_t *hard)
{
    if (json_is_integer(v)) {
        *soft = *hard = (int64_t)json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) == 2 &&
               json_is_integer(json_array_get(v, 0)) && json_is_integer(json_array_get(v, 1))) {
        *soft = (int64_t)json_integer_value(json_array_get(v, 0));
        *hard = (int64_t)json_integer_value(json_array_get(v, 1));
    } else {
        return -1;
    }
    if (*soft < -1 || *hard < -1)
        return -1;
    if (*hard != -1 && (*soft == -1 || *soft > *hard))
        return -1;
    return 0;
}

/* The defaults first, so a flow that sets only "core" still sends nofile/nproc. */
int ctr_settings_ulimits(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                         size_t errlen)
{
    const char *name;
    json_t *value;

    if (ctr_ulimit_put(cfg, "nofile", CTR_DEFAULT_NOFILE, CTR_DEFAULT_NOFILE) != 0 ||
        ctr_ulimit_put(cfg, "nproc", CTR_DEFAULT_NPROC, CTR_DEFAULT_NPROC) != 0) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    if (!v)
        return 0;
    if (!json_is_object(v)) {
        ctr_fail(err, errlen, where,
                 "ulimits must be a group such as { nofile = 1024; "
                 "core = [0, 0]; }");
        return -1;
    }
    json_object_foreach(v, name, value)
    {
        int64_t soft, hard;
        size_t i;

        for (i = 0; i < sizeof(ctr_ulimit_names) / sizeof(ctr_ulimit_names[0]); i++)
            if (strcmp(name, ctr_ulimit_names[i]) == 0)
                break;
        if (i == sizeof(ctr_ulimit_names) / sizeof(ctr_ulimit_names[0])) {
            ctr_fail(err, errlen, where,
                     "ulimits.%s: unknown limit (known: core, cpu, data, fsize, locks, memlock, "
                     "msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)",
                     name);
            return -1;
        }
        if (ctr_ulimit_value(value, &soft, &hard) != 0) {
            ctr_fail(err, errlen, where,
                     "ulimits.%s must be N or [soft, hard] with soft <= hard (-1: unlimited)",
                     name);
            return -1;
        }
        if (ctr_ulimit_put(cfg, name, soft, hard) != 0) {
            ctr_fail(err, errlen, where, "out of memory");
            return -1;
        }
    }
    return 0;
}

int ctr_settings_user(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                      size_t errlen)
{
    const char *s = json_string_value(v);

    if (!s || !ctr_chars_ok(s, "._:-") || strlen(s) > 255) {
        ctr_fail(err, errlen, where,
                 "user must be \"NAME\", \"UID\" or \"UID:GID\" as the image knows them");
        return -1;
    }
    if (!(cfg->user = strdup(s))) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

/* Targets the executor mounts itself, or that would hide the whole image. */
static int ctr_mount_target_ok(const char *t)
{
    size_t n = strlen("/sluice");

    if (t[0] != '/' || strcmp(t, "/") == 0)
        return 0;
    return !(strncmp(t, "/sluice", n) == 0 && (t[n] == '\0' || t[n] == '/'));
}

/* One entry: "SRC:DST[:ro|rw]" or { source; target; read_only; }. */
static int ctr_settings_mount(struct ctr_mount *m, json_t *v, size_t i, const char *where,
                              char *err, size_t errlen)
{
    const char *src = NULL, *dst = NULL;
    char *copy = NULL;
    int rc = -1;

    m->read_only = 1;
    if (json_is_string(v)) {
        char *c1, *c2;

        if (!(copy = strdup(json_string_value(v))))
            goto nomem;
        c1 = strchr(copy, ':');
        c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1)
            goto bad;
        *c1 = '\0';
        if (c2) {
            *c2 = '\0';
            if (strcmp(c2 + 1, "rw") == 0)
                m->read_only = 0;
            else if (strcmp(c2 + 1, "ro") != 0)
                goto bad;
        }
        src = copy;
        dst = c1 + 1;
    } else if (json_is_object(v)) {
        const char *key;
        json_t *val;

        json_object_foreach(v, key, val)
        {
            if (strcmp(key, "source") == 0 && json_is_string(val))
                src = json_string_value(val);
            else if (strcmp(key, "target") == 0 && json_is_string(val))
                dst = json_string_value(val);
            else if (strcmp(key, "read_only") == 0 && json_is_boolean(val))
                m->read_only = json_is_true(val);
            else
                goto bad;
        }
    }
    if (!src || !dst || src[0] != '/')
        goto bad;
    if (!ctr_mount_target_ok(dst)) {
        ctr_fail(err, errlen, where,
                 "mounts[%zu]: target \"%s\" must be an absolute path other than / and outside "
                 "/sluice (where the executor mounts the event and the outputs)",
                 i, dst);
        goto out;
    }
    if (!(m->source = strdup(src)) || !(m->target = strdup(dst)))
        goto nomem;
    rc = 0;
    goto out;

bad:
    ctr_fail(err, errlen, where,
             "mounts[%zu] must be \"/host/path:/container/path[:ro|rw]\" or { source = "
             "\"/host/path\"; target = \"/container/path\"; read_only = false; } (read-only "
             "unless said otherwise)",
             i);
    goto out;
nomem:
    ctr_fail(err, errlen, where, "out of memory");
out:
    free(copy);
    return rc;
}

int ctr_settings_mounts(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                        size_t errlen)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        ctr_fail(err, errlen, where, "mounts must be a list of bind mounts");
        return -1;
    }
    cfg->mounts = calloc(json_array_size(v) + 1, sizeof(*cfg->mounts));
    if (!cfg->mounts) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        struct ctr_mount *m = &cfg->mounts[cfg->nmounts];

        if (ctr_settings_mount(m, item, i, where, err, errlen) != 0) {
            free(m->source);
            free(m->target);
            m->source = m->target = NULL;
            return -1;
        }
        cfg->nmounts++;
    }
    return 0;
}
