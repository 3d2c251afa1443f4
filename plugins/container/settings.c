/*
 * settings.c - parse and validate the container executor's per-flow config.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Everything that can be checked without an engine or an event is checked
 * here, so a mistake fails the flow at start (or at reload, keeping the old
 * configuration) rather than on its first webhook: unknown settings, types,
 * template syntax, env names, sizes, limits, mounts. What needs the engine
 * (is the socket there, does the image exist) is only a warning, checked by
 * container.c after this: the engine may come up after sluiced. The
 * settings that confine the container are parsed in sandbox.c.
 */
#define _GNU_SOURCE
#include "settings.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "settings_parts.h"
#include "kit/kit.h"

static const char *const ctr_settings_keys[] = {
    "socket",  "image",  "command", "entrypoint", "env",      "secrets", "stdin",
    "network", "memory", "cpus",    "pids_limit", "ulimits",  "user",    "read_only_rootfs",
    "mounts",  "pull",   "timeout", "keep",       "work_dir", NULL};

#define CTR_DOCKER_SOCKET "/var/run/docker.sock"
#define CTR_PODMAN_SOCKET "/run/podman/podman.sock"

void ctr_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kit_errf(err, errlen, "%s: container: %s", where ? where : "config", msg);
}

int ctr_settings_env_name_ok(const char *name)
{
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
        return 0;
    for (const char *p = name + 1; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    }
    return 1;
}

const char *ctr_pull_name(enum ctr_pull pull)
{
    return pull == CTR_PULL_NEVER ? "never" : pull == CTR_PULL_ALWAYS ? "always" : "missing";
}

int ctr_chars_ok(const char *s, const char *extra)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return 1;
}

/* A path the unix socket address can hold, from "unix:///p" or "/p". */
static int ctr_socket_path(const char *text, char **out)
{
    const char *path = text;

    if (strncmp(text, "unix://", 7) == 0)
        path = text + 7;
    if (path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return -1;
    *out = strdup(path);
    return *out ? 0 : -1;
}

/*
 * The default socket, as the docker CLI finds it: $DOCKER_HOST when it is a
 * unix socket, else Docker's socket when it exists, else Podman's rootful
 * service socket (which may not exist yet: the warning says so).
 */
static int ctr_settings_socket(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                               size_t errlen)
{
    const char *env = getenv("DOCKER_HOST");
    struct stat st;

    if (v) {
        if (!json_is_string(v) || ctr_socket_path(json_string_value(v), &cfg->socket) != 0) {
            ctr_fail(err, errlen, where,
                     "socket must be an absolute path to a unix socket (\"/var/run/docker.sock\" "
                     "or \"unix:///run/podman/podman.sock\"), at most 107 bytes; the engine is "
                     "only ever reached over a unix socket");
            return -1;
        }
        cfg->socket_explicit = 1;
        return 0;
    }
    if (env && strncmp(env, "unix://", 7) == 0 && ctr_socket_path(env, &cfg->socket) == 0)
        return 0;
    cfg->socket = strdup(stat(CTR_DOCKER_SOCKET, &st) == 0 ? CTR_DOCKER_SOCKET : CTR_PODMAN_SOCKET);
    if (!cfg->socket) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

/* An image reference: no blanks or control bytes, as Docker would refuse. */
static int ctr_settings_image(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                              size_t errlen)
{
    const char *s = json_string_value(v);

    if (!s || !ctr_chars_ok(s, "/:@._-+") || strlen(s) > 512) {
        ctr_fail(err, errlen, where,
                 "image must be an image reference such as \"alpine:3.20\" or "
                 "\"registry.example.com/team/tool@sha256:...\"");
        return -1;
    }
    if (!(cfg->image = strdup(s))) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

static int ctr_settings_argv(struct ctr_argv *argv, json_t *v, const char *key, const char *where,
                             char *err, size_t errlen)
{
    char msg[1024];
    size_t i;
    json_t *item;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        ctr_fail(err, errlen, where, "%s must be a non-empty array of strings", key);
        return -1;
    }
    argv->present = 1;
    argv->items = calloc(json_array_size(v), sizeof(*argv->items));
    if (!argv->items) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item)) {
            ctr_fail(err, errlen, where, "%s[%zu] must be a string", key, i);
            return -1;
        }
        if (kit_template_compile(&argv->items[i], json_string_value(item), msg, sizeof(msg)) != 0) {
            ctr_fail(err, errlen, where, "%s[%zu]: %s", key, i, msg);
            return -1;
        }
        argv->n++;
    }
    return 0;
}

