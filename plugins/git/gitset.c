/*
 * gitset.c - parse and validate the git executor's per-flow config.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The git settings (url, ref, script...) are read here; everything about
 * how the command starts (argv templates, env, user, stdin...) is handed
 * to the command parser the shell executor uses (plugins/kit/command), so
 * the two executors cannot drift apart. Only local facts are checked
 * (paths as text, files named by ssh_key and known_hosts): the repository
 * itself may be unreachable when sluiced starts, so it is first fetched by
 * the first execution.
 */
#define _GNU_SOURCE
#include "gitset.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kit/kit.h"

/* Settings of the git executor itself. */
static const char *const gitexec_git_keys[] = {
    "url",   "ref",     "script",      "interpreter", "cwd", "fetch", "fetch_interval",
    "token", "ssh_key", "known_hosts", "cache_dir",   NULL};
/* Settings passed through to the shell executor's parser. */
static const char *const gitexec_shell_keys[] = {
    "argv",  "env",        "inherit_env",        "stdin", "user",
    "group", "kill_grace", "success_exit_codes", NULL};

#define GITEXEC_DEFAULT_INTERVAL_MS 60000L
#define GITEXEC_DEFAULT_CACHE "/var/lib/sluice/git"
/* A known_hosts file larger than this is not a known_hosts file. */
#define GITEXEC_MAX_KNOWN_HOSTS (1024 * 1024)

static void gitexec_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
    SLUICE_PRINTF(4, 5);

static void gitexec_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kit_errf(err, errlen, "%s: git: %s", where ? where : "config", msg);
}

static int gitexec_in(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(key, *list) == 0)
            return 1;
    return 0;
}

const char *gitexec_settings_path_problem(const char *path)
{
    if (path[0] == '\0')
        return "is empty";
    if (path[0] == '/')
        return "is an absolute path; name a path inside the repository";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "leads out of the repository (\"..\" is not allowed)";
        if (n == 0)
            return "has an empty part (\"//\")";
        p += n + (p[n] == '/' ? 1 : 0);
    }
    return NULL;
}

/*
 * Git refuses these in ref names; refusing them here too keeps a typo from
 * reaching libgit2's revision parser, which would read "main~1" as a
 * revision expression rather than a name.
 */
static int gitexec_ref_ok(const char *ref)
{
    if (ref[0] == '\0' || ref[0] == '/' || ref[0] == '-' || strstr(ref, "..") ||
        strstr(ref, "//") || strstr(ref, "@{"))
        return 0;
    for (const unsigned char *p = (const unsigned char *)ref; *p; p++)
        if (*p < 0x21 || *p == 0x7f || strchr("~^:?*[\\", *p))
            return 0;
    return ref[strlen(ref) - 1] != '/' && ref[strlen(ref) - 1] != '.';
}

