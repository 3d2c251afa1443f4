/*
 * follow.h - GET /api/v1/executions/{id}/logs?follow: output as it is
 * produced, as NDJSON, until the execution is final.
 *
 * Each follower is one streaming response. Its content reader runs on an
 * HTTP thread; when it has nothing to send it suspends the connection and
 * returns 0 (the pattern libmicrohttpd documents for internal polling), and
 * whoever has something for it (exec_write_log, the end of the execution,
 * the heartbeat timer, shutdown) resumes it. No thread waits and nothing
 * polls. Everything a follower holds is released by the response's free
 * callback, which libmicrohttpd calls once it is done with the connection:
 * the stream ended, the client went away, or the daemon stopped.
 */
#ifndef SLUICE_FOLLOW_H
#define SLUICE_FOLLOW_H

#include "request.h"
#include "exec.h"

#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
typedef struct follower follower;

/*
 * Answer GET .../{id}/logs?follow (the caller has checked the admin token):
 * 404 for an unknown id; a finished execution's stored logs and final line
 * at once; for a live one a stream, or 503 when server.max_followers are
 * open already.
 */
int follow_handle(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
                  const char *id);

/* Streams open now. */
size_t follow_count(void);

/*
 * Shutdown, before http_stop: refuse new followers, end every stream (its
 * last line gives the execution's state and says why it ends early) and
 * wait up to timeout_ms for them to be sent.
 */
void follow_shutdown(uint64_t timeout_ms);

#endif
