/*
 * filter.c - condition trees over headers and event paths (see filter.h).
 */
#include "filter.h"

#include "event.h"
#include "xalloc.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILTER_MAX_DEPTH 8
/* Bounds on a `matches` pattern. glibc's regcomp copies the tree under a
 * repetition once per repeat (x+ is x x*, x{3,5} five copies), so nested
 * repetitions multiply: twenty `+` in a row make a million copies. Its
 * memory then grows with the square of the copies (each keeps the set of
 * nodes reachable from it), about 10 MB at 2000. The expanded size is
 * computed before regcomp and bounded, which bounds that memory and the
 * matcher's work per input byte. */
#define FILTER_MAX_PATTERN 1024
#define FILTER_MAX_NODES 2000

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

/*
 * The size of an ERE once glibc has expanded its repetitions, saturating
 * above FILTER_MAX_NODES. -1 with why for what may not be compiled at all:
 * back-references, which make matching exponential in the input.
 */
typedef struct re_scan {
    const char *p;
    const char *why;
} re_scan;

static size_t re_mul(size_t a, size_t b)
{
    return a && b > (FILTER_MAX_NODES + 1) / a ? FILTER_MAX_NODES + 1 : a * b;
}

static size_t re_add(size_t a, size_t b)
{
    return a + b > FILTER_MAX_NODES ? FILTER_MAX_NODES + 1 : a + b;
}

static long re_alt(re_scan *r, int depth);

/* A bracket expression from just past '[': one node whatever it holds. */
static void re_bracket(re_scan *r)
{
    if (*r->p == '^')
        r->p++;
    if (*r->p == ']')
        r->p++;
    while (*r->p && *r->p != ']') {
        if (r->p[0] == '[' && (r->p[1] == ':' || r->p[1] == '=' || r->p[1] == '.')) {
            char close = r->p[1];
            const char *e = r->p + 2;
            while (*e && !(e[0] == close && e[1] == ']'))
                e++;
            r->p = *e ? e + 2 : e;
        } else {
            r->p++;
        }
    }
    if (*r->p)
        r->p++;
}

/* "{n}", "{n,}", "{n,m}" from just past '{': the number of copies, or 0
 * when it is no interval (regcomp then says what is wrong). */
static size_t re_interval(re_scan *r)
{
    const char *q = r->p;
    unsigned long n = 0, m;
    if (*q < '0' || *q > '9')
        return 0;
    while (*q >= '0' && *q <= '9' && n <= FILTER_MAX_NODES)
        n = n * 10 + (unsigned long)(*q++ - '0');
    m = n;
    if (*q == ',') {
        q++;
        if (*q >= '0' && *q <= '9') {
            m = 0;
            while (*q >= '0' && *q <= '9' && m <= FILTER_MAX_NODES)
                m = m * 10 + (unsigned long)(*q++ - '0');
        } else {
            m = n + 1; /* x{n,} is n copies and x* */
        }
    }
    while (*q >= '0' && *q <= '9')
        q++;
    if (*q != '}')
        return 0;
    r->p = q + 1;
    return m > n ? m : (n ? n : 1);
}

static long re_piece(re_scan *r, int depth)
{
    size_t size = 1;
    char c = *r->p++;
    if (c == '(') {
        if (depth > 64) {
            r->why = "parentheses nest too deep";
            return -1;
        }
        long in = re_alt(r, depth + 1);
        if (in < 0)
            return -1;
        if (*r->p == ')')
            r->p++;
        size = re_add((size_t)in, 2);
    } else if (c == '[') {
        re_bracket(r);
    } else if (c == '\\') {
        if (*r->p >= '1' && *r->p <= '9') {
            r->why = "back-references (\\1 ... \\9) are not supported: they make matching "
                     "exponential";
            return -1;
        }
        if (*r->p)
            r->p++;
    }
    for (;;) {
        if (*r->p == '*' || *r->p == '?') {
            r->p++;
            size = re_add(size, 1);
        } else if (*r->p == '+') {
            r->p++;
            size = re_add(re_mul(size, 2), 1);
        } else if (*r->p == '{') {
            r->p++;
            size_t n = re_interval(r);
            if (!n)
                break;
            size = re_add(re_mul(size, n), 1);
        } else {
            break;
        }
    }
    return (long)size;
}

static long re_alt(re_scan *r, int depth)
{
    size_t size = 0;
    while (*r->p && *r->p != ')') {
        if (*r->p == '|') {
            r->p++;
            size = re_add(size, 1);
            continue;
        }
        long n = re_piece(r, depth);
        if (n < 0)
            return -1;
        size = re_add(size, (size_t)n);
    }
    return (long)size;
}

/* 0 when pattern may be compiled, else -1 with the reason in why. */
static int pattern_bounded(const char *pattern, char *why, size_t whylen)
{
    if (strlen(pattern) > FILTER_MAX_PATTERN) {
        snprintf(why, whylen, "longer than %d characters", FILTER_MAX_PATTERN);
        return -1;
    }
    re_scan r = {pattern, NULL};
    long n = 0;
    while (*r.p && n >= 0) {
        long k = re_alt(&r, 0);
        if (k < 0) {
            n = -1;
            break;
        }
        n = (long)re_add((size_t)n, (size_t)k);
        if (*r.p == ')') /* unmatched: regcomp reports it */
            r.p++;
    }
    if (n < 0) {
        snprintf(why, whylen, "%s", r.why);
        return -1;
    }
    if (n > FILTER_MAX_NODES) {
        snprintf(why, whylen,
                 "its repetitions expand to more than %d elements (nested +, * or {n,m} "
                 "multiply); simplify it",
                 FILTER_MAX_NODES);
        return -1;
    }
    return 0;
}

static const char *const filter_keys[] = {"all",  "any",    "not",     "header",
                                          "path", "equals", "matches", NULL};

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
        if (parse_node(c, config_setting_get_elem(l, (unsigned)i), what, depth + 1, &f->kids[i]) <
            0)
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
        return cp_fail(c, s, "%s: a filter has exactly one of all, any, not, header or path", what);
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
        char why[200];
        if (pattern_bounded(f->pattern, why, sizeof(why)) < 0)
            return cp_fail(c, config_setting_get_member(s, "matches"),
                           "%s: matches: regular expression \"%.80s%s\" refused: %s", what,
                           f->pattern, strlen(f->pattern) > 80 ? "..." : "", why);
        int rc = regcomp(&f->re, f->pattern, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &f->re, msg, sizeof(msg));
            return cp_fail(c, config_setting_get_member(s, "matches"),
                           "%s: matches: bad regular expression \"%s\": %s", what, f->pattern, msg);
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

int filter_reads_header(const filter *f, const char *name)
{
    if (!f)
        return 0;
    if (f->kind == F_HEADER)
        return strcmp(f->name, name) == 0;
    for (size_t i = 0; i < f->n_kids; i++)
        if (filter_reads_header(f->kids[i], name))
            return 1;
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
            snprintf(why, whylen, "header %s %s", f->name, v ? "does not match" : "is missing");
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

int filter_eval(const filter *f, const http_request *rq, json_t *event, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = 0;
    return !f || node_eval(f, rq, event, why, whylen);
}
