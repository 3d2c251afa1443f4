/*
 * test_apiauth.c - which requests the admin API counts as from this host
 * (apiauth_is_local): loopback peers that forward for nobody, and nothing
 * behind trusted proxies; and the keys wrong tokens count under.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiauth.h"
#include "config.h"
#include "event.h"
#include "ratelimit.h"

static char *trusted[] = {"127.0.0.1/32", "::1", NULL};
static sluice_config with_proxies = {.server = {.trusted_proxies = trusted}};
static sluice_config without_proxies;

/* A request from peer with headers "name", "value", ... NULL: whether it
 * is local, or (key) the key its wrong tokens count under. */
static int vrequest(const sluice_config *cfg, char *key, const char *peer, va_list ap)
{
    http_request rq = {0};
    kv h[8];
    snprintf(rq.remote_addr, sizeof(rq.remote_addr), "%s", peer);
    const char *n;
    while ((n = va_arg(ap, const char *)) && rq.n_headers < 8) {
        h[rq.n_headers].name = (char *)n;
        h[rq.n_headers].value = va_arg(ap, char *);
        rq.n_headers++;
    }
    rq.headers = h;
    int peer_loopback = strncmp(peer, "127.", 4) == 0 || strcmp(peer, "::1") == 0;
    if (key) {
        apiauth_fail_key(&rq, cfg, peer_loopback, key, 128);
        return 0;
    }
    return apiauth_is_local(&rq, cfg, peer_loopback);
}

static int local(const sluice_config *cfg, const char *peer, ...)
{
    va_list ap;
    va_start(ap, peer);
    int r = vrequest(cfg, NULL, peer, ap);
    va_end(ap);
    return r;
}

/* The failure key, in a static buffer per call site's slot. */
static const char *key(int slot, const sluice_config *cfg, const char *peer, ...)
{
    static char keys[4][128];
    va_list ap;
    va_start(ap, peer);
    vrequest(cfg, keys[slot], peer, ap);
    va_end(ap);
    return keys[slot];
}

START_TEST(direct_peers)
{
    ck_assert_int_eq(local(&without_proxies, "127.0.0.1", NULL), 1);
    ck_assert_int_eq(local(&without_proxies, "::1", NULL), 1);
    ck_assert_int_eq(local(&without_proxies, "203.0.113.9", NULL), 0);
    /* A remote peer claiming loopback is still remote. */
    ck_assert_int_eq(local(&with_proxies, "203.0.113.9", "x-forwarded-for", "127.0.0.1", NULL), 0);
}
END_TEST

START_TEST(untrusted_forwarders)
{
    /* Whatever a peer that is not a trusted proxy says about its client. */
    ck_assert_int_eq(local(&without_proxies, "127.0.0.1", "x-forwarded-for", "127.0.0.1", NULL), 0);
    ck_assert_int_eq(local(&without_proxies, "127.0.0.1", "x-real-ip", "127.0.0.1", NULL), 0);
    ck_assert_int_eq(local(&without_proxies, "127.0.0.1", "forwarded", "for=127.0.0.1", NULL), 0);
    ck_assert_int_eq(local(&with_proxies, "127.0.0.2", "x-forwarded-for", "127.0.0.1", NULL), 0);
    /* A proxy may mark the hop without naming the client. */
    static const char *hop[][2] = {
        {"via", "1.1 proxy"},
        {"x-forwarded-host", "sluice.example"},
        {"x-forwarded-proto", "https"},
        {"x-forwarded-port", "443"},
        {"x-forwarded-server", "lb1"},
        {"true-client-ip", "127.0.0.1"},
        {"cf-connecting-ip", "127.0.0.1"},
        {"x-client-ip", "127.0.0.1"},
        {"x-cluster-client-ip", "127.0.0.1"},
        {"fastly-client-ip", "127.0.0.1"},
    };
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        ck_assert_msg(local(&without_proxies, "127.0.0.1", hop[i][0], hop[i][1], NULL) == 0,
                      "%s makes a loopback peer a proxy", hop[i][0]);
    ck_assert_int_eq(local(&without_proxies, "127.0.0.1", "x-request-id", "abc", NULL), 1);
}
END_TEST

