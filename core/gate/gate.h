/*
 * gate.h - per-trigger admission: who may start a trigger, how often, and
 * whether a request is worth a run at all.
 *
 * A trigger's gate is built from its own settings (the keys listed in
 * gate_trigger_keys) when the configuration loads, and is checked three
 * times per request:
 *
 *   gate_check_route    right after routing, before anything is logged
 *                       with the path: the address allowlist, the
 *                       failed-attempt limit, keys that are path segments
 *                       (Kestra); path keys are then replaced by
 *                       "[redacted]" in the path and the route parameters;
 *   gate_check_headers  when the headers are known, before any body byte
 *                       is read: a repeated header that a check or filter
 *                       reads (400), keys in headers, the query or Basic
 *                       auth, and whether the rate budget is spent;
 *   gate_check_body     when the body is complete: keys in body fields,
 *                       HMAC signatures over the exact raw bytes, then the
 *                       rate budget is taken (a refused request never
 *                       spends it), filters;
 *                       keys found in the query, body or a key header are
 *                       replaced by "[redacted]" in the event.
 *
 * A refusal creates no execution. Missing credentials answer 401, wrong
 * ones 403 (auth.wrong_status may make that 404, so keys cannot be probed);
 * every refusal counts against the sender's address, and past
 * auth.max_failures per auth.failure_window the address gets 429 with
 * Retry-After. The trigger settings (all optional):
 *
 *   auth = { keys = ["@env:K1", "@env:K2"];              # several: rotation
 *            key_in = ["bearer", "header:X-Api-Key", "query:key", "body:key", "path:key"];
 *            basic = ["@file:secrets/ci.basic"];         # "user:password"
 *            hmac = { preset = "github"; secrets = ["@env:GH_SECRET"]; };
 *            allow_ips = ["10.0.0.0/8", "2001:db8::/32"];
 *            wrong_status = 403; max_failures = 10; failure_window = "1m"; };
 *   rate_limit = { per_minute = 5; per_hour = 100; per_day = 5000; };
 *   filter = { header = "X-GitHub-Event"; equals = "push"; };   (filter.h)
 *   filter_status = 202;
 *   capability = true;   or   capability = { invalid_status = 404; };  (captoken.h)
 *   kestra = { namespace = "company.team"; flow = "deploy"; key = "@env:KEY"; tenant = "main"; };
 *   cloudomation = { client = "acme"; name = "deploy"; key = "@env:KEY"; };
 *   wayscript = { program_id = "1234"; api_key = "@env:KEY"; };
 *
 * A request passes authentication when one configured credential is valid
 * and none that it presents is wrong. The shapes (kestra, cloudomation,
 * wayscript) set the path, methods, mode and where the key is read, as
 * those services do; auth may add to them (allow_ips, hmac...).
 */
#ifndef SLUICE_GATE_H
#define SLUICE_GATE_H

#include "confparse.h"
#include "event.h"
#include "router.h"

#include <jansson.h>
#include <stdint.h>

struct gate;
struct sluice_config;
struct trigger_def;

/* The verdict of a check: status 0 means "go on". */
typedef struct gate_verdict {
    int status;                   /* HTTP status to answer with, or 0 */
    const char *code;             /* error code for the envelope ("unauthorized", ...) */
    char message[256];            /* safe to show the sender; never contains a secret */
    unsigned retry_after;         /* seconds, for 429/503; 0: no header */
    int filtered;                 /* 1: answer success with {"filtered": true}, run nothing */
    const char *www_authenticate; /* for 401: the WWW-Authenticate challenge, or NULL */
    int body_redacted;            /* on success: a key in the body was redacted, so the raw
                        * bytes carry a secret and must not be kept */
} gate_verdict;

/* Setting names a trigger group may use for the gate (NULL-terminated). */
extern const char *const gate_trigger_keys[];

/*
 * Build the gate of one trigger from its group g. *out is NULL when the
 * trigger has no admission settings. Shapes and capability URLs may set
 * t->path, t->methods and t->sync. Errors go through cp_fail.
 */
int gate_parse(parse_ctx *c, const config_setting_t *g, const char *what, struct trigger_def *t,
               struct gate **out);
void gate_free(struct gate *gate);
/* Add the headers gate reads keys or signatures from (lower-case) to
 * *names, a NULL-terminated list of *n, unless already there. */
void gate_secret_headers(const struct gate *gate, char ***names, size_t *n);

/* After routing: 0 to go on, else v is filled. May rewrite rq->path and m's
 * values (path keys become "[redacted]"). */
int gate_check_route(struct gate *gate, const struct sluice_config *cfg, http_request *rq,
                     route_match *m, gate_verdict *v);
/* Before the body: 0 to go on, else v is filled. */
int gate_check_headers(struct gate *gate, const struct sluice_config *cfg, const http_request *rq,
                       gate_verdict *v);
/* After the body: 0 to go on, else v is filled. event is the built event
 * (before per-flow copies), for filters on JSON paths; keys it carries are
 * redacted in place (v->body_redacted says when one was in the body). */
int gate_check_body(struct gate *gate, const struct sluice_config *cfg, const http_request *rq,
                    json_t *event, gate_verdict *v);

/* True when gate_check_body reads inside the body (body keys, filters): the
 * event must then carry the parsed body. */
int gate_reads_body(const struct gate *gate);

/* True when a key may be found in a body field: the body's text is then
 * never logged, not even quoted by a parser's error. */
int gate_body_keys(const struct gate *gate);

/* 0 for an ordinary trigger; for a capability trigger the status that
 * answers its replaced or removed tokens (400 or 404). */
int gate_capability_status(const struct gate *gate);

/* What the gates of a trigger id refused or filtered since start (kept
 * across reloads). */
typedef struct gate_counters {
    uint64_t filtered;
    uint64_t unauthorized; /* 401 */
    uint64_t forbidden;    /* 403, or 404 from wrong_status */
    uint64_t rate_limited; /* 429, from rate_limit or max_failures */
} gate_counters;
void gate_counters_get(const char *trigger_id, gate_counters *out);
/* The same as {"filtered": n, "unauthorized": n, ...}. */
json_t *gate_counters_json(const char *trigger_id);

#endif
