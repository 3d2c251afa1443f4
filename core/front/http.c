/*
 * http.c - libmicrohttpd glue.
 *
 * One request goes through three phases of the access handler:
 *   headers  route, method, Content-Length and Content-Type checks; errors
 *            are answered before a byte of the body is read;
 *   body     chunks are appended up to the trigger's max_body; one byte
 *            more and a 413 is queued at once (MHD then discards the rest);
 *   done     the event, then admission (intake.c) while the connection is
 *            parked; async answers once stored, sync stays suspended until
 *            every execution of the request is final or the sync timeout
 *            passes (syncwait.c).
 * What a trigger asks of its request (the checks of its head, the event,
 * admission) is webhook.c's; answers are written by reply.c. The access
 * handler never runs plugin code and never blocks.
 */
#include "http.h"

#include "auth.h"
#include "event.h"
#include "framing.h"
#include "log.h"
#include "reply.h"
#include "prematch.h"
#include "webhook.h"
#include "units.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTEN 16

static struct {
    pthread_mutex_t mu;
    generation *gen;
    struct MHD_Daemon *daemons[MAX_LISTEN];
    int n_daemons;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- configuration swap ---- */

void http_set_generation(generation *gen)
{
    generation_ref(gen);
    prematch_sync_tokens(
        generation_config(gen)); /* capability URLs exist before their first request */
    pthread_mutex_lock(&srv.mu);
    generation *old = srv.gen;
    srv.gen = gen;
    pthread_mutex_unlock(&srv.mu);
    generation_unref(old);
}

generation *http_get_generation(void)
{
    pthread_mutex_lock(&srv.mu);
    generation *gen = generation_ref(srv.gen);
    pthread_mutex_unlock(&srv.mu);
    return gen;
}

/* ---- per-connection state ---- */

/*
 * libmicrohttpd 0.9.75 panics (abort) when MHD_stop_daemon finds a
 * connection still suspended. A request that passed engine_reserve just
 * before draining began may reach the store or its wait only now: from
 * here such a request is refused (intake_submit), every batch already
 * handed to the store is waited for (its on_stored resumes the connection
 * or hands it to its wait), and then every wait is expired, so each
 * suspension left has its resume requested. A wait suspended later (the
 * handler's after_stored) finds itself expired and resumes at once. Runs
 * again right before the daemons stop.
 */
void http_release_waits(void)
{
    intake_close();
    syncwait_expire_all();
}

static void conn_state_free(conn_state *cs)
{
    event_request_free(&cs->rq);
    route_match_clear(&cs->match);
    for (size_t i = 0; i < cs->n_execs; i++)
        exec_unref(cs->execs[i]);
    free(cs->execs);
    syncwait_free(cs->wait);
    api_park_free(cs->park);
    generation_unref(cs->gen);
    pthread_mutex_destroy(&cs->park_mu);
    free(cs);
}

static framing_conn *conn_framing(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Every connection is on the deadline sweeper's list while it is open. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? framing_conn_open(ci->connect_fd) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        framing_conn_close(*socket_context);
        *socket_context = NULL;
    }
}

/* The URI log callback runs first and sees the raw URI, query included:
 * the request state is born here so the query can be parsed strictly. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    conn_state *cs = xcalloc(1, sizeof(*cs));
    pthread_mutex_init(&cs->park_mu, NULL);
    units_uuidv7(cs->rq.request_id);
    cs->rq.received_ms = units_now_ms();
    framing_conn_begun(conn_framing(c), cs->rq.request_id);
    /* libmicrohttpd hands an absolute-form target over as it came. */
    uri = framing_origin_form(uri);
    const char *q = strchr(uri, '?');
    cs->rq.path = q ? xstrndup(uri, (size_t)(q - uri)) : xstrdup(uri);
    if (!cs->rq.path[0]) {
        free(cs->rq.path);
        cs->rq.path = xstrdup("/");
    }
    cs->rq.query = q ? xstrdup(q + 1) : NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, cs->rq.remote_addr,
                      sizeof(cs->rq.remote_addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, cs->rq.remote_addr,
                      sizeof(cs->rq.remote_addr));
    }
    return cs;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    if (*con_cls)
        conn_state_free(*con_cls);
    *con_cls = NULL;
    /* Answered: a kept-alive connection has head_timeout for its next head. */
    framing_conn_idle(conn_framing(c));
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    http_request *rq = cls;
    if (rq->n_headers % 16 == 0)
        rq->headers = xrealloc(rq->headers, (rq->n_headers + 16) * sizeof(kv));
    char *name = xstrdup(key);
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    rq->headers[rq->n_headers].name = name;
    rq->headers[rq->n_headers].value = xstrdup(value ? value : "");
    rq->n_headers++;
    return MHD_YES;
}

