/*
 * bench/spawn.c - the "spawn ceiling" for the sync benchmark.
 *
 * bench/bare.c plus one process per request: read the body, parse it as JSON,
 * posix_spawn /bin/true, wait for it, answer 200. This is the fastest a sync
 * "run a command and answer when it is done" server can be on this machine
 * with the same HTTP stack, so bench/run.sh reports sluiced's sync throughput
 * as a fraction of it.
 *
 * Thread pool size (the fairness choice): the child is waited for on the
 * MHD thread itself, so each MHD thread runs at most one command at a time
 * and the pool size is the number of commands in flight. sluiced in the bench
 * runs commands on `workers = 4` worker threads (its 2 HTTP threads never
 * block), so the default here is 4 MHD threads: the same four commands in
 * flight, without sluiced's queue and hand-off between threads. Fewer would
 * cap the ceiling below what sluiced is allowed to do; more would let this
 * server overlap more process start-ups than sluiced may, which is not the
 * comparison we want. Override with -t.
 *
 * posix_spawn (vfork-style clone in glibc) is what a careful executor uses;
 * the child gets a clean signal mask and default SIGPIPE, and inherits the
 * server's stdio, which /bin/true never touches.
 *
 * Usage: spawn -p PORT [-t THREADS]
 * Prints nothing but errors; exits 0 on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#ifndef MHD_HTTP_CONTENT_TOO_LARGE
#define MHD_HTTP_CONTENT_TOO_LARGE 413
#endif

#define SPAWN_MAX_BODY (1024 * 1024)
#define SPAWN_COMMAND "/bin/true"

extern char **environ;

static const char SPAWN_OK[] = "{\"state\":\"succeeded\",\"exit_code\":0}\n";
static const char SPAWN_FAILED[] = "{\"state\":\"failed\"}\n";
static const char SPAWN_BAD_JSON[] = "{\"error\":\"invalid JSON body\"}\n";
static const char SPAWN_TOO_LARGE[] = "{\"error\":\"body too large\"}\n";

/* Set up once in main, then only read (posix_spawn takes it const). */
static posix_spawnattr_t spawn_attr;

struct spawn_body {
    char *data;
    size_t len;
    size_t cap;
    int too_large;
};

static int spawn_body_append(struct spawn_body *b, const char *data, size_t len)
{
    if (b->too_large)
        return 0;
    if (len > SPAWN_MAX_BODY - b->len) {
        b->too_large = 1;
        return 0;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static enum MHD_Result spawn_reply(struct MHD_Connection *conn, unsigned int status,
                                   const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Run SPAWN_COMMAND and wait for it: 0 if it exited 0, -1 otherwise. */
static int spawn_run(void)
{
    char *argv[] = {(char *)SPAWN_COMMAND, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, SPAWN_COMMAND, NULL, &spawn_attr, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "spawn: posix_spawn %s: %s\n", SPAWN_COMMAND, strerror(rc));
        return -1;
    }
    int status;
    /* EINTR is the only retryable failure; a signal cannot arrive forever. */
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "spawn: waitpid: %s\n", strerror(errno));
            return -1;
        }
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static enum MHD_Result spawn_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **req_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    struct spawn_body *b = *req_cls;

    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b)
            return MHD_NO;
        *req_cls = b;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (spawn_body_append(b, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (b->too_large)
        return spawn_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, SPAWN_TOO_LARGE,
                           sizeof(SPAWN_TOO_LARGE) - 1);
    if (b->len > 0) {
        json_error_t jerr;
        json_t *doc = json_loadb(b->data, b->len, 0, &jerr);
        if (!doc)
            return spawn_reply(conn, MHD_HTTP_BAD_REQUEST, SPAWN_BAD_JSON,
                               sizeof(SPAWN_BAD_JSON) - 1);
        json_decref(doc);
    }
    if (spawn_run() < 0)
        return spawn_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, SPAWN_FAILED,
                           sizeof(SPAWN_FAILED) - 1);
    return spawn_reply(conn, MHD_HTTP_OK, SPAWN_OK, sizeof(SPAWN_OK) - 1);
}

static void spawn_request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                               enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct spawn_body *b = *req_cls;
    if (b) {
        free(b->data);
        free(b);
        *req_cls = NULL;
    }
}

static int spawn_parse_uint(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

static void spawn_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s -p PORT [-t THREADS]\n", argv0);
}

/* Children must not inherit the server's blocked SIGTERM/SIGINT or its
 * ignored SIGPIPE (ignored dispositions survive exec). */
static int spawn_attr_init(void)
{
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    if (posix_spawnattr_init(&spawn_attr) != 0 ||
        posix_spawnattr_setsigmask(&spawn_attr, &none) != 0 ||
        posix_spawnattr_setsigdefault(&spawn_attr, &defaults) != 0 ||
        posix_spawnattr_setflags(&spawn_attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    long port = 0, threads = 4;
    int opt;

    while ((opt = getopt(argc, argv, "p:t:h")) != -1) {
        switch (opt) {
        case 'p':
            if (spawn_parse_uint(optarg, 65535, &port) < 0) {
                fprintf(stderr, "spawn: invalid port '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (spawn_parse_uint(optarg, 256, &threads) < 0) {
                fprintf(stderr, "spawn: invalid thread count '%s'\n", optarg);
                return 2;
            }
            break;
        default:
            spawn_usage(argv[0]);
            return 2;
        }
    }
    if (port == 0 || optind != argc) {
        spawn_usage(argv[0]);
        return 2;
    }
    if (spawn_attr_init() < 0) {
        fprintf(stderr, "spawn: cannot set up posix_spawn attributes\n");
        return 1;
    }

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, spawn_handle,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
        MHD_OPTION_NOTIFY_COMPLETED, spawn_request_done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "spawn: cannot start HTTP server on 127.0.0.1:%ld\n", port);
        return 1;
    }

    int sig = 0;
    if (sigwait(&stop, &sig) != 0)
        fprintf(stderr, "spawn: sigwait failed\n");
    MHD_stop_daemon(d);
    posix_spawnattr_destroy(&spawn_attr);
    return 0;
}
