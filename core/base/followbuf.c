/*
 * followbuf.c - a log follower's bounded buffer and its NDJSON lines.
 *
 * The ring holds records: a kind byte, a 32-bit length, then (for data)
 * that many bytes. One record per push, so the writer's work is a header
 * and one or two memcpy calls; the reader joins consecutive records of the
 * same stream back together when it takes them.
 */
#include "followbuf.h"

#include <stdlib.h>
#include <string.h>

#define HDR 5
enum { REC_STDOUT = FB_STDOUT, REC_STDERR = FB_STDERR, REC_ATTEMPT = 2 };

int followbuf_init(followbuf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    if (cap < 64 || cap > UINT32_MAX)
        return -1;
    b->ring = malloc(cap);
    if (!b->ring)
        return -1;
    b->cap = cap;
    b->cur_stream = -1;
    return 0;
}

void followbuf_free(followbuf *b)
{
    free(b->ring);
    b->ring = NULL;
}

/* ---- the ring ---- */

static void ring_put(followbuf *b, const void *src, size_t n)
{
    size_t end = (b->start + b->used) % b->cap;
    size_t first = b->cap - end < n ? b->cap - end : n;
    memcpy(b->ring + end, src, first);
    memcpy(b->ring, (const unsigned char *)src + first, n - first);
    b->used += n;
}

static void ring_peek(const followbuf *b, void *dst, size_t n)
{
    size_t first = b->cap - b->start < n ? b->cap - b->start : n;
    memcpy(dst, b->ring + b->start, first);
    memcpy((unsigned char *)dst + first, b->ring, n - first);
}

static void ring_drop(followbuf *b, size_t n)
{
    b->start = (b->start + n) % b->cap;
    b->used -= n;
}

static void put_header(followbuf *b, int kind, uint32_t len)
{
    unsigned char h[HDR];
    h[0] = (unsigned char)kind;
    memcpy(h + 1, &len, sizeof(len));
    ring_put(b, h, HDR);
}

/* ---- writer ---- */

size_t followbuf_push(followbuf *b, int stream, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (b->behind) {
        b->lost[stream] += len;
        return 0;
    }
    size_t room = b->cap - b->used;
    size_t keep = room > HDR ? room - HDR : 0;
    if (keep > len)
        keep = len;
    if (keep) {
        put_header(b, stream, (uint32_t)keep);
        ring_put(b, data, keep);
    }
    if (keep < len) {
        b->behind = 1;
        b->lost[stream] += len - keep;
    }
    return keep;
}

void followbuf_push_attempt(followbuf *b, int attempt)
{
    if (!b->behind && b->cap - b->used >= HDR) {
        put_header(b, REC_ATTEMPT, (uint32_t)attempt);
        return;
    }
    /* Announced after the loss is, so the count may include the end of
     * the previous attempt and the start of this one. */
    b->behind = 1;
    b->lost_attempt = attempt;
}

/* ---- reader ---- */

fb_item followbuf_take(followbuf *b, char *out, size_t max)
{
    fb_item it = {.kind = FB_NONE, .stream = -1};
    if (max == 0)
        return it;
    while (it.len < max) {
        if (b->cur_left == 0) {
            if (b->used == 0)
                break;
            unsigned char h[HDR];
            uint32_t len;
            ring_peek(b, h, HDR);
            memcpy(&len, h + 1, sizeof(len));
            if (h[0] == REC_ATTEMPT) {
                if (it.kind == FB_DATA)
                    break; /* the output before it goes first */
                ring_drop(b, HDR);
                it.kind = FB_ATTEMPT;
                it.count = len;
                return it;
            }
            if (it.kind == FB_DATA && h[0] != it.stream)
                break;
            ring_drop(b, HDR);
            b->cur_stream = h[0];
            b->cur_left = len;
        }
        it.kind = FB_DATA;
        it.stream = b->cur_stream;
        size_t n = b->cur_left < max - it.len ? b->cur_left : max - it.len;
        ring_peek(b, out + it.len, n);
        ring_drop(b, n);
        it.len += n;
        b->cur_left -= n;
    }
    if (it.kind != FB_NONE || !b->behind)
        return it;
    /* The ring is empty: now the reader learns what it missed, which all
     * happened after what it has read. */
    for (int s = 0; s < 2; s++)
        if (b->lost[s]) {
            it.kind = FB_DROPPED;
            it.stream = s;
            it.count = b->lost[s];
            b->lost[s] = 0;
            return it;
        }
    if (b->lost_attempt) {
        it.kind = FB_ATTEMPT;
        it.count = (uint64_t)b->lost_attempt;
        b->lost_attempt = 0;
        return it;
    }
    b->behind = 0;
    return it;
}

/* ---- UTF-8 and JSON ---- */

/*
 * The length (1..4) of the UTF-8 character at p[0..n), 0 when the bytes
 * are not UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), -1 when they begin a character that n cuts short.
 */
static int utf8_char(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    int len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        unsigned d = p[i];
        if (d < (i == 1 ? lo : 0x80) || d > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return len;
}

size_t followbuf_utf8_pending(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    for (size_t k = 1; k <= FB_UTF8_HOLD && k <= n; k++) {
        unsigned c = u[n - k];
        if (c < 0x80)
            return 0;
        if (c >= 0xC0)
            return utf8_char(u + n - k, k) < 0 ? k : 0;
    }
    return 0;
}

size_t followbuf_encode_line(char *dst, int stream, const char *p, size_t n, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)p;
    size_t take = n;
    const char *nl = memchr(p, '\n', n < FB_LINE_MAX ? n : FB_LINE_MAX);
    if (nl) {
        take = (size_t)(nl - p) + 1;
    } else if (n > FB_LINE_MAX) {
        /* A long line goes out in pieces, never cut inside a character. */
        take = FB_LINE_MAX - followbuf_utf8_pending(p, FB_LINE_MAX);
    }
    const char *head = stream == FB_STDERR ? "{\"stream\":\"stderr\",\"data\":\""
                                           : "{\"stream\":\"stdout\",\"data\":\"";
    size_t hl = strlen(head);
    memcpy(dst, head, hl);
    char *o = dst + hl;
    for (size_t i = 0; i < take;) {
        unsigned c = u[i];
        if (c >= 0x80) {
            int l = utf8_char(u + i, take - i);
            if (l > 0) {
                memcpy(o, u + i, (size_t)l);
                o += l;
                i += (size_t)l;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD, one per stray byte */
                o += 3;
                i++;
            }
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    memcpy(o, "\"}\n", 3);
    o += 3;
    *used = take;
    return (size_t)(o - dst);
}
