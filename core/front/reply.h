/*
 * reply.h - the response envelope and the answers built on it.
 */
#ifndef SLUICE_REPLY_H
#define SLUICE_REPLY_H

#include "config.h"
#include "exec.h"
#include "gate.h"
#include "event.h"

#include <jansson.h>

struct MHD_Connection;

/*
 * Queue a JSON response in the common envelope:
 *   {"request":{"id":...},"data":data,"error":{"code":...,"message":...}}
 * data is stolen (may be NULL for null). code/message NULL: no error.
 * extra_headers: name, value, ..., NULL. Returns MHD's result.
 */
int reply_json(struct MHD_Connection *c, const char *request_id, unsigned status, json_t *data,
               const char *code, const char *message, const char *const *extra_headers);
/* reply_json with the node at inside data written as raw text (json_compact_splice). */
int reply_json_splice(struct MHD_Connection *c, const char *request_id, unsigned status,
                      json_t *data, const char *code, const char *message,
                      const char *const *extra_headers, const json_t *at, const char *raw,
                      size_t raw_len);
/* An error envelope with "data": null. */
int reply_error(struct MHD_Connection *c, const char *request_id, unsigned status, const char *code,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A response a flow chose itself (exec_set_response): not enveloped. */
int reply_raw(struct MHD_Connection *c, const char *request_id, sluice_exec *e);
/* A gate's refusal (or a filtered request, answered as accepted), logged. */
int reply_verdict(struct MHD_Connection *c, const http_request *rq, const trigger_def *t,
                  const gate_verdict *v);

/* The executions one request made. */
typedef struct reply_batch {
    const char *request_id;
    const trigger_def *trigger;
    sluice_exec **execs;
    size_t n_execs;
} reply_batch;

/* The async answer (status: the trigger's success_code, or 202 when a sync
 * wait timed out): each execution's id, state and status URL. */
int reply_accepted(struct MHD_Connection *c, const reply_batch *b, unsigned status);
/* The sync answer once every execution is final (the trigger's respond_with
 * decides whether a response the flow set replaces the execution document). */
int reply_finished(struct MHD_Connection *c, const reply_batch *b);
/* A delivery already taken (idempotency): 200 with the stored executions
 * ids[0..n) and "duplicate": true. */
int reply_duplicate(struct MHD_Connection *c, const http_request *rq, const trigger_def *t,
                    char (*ids)[40], size_t n);

#endif