static int peer_is_loopback(const http_request *rq)
{
    return strncmp(rq->remote_addr, "127.", 4) == 0 || strcmp(rq->remote_addr, "::1") == 0 ||
           strncmp(rq->remote_addr, "::ffff:127.", 11) == 0;
}

static enum MHD_Result start_request(struct MHD_Connection *c, conn_state *cs, const char *method)
{
    http_request *rq = &cs->rq;
    rq->method = method;
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, rq);
    event_fold_headers(rq); /* one value per name, whoever reads it */
    char err[512];
    if (event_parse_query(rq, err, sizeof(err)) < 0)
        return (enum MHD_Result)reply_error(c, rq->request_id, 400, "bad_request", "%s", err);

    cs->gen = http_get_generation();
    cs->cfg = generation_config(cs->gen);
    auth_client_addr(rq, cs->cfg->server.trusted_proxies, rq->client_addr, sizeof(rq->client_addr));
    /* Size limits (414/431 in JSON) and capability URLs (/t/TOKEN) before routing. */
    gate_verdict pv = {0};
    int pre = prematch_route(cs->cfg, rq, &cs->match, &pv);
    if (pre < 0)
        return (enum MHD_Result)reply_json(c, rq->request_id, (unsigned)pv.status, NULL, pv.code,
                                           pv.message, NULL);
    int result;
    if (!pre && api_handle(c, rq, cs->gen, peer_is_loopback(rq), &result, &cs->park)) {
        cs->phase = cs->park ? PH_API : PH_DONE;
        return (enum MHD_Result)result;
    }

    return webhook_route(c, cs, method, pre, &pv);
}

static enum MHD_Result reply_refused(struct MHD_Connection *c, conn_state *cs,
                                     const framing_verdict *fv)
{
    const char *hdrs[] = {"Connection", "close", NULL};
    framing_conn_drain(conn_framing(c));
    return (enum MHD_Result)reply_json(c, cs->rq.request_id, (unsigned)fv->status, NULL, fv->code,
                                       fv->message, hdrs);
}

/* Every header entry as received; one past the limit is enough to refuse. */
typedef struct field_list {
    framing_field f[FRAMING_MAX_FIELDS + 1];
    size_t n;
} field_list;

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    field_list *l = cls;
    if (l->n > FRAMING_MAX_FIELDS)
        return MHD_NO;
    l->f[l->n++] = (framing_field){key, key_size, value ? value : "", value ? value_size : 0, 0, 0};
    return MHD_YES;
}

/*
 * What libmicrohttpd 0.9.75 hides from the field list, read from where it
 * left the fields. It parses the head in place: a field's value follows its
 * name in the read buffer (name, ':', spaces, value), and the next line
 * starts right after the value's CRLF, which it overwrites with two NULs.
 * Otherwise the library changed the line:
 *   - an obs-fold is glued to the *name* of the field before it, in a copy
 *     made elsewhere ("Transfer-Encoding: chunked\r\n identity" arrives as
 *     the field "Transfer-Encodingidentity: chunked"): the name no longer
 *     precedes its value;
 *   - a bare LF leaves one byte between a value and the next name, a NUL
 *     cuts the value short (the rest is silently dropped), leaving more.
 * Only addresses are compared, nothing outside the fields is read. The
 * request line (its version string) is measured against the first field;
 * the last field has no next line to measure against. Other versions parse
 * differently (0.9.76 and later refuse folding and bare LF themselves), so
 * this runs only on 0.9.75.
 */
