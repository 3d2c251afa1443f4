/*
 * test_follow.c - a log follower's bounded buffer and its NDJSON lines.
 *
 * The buffer must hand the reader exactly the bytes written, in order, with
 * the streams kept apart; never hold more than its size; and, once the
 * reader falls behind, count instead of keep and then say how much was
 * lost, after what was kept. The encoder must always produce one JSON
 * object a line, valid UTF-8, whose data fields add up to the input.
 */
#include "followbuf.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic, position-dependent bytes so a misplaced chunk shows. */
static char *pattern(size_t n, uint32_t seed)
{
    char *p = malloc(n);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)('!' + (x >> 16) % 90);
    }
    return p;
}

/* ---- the ring ---- */

START_TEST(take_returns_pushes_in_order_streams_apart)
{
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 1024), 0);
    ck_assert_uint_eq(followbuf_push(&b, FB_STDOUT, "one\n", 4), 4);
    ck_assert_uint_eq(followbuf_push(&b, FB_STDOUT, "two\n", 4), 4);
    ck_assert_uint_eq(followbuf_push(&b, FB_STDERR, "err\n", 4), 4);
    ck_assert_uint_eq(followbuf_push(&b, FB_STDOUT, "three\n", 6), 6);
    char out[64];
    fb_item it = followbuf_take(&b, out, sizeof(out));
    /* Consecutive writes of one stream come back joined... */
    ck_assert_int_eq(it.kind, FB_DATA);
    ck_assert_int_eq(it.stream, FB_STDOUT);
    ck_assert_uint_eq(it.len, 8);
    ck_assert_mem_eq(out, "one\ntwo\n", 8);
    /* ...but never across the other stream. */
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DATA);
    ck_assert_int_eq(it.stream, FB_STDERR);
    ck_assert_uint_eq(it.len, 4);
    ck_assert_mem_eq(out, "err\n", 4);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.stream, FB_STDOUT);
    ck_assert_mem_eq(out, "three\n", 6);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_NONE);
    ck_assert_uint_eq(b.used, 0);
    followbuf_free(&b);
}
END_TEST

START_TEST(take_in_small_pieces)
{
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 256), 0);
    followbuf_push(&b, FB_STDERR, "abcdefghij", 10);
    char out[3];
    char got[16];
    size_t n = 0;
    fb_item it;
    while ((it = followbuf_take(&b, out, sizeof(out))).kind == FB_DATA) {
        ck_assert_int_eq(it.stream, FB_STDERR);
        ck_assert_uint_le(it.len, sizeof(out));
        memcpy(got + n, out, it.len);
        n += it.len;
    }
    ck_assert_uint_eq(n, 10);
    ck_assert_mem_eq(got, "abcdefghij", 10);
    followbuf_free(&b);
}
END_TEST

/* Odd-sized writes and reads wrap the ring many times over; each stream
 * must come out byte for byte as it went in. */
START_TEST(wraps_byte_exact)
{
    const size_t total = 200000;
    char *src[2] = {pattern(total, 1), pattern(total, 2)};
    char *dst[2] = {malloc(total), malloc(total)};
    size_t in[2] = {0, 0}, out[2] = {0, 0};
    static const size_t wsizes[] = {1, 7, 100, 33, 250, 2, 999};
    static const size_t rsizes[] = {5, 64, 3, 1000, 17};
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 1500), 0);
    char buf[1000];
    for (size_t k = 0; out[0] < total || out[1] < total; k++) {
        int s = (int)(k % 3 == 0);
        size_t n = wsizes[k % 7];
        if (n > total - in[s])
            n = total - in[s];
        /* Write only what fits, so nothing is lost in this test. */
        if (b.cap - b.used >= n + 5 && n) {
            ck_assert_uint_eq(followbuf_push(&b, s, src[s] + in[s], n), n);
            in[s] += n;
        }
        ck_assert_uint_le(b.used, b.cap);
        fb_item it = followbuf_take(&b, buf, rsizes[k % 5]);
        if (it.kind == FB_DATA) {
            memcpy(dst[it.stream] + out[it.stream], buf, it.len);
            out[it.stream] += it.len;
        } else {
            ck_assert_int_eq(it.kind, FB_NONE);
        }
    }
    ck_assert_int_eq(b.behind, 0);
    for (int s = 0; s < 2; s++) {
        ck_assert_mem_eq(dst[s], src[s], total);
        free(src[s]);
        free(dst[s]);
    }
    followbuf_free(&b);
}
END_TEST

