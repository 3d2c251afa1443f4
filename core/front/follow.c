/*
 * follow.c - streaming an execution's output to its followers.
 *
 * The wire format is NDJSON (application/x-ndjson), one object a line:
 *
 *   {"stream":"stdout","data":"building\n"}   output, in the order written
 *   {"stream":"stderr","dropped":65536}       bytes this client lost (behind)
 *   {"attempt":2}                             a retry starts; its output follows
 *   {"heartbeat":true}                        nothing new for a while
 *   {"state":"succeeded","exit_code":0}       the last line, then the end
 *
 * The stream starts with what the execution had already written (the kept
 * head and tail of stdout, then of stderr), then follows live output.
 *
 * Waking a parked reader. The content reader sets f->suspended and calls
 * MHD_suspend_connection under f->mu, and only when it has nothing to send;
 * every producer checks f->suspended under the same mutex, and the one that
 * clears it owns the duty to call MHD_resume_connection, which it does after
 * letting go of every lock. So a connection is resumed exactly once per
 * suspension, never before it, and never from under a lock that a
 * libmicrohttpd callback might want. A suspended connection cannot be closed
 * by libmicrohttpd, so the claimed follower and its connection stay valid
 * until that resume.
 *
 * Locks, in order: the execution's mu, then a follower's mu; the registry's
 * mu, then a follower's mu. The registry and an execution are never held
 * together.
 */
#define _GNU_SOURCE
#include "follow.h"

#include "engine.h"
#include "followbuf.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "store.h"
#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What a follower may hold unread before it is behind. */
#define FOLLOW_BUFFER (64u * 1024u)
/* How much is taken from the buffer at once to be cut into lines. */
#define FOLLOW_TAKE (16u * 1024u)
/* The block size libmicrohttpd is asked to use for the stream. */
#define FOLLOW_BLOCK (16u * 1024u)

struct follower {
    atomic_int refs; /* the response's, and the execution waiter's while registered */
    pthread_mutex_t mu;
    /* Under mu: what the writers gave, and why the reader should wake. */
    followbuf buf;
    int suspended;       /* the reader parked the connection; clearing it means resuming it */
    int final;           /* the execution reached a final state */
    int closing;         /* sluiced is shutting down */
    int heartbeat;       /* a heartbeat is due */
    follower *wake_next; /* from a claim until the resume that answers it */

    /* Under the execution's mu. */
    exec_log_listener listener;
    int attempt; /* the attempt whose output the buffer holds */

    /* Under fl.mu. */
    follower *gprev, *gnext;

    /* Set before the response exists, then read-only. */
    sluice_exec *e; /* a reference */
    struct MHD_Connection *conn;
    exec_waiter waiter;
    int attached; /* listener registered with e */
    int waiting;  /* waiter was registered */
    char request_id[40];

    /* The reader's own: one HTTP thread at a time runs the content reader. */
    char *pre[2]; /* output captured before this follower joined */
    size_t pre_len[2], pre_pos[2];
    char raw[FB_UTF8_HOLD + FOLLOW_TAKE]; /* taken from buf, being cut into lines */
    int raw_stream;
    size_t raw_pos, raw_len;
    char carry[2][FB_UTF8_HOLD]; /* a character whose end has not arrived */
    size_t carry_len[2];
    char *stage; /* encoded lines not yet handed to libmicrohttpd */
    size_t stage_cap, stage_len, stage_pos;
    int ended; /* the last line is staged */
};

/* Every open stream: the cap, the heartbeat and shutdown walk this. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t gone;
    follower *head;
    size_t n;
    int closing;
    int ticking;
    uint64_t heartbeat_ms;
    engine_timer *tick;
} fl = {.mu = PTHREAD_MUTEX_INITIALIZER, .gone = PTHREAD_COND_INITIALIZER};

/* ---- the follower object ---- */

