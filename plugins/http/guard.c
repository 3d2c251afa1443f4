/*
 * guard.c - the SSRF guard: which addresses a flow may connect to.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The special-purpose ranges are those of the IANA IPv4 and IPv6
 * Special-Purpose Address Registries that must never be reached by a
 * request an outsider can trigger. See guard.h for the policy.
 */
#define _GNU_SOURCE
#include "guard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util.h"

enum http_allow_kind { HTTP_ALLOW_NET, HTTP_ALLOW_NAME, HTTP_ALLOW_SUFFIX };

struct http_allow {
    enum http_allow_kind kind;
    int family;
    unsigned char net[16];
    unsigned prefix;
    char *name; /* lower case, no trailing dot; for a suffix, ".internal" */
};

struct http_guard {
    int deny_private;
    struct http_allow *allow;
    size_t nallow;
};

struct http_range {
    unsigned char net[16];
    unsigned prefix;
    const char *why;
};

static const struct http_range http_v4_ranges[] = {
    {{0, 0, 0, 0}, 8, "unspecified (\"this network\")"},
    {{10, 0, 0, 0}, 8, "private"},
    {{100, 64, 0, 0}, 10, "shared (carrier-grade NAT)"},
    {{127, 0, 0, 0}, 8, "loopback"},
    {{169, 254, 0, 0}, 16, "link-local"},
    {{172, 16, 0, 0}, 12, "private"},
    {{192, 0, 0, 0}, 24, "IETF protocol assignment"},
    {{192, 0, 2, 0}, 24, "documentation"},
    {{192, 88, 99, 0}, 24, "6to4 relay anycast"},
    {{192, 168, 0, 0}, 16, "private"},
    {{198, 18, 0, 0}, 15, "benchmarking"},
    {{198, 51, 100, 0}, 24, "documentation"},
    {{203, 0, 113, 0}, 24, "documentation"},
    {{224, 0, 0, 0}, 4, "multicast"},
    {{240, 0, 0, 0}, 4, "reserved"},
};

