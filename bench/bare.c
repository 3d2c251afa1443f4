/*
 * bench/bare.c - the "bare ceiling" for the async benchmark.
 *
 * The least an async webhook server can do and still be honest: accept the
 * connection, read the whole POST body, parse it as JSON, answer 202 with a
 * tiny JSON body. No routing, no auth, no store, no queue. sluiced's async
 * path does all of this plus real work, so bench/run.sh reports sluiced's
 * throughput as a fraction of this number.
 *
 * The HTTP setup mirrors sluiced's (core/front/http.c): libmicrohttpd with an
 * internal polling thread pool on epoll, two threads by default (sluiced's
 * http_threads = 2 in the bench config), bound to 127.0.0.1 only.
 *
 * With -j FILE it is the "durable ceiling": the least a server can do and
 * keep every body it acknowledges through a power cut. Each parsed body is
 * appended to a buffer and its connection suspended; one thread writes the
 * buffer to FILE and fdatasyncs it (group commit: whatever arrived during
 * the previous round goes in the next), then resumes the connections, which
 * answer 202. The file starts over past JOURNAL_LIMIT, as a journal whose
 * contents have been moved elsewhere would. No index, no query, no record
 * format: the gap between this and bare is what durability itself costs
 * here, and the gap between sluiced and this is sluiced's own.
 *
 * Usage: bare -p PORT [-t THREADS] [-j FILE]
 * Prints nothing but errors; exits 0 on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

/* libmicrohttpd < 0.9.74 (configure accepts >= 0.9.71) calls it PAYLOAD_TOO_LARGE. */
#ifndef MHD_HTTP_CONTENT_TOO_LARGE
#define MHD_HTTP_CONTENT_TOO_LARGE 413
#endif

/* Same limit as the bench's sluiced config (max_body = "1M"). */
#define BARE_MAX_BODY (1024 * 1024)

static const char BARE_ACCEPTED[] = "{\"status\":\"accepted\"}\n";
static const char BARE_BAD_JSON[] = "{\"error\":\"invalid JSON body\"}\n";
static const char BARE_TOO_LARGE[] = "{\"error\":\"body too large\"}\n";

#define JOURNAL_LIMIT (64u << 20)

/* Per-request state: the body read so far. Freed in bare_request_done. */
struct bare_body {
    char *data;
    size_t len;
    size_t cap;
    int too_large;
    int durable; /* -j: on disk, answer now */
    struct MHD_Connection *conn;
    struct bare_body *next; /* -j: waiting for the next fdatasync */
};

/* -j: the group commit. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    char *buf; /* appended bodies, newline-separated */
    size_t len, cap;
    struct bare_body *waiting;
} journal = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, NULL, 0, 0, NULL};

/* Queue b's body for the next round and park its connection. */
static int journal_add(struct MHD_Connection *conn, struct bare_body *b)
{
    pthread_mutex_lock(&journal.mu);
    if (journal.len + b->len + 1 > journal.cap) {
        size_t cap = (journal.len + b->len + 1) * 2;
        char *p = realloc(journal.buf, cap);
        if (!p) {
            pthread_mutex_unlock(&journal.mu);
            return -1;
        }
        journal.buf = p;
        journal.cap = cap;
    }
    memcpy(journal.buf + journal.len, b->data, b->len);
    journal.len += b->len;
    journal.buf[journal.len++] = '\n';
    b->conn = conn;
    b->next = journal.waiting;
    journal.waiting = b;
    MHD_suspend_connection(conn);
    pthread_cond_signal(&journal.cv);
    pthread_mutex_unlock(&journal.mu);
    return 0;
}

static void *journal_main(void *arg)
{
    (void)arg;
    char *spare = NULL;
    size_t spare_cap = 0, size = 0;
    for (;;) {
        pthread_mutex_lock(&journal.mu);
        while (!journal.waiting)
            pthread_cond_wait(&journal.cv, &journal.mu);
        char *buf = journal.buf;
        size_t len = journal.len, cap = journal.cap;
        struct bare_body *w = journal.waiting;
        journal.buf = spare;
        journal.cap = spare_cap;
        journal.len = 0;
        journal.waiting = NULL;
        pthread_mutex_unlock(&journal.mu);
        if (write(journal.fd, buf, len) != (ssize_t)len || fdatasync(journal.fd) != 0) {
            fprintf(stderr, "bare: journal write failed: %s\n", strerror(errno));
            abort(); /* a ceiling that loses data measures nothing */
        }
        size += len;
        if (size > JOURNAL_LIMIT && ftruncate(journal.fd, 0) == 0)
            size = 0;
        spare = buf;
        spare_cap = cap;
        while (w) {
            struct bare_body *next = w->next;
            w->durable = 1;
            MHD_resume_connection(w->conn);
            w = next;
        }
    }
    return NULL;
}