static void follower_unref(follower *f)
{
    if (atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    followbuf_free(&f->buf);
    free(f->pre[0]);
    free(f->pre[1]);
    free(f->stage);
    exec_unref(f->e);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static void exec_done(void *arg);
static int follower_push(void *arg, const sluice_exec *e, int stream, const char *data, size_t len);
static void follower_resume(void *arg);

/* A follower of e, taking the caller's reference to e. */
static follower *follower_new(sluice_exec *e, struct MHD_Connection *c, const char *request_id)
{
    follower *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    if (followbuf_init(&f->buf, FOLLOW_BUFFER) < 0) {
        free(f);
        return NULL;
    }
    f->stage_cap = FB_LINE_ROOM + 256;
    f->stage = malloc(f->stage_cap);
    if (!f->stage) {
        followbuf_free(&f->buf);
        free(f);
        return NULL;
    }
    atomic_init(&f->refs, 1);
    pthread_mutex_init(&f->mu, NULL);
    f->e = e;
    f->conn = c;
    f->waiter.wake = exec_done;
    f->waiter.arg = f;
    f->listener.push = follower_push;
    f->listener.wake = follower_resume;
    f->listener.arg = f;
    snprintf(f->request_id, sizeof(f->request_id), "%s", request_id);
    return f;
}

/*
 * Join e: what it has written so far becomes the start of the stream, and
 * everything written after arrives through follower_push, with nothing lost
 * or repeated in between (both happen under e->mu).
 */
static void follower_attach(follower *f)
{
    sluice_exec *e = f->e;
    /* f->attempt is written under e->mu, where follower_push reads it. */
    int finished = exec_follow_begin(e, &f->listener, f->pre, f->pre_len, &f->attempt);
    f->attached = !finished;
    /* The last character of what is kept may continue in the next write. */
    for (int s = 0; s < 2; s++) {
        size_t k = followbuf_utf8_pending(f->pre[s], f->pre_len[s]);
        f->pre_len[s] -= k;
        memcpy(f->carry[s], f->pre[s] + f->pre_len[s], k);
        f->carry_len[s] = k;
    }
    if (!finished) {
        atomic_fetch_add(&f->refs, 1); /* the waiter's */
        if (exec_add_waiter(e, &f->waiter) == 0) {
            f->waiting = 1;
            return;
        }
        atomic_fetch_sub(&f->refs, 1);
    }
    pthread_mutex_lock(&f->mu);
    f->final = 1;
    pthread_mutex_unlock(&f->mu);
}

/* Worker thread: the execution is final. */
static void exec_done(void *arg)
{
    follower *f = arg;
    pthread_mutex_lock(&f->mu);
    f->final = 1;
    int claim = f->suspended;
    f->suspended = 0;
    struct MHD_Connection *c = f->conn;
    pthread_mutex_unlock(&f->mu);
    if (claim)
        MHD_resume_connection(c);
    follower_unref(f);
}

/* ---- writers ---- */

/* exec_write_log, with e->mu held: a copy into the bounded buffer. Claims
 * a parked reader, which follower_resume wakes once e->mu is released. */
static int follower_push(void *arg, const sluice_exec *e, int stream, const char *data, size_t len)
{
    follower *f = arg;
    int s = stream == SLUICE_STDERR ? FB_STDERR : FB_STDOUT;
    pthread_mutex_lock(&f->mu);
    int attempt = exec_attempt_locked(e);
    if (f->attempt != attempt) {
        followbuf_push_attempt(&f->buf, attempt);
        f->attempt = attempt;
    }
    followbuf_push(&f->buf, s, data, len);
    int claim = f->suspended;
    f->suspended = 0;
    pthread_mutex_unlock(&f->mu);
    return claim;
}

static void follower_resume(void *arg)
{
    follower *f = arg;
    MHD_resume_connection(f->conn);
}

/* Resume the connections of a list of claimed followers (NULL: nothing). */
static void follow_wake(follower *list)
{
    while (list) {
        /* Read before resuming: from then on the follower is the reader's. */
        follower *next = list->wake_next;
        MHD_resume_connection(list->conn);
        list = next;
    }
}

/* ---- lines ---- */

static void stage_reserve(follower *f, size_t n)
{
    if (f->stage_len + n <= f->stage_cap)
        return;
    size_t cap = f->stage_cap * 2 > f->stage_len + n ? f->stage_cap * 2 : f->stage_len + n;
    f->stage = xrealloc(f->stage, cap); /* a few KiB more than the line just encoded */
    f->stage_cap = cap;
}

static void stage_text(follower *f, const char *text)
{
    size_t n = strlen(text);
    stage_reserve(f, n);
    memcpy(f->stage + f->stage_len, text, n);
    f->stage_len += n;
}

/* One line of p[0..n) of stream s; *pos advances past what it took. */
static void stage_data(follower *f, int s, const char *p, size_t n, size_t *pos)
{
    size_t used;
    stage_reserve(f, FB_LINE_ROOM);
    f->stage_len += followbuf_encode_line(f->stage + f->stage_len, s, p, n, &used);
    *pos += used;
}

/* A character that will never be finished: its bytes become U+FFFD. */
static void stage_carry(follower *f, int s)
{
    size_t pos = 0;
    while (pos < f->carry_len[s])
        stage_data(f, s, f->carry[s] + pos, f->carry_len[s] - pos, &pos);
    f->carry_len[s] = 0;
}

/* {"state":...,"exit_code":...[,"error":...]}, malloc'd with its newline. */
static char *end_line(const char *state, int has_exit, int exit_code, const char *error)
{
    json_t *o = json_object();
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "exit_code", has_exit ? json_integer(exit_code) : json_null());
    if (error) {
        json_t *msg = json_string(error);
        json_object_set_new(o, "error", msg ? msg : json_string("(message not UTF-8)"));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        xalloc_die(0);
    size_t n = strlen(text);
    char *line = xrealloc(text, n + 2);
    line[n] = '\n';
    line[n + 1] = 0;
    return line;
}

static void stage_end(follower *f, int final)
{
    stage_carry(f, FB_STDOUT);
    stage_carry(f, FB_STDERR);
    exec_outcome o;
    exec_get_outcome(f->e, &o);
    const char *state = exec_state_name(o.state);
    int has_exit = o.has_exit_code, code = o.exit_code;
    char *error = o.error;
    /* Cut short, the state is queued or running: an exit code would be a
     * cancelled attempt's, not the execution's. */
    char *line = end_line(state, final && has_exit, code,
                          final ? error
                                : "sluiced is shutting down; the execution is not finished "
                                  "(follow again once sluiced is back)");
    stage_text(f, line);
    free(line);
    free(error);
    f->ended = 1;
}

/*
 * Stage the next line(s) to send. Returns 1 when something was staged, 0
 * when there is nothing now; then, with park set, the connection has been
 * suspended (under f->mu, so that no producer can miss it).
 */
static int stage_next(follower *f, int park)
{
    for (;;) {
        for (int s = 0; s < 2; s++)
            if (f->pre_pos[s] < f->pre_len[s]) {
                stage_data(f, s, f->pre[s] + f->pre_pos[s], f->pre_len[s] - f->pre_pos[s],
                           &f->pre_pos[s]);
                return 1;
            }
        if (f->raw_pos < f->raw_len) {
            stage_data(f, f->raw_stream, f->raw + f->raw_pos, f->raw_len - f->raw_pos, &f->raw_pos);
            return 1;
        }

        pthread_mutex_lock(&f->mu);
        fb_item it = followbuf_take(&f->buf, f->raw + FB_UTF8_HOLD, FOLLOW_TAKE);
        int final = f->final, closing = f->closing, beat = f->heartbeat;
        if (it.kind == FB_NONE && !final && !closing && !beat) {
            if (park) {
                f->suspended = 1;
                MHD_suspend_connection(f->conn);
            }
            pthread_mutex_unlock(&f->mu);
            return 0;
        }
        f->heartbeat = 0; /* anything sent says the stream is alive */
        pthread_mutex_unlock(&f->mu);

        char text[96];
        int s = it.stream;
        switch (it.kind) {
        case FB_DATA: {
            /* Put a held partial character in front, hold back a new one. */
            size_t c = f->carry_len[s];
            f->raw_stream = s;
            f->raw_pos = FB_UTF8_HOLD - c;
            memcpy(f->raw + f->raw_pos, f->carry[s], c);
            f->raw_len = FB_UTF8_HOLD + it.len;
            size_t k = followbuf_utf8_pending(f->raw + f->raw_pos, f->raw_len - f->raw_pos);
            f->raw_len -= k;
            memcpy(f->carry[s], f->raw + f->raw_len, k);
            f->carry_len[s] = k;
            continue; /* cut into lines above; may be all held */
        }
        case FB_DROPPED:
            stage_carry(f, s);
            snprintf(text, sizeof(text), "{\"stream\":\"%s\",\"dropped\":%llu}\n",
                     s == FB_STDERR ? "stderr" : "stdout", (unsigned long long)it.count);
            stage_text(f, text);
            return 1;
        case FB_ATTEMPT:
            stage_carry(f, FB_STDOUT);
            stage_carry(f, FB_STDERR);
            snprintf(text, sizeof(text), "{\"attempt\":%llu}\n", (unsigned long long)it.count);
            stage_text(f, text);
            return 1;
        case FB_NONE:
            if (final || closing)
                stage_end(f, final);
            else
                stage_text(f, "{\"heartbeat\":true}\n");
            return 1;
        }
    }
}

/*
 * libmicrohttpd's content reader. Returning 0 asks to be called again; it
 * is only ever returned with the connection suspended, so nothing spins:
 * the next call comes after a producer resumes it.
 */
static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    follower *f = cls;
    size_t n = 0;
    for (;;) {
        if (f->stage_pos < f->stage_len) {
            size_t k = f->stage_len - f->stage_pos;
            if (k > max - n)
                k = max - n;
            memcpy(buf + n, f->stage + f->stage_pos, k);
            n += k;
            f->stage_pos += k;
            if (n == max)
                return (ssize_t)n;
            continue;
        }
        f->stage_pos = f->stage_len = 0;
        if (f->ended)
            return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
        if (!stage_next(f, n == 0))
            return (ssize_t)n;
    }
}

/* ---- the registry ---- */

/* With fl.mu held. */
static void follow_tick(void *arg);
static void arm_tick(void)
{
    if (fl.ticking || !fl.n || !fl.heartbeat_ms || fl.closing)
        return;
    fl.ticking = 1;
    engine_timer_add(units_mono_ms() + fl.heartbeat_ms, follow_tick, NULL, &fl.tick);
}

/* Timer thread: a heartbeat for every stream that is waiting. */
static void follow_tick(void *arg)
{
    (void)arg;
    follower *wake = NULL;
    pthread_mutex_lock(&fl.mu);
    fl.ticking = 0;
    for (follower *f = fl.head; f; f = f->gnext) {
        pthread_mutex_lock(&f->mu);
        if (f->suspended) {
            f->suspended = 0;
            f->heartbeat = 1;
            f->wake_next = wake;
            wake = f;
        }
        pthread_mutex_unlock(&f->mu);
    }
    arm_tick();
    pthread_mutex_unlock(&fl.mu);
    follow_wake(wake);
}

/*
 * The response's free callback: libmicrohttpd is done with the stream
 * (it ended, the client went away, or the daemon stopped). The follower
 * leaves its execution and the registry; the last reference frees it.
 */
static void follow_free(void *cls)
{
    follower *f = cls;
    sluice_exec *e = f->e;
    if (f->attached)
        exec_remove_log_listener(e, &f->listener);
    if (f->waiting && exec_remove_waiter(e, &f->waiter))
        follower_unref(f); /* the waiter's; otherwise exec_done drops it */
    pthread_mutex_lock(&fl.mu);
    if (f->gprev)
        f->gprev->gnext = f->gnext;
    else
        fl.head = f->gnext;
    if (f->gnext)
        f->gnext->gprev = f->gprev;
    fl.n--;
    pthread_cond_broadcast(&fl.gone);
    pthread_mutex_unlock(&fl.mu);
    log_msg(LOG_DEBUG, f->request_id, "log stream of exec=%s ended", exec_id(e));
    follower_unref(f);
}

size_t follow_count(void)
{
    pthread_mutex_lock(&fl.mu);
    size_t n = fl.n;
    pthread_mutex_unlock(&fl.mu);
    return n;
}

void follow_shutdown(uint64_t timeout_ms)
{
    follower *wake = NULL;
    pthread_mutex_lock(&fl.mu);
    fl.closing = 1;
    for (follower *f = fl.head; f; f = f->gnext) {
        pthread_mutex_lock(&f->mu);
        f->closing = 1;
        if (f->suspended) {
            f->suspended = 0;
            f->wake_next = wake;
            wake = f;
        }
        pthread_mutex_unlock(&f->mu);
    }
    size_t open = fl.n;
    pthread_mutex_unlock(&fl.mu);
    if (engine_timer_cancel(&fl.tick)) {
        pthread_mutex_lock(&fl.mu);
        fl.ticking = 0;
        pthread_mutex_unlock(&fl.mu);
    }
    if (open)
        log_info("shutdown: ending %zu log streams", open);
    follow_wake(wake);
    if (!open)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&fl.mu);
    while (fl.n && pthread_cond_timedwait(&fl.gone, &fl.mu, &ts) != ETIMEDOUT)
        ;
    if (fl.n)
        log_warn("shutdown: %zu log streams not read in time; closing them", fl.n);
    pthread_mutex_unlock(&fl.mu);
}

