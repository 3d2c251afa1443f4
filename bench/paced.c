/*
 * bench/paced.c - open-loop HTTP load at a fixed rate, for bench/run.sh.
 *
 * wrk answers "how fast can this server go"; issue #6 asks "how fast does it
 * answer at 2,000 requests/s". A closed-loop generator cannot say: when the
 * server stalls, each of its connections waits instead of sending, so the
 * requests that a real sender would have made during the stall are never
 * made, and a 200 ms stall shows up as 32 slow samples instead of 400
 * (coordinated omission). Its p99 is then the server's best case.
 *
 * So the schedule is fixed before the first request: request i is due at
 * t0 + i / rate, whatever the server does. A due request goes out on the
 * keep-alive connection that has been idle longest (so every connection
 * carries load, as with 32 real senders); when none is idle it waits in the
 * queue, and its latency still runs from the time it was due. That is what
 * a sender with a queue in front of N connections sees. The time from the
 * actual send (svc_*) is reported too: the gap between the two is time
 * spent waiting for a free connection, or the generator itself running late.
 * How late the generator woke up for its timer (late_*) tells those apart:
 * on a busy machine it is not scheduled on time, and that delay is in every
 * latency it reports, as it would be for any open-loop generator.
 *
 * One request in flight per connection (HTTP/1.1 keep-alive, no
 * pipelining). Responses are delimited by Content-Length, by the end of the
 * connection when there is none, or are body-less (1xx, 204, 304); chunked
 * responses are counted as errors (none of the servers in bench/ sends
 * them). Reads and writes may be partial at any byte.
 *
 * It runs for a bounded time: the schedule (-d), then at most the request
 * timeout (-t) for requests still queued or in flight. What is unanswered
 * then counts as a timeout, what was never sent as unsent.
 *
 * Usage: paced [-r RATE] [-c CONNS] [-d SECONDS] [-b BYTES] [-t SECONDS] URL
 *
 * URL is http://HOST[:PORT]/PATH. Every request is a POST of a JSON body of
 * exactly BYTES bytes, the same document bench/count.lua sends. Prints one
 * line that run.sh parses (times in ms; latencies over every response,
 * whatever its status, like wrk's):
 *
 *   RESULT rate= conns= scheduled= sent= total= ok= non2xx= errors=
 *          timeouts= unsent= connect_errors= rps= ok_rps= p50_ms= p90_ms=
 *          p99_ms= p999_ms= max_ms= svc_p50_ms= svc_p99_ms= svc_max_ms=
 *          late_p99_ms= late_max_ms= duration_s=
 *
 * Exits 0 when it ran (whatever the numbers), 1 if it could not connect at
 * all, 2 on bad arguments.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

/* A response head larger than this is a protocol error; the servers in
 * bench/ send a few hundred bytes. */
#define PACED_HEAD_MAX 16384
/* After a failed connect, try that connection again this much later rather
 * than spin on a refusing port. */
#define PACED_RETRY_NS (100 * NS_PER_MS)
/* Without a timer armed, wake up this often to check request timeouts. */
#define PACED_TICK_MS 50
/* Stop printing individual errors after this many; the counts stay exact. */
#define PACED_LOUD_ERRORS 5

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

struct conn {
    int fd;
    enum conn_state state;
    uint32_t events;  /* what epoll watches for fd */
    int in_ring;      /* listed in the idle ring (maybe stale, see pop) */
    int64_t retry_ns; /* CONN_DOWN: next connect attempt */
    /* The request in flight (CONN_BUSY). */
    int64_t due_ns;  /* when the schedule said to send it */
    int64_t sent_ns; /* when its first byte went out */
    size_t wr_off;   /* bytes of it written so far */
    /* Its response. */
    char head[PACED_HEAD_MAX];
    size_t head_len; /* bytes in head[] (head not parsed yet) */
    int have_head;
    int status;
    int until_close; /* no Content-Length: the body ends at EOF */
    int close_after; /* "Connection: close" or HTTP/1.0 */
    size_t body_left;
};

