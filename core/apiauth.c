/*
 * apiauth.c - who may use the admin API (see apiauth.h).
 */
#include "apiauth.h"

#include "auth.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"
#include "units.h"

#include <arpa/inet.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Constant time in the token's length; the length itself is not secret. */
static int token_ok(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    if (gl != wl)
        return 0;
    return memeql_sec(given, want, wl);
}

/* Wrong admin or metrics tokens, like wrong trigger credentials (gate.h):
 * past ADMIN_MAX_FAILURES per ADMIN_FAILURE_WINDOW_MS from one address,
 * 429 with Retry-After, whatever the request carries. */
#define ADMIN_MAX_FAILURES 10
#define ADMIN_FAILURE_WINDOW_MS 60000
static const ratelimit_rule admin_fail_rule = {ADMIN_FAILURE_WINDOW_MS, ADMIN_MAX_FAILURES};

static int addr_is_loopback(const char *s)
{
    unsigned char a[16];
    static const unsigned char v6[16] = {[15] = 1};
    static const unsigned char v4[12] = {[10] = 0xff, [11] = 0xff};
    if (auth_addr_parse(s, a) < 0)
        return 0;
    return memcmp(a, v6, 16) == 0 || (memcmp(a, v4, 12) == 0 && a[12] == 127);
}

/* One address as forwarding headers write it ("127.0.0.1", "127.0.0.1:80",
 * "[::1]:80", "\"[::1]\"", "::1") is on loopback. */
static int entry_is_loopback(const char *a, size_t al)
{
    char addr[64];
    while (al && (*a == ' ' || *a == '\t'))
        a++, al--;
    while (al && (a[al - 1] == ' ' || a[al - 1] == '\t'))
        al--;
    if (al >= 2 && a[0] == '"' && a[al - 1] == '"')
        a++, al -= 2;
    if (al && a[0] == '[') {
        const char *rb = memchr(a, ']', al);
        if (!rb)
            return 0;
        a++;
        al = (size_t)(rb - a);
    } else {
        const char *colon = memchr(a, ':', al);
        if (colon && !memchr(colon + 1, ':', al - (size_t)(colon + 1 - a)))
            al = (size_t)(colon - a); /* "127.0.0.1:80"; "::1" has several */
    }
    if (al == 0 || al >= sizeof(addr))
        return 0;
    memcpy(addr, a, al);
    addr[al] = 0;
    return addr_is_loopback(addr);
}

/* Every comma-separated entry of v is on loopback; with key ("for="), only
 * the ;-separated pairs of that name count, and there must be one (RFC
 * 7239: "unknown" and obfuscated names are not addresses). */
static int list_is_loopback(const char *v, const char *key)
{
    int seen = 0;
    size_t kl = key ? strlen(key) : 0;
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, key ? ",;" : ",");
        const char *e = p;
        size_t el = n;
        while (el && (*e == ' ' || *e == '\t'))
            e++, el--;
        if (!key) {
            if (!entry_is_loopback(e, el))
                return 0;
            seen = 1;
        } else if (el >= kl && strncasecmp(e, key, kl) == 0) {
            if (!entry_is_loopback(e + kl, el - kl))
                return 0;
            seen = 1;
        }
        p += n;
        if (*p)
            p++;
    }
    return seen;
}

/*
 * Headers that mark a request as forwarded by a proxy: those that name
 * the client and those that only describe the hop (Via, X-Forwarded-Proto,
 * -Host, -Port, ...). Any of them means the peer is not the client.
 */
static int forwarding_header(const char *n)
{
    static const char *const names[] = {"forwarded",          "x-real-ip",       "via",
                                        "true-client-ip",     "cf-connecting-ip", "x-client-ip",
                                        "x-cluster-client-ip", "fastly-client-ip", NULL};
    if (strncmp(n, "x-forwarded-", 12) == 0)
        return 1;
    for (size_t i = 0; names[i]; i++)
        if (strcmp(n, names[i]) == 0)
            return 1;
    return 0;
}

/* Headers that name the client with one address. */
static int client_ip_header(const char *n)
{
    return strcmp(n, "x-real-ip") == 0 || strcmp(n, "true-client-ip") == 0 ||
           strcmp(n, "cf-connecting-ip") == 0 || strcmp(n, "x-client-ip") == 0 ||
           strcmp(n, "x-cluster-client-ip") == 0 || strcmp(n, "fastly-client-ip") == 0;
}