/* ---- the request ---- */

static void add_stream_headers(struct MHD_Response *r, const char *request_id)
{
    MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
    MHD_add_response_header(r, "X-Request-Id", request_id);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    /* Reverse proxies (nginx) must pass lines on as they come. */
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
}

/* A finished execution: its stored logs and its final line, at once. */
static int reply_stored(struct MHD_Connection *c, const http_request *rq, const char *id)
{
    json_t *doc = store_get_json(id, 1);
    if (!doc)
        return reply_error(c, rq->request_id, 404, "not_found", "no execution %s", id);
    static const char *const names[] = {"stdout", "stderr"};
    json_t *err = json_object_get(doc, "error");
    json_t *code = json_object_get(doc, "exit_code");
    char *end = end_line(json_string_value(json_object_get(doc, "state")), json_is_integer(code),
                         (int)json_integer_value(code), json_string_value(err));
    size_t cap = 0, len = 0, end_len = strlen(end);
    char *body = NULL;
    for (int s = 0; s < 2; s++) {
        json_t *t = json_object_get(doc, names[s]);
        const char *p = json_string_value(t);
        size_t n = json_string_length(t), pos = 0, used;
        while (pos < n) {
            if (len + FB_LINE_ROOM > cap) {
                cap = cap * 2 > len + FB_LINE_ROOM ? cap * 2 : len + FB_LINE_ROOM;
                body = xrealloc(body, cap);
            }
            len += followbuf_encode_line(body + len, s, p + pos, n - pos, &used);
            pos += used;
        }
    }
    body = xrealloc(body, len + end_len);
    memcpy(body + len, end, end_len);
    len += end_len;
    free(end);
    json_decref(doc);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    add_stream_headers(r, rq->request_id);
    int ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    metrics_count_response(200);
    return ret;
}