/* scheme://[user[:password]@]host[:port]/path, or file:///path. */
static int gitexec_parse_url(struct gitexec_settings *cfg, const char *where, char *err,
                             size_t errlen)
{
    struct gitexec_auth *a = &cfg->auth;
    const char *url = cfg->url, *rest, *at, *slash, *hostend;

    if (strncmp(url, "file://", 7) == 0) {
        a->scheme = GITEXEC_URL_FILE;
        if (url[7] != '/') {
            gitexec_fail(err, errlen, where,
                         "url \"%s\": a file:// URL needs an absolute path (file:///srv/x.git)",
                         url);
            return -1;
        }
        cfg->url_label = strdup(url);
        return cfg->url_label ? 0 : -1;
    }
    if (strncmp(url, "https://", 8) == 0) {
        a->scheme = GITEXEC_URL_HTTPS;
        rest = url + 8;
    } else if (strncmp(url, "ssh://", 6) == 0) {
        a->scheme = GITEXEC_URL_SSH;
        rest = url + 6;
    } else {
        gitexec_fail(err, errlen, where,
                     "url \"%s\": use file://, https:// or ssh:// (plain http:// and git:// "
                     "would fetch code to run without authenticating the server)",
                     url);
        return -1;
    }
    slash = rest + strcspn(rest, "/");
    at = memchr(rest, '@', (size_t)(slash - rest));
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));

        a->user = strndup(rest, (size_t)((colon ? colon : at) - rest));
        if (!a->user)
            return -1;
        if (a->scheme == GITEXEC_URL_HTTPS && colon) {
            gitexec_fail(err, errlen, where,
                         "url: do not write a password into the URL; use token = "
                         "\"@env:NAME\" so it stays out of files and logs");
            return -1;
        }
        rest = at + 1;
    }
    hostend = rest;
    if (*rest == '[') {
        hostend = memchr(rest, ']', (size_t)(slash - rest));
        hostend = hostend ? hostend + 1 : slash;
    }
    hostend += strcspn(hostend, ":/");
    if (hostend == rest || *slash != '/' || slash[1] == '\0') {
        gitexec_fail(err, errlen, where, "url \"%s\": needs a host and a repository path", url);
        return -1;
    }
    a->host = strndup(rest, (size_t)(hostend - rest));
    if (*hostend == ':') {
        char *end;
        long port = strtol(hostend + 1, &end, 10);

        if (end != slash || port < 1 || port > 65535) {
            gitexec_fail(err, errlen, where, "url \"%s\": bad port", url);
            return -1;
        }
        a->port = (int)port;
    }
    if (asprintf(&cfg->url_label, "%.*s%s", (int)(strstr(url, "://") + 3 - url), url, rest) < 0) {
        cfg->url_label = NULL; /* asprintf leaves it undefined on failure */
        return -1;
    }
    return a->host ? 0 : -1;
}

static int gitexec_read_file(const char *path, char **out, char *msg, size_t msglen)
{
    char ebuf[128];
    struct stat st;
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f || fstat(fileno(f), &st) != 0) {
        kit_errf(msg, msglen, "cannot read \"%s\": %s", path,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        if (f)
            fclose(f);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > GITEXEC_MAX_KNOWN_HOSTS) {
        kit_errf(msg, msglen, "\"%s\" is not a regular file of at most 1 MiB", path);
        fclose(f);
        return -1;
    }
    *out = calloc(1, (size_t)st.st_size + 1);
    n = *out ? fread(*out, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!*out) {
        kit_errf(msg, msglen, "out of memory");
        return -1;
    }
    (*out)[n] = '\0';
    return 0;
}

/* Credentials must match the transport, so a misplaced secret is seen. */
static int gitexec_parse_auth(struct gitexec_settings *cfg, json_t *root, const char *where,
                              char *err, size_t errlen)
{
    struct gitexec_auth *a = &cfg->auth;
    const char *token = json_string_value(json_object_get(root, "token"));
    const char *key = json_string_value(json_object_get(root, "ssh_key"));
    const char *kh = json_string_value(json_object_get(root, "known_hosts"));
    char msg[512];

    if (token && a->scheme != GITEXEC_URL_HTTPS) {
        gitexec_fail(err, errlen, where, "token is for https:// URLs only");
        return -1;
    }
    if ((key || kh) && a->scheme != GITEXEC_URL_SSH) {
        gitexec_fail(err, errlen, where, "%s is for ssh:// URLs only",
                     key ? "ssh_key" : "known_hosts");
        return -1;
    }
    if (a->scheme == GITEXEC_URL_SSH && !kh) {
        gitexec_fail(err, errlen, where,
                     "an ssh:// URL needs known_hosts (a file, or its text), so the server's "
                     "host key is checked");
        return -1;
    }
    if (token && !(a->token = strdup(token)))
        return -1;
    if (key) {
        a->ssh_key_text = strncmp(key, "-----BEGIN", 10) == 0;
        if (!a->ssh_key_text && key[0] != '/') {
            gitexec_fail(err, errlen, where,
                         "ssh_key must be an absolute path or the key's text (\"@file:...\")");
            return -1;
        }
        if (!a->ssh_key_text && access(key, R_OK) != 0) {
            char ebuf[128];

            gitexec_fail(err, errlen, where, "ssh_key \"%s\": %s", key,
                         kit_strerror(errno, ebuf, sizeof(ebuf)));
            return -1;
        }
        if (!(a->ssh_key = strdup(key)))
            return -1;
    }
    if (kh) {
        if (kh[0] == '/' && !strchr(kh, '\n')) {
            if (gitexec_read_file(kh, &a->known_hosts, msg, sizeof(msg)) != 0) {
                gitexec_fail(err, errlen, where, "known_hosts: %s", msg);
                return -1;
            }
        } else if (!(a->known_hosts = strdup(kh))) {
            return -1;
        }
    }
    return 0;
}