static int mark_mangled_lines(const char *version, framing_field *f, size_t n)
{
    /* Every libmicrohttpd thread may be the first here: each works out the
     * same answer, and the atomic makes storing it twice no race. */
    static atomic_int checked = -1;
    int is_0975 = atomic_load_explicit(&checked, memory_order_relaxed);
    if (is_0975 < 0) {
        is_0975 = strcmp(MHD_get_version(), "0.9.75") == 0;
        atomic_store_explicit(&checked, is_0975, memory_order_relaxed);
    }
    if (!is_0975)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t name = (uintptr_t)f[i].name, value = (uintptr_t)f[i].value;
        f[i].folded = value < name + f[i].name_len + 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (f[i].folded || f[i + 1].folded)
            continue;
        uintptr_t end = (uintptr_t)f[i].value + f[i].value_len;
        uintptr_t next = (uintptr_t)f[i + 1].name;
        f[i].bad_ending = next != end + 2;
    }
    /* The request line ends the same way, before the first field. */
    return n && !f[0].folded && version &&
           (uintptr_t)f[0].name != (uintptr_t)version + strlen(version) + 2;
}

/*
 * The head is complete: refuse what could be framed two ways before
 * anything else looks at it, and close the connection, since whatever
 * follows on it cannot be trusted to be a request (RFC 9112 6.3).
 */
