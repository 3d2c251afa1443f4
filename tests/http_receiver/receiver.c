/*
 * receiver.c - a scriptable HTTP(S) receiver for the http executor's tests.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 *   receiver [-a ADDR] [-p PORT] [-P PORTFILE] [-o LOG] [-c CERT -k KEY]
 *            [-r PATH=STEP,STEP,...]...
 *
 * Listens on ADDR (127.0.0.1) and PORT (0: the kernel picks one), prints
 * the port on stdout and writes it to PORTFILE (atomically, so a test can
 * wait for the file). With -c/-k it speaks HTTPS (PEM files). It records
 * every request as one JSON line in LOG, once the whole body has arrived
 * and before answering:
 *
 *   {"n":1,"t_ms":1700000000123,"conn":1,"method":"POST","uri":"/x?a=%2F",
 *    "path":"/x","headers":{"content-type":"..."},"len":2,"body":"{}",
 *    "body_b64":"e30="}
 *
 * "uri" is the request target exactly as sent (nothing unescaped), "conn"
 * numbers the TCP connections in the order they were accepted (so a test
 * can see keep-alive reuse), "body" is the body as text when it is UTF-8.
 * When a client goes away while its answer is delayed, a line
 * {"event":"aborted","n":N,"t_ms":...,"after_ms":...} follows.
 *
 * Answers are scripted per path with -r: the Nth request to PATH gets the
 * Nth step, and the last step repeats. A step is a status with optional
 * ';'-separated attributes:
 *
 *   delay=MS        wait before answering (the wait notices a client that
 *                   hangs up)
 *   size=N          a body of N bytes of 'x' (text/plain)
 *   body=TEXT       this body (text/plain unless ct= says otherwise)
 *   ct=TYPE         the Content-Type
 *   retry-after=V   a Retry-After header
 *   location=URL    a Location header
 *
 *   -r '/flaky=503;retry-after=1,200'   -r '/slow=200;delay=20000'
 *
 * Unscripted paths answer 200 with {"ok":true,"n":N} (application/json).
 * SIGTERM or SIGINT stops it. Loopback tests only: no limits worth the
 * name beyond a 64 MiB request body.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#define RECV_MAX_BODY (64u * 1024 * 1024)
#define RECV_MAX_SCRIPTS 64
#define RECV_MAX_STEPS 32

struct step {
    unsigned status;
    long delay_ms;
    long size; /* -1: none */
    char *body;
    char *ctype;
    char *retry_after;
    char *location;
};

struct script {
    char *path;
    struct step steps[RECV_MAX_STEPS];
    size_t nsteps;
    unsigned hits; /* under recv_lock */
};

struct request {
    int started; /* MHD calls once with the headers before any body */
    char *uri;
    char *body;
    size_t len;
    int too_big;
};

static struct script scripts[RECV_MAX_SCRIPTS];
static size_t nscripts;
static FILE *log_file;
static pthread_mutex_t recv_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint conn_counter;
static atomic_uint req_counter;
static atomic_int stopping;

static long long wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "receiver: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* "503;retry-after=1;delay=20" into a step. */
static void parse_step(struct step *st, char *text)
{
    char *save = NULL, *attr, *end;

    st->size = -1;
    attr = strtok_r(text, ";", &save);
    if (!attr)
        die("empty step");
    st->status = (unsigned)strtoul(attr, &end, 10);
    if (*end != '\0' || st->status < 100 || st->status > 599)
        die("bad status in step \"%s\"", attr);
    while ((attr = strtok_r(NULL, ";", &save))) {
        char *eq = strchr(attr, '=');

        if (!eq)
            die("attribute \"%s\" has no '='", attr);
        *eq++ = '\0';
        if (strcmp(attr, "delay") == 0)
            st->delay_ms = strtol(eq, NULL, 10);
        else if (strcmp(attr, "size") == 0)
            st->size = strtol(eq, NULL, 10);
        else if (strcmp(attr, "body") == 0)
            st->body = strdup(eq);
        else if (strcmp(attr, "ct") == 0)
            st->ctype = strdup(eq);
        else if (strcmp(attr, "retry-after") == 0)
            st->retry_after = strdup(eq);
        else if (strcmp(attr, "location") == 0)
            st->location = strdup(eq);
        else
            die("unknown attribute \"%s\"", attr);
    }
}

static void parse_script(const char *arg)
{
    char *copy = strdup(arg), *eq = strchr(copy, '='), *save = NULL, *step;
    struct script *sc;

    if (!eq || copy[0] != '/')
        die("-r wants /PATH=STEP,STEP...: \"%s\"", arg);
    if (nscripts == RECV_MAX_SCRIPTS)
        die("too many scripts");
    sc = &scripts[nscripts++];
    *eq = '\0';
    sc->path = strdup(copy);
    for (step = strtok_r(eq + 1, ",", &save); step; step = strtok_r(NULL, ",", &save)) {
        if (sc->nsteps == RECV_MAX_STEPS)
            die("too many steps for %s", sc->path);
        parse_step(&sc->steps[sc->nsteps++], step);
    }
    if (sc->nsteps == 0)
        die("no steps for %s", sc->path);
    free(copy);
}

