/*
 * test_http_sign.c - outgoing signatures against published test vectors:
 * the Standard Webhooks libraries' signing vector, GitHub's documented
 * example, and RFC 4231 / RFC 2202 for the generic scheme's algorithms.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sign.h"
#include "test_http_suites.h"

static struct http_sign *parse(const char *json, char *err, size_t errlen)
{
    json_t *group = json_loads(json, 0, NULL);
    struct http_sign *s = NULL;

    ck_assert_ptr_nonnull(group);
    err[0] = '\0';
    if (http_sign_parse(&s, group, err, errlen) != 0)
        s = NULL;
    json_decref(group);
    return s;
}

/* Sign and return line i (a static copy), checking the header count. */
static const char *sign_line(struct http_sign *s, const char *id, long long ts, const char *body,
                             size_t n, size_t i)
{
    static char line[512];
    struct http_signed out;

    ck_assert_int_eq(http_sign_make(s, id, ts, body, strlen(body), &out), 0);
    ck_assert_uint_eq(out.n, n);
    strncpy(line, out.lines[i], sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    http_signed_clear(&out);
    return line;
}

START_TEST(standard_webhooks_vector)
{
    /* standard-webhooks/libraries, test_sign_function. */
    static const char *const secrets[] = {
        "{\"preset\":\"standard-webhooks\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}",
        "{\"preset\":\"standard-webhooks\",\"secret\":\"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}",
    };
    const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const char *body = "{\"test\": 2432232314}";
    char err[512];

    for (size_t i = 0; i < 2; i++) {
        struct http_sign *s = parse(secrets[i], err, sizeof(err));

        ck_assert_msg(s != NULL, "%s", err);
        ck_assert_str_eq(sign_line(s, id, 1614265330, body, 3, 0),
                         "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek");
        ck_assert_str_eq(sign_line(s, id, 1614265330, body, 3, 1), "webhook-timestamp: 1614265330");
        ck_assert_str_eq(sign_line(s, id, 1614265330, body, 3, 2),
                         "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        http_sign_free(s);
    }
}
END_TEST

START_TEST(standard_webhooks_timestamp_is_signed)
{
    char err[512];
    struct http_sign *s = parse("{\"preset\":\"standard-webhooks\",\"secret\":"
                                "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}",
                                err, sizeof(err));
    char a[512];

    ck_assert_ptr_nonnull(s);
    strcpy(a, sign_line(s, "msg_1", 1614265330, "{}", 3, 2));
    ck_assert_str_ne(a, sign_line(s, "msg_1", 1614265331, "{}", 3, 2));
    ck_assert_str_ne(a, sign_line(s, "msg_2", 1614265330, "{}", 3, 2));
    ck_assert_str_ne(a, sign_line(s, "msg_1", 1614265330, "{ }", 3, 2));
    http_sign_free(s);
}
END_TEST

START_TEST(github_vector)
{
    /* GitHub docs, "Validating webhook deliveries": the example values. */
    char err[512];
    struct http_sign *s = parse("{\"preset\":\"github\",\"secret\":\"It's a Secret to Everybody\"}",
                                err, sizeof(err));

    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_str_eq(sign_line(s, "x", 1, "Hello, World!", 1, 0),
                     "X-Hub-Signature-256: "
                     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    http_sign_free(s);
}
END_TEST

START_TEST(generic_rfc4231)
{
    /* RFC 4231 test case 2 (SHA-256, SHA-512) and RFC 2202 case 2 (SHA-1). */
    static const struct {
        const char *config, *line;
    } cases[] = {
        {"{\"preset\":\"generic\",\"secret\":\"Jefe\",\"header\":\"X-Sig\"}",
         "X-Sig: 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {"{\"preset\":\"generic\",\"secret\":\"Jefe\",\"header\":\"X-Sig\",\"algorithm\":"
         "\"sha512\",\"prefix\":\"sha512=\"}",
         "X-Sig: sha512=164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
         "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
        {"{\"preset\":\"generic\",\"secret\":\"Jefe\",\"header\":\"X-Sig\",\"algorithm\":"
         "\"sha1\"}",
         "X-Sig: effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    };
    char err[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_sign *s = parse(cases[i].config, err, sizeof(err));

        ck_assert_msg(s != NULL, "%s", err);
        ck_assert_str_eq(sign_line(s, "id", 1, "what do ya want for nothing?", 1, 0),
                         cases[i].line);
        http_sign_free(s);
    }
}
END_TEST

START_TEST(generic_template)
{
    /* printf '1700000000.{"a":1}' | openssl dgst -sha512 -hmac s3cr3t -binary | base64 */
    char err[512];
    struct http_sign *s = parse(
        "{\"preset\":\"generic\",\"secret\":\"s3cr3t\",\"header\":\"X-Signature\",\"algorithm\":"
        "\"sha512\",\"encoding\":\"base64\",\"template\":\"{timestamp}.{body}\","
        "\"timestamp_header\":\"X-Timestamp\",\"id_header\":\"X-Id\"}",
        err, sizeof(err));

    ck_assert_msg(s != NULL, "%s", err);
    ck_assert_str_eq(sign_line(s, "exec-1", 1700000000, "{\"a\":1}", 3, 0),
                     "X-Signature: XtN3a9FM7rVDLlvnClgWmxsTLglGe0G/RZqx1Rm519Ibz+8RCAdkl3ivZpK+"
                     "yaIfuw93kAGF/3l6B58+I0dvhw==");
    ck_assert_str_eq(sign_line(s, "exec-1", 1700000000, "{\"a\":1}", 3, 1),
                     "X-Timestamp: 1700000000");
    ck_assert_str_eq(sign_line(s, "exec-1", 1700000000, "{\"a\":1}", 3, 2), "X-Id: exec-1");
    http_sign_free(s);
}
END_TEST

START_TEST(sign_config_errors)
{
    static const struct {
        const char *config, *needle;
    } cases[] = {
        {"{\"preset\":\"stripe\",\"secret\":\"x\"}", "sign.preset must be"},
        {"{\"preset\":\"github\"}", "sign.secret must be a non-empty string"},
        {"{\"preset\":\"github\",\"secret\":\"\"}", "sign.secret must be a non-empty string"},
        {"{\"preset\":\"github\",\"secret\":\"x\",\"secrett\":1}",
         "unknown setting \"sign.secrett\""},
        {"{\"preset\":\"github\",\"secret\":\"x\",\"header\":\"X\"}",
         "sign.header is a setting of preset = \"generic\" only"},
        {"{\"preset\":\"standard-webhooks\",\"secret\":\"whsec_%%%\"}", "does not decode"},
        {"{\"preset\":\"generic\",\"secret\":\"x\"}", "sign.header must be a header name"},
        {"{\"preset\":\"generic\",\"secret\":\"x\",\"header\":\"Bad Header\"}",
         "sign.header must be a header name"},
        {"{\"preset\":\"generic\",\"secret\":\"x\",\"header\":\"X\",\"algorithm\":\"md5\"}",
         "sign.algorithm must be"},
        {"{\"preset\":\"generic\",\"secret\":\"x\",\"header\":\"X\",\"encoding\":\"b32\"}",
         "sign.encoding must be"},
        {"{\"preset\":\"generic\",\"secret\":\"x\",\"header\":\"X\",\"template\":\"{timestamp}\"}",
         "must contain {body}"},
        {"{\"preset\":\"generic\",\"secret\":\"x\",\"header\":\"X\",\"template\":"
         "\"{timestamp}.{body}\"}",
         "set sign.timestamp_header"},
        {"{\"preset\":\"generic\",\"secret\":\"x\",\"header\":\"X\",\"template\":\"{nope}{body}\"}",
         "unknown token"},
        {"[1]", "sign must be a group"},
    };
    char err[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_sign *s = parse(cases[i].config, err, sizeof(err));

        ck_assert_msg(!s, "case %zu was accepted", i);
        ck_assert_msg(strstr(err, cases[i].needle) != NULL, "case %zu: \"%s\" lacks \"%s\"", i, err,
                      cases[i].needle);
    }
}
END_TEST

START_TEST(whsec_key_decoding)
{
    unsigned char *key = NULL;
    size_t len = 0;

    ck_assert_int_eq(http_sign_whsec_key("whsec_aGVsbG8=", &key, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(key, "hello", 5), 0);
    free(key);
    ck_assert_int_eq(http_sign_whsec_key("whsec_", &key, &len), -1);
    ck_assert_int_eq(http_sign_whsec_key("whsec_a*b", &key, &len), -1);
}
END_TEST

Suite *http_sign_suite(void)
{
    Suite *s = suite_create("http_sign");
    TCase *tc = tcase_create("sign");

    tcase_add_test(tc, standard_webhooks_vector);
    tcase_add_test(tc, standard_webhooks_timestamp_is_signed);
    tcase_add_test(tc, github_vector);
    tcase_add_test(tc, generic_rfc4231);
    tcase_add_test(tc, generic_template);
    tcase_add_test(tc, sign_config_errors);
    tcase_add_test(tc, whsec_key_decoding);
    suite_add_tcase(s, tc);
    return s;
}
