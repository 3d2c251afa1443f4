/*
 * apiauth.c - who may use the admin API (see apiauth.h).
 */
#include "apiauth.h"

#include "auth.h"
#include "log.h"
#include "ratelimit.h"
#include "reply.h"
#include "units.h"

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

/*
 * Headers that mark a request as forwarded by a proxy: those that name
 * the client and those that only describe the hop (Via, X-Forwarded-Proto,
 * -Host, -Port, ...). Any of them means the peer is not the client.
 */
static int forwarding_header(const char *n)
{
    static const char *const names[] = {"forwarded",           "x-real-ip",        "via",
                                        "true-client-ip",      "cf-connecting-ip", "x-client-ip",
                                        "x-cluster-client-ip", "fastly-client-ip", NULL};
    if (strncmp(n, "x-forwarded-", 12) == 0)
        return 1;
    for (size_t i = 0; names[i]; i++)
        if (strcmp(n, names[i]) == 0)
            return 1;
    return 0;
}

/*
 * With server.trusted_proxies set, a proxy is in front, and one on this
 * host that adds no forwarding header (nginx's plain proxy_pass) is a
 * loopback peer indistinguishable from a local client. Neither its address
 * (any loopback address will do) nor its headers tell, so nothing is local
 * then: the admin API takes admin_token or nothing.
 */
static int proxies_in_front(const sluice_config *cfg)
{
    return cfg->server.trusted_proxies && cfg->server.trusted_proxies[0];
}

int apiauth_is_local(const http_request *rq, const sluice_config *cfg, int peer_loopback)
{
    if (!peer_loopback || proxies_in_front(cfg))
        return 0;
    for (size_t i = 0; i < rq->n_headers; i++)
        if (forwarding_header(rq->headers[i].name))
            return 0;
    return 1;
}

void apiauth_warn_config(const sluice_config *cfg)
{
    if (proxies_in_front(cfg) && !cfg->server.admin_token)
        log_warn("server.trusted_proxies is set without server.admin_token: the admin API "
                 "refuses every request (a proxy on this host may look like a local client); "
                 "set server.admin_token to use it");
}

/*
 * Failures are counted per client address. A forwarded request whose
 * proxy is not trusted gives no client address, only the proxy's. When
 * that proxy is on this host it is counted apart from direct requests of
 * loopback, so wrong tokens sent through a local proxy do not lock out an
 * operator on the host itself; any other address has one budget, whatever
 * headers it sends (a split there would only double what it may guess).
 */
void apiauth_fail_key(const http_request *rq, const sluice_config *cfg, int peer_loopback, char *k,
                      size_t len)
{
    char client[64];
    auth_client_addr(rq, cfg->server.trusted_proxies, client, sizeof(client));
    int via = 0;
    if (peer_loopback && strcmp(client, rq->remote_addr) == 0)
        for (size_t i = 0; i < rq->n_headers && !via; i++)
            via = forwarding_header(rq->headers[i].name);
    char ck[80];
    auth_addr_budget_key(client, ck, sizeof(ck));
    snprintf(k, len, "A\x1f%s%s", ck, via ? "\x1fvia" : "");
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
        reply_error(c, rq->request_id, 403, "forbidden", "%s",
                    proxies_in_front(cfg)
                        ? "server.trusted_proxies is set: the admin API needs server.admin_token"
                        : "the admin API answers only clients on this host when "
                          "server.admin_token is not set (a request forwarded by a proxy is "
                          "from its client)");
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
        reply_json(c, rq->request_id, 429, NULL, "too_many_failures",
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
        reply_json(c, rq->request_id, 401, NULL, "unauthorized",
                   !mtok ? "send Authorization: Bearer <server.admin_token>"
                   : tok ? "send Authorization: Bearer <server.metrics_token> (or "
                           "<server.admin_token>)"
                         : "send Authorization: Bearer <server.metrics_token>",
                   hdrs);
        return 0;
    }
    reply_error(c, rq->request_id, 403, "forbidden", metrics ? "wrong token" : "wrong admin token");
    return 0;
}
