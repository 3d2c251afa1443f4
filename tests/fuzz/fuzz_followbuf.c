/*
 * fuzz_followbuf.c - a log follower's bounded buffer and its NDJSON lines
 * (followbuf.c).
 *
 * Input: a ring size byte, then operations: push to stdout or stderr,
 * mark a retry, take with a random room. Checks against a model: the
 * reader gets, per stream and in order, exactly the bytes each push
 * reported kept, and is told of exactly the bytes that were not; the ring
 * never holds more than its size. Every encoded line is one JSON object
 * {"stream","data"} within FB_LINE_ROOM; for UTF-8 output the lines'
 * data put together is the output itself.
 */
#include "fuzz.h"

#include "followbuf.h"
#include "log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct model {
    unsigned char *kept[2];
    size_t kept_len[2], read_len[2];
    uint64_t lost[2], told[2];
} model;

static void take_all(followbuf *b, model *m, size_t room, int drain)
{
    char *out = malloc(room ? room : 1);
    for (int guard = 0; guard < 100000; guard++) {
        fb_item it = followbuf_take(b, out, room);
        if (it.kind == FB_NONE)
            break;
        if (it.kind == FB_DATA) {
            int s = it.stream;
            FUZZ_CHECK(s == 0 || s == 1, "data of stream %d", s);
            FUZZ_CHECK(it.len > 0 && it.len <= room, "took %zu bytes into %zu", it.len, room);
            FUZZ_CHECK(m->read_len[s] + it.len <= m->kept_len[s] &&
                           memcmp(m->kept[s] + m->read_len[s], out, it.len) == 0,
                       "stream %d: the reader got bytes that were not kept in that order", s);
            m->read_len[s] += it.len;
        } else if (it.kind == FB_DROPPED) {
            m->told[it.stream] += it.count;
            FUZZ_CHECK(m->told[it.stream] <= m->lost[it.stream],
                       "stream %d: told of %llu lost bytes, %llu were", it.stream,
                       (unsigned long long)m->told[it.stream],
                       (unsigned long long)m->lost[it.stream]);
        }
        if (!drain)
            break;
    }
    free(out);
}

static void check_lines(const unsigned char *p, size_t n, int stream)
{
    char *dst = malloc(FB_LINE_ROOM);
    /* Each stray byte becomes U+FFFD, three bytes. */
    unsigned char *joined = malloc(3 * n + 1);
    size_t jl = 0, off = 0;
    json_t *probe = json_stringn((const char *)p, n);
    int utf8 = probe != NULL;
    json_decref(probe);
    while (off < n) {
        size_t used = 0;
        size_t len = followbuf_encode_line(dst, stream, (const char *)p + off, n - off, &used);
        FUZZ_CHECK(used > 0 && used <= n - off, "encode_line used %zu of %zu", used, n - off);
        FUZZ_CHECK(len <= FB_LINE_ROOM && len > 0 && dst[len - 1] == '\n' &&
                       !memchr(dst, '\n', len - 1),
                   "encode_line wrote %zu bytes, not one line", len);
        json_error_t jerr;
        json_t *j = json_loadb(dst, len - 1, JSON_ALLOW_NUL, &jerr);
        FUZZ_CHECK(j && json_is_object(j) && json_object_size(j) == 2,
                   "encoded line is not one JSON object (%s): %.*s", jerr.text, (int)len, dst);
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(j, "stream")),
                          stream ? "stderr" : "stdout") == 0,
                   "wrong stream in %.*s", (int)len, dst);
        json_t *d = json_object_get(j, "data");
        FUZZ_CHECK(json_is_string(d), "no data in %.*s", (int)len, dst);
        FUZZ_CHECK(jl + json_string_length(d) <= 3 * n, "lines carry more than 3 bytes a byte");
        memcpy(joined + jl, json_string_value(d), json_string_length(d));
        jl += json_string_length(d);
        json_decref(j);
        off += used;
        if (utf8)
            FUZZ_CHECK(jl == off && memcmp(joined, p, off) == 0,
                       "the lines' data is not the UTF-8 output they encode");
    }
    json_decref(NULL);
    free(joined);
    free(dst);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    size_t cap = 64 + fuzz_byte(&in) * 4;
    followbuf b;
    FUZZ_CHECK(followbuf_init(&b, cap) == 0, "followbuf_init(%zu)", cap);
    model m;
    memset(&m, 0, sizeof(m));
    for (int s = 0; s < 2; s++)
        m.kept[s] = malloc(size + 1);
    int attempt = 1;
    while (in.n) {
        unsigned op = fuzz_byte(&in);
        size_t len = op >> 2;
        if (len > in.n)
            len = in.n;
        switch (op & 3) {
        case 0:
        case 1: {
            int s = (int)(op & 1);
            size_t kept = followbuf_push(&b, s, in.p, len);
            FUZZ_CHECK(kept <= len, "push kept %zu of %zu", kept, len);
            memcpy(m.kept[s] + m.kept_len[s], in.p, kept);
            m.kept_len[s] += kept;
            m.lost[s] += len - kept;
            check_lines(in.p, len, s);
            in.p += len;
            in.n -= len;
            break;
        }
        case 2:
            followbuf_push_attempt(&b, ++attempt);
            break;
        default:
            take_all(&b, &m, 1 + len * 4, 0);
        }
        FUZZ_CHECK(b.used <= b.cap, "the ring holds %zu bytes in %zu", b.used, b.cap);
    }
    take_all(&b, &m, 4096, 1);
    for (int s = 0; s < 2; s++) {
        FUZZ_CHECK(m.read_len[s] == m.kept_len[s], "stream %d: %zu bytes kept, %zu read", s,
                   m.kept_len[s], m.read_len[s]);
        FUZZ_CHECK(m.told[s] == m.lost[s], "stream %d: %llu bytes lost, the reader was told %llu",
                   s, (unsigned long long)m.lost[s], (unsigned long long)m.told[s]);
        free(m.kept[s]);
    }
    followbuf_free(&b);
    return 0;
}