static int gitexec_parse_fetch(struct gitexec_settings *cfg, json_t *root, const char *where,
                               char *err, size_t errlen)
{
    json_t *mode = json_object_get(root, "fetch");
    json_t *interval = json_object_get(root, "fetch_interval");
    const char *s = json_string_value(mode);

    cfg->fetch = GITEXEC_FETCH_ALWAYS;
    cfg->fetch_interval_ms = GITEXEC_DEFAULT_INTERVAL_MS;
    if (mode) {
        if (s && strcmp(s, "always") == 0)
            cfg->fetch = GITEXEC_FETCH_ALWAYS;
        else if (s && strcmp(s, "interval") == 0)
            cfg->fetch = GITEXEC_FETCH_INTERVAL;
        else if (s && strcmp(s, "never") == 0)
            cfg->fetch = GITEXEC_FETCH_NEVER;
        else {
            gitexec_fail(err, errlen, where, "fetch must be \"always\", \"interval\" or \"never\"");
            return -1;
        }
    }
    if (interval) {
        if (cfg->fetch != GITEXEC_FETCH_INTERVAL) {
            gitexec_fail(err, errlen, where, "fetch_interval needs fetch = \"interval\"");
            return -1;
        }
        if (kit_duration(interval, &cfg->fetch_interval_ms) != 0) {
            gitexec_fail(err, errlen, where,
                         "fetch_interval must be a duration such as \"30s\" or \"5m\" (a bare "
                         "number is seconds; at most 24h)");
            return -1;
        }
    }
    return 0;
}

static int gitexec_parse_cache_dir(struct gitexec_settings *cfg, json_t *root, const char *where,
                                   char *err, size_t errlen)
{
    const char *dir = json_string_value(json_object_get(root, "cache_dir"));
    const char *state = getenv("SLUICE_STATE_DIR");

    if (json_object_get(root, "cache_dir") && (!dir || dir[0] != '/')) {
        gitexec_fail(err, errlen, where, "cache_dir must be an absolute path");
        return -1;
    }
    if (dir)
        cfg->cache_dir = strdup(dir);
    else if (state && state[0] == '/') {
        size_t n = strlen(state);

        while (n > 1 && state[n - 1] == '/')
            n--;
        if (asprintf(&cfg->cache_dir, "%.*s/git", (int)n, state) < 0)
            cfg->cache_dir = NULL;
    } else {
        cfg->cache_dir = strdup(GITEXEC_DEFAULT_CACHE);
    }
    if (!cfg->cache_dir)
        return -1;
    /* Trailing slashes would make two spellings of one cache two caches. */
    for (size_t n = strlen(cfg->cache_dir); n > 1 && cfg->cache_dir[n - 1] == '/';)
        cfg->cache_dir[--n] = '\0';
    return 0;
}

