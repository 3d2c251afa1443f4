/*
 * filter.c - condition trees over headers and event paths (see filter.h).
 */
#include "filter.h"

#include "xalloc.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILTER_MAX_DEPTH 8

enum { F_ALL, F_ANY, F_NOT, F_HEADER, F_PATH };

struct filter {
    int kind;
    /* groups */
    filter **kids;
    size_t n_kids;
    /* leaves */
    char *name; /* header (lower-case) or event path */
    char **equals;
    regex_t re;
    int has_re;
    char *pattern;
};

void filter_free(filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_kids; i++)
        filter_free(f->kids[i]);
    free(f->kids);
    free(f->name);
    cp_strv_free(f->equals);
    if (f->has_re)
        regfree(&f->re);
    free(f->pattern);
    free(f);
}

static const char *const filter_keys[] = {"all", "any", "not", "header", "path", "equals",
                                          "matches", NULL};

static int parse_node(parse_ctx *c, const config_setting_t *s, const char *what, int depth,
                      filter **out);

static int parse_list(parse_ctx *c, const config_setting_t *l, const char *what, int depth,
                      filter *f)
{
    if (!config_setting_is_list(l) || config_setting_length(l) == 0)
        return cp_fail(c, l, "%s: all/any must be a non-empty list ( { ... }, { ... } )", what);
    int n = config_setting_length(l);
    f->kids = xcalloc((size_t)n, sizeof(filter *));
    for (int i = 0; i < n; i++) {
        /* Counted first: a half-built child is freed with its parent. */
        f->n_kids++;
        if (parse_node(c, config_setting_get_elem(l, (unsigned)i), what, depth + 1,
                       &f->kids[i]) < 0)
            return -1;
    }
    return 0;
}

static int parse_node(parse_ctx *c, const config_setting_t *s, const char *what, int depth,
                      filter **out)
{
    *out = NULL;
    if (depth > FILTER_MAX_DEPTH)
        return cp_fail(c, s, "%s: filters nest at most %d deep", what, FILTER_MAX_DEPTH);
    if (!config_setting_is_group(s))
        return cp_fail(c, s, "%s: a filter is a group { header = ...; equals = ...; }", what);
    if (cp_check_keys(c, s, what, filter_keys) < 0)
        return -1;
    const config_setting_t *all = config_setting_get_member(s, "all");
    const config_setting_t *any = config_setting_get_member(s, "any");
    const config_setting_t *neg = config_setting_get_member(s, "not");
    const config_setting_t *hdr = config_setting_get_member(s, "header");
    const config_setting_t *path = config_setting_get_member(s, "path");
    int kinds = !!all + !!any + !!neg + !!hdr + !!path;
    if (kinds != 1)
        return cp_fail(c, s, "%s: a filter has exactly one of all, any, not, header or path",
                       what);
    filter *f = xcalloc(1, sizeof(*f));
    *out = f;
    if (all || any) {
        f->kind = all ? F_ALL : F_ANY;
        if (config_setting_get_member(s, "equals") || config_setting_get_member(s, "matches"))
            return cp_fail(c, s, "%s: equals/matches belong to a header or path condition", what);
        return parse_list(c, all ? all : any, what, depth, f);
    }
    if (neg) {
        f->kind = F_NOT;
        f->kids = xcalloc(1, sizeof(filter *));
        f->n_kids = 1;
        return parse_node(c, neg, what, depth + 1, &f->kids[0]);
    }
    f->kind = hdr ? F_HEADER : F_PATH;
    if (cp_get_string(c, s, hdr ? "header" : "path", what, &f->name) < 0)
        return -1;
    if (!*f->name)
        return cp_fail(c, hdr ? hdr : path, "%s: the header or path must not be empty", what);
    if (hdr)
        for (char *p = f->name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    if (cp_get_strv(c, s, "equals", what, &f->equals) < 0 ||
        cp_get_string(c, s, "matches", what, &f->pattern) < 0)
        return -1;
    if (!f->equals == !f->pattern)
        return cp_fail(c, s, "%s: a condition on \"%s\" needs exactly one of equals or matches",
                       what, f->name);
    if (f->pattern) {
        int rc = regcomp(&f->re, f->pattern, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &f->re, msg, sizeof(msg));
            return cp_fail(c, config_setting_get_member(s, "matches"),
                           "%s: matches: bad regular expression \"%s\": %s", what, f->pattern,
                           msg);
        }
        f->has_re = 1;
    }
    return 0;
}

