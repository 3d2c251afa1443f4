/*
 * shapes.h - the route shapes of other services: a trigger that stands in
 * for another service's webhook URL.
 *
 * A trigger may say which service it stands in for instead of spelling out
 * a path template and its authentication:
 *
 *   kestra = { namespace = "company.team"; flow = "deploy"; key = "@env:KEY";
 *              tenant = "main"; };       # tenant optional
 *       /api/v1[/main]/executions/webhook/company.team/deploy/{key}
 *       GET, POST and PUT; the key is the last segment; a wrong key is 404
 *   cloudomation = { client = "acme"; name = "deploy"; key = "@env:KEY"; };   # key optional
 *       /api/webhook/acme/deploy; GET and POST; the key in ?key= or the
 *       body field "key"; sync unless mode says otherwise (?async works)
 *   wayscript = { program_id = "1234"; api_key = "@env:KEY"; };   # api_key optional
 *       /wayscript/1234 (or path); GET and POST; the key in api_key (query,
 *       form or JSON body); variables and function as for every trigger.
 *       Several wayscript triggers may share one path (path = "/api", as
 *       WayScript's own URL): the program_id query parameter picks one; an
 *       unknown one is 404 like an unknown route, a missing one 400
 *   capability = true;   or   capability = { invalid_status = 404; };
 *       reached only through /t/TOKEN (captoken.h, prematch.h)
 *
 * An explicit methods or mode setting wins over the shape's default; path
 * may be set only for wayscript.
 */
#ifndef SLUICE_SHAPES_H
#define SLUICE_SHAPES_H

#include "config.h"
#include "confparse.h"
#include "gate.h"
#include "request.h"
#include "router.h"

/* What a shape adds to a trigger's gate. */
typedef struct shapes_settings {
    const char *name;      /* "kestra", ...; NULL when the trigger has none */
    char **keys;           /* accepted keys (owned), NULL when none */
    const char *key_in[3]; /* where they are presented, NULL-terminated */
    int wrong_status;      /* 0: the gate's default */
    int capability;        /* reached through /t/TOKEN */
    int invalid_status;    /* capability: answer to revoked tokens (400, 404) */
} shapes_settings;

/*
 * Read the shape settings of trigger group g (at most one of kestra,
 * cloudomation, wayscript, capability). Sets t->path, and t->methods and
 * t->sync unless the trigger sets them. 0 (out->name NULL when there is
 * none), or -1 after cp_fail.
 */
int shapes_parse(parse_ctx *c, const config_setting_t *g, const char *what, trigger_def *t,
                 shapes_settings *out);
void shapes_clear(shapes_settings *s);

/* "/t/NAME" belongs to capability URLs: no ordinary trigger may use it. */
int shapes_path_reserved(const char *path);

/*
 * The router found owner (the first trigger of t's path) when adding t.
 * 1 when both are wayscript triggers with their own path and program ids,
 * so t now shares the route (t->program_next); 0 when this is an ordinary
 * duplicate route; -1 with err when t's program_id is already taken.
 */
int shapes_share_path(void *owner, trigger_def *t, char *err, size_t errlen);

/*
 * After the router: among the triggers sharing m's path pick the one whose
 * program_id the query names (m->target becomes it). 0 to go on, -1 when v
 * holds the answer (400 missing or repeated, 404 unknown).
 */
int shapes_pick_program(const http_request *rq, route_match *m, gate_verdict *v);

#endif
