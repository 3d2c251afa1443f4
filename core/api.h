/*
 * api.h - the admin API: executions, flows, triggers, health.
 */
#ifndef SLUICE_API_H
#define SLUICE_API_H

#include "event.h"

struct MHD_Connection;

/*
 * Handle rq when its path belongs to the admin API. Returns 1 when a
 * response was queued (*result holds MHD's result), 0 when the path is not
 * an admin path (it may still be a trigger route).
 */
int api_handle(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
               int peer_is_loopback, int *result);

#endif
