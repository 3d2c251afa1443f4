/*
 * followbuf.h - what one log follower has not read yet, bounded; and the
 * NDJSON lines it is told.
 *
 * A follower of GET /api/v1/executions/{id}/logs?follow is fed by a
 * plugin's thread (exec_write_log) and drained by an HTTP thread (the
 * response's content reader). Between them sits a followbuf: a ring of
 * records allocated once, at a fixed size. Pushing never waits and never
 * allocates. When the reader falls behind and a push does not fit, the
 * buffer is "behind": from then on output is counted, not kept, until the
 * reader has emptied the ring; then it is told, in place, how many bytes of
 * each stream it lost. A slow client costs the server a fixed amount of
 * memory, never more, and always learns what it missed.
 *
 * Not thread-safe by itself: the owner's mutex guards it.
 *
 * The second half turns output bytes into NDJSON lines,
 *   {"stream":"stdout","data":"..."}
 * one per line of output (or FOLLOW_LINE_MAX bytes of a longer one), always
 * valid UTF-8: bytes that are not UTF-8 become U+FFFD, and a character split
 * between two writes is held back until its end arrives.
 */
#ifndef SLUICE_FOLLOWBUF_H
#define SLUICE_FOLLOWBUF_H

#include <stddef.h>
#include <stdint.h>

#define FB_STDOUT 0
#define FB_STDERR 1

/* The most output one NDJSON line carries. */
#define FB_LINE_MAX 4096
/* Room one encoded line can need: every byte escaped as \u00XX, the frame. */
#define FB_LINE_ROOM (FB_LINE_MAX * 6 + 64)
/* The longest incomplete UTF-8 character a writer can leave behind. */
#define FB_UTF8_HOLD 3

typedef struct followbuf {
    unsigned char *ring;
    size_t cap, start, used;
    /* The data record the reader is part way through (stream -1: none). */
    int cur_stream;
    size_t cur_left;
    /* Behind: set by the first push that did not fit, cleared once the
     * reader has emptied the ring and taken what follows. */
    int behind;
    uint64_t lost[2]; /* bytes of each stream counted instead of kept */
    int lost_attempt; /* a retry that began while behind, 0: none */
} followbuf;

/* A ring of cap bytes (at least 64). 0, or -1 when out of memory. */
int followbuf_init(followbuf *b, size_t cap);
void followbuf_free(followbuf *b);

/*
 * Queue len bytes of stream (FB_STDOUT, FB_STDERR). What does not fit is
 * counted as lost; the first part that fits is kept. Returns the bytes
 * kept.
 */
size_t followbuf_push(followbuf *b, int stream, const void *data, size_t len);
/* Mark that output of a new attempt (a retry) follows. */
void followbuf_push_attempt(followbuf *b, int attempt);

typedef enum { FB_NONE, FB_DATA, FB_DROPPED, FB_ATTEMPT } fb_kind;

typedef struct fb_item {
    fb_kind kind;
    int stream;     /* FB_DATA, FB_DROPPED */
    size_t len;     /* FB_DATA: bytes copied out */
    uint64_t count; /* FB_DROPPED: bytes lost; FB_ATTEMPT: the attempt */
} fb_item;

/*
 * The next thing for the reader, in the order it happened: up to max bytes
 * of one stream (copied to out; consecutive records of the same stream are
 * joined), an attempt marker, or, once the ring is empty, what was lost
 * while behind (one stream per call, then a retry that began meanwhile).
 * FB_NONE: nothing now.
 */
fb_item followbuf_take(followbuf *b, char *out, size_t max);

/*
 * How many bytes at the end of p[0..n) begin a UTF-8 character that is not
 * complete yet (0..FB_UTF8_HOLD): hold them until the rest arrives.
 */
size_t followbuf_utf8_pending(const char *p, size_t n);

/*
 * Encode the first line of p[0..n) as {"stream":"...","data":"..."} and a
 * newline into dst (FB_LINE_ROOM bytes): through its '\n', or the first
 * FB_LINE_MAX bytes cut at a character boundary, or all of p. *used gets
 * how many bytes of p went in (at least one when n > 0). Returns the
 * encoded length.
 */
size_t followbuf_encode_line(char *dst, int stream, const char *p, size_t n, size_t *used);

#endif
