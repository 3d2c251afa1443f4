/*
 * router.h - exact matching of request paths against route templates.
 *
 * A template is a sequence of '/'-separated segments, each either a literal
 * ("hooks") or a parameter ("{name}"). A path matches a template when it has
 * the same number of segments and every literal is equal: no prefixes, no
 * wildcards, no surprises. When several templates match, the one whose first
 * differing segment is a literal wins, so "/hooks/status" beats
 * "/hooks/{trigger}". Two templates of the same shape are a conflict.
 */
#ifndef SLUICE_ROUTER_H
#define SLUICE_ROUTER_H

#include <stddef.h>

#define ROUTER_MAX_SEGMENTS 16
#define ROUTER_MAX_PARAMS 8

typedef struct router router;

typedef struct route_match {
    void *target;
    const char *template_path;
    size_t n_params;
    const char *names[ROUTER_MAX_PARAMS]; /* borrowed from the router */
    char *values[ROUTER_MAX_PARAMS];      /* percent-decoded, owned */
} route_match;

router *router_new(void);
void router_free(router *r);

/*
 * Add a template. On a syntax error or a conflict returns -1 and writes a
 * message to err; on a conflict *conflict is set to the other target.
 */
int router_add(router *r, const char *tmpl, void *target, void **conflict, char *err,
               size_t errlen);

/*
 * Match a path (without query string). Returns 1 and fills m on a match,
 * 0 when nothing matches, -1 when the path is malformed (bad
 * percent-encoding, too many segments). Free m with route_match_clear.
 */
int router_match(const router *r, const char *path, route_match *m);
void route_match_clear(route_match *m);

/* Percent-decode len bytes of s ("+" stays "+" unless plus_is_space).
 * Returns a malloc'd string, or NULL on invalid encoding or embedded NUL. */
char *router_decode(const char *s, size_t len, int plus_is_space);

#endif