static int check_framing(struct MHD_Connection *c, conn_state *cs, const char *version,
                         framing_verdict *fv)
{
    field_list fields = {.n = 0};
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, collect_field, &fields);
    int bad_line = mark_mangled_lines(version, fields.f, fields.n);
    if (framing_check(fields.f, fields.n, version, fv) == 0 && !bad_line)
        return 0;
    if (!fv->status) {
        fv->status = 400;
        fv->code = "bad_request";
        snprintf(fv->message, sizeof(fv->message), "the request line is not ended by CRLF");
    }
    /* Not the target: this is before routing has taken path keys and
     * capability tokens out of it. */
    log_msg(LOG_INFO, cs->rq.request_id, "refused a request: %d %s", fv->status, fv->message);
    if (fv->has_body && fv->delimited) {
        /* libmicrohttpd 0.9.75 stops reading once an answer is queued and
         * closes with the rest of the body unread, which resets the
         * connection and often loses the answer: read the body as it
         * frames it (dropping it), then answer and close. */
        cs->refused = *fv;
        return 1;
    }
    return reply_refused(c, cs, fv) == MHD_YES ? -1 : -2;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    conn_state *cs = *con_cls;
    if (!cs)
        return MHD_NO;
    /* A parked request comes back here after on_stored, on the syncer
     * thread, set phase and stored_as under park_mu and resumed the
     * connection. libmicrohttpd 0.9.75 passes the resume on through its
     * inter-thread eventfd or pipe, an edge the memory model (and
     * ThreadSanitizer) knows nothing of: reading them under the same
     * mutex is what orders them. It is contended only at that moment. */
    pthread_mutex_lock(&cs->park_mu);
    int phase = cs->phase;
    pthread_mutex_unlock(&cs->park_mu);
    switch (phase) {
    case PH_HEADERS: {
        if (framing_conn_head_done(conn_framing(c)) < 0)
            return MHD_NO; /* answered 408 already */
        framing_verdict fv;
        int fr = check_framing(c, cs, version, &fv);
        if (fr < 0) {
            cs->phase = PH_DONE;
            framing_conn_body_done(conn_framing(c));
            return fr == -1 ? MHD_YES : MHD_NO;
        }
        if (fr > 0) {
            cs->phase = PH_REFUSED;
            return MHD_YES;
        }
        if (!fv.has_body) {
            /* libmicrohttpd 0.9.75 closes the connection after an answer
             * queued on this first call, even with no body to skip, and
             * drops the requests pipelined behind it: a request without a
             * body is handled on the second call, once it is complete. */
            cs->phase = PH_NOBODY;
            return MHD_YES;
        }
        enum MHD_Result r = start_request(c, cs, method);
        if (cs->phase == PH_HEADERS)
            cs->phase = PH_DONE;
        if (cs->phase == PH_DONE || cs->phase == PH_API) {
            /* A response was queued, or will be once the connection is
             * resumed: no deadline while it is sent, or the sweeper's 408
             * could land in the middle of it. */
            framing_conn_body_done(conn_framing(c));
        }
        return r;
    }
    case PH_REFUSED:
        if (*upload_data_size) {
            cs->discarding += *upload_data_size;
            *upload_data_size = 0;
            if (cs->discarding <= DISCARD_MAX)
                return MHD_YES;
        }
        cs->phase = PH_DONE;
        framing_conn_body_done(conn_framing(c));
        return reply_refused(c, cs, &cs->refused);
    case PH_NOBODY: {
        if (framing_conn_body_done(conn_framing(c)) < 0)
            return MHD_NO;
        enum MHD_Result r = start_request(c, cs, method);
        if (cs->phase == PH_HEADERS)
            cs->phase = PH_DONE; /* a response was queued */
        if (cs->phase != PH_BODY)
            return r;
        cs->phase = PH_DONE;
        return webhook_accept(c, cs);
    }
    case PH_BODY:
        if (*upload_data_size) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            if (cs->discarding || cs->rq.body_len + n > cs->limit) {
                /* Past the limit nothing more is kept. Clients that stream
                 * (chunked, Expect: 100-continue) often cannot read an
                 * answer sent mid-upload, so the rest is read and dropped,
                 * up to a bound, and the 413 sent when the body ends. */
                cs->discarding += n;
                if (cs->discarding <= DISCARD_MAX)
                    return MHD_YES;
                cs->phase = PH_DONE;
                framing_conn_body_done(conn_framing(c));
                log_msg(LOG_INFO, cs->rq.request_id, "refused %s %s: 413 body over %llu bytes",
                        method, cs->rq.path, (unsigned long long)cs->limit);
                return (enum MHD_Result)reply_error(c, cs->rq.request_id, 413, "payload_too_large",
                                                    "the body is larger than %llu bytes",
                                                    (unsigned long long)cs->limit);
            }
            if (cs->rq.body_len + n > cs->body_cap) {
                size_t cap = cs->body_cap ? cs->body_cap : 4096;
                while (cap < cs->rq.body_len + n)
                    cap *= 2;
                if (cap > cs->limit)
                    cap = (size_t)cs->limit;
                cs->rq.body = xrealloc(cs->rq.body, cap + 1);
                cs->body_cap = cap;
            }
            memcpy(cs->rq.body + cs->rq.body_len, upload_data, n);
            cs->rq.body_len += n;
            return MHD_YES;
        }
        cs->phase = PH_DONE;
        if (framing_conn_body_done(conn_framing(c)) < 0)
            return MHD_NO;
        if (cs->discarding) {
            log_msg(LOG_INFO, cs->rq.request_id, "refused %s %s: 413 body over %llu bytes", method,
                    cs->rq.path, (unsigned long long)cs->limit);
            return (enum MHD_Result)reply_error(c, cs->rq.request_id, 413, "payload_too_large",
                                                "the body is larger than %llu bytes",
                                                (unsigned long long)cs->limit);
        }
        return webhook_accept(c, cs);
    case PH_STORING:
        return webhook_after_stored(c, cs);
    case PH_WAITING:
        cs->phase = PH_DONE;
        if (syncwait_timed_out(cs->wait)) {
            log_msg(LOG_INFO, cs->rq.request_id,
                    "sync wait passed %llu ms; answering 202 with the execution id",
                    (unsigned long long)cs->trigger->sync_timeout_ms);
            return (enum MHD_Result)reply_accepted(
                c, &(reply_batch){cs->rq.request_id, cs->trigger, cs->execs, cs->n_execs}, 202);
        }
        return (enum MHD_Result)reply_finished(
            c, &(reply_batch){cs->rq.request_id, cs->trigger, cs->execs, cs->n_execs});
    case PH_API:
        /* Resumed: the answer is ready; a body is not read. */
        *upload_data_size = 0;
        cs->phase = PH_DONE;
        return (enum MHD_Result)api_resume(c, &cs->rq, cs->park);
    default:
        /* Body bytes after an early response are discarded by MHD. */
        *upload_data_size = 0;
        return MHD_YES;
    }
}