/* The program a container runs is chosen by the flow, never by the sender. */
static int ctr_settings_program_fixed(const struct ctr_settings *cfg, const char *where, char *err,
                                      size_t errlen)
{
    const struct ctr_argv *first = cfg->entrypoint.present ? &cfg->entrypoint : &cfg->command;
    const char *key = cfg->entrypoint.present ? "entrypoint" : "command";

    if (first->present && kit_template_has_placeholders(first->items[0])) {
        ctr_fail(err, errlen, where,
                 "%s[0] (\"%s\") must not contain placeholders: the program to run is chosen by "
                 "the flow, not by the request (put values in later elements or in env)",
                 key, kit_template_source(first->items[0]));
        return -1;
    }
    return 0;
}

/* The variables sluice itself sets all start with SLUICE_; keep them ours. */
static int ctr_env_name_check(const char *name, const char *group, const char *where, char *err,
                              size_t errlen)
{
    if (!ctr_settings_env_name_ok(name)) {
        ctr_fail(err, errlen, where, "%s name \"%s\" is not valid: use [A-Za-z_][A-Za-z0-9_]*",
                 group, name);
        return -1;
    }
    if (strncmp(name, "SLUICE_", 7) == 0) {
        ctr_fail(err, errlen, where,
                 "%s name \"%s\": names starting with SLUICE_ are reserved for the variables "
                 "sluice sets",
                 group, name);
        return -1;
    }
    return 0;
}

/* Scalars become text, so env = { N = 3; } works like N = "3". */
static const char *ctr_scalar_text(json_t *value, char *buf, size_t len)
{
    if (json_is_string(value))
        return json_string_value(value);
    if (json_is_integer(value)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return buf;
    }
    if (json_is_boolean(value)) {
        snprintf(buf, len, "%s", json_is_true(value) ? "true" : "false");
        return buf;
    }
    return NULL;
}

static int ctr_settings_env(struct ctr_settings *cfg, json_t *env, const char *where, char *err,
                            size_t errlen)
{
    char msg[1024];
    const char *name;
    json_t *value;

    if (!json_is_object(env)) {
        ctr_fail(err, errlen, where, "env must be a group of NAME = \"template\"");
        return -1;
    }
    cfg->env = calloc(json_object_size(env) + 1, sizeof(*cfg->env));
    if (!cfg->env)
        goto nomem;
    json_object_foreach(env, name, value)
    {
        struct ctr_env_var *var = &cfg->env[cfg->nenv];
        char text[64];
        const char *src = ctr_scalar_text(value, text, sizeof(text));

        if (ctr_env_name_check(name, "env", where, err, errlen) != 0)
            return -1;
        if (!src) {
            ctr_fail(err, errlen, where, "env.%s must be a string", name);
            return -1;
        }
        if (!(var->name = strdup(name)))
            goto nomem;
        cfg->nenv++;
        if (kit_template_compile(&var->value, src, msg, sizeof(msg)) != 0) {
            ctr_fail(err, errlen, where,
                     "env.%s: %s (a secret belongs in secrets, whose values are never parsed)",
                     name, msg);
            return -1;
        }
    }
    return 0;

nomem:
    ctr_fail(err, errlen, where, "out of memory");
    return -1;
}