static int gitexec_get_string(json_t *root, const char *key, int required, char **out,
                              const char *where, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);

    if (!v && !required)
        return 0;
    if (!v) {
        gitexec_fail(err, errlen, where, "missing setting \"%s\"", key);
        return -1;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        gitexec_fail(err, errlen, where, "%s must be a non-empty string", key);
        return -1;
    }
    if (!(*out = strdup(json_string_value(v)))) {
        gitexec_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

/* A literal argv element for the shell parser: braces doubled. */
static json_t *gitexec_literal(const char *text)
{
    size_t n = strlen(text), extra = 0;
    char *buf, *q;
    json_t *s;

    for (const char *p = text; *p; p++)
        extra += *p == '{' || *p == '}';
    if (!(buf = malloc(n + extra + 1)))
        return NULL;
    q = buf;
    for (const char *p = text; *p; p++) {
        *q++ = *p;
        if (*p == '{' || *p == '}')
            *q++ = *p;
    }
    *q = '\0';
    s = json_string(buf);
    free(buf);
    return s;
}

/*
 * The shell argv is interpreter + script + the flow's argv. The shell
 * parser numbers argv elements from its own argv[0]; its messages are
 * renumbered so that they point at the flow's argv.
 */
static void gitexec_renumber(char *msg, size_t len, size_t offset)
{
    char out[2048], *o = out;
    const char *p = msg;

    while (*p && (size_t)(o - out) < sizeof(out) - 32) {
        char *end;
        unsigned long i;

        if (strncmp(p, "argv[", 5) == 0 && isdigit((unsigned char)p[5]) &&
            (i = strtoul(p + 5, &end, 10), *end == ']') && i >= offset) {
            o += sprintf(o, "argv[%lu]", i - offset);
            p = end + 1;
            continue;
        }
        *o++ = *p++;
    }
    *o = '\0';
    snprintf(msg, len, "%s", out);
}

static int gitexec_build_shell(struct gitexec_settings *cfg, json_t *root, const char *where,
                               char *err, size_t errlen)
{
    json_t *interp = json_object_get(root, "interpreter");
    json_t *args = json_object_get(root, "argv");
    json_t *shell = json_object(), *argv = json_array();
    const char *key, *prefix;
    json_t *v;
    size_t i, wl;
    char *text = NULL, msg[2048];
    int rc = -1;

    if (!shell || !argv)
        goto nomem;
    if (interp) {
        if (!json_is_array(interp) || json_array_size(interp) == 0) {
            gitexec_fail(err, errlen, where, "interpreter must be a non-empty array of strings");
            goto out;
        }
        json_array_foreach(interp, i, v)
        {
            const char *s = json_string_value(v);

            if (!s || s[0] == '\0' || strchr(s, '{') || strchr(s, '}')) {
                gitexec_fail(err, errlen, where,
                             "interpreter[%zu] must be a fixed, non-empty string (no "
                             "placeholders: the payload never chooses what runs)",
                             i);
                goto out;
            }
            if (json_array_append_new(argv, json_string(s)) != 0)
                goto nomem;
        }
    }
    /* Every element or none: one lost here would shift what runs. */
    cfg->script_index = json_array_size(argv);
    if (json_array_append_new(argv, gitexec_literal(cfg->script)) != 0)
        goto nomem;
    if (args && !json_is_array(args)) {
        gitexec_fail(err, errlen, where,
                     "argv must be an array of strings (the script's "
                     "arguments)");
        goto out;
    }
    json_array_foreach(args, i, v) if (json_array_append(argv, v) != 0) goto nomem;
    v = argv;
    argv = NULL; /* json_object_set_new takes it even when it fails */
    if (json_object_set_new(shell, "argv", v) != 0)
        goto nomem;
    json_object_foreach(root, key, v)
    {
        /* A lost "user" would run the script as sluiced's own user. */
        if (strcmp(key, "argv") != 0 && gitexec_in(key, gitexec_shell_keys) &&
            json_object_set(shell, key, v) != 0)
            goto nomem;
    }
    if (!(text = json_dumps(shell, JSON_COMPACT)))
        goto nomem;
    if (kit_settings_parse(&cfg->shell, text, strlen(text), where, msg, sizeof(msg)) != 0) {
        /* "<where>: shell: <message>" becomes "<where>: git: <message>". */
        prefix = msg;
        wl = where ? strlen(where) : 0;
        if (wl && strncmp(msg, where, wl) == 0 && strncmp(msg + wl, ": shell: ", 9) == 0)
            prefix = msg + wl + 9;
        else if (strncmp(msg, "config: shell: ", 15) == 0)
            prefix = msg + 15;
        memmove(msg, prefix, strlen(prefix) + 1);
        gitexec_renumber(msg, sizeof(msg), cfg->script_index + 1);
        gitexec_fail(err, errlen, where, "%s", msg);
        goto out;
    }
    rc = 0;
    goto out;
nomem:
    gitexec_fail(err, errlen, where, "out of memory");
out:
    free(text);
    json_decref(argv);
    json_decref(shell);
    return rc;
}

static int gitexec_check_keys(json_t *root, const char *where, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "script") == 0 && !json_is_string(v)) {
            gitexec_fail(err, errlen, where, "script must be a path inside the repository");
            return -1;
        }
        if (!gitexec_in(key, gitexec_git_keys) && !gitexec_in(key, gitexec_shell_keys)) {
            gitexec_fail(err, errlen, where, "unknown setting \"%s\"", key);
            return -1;
        }
        if ((strcmp(key, "token") == 0 || strcmp(key, "ssh_key") == 0 ||
             strcmp(key, "known_hosts") == 0 || strcmp(key, "cache_dir") == 0 ||
             strcmp(key, "fetch") == 0) &&
            (!json_is_string(v) || json_string_length(v) == 0)) {
            gitexec_fail(err, errlen, where, "%s must be a non-empty string", key);
            return -1;
        }
    }
    return 0;
}