/* The step for this request to path, or NULL for the default answer. */
static const struct step *next_step(const char *path)
{
    const struct step *st = NULL;

    pthread_mutex_lock(&recv_lock);
    for (size_t i = 0; i < nscripts; i++) {
        if (strcmp(scripts[i].path, path) == 0) {
            size_t k =
                scripts[i].hits < scripts[i].nsteps ? scripts[i].hits : scripts[i].nsteps - 1;

            scripts[i].hits++;
            st = &scripts[i].steps[k];
            break;
        }
    }
    pthread_mutex_unlock(&recv_lock);
    return st;
}

static void write_line(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);

    if (text && log_file) {
        pthread_mutex_lock(&recv_lock);
        fputs(text, log_file);
        fputc('\n', log_file);
        fflush(log_file);
        pthread_mutex_unlock(&recv_lock);
    }
    free(text);
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    json_t *headers = cls;
    char name[256];
    size_t i;
    json_t *old;

    (void)kind;
    for (i = 0; key[i] && i < sizeof(name) - 1; i++)
        name[i] = (char)tolower((unsigned char)key[i]);
    name[i] = '\0';
    old = json_object_get(headers, name);
    if (old) {
        char *joined;

        if (asprintf(&joined, "%s, %s", json_string_value(old), value ? value : "") >= 0) {
            json_object_set_new(headers, name, json_string(joined));
            free(joined);
        }
    } else {
        json_object_set_new(headers, name, json_string(value ? value : ""));
    }
    return MHD_YES;
}

static char *base64(const unsigned char *data, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;

    for (size_t i = 0; out && i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    if (out)
        out[o] = '\0';
    return out;
}

static unsigned conn_id(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci && ci->socket_context ? *(unsigned *)ci->socket_context : 0;
}

static void record(struct MHD_Connection *c, const char *method, const char *path,
                   struct request *rq, unsigned n)
{
    json_t *obj = json_object(), *headers = json_object();
    char *b64 = base64((const unsigned char *)(rq->body ? rq->body : ""), rq->len);
    json_t *text = rq->len ? json_stringn(rq->body, rq->len) : json_string("");

    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, headers);
    json_object_set_new(obj, "n", json_integer(n));
    json_object_set_new(obj, "t_ms", json_integer(wall_ms()));
    json_object_set_new(obj, "conn", json_integer(conn_id(c)));
    json_object_set_new(obj, "method", json_string(method));
    json_object_set_new(obj, "uri", json_string(rq->uri ? rq->uri : path));
    json_object_set_new(obj, "path", json_string(path));
    json_object_set_new(obj, "headers", headers);
    json_object_set_new(obj, "len", json_integer((json_int_t)rq->len));
    json_object_set_new(obj, "body", text ? text : json_null());
    json_object_set_new(obj, "body_b64", json_string(b64 ? b64 : ""));
    write_line(obj);
    json_decref(obj);
    free(b64);
}

/* Wait ms, in small steps; returns 1 when the client hung up meanwhile. */
static int delay(struct MHD_Connection *c, long ms)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    long long end = wall_ms() + ms;

    while (wall_ms() < end && !atomic_load(&stopping)) {
        struct pollfd pfd = {.fd = ci ? ci->connect_fd : -1, .events = POLLRDHUP};

        if (pfd.fd >= 0 && poll(&pfd, 1, 20) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
            return 1;
        if (pfd.fd < 0)
            usleep(20000);
    }
    return 0;
}

static enum MHD_Result answer(struct MHD_Connection *c, const char *path, unsigned n)
{
    const struct step *st = next_step(path);
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char *body = NULL;
    size_t len;
    const char *ctype = "application/json";
    unsigned status = 200;

