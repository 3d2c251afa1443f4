/*
 * attach.h - the event on a container's stdin, through the attach endpoint.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * POST /containers/{id}/attach?stream=1&stdin=1 with "Upgrade: tcp" turns
 * the HTTP connection into a raw pipe to the container's stdin (the engine
 * answers 101). The executor attaches before start, so no byte is lost,
 * writes the event, then half-closes its side (shutdown SHUT_WR): with
 * OpenStdin and StdinOnce set at create, the engine then closes the
 * container's stdin and the program reads EOF. The connection itself stays
 * open until the container has exited. libcurl makes the connection
 * (CURLOPT_CONNECT_ONLY); the bytes go through curl_easy_send/recv.
 */
#ifndef CTR_ATTACH_H
#define CTR_ATTACH_H

#include <stddef.h>

#include <curl/curl.h>

#include "api.h"

struct ctr_attach {
    CURL *easy;
    curl_socket_t fd;
};

/* Attach to the stdin of container id. Returns 0, or -1 with err set. */
int ctr_attach_open(struct ctr_attach *a, const char *socket, const char *id, char *err,
                    size_t errlen);

/*
 * Write len bytes, then half-close. Waits in steps of at most 100 ms and
 * gives up when stop says so (returns CTR_API_CANCELLED). A container that
 * exits or closes its stdin before reading everything is not an error:
 * *written tells how much got through. Returns 0.
 */
int ctr_attach_send_eof(struct ctr_attach *a, const char *data, size_t len, size_t *written,
                        ctr_api_stop_fn stop, void *stop_ctx);

void ctr_attach_close(struct ctr_attach *a);

#endif /* CTR_ATTACH_H */