/* Append one chunk of upload data; past BARE_MAX_BODY keep reading but drop
 * it, so the client still gets a clean 413 instead of a reset. */
static int bare_body_append(struct bare_body *b, const char *data, size_t len)
{
    if (b->too_large)
        return 0;
    if (len > BARE_MAX_BODY - b->len) {
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

static enum MHD_Result bare_reply(struct MHD_Connection *conn, unsigned int status,
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

/*
 * MHD calls this at least three times per request: once with the headers
 * (we allocate the body buffer), once per chunk of upload data, and once
 * with *upload_data_size == 0 when the body is complete (we answer).
 */
static enum MHD_Result bare_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    struct bare_body *b = *req_cls;

    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b)
            return MHD_NO;
        *req_cls = b;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (bare_body_append(b, upload_data, *upload_data_size) < 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (b->too_large)
        return bare_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, BARE_TOO_LARGE,
                          sizeof(BARE_TOO_LARGE) - 1);
    if (b->durable)
        return bare_reply(conn, MHD_HTTP_ACCEPTED, BARE_ACCEPTED, sizeof(BARE_ACCEPTED) - 1);
    /* A body-less request (GET, readiness probe) has nothing to parse. */
    if (b->len > 0) {
        json_error_t jerr;
        json_t *doc = json_loadb(b->data, b->len, 0, &jerr);
        if (!doc)
            return bare_reply(conn, MHD_HTTP_BAD_REQUEST, BARE_BAD_JSON, sizeof(BARE_BAD_JSON) - 1);
        json_decref(doc);
    }
    if (journal.fd >= 0)
        return journal_add(conn, b) == 0 ? MHD_YES : MHD_NO;
    return bare_reply(conn, MHD_HTTP_ACCEPTED, BARE_ACCEPTED, sizeof(BARE_ACCEPTED) - 1);
}

static void bare_request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct bare_body *b = *req_cls;
    if (b) {
        free(b->data);
        free(b);
        *req_cls = NULL;
    }
}

static int bare_parse_uint(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

static void bare_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s -p PORT [-t THREADS] [-j JOURNAL_FILE]\n", argv0);
}

int main(int argc, char **argv)
{
    long port = 0, threads = 2;
    int opt;

    const char *journal_path = NULL;

    while ((opt = getopt(argc, argv, "p:t:j:h")) != -1) {
        switch (opt) {
        case 'j':
            journal_path = optarg;
            break;
        case 'p':
            if (bare_parse_uint(optarg, 65535, &port) < 0) {
                fprintf(stderr, "bare: invalid port '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (bare_parse_uint(optarg, 256, &threads) < 0) {
                fprintf(stderr, "bare: invalid thread count '%s'\n", optarg);
                return 2;
            }
            break;
        default:
            bare_usage(argv[0]);
            return 2;
        }
    }
    if (port == 0 || optind != argc) {
        bare_usage(argv[0]);
        return 2;
    }

    /* Block the stop signals before MHD starts its threads, so they inherit
     * the mask and only the main thread's sigwait() ever sees them. */
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

    if (journal_path) {
        journal.fd = open(journal_path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0600);
        pthread_t t;
        if (journal.fd < 0 || pthread_create(&t, NULL, journal_main, NULL) != 0) {
            fprintf(stderr, "bare: cannot open the journal %s: %s\n", journal_path,
                    strerror(errno));
            return 1;
        }
    }

    /* Only with -j: suspending costs every connection an extra wakeup channel. */
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (journal.fd >= 0)
        flags |= MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, bare_handle, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
                         (unsigned int)threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                         MHD_OPTION_NOTIFY_COMPLETED, bare_request_done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bare: cannot start HTTP server on 127.0.0.1:%ld\n", port);
        return 1;
    }

    /* sigwait() fails only on an invalid set, so this returns on a signal. */
    int sig = 0;
    if (sigwait(&stop, &sig) != 0)
        fprintf(stderr, "bare: sigwait failed\n");
    MHD_stop_daemon(d);
    return 0;
}
