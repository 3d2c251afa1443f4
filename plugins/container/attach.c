/*
 * attach.c - the event on a container's stdin, through the attach endpoint.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "attach.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "kit/kit.h"

#define CTR_ATTACH_TIMEOUT_MS 10000
#define CTR_ATTACH_POLL_MS 100
#define CTR_ATTACH_HEAD_MAX 8192

/* Wait until fd is ready for events, at most ms. */
static void ctr_attach_poll(curl_socket_t fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};

    (void)poll(&p, 1, ms);
}

/* Send all of data (the request line and headers), within the deadline. */
static int ctr_attach_send_all(struct ctr_attach *a, const char *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(a->easy, data, len, &n);

        if (rc == CURLE_AGAIN) {
            if (kit_now_ms() > deadline)
                return -1;
            ctr_attach_poll(a->fd, POLLOUT, CTR_ATTACH_POLL_MS);
            continue;
        }
        if (rc != CURLE_OK)
            return -1;
        data += n;
        len -= n;
    }
    return 0;
}

/* Read the answer's head; 101 (or 200, for engines that skip the upgrade) is success. */
static int ctr_attach_head(struct ctr_attach *a, const char *id, char *err, size_t errlen)
{
    char head[CTR_ATTACH_HEAD_MAX + 1];
    int64_t deadline = kit_now_ms() + CTR_ATTACH_TIMEOUT_MS;
    size_t have = 0;
    int status = 0;

    while (have < CTR_ATTACH_HEAD_MAX) {
        size_t n = 0;
        CURLcode rc = curl_easy_recv(a->easy, head + have, 1, &n);

        /* One byte at a time: what follows the head belongs to the stream. */
        if (rc == CURLE_AGAIN) {
            if (kit_now_ms() > deadline) {
                kit_errf(err, errlen, "attaching to container %.12s: no answer within %d ms", id,
                         CTR_ATTACH_TIMEOUT_MS);
                return -1;
            }
            ctr_attach_poll(a->fd, POLLIN, CTR_ATTACH_POLL_MS);
            continue;
        }
        if (rc != CURLE_OK || n == 0)
            break;
        have += n;
        head[have] = '\0';
        if (have >= 4 && memcmp(head + have - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[have] = '\0';
    if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1)
        status = 0;
    if (status == 101 || status == 200)
        return 0;
    kit_errf(err, errlen, "attaching to container %.12s: the engine answered %.*s", id,
             (int)strcspn(head, "\r\n"), have ? head : "nothing");
    return -1;
}

int ctr_attach_open(struct ctr_attach *a, const char *socket, const char *id, char *err,
                    size_t errlen)
{
    char req[512];
    CURLcode rc;
    int n;

    a->fd = CURL_SOCKET_BAD;
    a->easy = curl_easy_init();
    if (!a->easy) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    curl_easy_setopt(a->easy, CURLOPT_URL, "http://localhost/");
    curl_easy_setopt(a->easy, CURLOPT_UNIX_SOCKET_PATH, socket);
    curl_easy_setopt(a->easy, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(a->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(a->easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(a->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)CTR_ATTACH_TIMEOUT_MS);
    rc = curl_easy_perform(a->easy);
    if (rc == CURLE_OK)
        rc = curl_easy_getinfo(a->easy, CURLINFO_ACTIVESOCKET, &a->fd);
    if (rc != CURLE_OK || a->fd == CURL_SOCKET_BAD) {
        kit_errf(err, errlen, "attaching to container %.12s: cannot connect to %s: %s", id, socket,
                 curl_easy_strerror(rc));
        return -1;
    }
    n = snprintf(req, sizeof(req),
                 "POST /" CTR_API_VERSION "/containers/%s/attach?stream=1&stdin=1&stdout=0"
                 "&stderr=0 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                 "Upgrade: tcp\r\nContent-Length: 0\r\n\r\n",
                 id);
    if (n < 0 || (size_t)n >= sizeof(req) ||
        ctr_attach_send_all(a, req, (size_t)n, kit_now_ms() + CTR_ATTACH_TIMEOUT_MS) != 0) {
        kit_errf(err, errlen, "attaching to container %.12s: cannot send the request", id);
        return -1;
    }
    return ctr_attach_head(a, id, err, errlen);
}

int ctr_attach_send_eof(struct ctr_attach *a, const char *data, size_t len, size_t *written,
                        ctr_api_stop_fn stop, void *stop_ctx)
{
    *written = 0;
    while (*written < len) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(a->easy, data + *written, len - *written, &n);

        if (rc == CURLE_AGAIN) {
            if (stop && stop(stop_ctx))
                return CTR_API_CANCELLED;
            /* Bounded: the container reads, exits, or stop ends the wait. */
            ctr_attach_poll(a->fd, POLLOUT, CTR_ATTACH_POLL_MS);
            continue;
        }
        if (rc != CURLE_OK)
            break; /* the container closed its stdin or exited: not our failure */
        *written += n;
    }
    /* A failure here means the engine already closed the connection: the
     * container's stdin is closed either way. */
    (void)shutdown(a->fd, SHUT_WR);
    return 0;
}

void ctr_attach_close(struct ctr_attach *a)
{
    if (a->easy)
        curl_easy_cleanup(a->easy);
    a->easy = NULL;
    a->fd = CURL_SOCKET_BAD;
}
