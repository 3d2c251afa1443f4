/*
 * test_container_fake.h - a scripted stand-in for the Docker Engine API on
 * a unix socket, for the container executor's unit tests.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) for
 * libcurl, answers each request with the first route whose method matches
 * and whose prefix starts the path (after the /v1.41 version), and records
 * every request. An attach request is answered 101 and whatever the client
 * sends until it half-closes is kept as the container's stdin. A route can
 * hang: the answer never comes, as with /wait for a container that runs.
 */
#ifndef TEST_CONTAINER_FAKE_H
#define TEST_CONTAINER_FAKE_H

#include <stddef.h>

typedef struct fake_engine fake_engine;

/* Listen on a fresh socket in a private directory; see fake_engine_socket. */
fake_engine *fake_engine_start(void);
void fake_engine_stop(fake_engine *fe);
const char *fake_engine_socket(const fake_engine *fe);

/* Answer "METHOD prefix..." with status and body (len -1: strlen). */
void fake_engine_route(fake_engine *fe, const char *method, const char *prefix, int status,
                       const char *body, long len);
/* Never answer "METHOD prefix...". */
void fake_engine_hang(fake_engine *fe, const char *method, const char *prefix);

/* How many requests matched "METHOD prefix...". */
int fake_engine_count(fake_engine *fe, const char *method, const char *prefix);

/* The body of the last request matching "METHOD prefix..." (malloc'd) or NULL. */
char *fake_engine_body(fake_engine *fe, const char *method, const char *prefix);

/* What the client wrote to the attach connection before half-closing
 * (malloc'd, NUL-terminated), and whether it half-closed. */
char *fake_engine_stdin(fake_engine *fe, int *eof);

/* Routes for a container that runs and exits with code, printing out/err. */
void fake_engine_happy(fake_engine *fe, int code, const char *out, const char *err);

#endif /* TEST_CONTAINER_FAKE_H */