static struct {
    struct addrinfo *addr;
    char *req;
    size_t req_len;
    int ep;
    int tfd;
    struct conn *conns;
    int nconns;
    int *ring; /* idle connections, longest idle first */
    int ring_head, ring_count;
    /* Counters. */
    long long sent, total, ok, non2xx, errors, timeouts, connect_errors;
    int64_t *lat; /* due -> response, one per response */
    int64_t *svc; /* sent -> response */
    long long nlat;
    int64_t *late; /* timer expiry -> the generator running */
    long long nlate;
    int64_t last_done_ns;
    int loud;
} P;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2))) static void complain(const char *fmt, ...)
{
    if (P.loud++ >= PACED_LOUD_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("paced: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (P.loud == PACED_LOUD_ERRORS)
        fputs("paced: (further errors are counted, not printed)\n", stderr);
}

/* ---- the idle ring -------------------------------------------------------
 * Each connection is listed at most once (in_ring), so nconns slots are
 * enough. One that went down while listed keeps its slot and is skipped or,
 * if it came back, used: the slot is only a hint, the state decides. */

static void ring_push(int i)
{
    if (P.conns[i].in_ring)
        return;
    P.conns[i].in_ring = 1;
    P.ring[(P.ring_head + P.ring_count) % P.nconns] = i;
    P.ring_count++;
}

static struct conn *ring_pop(void)
{
    while (P.ring_count > 0) {
        int i = P.ring[P.ring_head];
        P.ring_head = (P.ring_head + 1) % P.nconns;
        P.ring_count--;
        P.conns[i].in_ring = 0;
        if (P.conns[i].state == CONN_IDLE)
            return &P.conns[i];
    }
    return NULL;
}

/* ---- connections ---------------------------------------------------------- */

static int conn_index(const struct conn *c)
{
    return (int)(c - P.conns);
}

static void conn_watch(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)conn_index(c)};
    if (epoll_ctl(P.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        complain("epoll_ctl: %s", strerror(errno));
    c->events = events;
}

static void conn_idle(struct conn *c)
{
    c->state = CONN_IDLE;
    conn_watch(c, EPOLLIN);
    ring_push(conn_index(c));
}

static void conn_open(struct conn *c, int64_t now)
{
    const struct addrinfo *ai = P.addr;
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        complain("socket: %s", strerror(errno));
        P.connect_errors++;
        c->state = CONN_DOWN;
        c->retry_ns = now + PACED_RETRY_NS;
        return;
    }
    /* The request goes out in one write; do not let Nagle hold back the
     * tail of a partial one. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->events = EPOLLIN | EPOLLOUT;
    struct epoll_event ev = {.events = c->events, .data.u32 = (uint32_t)conn_index(c)};
    if (epoll_ctl(P.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        complain("epoll_ctl: %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        P.connect_errors++;
        c->state = CONN_DOWN;
        c->retry_ns = now + PACED_RETRY_NS;
        return;
    }
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        conn_idle(c);
        return;
    }
    if (errno == EINPROGRESS) {
        c->state = CONN_CONNECTING;
        return;
    }
    complain("connect: %s", strerror(errno));
    P.connect_errors++;
    close(c->fd);
    c->fd = -1;
    c->state = CONN_DOWN;
    c->retry_ns = now + PACED_RETRY_NS;
}

/* Close (closing a descriptor also removes it from epoll) and open again at
 * once: a server closing a keep-alive connection is normal. */
static void conn_reopen(struct conn *c, int64_t now)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = CONN_DOWN;
    conn_open(c, now);
}

/* The request in flight on c failed: count it once, start over. */
static void conn_fail(struct conn *c, int64_t now, const char *why)
{
    if (c->state == CONN_BUSY) {
        P.errors++;
        complain("%s", why);
    }
    conn_reopen(c, now);
}

static void conn_connected(struct conn *c, int64_t now)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        complain("connect: %s", strerror(err));
        P.connect_errors++;
        close(c->fd);
        c->fd = -1;
        c->state = CONN_DOWN;
        c->retry_ns = now + PACED_RETRY_NS;
        return;
    }
    conn_idle(c);
}