int filter_parse(parse_ctx *c, const config_setting_t *s, const char *what, filter **out)
{
    char w[256];
    snprintf(w, sizeof(w), "%s.filter", what);
    if (parse_node(c, s, w, 1, out) < 0) {
        filter_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* "a.b[2][0].c": object members by name, array elements by [index]. */
json_t *filter_lookup(json_t *root, const char *path)
{
    json_t *cur = root;
    const char *p = path;
    while (cur && *p) {
        size_t n = strcspn(p, ".[");
        if (n > 0) {
            char key[256];
            if (n >= sizeof(key) || !json_is_object(cur))
                return NULL;
            memcpy(key, p, n);
            key[n] = 0;
            cur = json_object_get(cur, key);
            p += n;
        }
        while (cur && *p == '[') {
            char *end;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || !json_is_array(cur))
                return NULL;
            cur = json_array_get(cur, idx);
            p = end + 1;
        }
        if (*p == '.')
            p++;
        else if (*p)
            return NULL;
    }
    return cur;
}

/* The value as text for a comparison; 0 when it has none (object, array). */
static int value_text(json_t *v, char *buf, size_t len, const char **out)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *out = json_string_value(v);
        return 1;
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(buf, len, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(buf, len, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, len, "false");
        break;
    case JSON_NULL:
        snprintf(buf, len, "null");
        break;
    default:
        return 0;
    }
    *out = buf;
    return 1;
}

static int leaf_eval(const filter *f, const char *value)
{
    if (!value)
        return 0;
    if (f->has_re)
        return regexec(&f->re, value, 0, NULL, 0) == 0;
    for (char **e = f->equals; *e; e++)
        if (strcmp(*e, value) == 0)
            return 1;
    return 0;
}

static int node_eval(const filter *f, const http_request *rq, json_t *event, char *why,
                     size_t whylen)
{
    switch (f->kind) {
    case F_ALL:
        for (size_t i = 0; i < f->n_kids; i++)
            if (!node_eval(f->kids[i], rq, event, why, whylen))
                return 0;
        return 1;
    case F_ANY:
        for (size_t i = 0; i < f->n_kids; i++)
            if (node_eval(f->kids[i], rq, event, why, whylen))
                return 1;
        return 0;
    case F_NOT:
        if (!node_eval(f->kids[0], rq, event, NULL, 0))
            return 1;
        if (why)
            snprintf(why, whylen, "a \"not\" condition held");
        return 0;
    case F_HEADER: {
        const char *v = event_header(rq, f->name);
        if (leaf_eval(f, v))
            return 1;
        if (why)
            snprintf(why, whylen, "header %s %s", f->name,
                     v ? "does not match" : "is missing");
        return 0;
    }
    default: {
        json_t *j = event ? filter_lookup(event, f->name) : NULL;
        char buf[64];
        const char *v = NULL;
        if (j && value_text(j, buf, sizeof(buf), &v) && leaf_eval(f, v))
            return 1;
        if (why)
            snprintf(why, whylen, "%s %s", f->name, j ? "does not match" : "is missing");
        return 0;
    }
    }
}

int filter_eval(const filter *f, const http_request *rq, json_t *event, char *why,
                size_t whylen)
{
    if (why && whylen)
        why[0] = 0;
    return !f || node_eval(f, rq, event, why, whylen);
}
