/*
 * test_container_fake.c - a scripted stand-in for the Docker Engine API.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "test_container_fake.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FAKE_MAX_ROUTES 32
#define FAKE_MAX_REQS 256
#define FAKE_MAX_CONNS 32

struct fake_route {
    char method[8];
    char prefix[256];
    int status;
    char *body;
    size_t len;
    int hang;
};

struct fake_req {
    char method[8];
    char path[512];
    char *body;
};

struct fake_engine {
    char dir[64];
    char sock[100];
    int lfd;
    int stop_pipe[2];
    pthread_t acceptor;
    pthread_t conns[FAKE_MAX_CONNS];
    int nconns;
    pthread_mutex_t lock;
    struct fake_route routes[FAKE_MAX_ROUTES];
    int nroutes;
    struct fake_req reqs[FAKE_MAX_REQS];
    int nreqs;
    char *stdin_data;
    size_t stdin_len;
    int stdin_eof;
};

struct fake_conn {
    fake_engine *fe;
    int fd;
};

/* Wait for fd to be readable or the engine to stop. 1 readable, 0 stop. */
static int fake_wait(fake_engine *fe, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = fe->stop_pipe[0], .events = POLLIN}};

    for (;;) {
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            return 0;
        if (p[1].revents)
            return 0;
        if (p[0].revents)
            return 1;
    }
}

static void fake_send(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static struct fake_route *fake_match(fake_engine *fe, const char *method, const char *path)
{
    for (int i = 0; i < fe->nroutes; i++)
        if (strcmp(fe->routes[i].method, method) == 0 &&
            strncmp(path, fe->routes[i].prefix, strlen(fe->routes[i].prefix)) == 0)
            return &fe->routes[i];
    return NULL;
}

/* The attach connection: 101, then record stdin until the client half-closes. */
static void fake_attach(fake_engine *fe, int fd)
{
    static const char up[] = "HTTP/1.1 101 UPGRADED\r\nContent-Type: "
                             "application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
                             "Upgrade: tcp\r\n\r\n";
    char buf[4096];

    fake_send(fd, up, sizeof(up) - 1);
    while (fake_wait(fe, fd)) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        pthread_mutex_lock(&fe->lock);
        if (n <= 0) {
            fe->stdin_eof = n == 0;
            pthread_mutex_unlock(&fe->lock);
            break;
        }
        fe->stdin_data = realloc(fe->stdin_data, fe->stdin_len + (size_t)n + 1);
        memcpy(fe->stdin_data + fe->stdin_len, buf, (size_t)n);
        fe->stdin_len += (size_t)n;
        fe->stdin_data[fe->stdin_len] = '\0';
        pthread_mutex_unlock(&fe->lock);
    }
    /* Keep the connection until the client closes it, as an engine does. */
    while (fake_wait(fe, fd) && recv(fd, buf, sizeof(buf), 0) > 0)
        ;
}

