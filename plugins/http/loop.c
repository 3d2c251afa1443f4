/*
 * loop.c - the one thread that moves every forward's bytes (see loop.h).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * One turn of the loop: adopt what execute submitted, finish what was
 * cancelled, start the retries that are due, let libcurl move bytes, pick
 * up the transfers that ended, then sleep in curl_multi_poll until a
 * socket is ready, a libcurl timer or a retry is due, or someone calls
 * curl_multi_wakeup (a submission, a cancel, a stop). While anything is in
 * flight the sleep is capped at HTTP_LOOP_TICK_MS as a last line of
 * defence: the loop never depends on a wakeup arriving to notice a
 * cancellation.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "request.h"
#include "util.h"

#define HTTP_LOOP_TICK_MS 250
/* With nothing in flight only a submission or a stop can matter, and both
 * wake the loop: sleep longer. */
#define HTTP_LOOP_IDLE_MS 5000

struct http_loop {
    const sluice_host *host;
    CURLM *multi;
    pthread_t thread;
    int started;

    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t room;  /* in_flight went down, or a cancel / stop */
    struct http_req *incoming;
    size_t in_flight;
    int stop;

    struct http_req *active; /* loop thread only */
};

static void http_loop_link(struct http_loop *loop, struct http_req *req)
{
    req->prev = NULL;
    req->next = loop->active;
    if (loop->active)
        loop->active->prev = req;
    loop->active = req;
}

static void http_loop_unlink(struct http_loop *loop, struct http_req *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        loop->active = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

void http_loop_release(struct http_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    loop->in_flight--;
    pthread_cond_signal(&loop->room);
    pthread_mutex_unlock(&loop->lock);
}

/* Take a request out of the transfer (if it is in one) and off the list,
 * so that finishing it may free it. */
static void http_loop_detach(struct http_loop *loop, struct http_req *req)
{
    if (req->state == HTTP_REQ_RUNNING)
        curl_multi_remove_handle(loop->multi, req->easy);
    http_loop_unlink(loop, req);
}

static void http_loop_adopt(struct http_loop *loop)
{
    struct http_req *fresh;

    pthread_mutex_lock(&loop->lock);
    fresh = loop->incoming;
    loop->incoming = NULL;
    pthread_mutex_unlock(&loop->lock);
    while (fresh) {
        struct http_req *req = fresh;

        fresh = fresh->next;
        req->state = HTTP_REQ_WAITING;
        req->due_ms = 0; /* due at once: the scan starts the first attempt */
        http_loop_link(loop, req);
    }
}

/*
 * Finish cancelled executions and start due attempts. A request is taken
 * off the list before anything that may finish (and free) it, and put back
 * at the head when it lives on; the walk has already saved its successor,
 * so it is not visited twice. Returns how long the loop may sleep.
 */
static long http_loop_scan(struct http_loop *loop)
{
    long next = loop->active ? HTTP_LOOP_TICK_MS : HTTP_LOOP_IDLE_MS;
    int64_t now = kit_now_ms();
    struct http_req *req = loop->active;

    while (req) {
        struct http_req *following = req->next;
        int reason = loop->host->exec_is_cancelled(req->exec);
        char err[256];

        if (reason != SLUICE_CANCEL_NONE) {
            http_loop_detach(loop, req);
            http_req_abort(req, reason, NULL);
        } else if (req->state == HTTP_REQ_WAITING && req->due_ms <= now) {
            http_loop_unlink(loop, req);
            if (http_req_start(req, loop->multi, err, sizeof(err)) == 0)
                http_loop_link(loop, req);
            else
                http_req_abort(req, SLUICE_CANCEL_NONE, err);
        } else if (req->state == HTTP_REQ_WAITING && req->due_ms - now < next) {
            next = (long)(req->due_ms - now);
        }
        req = following;
    }
    return next;
}

static void http_loop_collect(struct http_loop *loop)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(loop->multi, &left))) {
        struct http_req *req = NULL;
        CURLcode rc = msg->data.result;
        CURL *easy = msg->easy_handle;

        if (msg->msg != CURLMSG_DONE)
            continue;
        /* msg is invalid after remove_handle: read it all first. */
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
        curl_multi_remove_handle(loop->multi, easy);
        if (!req)
            continue;
        /* Still "running" for the messages of http_req_done; a retry it
         * schedules makes it WAITING. */
        http_loop_unlink(loop, req);
        if (http_req_done(req, rc) == 0)
            http_loop_link(loop, req); /* a retry is scheduled */
    }
}

