/*
 * framing.c - request framing checks and head/body deadlines (see framing.h).
 *
 * libmicrohttpd 0.9.75 frames several ambiguous requests by its own rules
 * and keeps the connection open: the first of two Content-Length values,
 * chunked over Content-Length, a "Transfer-Encoding " name (space before
 * the colon) taken as some other header, a value with a NUL cut at the NUL,
 * a coding it does not know read until the peer closes. A proxy in front
 * may frame the same bytes differently, and the rest of the body becomes a
 * second request. sluice refuses every such head itself, with the
 * connection closed.
 *
 * The library's only clock is an idle timeout that every byte restarts, so
 * a client sending one byte every few seconds holds its connection for as
 * long as it likes. Here each connection is on a list with the deadline of
 * its current phase; a sweeper thread shuts down the socket of any that
 * passed it. shutdown(2), not close: the descriptor stays libmicrohttpd's,
 * which sees the end of the stream and cleans up as for any closed peer.
 * framing_conn_close runs before libmicrohttpd closes the descriptor, under
 * the list lock, so a descriptor number reused later is never touched.
 */
#include "framing.h"

#include "log.h"
#include "units.h"
#include "xalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ---- checks ---- */

static int is_tchar(unsigned char ch)
{
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
        return 1;
    return ch && strchr("!#$%&'*+-.^_`|~", ch);
}

