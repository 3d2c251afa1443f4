/*
 * test_auth.c - keys, Basic, HMAC schemes and addresses (core/gate/auth.c).
 *
 * The signature tests use the senders' published vectors, not values this
 * code computed itself: a round trip through our own signer would agree
 * with a wrong delimiter or key decoding just as happily.
 *   GitHub   docs.github.com, "Validating webhook deliveries"
 *   Standard Webhooks  the spec's reference-library vector (whsec_MfKQ...)
 *   Slack    api.slack.com, "Verifying requests from Slack"
 *   Stripe   no vector is published; the expected value below is
 *            HMAC-SHA256(secret, "1492774577." + body) computed with
 *            `openssl dgst -sha256 -hmac`, the scheme Stripe documents.
 *   HMAC itself: RFC 4231 test case 2.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "codec.h"

/* ---- a request with headers ---- */

typedef struct fake_rq {
    http_request rq;
    kv h[16];
} fake_rq;

static void rq_init(fake_rq *f, const char *body)
{
    memset(f, 0, sizeof(*f));
    f->rq.headers = f->h;
    f->rq.body = (unsigned char *)(body ? strdup(body) : NULL);
    f->rq.body_len = body ? strlen(body) : 0;
    strcpy(f->rq.remote_addr, "127.0.0.1");
}

static void rq_header(fake_rq *f, const char *name, const char *value)
{
    ck_assert_uint_lt(f->rq.n_headers, 16);
    f->h[f->rq.n_headers].name = (char *)name;
    f->h[f->rq.n_headers].value = (char *)value;
    f->rq.n_headers++;
}

static void rq_free(fake_rq *f)
{
    free(f->rq.body);
}

static auth_hmac *preset(const char *name, const char *secret)
{
    static auth_hmac h;
    char err[256];
    ck_assert_int_eq(auth_hmac_init(&h, name, err, sizeof(err)), 0);
    if (secret)
        ck_assert_int_eq(auth_hmac_add_secret(&h, secret, err, sizeof(err)), 0);
    return &h;
}

static int verify(auth_hmac *h, fake_rq *f, int64_t now, char *msg)
{
    return auth_hmac_verify(h, &f->rq, now, msg, 256);
}

/* ---- HMAC primitive ---- */