/* Whatever is left when the loop stops: fail it, so nothing hangs. */
static void http_loop_flush(struct http_loop *loop)
{
    http_loop_adopt(loop);
    while (loop->active) {
        struct http_req *req = loop->active;

        http_loop_detach(loop, req);
        http_req_abort(req, SLUICE_CANCEL_SHUTDOWN, NULL);
    }
}

static void *http_loop_main(void *arg)
{
    struct http_loop *loop = arg;

    for (;;) {
        int running = 0, stop;
        long wait_ms, curl_ms = -1;

        pthread_mutex_lock(&loop->lock);
        stop = loop->stop;
        pthread_mutex_unlock(&loop->lock);
        if (stop)
            break;
        http_loop_adopt(loop);
        wait_ms = http_loop_scan(loop);
        curl_multi_perform(loop->multi, &running);
        http_loop_collect(loop);
        /* Sleep until libcurl or the next retry needs us; a retry that
         * is due already (no backoff) means no sleep at all. */
        if (curl_multi_timeout(loop->multi, &curl_ms) == CURLM_OK && curl_ms >= 0 &&
            curl_ms < wait_ms)
            wait_ms = curl_ms;
        for (struct http_req *r = loop->active; r; r = r->next) {
            int64_t left = r->due_ms - kit_now_ms();

            if (r->state == HTTP_REQ_WAITING && left < wait_ms)
                wait_ms = left > 0 ? (long)left : 0;
        }
        if (wait_ms > 0)
            curl_multi_poll(loop->multi, NULL, 0, (int)wait_ms, NULL);
    }
    http_loop_flush(loop);
    return NULL;
}

int http_loop_start(struct http_loop **out, const sluice_host *host, char *err, size_t errlen)
{
    struct http_loop *loop = calloc(1, sizeof(*loop));
    pthread_condattr_t attr;
    sigset_t all, old;
    int rc;

    *out = NULL;
    if (!loop || !(loop->multi = curl_multi_init())) {
        free(loop);
        kit_errf(err, errlen, "http: cannot create the transfer loop (out of memory)");
        return -1;
    }
    loop->host = host;
    /* Idle keep-alive connections kept for reuse, across all flows. */
    curl_multi_setopt(loop->multi, CURLMOPT_MAXCONNECTS, 64L);
    pthread_mutex_init(&loop->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&loop->room, &attr);
    pthread_condattr_destroy(&attr);
    /* Signals belong to sluiced's signal thread, never to this one. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&loop->thread, NULL, http_loop_main, loop);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        char ebuf[128];

        kit_errf(err, errlen, "http: cannot start the transfer thread: %s",
                 kit_strerror(rc, ebuf, sizeof(ebuf)));
        curl_multi_cleanup(loop->multi);
        pthread_cond_destroy(&loop->room);
        pthread_mutex_destroy(&loop->lock);
        free(loop);
        return -1;
    }
    loop->started = 1;
    *out = loop;
    return 0;
}

void http_loop_stop(struct http_loop *loop)
{
    if (!loop)
        return;
    pthread_mutex_lock(&loop->lock);
    loop->stop = 1;
    pthread_cond_broadcast(&loop->room);
    pthread_mutex_unlock(&loop->lock);
    curl_multi_wakeup(loop->multi);
    if (loop->started)
        pthread_join(loop->thread, NULL);
    curl_multi_cleanup(loop->multi);
    pthread_cond_destroy(&loop->room);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

int http_loop_submit(struct http_loop *loop, struct http_req *req, char *err, size_t errlen)
{
    pthread_mutex_lock(&loop->lock);
    while (loop->in_flight >= HTTP_MAX_IN_FLIGHT && !loop->stop) {
        struct timespec ts;

        if (loop->host->exec_is_cancelled(req->exec) != SLUICE_CANCEL_NONE) {
            pthread_mutex_unlock(&loop->lock);
            kit_errf(err, errlen, "cancelled while waiting for one of the %d transfer slots",
                     HTTP_MAX_IN_FLIGHT);
            return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&loop->room, &loop->lock, &ts);
    }
    if (loop->stop) {
        pthread_mutex_unlock(&loop->lock);
        kit_errf(err, errlen, "cancelled: the http executor is shutting down");
        return -1;
    }
    req->next = loop->incoming;
    loop->incoming = req;
    loop->in_flight++;
    pthread_mutex_unlock(&loop->lock);
    curl_multi_wakeup(loop->multi);
    return 0;
}

void http_loop_wake(struct http_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    pthread_cond_broadcast(&loop->room);
    pthread_mutex_unlock(&loop->lock);
    curl_multi_wakeup(loop->multi);
}