/* A reader that does not read: the buffer keeps what fits, counts the
 * rest, and reports the count after the kept bytes. */
START_TEST(behind_counts_instead_of_keeping)
{
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 100), 0);
    char *p = pattern(1000, 3);
    /* 5 bytes of header, 95 of data fit. */
    ck_assert_uint_eq(followbuf_push(&b, FB_STDOUT, p, 120), 95);
    ck_assert_int_eq(b.behind, 1);
    /* Behind: nothing more is kept, even what would fit. */
    ck_assert_uint_eq(followbuf_push(&b, FB_STDERR, "x", 1), 0);
    ck_assert_uint_eq(followbuf_push(&b, FB_STDOUT, p, 1000), 0);
    ck_assert_uint_eq(b.used, 100);

    char out[200];
    fb_item it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DATA);
    ck_assert_uint_eq(it.len, 95);
    ck_assert_mem_eq(out, p, 95);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DROPPED);
    ck_assert_int_eq(it.stream, FB_STDOUT);
    ck_assert_uint_eq(it.count, 25 + 1000);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DROPPED);
    ck_assert_int_eq(it.stream, FB_STDERR);
    ck_assert_uint_eq(it.count, 1);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_NONE);
    ck_assert_int_eq(b.behind, 0);

    /* Caught up: output is kept again, and nothing is reported twice. */
    ck_assert_uint_eq(followbuf_push(&b, FB_STDOUT, "ok\n", 3), 3);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DATA);
    ck_assert_mem_eq(out, "ok\n", 3);
    ck_assert_int_eq(followbuf_take(&b, out, sizeof(out)).kind, FB_NONE);
    free(p);
    followbuf_free(&b);
}
END_TEST

/* The loss is reported only once the reader has taken everything before
 * it, even when it reads slowly. */
START_TEST(behind_reported_after_kept_bytes)
{
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 64), 0);
    ck_assert_uint_eq(followbuf_push(&b, FB_STDERR, "0123456789", 10), 10);
    ck_assert_uint_eq(followbuf_push(&b, FB_STDERR, "0123456789012345678901234567890123456789", 40),
                      40);
    /* 4 bytes left: less than a record header, so none of it is kept. */
    ck_assert_uint_eq(followbuf_push(&b, FB_STDERR, "abcdefghij", 10), 0);
    char out[8];
    size_t data = 0;
    fb_item it;
    while ((it = followbuf_take(&b, out, sizeof(out))).kind == FB_DATA)
        data += it.len;
    ck_assert_uint_eq(data, 50);
    ck_assert_int_eq(it.kind, FB_DROPPED);
    ck_assert_uint_eq(it.count, 10);
    followbuf_free(&b);
}
END_TEST

START_TEST(attempt_marker_in_order)
{
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 256), 0);
    followbuf_push(&b, FB_STDOUT, "first\n", 6);
    followbuf_push_attempt(&b, 2);
    followbuf_push(&b, FB_STDOUT, "second\n", 7);
    char out[64];
    fb_item it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DATA);
    ck_assert_uint_eq(it.len, 6); /* not joined across the attempt */
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_ATTEMPT);
    ck_assert_uint_eq(it.count, 2);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DATA);
    ck_assert_mem_eq(out, "second\n", 7);
    followbuf_free(&b);
}
END_TEST

START_TEST(attempt_while_behind_follows_the_loss)
{
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 64), 0);
    char *p = pattern(100, 4);
    followbuf_push(&b, FB_STDOUT, p, 100);
    followbuf_push_attempt(&b, 3);
    followbuf_push(&b, FB_STDOUT, p, 10);
    char out[128];
    ck_assert_int_eq(followbuf_take(&b, out, sizeof(out)).kind, FB_DATA);
    fb_item it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_DROPPED);
    ck_assert_uint_eq(it.count, 100 - 59 + 10);
    it = followbuf_take(&b, out, sizeof(out));
    ck_assert_int_eq(it.kind, FB_ATTEMPT);
    ck_assert_uint_eq(it.count, 3);
    ck_assert_int_eq(followbuf_take(&b, out, sizeof(out)).kind, FB_NONE);
    free(p);
    followbuf_free(&b);
}
END_TEST