int gitexec_settings_parse(struct gitexec_settings **out, const char *cfg_json, size_t cfg_len,
                           const char *where, char *err, size_t errlen)
{
    struct gitexec_settings *cfg = NULL;
    json_t *root;
    const char *why;

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    /* The keys are two lists (git's and the command's): checked below. */
    if (!(root = kit_config(cfg_json, cfg_len, NULL, where, "git", err, errlen)))
        goto fail;
    if (gitexec_check_keys(root, where, err, errlen) != 0)
        goto fail;
    if (!(cfg = calloc(1, sizeof(*cfg))))
        goto nomem;
    if (gitexec_get_string(root, "url", 1, &cfg->url, where, err, errlen) != 0 ||
        gitexec_get_string(root, "ref", 1, &cfg->ref, where, err, errlen) != 0 ||
        gitexec_get_string(root, "script", 1, &cfg->script, where, err, errlen) != 0 ||
        gitexec_get_string(root, "cwd", 0, &cfg->cwd, where, err, errlen) != 0)
        goto fail;
    if (!gitexec_ref_ok(cfg->ref)) {
        gitexec_fail(err, errlen, where, "ref \"%s\" is not a valid branch, tag or commit name",
                     cfg->ref);
        goto fail;
    }
    if ((why = gitexec_settings_path_problem(cfg->script))) {
        gitexec_fail(err, errlen, where, "script \"%s\" %s", cfg->script, why);
        goto fail;
    }
    if (cfg->cwd && (why = gitexec_settings_path_problem(cfg->cwd))) {
        gitexec_fail(err, errlen, where, "cwd \"%s\" %s", cfg->cwd, why);
        goto fail;
    }
    if (gitexec_parse_url(cfg, where, err, errlen) != 0 ||
        gitexec_parse_auth(cfg, root, where, err, errlen) != 0 ||
        gitexec_parse_fetch(cfg, root, where, err, errlen) != 0 ||
        gitexec_parse_cache_dir(cfg, root, where, err, errlen) != 0 ||
        gitexec_build_shell(cfg, root, where, err, errlen) != 0) {
        if (err[0] == '\0')
            goto nomem;
        goto fail;
    }
    json_decref(root);
    *out = cfg;
    return 0;

nomem:
    gitexec_fail(err, errlen, where, "out of memory");
fail:
    json_decref(root);
    gitexec_settings_free(cfg);
    return -1;
}

void gitexec_settings_free(struct gitexec_settings *cfg)
{
    if (!cfg)
        return;
    free(cfg->url);
    free(cfg->url_label);
    free(cfg->ref);
    free(cfg->script);
    free(cfg->cwd);
    free(cfg->cache_dir);
    free(cfg->auth.user);
    free(cfg->auth.host);
    if (cfg->auth.token)
        explicit_bzero(cfg->auth.token, strlen(cfg->auth.token));
    free(cfg->auth.token);
    if (cfg->auth.ssh_key)
        explicit_bzero(cfg->auth.ssh_key, strlen(cfg->auth.ssh_key));
    free(cfg->auth.ssh_key);
    free(cfg->auth.known_hosts);
    kit_settings_free(cfg->shell);
    free(cfg);
}
