/*
 * request.h - one HTTP request as sluice reads it: what http.c collects
 * and every later stage (authentication, the gate, the event, the API)
 * looks at.
 *
 * The type only: event.c frees it (event_request_free) and fills its
 * parameters and joined headers.
 */
#ifndef SLUICE_REQUEST_H
#define SLUICE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct kv {
    char *name;
    char *value;
} kv;

typedef struct http_request {
    char request_id[40];
    const char *method;
    char *path;  /* as received, without the query string */
    char *query; /* raw query string, may be NULL */
    kv *headers; /* names lower-cased */
    size_t n_headers;
    kv *params; /* decoded query parameters, in order */
    size_t n_params;
    unsigned char *body;
    size_t body_len;
    char remote_addr[64];
    uint64_t received_ms;
    /* The client behind server.trusted_proxies (auth_client_addr), as
     * allow_ips checks it and the event's remote_addr shows it; empty:
     * the peer, remote_addr. */
    char client_addr[64];
    /* Per header: 1 when it came more than once and its values were joined
     * (event_fold_headers); NULL when none was repeated. */
    unsigned char *header_repeated;
} http_request;

#endif