/* Serve requests on one connection until it closes. */
static void *fake_conn_main(void *arg)
{
    struct fake_conn *c = arg;
    fake_engine *fe = c->fe;
    char head[8192];
    size_t have = 0;

    for (;;) {
        char *end, method[8] = "", path[512] = "", *body = NULL;
        long clen = 0;

        while (!(end = memmem(head, have, "\r\n\r\n", 4))) {
            ssize_t n;

            if (have == sizeof(head) || !fake_wait(fe, c->fd) ||
                (n = recv(c->fd, head + have, sizeof(head) - have, 0)) <= 0)
                goto done;
            have += (size_t)n;
        }
        *end = '\0';
        sscanf(head, "%7s %511s", method, path);
        char *cl = strcasestr(head, "\r\ncontent-length:");
        if (cl)
            clen = strtol(cl + 17, NULL, 10);
        size_t used = (size_t)(end + 4 - head);
        body = calloc(1, (size_t)clen + 1);
        size_t got = have - used < (size_t)clen ? have - used : (size_t)clen;
        memcpy(body, head + used, got);
        while (got < (size_t)clen) {
            ssize_t n;

            if (!fake_wait(fe, c->fd) ||
                (n = recv(c->fd, body + got, (size_t)clen - got, 0)) <= 0) {
                free(body);
                goto done;
            }
            got += (size_t)n;
        }
        have = 0; /* libcurl does not pipeline: nothing follows the body */

        const char *p = strncmp(path, "/v1.41", 6) == 0 ? path + 6 : path;
        pthread_mutex_lock(&fe->lock);
        if (fe->nreqs < FAKE_MAX_REQS) {
            struct fake_req *r = &fe->reqs[fe->nreqs++];

            snprintf(r->method, sizeof(r->method), "%s", method);
            snprintf(r->path, sizeof(r->path), "%s", p);
            r->body = body;
            body = NULL;
        }
        struct fake_route *rt = fake_match(fe, method, p);
        struct fake_route route = rt ? *rt : (struct fake_route){.status = 404};
        pthread_mutex_unlock(&fe->lock);
        free(body);

        if (strstr(p, "/attach") && !rt) {
            fake_attach(fe, c->fd);
            goto done;
        }
        if (route.hang) {
            while (fake_wait(fe, c->fd) && recv(c->fd, head, sizeof(head), 0) > 0)
                ;
            goto done;
        }
        const char *rbody = route.body ? route.body : "{\"message\":\"no route in the fake\"}";
        size_t rlen = route.body ? route.len : strlen(rbody);
        char rhead[256];
        int n = snprintf(rhead, sizeof(rhead),
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         route.status, rlen);
        fake_send(c->fd, rhead, (size_t)n);
        if (route.status != 204 && route.status != 304)
            fake_send(c->fd, rbody, rlen);
    }
done:
    close(c->fd);
    free(c);
    return NULL;
}

static void *fake_accept_main(void *arg)
{
    fake_engine *fe = arg;

    while (fake_wait(fe, fe->lfd)) {
        int fd = accept4(fe->lfd, NULL, NULL, SOCK_CLOEXEC);
        struct fake_conn *c;

        if (fd < 0)
            continue;
        pthread_mutex_lock(&fe->lock);
        if (fe->nconns == FAKE_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
            pthread_mutex_unlock(&fe->lock);
            close(fd);
            continue;
        }
        c->fe = fe;
        c->fd = fd;
        pthread_create(&fe->conns[fe->nconns++], NULL, fake_conn_main, c);
        pthread_mutex_unlock(&fe->lock);
    }
    return NULL;
}

fake_engine *fake_engine_start(void)
{
    fake_engine *fe = calloc(1, sizeof(*fe));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    snprintf(fe->dir, sizeof(fe->dir), "/tmp/sluice-fake.XXXXXX");
    if (!mkdtemp(fe->dir))
        abort();
    snprintf(fe->sock, sizeof(fe->sock), "%s/engine.sock", fe->dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fe->sock);
    pthread_mutex_init(&fe->lock, NULL);
    if (pipe2(fe->stop_pipe, O_CLOEXEC) != 0)
        abort();
    fe->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fe->lfd < 0 || bind(fe->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fe->lfd, 16) != 0)
        abort();
    pthread_create(&fe->acceptor, NULL, fake_accept_main, fe);
    return fe;
}

void fake_engine_stop(fake_engine *fe)
{
    if (!fe)
        return;
    if (write(fe->stop_pipe[1], "x", 1) != 1)
        abort();
    pthread_join(fe->acceptor, NULL);
    for (int i = 0; i < fe->nconns; i++)
        pthread_join(fe->conns[i], NULL);
    close(fe->lfd);
    close(fe->stop_pipe[0]);
    close(fe->stop_pipe[1]);
    unlink(fe->sock);
    rmdir(fe->dir);
    for (int i = 0; i < fe->nroutes; i++)
        free(fe->routes[i].body);
    for (int i = 0; i < fe->nreqs; i++)
        free(fe->reqs[i].body);
    free(fe->stdin_data);
    pthread_mutex_destroy(&fe->lock);
    free(fe);
}

const char *fake_engine_socket(const fake_engine *fe)
{
    return fe->sock;
}

static struct fake_route *fake_route_add(fake_engine *fe, const char *method, const char *prefix)
{
    struct fake_route *r;

