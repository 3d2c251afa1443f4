/*
 * webhook.h - a request to a trigger, from its routed head to its answer.
 *
 * http.c is the libmicrohttpd glue: it owns the connection, reads the head
 * and the body, runs the phase machine and answers the admin API through
 * api.c. What a trigger asks of a request is here: method, size and type
 * checks and the gate's header phase (webhook_route), then the event, the
 * gate's body phase and admission through intake.c (webhook_accept), and
 * the answer once the store has the batch (webhook_after_stored).
 * conn_state is the one request's state the two files share; nothing else
 * includes this header.
 */
#ifndef SLUICE_WEBHOOK_H
#define SLUICE_WEBHOOK_H

#include "api.h"
#include "config.h"
#include "exec.h"
#include "framing.h"
#include "gate.h"
#include "generation.h"
#include "intake.h"
#include "request.h"
#include "router.h"
#include "syncwait.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

/* How much of an oversized streamed body is read and dropped before the
 * connection is cut instead. */
#define DISCARD_MAX (16u * 1024 * 1024)

/* PH_NOBODY: a request without a body, answered on the handler's second
 * call (see on_request). PH_API: parked until an admin answer is ready. */
enum phase { PH_HEADERS, PH_NOBODY, PH_REFUSED, PH_BODY, PH_STORING, PH_WAITING, PH_API, PH_DONE };

typedef struct conn_state {
    http_request rq;
    int phase;
    generation *gen;    /* the one the request started under (a reference) */
    sluice_config *cfg; /* its configuration, borrowed from gen */
    trigger_def *trigger;
    route_match match;
    uint64_t limit;
    size_t body_cap;
    uint64_t discarding;     /* bytes dropped after the limit was passed */
    framing_verdict refused; /* PH_REFUSED: the answer once the body is read */
    sluice_exec **execs;
    size_t n_execs;
    int sync;
    syncwait *wait;
    /* Parked while the store commits (see on_stored). */
    struct MHD_Connection *conn;
    pthread_mutex_t park_mu;
    int parked, stored;
    intake_result stored_as;
    api_park *park; /* an admin request parked until the main thread answers it;
                     * freed with the request, once its answer is sent */
} conn_state;

/* The trigger's checks of the head (pre: prematch_route matched it, pv its
 * verdict buffer): answers a refusal, or sets cs->phase to PH_BODY. */
enum MHD_Result webhook_route(struct MHD_Connection *c, conn_state *cs, const char *method, int pre,
                              gate_verdict *pv);
/* The body is complete: build the event, check it, submit the executions;
 * the connection is parked until the store has them. */
enum MHD_Result webhook_accept(struct MHD_Connection *c, conn_state *cs);
/* Resumed once stored (or not): answer, or park on the sync wait. */
enum MHD_Result webhook_after_stored(struct MHD_Connection *c, conn_state *cs);

/*
 * The idempotency key of a request: the trigger's configured header or body
 * path (base is the event, for "body:" keys), else the standard headers
 * senders use for retries. NULL when there is none.
 */
const char *webhook_idempotency_key(const http_request *rq, const trigger_def *t, json_t *base);

#endif
