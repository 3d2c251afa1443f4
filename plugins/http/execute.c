/*
 * execute.c - one execution of the http executor, on a worker thread.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Prepare the request (templates, body, headers: everything that depends
 * on the event and can fail without the network), hand it to the loop
 * thread and return SLUICE_PENDING: the worker is free again at once, and
 * the loop completes the execution when the last attempt ends.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "http.h"
#include "loop.h"
#include "request.h"

int http_execute(void *instance, sluice_exec *exec)
{
    struct http_instance *inst = instance;
    const sluice_host *host = inst->host;
    struct http_req *req = NULL;
    char err[SLUICE_MAX_ERROR];

    if (http_req_prepare(&req, inst, exec, err, sizeof(err)) != 0) {
        host->exec_set_error(exec, err);
        return SLUICE_ERR;
    }
    if (http_loop_submit(inst->loop, req, err, sizeof(err)) != 0) {
        http_req_free(req);
        host->exec_set_error(exec, err);
        return SLUICE_ERR;
    }
    /* From here on the loop owns req and completes exec: touch neither. */
    return SLUICE_PENDING;
}