/* ---- requests ------------------------------------------------------------- */

static void conn_write(struct conn *c, int64_t now)
{
    while (c->wr_off < P.req_len) {
        ssize_t n = send(c->fd, P.req + c->wr_off, P.req_len - c->wr_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->wr_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            conn_watch(c, EPOLLIN | EPOLLOUT);
            return;
        }
        char why[128];
        snprintf(why, sizeof(why), "write: %s", n < 0 ? strerror(errno) : "wrote nothing");
        conn_fail(c, now, why);
        return;
    }
    conn_watch(c, EPOLLIN);
}

static void conn_send(struct conn *c, int64_t due, int64_t now)
{
    c->state = CONN_BUSY;
    c->due_ns = due;
    c->sent_ns = now;
    c->wr_off = 0;
    c->head_len = 0;
    c->have_head = 0;
    P.sent++;
    conn_write(c, now);
}

static void conn_done(struct conn *c, int64_t now)
{
    P.total++;
    if (c->status >= 200 && c->status < 300)
        P.ok++;
    else
        P.non2xx++;
    P.lat[P.nlat] = now - c->due_ns;
    P.svc[P.nlat] = now - c->sent_ns;
    P.nlat++;
    P.last_done_ns = now;
    /* A server may answer before it has read the whole request (an early
     * 413, say); the rest of it would then be read as the next request. */
    if (c->close_after || c->wr_off < P.req_len)
        conn_reopen(c, now);
    else
        conn_idle(c);
}

/* Does the header line [p, end) name header `name`? Then *value is its
 * value with leading blanks skipped. */
static int header_is(const char *p, const char *end, const char *name, const char **value)
{
    size_t n = strlen(name);
    if ((size_t)(end - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
        return 0;
    p += n + 1;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    *value = p;
    return 1;
}

/* Is `word` one of the comma-separated tokens in [p, end)? */
static int has_token(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *t = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - t) == n && strncasecmp(t, word, n) == 0)
            return 1;
    }
    return 0;
}

/*
 * Parse the response head in c->head if it is complete. Returns the length
 * of the head (through the blank line) once it is, 0 if more bytes are
 * needed, -1 on a protocol error (why set).
 */
static long parse_head(struct conn *c, const char **why)
{
    const char *h = c->head;
    const char *eoh = memmem(h, c->head_len, "\r\n\r\n", 4);
    if (!eoh) {
        if (c->head_len == sizeof(c->head)) {
            *why = "response head too large";
            return -1;
        }
        return 0;
    }
    const char *end = eoh + 2; /* keep the last header line's CRLF */
    /* "HTTP/1.x NNN ..." */
    if (end - h < 12 || memcmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ' || h[9] < '1' || h[9] > '5' ||
        h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9') {
        *why = "malformed status line";
        return -1;
    }
    c->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    c->close_after = h[7] == '0'; /* HTTP/1.0: close unless it says keep-alive */
    int have_length = 0;
    unsigned long long length = 0;
    const char *p = (const char *)memchr(h, '\n', (size_t)(end - h)) + 1;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        const char *v;
        if (header_is(p, line_end, "content-length", &v)) {
            char *stop;
            errno = 0;
            length = strtoull(v, &stop, 10);
            while (stop < line_end && (*stop == ' ' || *stop == '\t'))
                stop++;
            if (v == line_end || *v < '0' || *v > '9' || stop != line_end || errno != 0 ||
                (have_length && length != c->body_left)) {
                *why = "bad Content-Length";
                return -1;
            }
            have_length = 1;
            c->body_left = (size_t)length;
        } else if (header_is(p, line_end, "transfer-encoding", &v)) {
            if (!has_token(v, line_end, "identity")) {
                *why = "chunked (or other) transfer coding is not supported";
                return -1;
            }
        } else if (header_is(p, line_end, "connection", &v)) {
            if (has_token(v, line_end, "close"))
                c->close_after = 1;
            else if (has_token(v, line_end, "keep-alive"))
                c->close_after = 0;
        }
        p = eol + 1;
    }
    c->until_close = 0;
    if (c->status < 200 || c->status == 204 || c->status == 304) {
        c->body_left = 0;
    } else if (!have_length) {
        c->until_close = 1;
        c->close_after = 1;
        c->body_left = 0;
    }
    return eoh + 4 - h;
}