    pthread_mutex_lock(&fe->lock);
    if (fe->nroutes == FAKE_MAX_ROUTES)
        abort();
    r = &fe->routes[fe->nroutes++];
    snprintf(r->method, sizeof(r->method), "%s", method);
    snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
    pthread_mutex_unlock(&fe->lock);
    return r;
}

void fake_engine_route(fake_engine *fe, const char *method, const char *prefix, int status,
                       const char *body, long len)
{
    struct fake_route *r = fake_route_add(fe, method, prefix);
    size_t n = len < 0 ? strlen(body) : (size_t)len;

    r->status = status;
    r->body = malloc(n + 1);
    memcpy(r->body, body, n);
    r->body[n] = '\0';
    r->len = n;
}

void fake_engine_hang(fake_engine *fe, const char *method, const char *prefix)
{
    fake_route_add(fe, method, prefix)->hang = 1;
}

int fake_engine_count(fake_engine *fe, const char *method, const char *prefix)
{
    int n = 0;

    pthread_mutex_lock(&fe->lock);
    for (int i = 0; i < fe->nreqs; i++)
        if (strcmp(fe->reqs[i].method, method) == 0 &&
            strncmp(fe->reqs[i].path, prefix, strlen(prefix)) == 0)
            n++;
    pthread_mutex_unlock(&fe->lock);
    return n;
}

char *fake_engine_body(fake_engine *fe, const char *method, const char *prefix)
{
    char *body = NULL;

    pthread_mutex_lock(&fe->lock);
    for (int i = fe->nreqs - 1; i >= 0 && !body; i--)
        if (strcmp(fe->reqs[i].method, method) == 0 &&
            strncmp(fe->reqs[i].path, prefix, strlen(prefix)) == 0 && fe->reqs[i].body)
            body = strdup(fe->reqs[i].body);
    pthread_mutex_unlock(&fe->lock);
    return body;
}

char *fake_engine_stdin(fake_engine *fe, int *eof)
{
    char *s;

    pthread_mutex_lock(&fe->lock);
    s = strdup(fe->stdin_data ? fe->stdin_data : "");
    *eof = fe->stdin_eof;
    pthread_mutex_unlock(&fe->lock);
    return s;
}

/* One frame of the multiplexed stream: 8-byte header, then the bytes. */
static size_t fake_frame(char *buf, int stream, const char *text)
{
    size_t n = strlen(text);

    buf[0] = (char)stream;
    buf[1] = buf[2] = buf[3] = 0;
    buf[4] = (char)(n >> 24);
    buf[5] = (char)(n >> 16);
    buf[6] = (char)(n >> 8);
    buf[7] = (char)n;
    memcpy(buf + 8, text, n);
    return n + 8;
}

void fake_engine_happy(fake_engine *fe, int code, const char *out, const char *err)
{
    char wait[64], logs[8192];
    size_t n = 0;

    snprintf(wait, sizeof(wait), "{\"StatusCode\":%d,\"Error\":null}", code);
    if (out)
        n += fake_frame(logs + n, 1, out);
    if (err)
        n += fake_frame(logs + n, 2, err);
    fake_engine_route(fe, "GET", "/_ping", 200, "OK", -1);
    fake_engine_route(fe, "GET", "/containers/json", 200, "[]", -1);
    fake_engine_route(fe, "POST", "/containers/create", 201, "{\"Id\":\"abc123\",\"Warnings\":[]}",
                      -1);
    fake_engine_route(fe, "POST", "/containers/abc123/start", 204, "", 0);
    fake_engine_route(fe, "POST", "/containers/abc123/wait", 200, wait, -1);
    fake_engine_route(fe, "GET", "/containers/abc123/logs", 200, logs, (long)n);
    fake_engine_route(fe, "GET", "/containers/abc123/json", 200,
                      "{\"State\":{\"OOMKilled\":false}}", -1);
    fake_engine_route(fe, "POST", "/containers/abc123/kill", 204, "", 0);
    fake_engine_route(fe, "DELETE", "/containers/abc123", 204, "", 0);
}
