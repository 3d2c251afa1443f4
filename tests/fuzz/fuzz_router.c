/*
 * fuzz_router.c - route templates, path matching and percent-decoding
 * (router.c), and the capability path test of shapes.c.
 *
 * Input: templates one per line up to an empty line, then paths one per
 * line. Checks, for every path: router_match answers as a plain model of
 * router.h does (malformed, no match, or the match whose first differing
 * segment is a literal); a match's parameters, percent-encoded again into
 * its template, match the same route with the same values; decoding
 * inverts encoding for every byte string without NUL.
 */
#include "fuzz.h"

#include "log.h"
#include "router.h"
#include "shapes.h"
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEMPLATES 16

typedef struct tmpl {
    char *text;
    int added;
    size_t n;
    char *seg[ROUTER_MAX_SEGMENTS];
    int param[ROUTER_MAX_SEGMENTS];
} tmpl;

static void split_template(tmpl *t)
{
    t->n = 0;
    const char *p = t->text + 1;
    while (*p && t->n < ROUTER_MAX_SEGMENTS) {
        size_t len = strcspn(p, "/");
        t->param[t->n] = p[0] == '{';
        t->seg[t->n] = t->param[t->n] ? strndup(p + 1, len - 2) : strndup(p, len);
        t->n++;
        p += len;
        if (*p == '/')
            p++;
    }
}

/* What percent-decoding of one segment gives, by RFC 3986; NULL when invalid. */
static char *model_decode(const char *s, size_t len)
{
    char *o = malloc(len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            o[k++] = s[i];
            continue;
        }
        int h = i + 2 < len ? units_hex_digit((unsigned char)s[i + 1]) : -1;
        int l = h >= 0 ? units_hex_digit((unsigned char)s[i + 2]) : -1;
        if (h < 0 || l < 0 || (h == 0 && l == 0)) {
            free(o);
            return NULL;
        }
        o[k++] = (char)(h * 16 + l);
        i += 2;
    }
    o[k] = 0;
    return o;
}

static char *encode(const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = malloc(strlen(v) * 3 + 1), *w = o;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 15];
        }
    }
    *w = 0;
    return o;
}

/* -1 malformed, 0 none, 1 + index of the best template. */
static int model_match(tmpl *ts, size_t nt, const char *path)
{
    if (path[0] != '/')
        return -1;
    char *dec[ROUTER_MAX_SEGMENTS + 1];
    size_t n = 0;
    int rc = 0;
    if (path[1]) {
        const char *p = path + 1;
        for (;;) {
            size_t len = strcspn(p, "/");
            if (n == ROUTER_MAX_SEGMENTS) {
                rc = -1;
                break;
            }
            dec[n] = model_decode(p, len);
            n++;
            if (!dec[n - 1] || (len == 0 && p[len] == '/')) {
                rc = -1;
                break;
            }
            if (!p[len])
                break;
            p += len + 1;
        }
    }
    int best = -1;
    for (size_t k = 0; rc == 0 && k < nt; k++) {
        tmpl *t = &ts[k];
        if (!t->added || t->n != n)
            continue;
        size_t i;
        for (i = 0; i < n; i++)
            if (t->param[i] ? dec[i][0] == 0 : strcmp(t->seg[i], dec[i]) != 0)
                break;
        if (i < n)
            continue;
        /* Literal before parameter, first difference decides. */
        if (best < 0) {
            best = (int)k;
            continue;
        }
        for (i = 0; i < n; i++)
            if (ts[best].param[i] != t->param[i]) {
                if (!t->param[i])
                    best = (int)k;
                break;
            }
    }
    for (size_t i = 0; i < n; i++)
        free(dec[i]);
    return rc < 0 ? -1 : best < 0 ? 0 : best + 1;
}

