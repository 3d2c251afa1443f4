/*
 * test_framing.c - the framing checks on header entries, and the origin
 * form of absolute targets.
 */
#include "framing.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A head as "Name: value" strings; a value may hold a NUL if len says so. */
typedef struct {
    const char *name, *value;
    size_t value_len; /* 0: strlen */
} hdr;

static int judge(const hdr *h, size_t n, const char *version, framing_verdict *v)
{
    framing_field f[FRAMING_MAX_FIELDS + 8];
    for (size_t i = 0; i < n; i++)
        f[i] = (framing_field){h[i].name,  strlen(h[i].name),
                               h[i].value, h[i].value_len ? h[i].value_len : strlen(h[i].value),
                               0,          0};
    return framing_check(f, n, version, v);
}

#define ACCEPT(...)                                                                \
    do {                                                                           \
        hdr h_[] = {__VA_ARGS__};                                                  \
        framing_verdict v_;                                                        \
        ck_assert_msg(judge(h_, sizeof(h_) / sizeof(h_[0]), "HTTP/1.1", &v_) == 0, \
                      "refused: %d %s", v_.status, v_.message);                    \
    } while (0)

#define REFUSE(status_, ...)                                                          \
    do {                                                                              \
        hdr h_[] = {__VA_ARGS__};                                                     \
        framing_verdict v_;                                                           \
        ck_assert_int_eq(judge(h_, sizeof(h_) / sizeof(h_[0]), "HTTP/1.1", &v_), -1); \
        ck_assert_int_eq(v_.status, (status_));                                       \
        ck_assert(v_.code &&v_.message[0]);                                           \
    } while (0)

#define HOST                     \
    {                            \
        "Host", "example.org", 0 \
    }

START_TEST(plain_heads_pass)
{
    ACCEPT(HOST);
    ACCEPT(HOST, {"Content-Length", "12", 0}, {"Content-Type", "application/json", 0});
    ACCEPT(HOST, {"Transfer-Encoding", "chunked", 0});
    ACCEPT(HOST, {"transfer-encoding", "Chunked", 0});
    ACCEPT(HOST, {"Content-Length", "5", 0}, {"Content-Length", "5", 0});
    ACCEPT(HOST, {"X-Tab", "a\tb", 0}, {"X-Utf8", "caf\xc3\xa9", 0});
}
END_TEST

START_TEST(content_length_must_be_one_number)
{
    REFUSE(400, HOST, {"Content-Length", "3", 0}, {"Content-Length", "30", 0});
    REFUSE(400, HOST, {"Content-Length", "3, 3", 0});
    REFUSE(400, HOST, {"Content-Length", "+3", 0});
    REFUSE(400, HOST, {"Content-Length", "-1", 0});
    REFUSE(400, HOST, {"Content-Length", "", 0});
    REFUSE(400, HOST, {"Content-Length", "12345678901234567890123", 0});
    REFUSE(400, HOST, {"Content-Length", "3", 0}, {"Transfer-Encoding", "chunked", 0});
}
END_TEST

