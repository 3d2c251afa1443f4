/*
 * confparse.c - typed, validated access to libconfig settings.
 *
 * Every getter reports errors as "file:line: what.name: message" through
 * cp_fail, resolves "@env:" and "@file:" strings, and leaves the output
 * untouched when the setting is absent, so callers set defaults first.
 * Shared by config.c and by the parsers of trigger sub-groups.
 */
#include "confparse.h"

#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cp_fail(parse_ctx *c, const config_setting_t *s, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = 1;
    int n = 0;
    if (s && config_setting_source_file(s))
        n = snprintf(c->err, c->errlen, "%s:%u: ", config_setting_source_file(s),
                     config_setting_source_line(s));
    if (n < 0 || (size_t)n >= c->errlen)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

void cp_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

size_t cp_strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* Reject any member of group not in allowed (NULL-terminated). */
int cp_check_keys(parse_ctx *c, const config_setting_t *group, const char *what,
                  const char *const *allowed)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(m);
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (name && strcmp(name, *a) == 0)
                ok = 1;
        if (!ok) {
            char list[512] = "";
            for (const char *const *a = allowed; *a; a++) {
                strncat(list, *a, sizeof(list) - strlen(list) - 1);
                if (a[1])
                    strncat(list, ", ", sizeof(list) - strlen(list) - 1);
            }
            return cp_fail(c, m, "%s: unknown setting \"%s\" (known: %s)", what, name ? name : "?",
                           list);
        }
    }
    return 0;
}

/* The name to show for s in a message: its own, or that of the list it is in. */
static const char *setting_label(const config_setting_t *s)
{
    while (s && !config_setting_name(s))
        s = config_setting_parent(s);
    return s && config_setting_name(s) ? config_setting_name(s) : "?";
}

/*
 * "@env:NAME" and "@file:PATH" keep secrets out of the files that live in
 * git. A missing variable or unreadable file is a configuration error, never
 * an empty secret.
 */
int cp_resolve_string(parse_ctx *c, const config_setting_t *s, const char *what, const char *raw,
                      char **out)
{
    const char *label = setting_label(s);
    if (strncmp(raw, "@env:", 5) == 0) {
        const char *v = getenv(raw + 5);
        if (!v)
            return cp_fail(c, s, "%s.%s: environment variable %s is not set", what, label, raw + 5);
        *out = xstrdup(v);
        return 0;
    }
    if (strncmp(raw, "@file:", 6) == 0) {
        char path[4096];
        const char *p = raw + 6;
        if (p[0] != '/' && c->dir)
            snprintf(path, sizeof(path), "%s/%s", c->dir, p);
        else
            snprintf(path, sizeof(path), "%s", p);
        FILE *f = fopen(path, "rb");
        if (!f)
            return cp_fail(c, s, "%s.%s: cannot read %s: %s", what, label, path,
                           units_strerror(errno));
        char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        if (ferror(f)) {
            int e = errno;
            fclose(f);
            return cp_fail(c, s, "%s.%s: cannot read %s: %s", what, label, path, units_strerror(e));
        }
        int too_big = !feof(f);
        fclose(f);
        if (too_big)
            return cp_fail(c, s, "%s.%s: %s is larger than 64 KiB", what, label, path);
        buf[n] = 0;
        if (strlen(buf) != n)
            return cp_fail(c, s, "%s.%s: %s contains a NUL byte", what, label, path);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = 0;
        *out = xstrdup(buf);
        return 0;
    }
    *out = xstrdup(raw);
    return 0;
}

/* Optional string member; *out stays as it was when absent. */
int cp_get_string(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                  char **out)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cp_fail(c, s, "%s.%s: must be a string", what, name);
    char *v;
    if (cp_resolve_string(c, s, what, config_setting_get_string(s), &v) < 0)
        return -1;
    free(*out);
    *out = v;
    return 0;
}