START_TEST(init_refuses_silly_sizes)
{
    followbuf b;
    ck_assert_int_eq(followbuf_init(&b, 8), -1);
    ck_assert_ptr_null(b.ring);
}
END_TEST

/* ---- UTF-8 ---- */

START_TEST(utf8_pending_holds_only_unfinished_characters)
{
    ck_assert_uint_eq(followbuf_utf8_pending("", 0), 0);
    ck_assert_uint_eq(followbuf_utf8_pending("abc", 3), 0);
    ck_assert_uint_eq(followbuf_utf8_pending("caf\xc3", 4), 1);
    ck_assert_uint_eq(followbuf_utf8_pending("caf\xc3\xa9", 5), 0);
    ck_assert_uint_eq(followbuf_utf8_pending("\xe2\x82", 2), 2);      /* € cut */
    ck_assert_uint_eq(followbuf_utf8_pending("x\xe2\x82\xac", 4), 0); /* € whole */
    ck_assert_uint_eq(followbuf_utf8_pending("\xf0\x9f\x98", 3), 3);  /* emoji cut */
    /* Bytes that can never become a character are not held. */
    ck_assert_uint_eq(followbuf_utf8_pending("\x80", 1), 0);
    ck_assert_uint_eq(followbuf_utf8_pending("\xc0", 1), 0);     /* overlong lead */
    ck_assert_uint_eq(followbuf_utf8_pending("\xed\xa0", 2), 0); /* surrogate */
    ck_assert_uint_eq(followbuf_utf8_pending("\xf4\x90", 2), 0); /* past U+10FFFF */
    ck_assert_uint_eq(followbuf_utf8_pending("\xe2\x28", 2), 0); /* bad continuation */
    ck_assert_uint_eq(followbuf_utf8_pending("\x80\x80\x80\x80", 4), 0);
}
END_TEST

/* ---- lines ---- */

/* Encode all of p as lines; check each is one JSON object of the stream,
 * and return the concatenated data (malloc'd) and the line count. */
static char *encode_all(int stream, const char *p, size_t n, size_t *out_len, size_t *lines)
{
    char *line = malloc(FB_LINE_ROOM);
    char *acc = malloc(n * 3 + 1);
    size_t pos = 0, len = 0;
    *lines = 0;
    while (pos < n) {
        size_t used;
        size_t l = followbuf_encode_line(line, stream, p + pos, n - pos, &used);
        ck_assert_uint_gt(used, 0);
        ck_assert_uint_le(l, FB_LINE_ROOM);
        ck_assert_int_eq(line[l - 1], '\n');
        ck_assert_ptr_null(memchr(line, '\n', l - 1)); /* one line */
        json_error_t err;
        json_t *o = json_loadb(line, l, JSON_REJECT_DUPLICATES, &err);
        ck_assert_msg(o != NULL, "not JSON: %s", err.text);
        ck_assert_str_eq(json_string_value(json_object_get(o, "stream")),
                         stream == FB_STDERR ? "stderr" : "stdout");
        json_t *d = json_object_get(o, "data");
        ck_assert(json_is_string(d));
        memcpy(acc + len, json_string_value(d), json_string_length(d));
        len += json_string_length(d);
        json_decref(o);
        pos += used;
        (*lines)++;
    }
    free(line);
    *out_len = len;
    return acc;
}

START_TEST(lines_split_at_newlines)
{
    const char *text = "one\ntwo\n\nthree";
    size_t len, lines;
    char *got = encode_all(FB_STDOUT, text, strlen(text), &len, &lines);
    ck_assert_uint_eq(lines, 4);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_mem_eq(got, text, len);
    free(got);

    char line[FB_LINE_ROOM];
    size_t used;
    size_t l = followbuf_encode_line(line, FB_STDERR, "two\nx", 5, &used);
    ck_assert_uint_eq(used, 4);
    line[l] = 0;
    ck_assert_str_eq(line, "{\"stream\":\"stderr\",\"data\":\"two\\n\"}\n");
}
END_TEST

