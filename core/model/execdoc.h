/*
 * execdoc.h - the execution document: the one writer of the JSON an
 * execution is shown as (GET /api/v1/executions, sync answers, replays).
 *
 * Its sources differ: a live execution in memory (exec.c), a row a store
 * backend read back (store_*.c). Each fills a plain view of borrowed
 * pointers, and this file writes the document from it, so a field added
 * to the document is added here once, and a finished execution reads
 * exactly as it did while it ran.
 */
#ifndef SLUICE_EXECDOC_H
#define SLUICE_EXECDOC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One execution as the document shows it. Every pointer is borrowed and
 * may be NULL: absent strings are null in the document (replay_of,
 * replaces and replaced_by also when ""), times are in ms since the epoch
 * with 0 for none.
 */
typedef struct execdoc_view {
    const char *id, *request_id, *flow, *trigger, *state;
    const char *executor; /* NULL: not known (a stored row), left out */
    int attempt;
    int has_exit_code, exit_code;
    const char *outputs; /* JSON object text; NULL or not an object: {} */
    json_t *meta;        /* JSON object; NULL: {} */
    const char *error;
    const char *replay_of, *replaces, *replaced_by;
    uint64_t received_ms, started_ms, finished_ms;
    /* The inputs come from the event. With has_body, the event lacks its
     * "body" and "raw_body_b64" members, which body's bytes and type
     * rebuild (event.h, "the event's body"). */
    const char *event;
    size_t event_len;
    int has_body;
    const void *body;
    size_t body_len;
    const char *body_type;
    /* Output, as logbuf_render gives it (any bytes); NULL: none. */
    const char *out, *err;
    size_t out_len, err_len;
} execdoc_view;

/*
 * The document of v (new reference). inputs, when not NULL, is taken
 * over as the "inputs" member instead of deriving it from the event (a
 * placeholder to splice text into, see exec_to_json_deferred). with_logs
 * adds "stdout" and "stderr".
 */
json_t *execdoc_json(const execdoc_view *v, json_t *inputs, int with_logs);

/* One attempt of an execution, for the document's "attempts". */
typedef struct execdoc_attempt {
    int attempt;
    const char *state;
    int has_exit_code, exit_code;
    const char *error;
    uint64_t started_ms, finished_ms; /* 0: none */
    const char *out, *err;            /* NULL: none kept */
    size_t out_len, err_len;
} execdoc_attempt;

/* One entry of "attempts" (new reference). */
json_t *execdoc_attempt_json(const execdoc_attempt *a);

/*
 * Give doc (a document with logs) its "attempts", oldest first: stored
 * (the entries a store wrote, taken over), pending (ended attempts not yet
 * written, taken over; each attempt is in one or the other, or both while
 * it is being written) and the current or last attempt, which is the
 * document's own state and results, once it has started.
 */
void execdoc_attach_attempts(json_t *doc, json_t *stored, json_t *pending);

#endif