START_TEST(trusted_forwarders)
{
    /* With trusted proxies, nothing is local: a proxy on this host that
     * adds no header looks like a local client, from any loopback address. */
    ck_assert_int_eq(local(&with_proxies, "127.0.0.1", NULL), 0);
    ck_assert_int_eq(local(&with_proxies, "127.0.0.2", NULL), 0);
    ck_assert_int_eq(local(&with_proxies, "::1", NULL), 0);
    ck_assert_int_eq(local(&with_proxies, "127.0.0.1", "x-forwarded-for", "127.0.0.1", NULL), 0);
    ck_assert_int_eq(local(&with_proxies, "127.0.0.1", "forwarded", "for=127.0.0.1", NULL), 0);
    ck_assert_int_eq(local(&with_proxies, "127.0.0.1", "x-real-ip", "127.0.0.1", NULL), 0);
    static char *remote_only[] = {"10.0.0.0/8", NULL};
    static sluice_config remote_proxies = {.server = {.trusted_proxies = remote_only}};
    ck_assert_int_eq(local(&remote_proxies, "127.0.0.1", NULL), 0);
    static char *none[] = {NULL};
    static sluice_config empty_list = {.server = {.trusted_proxies = none}};
    ck_assert_int_eq(local(&empty_list, "127.0.0.1", NULL), 1);
}
END_TEST

START_TEST(failure_keys)
{
    /* A remote address has one budget, forwarding headers or not. */
    ck_assert_str_eq(
        key(0, &without_proxies, "203.0.113.9", NULL),
        key(1, &without_proxies, "203.0.113.9", "x-forwarded-for", "198.51.100.1", NULL));
    ck_assert_str_eq(key(0, &with_proxies, "203.0.113.9", NULL),
                     key(1, &with_proxies, "203.0.113.9", "x-real-ip", "198.51.100.1", NULL));
    /* What a local proxy forwards is counted apart from the host's own. */
    ck_assert_str_ne(
        key(0, &without_proxies, "127.0.0.1", NULL),
        key(1, &without_proxies, "127.0.0.1", "x-forwarded-for", "198.51.100.1", NULL));
    /* A trusted proxy names the client. */
    ck_assert_str_eq(key(0, &with_proxies, "127.0.0.1", "x-forwarded-for", "198.51.100.1", NULL),
                     key(1, &with_proxies, "198.51.100.1", NULL));
    ck_assert_str_ne(key(0, &without_proxies, "203.0.113.9", NULL),
                     key(1, &without_proxies, "203.0.113.10", NULL));
    /* IPv6 clients by their /64: a host picks any address in it. */
    ck_assert_str_eq(key(0, &without_proxies, "2001:db8:1:2::1", NULL),
                     key(1, &without_proxies, "2001:db8:1:2:ffff:ab:cd:ef", NULL));
    ck_assert_str_eq(key(0, &with_proxies, "127.0.0.1", "x-forwarded-for", "2001:db8:1:2::7", NULL),
                     key(1, &without_proxies, "2001:db8:1:2::1", NULL));
    ck_assert_str_ne(key(0, &without_proxies, "2001:db8:1:2::1", NULL),
                     key(1, &without_proxies, "2001:db8:1:3::1", NULL));
    ck_assert_str_ne(key(0, &without_proxies, "::ffff:203.0.113.9", NULL),
                     key(1, &without_proxies, "::ffff:203.0.113.10", NULL));
}
END_TEST

/* The throttle reserves a failure before comparing (ratelimit_refund):
 * what is in flight counts, and a success gives its reservation back. */
START_TEST(reserve_and_refund)
{
    ratelimit_reset();
    static const ratelimit_rule r = {60000, 10};
    unsigned ra = 0;
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(ratelimit_take("k", &r, 1, 1000, &ra), 0);
    ck_assert_int_eq(ratelimit_take("k", &r, 1, 1000, &ra), -1);
    ratelimit_refund("k", &r, 1, 1000);
    ck_assert_int_eq(ratelimit_take("k", &r, 1, 1000, &ra), 0);
    ck_assert_int_eq(ratelimit_take("k", &r, 1, 1000, &ra), -1);
    /* A refund never banks more than a full budget. */
    ratelimit_take("fresh", &r, 1, 1000, &ra);
    ratelimit_refund("fresh", &r, 1, 1000);
    ratelimit_refund("fresh", &r, 1, 1000);
    ratelimit_refund("unknown", &r, 1, 1000);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(ratelimit_take("fresh", &r, 1, 1000, &ra), 0);
    ck_assert_int_eq(ratelimit_take("fresh", &r, 1, 1000, &ra), -1);
    ck_assert_int_eq(ratelimit_peek("unknown", &r, 1, 1000, &ra), 0);
    ratelimit_reset();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("apiauth");
    TCase *tc = tcase_create("local");
    tcase_add_test(tc, direct_peers);
    tcase_add_test(tc, untrusted_forwarders);
    tcase_add_test(tc, trusted_forwarders);
    tcase_add_test(tc, failure_keys);
    tcase_add_test(tc, reserve_and_refund);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