static void check_path(router *r, tmpl *ts, size_t nt, const char *path)
{
    route_match m;
    int got = router_match(r, path, &m);
    int want = model_match(ts, nt, path);
    FUZZ_CHECK(got == (want > 0 ? 1 : want), "router_match(\"%s\") = %d, the model says %d", path,
               got, want);
    FUZZ_CHECK(shapes_path_reserved(path) ==
                   (strncmp(path, "/t/", 3) == 0 && path[3] && !strchr(path + 3, '/')),
               "shapes_path_reserved(\"%s\")", path);
    if (got != 1)
        return;
    tmpl *t = &ts[want - 1];
    FUZZ_CHECK(m.target == t, "\"%s\" matched \"%s\", the model says \"%s\"", path, m.template_path,
               t->text);
    FUZZ_CHECK(strcmp(m.template_path, t->text) == 0, "template_path \"%s\" for \"%s\"",
               m.template_path, t->text);

    /* The parameters, encoded again into the template, route the same. */
    size_t cap = 2, k = 0;
    for (size_t i = 0; i < t->n; i++)
        cap += strlen(t->seg[i]) + 1;
    for (size_t i = 0; i < m.n_params; i++)
        cap += strlen(m.values[i]) * 3;
    char *again = malloc(cap), *w = again;
    if (t->n == 0)
        *w++ = '/';
    for (size_t i = 0; i < t->n; i++) {
        *w++ = '/';
        if (t->param[i]) {
            FUZZ_CHECK(k < m.n_params && strcmp(m.names[k], t->seg[i]) == 0,
                       "parameter %zu of \"%s\" is not {%s}", k, t->text, t->seg[i]);
            char *e = encode(m.values[k++]);
            w += sprintf(w, "%s", e);
            free(e);
        } else {
            w += sprintf(w, "%s", t->seg[i]);
        }
    }
    *w = 0;
    FUZZ_CHECK(k == m.n_params, "\"%s\" gave %zu parameters for %zu", t->text, m.n_params, k);
    route_match m2;
    int rc = router_match(r, again, &m2);
    FUZZ_CHECK(rc == 1 && m2.target == m.target && m2.n_params == m.n_params,
               "\"%s\" matched \"%s\" but its re-encoded form \"%s\" gives %d (%s)", path, t->text,
               again, rc, rc == 1 ? m2.template_path : "-");
    for (size_t i = 0; i < m.n_params; i++)
        FUZZ_CHECK(strcmp(m.values[i], m2.values[i]) == 0,
                   "parameter %s: \"%s\" from \"%s\", \"%s\" from \"%s\"", m.names[i], m.values[i],
                   path, m2.values[i], again);
    route_match_clear(&m2);
    free(again);
    route_match_clear(&m);
}

static void check_decode(const char *s)
{
    char *e = encode(s);
    char *d = router_decode(e, strlen(e), 0);
    FUZZ_CHECK(d && strcmp(d, s) == 0, "router_decode(encode(\"%s\")) = \"%s\"", s,
               d ? d : "(null)");
    free(d);
    /* "+" is a space only where asked for. */
    d = router_decode(s, strlen(s), 1);
    char *plain = router_decode(s, strlen(s), 0);
    FUZZ_CHECK((!d) == (!plain), "plus_is_space changes validity of \"%s\"", s);
    if (d) {
        /* Encoded "%2B" is a plus in both; a literal "+" a space in one. */
        FUZZ_CHECK(strlen(d) == strlen(plain), "plus_is_space changes the length of \"%s\"", s);
        size_t j = 0;
        for (size_t i = 0; s[i]; i++, j++) {
            if (s[i] == '%') {
                FUZZ_CHECK(d[j] == plain[j], "decoding \"%s\"", s);
                i += 2;
            } else {
                FUZZ_CHECK(d[j] == (s[i] == '+' ? ' ' : s[i]) && plain[j] == s[i],
                           "decoding \"%s\"", s);
            }
        }
    }
    free(d);
    free(plain);
    free(e);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    router *r = router_new();
    tmpl ts[MAX_TEMPLATES];
    size_t nt = 0;
    while (in.n) {
        char *line = fuzz_line(&in);
        if (!line[0]) {
            free(line);
            break;
        }
        if (nt == MAX_TEMPLATES) {
            free(line);
            continue;
        }
        tmpl *t = &ts[nt];
        memset(t, 0, sizeof(*t));
        t->text = line;
        char err[256];
        void *conflict;
        t->added = router_add(r, line, t, &conflict, err, sizeof(err)) == 0;
        if (t->added)
            split_template(t);
        nt++;
    }
    int paths = 0;
    while (in.n && paths++ < 16) {
        char *path = fuzz_line(&in);
        check_path(r, ts, nt, path);
        check_decode(path);
        free(path);
    }
    for (size_t i = 0; i < nt; i++) {
        for (size_t j = 0; j < ts[i].n; j++)
            free(ts[i].seg[j]);
        free(ts[i].text);
    }
    router_free(r);
    return 0;
}
