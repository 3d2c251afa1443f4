/*
 * settings.c - parse and validate a command's settings (the shell executor's
 * config group, and the command part of the git executor's).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Everything that can be checked without an event is checked here, so a
 * mistake fails the flow at start (or at reload, keeping the old config)
 * rather than on its first webhook: unknown settings, types, template
 * syntax and roots, env names, the working directory, the run-as user.
 */
#define _GNU_SOURCE
#include "kit/command/settings.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "kit/kit.h"

static const char *const kit_settings_keys[] = {
    "argv", "script", "env",        "inherit_env",        "stdin", "cwd",
    "user", "group",  "kill_grace", "success_exit_codes", NULL};

/* Every configure error reads "<where>: shell: <what>". */
static void kit_settings_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
    SLUICE_PRINTF(4, 5);

static void kit_settings_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kit_errf(err, errlen, "%s: shell: %s", where ? where : "config", msg);
}

int kit_settings_env_name_ok(const char *name)
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

/* The variables sluice itself sets all start with SLUICE_; keep them ours. */
static int kit_env_name_reserved(const char *name)
{
    return strncmp(name, "SLUICE_", 7) == 0;
}

/* Replace or append "name=value" in a NULL-free array of env strings. */
static int kit_env_put(char ***arr, size_t *n, const char *name, const char *value)
{
    size_t nlen = strlen(name);
    char *entry;

    if (asprintf(&entry, "%s=%s", name, value) < 0)
        return -1;
    for (size_t i = 0; i < *n; i++) {
        if (strncmp((*arr)[i], name, nlen) == 0 && (*arr)[i][nlen] == '=') {
            free((*arr)[i]);
            (*arr)[i] = entry;
            return 0;
        }
    }
    char **grown = realloc(*arr, (*n + 1) * sizeof(*grown));
    if (!grown) {
        free(entry);
        return -1;
    }
    grown[(*n)++] = entry;
    *arr = grown;
    return 0;
}

/* sluiced's HOME, as a daemon may well have none in its environment. */
static int kit_settings_own_home(struct kit_settings *cfg)
{
    const char *home = getenv("HOME");
    struct passwd pw, *res = NULL;
    char buf[4096];
    int rc;

    if (home && *home != '\0')
        return kit_env_put(&cfg->base_env, &cfg->nbase_env, "HOME", home);
    if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
        rc = kit_env_put(&cfg->base_env, &cfg->nbase_env, "HOME", pw.pw_dir);
    else
        rc = kit_env_put(&cfg->base_env, &cfg->nbase_env, "HOME", "/");
    return rc;
}

static int kit_settings_argv(struct kit_settings *cfg, json_t *argv, const char *where, char *err,
                             size_t errlen)
{
    char msg[1024];
    size_t i;
    json_t *item;

    if (!json_is_array(argv) || json_array_size(argv) == 0) {
        kit_settings_fail(err, errlen, where, "argv must be a non-empty array of strings");
        return -1;
    }
    cfg->argv = calloc(json_array_size(argv), sizeof(*cfg->argv));
    if (!cfg->argv)
        goto nomem;
    json_array_foreach(argv, i, item)
    {
        if (!json_is_string(item)) {
            kit_settings_fail(err, errlen, where, "argv[%zu] must be a string", i);
            return -1;
        }
        if (kit_template_compile(&cfg->argv[i], json_string_value(item), msg, sizeof(msg))) {
            kit_settings_fail(err, errlen, where, "argv[%zu]: %s", i, msg);
            return -1;
        }
        cfg->argc++;
    }
    if (kit_template_has_placeholders(cfg->argv[0]) || *kit_template_source(cfg->argv[0]) == '\0') {
        kit_settings_fail(err, errlen, where,
                          "argv[0] must name a fixed program, without placeholders: the "
                          "payload may fill arguments but never choose what runs");
        return -1;
    }
    return 0;

nomem:
    kit_settings_fail(err, errlen, where, "out of memory");
    return -1;
}

