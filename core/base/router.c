/*
 * router.c - route templates, kept as a flat array.
 *
 * Routes are few (one per trigger) and matching a few dozen templates
 * segment by segment costs well under a microsecond, so a flat array beats
 * a trie on simplicity with nothing to lose.
 */
#include "router.h"

#include "units.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct segment {
    char *text; /* literal text, or parameter name */
    int is_param;
} segment;

typedef struct route {
    char *tmpl;
    segment segs[ROUTER_MAX_SEGMENTS];
    size_t n_segs;
    void *target;
} route;

struct router {
    route *routes;
    size_t n, cap;
};

router *router_new(void)
{
    return xcalloc(1, sizeof(router));
}

static void route_clear(route *rt)
{
    for (size_t i = 0; i < rt->n_segs; i++)
        free(rt->segs[i].text);
    free(rt->tmpl);
}

void router_free(router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_clear(&r->routes[i]);
    free(r->routes);
    free(r);
}

static int valid_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static int parse_template(const char *tmpl, route *rt, char *err, size_t errlen)
{
    if (tmpl[0] != '/') {
        snprintf(err, errlen, "route \"%s\" must start with '/'", tmpl);
        return -1;
    }
    const char *p = tmpl + 1;
    size_t n_params = 0;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) {
            snprintf(err, errlen, "route \"%s\" has an empty segment", tmpl);
            return -1;
        }
        if (rt->n_segs == ROUTER_MAX_SEGMENTS) {
            snprintf(err, errlen, "route \"%s\" has more than %d segments", tmpl,
                     ROUTER_MAX_SEGMENTS);
            return -1;
        }
        segment *s = &rt->segs[rt->n_segs];
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}') {
                snprintf(err, errlen, "route \"%s\": bad parameter segment", tmpl);
                return -1;
            }
            for (size_t i = 1; i < len - 1; i++)
                if (!valid_name_char(p[i])) {
                    snprintf(err, errlen, "route \"%s\": bad parameter name", tmpl);
                    return -1;
                }
            if (++n_params > ROUTER_MAX_PARAMS) {
                snprintf(err, errlen, "route \"%s\" has more than %d parameters", tmpl,
                         ROUTER_MAX_PARAMS);
                return -1;
            }
            s->is_param = 1;
            s->text = xstrndup(p + 1, len - 2);
        } else {
            for (size_t i = 0; i < len; i++)
                if (p[i] == '{' || p[i] == '}' || p[i] == '?' || p[i] == '#' || p[i] == '%') {
                    snprintf(err, errlen, "route \"%s\": bad character in literal segment", tmpl);
                    return -1;
                }
            s->text = xstrndup(p, len);
        }
        rt->n_segs++;
        p += len;
        if (*p == '/') {
            p++;
            if (*p == 0) {
                snprintf(err, errlen, "route \"%s\" must not end with '/'", tmpl);
                return -1;
            }
        }
    }
    return 0;
}

/* Same shape: same length, same literals, parameters in the same places. */
static int same_shape(const route *a, const route *b)
{
    if (a->n_segs != b->n_segs)
        return 0;
    for (size_t i = 0; i < a->n_segs; i++) {
        if (a->segs[i].is_param != b->segs[i].is_param)
            return 0;
        if (!a->segs[i].is_param && strcmp(a->segs[i].text, b->segs[i].text) != 0)
            return 0;
    }
    return 1;
}

int router_add(router *r, const char *tmpl, void *target, void **conflict, char *err, size_t errlen)
{
    route rt = {0};
    if (conflict)
        *conflict = NULL;
    if (parse_template(tmpl, &rt, err, errlen) < 0) {
        route_clear(&rt);
        return -1;
    }
    for (size_t i = 0; i < r->n; i++)
        if (same_shape(&r->routes[i], &rt)) {
            snprintf(err, errlen, "route \"%s\" is the same route as \"%s\"", tmpl,
                     r->routes[i].tmpl);
            if (conflict)
                *conflict = r->routes[i].target;
            route_clear(&rt);
            return -1;
        }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        route *nr = realloc(r->routes, cap * sizeof(route));
        if (!nr) {
            route_clear(&rt);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        r->routes = nr;
        r->cap = cap;
    }
    rt.tmpl = xstrdup(tmpl);
    rt.target = target;
    r->routes[r->n++] = rt;
    return 0;
}

char *router_decode(const char *s, size_t len, int plus_is_space)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int h, l;
            if (i + 2 >= len || (h = units_hex_digit((unsigned char)s[i + 1])) < 0 ||
                (l = units_hex_digit((unsigned char)s[i + 2])) < 0) {
                free(out);
                return NULL;
            }
            char c = (char)(h * 16 + l);
            if (c == 0) {
                free(out);
                return NULL;
            }
            out[o++] = c;
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return out;
}

void route_match_clear(route_match *m)
{
    for (size_t i = 0; i < m->n_params; i++)
        free(m->values[i]);
    m->n_params = 0;
    m->target = NULL;
}

/* Split a path into raw (still encoded) segments. */
static int split_path(const char *path, const char *segs[], size_t lens[], size_t *n)
{
    *n = 0;
    if (path[0] != '/')
        return -1;
    const char *p = path + 1;
    if (*p == 0)
        return 0;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (*n == ROUTER_MAX_SEGMENTS)
            return -1;
        segs[*n] = p;
        lens[*n] = len;
        (*n)++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

/*
 * Literal segments compare against the decoded text, so "/hooks/a%62c"
 * matches "/hooks/abc" just as a browser would expect.
 */
int router_match(const router *r, const char *path, route_match *m)
{
    const char *raw[ROUTER_MAX_SEGMENTS];
    size_t lens[ROUTER_MAX_SEGMENTS];
    char *dec[ROUTER_MAX_SEGMENTS];
    size_t n;
    memset(m, 0, sizeof(*m));
    if (split_path(path, raw, lens, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        dec[i] = router_decode(raw[i], lens[i], 0);
        if (!dec[i] || (lens[i] == 0 && i + 1 < n)) {
            for (size_t j = 0; j <= i; j++)
                free(dec[j]);
            return -1;
        }
    }

    const route *best = NULL;
    for (size_t k = 0; k < r->n; k++) {
        const route *rt = &r->routes[k];
        if (rt->n_segs != n)
            continue;
        size_t i;
        for (i = 0; i < n; i++) {
            if (rt->segs[i].is_param) {
                if (dec[i][0] == 0)
                    break;
            } else if (strcmp(rt->segs[i].text, dec[i]) != 0) {
                break;
            }
        }
        if (i < n)
            continue;
        if (!best) {
            best = rt;
            continue;
        }
        /* Prefer the template whose first differing segment is literal. */
        for (i = 0; i < n; i++)
            if (best->segs[i].is_param != rt->segs[i].is_param) {
                if (!rt->segs[i].is_param)
                    best = rt;
                break;
            }
    }

    int found = 0;
    if (best) {
        found = 1;
        m->target = best->target;
        m->template_path = best->tmpl;
        for (size_t i = 0; i < n; i++)
            if (best->segs[i].is_param) {
                m->names[m->n_params] = best->segs[i].text;
                m->values[m->n_params++] = dec[i];
                dec[i] = NULL;
            }
    }
    for (size_t i = 0; i < n; i++)
        free(dec[i]);
    return found;
}