START_TEST(test_rfc4231_case2)
{
    const unsigned char *parts[] = {(const unsigned char *)"what do ya want ",
                                    (const unsigned char *)"for nothing?"};
    size_t lens[] = {16, 12};
    unsigned char mac[AUTH_MAC_MAX];
    char hex[2 * AUTH_MAC_MAX + 1];
    int n =
        auth_hmac_compute(AUTH_ALG_SHA256, (const unsigned char *)"Jefe", 4, parts, lens, 2, mac);
    ck_assert_int_eq(n, 32);
    codec_hex_encode(mac, 32, hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

/* ---- GitHub ---- */

START_TEST(test_github_vector)
{
    fake_rq f;
    char msg[256];
    rq_init(&f, "Hello, World!");
    rq_header(&f, "x-hub-signature-256",
              "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    auth_hmac *h = preset("github", "It's a Secret to Everybody");
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_OK);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

START_TEST(test_github_wrong_and_missing)
{
    fake_rq f;
    char msg[256];
    rq_init(&f, "Hello, World!");
    auth_hmac *h = preset("github", "It's a Secret to Everybody");
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_MISSING);
    ck_assert_ptr_nonnull(strstr(msg, "x-hub-signature-256"));
    rq_header(&f, "x-hub-signature-256",
              "sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_WRONG);
    /* The message must not echo the expected signature. */
    ck_assert_ptr_null(strstr(msg, "757107ea"));
    auth_hmac_free(h);
    rq_free(&f);

    /* One body byte changed: refused. */
    rq_init(&f, "Hello, World?");
    rq_header(&f, "x-hub-signature-256",
              "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    h = preset("github", "It's a Secret to Everybody");
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);

    /* No prefix: refused, not guessed. */
    rq_init(&f, "Hello, World!");
    rq_header(&f, "x-hub-signature-256",
              "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    h = preset("github", "It's a Secret to Everybody");
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

START_TEST(test_github_legacy_sha1)
{
    fake_rq f;
    char msg[256];
    rq_init(&f, "Hello, World!");
    rq_header(&f, "x-hub-signature", "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59");
    auth_hmac *h = preset("github", "It's a Secret to Everybody");
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_OK);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

START_TEST(test_github_rotation)
{
    fake_rq f;
    char msg[256], err[256];
    rq_init(&f, "Hello, World!");
    rq_header(&f, "x-hub-signature-256",
              "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    auth_hmac *h = preset("github", "the new secret");
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_WRONG);
    ck_assert_int_eq(auth_hmac_add_secret(h, "It's a Secret to Everybody", err, sizeof(err)), 0);
    ck_assert_int_eq(verify(h, &f, 0, msg), AUTH_OK);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

/* ---- Standard Webhooks ---- */

#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS "1614265330"
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

START_TEST(test_standard_vector)
{
    fake_rq f;
    char msg[256];
    rq_init(&f, SW_BODY);
    rq_header(&f, "webhook-id", SW_ID);
    rq_header(&f, "webhook-timestamp", SW_TS);
    rq_header(&f, "webhook-signature", SW_SIG);
    auth_hmac *h = preset("standard-webhooks", SW_SECRET);
    ck_assert_int_eq(verify(h, &f, 1614265330, msg), AUTH_OK);
    /* Within five minutes either way; beyond, refused. */
    ck_assert_int_eq(verify(h, &f, 1614265330 + 300, msg), AUTH_OK);
    ck_assert_int_eq(verify(h, &f, 1614265330 - 300, msg), AUTH_OK);
    ck_assert_int_eq(verify(h, &f, 1614265330 + 301, msg), AUTH_WRONG);
    ck_assert_ptr_nonnull(strstr(msg, "300 seconds"));
    ck_assert_int_eq(verify(h, &f, 1614265330 - 301, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

START_TEST(test_standard_signature_list)
{
    fake_rq f;
    char msg[256];
    rq_init(&f, SW_BODY);
    rq_header(&f, "webhook-id", SW_ID);
    rq_header(&f, "webhook-timestamp", SW_TS);
    /* Several signatures (the sender's own rotation), other versions ignored. */
    rq_header(&f, "webhook-signature", "v1a,AAAA v1,bm9wZQ== " SW_SIG);
    auth_hmac *h = preset("standard-webhooks", SW_SECRET);
    ck_assert_int_eq(verify(h, &f, 1614265330, msg), AUTH_OK);
    auth_hmac_free(h);
    rq_free(&f);

    /* The id is signed: another id fails. */
    rq_init(&f, SW_BODY);
    rq_header(&f, "webhook-id", "msg_other");
    rq_header(&f, "webhook-timestamp", SW_TS);
    rq_header(&f, "webhook-signature", SW_SIG);
    h = preset("standard-webhooks", SW_SECRET);
    ck_assert_int_eq(verify(h, &f, 1614265330, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);

    /* Svix's header names carry the same scheme. */
    rq_init(&f, SW_BODY);
    rq_header(&f, "svix-id", SW_ID);
    rq_header(&f, "svix-timestamp", SW_TS);
    rq_header(&f, "svix-signature", SW_SIG);
    h = preset("standard-webhooks", SW_SECRET);
    ck_assert_int_eq(verify(h, &f, 1614265330, msg), AUTH_OK);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

START_TEST(test_standard_bad_secret)
{
    auth_hmac h;
    char err[256];
    ck_assert_int_eq(auth_hmac_init(&h, "standard-webhooks", err, sizeof(err)), 0);
    ck_assert_int_eq(auth_hmac_add_secret(&h, "whsec_!!!not base64", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "whsec_"));
    auth_hmac_free(&h);
    ck_assert_int_eq(auth_hmac_init(&h, "nosuch", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "nosuch"));
}
END_TEST

/* ---- Slack ---- */

#define SLACK_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define SLACK_BODY                                                                             \
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="     \
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-" \
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"         \
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."           \
    "803a0bc887a14d10d2c447fce8b6703c"

START_TEST(test_slack_vector)
{
    fake_rq f;
    char msg[256];
    rq_init(&f, SLACK_BODY);
    rq_header(&f, "x-slack-request-timestamp", "1531420618");
    rq_header(&f, "x-slack-signature",
              "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503");
    auth_hmac *h = preset("slack", SLACK_SECRET);
    ck_assert_int_eq(verify(h, &f, 1531420618 + 10, msg), AUTH_OK);
    ck_assert_int_eq(verify(h, &f, 1531420618 + 301, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);

    /* Without the timestamp header: refused (the timestamp is signed). */
    rq_init(&f, SLACK_BODY);
    rq_header(&f, "x-slack-signature",
              "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503");
    h = preset("slack", SLACK_SECRET);
    ck_assert_int_eq(verify(h, &f, 1531420618, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

/* ---- Stripe ---- */

#define STRIPE_BODY "{\"id\":\"evt_test\",\"object\":\"event\"}"
#define STRIPE_V1 "9ce25c664a7dadc67293c6a8447c13d20be86661857de7d4580e7dbbf805769b"

START_TEST(test_stripe_scheme)
{
    fake_rq f;
    char msg[256];
    rq_init(&f, STRIPE_BODY);
    rq_header(&f, "stripe-signature", "t=1492774577,v1=" STRIPE_V1 ",v0=6ffbb59b2300aae63f27");
    auth_hmac *h = preset("stripe", "whsec_stripe_demo_secret");
    ck_assert_int_eq(verify(h, &f, 1492774577, msg), AUTH_OK);
    ck_assert_int_eq(verify(h, &f, 1492774577 + 301, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);

    /* Several v1 entries (Stripe's own rotation): any one may match. */
    rq_init(&f, STRIPE_BODY);
    rq_header(&f, "stripe-signature",
              "t=1492774577,v1=00000000000000000000000000000000000000000000000000000000000000"
              "00,v1=" STRIPE_V1);
    h = preset("stripe", "whsec_stripe_demo_secret");
    ck_assert_int_eq(verify(h, &f, 1492774577, msg), AUTH_OK);
    auth_hmac_free(h);
    rq_free(&f);

    /* The timestamp is signed: a changed t fails even inside the tolerance. */
    rq_init(&f, STRIPE_BODY);
    rq_header(&f, "stripe-signature", "t=1492774578,v1=" STRIPE_V1);
    h = preset("stripe", "whsec_stripe_demo_secret");
    ck_assert_int_eq(verify(h, &f, 1492774577, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);

    /* No t=: refused. */
    rq_init(&f, STRIPE_BODY);
    rq_header(&f, "stripe-signature", "v1=" STRIPE_V1);
    h = preset("stripe", "whsec_stripe_demo_secret");
    ck_assert_int_eq(verify(h, &f, 1492774577, msg), AUTH_WRONG);
    auth_hmac_free(h);
    rq_free(&f);
}
END_TEST

/* ---- generic ---- */

START_TEST(test_generic_template)
{
    fake_rq f;
    char msg[256], err[256];
    rq_init(&f, "payload");
    rq_header(&f, "x-sig",
              "sha512:5a2Im+hLyR/EMX5q79T8OMrAu2b0uH0XM99FSCDYhJ8H5yuZ9wvwL14CDHTpQ3"
              "xG3Iq0mQ+vr2oJUNk5uMUFvw==");
    rq_header(&f, "x-ts", "1700000000");
    rq_header(&f, "x-id", "id-42");
    auth_hmac h;
    ck_assert_int_eq(auth_hmac_init(&h, "generic", err, sizeof(err)), 0);
    free(h.prefix);
    free(h.tmpl);
    h.header = strdup("x-sig");
    h.prefix = strdup("sha512:");
    h.tmpl = strdup("{timestamp}.{id}.{body}");
    h.ts_header = strdup("x-ts");
    h.id_header = strdup("x-id");
    h.enc = AUTH_ENC_BASE64;
    h.alg = AUTH_ALG_SHA512;
    h.tolerance_s = 60;
    ck_assert_int_eq(auth_hmac_validate(&h, err, sizeof(err)), -1); /* no secret yet */
    ck_assert_int_eq(auth_hmac_add_secret(&h, "generic-secret", err, sizeof(err)), 0);
    ck_assert_int_eq(auth_hmac_validate(&h, err, sizeof(err)), 0);
    ck_assert_int_eq(verify(&h, &f, 1700000000, msg), AUTH_OK);
    ck_assert_int_eq(verify(&h, &f, 1700000061, msg), AUTH_WRONG);
    auth_hmac_free(&h);
    rq_free(&f);

    /* Templates are checked: unknown placeholders, no {body}, missing headers. */
    ck_assert_int_eq(auth_hmac_init(&h, NULL, err, sizeof(err)), 0);
    h.header = strdup("x-sig");
    auth_hmac_add_secret(&h, "s", err, sizeof(err));
    free(h.tmpl);
    h.tmpl = strdup("{body}.{nonce}");
    ck_assert_int_eq(auth_hmac_validate(&h, err, sizeof(err)), -1);
    free(h.tmpl);
    h.tmpl = strdup("{timestamp}");
    ck_assert_int_eq(auth_hmac_validate(&h, err, sizeof(err)), -1);
    free(h.tmpl);
    h.tmpl = strdup("{timestamp}.{body}");
    ck_assert_int_eq(auth_hmac_validate(&h, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "timestamp_header"));
    auth_hmac_free(&h);
}
END_TEST

/* ---- keys and Basic ---- */

START_TEST(test_keyset)
{
    auth_keyset ks = {0};
    ck_assert_int_eq(auth_keyset_add(&ks, "", 0), -1);
    ck_assert_int_eq(auth_keyset_add(&ks, "old-key", 7), 0);
    ck_assert_int_eq(auth_keyset_add(&ks, "new-key", 7), 0);
    ck_assert(auth_keyset_match(&ks, "old-key", 7));
    ck_assert(auth_keyset_match(&ks, "new-key", 7));
    ck_assert(!auth_keyset_match(&ks, "new-ke", 6));
    ck_assert(!auth_keyset_match(&ks, "new-key2", 8));
    ck_assert(!auth_keyset_match(&ks, "", 0));
    ck_assert(!auth_keyset_match(&ks, NULL, 0));
    auth_keyset_free(&ks);
}
END_TEST

START_TEST(test_basic_and_bearer)
{
    char out[128];
    /* "alice:s3cr:et" - the password may contain colons. */
    ck_assert_int_eq(auth_basic_decode("Basic YWxpY2U6czNjcjpldA==", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "alice:s3cr:et");
    ck_assert_int_eq(auth_basic_decode("basic   YWxpY2U6czNjcjpldA==", out, sizeof(out)), 1);
    ck_assert_int_eq(auth_basic_decode("Bearer abc", out, sizeof(out)), 0);
    ck_assert_int_eq(auth_basic_decode(NULL, out, sizeof(out)), 0);
    ck_assert_int_eq(auth_basic_decode("Basic !!!", out, sizeof(out)), -1);
    ck_assert_int_eq(auth_basic_decode("Basic YWxpY2U=", out, sizeof(out)), -1); /* no colon */
    ck_assert_str_eq(auth_bearer_token("Bearer tok123"), "tok123");
    ck_assert_str_eq(auth_bearer_token("bearer  tok123"), "tok123");
    ck_assert_ptr_null(auth_bearer_token("Bearer "));
    ck_assert_ptr_null(auth_bearer_token("Basic abc"));
    ck_assert_ptr_null(auth_bearer_token("Bearertok"));
}
END_TEST

START_TEST(test_encodings)
{
    unsigned char out[32];
    size_t n;
    char s[64];
    ck_assert_int_eq(codec_b64_decode("aGk", 3, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(memcmp(out, "hi", 2), 0);
    ck_assert_int_eq(codec_b64_decode("-_8", 3, out, sizeof(out), &n), 0);
    ck_assert_int_eq(codec_b64_decode("+/8=", 4, out, sizeof(out), &n), 0);
    ck_assert_int_eq(codec_b64_decode("a", 1, out, sizeof(out), &n), -1);
    ck_assert_int_eq(codec_b64_decode("a b=", 4, out, sizeof(out), &n), -1);
    const unsigned char raw[16] = {0xfb, 0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    codec_b64url_encode(raw, 16, s);
    ck_assert_uint_eq(strlen(s), 22);
    ck_assert_str_eq(s, "-_8AAQIDBAUGBwgJCgsMDQ");
    ck_assert_int_eq(codec_hex_decode("0aFf", 4, out, sizeof(out), &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[1], 0xff);
    ck_assert_int_eq(codec_hex_decode("0g", 2, out, sizeof(out), &n), -1);
    ck_assert_int_eq(codec_hex_decode("abc", 3, out, sizeof(out), &n), -1);
    /* Nettle would skip whitespace and '=' inside; sluice's inputs have none. */
    ck_assert_int_eq(codec_hex_decode("0a f", 4, out, sizeof(out), &n), -1);
    ck_assert_int_eq(codec_b64_decode("aG\nk", 4, out, sizeof(out), &n), -1);
    ck_assert_int_eq(codec_b64_decode("aG=k", 4, out, sizeof(out), &n), -1);
    /* More bytes than the caller's buffer is bad input, never an overflow. */
    ck_assert_int_eq(codec_b64_decode("aGk", 3, out, 1, &n), -1);
    ck_assert_int_eq(codec_b64_decode("aGk", 3, out, 2, &n), 0);
    ck_assert_int_eq(codec_hex_decode("0aff", 4, out, 1, &n), -1);
    codec_hex_encode(raw, 3, s);
    ck_assert_str_eq(s, "fbff00");
}
END_TEST

/* ---- addresses ---- */

static int in(const char *cidr, const char *addr)
{
    auth_cidr c;
    unsigned char a[16];
    ck_assert_int_eq(auth_cidr_parse(cidr, &c), 0);
    ck_assert_int_eq(auth_addr_parse(addr, a), 0);
    return auth_cidr_contains(&c, a);
}

START_TEST(test_cidr)
{
    ck_assert(in("10.0.0.0/8", "10.200.3.4"));
    ck_assert(!in("10.0.0.0/8", "11.0.0.1"));
    ck_assert(in("192.168.1.0/25", "192.168.1.127"));
    ck_assert(!in("192.168.1.0/25", "192.168.1.128"));
    ck_assert(in("127.0.0.1", "127.0.0.1"));
    ck_assert(!in("127.0.0.1", "127.0.0.2"));
    ck_assert(in("0.0.0.0/0", "8.8.8.8"));
    ck_assert(in("2001:db8::/32", "2001:db8:1::5"));
    ck_assert(!in("2001:db8::/32", "2001:db9::1"));
    ck_assert(in("::1", "::1"));
    ck_assert(!in("::1/128", "::2"));
    /* An IPv4 peer seen through an IPv6 socket is the same address. */
    ck_assert(in("127.0.0.0/8", "::ffff:127.0.0.1"));
    ck_assert(in("::/0", "1.2.3.4"));
    auth_cidr c;
    ck_assert_int_eq(auth_cidr_parse("10.0.0.0/33", &c), -1);
    ck_assert_int_eq(auth_cidr_parse("::/129", &c), -1);
    ck_assert_int_eq(auth_cidr_parse("10.0.0/8", &c), -1);
    ck_assert_int_eq(auth_cidr_parse("10.0.0.0/", &c), -1);
    ck_assert_int_eq(auth_cidr_parse("10.0.0.0/8x", &c), -1);
    ck_assert_int_eq(auth_cidr_parse("", &c), -1);
}
END_TEST

START_TEST(test_forwarded_for)
{
    fake_rq f;
    char out[64];
    char *trusted[] = {"127.0.0.1/32", "10.0.0.0/8", NULL};

    /* From an untrusted peer, X-Forwarded-For is ignored. */
    rq_init(&f, NULL);
    strcpy(f.rq.remote_addr, "192.0.2.7");
    rq_header(&f, "x-forwarded-for", "10.1.1.1");
    auth_client_addr(&f.rq, trusted, out, sizeof(out));
    ck_assert_str_eq(out, "192.0.2.7");
    rq_free(&f);

    /* From a trusted proxy: the rightmost address that is not a proxy.
     * The leftmost entry is whatever the sender wrote: not believed. */
    rq_init(&f, NULL);
    rq_header(&f, "x-forwarded-for", "10.9.9.9, 203.0.113.5, 10.0.0.2");
    auth_client_addr(&f.rq, trusted, out, sizeof(out));
    ck_assert_str_eq(out, "203.0.113.5");
    rq_free(&f);

    /* Several headers form one list; ports and brackets are stripped. */
    rq_init(&f, NULL);
    rq_header(&f, "x-forwarded-for", "198.51.100.1");
    rq_header(&f, "x-forwarded-for", "[2001:db8::1]:443, 10.0.0.3:8080");
    auth_client_addr(&f.rq, trusted, out, sizeof(out));
    ck_assert_str_eq(out, "2001:db8::1");
    rq_free(&f);

    /* Garbage stops the walk at the last trusted hop. */
    rq_init(&f, NULL);
    rq_header(&f, "x-forwarded-for", "not-an-address");
    auth_client_addr(&f.rq, trusted, out, sizeof(out));
    ck_assert_str_eq(out, "127.0.0.1");
    rq_free(&f);

    /* No trusted proxies configured: always the peer. */
    rq_init(&f, NULL);
    rq_header(&f, "x-forwarded-for", "203.0.113.5");
    auth_client_addr(&f.rq, NULL, out, sizeof(out));
    ck_assert_str_eq(out, "127.0.0.1");
    rq_free(&f);
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("hmac");
    tcase_add_test(tc, test_rfc4231_case2);
    tcase_add_test(tc, test_github_vector);
    tcase_add_test(tc, test_github_wrong_and_missing);
    tcase_add_test(tc, test_github_legacy_sha1);
    tcase_add_test(tc, test_github_rotation);
    tcase_add_test(tc, test_standard_vector);
    tcase_add_test(tc, test_standard_signature_list);
    tcase_add_test(tc, test_standard_bad_secret);
    tcase_add_test(tc, test_slack_vector);
    tcase_add_test(tc, test_stripe_scheme);
    tcase_add_test(tc, test_generic_template);
    suite_add_tcase(s, tc);
    tc = tcase_create("keys");
    tcase_add_test(tc, test_keyset);
    tcase_add_test(tc, test_basic_and_bearer);
    tcase_add_test(tc, test_encodings);
    suite_add_tcase(s, tc);
    tc = tcase_create("addresses");
    tcase_add_test(tc, test_cidr);
    tcase_add_test(tc, test_forwarded_for);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(auth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