/* A string or a list of strings, as a NULL-terminated vector. */
int cp_get_strv(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                char ***out)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return 0;
    char **v;
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        v = xcalloc(2, sizeof(char *));
        if (cp_resolve_string(c, s, what, config_setting_get_string(s), &v[0]) < 0) {
            free(v);
            return -1;
        }
    } else if (config_setting_is_array(s) || config_setting_is_list(s)) {
        int n = config_setting_length(s);
        v = xcalloc((size_t)n + 1, sizeof(char *));
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                cp_strv_free(v);
                return cp_fail(c, e, "%s.%s: must be a list of strings", what, name);
            }
            if (cp_resolve_string(c, e, what, config_setting_get_string(e), &v[i]) < 0) {
                cp_strv_free(v);
                return -1;
            }
        }
    } else {
        return cp_fail(c, s, "%s.%s: must be a string or a list of strings", what, name);
    }
    cp_strv_free(*out);
    *out = v;
    return 0;
}

int cp_get_int(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
               long long lo, long long hi, int *out)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return cp_fail(c, s, "%s.%s: must be an integer", what, name);
    long long v = config_setting_get_int64(s);
    if (v < lo || v > hi)
        return cp_fail(c, s, "%s.%s: %lld is out of range %lld..%lld", what, name, v, lo, hi);
    *out = (int)v;
    return 0;
}

int cp_get_size(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                uint64_t *out)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
        long long v = config_setting_get_int64(s);
        if (v < 0)
            return cp_fail(c, s, "%s.%s: must not be negative", what, name);
        *out = (uint64_t)v;
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING ||
        units_parse_size(config_setting_get_string(s), out) < 0)
        return cp_fail(c, s, "%s.%s: bad size (use a number of bytes or \"512K\", \"1M\", \"1G\")",
                       what, name);
    return 0;
}

int cp_get_duration(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                    uint64_t *out)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    if (!s)
        return 0;
    /* An integer is seconds, as "30" is and as plugins' settings take it
     * (sluice_json_duration): one grammar for every duration. */
    if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
        long long secs = config_setting_get_int64(s);
        if (secs >= 0 && (uint64_t)secs <= UINT64_MAX / 1000) {
            *out = (uint64_t)secs * 1000;
            return 0;
        }
    } else if (config_setting_type(s) == CONFIG_TYPE_STRING &&
               units_parse_duration(config_setting_get_string(s), out) == 0) {
        return 0;
    }
    return cp_fail(c, s,
                   "%s.%s: bad duration (use \"250ms\", \"30s\", \"5m\", \"1h\", \"14d\" or a "
                   "number of seconds)",
                   what, name);
}

int cp_valid_id(const char *s)
{
    if (!s || !*s || strlen(s) > 128)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

char *cp_where_of(const config_setting_t *s)
{
    char buf[4200];
    snprintf(buf, sizeof(buf), "%s:%u",
             config_setting_source_file(s) ? config_setting_source_file(s) : "?",
             config_setting_source_line(s));
    return xstrdup(buf);
}

/* The flow's config group as JSON, secrets resolved. */
json_t *cp_setting_to_json(parse_ctx *c, const config_setting_t *s, const char *what)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: {
        json_t *o = json_object();
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
            json_t *v = cp_setting_to_json(c, m, what);
            if (!v) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, config_setting_name(m), v);
        }
        return o;
    }
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        json_t *a = json_array();
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            json_t *v = cp_setting_to_json(c, config_setting_get_elem(s, (unsigned)i), what);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return json_integer(config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT:
        return json_real(config_setting_get_float(s));
    case CONFIG_TYPE_BOOL:
        return json_boolean(config_setting_get_bool(s));
    case CONFIG_TYPE_STRING: {
        char *v;
        if (cp_resolve_string(c, s, what, config_setting_get_string(s), &v) < 0)
            return NULL;
        json_t *j = json_string(v);
        free(v);
        if (!j)
            cp_fail(c, s, "%s: string is not valid UTF-8", what);
        return j;
    }
    default:
        cp_fail(c, s, "%s: unsupported value", what);
        return NULL;
    }
}