int follow_handle(struct MHD_Connection *c, const http_request *rq, sluice_config *cfg,
                  const char *id)
{
    sluice_exec *e = engine_find(id);
    if (!e)
        return reply_stored(c, rq, id);
    follower *f = follower_new(e, c, rq->request_id);
    if (!f) {
        exec_unref(e);
        return reply_error(c, rq->request_id, 503, "out_of_memory", "cannot follow now");
    }
    size_t max = (size_t)cfg->server.max_followers;
    int closing, full;
    pthread_mutex_lock(&fl.mu);
    closing = fl.closing;
    full = fl.n >= max;
    if (!closing && !full) {
        f->gnext = fl.head;
        if (fl.head)
            fl.head->gprev = f;
        fl.head = f;
        fl.n++;
        fl.heartbeat_ms = cfg->server.follow_heartbeat_ms;
        arm_tick();
    }
    pthread_mutex_unlock(&fl.mu);
    if (closing || full) {
        follower_unref(f);
        const char *hdrs[] = {"Retry-After", closing ? "5" : "10", NULL};
        if (closing)
            return reply_json(c, rq->request_id, 503, NULL, "shutting_down",
                              "sluiced is shutting down", hdrs);
        log_msg(LOG_WARN, rq->request_id, "refused a log stream of exec=%s: %zu open, the limit",
                id, max);
        char msg[160];
        snprintf(msg, sizeof(msg), "%zu log streams are open, the limit (server.max_followers)",
                 max);
        return reply_json(c, rq->request_id, 503, NULL, "too_many_followers", msg, hdrs);
    }
    follower_attach(f);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, FOLLOW_BLOCK,
                                                               follow_read, f, follow_free);
    if (!r) {
        follow_free(f);
        return MHD_NO;
    }
    add_stream_headers(r, rq->request_id);
    int ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r); /* the connection keeps it; follow_free runs when it is done */
    metrics_count_response(200);
    log_msg(LOG_DEBUG, rq->request_id, "log stream of exec=%s started", id);
    return ret;
}