int apiauth_is_local(const http_request *rq, const sluice_config *cfg, int peer_loopback)
{
    if (!peer_loopback)
        return 0;
    int forwarded = 0;
    for (size_t i = 0; i < rq->n_headers; i++)
        forwarded |= forwarding_header(rq->headers[i].name);
    if (!forwarded)
        return 1;
    unsigned char peer[16];
    char *const *trusted = cfg->server.trusted_proxies;
    if (!trusted || auth_addr_parse(rq->remote_addr, peer) < 0 ||
        !auth_cidr_strv_contains(trusted, peer))
        return 0;
    /* Every entry, not only those right of the last trusted hop: a proxy
     * that passes on what its client wrote must not make a remote client
     * local, and an entry that is not an address proves nothing. */
    for (size_t i = 0; i < rq->n_headers; i++) {
        const char *n = rq->headers[i].name, *v = rq->headers[i].value;
        if (strcmp(n, "x-forwarded-for") == 0 && !list_is_loopback(v, NULL))
            return 0;
        if (client_ip_header(n) && !entry_is_loopback(v, strlen(v)))
            return 0;
        if (strcmp(n, "forwarded") == 0 && !list_is_loopback(v, "for="))
            return 0;
    }
    return 1;
}

/*
 * Failures are counted per client address. A forwarded request whose
 * proxy is not trusted gives no client address, only the proxy's. When
 * that proxy is on this host it is counted apart from direct requests of
 * loopback, so wrong tokens sent through a local proxy do not lock out an
 * operator on the host itself; any other address has one budget, whatever
 * headers it sends (a split there would only double what it may guess).
 */
void apiauth_fail_key(const http_request *rq, const sluice_config *cfg, int peer_loopback,
                      char *k, size_t len)
{
    char client[64];
    auth_client_addr(rq, cfg->server.trusted_proxies, client, sizeof(client));
    int via = 0;
    if (peer_loopback && strcmp(client, rq->remote_addr) == 0)
        for (size_t i = 0; i < rq->n_headers && !via; i++)
            via = forwarding_header(rq->headers[i].name);
    /* One IPv6 host gets at least a /64 to pick addresses from: keyed per
     * address, it would have 2^64 budgets. */
    unsigned char a[16];
    static const unsigned char v4[12] = {[10] = 0xff, [11] = 0xff};
    if (auth_addr_parse(client, a) == 0 && memcmp(a, v4, 12) != 0) {
        memset(a + 8, 0, 8);
        if (!inet_ntop(AF_INET6, a, client, sizeof(client)))
            client[0] = 0;
        snprintf(client + strlen(client), sizeof(client) - strlen(client), "/64");
    }
    snprintf(k, len, "A\x1f%s%s", client, via ? "\x1fvia" : "");
}

int apiauth_check(struct MHD_Connection *c, const http_request *rq, const sluice_config *cfg,
                  int peer_loopback, int metrics)
{
    const char *tok = cfg->server.admin_token;
    const char *mtok = metrics ? cfg->server.metrics_token : NULL;
    if (metrics && cfg->server.metrics_public)
        return 1;
    if (!tok && apiauth_is_local(rq, cfg, peer_loopback))
        return 1;
    if (!tok && !mtok) {
        http_error(c, rq->request_id, 403, "forbidden",
                   "the admin API answers only clients on this host when server.admin_token "
                   "is not set (a request forwarded by a proxy is from its client)");
        return 0;
    }
    char k[128];
    unsigned ra = 0;
    apiauth_fail_key(rq, cfg, peer_loopback, k, sizeof(k));
    /* One failure is taken before the compare and given back on success:
     * checked first and taken after, every request in flight at once would
     * pass the check, and concurrency would multiply the budget. */
    if (ratelimit_take(k, &admin_fail_rule, 1, units_now_ms(), &ra) < 0) {
        char ras[16];
        snprintf(ras, sizeof(ras), "%u", ra);
        const char *hdrs[] = {"Retry-After", ras, NULL};
        log_msg(LOG_INFO, rq->request_id, "refused %s %s: 429 too many wrong admin tokens",
                rq->method, rq->path);
        http_reply(c, rq->request_id, 429, NULL, "too_many_failures",
                   "too many failed authentication attempts from this address", hdrs);
        return 0;
    }
    const char *h = event_header(rq, "authorization");
    const char *given = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : NULL;
    int ok = 0;
    if (given) {
        /* Both compared whichever matches, so the time does not tell which. */
        int admin_ok = tok ? token_ok(given, tok) : 0;
        int metrics_ok = mtok ? token_ok(given, mtok) : 0;
        ok = admin_ok | metrics_ok;
    }
    if (ok) {
        ratelimit_refund(k, &admin_fail_rule, 1, units_now_ms());
        return 1;
    }
    log_msg(LOG_INFO, rq->request_id, "refused %s %s: %s admin token", rq->method, rq->path,
            given ? "wrong" : "no");
    if (!given) {
        const char *hdrs[] = {"WWW-Authenticate", "Bearer realm=\"sluice\"", NULL};
        http_reply(c, rq->request_id, 401, NULL, "unauthorized",
                   !mtok ? "send Authorization: Bearer <server.admin_token>"
                   : tok ? "send Authorization: Bearer <server.metrics_token> (or "
                           "<server.admin_token>)"
                         : "send Authorization: Bearer <server.metrics_token>",
                   hdrs);
        return 0;
    }
    http_error(c, rq->request_id, 403, "forbidden", metrics ? "wrong token" : "wrong admin token");
    return 0;
}