/*
 * secrets = { TOKEN = "@env:API_TOKEN"; }: sluiced has already replaced
 * "@env:"/"@file:" by the value. Kept literal (a token may well contain
 * braces) and never written to a log.
 */
static int ctr_settings_secrets(struct ctr_settings *cfg, json_t *secrets, const char *where,
                                char *err, size_t errlen)
{
    const char *name;
    json_t *value;

    if (!json_is_object(secrets)) {
        ctr_fail(err, errlen, where,
                 "secrets must be a group of NAME = \"@env:VAR\" (or "
                 "\"@file:PATH\")");
        return -1;
    }
    cfg->secrets = calloc(json_object_size(secrets) + 1, sizeof(*cfg->secrets));
    if (!cfg->secrets)
        goto nomem;
    json_object_foreach(secrets, name, value)
    {
        struct ctr_secret *sec = &cfg->secrets[cfg->nsecrets];

        if (ctr_env_name_check(name, "secrets", where, err, errlen) != 0)
            return -1;
        if (!json_is_string(value)) {
            ctr_fail(err, errlen, where, "secrets.%s must be a string", name);
            return -1;
        }
        for (size_t i = 0; i < cfg->nenv; i++) {
            if (strcmp(cfg->env[i].name, name) == 0) {
                ctr_fail(err, errlen, where, "%s is set in both env and secrets", name);
                return -1;
            }
        }
        if (!(sec->name = strdup(name)) || !(sec->value = strdup(json_string_value(value)))) {
            free(sec->name);
            goto nomem;
        }
        cfg->nsecrets++;
    }
    return 0;

nomem:
    ctr_fail(err, errlen, where, "out of memory");
    return -1;
}

static int ctr_settings_bool(int *out, json_t *v, const char *key, const char *where, char *err,
                             size_t errlen)
{
    if (!json_is_boolean(v)) {
        ctr_fail(err, errlen, where, "%s must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

static int ctr_settings_pull(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                             size_t errlen)
{
    const char *s = json_string_value(v);

    if (s && strcmp(s, "never") == 0)
        cfg->pull = CTR_PULL_NEVER;
    else if (s && strcmp(s, "missing") == 0)
        cfg->pull = CTR_PULL_MISSING;
    else if (s && strcmp(s, "always") == 0)
        cfg->pull = CTR_PULL_ALWAYS;
    else {
        ctr_fail(err, errlen, where,
                 "pull must be \"never\", \"missing\" (the default) or "
                 "\"always\"");
        return -1;
    }
    return 0;
}

/* The host directory that holds each execution's event file and outputs. */
static int ctr_settings_work_dir(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                                 size_t errlen)
{
    const char *tmpdir = getenv("TMPDIR");
    const char *path = tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp";
    struct stat st;

    if (v && (!(path = json_string_value(v)) || path[0] != '/')) {
        ctr_fail(err, errlen, where, "work_dir must be an absolute path");
        return -1;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ctr_fail(err, errlen, where, "work_dir \"%s\" is not a directory", path);
        return -1;
    }
    if (!(cfg->work_dir = strdup(path))) {
        ctr_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

/* The settings that are a single scalar, each with its own parser. */
static int ctr_settings_scalars(struct ctr_settings *cfg, json_t *root, const char *where,
                                char *err, size_t errlen)
{
    json_t *v;

    if ((v = json_object_get(root, "stdin")) &&
        ctr_settings_bool(&cfg->stdin_event, v, "stdin", where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "read_only_rootfs")) &&
        ctr_settings_bool(&cfg->read_only_rootfs, v, "read_only_rootfs", where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "keep")) &&
        ctr_settings_bool(&cfg->keep, v, "keep", where, err, errlen) != 0)
        return -1;
    if (ctr_settings_network(cfg, json_object_get(root, "network"), where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "memory")) &&
        ctr_settings_memory(cfg, v, where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "cpus")) && ctr_settings_cpus(cfg, v, where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "pids_limit")) &&
        ctr_settings_pids(cfg, v, where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "user")) && ctr_settings_user(cfg, v, where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "pull")) && ctr_settings_pull(cfg, v, where, err, errlen) != 0)
        return -1;
    if ((v = json_object_get(root, "timeout")) &&
        (kit_duration(v, &cfg->timeout_ms) != 0 || cfg->timeout_ms == 0)) {
        ctr_fail(err, errlen, where,
                 "timeout must be a duration such as \"30s\" or \"5m\" "
                 "(units ms, s, m, h, d, a bare number is seconds; at most 24h)");
        return -1;
    }
    return 0;
}