static int name_is(const framing_field *f, const char *name)
{
    return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

__attribute__((format(printf, 4, 5))) static int fail(framing_verdict *v, int status,
                                                      const char *code, const char *fmt, ...)
{
    v->status = status;
    v->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof(v->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* Content-Length = 1*DIGIT (RFC 9110 8.6): no sign, no list, no spaces. */
static int parse_length(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *out = x;
    return 0;
}

/* The next element of a comma list (empty elements skipped), trimmed. */
static int next_element(const char **p, const char *end, const char **tok, size_t *len)
{
    while (*p < end) {
        const char *s = *p;
        while (s < end && (*s == ' ' || *s == '\t' || *s == ','))
            s++;
        const char *e = s;
        while (e < end && *e != ',')
            e++;
        *p = e;
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > s) {
            *tok = s;
            *len = (size_t)(t - s);
            return 1;
        }
    }
    return 0;
}

int framing_check(const framing_field *f, size_t n, const char *version, framing_verdict *v)
{
    memset(v, 0, sizeof(*v));
    /* Set first, for refusals too: the caller decides from it whether the
     * body can be read to its end before the answer (see http.c). */
    size_t n_te = 0, n_cl = 0;
    const framing_field *te_field = NULL;
    for (size_t i = 0; i < n; i++) {
        if (name_is(&f[i], "transfer-encoding")) {
            n_te++;
            te_field = &f[i];
        } else if (name_is(&f[i], "content-length")) {
            n_cl++;
        }
    }
    v->has_body = n_te || n_cl;
    v->delimited = n_te == 0 || (n_te == 1 && te_field->value_len == 7 &&
                                 strncasecmp(te_field->value, "chunked", 7) == 0);
    if (n > FRAMING_MAX_FIELDS) {
        v->status = 431;
        v->code = "headers_too_large";
        snprintf(v->message, sizeof(v->message), "more than %d header fields", FRAMING_MAX_FIELDS);
        return -1;
    }
    const framing_field *cl = NULL, *host = NULL;
    uint64_t length = 0;
    int te = 0, chunked_last = 0, chunked_seen = 0, other_coding = 0;
    char what[64];
    for (size_t i = 0; i < n; i++) {
        const framing_field *h = &f[i];
        snprintf(what, sizeof(what), "%.*s", h->name_len > 40 ? 40 : (int)h->name_len, h->name);
        for (size_t k = 0; k < sizeof(what) && what[k]; k++)
            if ((unsigned char)what[k] < 0x20 || (unsigned char)what[k] >= 0x7f)
                what[k] = '?';
        /* A space before the colon, a folded line glued to a name, a
         * separator: not a field-name token (RFC 9112 5.1). */
        if (h->folded)
            return fail(v, 400, "bad_request", "header %s is folded over two lines", what);
        if (h->bad_ending)
            return fail(v, 400, "bad_request",
                        "header %s is not ended by CRLF, or has a NUL in its value", what);
        if (h->name_len == 0 || strlen(h->name) != h->name_len)
            return fail(v, 400, "bad_request", "%s", "malformed header field name");
        for (size_t k = 0; k < h->name_len; k++)
            if (!is_tchar((unsigned char)h->name[k]))
                return fail(v, 400, "bad_request", "malformed header field name \"%s\"", what);
        /* A NUL (the value is longer than its string), a bare CR or any
         * other control but HTAB (RFC 9110 5.5, RFC 9112 2.2). */
        if (strlen(h->value) != h->value_len)
            return fail(v, 400, "bad_request", "a NUL in the value of header %s", what);
        for (size_t k = 0; k < h->value_len; k++) {
            unsigned char ch = (unsigned char)h->value[k];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return fail(v, 400, "bad_request", "a control character in header %s", what);
        }
        if (name_is(h, "content-length")) {
            uint64_t x;
            if (parse_length(h->value, h->value_len, &x) < 0)
                return fail(v, 400, "bad_request", "%s", "Content-Length is not a number");
            if (cl && x != length)
                return fail(v, 400, "bad_request", "%s", "two different Content-Length values");
            cl = h;
            length = x;
        } else if (name_is(h, "transfer-encoding")) {
            te = 1;
            const char *p = h->value, *end = h->value + h->value_len, *tok;
            size_t len;
            while (next_element(&p, end, &tok, &len)) {
                if (chunked_last)
                    /* chunked applied twice, or a coding after it */
                    chunked_seen = 2;
                chunked_last = len == 7 && strncasecmp(tok, "chunked", 7) == 0;
                if (chunked_last)
                    chunked_seen++;
                else
                    other_coding = 1;
            }
        } else if (name_is(h, "host")) {
            if (host)
                return fail(v, 400, "bad_request", "%s", "more than one Host header");
            host = h;
        }
    }
    if (te && cl)
        return fail(v, 400, "bad_request", "%s", "both Content-Length and Transfer-Encoding");
    if (te && (!chunked_last || chunked_seen != 1))
        return fail(v, 400, "bad_request", "%s",
                    "Transfer-Encoding must end with chunked, applied once");
    if (te && other_coding)
        return fail(v, 501, "not_implemented", "%s",
                    "the only transfer coding accepted is chunked");
    /* libmicrohttpd 0.9.75 frames a body as chunked only when the first
     * Transfer-Encoding field is exactly "chunked"; the same list spelled
     * otherwise ("chunked ", ",chunked", an empty field before it) it reads
     * to the end of the connection, while a proxy in front reads chunks. */
    if (te && !v->delimited)
        return fail(v, 400, "bad_request", "%s",
                    "Transfer-Encoding must be exactly \"chunked\", in one field");
    /* RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding is faulty
     * framing, whatever else it says. */
    if (te && version && strcmp(version, "HTTP/1.1") != 0)
        return fail(v, 400, "bad_request", "%s", "Transfer-Encoding in an HTTP/1.0 request");
    if (!host && version && strcmp(version, "HTTP/1.1") == 0)
        return fail(v, 400, "bad_request", "%s", "an HTTP/1.1 request without Host");
    v->has_body = te || length > 0;
    return 0;
}

const char *framing_origin_form(const char *target)
{
    const char *p = NULL;
    if (strncasecmp(target, "http://", 7) == 0)
        p = target + 7;
    else if (strncasecmp(target, "https://", 8) == 0)
        p = target + 8;
    if (!p)
        return target;
    /* The authority ends at the path, the query, or the end. */
    while (*p && *p != '/' && *p != '?')
        p++;
    if (*p == '/')
        return p;
    /* "http://host" or "http://host?q": the path is "/" (RFC 9112 3.2.1);
     * the caller gets "" (or "?q") and treats an empty path as "/". */
    return p;
}

/* ---- deadlines ---- */

/* FC_LINGER: the 408 is sent and the write side shut; the client gets
 * LINGER_MS to read it while what it still sends is read and dropped.
 * Closing at once would reset the connection whenever a byte arrives
 * after the close, and a reset discards the 408 unread at the client
 * (nginx's lingering_close does the same for the same reason). */
enum { FC_WAITING, FC_HEAD, FC_BODY, FC_WORKING, FC_LINGER };
#define LINGER_MS 2000

struct framing_conn {
    framing_conn *prev, *next;
    int fd;
    int phase;
    uint64_t deadline; /* monotonic ms; 0: none */
    char request_id[40];
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    framing_conn *head;
    uint64_t head_ms, body_ms;
    pthread_t thread;
    int running, stop;
} fr = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* The answer to a request that missed its deadline: written straight to
 * the socket, since libmicrohttpd has no response to queue before the head
 * is complete (and would restart its clock for the body). Only while
 * nothing else writes: http.c ends the deadline as soon as it queues an
 * answer. (A head libmicrohttpd refuses itself, an HTML 431 or a bad
 * Content-Length, is the one answer the sweeper does not hear of; a client
 * that does not read it until head_timeout may see the two mixed.) */
static void send_timeout(const framing_conn *fc)
{
    char body[256], msg[512];
    int bn = snprintf(body, sizeof(body),
                      "{\"request\":{\"id\":\"%s\"},\"data\":null,\"error\":{\"code\":"
                      "\"request_timeout\",\"message\":\"the request %s was not complete "
                      "in time\"}}\n",
                      fc->request_id, fc->phase == FC_BODY ? "body" : "head");
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                     "Cache-Control: no-store\r\nX-Request-Id: %s\r\nConnection: close\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     fc->request_id, bn, body);
    if (n > 0 && (size_t)n < sizeof(msg))
        (void)!send(fc->fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Drop what the client sent and libmicrohttpd has not read (bounded). */
static void drain(int fd)
{
    char buf[4096];
    for (int i = 0; i < 16; i++)
        if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
            break;
}

static void *sweep_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fr.mu);
    while (!fr.stop) {
        uint64_t now = units_mono_ms();
        for (framing_conn *fc = fr.head; fc; fc = fc->next) {
            if (!fc->deadline || now < fc->deadline)
                continue;
            if (fc->phase == FC_HEAD || fc->phase == FC_BODY) {
                log_msg(LOG_DEBUG, fc->request_id[0] ? fc->request_id : NULL,
                        "http: answering 408 to a request whose %s missed its deadline",
                        fc->phase == FC_BODY ? "body" : "head");
                send_timeout(fc);
                drain(fc->fd);
                shutdown(fc->fd, SHUT_WR);
                fc->phase = FC_LINGER;
                fc->deadline = now + LINGER_MS;
                continue;
            }
            shutdown(fc->fd, SHUT_RDWR);
            fc->deadline = 0;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&fr.cv, &fr.mu, &ts);
    }
    pthread_mutex_unlock(&fr.mu);
    return NULL;
}

int framing_start(uint64_t head_ms, uint64_t body_ms)
{
    pthread_mutex_lock(&fr.mu);
    fr.head_ms = head_ms;
    fr.body_ms = body_ms;
    fr.stop = 0;
    pthread_mutex_unlock(&fr.mu);
    if (fr.running)
        return 0;
    if (pthread_create(&fr.thread, NULL, sweep_main, NULL) != 0)
        return -1;
    fr.running = 1;
    return 0;
}

void framing_stop(void)
{
    if (!fr.running)
        return;
    pthread_mutex_lock(&fr.mu);
    fr.stop = 1;
    pthread_cond_signal(&fr.cv);
    pthread_mutex_unlock(&fr.mu);
    pthread_join(fr.thread, NULL);
    fr.running = 0;
}

/* A lingering connection stays so until the sweeper ends it: its client
 * was told 408, so nothing it sends later may start work. */
static int set_phase(framing_conn *fc, int phase, uint64_t budget)
{
    if (!fc)
        return 0;
    int r = 0;
    pthread_mutex_lock(&fr.mu);
    if (fc->phase == FC_LINGER) {
        r = -1;
    } else {
        fc->phase = phase;
        fc->deadline = budget ? units_mono_ms() + budget : 0;
    }
    pthread_mutex_unlock(&fr.mu);
    return r;
}

framing_conn *framing_conn_open(int fd)
{
    framing_conn *fc = xcalloc(1, sizeof(*fc));
    fc->fd = fd;
    fc->phase = FC_WAITING;
    pthread_mutex_lock(&fr.mu);
    fc->deadline = fr.head_ms ? units_mono_ms() + fr.head_ms : 0;
    fc->next = fr.head;
    if (fr.head)
        fr.head->prev = fc;
    fr.head = fc;
    pthread_mutex_unlock(&fr.mu);
    return fc;
}

void framing_conn_close(framing_conn *fc)
{
    if (!fc)
        return;
    pthread_mutex_lock(&fr.mu);
    if (fc->prev)
        fc->prev->next = fc->next;
    else
        fr.head = fc->next;
    if (fc->next)
        fc->next->prev = fc->prev;
    pthread_mutex_unlock(&fr.mu);
    free(fc);
}

void framing_conn_begun(framing_conn *fc, const char *request_id)
{
    if (!fc)
        return;
    /* The head's clock keeps running: it started with the connection or
     * with the end of the previous answer, not with the request line. */
    pthread_mutex_lock(&fr.mu);
    if (fc->phase == FC_WAITING)
        fc->phase = FC_HEAD;
    snprintf(fc->request_id, sizeof(fc->request_id), "%s", request_id);
    pthread_mutex_unlock(&fr.mu);
}

int framing_conn_head_done(framing_conn *fc)
{
    return set_phase(fc, FC_BODY, fr.body_ms);
}

int framing_conn_body_done(framing_conn *fc)
{
    return set_phase(fc, FC_WORKING, 0);
}

void framing_conn_idle(framing_conn *fc)
{
    (void)set_phase(fc, FC_WAITING, fr.head_ms);
}

void framing_conn_drain(framing_conn *fc)
{
    if (fc)
        drain(fc->fd);
}