START_TEST(transfer_encoding_must_end_in_chunked)
{
    REFUSE(400, HOST, {"Transfer-Encoding", "xchunked", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", "chunked, identity", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", "chunked", 0}, {"Transfer-Encoding", "chunked", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", "", 0});
    REFUSE(501, HOST, {"Transfer-Encoding", "gzip, chunked", 0});
    REFUSE(501, HOST, {"Transfer-Encoding", "gzip", 0}, {"Transfer-Encoding", "chunked", 0});
    /* The same list spelled so that libmicrohttpd reads to the close. */
    REFUSE(400, HOST, {"Transfer-Encoding", "chunked ", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", "chunked\t", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", ",chunked", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", "chunked,", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", ", chunked", 0});
    REFUSE(400, HOST, {"Transfer-Encoding", "", 0}, {"Transfer-Encoding", "chunked", 0});
    ACCEPT(HOST, {"Transfer-Encoding", "Chunked", 0});
}
END_TEST

START_TEST(transfer_encoding_needs_1_1)
{
    framing_verdict v;
    hdr h[] = {{"Transfer-Encoding", "chunked", 0}};
    ck_assert_int_eq(judge(h, 1, "HTTP/1.0", &v), -1);
    ck_assert_int_eq(v.status, 400);
    ck_assert(strstr(v.message, "HTTP/1.0"));
    ck_assert(v.has_body && v.delimited); /* read to its end, then refused */
}
END_TEST

START_TEST(names_and_values_are_clean)
{
    REFUSE(400, HOST, {"Transfer-Encoding ", "chunked", 0});
    REFUSE(400, HOST, {"X A", "b", 0});
    REFUSE(400, HOST, {"X:A", "b", 0});
    REFUSE(400, HOST, {"", "b", 0});
    REFUSE(400, HOST, {"X-A", "a\rb", 0});
    REFUSE(400, HOST, {"X-A", "a\nb", 0});
    REFUSE(400, HOST, {"X-A", "a\x7f", 0});
    REFUSE(400, HOST, {"X-A", "a\0b", 3});
}
END_TEST

START_TEST(lines_the_library_changed)
{
    framing_field f[2] = {{"Host", 4, "x", 1, 0, 0}, {"X-A", 3, "b", 1, 1, 0}};
    framing_verdict v;
    ck_assert_int_eq(framing_check(f, 2, "HTTP/1.1", &v), -1);
    ck_assert_int_eq(v.status, 400);
    ck_assert(strstr(v.message, "folded"));
    f[1].folded = 0;
    f[0].bad_ending = 1;
    ck_assert_int_eq(framing_check(f, 2, "HTTP/1.1", &v), -1);
    ck_assert(strstr(v.message, "CRLF"));
}
END_TEST

START_TEST(host_is_required_once_in_1_1)
{
    framing_verdict v;
    hdr none[] = {{"Accept", "*/*", 0}};
    ck_assert_int_eq(judge(none, 1, "HTTP/1.1", &v), -1);
    ck_assert_int_eq(v.status, 400);
    ck_assert_int_eq(judge(none, 1, "HTTP/1.0", &v), 0);
    REFUSE(400, HOST, HOST);
}
END_TEST

START_TEST(too_many_fields_is_431)
{
    static hdr h[FRAMING_MAX_FIELDS + 1];
    static char names[FRAMING_MAX_FIELDS + 1][16];
    for (size_t i = 0; i <= FRAMING_MAX_FIELDS; i++) {
        snprintf(names[i], sizeof(names[i]), "X-%zu", i);
        h[i] = (hdr){names[i], "v", 0};
    }
    h[0] = (hdr)HOST;
    framing_verdict v;
    ck_assert_int_eq(judge(h, FRAMING_MAX_FIELDS, "HTTP/1.1", &v), 0);
    ck_assert_int_eq(judge(h, FRAMING_MAX_FIELDS + 1, "HTTP/1.1", &v), -1);
    ck_assert_int_eq(v.status, 431);
}
END_TEST

START_TEST(body_presence_and_delimiting)
{
    framing_verdict v;
    hdr a[] = {HOST, {"Content-Length", "0", 0}};
    ck_assert_int_eq(judge(a, 2, "HTTP/1.1", &v), 0);
    ck_assert_int_eq(v.has_body, 0);
    hdr b[] = {HOST, {"Content-Length", "7", 0}};
    ck_assert_int_eq(judge(b, 2, "HTTP/1.1", &v), 0);
    ck_assert_int_eq(v.has_body, 1);
    hdr c[] = {HOST, {"Content-Length", "3", 0}, {"Transfer-Encoding", "chunked", 0}};
    ck_assert_int_eq(judge(c, 3, "HTTP/1.1", &v), -1);
    ck_assert(v.has_body && v.delimited); /* the library can read it to its end */
    hdr d[] = {HOST, {"Transfer-Encoding", "xchunked", 0}};
    ck_assert_int_eq(judge(d, 2, "HTTP/1.1", &v), -1);
    ck_assert(v.has_body && !v.delimited); /* it would read until the peer closes */
}
END_TEST

START_TEST(origin_form)
{
    ck_assert_str_eq(framing_origin_form("/hooks/x?a=1"), "/hooks/x?a=1");
    ck_assert_str_eq(framing_origin_form("http://127.0.0.1/hooks/x"), "/hooks/x");
    ck_assert_str_eq(framing_origin_form("HTTP://h:8080/hooks/x?a=1"), "/hooks/x?a=1");
    ck_assert_str_eq(framing_origin_form("https://h/p"), "/p");
    ck_assert_str_eq(framing_origin_form("http://h"), "");
    ck_assert_str_eq(framing_origin_form("http://h?q=1"), "?q=1");
    ck_assert_str_eq(framing_origin_form("*"), "*");
    ck_assert_str_eq(framing_origin_form("ftp://h/p"), "ftp://h/p");
}
END_TEST

static Suite *framing_suite(void)
{
    Suite *s = suite_create("framing");
    TCase *tc = tcase_create("checks");
    tcase_add_test(tc, plain_heads_pass);
    tcase_add_test(tc, content_length_must_be_one_number);
    tcase_add_test(tc, transfer_encoding_must_end_in_chunked);
    tcase_add_test(tc, transfer_encoding_needs_1_1);
    tcase_add_test(tc, names_and_values_are_clean);
    tcase_add_test(tc, lines_the_library_changed);
    tcase_add_test(tc, host_is_required_once_in_1_1);
    tcase_add_test(tc, too_many_fields_is_431);
    tcase_add_test(tc, body_presence_and_delimiting);
    suite_add_tcase(s, tc);
    tc = tcase_create("target");
    tcase_add_test(tc, origin_form);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(framing_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