int ctr_settings_parse(struct ctr_settings **out, const char *cfg_json, size_t cfg_len,
                       const char *where, char *err, size_t errlen)
{
    struct ctr_settings *cfg = NULL;
    json_t *root, *v;

    *out = NULL;
    if (!(root = kit_config(cfg_json, cfg_len, ctr_settings_keys, where, "container", err, errlen)))
        goto fail;
    if (!(cfg = calloc(1, sizeof(*cfg)))) {
        ctr_fail(err, errlen, where, "out of memory");
        goto fail;
    }
    cfg->pull = CTR_PULL_MISSING;
    if (!(v = json_object_get(root, "image"))) {
        ctr_fail(err, errlen, where, "image is required (the image each execution runs in)");
        goto fail;
    }
    if (ctr_settings_image(cfg, v, where, err, errlen) != 0 ||
        ctr_settings_socket(cfg, json_object_get(root, "socket"), where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "command")) &&
        ctr_settings_argv(&cfg->command, v, "command", where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "entrypoint")) &&
        ctr_settings_argv(&cfg->entrypoint, v, "entrypoint", where, err, errlen) != 0)
        goto fail;
    if (ctr_settings_program_fixed(cfg, where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "env")) && ctr_settings_env(cfg, v, where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "secrets")) &&
        ctr_settings_secrets(cfg, v, where, err, errlen) != 0)
        goto fail;
    if (ctr_settings_scalars(cfg, root, where, err, errlen) != 0 ||
        ctr_settings_ulimits(cfg, json_object_get(root, "ulimits"), where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "mounts")) &&
        ctr_settings_mounts(cfg, v, where, err, errlen) != 0)
        goto fail;
    if (ctr_settings_work_dir(cfg, json_object_get(root, "work_dir"), where, err, errlen) != 0)
        goto fail;
    json_decref(root);
    *out = cfg;
    return 0;

fail:
    json_decref(root);
    ctr_settings_free(cfg);
    return -1;
}

static void ctr_argv_clear(struct ctr_argv *argv)
{
    for (size_t i = 0; i < argv->n; i++)
        kit_template_free(argv->items[i]);
    free(argv->items);
}

void ctr_settings_free(struct ctr_settings *cfg)
{
    if (!cfg)
        return;
    free(cfg->socket);
    free(cfg->image);
    ctr_argv_clear(&cfg->command);
    ctr_argv_clear(&cfg->entrypoint);
    for (size_t i = 0; i < cfg->nenv; i++) {
        free(cfg->env[i].name);
        kit_template_free(cfg->env[i].value);
    }
    free(cfg->env);
    for (size_t i = 0; i < cfg->nsecrets; i++) {
        free(cfg->secrets[i].name);
        if (cfg->secrets[i].value) {
            /* Do not leave a secret lying around in freed memory. */
            explicit_bzero(cfg->secrets[i].value, strlen(cfg->secrets[i].value));
            free(cfg->secrets[i].value);
        }
    }
    free(cfg->secrets);
    free(cfg->network);
    free(cfg->ulimits);
    free(cfg->user);
    for (size_t i = 0; i < cfg->nmounts; i++) {
        free(cfg->mounts[i].source);
        free(cfg->mounts[i].target);
    }
    free(cfg->mounts);
    free(cfg->work_dir);
    free(cfg);
}
