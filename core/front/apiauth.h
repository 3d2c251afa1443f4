/*
 * apiauth.h - who may use the admin API.
 *
 * With server.admin_token set, every admin request needs
 * "Authorization: Bearer <admin_token>" (compared in constant time);
 * GET /metrics also takes server.metrics_token, or nothing at all with
 * server.metrics_public. Without an admin token the API answers clients on
 * this host only (apiauth_is_local), and nobody behind trusted_proxies.
 *
 * Wrong tokens are throttled as trigger credentials are (gate.h): every
 * 401 or 403 for a token counts against the client's address (resolved
 * through server.trusted_proxies), and past 10 in a minute that address
 * gets 429 with Retry-After before its token is even looked at; other
 * addresses are not affected.
 */
#ifndef SLUICE_APIAUTH_H
#define SLUICE_APIAUTH_H

#include "config.h"
#include "request.h"

struct MHD_Connection;

/*
 * Whether rq comes from this host: a loopback peer (peer_loopback) that
 * sends no forwarding header (X-Forwarded-*, Forwarded, Via, X-Real-IP and
 * the CDNs' client address headers: a proxy on this host forwards for
 * clients anywhere). With server.trusted_proxies set, never: a proxy is in
 * front, and one on this host that adds no header looks local.
 */
int apiauth_is_local(const http_request *rq, const sluice_config *cfg, int peer_loopback);

/* At start and on each reload: warn of a configuration that shuts the
 * admin API (trusted_proxies without admin_token). */
void apiauth_warn_config(const sluice_config *cfg);

/*
 * May rq go on (1)? Otherwise the refusal (401, 403 or 429, in the JSON
 * envelope) is queued on c and 0 returned. metrics: the request is
 * GET /metrics.
 */
int apiauth_check(struct MHD_Connection *c, const http_request *rq, const sluice_config *cfg,
                  int peer_loopback, int metrics);

/*
 * The key wrong tokens from rq are counted under (ratelimit.h): one per
 * client address, with requests a proxy on this host forwards for a
 * client it does not name counted apart from direct loopback ones.
 */
void apiauth_fail_key(const http_request *rq, const sluice_config *cfg, int peer_loopback, char *k,
                      size_t len);

#endif