static int kit_settings_script(struct kit_settings *cfg, json_t *script, const char *where,
                               char *err, size_t errlen)
{
    char found[256];

    if (!json_is_string(script) || json_string_length(script) == 0) {
        kit_settings_fail(err, errlen, where, "script must be a non-empty string");
        return -1;
    }
    if (kit_template_find_in_script(json_string_value(script), found, sizeof(found))) {
        kit_settings_fail(err, errlen, where,
                          "script contains the placeholder %s, but script text is never "
                          "filled in: the payload would become shell code. Map the value to "
                          "an environment variable instead (env = { VALUE = \"%s\"; }) and "
                          "use \"$VALUE\" in the script",
                          found, found);
        return -1;
    }
    if (!(cfg->script = strdup(json_string_value(script)))) {
        kit_settings_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

static int kit_settings_env(struct kit_settings *cfg, json_t *env, const char *where, char *err,
                            size_t errlen)
{
    char msg[1024];
    const char *name;
    json_t *value;

    if (!json_is_object(env)) {
        kit_settings_fail(err, errlen, where, "env must be a group of NAME = \"template\"");
        return -1;
    }
    cfg->env = calloc(json_object_size(env) + 1, sizeof(*cfg->env));
    if (!cfg->env)
        goto nomem;
    json_object_foreach(env, name, value)
    {
        struct kit_env_var *var = &cfg->env[cfg->nenv];
        char text[64];
        const char *src = text;

        if (!kit_settings_env_name_ok(name)) {
            kit_settings_fail(err, errlen, where,
                              "env name \"%s\" is not valid: use [A-Za-z_][A-Za-z0-9_]*", name);
            return -1;
        }
        if (kit_env_name_reserved(name)) {
            kit_settings_fail(err, errlen, where,
                              "env name \"%s\": names starting with SLUICE_ are reserved for "
                              "the variables sluice sets",
                              name);
            return -1;
        }
        if (json_is_string(value))
            src = json_string_value(value);
        else if (json_is_integer(value))
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        else if (json_is_boolean(value))
            snprintf(text, sizeof(text), "%s", json_is_true(value) ? "true" : "false");
        else {
            kit_settings_fail(err, errlen, where, "env.%s must be a string", name);
            return -1;
        }
        if (!(var->name = strdup(name)))
            goto nomem;
        cfg->nenv++;
        if (kit_template_compile(&var->value, src, msg, sizeof(msg)) != 0) {
            kit_settings_fail(err, errlen, where, "env.%s: %s", name, msg);
            return -1;
        }
    }
    return 0;

nomem:
    kit_settings_fail(err, errlen, where, "out of memory");
    return -1;
}

static int kit_settings_inherit(struct kit_settings *cfg, json_t *names, const char *where,
                                char *err, size_t errlen)
{
    size_t i;
    json_t *item;

    if (!json_is_array(names)) {
        kit_settings_fail(err, errlen, where, "inherit_env must be an array of variable names");
        return -1;
    }
    json_array_foreach(names, i, item)
    {
        const char *name = json_string_value(item);
        const char *value;

        if (!name || !kit_settings_env_name_ok(name)) {
            kit_settings_fail(err, errlen, where,
                              "inherit_env[%zu] must be a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                              i);
            return -1;
        }
        if (kit_env_name_reserved(name)) {
            kit_settings_fail(err, errlen, where,
                              "inherit_env[%zu]: names starting with SLUICE_ are reserved", i);
            return -1;
        }
        value = getenv(name);
        if (value && kit_env_put(&cfg->base_env, &cfg->nbase_env, name, value) != 0) {
            kit_settings_fail(err, errlen, where, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int kit_settings_stdin(struct kit_settings *cfg, json_t *mode, const char *where, char *err,
                              size_t errlen)
{
    const char *s = json_string_value(mode);

    if (s && strcmp(s, "event") == 0)
        cfg->stdin_mode = KIT_STDIN_EVENT;
    else if (s && strcmp(s, "body") == 0)
        cfg->stdin_mode = KIT_STDIN_BODY;
    else if (s && strcmp(s, "raw") == 0)
        cfg->stdin_mode = KIT_STDIN_RAW;
    else if (s && strcmp(s, "none") == 0)
        cfg->stdin_mode = KIT_STDIN_NONE;
    else {
        kit_settings_fail(err, errlen, where,
                          "stdin must be \"event\", \"body\", \"raw\" or \"none\"");
        return -1;
    }
    return 0;
}

static int kit_settings_cwd(struct kit_settings *cfg, json_t *cwd, const char *where, char *err,
                            size_t errlen)
{
    const char *path = json_string_value(cwd);
    char ebuf[128];
    struct stat st;

    if (!path || path[0] != '/') {
        kit_settings_fail(err, errlen, where, "cwd must be an absolute path");
        return -1;
    }
    if (stat(path, &st) != 0) {
        kit_settings_fail(err, errlen, where, "cwd \"%s\": %s", path,
                          kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        kit_settings_fail(err, errlen, where, "cwd \"%s\" is not a directory", path);
        return -1;
    }
    if (!(cfg->cwd = strdup(path))) {
        kit_settings_fail(err, errlen, where, "out of memory");
        return -1;
    }
    return 0;
}

static int kit_settings_codes(struct kit_settings *cfg, json_t *codes, const char *where, char *err,
                              size_t errlen)
{
    size_t i;
    json_t *item;

    if (!json_is_array(codes) || json_array_size(codes) == 0) {
        kit_settings_fail(err, errlen, where,
                          "success_exit_codes must be a non-empty array of integers");
        return -1;
    }
    cfg->success_codes = calloc(json_array_size(codes), sizeof(int));
    if (!cfg->success_codes) {
        kit_settings_fail(err, errlen, where, "out of memory");
        return -1;
    }
    json_array_foreach(codes, i, item)
    {
        if (!json_is_integer(item) || json_integer_value(item) < 0 ||
            json_integer_value(item) > 255) {
            kit_settings_fail(err, errlen, where,
                              "success_exit_codes[%zu] must be an integer from 0 to 255", i);
            return -1;
        }
        cfg->success_codes[cfg->nsuccess++] = (int)json_integer_value(item);
    }
    return 0;
}

static int kit_settings_runas(struct kit_settings *cfg, json_t *root, const char *where, char *err,
                              size_t errlen)
{
    json_t *user = json_object_get(root, "user");
    json_t *group = json_object_get(root, "group");
    char msg[1024];

    if ((user && (!json_is_string(user) || json_string_length(user) == 0)) ||
        (group && (!json_is_string(group) || json_string_length(group) == 0))) {
        int bad_user = user && (!json_is_string(user) || json_string_length(user) == 0);

        kit_settings_fail(err, errlen, where, "%s must be a non-empty string",
                          bad_user ? "user" : "group");
        return -1;
    }
    if (kit_runas_resolve(&cfg->runas, json_string_value(user), json_string_value(group), msg,
                          sizeof(msg)) != 0) {
        kit_settings_fail(err, errlen, where, "%s", msg);
        return -1;
    }
    return 0;
}

/*
 * Each execution gets a few small files (the event, the outputs) that live
 * for milliseconds. On a disk file system creating and deleting them costs
 * journal work that dominates short commands (measured: ~40% of CPU for
 * /bin/true under load), so they go to memory (/dev/shm) when it is a
 * writable tmpfs, else to /tmp. $TMPDIR overrides both.
 */
static const char *kit_default_tmpdir(void)
{
    struct statfs sfs;
    if (statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
        access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

/* PATH, HOME and LANG first, so inherit_env may override them. */
static int kit_settings_base_env(struct kit_settings *cfg, json_t *root, const char *where,
                                 char *err, size_t errlen)
{
    const char *tmpdir = getenv("TMPDIR");
    json_t *inherit = json_object_get(root, "inherit_env");

    if (kit_env_put(&cfg->base_env, &cfg->nbase_env, "PATH", KIT_DEFAULT_PATH) != 0)
        goto nomem;
    if (cfg->runas.change_uid && cfg->runas.home) {
        if (kit_env_put(&cfg->base_env, &cfg->nbase_env, "HOME", cfg->runas.home) != 0)
            goto nomem;
    } else if (kit_settings_own_home(cfg) != 0) {
        goto nomem;
    }
    if (kit_env_put(&cfg->base_env, &cfg->nbase_env, "LANG", "C.UTF-8") != 0)
        goto nomem;
    if (inherit && kit_settings_inherit(cfg, inherit, where, err, errlen) != 0)
        return -1;
    cfg->tmpdir = strdup(tmpdir && tmpdir[0] == '/' ? tmpdir : kit_default_tmpdir());
    if (!cfg->tmpdir)
        goto nomem;
    return 0;

nomem:
    kit_settings_fail(err, errlen, where, "out of memory");
    return -1;
}

/* Parsing the event is most of an execution's own work; a flow whose argv,
 * env and stdin never look inside it is spared the parse. */
static void kit_settings_note_needs(struct kit_settings *cfg)
{
    cfg->needs_event_tree = cfg->stdin_mode == KIT_STDIN_BODY;
    for (size_t i = 0; i < cfg->argc; i++)
        cfg->needs_event_tree |= kit_template_has_placeholders(cfg->argv[i]);
    for (size_t i = 0; i < cfg->nenv; i++)
        cfg->needs_event_tree |= kit_template_has_placeholders(cfg->env[i].value);
}

int kit_settings_parse(struct kit_settings **out, const char *cfg_json, size_t cfg_len,
                       const char *where, char *err, size_t errlen)
{
    struct kit_settings *cfg = NULL;
    json_t *root, *v;

    *out = NULL;
    if (!(root = kit_config(cfg_json, cfg_len, kit_settings_keys, where, "shell", err, errlen)))
        goto fail;
    if (!(cfg = calloc(1, sizeof(*cfg)))) {
        kit_settings_fail(err, errlen, where, "out of memory");
        goto fail;
    }
    cfg->stdin_mode = KIT_STDIN_EVENT;
    cfg->kill_grace_ms = KIT_DEFAULT_KILL_GRACE_MS;

    if (json_object_get(root, "argv") && json_object_get(root, "script")) {
        kit_settings_fail(err, errlen, where,
                          "argv and script are exclusive: set one (argv runs a program "
                          "directly, script runs sh text)");
        goto fail;
    }
    if ((v = json_object_get(root, "argv"))) {
        if (kit_settings_argv(cfg, v, where, err, errlen) != 0)
            goto fail;
    } else if ((v = json_object_get(root, "script"))) {
        if (kit_settings_script(cfg, v, where, err, errlen) != 0)
            goto fail;
    } else {
        kit_settings_fail(err, errlen, where,
                          "nothing to run: set argv (a program and its arguments) or script "
                          "(sh text)");
        goto fail;
    }
    if ((v = json_object_get(root, "env")) && kit_settings_env(cfg, v, where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "stdin")) && kit_settings_stdin(cfg, v, where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "cwd")) && kit_settings_cwd(cfg, v, where, err, errlen) != 0)
        goto fail;
    if ((v = json_object_get(root, "kill_grace")) && kit_duration(v, &cfg->kill_grace_ms) != 0) {
        kit_settings_fail(err, errlen, where,
                          "kill_grace must be a duration such as \"5s\" or \"500ms\" (units ms, "
                          "s, m, h, d, a bare number is seconds; at most 24h)");
        goto fail;
    }
    if ((v = json_object_get(root, "success_exit_codes"))) {
        if (kit_settings_codes(cfg, v, where, err, errlen) != 0)
            goto fail;
    } else {
        if (!(cfg->success_codes = calloc(1, sizeof(int)))) {
            kit_settings_fail(err, errlen, where, "out of memory");
            goto fail;
        }
        cfg->nsuccess = 1;
    }
    if (kit_settings_runas(cfg, root, where, err, errlen) != 0 ||
        kit_settings_base_env(cfg, root, where, err, errlen) != 0)
        goto fail;
    kit_settings_note_needs(cfg);
    json_decref(root);
    *out = cfg;
    return 0;

fail:
    json_decref(root);
    kit_settings_free(cfg);
    return -1;
}

void kit_settings_free(struct kit_settings *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->argc; i++)
        kit_template_free(cfg->argv[i]);
    free(cfg->argv);
    free(cfg->script);
    for (size_t i = 0; i < cfg->nenv; i++) {
        free(cfg->env[i].name);
        kit_template_free(cfg->env[i].value);
    }
    free(cfg->env);
    for (size_t i = 0; i < cfg->nbase_env; i++)
        free(cfg->base_env[i]);
    free(cfg->base_env);
    free(cfg->cwd);
    kit_runas_clear(&cfg->runas);
    free(cfg->success_codes);
    free(cfg->tmpdir);
    free(cfg);
}