static const struct http_range http_v6_ranges[] = {
    {{0}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},
    {{0x00, 0x64, 0xff, 0x9b, 0, 1}, 48, "local-use NAT64"},
    {{0x01, 0x00}, 64, "discard-only"},
    {{0x20, 0x01, 0x00, 0x00}, 32, "Teredo"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation"},
    {{0xfc, 0x00}, 7, "unique-local (private)"},
    {{0xfe, 0x80}, 10, "link-local"},
    {{0xfe, 0xc0}, 10, "site-local"},
    {{0xff, 0x00}, 8, "multicast"},
};

static int http_prefix_match(const unsigned char *addr, const unsigned char *net, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;

    if (memcmp(addr, net, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((addr[full] ^ net[full]) & (0xff << (8 - rest))) == 0;
}

/*
 * An IPv4 address carried inside an IPv6 one reaches the IPv4 host, so it
 * is judged as that IPv4 address: mapped ::ffff:a.b.c.d, compatible
 * ::a.b.c.d, NAT64 64:ff9b::a.b.c.d and 6to4 2002:aabb:ccdd::.
 */
static const unsigned char *http_embedded_v4(const unsigned char *a6)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char zero[12] = {0};
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

    if (memcmp(a6, mapped, 12) == 0 || memcmp(a6, nat64, 12) == 0)
        return a6 + 12;
    if (memcmp(a6, zero, 12) == 0 && (a6[12] | a6[13] | a6[14]) != 0)
        return a6 + 12; /* compatible, but not :: or ::1 */
    if (a6[0] == 0x20 && a6[1] == 0x02)
        return a6 + 2;
    return NULL;
}

const char *http_guard_classify(int family, const unsigned char *addr)
{
    if (family == AF_INET) {
        for (size_t i = 0; i < sizeof(http_v4_ranges) / sizeof(http_v4_ranges[0]); i++)
            if (http_prefix_match(addr, http_v4_ranges[i].net, http_v4_ranges[i].prefix))
                return http_v4_ranges[i].why;
        return NULL;
    }
    if (family != AF_INET6)
        return "not IP";
    for (size_t i = 0; i < sizeof(http_v6_ranges) / sizeof(http_v6_ranges[0]); i++)
        if (http_prefix_match(addr, http_v6_ranges[i].net, http_v6_ranges[i].prefix))
            return http_v6_ranges[i].why;
    const unsigned char *v4 = http_embedded_v4(addr);
    return v4 ? http_guard_classify(AF_INET, v4) : NULL;
}

static int http_allow_net_matches(const struct http_allow *a, int family, const unsigned char *addr)
{
    const unsigned char *v4;

    if (a->family == family)
        return http_prefix_match(addr, a->net, a->prefix);
    if (a->family == AF_INET && family == AF_INET6 && (v4 = http_embedded_v4(addr)))
        return http_prefix_match(v4, a->net, a->prefix);
    return 0;
}

static int http_allow_name_matches(const struct http_allow *a, const char *host)
{
    size_t hl = strlen(host), nl = strlen(a->name);

    if (hl > 0 && host[hl - 1] == '.')
        hl--;
    if (a->kind == HTTP_ALLOW_NAME)
        return hl == nl && strncasecmp(host, a->name, hl) == 0;
    return hl > nl && strncasecmp(host + hl - nl, a->name, nl) == 0;
}

int http_guard_is_open(const struct http_guard *g)
{
    return !g->deny_private;
}

static void http_addr_text(int family, const unsigned char *addr, char *buf, size_t len)
{
    if (!inet_ntop(family, addr, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

int http_guard_check(const struct http_guard *g, const char *host, int family,
                     const unsigned char *addr, char *msg, size_t msglen)
{
    const char *why;
    char text[INET6_ADDRSTRLEN];

    if (!g->deny_private || !(why = http_guard_classify(family, addr)))
        return 0;
    for (size_t i = 0; i < g->nallow; i++) {
        const struct http_allow *a = &g->allow[i];

        if (a->kind == HTTP_ALLOW_NET ? http_allow_net_matches(a, family, addr)
                                      : host && http_allow_name_matches(a, host))
            return 0;
    }
    http_addr_text(family, addr, text, sizeof(text));
    if (host && strcasecmp(host, text) == 0)
        host = NULL; /* "127.0.0.1 -> 127.0.0.1" says nothing twice */
    kit_errf(msg, msglen,
             "refused by the SSRF guard: %s%s%s is a %s address (list it in allow_hosts, "
             "or set deny_private = false, to allow it)",
             host ? host : "", host ? " -> " : "", text, why);
    return -1;
}

int http_guard_check_text(const struct http_guard *g, const char *host, const char *ip, char *msg,
                          size_t msglen)
{
    unsigned char addr[16];

    if (inet_pton(AF_INET, ip, addr) == 1)
        return http_guard_check(g, host, AF_INET, addr, msg, msglen);
    if (inet_pton(AF_INET6, ip, addr) == 1)
        return http_guard_check(g, host, AF_INET6, addr, msg, msglen);
    if (!g->deny_private)
        return 0;
    kit_errf(msg, msglen, "refused by the SSRF guard: cannot tell what address \"%s\" is", ip);
    return -1;
}

/* "10.0.0.0/8", "::1", "[::1]" into an entry. Returns 1, 0 when not an
 * address at all, -1 when it looks like one but is malformed. */
static int http_allow_parse_net(struct http_allow *a, const char *text)
{
    char buf[INET6_ADDRSTRLEN + 8];
    char *slash;
    size_t len = strlen(text);
    unsigned max;

    if (len >= sizeof(buf))
        return strchr(text, ':') || strchr(text, '/') ? -1 : 0;
    if (text[0] == '[' && text[len - 1] == ']') {
        memcpy(buf, text + 1, len - 2);
        buf[len - 2] = '\0';
    } else {
        memcpy(buf, text, len + 1);
    }
    slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    if (inet_pton(AF_INET, buf, a->net) == 1) {
        a->family = AF_INET, max = 32;
    } else if (inet_pton(AF_INET6, buf, a->net) == 1) {
        a->family = AF_INET6, max = 128;
    } else {
        return strchr(text, ':') || slash ? -1 : 0;
    }
    a->kind = HTTP_ALLOW_NET;
    a->prefix = max;
    if (slash) {
        char *end;
        unsigned long p = strtoul(slash, &end, 10);

        if (*slash < '0' || *slash > '9' || *end != '\0' || p > max)
            return -1;
        a->prefix = (unsigned)p;
        /* Bits past the prefix would make "10.1.2.3/8" mean 10.0.0.0/8
         * silently; say so instead. */
        for (unsigned b = a->prefix; b < max; b++)
            if (a->net[b / 8] & (0x80 >> (b % 8)))
                return -1;
    }
    return 1;
}

/* A DNS name of letters, digits, '-' and '.', labels 1-63 bytes. */
static int http_dns_name_ok(const char *name)
{
    size_t label = 0;

    if (*name == '\0' || strlen(name) > 253)
        return 0;
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

static int http_allow_parse(struct http_allow *a, const char *text, char *err, size_t errlen)
{
    int rc = http_allow_parse_net(a, text);
    const char *name = text;
    size_t len;

    if (rc == 1)
        return 0;
    if (rc < 0) {
        kit_errf(err, errlen,
                 "\"%s\" is not a valid IP address or CIDR block (the bits after the prefix "
                 "must be zero)",
                 text);
        return -1;
    }
    a->kind = HTTP_ALLOW_NAME;
    if (strncmp(text, "*.", 2) == 0) {
        a->kind = HTTP_ALLOW_SUFFIX;
        name = text + 1; /* keep the dot: "*.internal" matches "x.internal" only */
    }
    len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (!(a->name = strndup(name, len))) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    for (char *p = a->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if ((a->kind == HTTP_ALLOW_SUFFIX && a->name[0] == '\0') ||
        !http_dns_name_ok(a->kind == HTTP_ALLOW_SUFFIX ? a->name + 1 : a->name)) {
        kit_errf(err, errlen,
                 "\"%s\" is not an IP address, a CIDR block, a host name or \"*.\" followed "
                 "by a domain",
                 text);
        return -1;
    }
    return 0;
}

int http_guard_new(struct http_guard **out, const json_t *allow_hosts, int deny_private, char *err,
                   size_t errlen)
{
    struct http_guard *g = calloc(1, sizeof(*g));
    size_t i;
    json_t *item;

    *out = NULL;
    if (!g) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    g->deny_private = deny_private;
    if (allow_hosts) {
        if (!json_is_array(allow_hosts)) {
            kit_errf(err, errlen, "allow_hosts must be an array of strings");
            goto fail;
        }
        g->allow = calloc(json_array_size(allow_hosts) + 1, sizeof(*g->allow));
        if (!g->allow) {
            kit_errf(err, errlen, "out of memory");
            goto fail;
        }
        json_array_foreach(allow_hosts, i, item)
        {
            char msg[512];

            if (!json_is_string(item)) {
                kit_errf(err, errlen, "allow_hosts[%zu] must be a string", i);
                goto fail;
            }
            g->nallow++;
            if (http_allow_parse(&g->allow[i], json_string_value(item), msg, sizeof(msg))) {
                kit_errf(err, errlen, "allow_hosts[%zu]: %s", i, msg);
                goto fail;
            }
        }
    }
    *out = g;
    return 0;

fail:
    http_guard_free(g);
    return -1;
}

void http_guard_free(struct http_guard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nallow; i++)
        free(g->allow[i].name);
    free(g->allow);
    free(g);
}