    if (st) {
        status = st->status;
        if (st->delay_ms > 0) {
            long long start = wall_ms();

            if (delay(c, st->delay_ms)) {
                json_t *obj =
                    json_pack("{s:s, s:i, s:I, s:I}", "event", "aborted", "n", (int)n, "t_ms",
                              (json_int_t)wall_ms(), "after_ms", (json_int_t)(wall_ms() - start));

                write_line(obj);
                json_decref(obj);
                return MHD_NO; /* close: nobody is listening */
            }
        }
        if (st->size >= 0) {
            body = malloc((size_t)st->size + 1);
            if (body)
                memset(body, 'x', (size_t)st->size);
            len = (size_t)st->size;
            ctype = "text/plain";
        } else if (st->body) {
            body = strdup(st->body);
            len = strlen(st->body);
            ctype = "text/plain";
        } else {
            len = (size_t)asprintf(&body, "{\"ok\":%s,\"n\":%u,\"status\":%u}",
                                   status < 300 ? "true" : "false", n, status);
        }
        if (st->ctype)
            ctype = st->ctype;
    } else {
        len = (size_t)asprintf(&body, "{\"ok\":true,\"n\":%u}", n);
    }
    if (!body)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (st && st->retry_after)
        MHD_add_response_header(resp, "Retry-After", st->retry_after);
    if (st && st->location)
        MHD_add_response_header(resp, "Location", st->location);
    MHD_add_response_header(resp, "X-Receiver-N", "1");
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_size, void **req_cls)
{
    struct request *rq = *req_cls;
    unsigned n;

    (void)cls, (void)version;
    if (!rq && !(rq = *req_cls = calloc(1, sizeof(*rq))))
        return MHD_NO;
    if (!rq->started) {
        rq->started = 1;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rq->too_big && rq->len + *upload_size <= RECV_MAX_BODY) {
            char *grown = realloc(rq->body, rq->len + *upload_size + 1);

            if (grown) {
                memcpy(grown + rq->len, upload_data, *upload_size);
                rq->body = grown;
                rq->len += *upload_size;
            }
        } else {
            rq->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    n = atomic_fetch_add(&req_counter, 1) + 1;
    record(c, method, url, rq, n);
    return answer(c, url, n);
}

/* The raw request target, before MHD splits and unescapes it. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct request *rq = calloc(1, sizeof(*rq));

    (void)cls, (void)c;
    if (rq)
        rq->uri = strdup(uri);
    return rq;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct request *rq = *req_cls;

    (void)cls, (void)c, (void)toe;
    if (rq) {
        free(rq->uri);
        free(rq->body);
        free(rq);
    }
    *req_cls = NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    (void)cls, (void)c;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        unsigned *id = malloc(sizeof(*id));

        if (id)
            *id = atomic_fetch_add(&conn_counter, 1) + 1;
        *socket_context = id;
    } else {
        free(*socket_context);
        *socket_context = NULL;
    }
}

/* Keep the target as sent: the tests check the executor's encoding. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    return strlen(s);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    if (!f)
        die("cannot read %s", path);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        die("cannot read %s", path);
    fclose(f);
    return buf;
}

static void write_port(const char *path, unsigned port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        die("cannot write %s", tmp);
    fprintf(f, "%u\n", port);
    fclose(f);
    if (rename(tmp, path) != 0)
        die("cannot rename to %s", path);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port_file = NULL, *log_path = NULL;
    const char *cert_path = NULL, *key_path = NULL;
    char *cert = NULL, *key = NULL;
    unsigned port = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    unsigned flags =
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    struct MHD_Daemon *d;
    sigset_t set;
    int opt, sig;

    while ((opt = getopt(argc, argv, "a:p:P:o:c:k:r:")) != -1) {
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 'p':
            port = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'P':
            port_file = optarg;
            break;
        case 'o':
            log_path = optarg;
            break;
        case 'c':
            cert_path = optarg;
            break;
        case 'k':
            key_path = optarg;
            break;
        case 'r':
            parse_script(optarg);
            break;
        default:
            fprintf(stderr, "usage: receiver [-a ADDR] [-p PORT] [-P PORTFILE] [-o LOG] "
                            "[-c CERT -k KEY] [-r PATH=STEP,...]...\n");
            return 2;
        }
    }
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        die("bad address %s", addr);
    sa.sin_port = htons((uint16_t)port);
    if (log_path && !(log_file = fopen(log_path, "a")))
        die("cannot open %s", log_path);
    if ((cert_path != NULL) != (key_path != NULL))
        die("-c and -k go together");
    if (cert_path) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fprintf(stderr, "receiver: this libmicrohttpd has no TLS support\n");
            return 77;
        }
        cert = slurp(cert_path);
        key = slurp(key_path);
        flags |= MHD_USE_TLS;
    }
    /* Signals are waited for below; no thread of MHD's may take them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d = cert_path ? MHD_start_daemon(flags, 0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                     MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
                                     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                     MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
                                     MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                     MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_HTTPS_MEM_CERT,
                                     cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END)
                  : MHD_start_daemon(flags, 0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                     MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
                                     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                     MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
                                     MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                     MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    if (!d)
        die("cannot listen on %s", addr);
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0)
        die("cannot tell the port");
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    if (port_file)
        write_port(port_file, info->port);
    sigdelset(&set, SIGPIPE);
    do {
        if (sigwait(&set, &sig) != 0)
            sig = SIGTERM;
    } while (sig != SIGTERM && sig != SIGINT);
    atomic_store(&stopping, 1);
    MHD_stop_daemon(d);
    if (log_file)
        fclose(log_file);
    free(cert);
    free(key);
    for (size_t i = 0; i < nscripts; i++) {
        free(scripts[i].path);
        for (size_t k = 0; k < scripts[i].nsteps; k++) {
            free(scripts[i].steps[k].body);
            free(scripts[i].steps[k].ctype);
            free(scripts[i].steps[k].retry_after);
            free(scripts[i].steps[k].location);
        }
    }
    return 0;
}