START_TEST(lines_escape_json)
{
    const char text[] = "q\" b\\ t\t r\r c\x01\x1f del\x7f";
    char line[FB_LINE_ROOM];
    size_t used;
    size_t l = followbuf_encode_line(line, FB_STDOUT, text, sizeof(text) - 1, &used);
    line[l] = 0;
    ck_assert_str_eq(line, "{\"stream\":\"stdout\",\"data\":"
                           "\"q\\\" b\\\\ t\\t r\\r c\\u0001\\u001f del\x7f\"}\n");
    size_t len, lines;
    char *got = encode_all(FB_STDOUT, text, sizeof(text) - 1, &len, &lines);
    ck_assert_mem_eq(got, text, sizeof(text) - 1);
    free(got);
}
END_TEST

START_TEST(lines_keep_utf8_and_replace_the_rest)
{
    const char *good = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n";
    size_t len, lines;
    char *got = encode_all(FB_STDOUT, good, strlen(good), &len, &lines);
    ck_assert_uint_eq(len, strlen(good));
    ck_assert_mem_eq(got, good, len);
    free(got);

    /* A stray continuation, an overlong form, a surrogate, a cut character:
     * each bad byte becomes U+FFFD and the line stays valid. */
    const char *bad = "a\x80"
                      "b\xc0\xaf"
                      "c\xed\xa0\x80"
                      "d\xe2\x82";
    got = encode_all(FB_STDOUT, bad, strlen(bad), &len, &lines);
    const char *want = "a\xef\xbf\xbd"
                       "b\xef\xbf\xbd\xef\xbf\xbd"
                       "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                       "d\xef\xbf\xbd\xef\xbf\xbd";
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_mem_eq(got, want, len);
    free(got);
}
END_TEST

/* A line longer than FB_LINE_MAX goes out in pieces, none cut inside a
 * character, that add up to the line. */
START_TEST(long_lines_cut_at_characters)
{
    size_t n = FB_LINE_MAX * 3 + 10;
    char *text = malloc(n);
    size_t i = 0;
    text[i++] = 'x'; /* shift the euro signs off any multiple of 3 */
    while (i + 3 <= n) {
        memcpy(text + i, "\xe2\x82\xac", 3);
        i += 3;
    }
    while (i < n)
        text[i++] = 'y';
    size_t len, lines;
    char *got = encode_all(FB_STDERR, text, n, &len, &lines);
    ck_assert_uint_eq(lines, 4);
    ck_assert_uint_eq(len, n);
    ck_assert_mem_eq(got, text, n);
    free(got);
    free(text);
}
END_TEST

/* The worst case, every byte escaped, fits the documented room. */
START_TEST(worst_case_fits_line_room)
{
    char *text = malloc(FB_LINE_MAX + 100);
    memset(text, 1, FB_LINE_MAX + 100);
    char *line = malloc(FB_LINE_ROOM);
    size_t used;
    size_t l = followbuf_encode_line(line, FB_STDOUT, text, FB_LINE_MAX + 100, &used);
    ck_assert_uint_eq(used, FB_LINE_MAX);
    ck_assert_uint_le(l, FB_LINE_ROOM);
    free(line);
    free(text);
}
END_TEST

static Suite *follow_suite(void)
{
    Suite *s = suite_create("follow");
    TCase *tc = tcase_create("buffer");
    tcase_add_test(tc, take_returns_pushes_in_order_streams_apart);
    tcase_add_test(tc, take_in_small_pieces);
    tcase_add_test(tc, wraps_byte_exact);
    tcase_add_test(tc, behind_counts_instead_of_keeping);
    tcase_add_test(tc, behind_reported_after_kept_bytes);
    tcase_add_test(tc, attempt_marker_in_order);
    tcase_add_test(tc, attempt_while_behind_follows_the_loss);
    tcase_add_test(tc, init_refuses_silly_sizes);
    suite_add_tcase(s, tc);

    tc = tcase_create("lines");
    tcase_add_test(tc, utf8_pending_holds_only_unfinished_characters);
    tcase_add_test(tc, lines_split_at_newlines);
    tcase_add_test(tc, lines_escape_json);
    tcase_add_test(tc, lines_keep_utf8_and_replace_the_rest);
    tcase_add_test(tc, long_lines_cut_at_characters);
    tcase_add_test(tc, worst_case_fits_line_room);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(follow_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
