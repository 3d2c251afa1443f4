/*
 * framing.h - how a request is delimited, and how long a client may take.
 *
 * Two halves, both in front of the webhook path:
 *   checks    the header block as libmicrohttpd hands it over (every
 *             entry, duplicates and value sizes included) is refused when
 *             two parsers could frame it differently (RFC 9112 5, 6.1, 6.3);
 *   deadlines every connection has a total deadline for its request head and
 *             one for its body; a sweeper thread ends the connections that
 *             miss theirs, so a trickle of bytes cannot hold a slot.
 */
#ifndef SLUICE_FRAMING_H
#define SLUICE_FRAMING_H

#include <stddef.h>
#include <stdint.h>

/* More header fields than this: 431, whatever their size. */
#define FRAMING_MAX_FIELDS 200

typedef struct framing_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len; /* as received: a NUL inside makes it longer than strlen */
    int folded;       /* the line continued on the next (obs-fold) */
    int bad_ending;   /* ended by something else than CRLF, or cut at a NUL */
} framing_field;

typedef struct framing_verdict {
    int status; /* 0: acceptable */
    const char *code;
    char message[256];
    int has_body;  /* Content-Length above 0, or a Transfer-Encoding */
    int delimited; /* libmicrohttpd finds the end of the body (no coding but chunked) */
} framing_verdict;

/*
 * Judge one request head: version is "HTTP/1.1" or "HTTP/1.0". Returns 0
 * (v->has_body set) or -1 with v->status 400, 431 or 501.
 */
int framing_check(const framing_field *f, size_t n, const char *version, framing_verdict *v);

/*
 * The origin-form of a request target: "http://host:port/p?q" becomes
 * "/p?q" (RFC 9112 3.2.2: a server must accept the absolute form). Any
 * other target is returned as it is.
 */
const char *framing_origin_form(const char *target);

/* ---- deadlines ---- */

typedef struct framing_conn framing_conn;

/* Start the sweeper: heads must be complete head_ms after they begin,
 * bodies body_ms after their head. */
int framing_start(uint64_t head_ms, uint64_t body_ms);
void framing_stop(void);

/* A connection was accepted on fd: its first head begins now. */
framing_conn *framing_conn_open(int fd);
/* It closes (the sweeper forgets it before the descriptor is closed). */
void framing_conn_close(framing_conn *fc);
/* A request line arrived (request_id names it): a missed deadline from
 * now on is answered 408 before the connection is ended. */
void framing_conn_begun(framing_conn *fc, const char *request_id);
/* Its head is complete: the body deadline starts. Both return -1 when the
 * deadline was already missed and answered 408: the request must not be
 * handled (answer MHD_NO), whatever arrived since. */
int framing_conn_head_done(framing_conn *fc);
/* Its body is complete: no deadline while sluice works on the request. */
int framing_conn_body_done(framing_conn *fc);
/* The connection will close after an answer queued now: drop what the
 * client already sent and libmicrohttpd has not read (bounded), so the close
 * does not reset the connection before the answer is read. */
void framing_conn_drain(framing_conn *fc);
/* Its answer was sent: the next head (keep-alive) begins now. */
void framing_conn_idle(framing_conn *fc);

#endif