/* n more body bytes arrived. Returns 1 when the response is complete. */
static int body_bytes(struct conn *c, size_t n, const char **why)
{
    if (c->until_close)
        return 0;
    if (n > c->body_left) {
        /* No pipelining: nothing may follow the response. */
        *why = "bytes after the end of the response";
        return -1;
    }
    c->body_left -= n;
    return c->body_left == 0;
}

/* The peer closed its end (read returned 0). */
static void conn_eof(struct conn *c, int64_t now)
{
    if (c->state == CONN_BUSY && c->have_head && c->until_close) {
        conn_done(c, now); /* reopens: close_after is set */
        return;
    }
    if (c->state == CONN_BUSY)
        conn_fail(c, now, "connection closed before the response was complete");
    else
        conn_reopen(c, now); /* an idle keep-alive connection timed out */
}

static void conn_read(struct conn *c, int64_t now)
{
    static char scratch[65536];
    for (;;) {
        char *dst = c->have_head ? scratch : c->head + c->head_len;
        size_t room = c->have_head ? sizeof(scratch) : sizeof(c->head) - c->head_len;
        ssize_t n = read(c->fd, dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            char why[128];
            snprintf(why, sizeof(why), "read: %s", strerror(errno));
            conn_fail(c, now, why);
            return;
        }
        if (n == 0) {
            conn_eof(c, now);
            return;
        }
        if (c->state != CONN_BUSY) {
            complain("%zd bytes from the server with no request in flight", n);
            conn_reopen(c, now);
            return;
        }
        const char *why = NULL;
        int done;
        if (c->have_head) {
            done = body_bytes(c, (size_t)n, &why);
        } else {
            c->head_len += (size_t)n;
            long head;
            /* An interim 1xx is followed by the real response: drop it and
             * parse what is left. */
            while ((head = parse_head(c, &why)) > 0 && c->status < 200) {
                memmove(c->head, c->head + head, c->head_len - (size_t)head);
                c->head_len -= (size_t)head;
            }
            if (head == 0)
                continue;
            if (head < 0) {
                done = -1;
            } else {
                c->have_head = 1;
                done = body_bytes(c, c->head_len - (size_t)head, &why);
            }
        }
        if (done < 0) {
            char msg[160];
            snprintf(msg, sizeof(msg), "protocol error: %s", why);
            conn_fail(c, now, msg);
            return;
        }
        if (done) {
            conn_done(c, now);
            return;
        }
    }
}

static void conn_event(struct conn *c, uint32_t events, int64_t now)
{
    if (c->state == CONN_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_connected(c, now);
        return;
    }
    if (c->state == CONN_BUSY && (events & EPOLLOUT) && c->wr_off < P.req_len)
        conn_write(c, now);
    /* A failed write reopens the connection; then there is nothing to read. */
    if (c->state == CONN_BUSY || c->state == CONN_IDLE) {
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            conn_read(c, now);
    }
}

/* ---- set-up --------------------------------------------------------------- */

static int parse_url(const char *url, char **host, char **port, char **path)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *hend = slash ? slash : h + strlen(h);
    const char *colon = NULL;
    if (*h == '[') { /* [v6]:port */
        const char *rb = memchr(h, ']', (size_t)(hend - h));
        if (!rb)
            return -1;
        *host = strndup(h + 1, (size_t)(rb - h - 1));
        if (rb + 1 < hend && rb[1] == ':')
            colon = rb + 1;
        else if (rb + 1 != hend)
            return -1;
    } else {
        colon = memchr(h, ':', (size_t)(hend - h));
        *host = strndup(h, (size_t)((colon ? colon : hend) - h));
    }
    *port = colon ? strndup(colon + 1, (size_t)(hend - colon - 1)) : strdup("80");
    *path = strdup(slash ? slash : "/");
    return **host && **port ? 0 : -1;
}