/* ---- listening ---- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, int *v6)
{
    char host[256];
    const char *colon;
    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (strchr(host, ':')) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return -1;
        *len = sizeof(*a6);
        *v6 = 1;
        return 0;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (host[0] == 0 || strcmp(host, "*") == 0)
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return -1;
    *len = sizeof(*a4);
    *v6 = 0;
    return 0;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    log_msg(LOG_DEBUG, NULL, "http: %s", buf);
}

int http_start(generation *gen, char *err, size_t errlen)
{
    sluice_config *cfg = generation_config(gen);
    http_set_generation(gen);
    if (framing_start(cfg->server.head_timeout_ms, cfg->server.body_timeout_ms) < 0) {
        snprintf(err, errlen, "cannot start the request deadline thread");
        return -1;
    }
    for (char **l = cfg->server.listen; *l; l++) {
        if (srv.n_daemons == MAX_LISTEN) {
            snprintf(err, errlen, "server.listen: at most %d addresses", MAX_LISTEN);
            return -1;
        }
        struct sockaddr_storage ss;
        socklen_t sl;
        int v6;
        if (parse_listen(*l, &ss, &sl, &v6) < 0) {
            snprintf(err, errlen,
                     "server.listen: bad address \"%s\" (use HOST:PORT or [IPV6]:PORT)", *l);
            return -1;
        }
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
        if (v6)
            flags |= MHD_USE_IPv6;
        struct MHD_Daemon *d = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->server.http_threads,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
            NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->server.max_connections,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->server.max_connections_per_address,
            /* A head that fits in this memory meets sluice's own limits
             * (routes_before_match: 32 KiB; framing_check:
             * FRAMING_MAX_FIELDS fields) and their JSON 431; a larger one
             * gets libmicrohttpd's HTML 431. No larger: 0.9.75 zeroes the
             * whole pool on every request (MHD_pool_reset), and 256 KiB
             * measured 20% off async intake, 64 KiB 5-8%. */
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_EXTERNAL_LOGGER,
            mhd_log, NULL, MHD_OPTION_END);
        if (!d) {
            snprintf(err, errlen, "server.listen: cannot listen on %s (in use, or no permission)",
                     *l);
            return -1;
        }
        srv.daemons[srv.n_daemons++] = d;
        /* Port 0 asks the kernel for a free port: say which one it gave. */
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        unsigned port = di ? di->port : 0;
        const char *colon = strrchr(*l, ':');
        log_info("listening on http://%.*s:%u", (int)(colon - *l), *l, port);
    }
    return 0;
}

void http_quiesce(void)
{
    for (int i = 0; i < srv.n_daemons; i++) {
        MHD_socket s = MHD_quiesce_daemon(srv.daemons[i]);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

void http_stop(void)
{
    /* Whatever was stored or parked since the last release (see there). */
    http_release_waits();
    for (int i = 0; i < srv.n_daemons; i++)
        MHD_stop_daemon(srv.daemons[i]);
    srv.n_daemons = 0;
    framing_stop();
    pthread_mutex_lock(&srv.mu);
    generation *gen = srv.gen;
    srv.gen = NULL;
    pthread_mutex_unlock(&srv.mu);
    generation_unref(gen);
}
