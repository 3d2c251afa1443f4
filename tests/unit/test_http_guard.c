/*
 * test_http_guard.c - the SSRF guard: which addresses are special, and how
 * allow_hosts exempts them.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "guard.h"
#include "test_http_suites.h"

static const char *classify(const char *ip)
{
    unsigned char addr[16];

    if (inet_pton(AF_INET, ip, addr) == 1)
        return http_guard_classify(AF_INET, addr);
    ck_assert_msg(inet_pton(AF_INET6, ip, addr) == 1, "bad test address %s", ip);
    return http_guard_classify(AF_INET6, addr);
}

START_TEST(special_addresses)
{
    static const struct {
        const char *ip, *why; /* why NULL: an ordinary public address */
    } cases[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"10.1.2.3", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", NULL},
        {"192.168.1.1", "private"},
        {"169.254.169.254", "link-local"},
        {"100.64.0.1", "shared (carrier-grade NAT)"},
        {"0.0.0.0", "unspecified (\"this network\")"},
        {"224.0.0.1", "multicast"},
        {"255.255.255.255", "reserved"},
        {"198.18.0.1", "benchmarking"},
        {"8.8.8.8", NULL},
        {"93.184.216.34", NULL},
        {"::", "unspecified"},
        {"::1", "loopback"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:169.254.169.254", "link-local"},
        {"::ffff:8.8.8.8", NULL},
        {"::127.0.0.1", "loopback"},
        {"64:ff9b::a9fe:a9fe", "link-local"},
        {"2002:7f00:1::", "loopback"},
        {"2002:0808:0808::", NULL},
        {"fe80::1", "link-local"},
        {"fd12:3456::1", "unique-local (private)"},
        {"fc00::1", "unique-local (private)"},
        {"ff02::1", "multicast"},
        {"2001:db8::1", "documentation"},
        {"2606:4700:4700::1111", NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = classify(cases[i].ip);

        if (!cases[i].why)
            ck_assert_msg(!why, "%s should be public, got %s", cases[i].ip, why);
        else
            ck_assert_msg(why && strcmp(why, cases[i].why) == 0, "%s: %s, not %s", cases[i].ip,
                          why ? why : "public", cases[i].why);
    }
}
END_TEST

static struct http_guard *guard(const char *allow_json, int deny_private)
{
    char err[512];
    json_t *allow = allow_json ? json_loads(allow_json, 0, NULL) : NULL;
    struct http_guard *g = NULL;

    ck_assert_msg(http_guard_new(&g, allow, deny_private, err, sizeof(err)) == 0, "%s", err);
    json_decref(allow);
    return g;
}

static int allowed(const struct http_guard *g, const char *host, const char *ip)
{
    char msg[512];

    return http_guard_check_text(g, host, ip, msg, sizeof(msg)) == 0;
}

START_TEST(allow_hosts_exempts)
{
    struct http_guard *g;
    char msg[512];

    g = guard(NULL, 1);
    ck_assert(!allowed(g, "localhost", "127.0.0.1"));
    ck_assert(!allowed(g, NULL, "169.254.169.254"));
    ck_assert(!allowed(g, NULL, "::ffff:10.0.0.1"));
    ck_assert(allowed(g, "example.com", "93.184.216.34"));
    ck_assert(!allowed(g, NULL, "not-an-ip"));
    ck_assert_int_eq(http_guard_check_text(g, "db", "10.0.0.7", msg, sizeof(msg)), -1);
    ck_assert_msg(strstr(msg, "db -> 10.0.0.7 is a private address") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "allow_hosts") != NULL, "%s", msg);
    http_guard_free(g);

    g = guard("[\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\", \"*.internal\", \"Vault.Local\"]", 1);
    ck_assert(allowed(g, NULL, "127.0.0.1"));
    ck_assert(!allowed(g, NULL, "127.0.0.2"));
    ck_assert(allowed(g, NULL, "::ffff:127.0.0.1"));
    ck_assert(!allowed(g, NULL, "::1"));
    ck_assert(allowed(g, NULL, "10.200.3.4"));
    ck_assert(!allowed(g, NULL, "192.168.0.1"));
    ck_assert(allowed(g, NULL, "fd00::5"));
    ck_assert(allowed(g, "db.internal", "192.168.0.1"));
    ck_assert(allowed(g, "DB.Internal.", "192.168.0.1"));
    ck_assert(!allowed(g, "internal", "192.168.0.1"));
    ck_assert(!allowed(g, "evilinternal", "192.168.0.1"));
    ck_assert(allowed(g, "vault.local", "169.254.1.1"));
    ck_assert(!allowed(g, "vault.local.evil", "169.254.1.1"));
    http_guard_free(g);

    g = guard(NULL, 0);
    ck_assert(http_guard_is_open(g));
    ck_assert(allowed(g, NULL, "127.0.0.1"));
    http_guard_free(g);
}
END_TEST

START_TEST(allow_hosts_errors)
{
    static const char *const bad[] = {
        "[\"10.1.2.3/8\"]", "[\"::1/129\"]", "[\"bad name!\"]", "[\"*.\"]", "[1]", "{}",
        "[\"10.0.0.0/x\"]",
    };
    char err[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *allow = json_loads(bad[i], 0, NULL);
        struct http_guard *g = NULL;

        ck_assert_ptr_nonnull(allow);
        ck_assert_msg(http_guard_new(&g, allow, 1, err, sizeof(err)) == -1, "%s accepted", bad[i]);
        ck_assert_ptr_null(g);
        json_decref(allow);
    }
}
END_TEST

Suite *http_guard_suite(void)
{
    Suite *s = suite_create("http_guard");
    TCase *tc = tcase_create("guard");

    tcase_add_test(tc, special_addresses);
    tcase_add_test(tc, allow_hosts_exempts);
    tcase_add_test(tc, allow_hosts_errors);
    suite_add_tcase(s, tc);
    return s;
}