/* The body bench/count.lua sends, so both tools load servers alike. */
static char *json_body(long size)
{
    static const char head[] = "{\"source\":\"sluice-bench\",\"event\":\"count\",\"pad\":\"";
    static const char tail[] = "\"}";
    long pad = size - (long)(sizeof(head) - 1) - (long)(sizeof(tail) - 1);
    if (pad < 0)
        return NULL;
    char *b = malloc((size_t)size + 1);
    if (!b)
        return NULL;
    memcpy(b, head, sizeof(head) - 1);
    memset(b + sizeof(head) - 1, 'x', (size_t)pad);
    memcpy(b + sizeof(head) - 1 + pad, tail, sizeof(tail));
    return b;
}

static int parse_num(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && *end == 's' && end[1] == '\0')
        end++; /* "10s", as run.sh and wrk write durations */
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in ms. */
static double pct_ms(const int64_t *v, long long n, double p)
{
    if (n == 0)
        return 0;
    long long rank = (long long)((double)n * p / 100.0 + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / NS_PER_MS;
}

static void usage(void)
{
    fputs("usage: paced [-r RATE] [-c CONNS] [-d SECONDS] [-b BYTES] [-t SECONDS] "
          "http://HOST[:PORT]/PATH\n",
          stderr);
}

int main(int argc, char **argv)
{
    double rate = 2000, duration = 10, bytes = 1024, conns = 32, timeout = 30;
    int opt;

    while ((opt = getopt(argc, argv, "r:c:d:b:t:h")) != -1) {
        double *dst;
        double min = 1, max = 1e9;
        switch (opt) {
        case 'r':
            dst = &rate;
            min = 0.001;
            max = 10e6;
            break;
        case 'c':
            dst = &conns;
            max = 10000;
            break;
        case 'd':
            dst = &duration;
            min = 0.001;
            max = 86400;
            break;
        case 'b':
            dst = &bytes;
            min = 64;
            max = 64 << 20;
            break;
        case 't':
            dst = &timeout;
            min = 0.001;
            max = 86400;
            break;
        default:
            usage();
            return 2;
        }
        if (parse_num(optarg, min, max, dst) < 0) {
            fprintf(stderr, "paced: invalid -%c '%s'\n", opt, optarg);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage();
        return 2;
    }
    char *host, *port, *path;
    if (parse_url(argv[optind], &host, &port, &path) < 0) {
        fprintf(stderr, "paced: '%s' is not an http://HOST[:PORT]/PATH URL\n", argv[optind]);
        return 2;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(host, port, &hints, &P.addr);
    if (gai != 0) {
        fprintf(stderr, "paced: %s:%s: %s\n", host, port, gai_strerror(gai));
        return 2;
    }

    char *body = json_body((long)bytes);
    if (!body) {
        fprintf(stderr, "paced: body of %.0f bytes is too small for the JSON document\n", bytes);
        return 2;
    }
    /* An IPv6 literal goes back into brackets in the Host header. */
    const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
    int hlen = snprintf(NULL, 0,
                        "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %ld\r\n\r\n",
                        path, lb, host, rb, port, (long)bytes);
    P.req_len = (size_t)hlen + (size_t)bytes;
    P.req = malloc(P.req_len + 1);
    if (!P.req)
        return 1;
    snprintf(P.req, (size_t)hlen + 1,
             "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
             "Content-Type: application/json\r\nContent-Length: %ld\r\n\r\n",
             path, lb, host, rb, port, (long)bytes);
    memcpy(P.req + hlen, body, (size_t)bytes);
    free(body);

    /* The whole schedule is known: one latency slot per scheduled request. */
    double sched = rate * duration;
    if (sched < 1 || sched > 100e6) {
        fprintf(stderr, "paced: rate x duration = %.0f requests; want 1 to 100 million\n", sched);
        return 2;
    }
    long long scheduled = (long long)sched;
    P.lat = malloc((size_t)scheduled * sizeof(*P.lat));
    P.svc = malloc((size_t)scheduled * sizeof(*P.svc));
    P.late = malloc((size_t)scheduled * sizeof(*P.late)); /* one per due time at most */
    P.nconns = (int)conns;
    P.conns = calloc((size_t)P.nconns, sizeof(*P.conns));
    P.ring = calloc((size_t)P.nconns, sizeof(*P.ring));
    if (!P.lat || !P.svc || !P.late || !P.conns || !P.ring) {
        fputs("paced: out of memory\n", stderr);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    P.ep = epoll_create1(EPOLL_CLOEXEC);
    P.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (P.ep < 0 || P.tfd < 0) {
        perror("paced: epoll/timerfd");
        return 1;
    }
    /* Connections are 0 .. nconns-1 in data.u32; the timer is one past. */
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = (uint32_t)P.nconns};
    epoll_ctl(P.ep, EPOLL_CTL_ADD, P.tfd, &tev);

    int64_t tnow = now_ns();
    for (int i = 0; i < P.nconns; i++) {
        P.conns[i].fd = -1;
        conn_open(&P.conns[i], tnow);
    }

    /* Open every connection before the clock starts, so connection set-up
     * is not charged to the first requests. A few that fail are retried
     * during the run; none at all means there is no server. */
    struct epoll_event evs[256];
    int64_t connect_deadline = tnow + 5 * NS_PER_S;
    for (;;) {
        int idle = 0, pending = 0;
        for (int i = 0; i < P.nconns; i++) {
            idle += P.conns[i].state == CONN_IDLE;
            pending += P.conns[i].state == CONN_CONNECTING;
        }
        if (pending == 0 || now_ns() >= connect_deadline) {
            if (idle == 0) {
                fprintf(stderr, "paced: cannot connect to %s:%s\n", host, port);
                return 1;
            }
            break;
        }
        int n = epoll_wait(P.ep, evs, 256, 100);
        for (int k = 0; k < n; k++)
            if (evs[k].data.u32 < (uint32_t)P.nconns)
                conn_event(&P.conns[evs[k].data.u32], evs[k].events, now_ns());
    }

    const int64_t t0 = now_ns();
    const int64_t timeout_ns = (int64_t)(timeout * NS_PER_S);
    const int64_t deadline = t0 + (int64_t)(duration * NS_PER_S) + timeout_ns;
    long long next = 0; /* the next request to send */
    int64_t armed = -1;

    for (;;) {
        int64_t now = now_ns();

        /* Send everything that is due, oldest first, while a connection
         * is free; the rest stays due and goes out as connections free up. */
        while (next < scheduled) {
            int64_t due = t0 + (int64_t)((double)next * NS_PER_S / rate);
            if (due > now)
                break;
            struct conn *c = ring_pop();
            if (!c)
                break;
            conn_send(c, due, now);
            next++;
        }

        int busy = 0;
        for (int i = 0; i < P.nconns; i++) {
            struct conn *c = &P.conns[i];
            if (c->state == CONN_BUSY && now - c->sent_ns >= timeout_ns) {
                P.timeouts++;
                complain("request timed out after %.3f s", timeout);
                conn_reopen(c, now);
            } else if (c->state == CONN_DOWN && now >= c->retry_ns) {
                conn_open(c, now);
            }
            busy += c->state == CONN_BUSY;
        }
        if ((next >= scheduled && busy == 0) || now >= deadline)
            break;

        /* Wake at the next due time, if it is ahead; a due request that
         * waits for a connection is sent when one frees up instead. */
        int64_t want = 0;
        if (next < scheduled) {
            int64_t due = t0 + (int64_t)((double)next * NS_PER_S / rate);
            if (due > now)
                want = due;
        }
        if (want != armed) {
            struct itimerspec its = {0};
            its.it_value.tv_sec = want / NS_PER_S;
            its.it_value.tv_nsec = want % NS_PER_S;
            timerfd_settime(P.tfd, TFD_TIMER_ABSTIME, &its, NULL);
            armed = want;
        }

        int n = epoll_wait(P.ep, evs, 256, PACED_TICK_MS);
        if (n < 0 && errno != EINTR) {
            perror("paced: epoll_wait");
            return 1;
        }
        now = now_ns();
        for (int k = 0; k < n; k++) {
            uint32_t i = evs[k].data.u32;
            if (i == (uint32_t)P.nconns) {
                /* Re-arming clears a pending expiry, so a read that finds
                 * one is an expiry of the time now armed. */
                uint64_t ticks;
                if (read(P.tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks)) {
                    if (armed > 0 && P.nlate < scheduled)
                        P.late[P.nlate++] = now - armed;
                    armed = -1; /* fired: a one-shot timer is disarmed */
                } else if (errno != EAGAIN) {
                    perror("paced: timerfd");
                }
            } else {
                conn_event(&P.conns[i], evs[k].events, now);
            }
        }
    }

    /* Still in flight at the deadline: as good as timed out. */
    long long unanswered = 0;
    for (int i = 0; i < P.nconns; i++)
        unanswered += P.conns[i].state == CONN_BUSY;
    P.timeouts += unanswered;

    /* Over the schedule, or until the last response if that came later:
     * a server that falls behind finishes late and its rate shows it. */
    int64_t end = t0 + (int64_t)((double)scheduled * NS_PER_S / rate);
    if (P.last_done_ns > end)
        end = P.last_done_ns;
    double secs = (double)(end - t0) / NS_PER_S;

    qsort(P.lat, (size_t)P.nlat, sizeof(*P.lat), cmp_i64);
    qsort(P.svc, (size_t)P.nlat, sizeof(*P.svc), cmp_i64);
    qsort(P.late, (size_t)P.nlate, sizeof(*P.late), cmp_i64);
    printf("RESULT rate=%g conns=%d scheduled=%lld sent=%lld total=%lld ok=%lld non2xx=%lld "
           "errors=%lld timeouts=%lld unsent=%lld connect_errors=%lld rps=%.1f ok_rps=%.1f "
           "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f "
           "svc_p50_ms=%.3f svc_p99_ms=%.3f svc_max_ms=%.3f late_p99_ms=%.3f late_max_ms=%.3f "
           "duration_s=%.3f\n",
           rate, P.nconns, scheduled, P.sent, P.total, P.ok, P.non2xx, P.errors, P.timeouts,
           scheduled - next, P.connect_errors, (double)P.total / secs, (double)P.ok / secs,
           pct_ms(P.lat, P.nlat, 50), pct_ms(P.lat, P.nlat, 90), pct_ms(P.lat, P.nlat, 99),
           pct_ms(P.lat, P.nlat, 99.9), pct_ms(P.lat, P.nlat, 100), pct_ms(P.svc, P.nlat, 50),
           pct_ms(P.svc, P.nlat, 99), pct_ms(P.svc, P.nlat, 100), pct_ms(P.late, P.nlate, 99),
           pct_ms(P.late, P.nlate, 100), secs);
    fflush(stdout);

    /* Tidy up, so that a sanitizer build reports only real leaks. */
    for (int i = 0; i < P.nconns; i++)
        if (P.conns[i].fd >= 0)
            close(P.conns[i].fd);
    close(P.tfd);
    close(P.ep);
    free(P.conns);
    free(P.ring);
    free(P.lat);
    free(P.svc);
    free(P.late);
    free(P.req);
    freeaddrinfo(P.addr);
    free(host);
    free(port);
    free(path);
    return 0;
}
