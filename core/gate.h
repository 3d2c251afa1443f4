/*
 * gate.h - per-trigger admission: who may start a trigger, how often, and
 * whether a request is worth a run at all.
 *
 * A trigger's gate is built from its own settings (the keys listed in
 * gate_trigger_keys) when the configuration loads, and is checked twice
 * per request: once when the headers are known and before any body byte is
 * read (addresses, rate limits, credentials that live in headers or the
 * URL), and once when the body is complete (credentials in the body,
 * signatures over the raw bytes, filters on the content). A refusal
 * creates no execution.
 */
#ifndef SLUICE_GATE_H
#define SLUICE_GATE_H

#include "confparse.h"
#include "event.h"

#include <jansson.h>

struct gate;
struct sluice_config;
struct trigger_def;

/* The verdict of a check: status 0 means "go on". */
typedef struct gate_verdict {
    int status;          /* HTTP status to answer with, or 0 */
    const char *code;    /* error code for the envelope ("unauthorized", ...) */
    char message[256];   /* safe to show the sender; never contains a secret */
    unsigned retry_after; /* seconds, for 429/503; 0: no header */
    int filtered;        /* 1: answer success with {"filtered": true}, run nothing */
} gate_verdict;

/* Setting names a trigger group may use for the gate (NULL-terminated). */
extern const char *const gate_trigger_keys[];

/*
 * Build the gate of one trigger from its group g. *out is NULL when the
 * trigger has no admission settings. Errors go through cp_fail.
 */
int gate_parse(parse_ctx *c, const config_setting_t *g, const char *what,
               struct trigger_def *t, struct gate **out);
void gate_free(struct gate *gate);

/* Before the body: 0 to go on, else v is filled. */
int gate_check_headers(struct gate *gate, const struct sluice_config *cfg,
                       const http_request *rq, gate_verdict *v);
/* After the body: 0 to go on, else v is filled. event is the built event
 * (before per-flow copies), for filters on JSON paths. */
int gate_check_body(struct gate *gate, const struct sluice_config *cfg, const http_request *rq,
                    json_t *event, gate_verdict *v);

#endif
