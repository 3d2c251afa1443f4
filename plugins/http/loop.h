/*
 * loop.h - the one thread that moves every forward's bytes.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * execute prepares a request on the worker thread (templates, body,
 * nothing that waits), hands it to the loop and returns SLUICE_PENDING, so
 * a slow upstream never holds one of sluiced's workers. The loop drives
 * every transfer of every flow on one curl multi handle: its connection
 * cache is where keep-alive connections wait to be reused, and no lock is
 * needed around it because only the loop thread touches it. The loop also
 * sleeps the retry delays (as deadlines, not threads), and finishes each
 * execution with exec_complete.
 *
 * At most HTTP_MAX_IN_FLIGHT executions are with the loop at once; past
 * that, execute waits for a slot (cancellable), so a flood backs up into
 * sluiced's queue, which answers 503 when full, instead of into memory and
 * sockets here.
 *
 * cancel only wakes the loop (curl_multi_wakeup is safe from any thread);
 * the loop then asks exec_is_cancelled for each of its executions and
 * aborts the ones that must stop, closing their connections at once.
 */
#ifndef HTTP_LOOP_H
#define HTTP_LOOP_H

#include <stddef.h>

#include <sluice/plugin.h>

#define HTTP_MAX_IN_FLIGHT 256

struct http_loop;
struct http_req;

/* Start the loop thread. Returns 0, or -1 with err. */
int http_loop_start(struct http_loop **out, const sluice_host *host, char *err, size_t errlen);

/*
 * Stop the thread and free the loop. Anything still in flight (nothing,
 * when the host drained first) is finished as failed.
 */
void http_loop_stop(struct http_loop *loop);

/*
 * Hand req to the loop, waiting while the loop is full. On success the
 * loop owns req and will complete its execution. Returns 0, or -1 with the
 * reason in err when the execution was cancelled while waiting or the loop
 * is stopping (req is then still the caller's).
 */
int http_loop_submit(struct http_loop *loop, struct http_req *req, char *err, size_t errlen);

/* Wake the loop (and any execute waiting for a slot) to look at
 * cancellations. Any thread, never blocks for long. */
void http_loop_wake(struct http_loop *loop);

/* Loop thread (result.c): an execution is over, give back its slot. */
void http_loop_release(struct http_loop *loop);

#endif /* HTTP_LOOP_H */
