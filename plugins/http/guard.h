/*
 * guard.h - the SSRF guard: which addresses a flow may connect to.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * A webhook relay that can be talked into connecting to 127.0.0.1:6379 or
 * 169.254.169.254 is a gift to an attacker. With deny_private (the
 * default), the executor refuses to connect to loopback, private,
 * link-local, shared (CGNAT), multicast, documentation and other
 * special-purpose addresses, IPv4 and IPv6, including IPv4 addresses
 * embedded in IPv6 (mapped, compatible, NAT64, 6to4).
 *
 * allow_hosts exempts destinations from that rule, GitLab's "allowlist for
 * local requests" style: an entry is an IP address ("127.0.0.1", "::1"), a
 * CIDR block ("10.1.0.0/16"), a host name ("vault.internal", matching that
 * name exactly, case-insensitively) or a suffix ("*.internal", matching any
 * name below it). Public addresses are always allowed: the host of a flow's
 * url is fixed by its config (placeholders may not touch it), so the guard
 * is about where a name resolves to, or where a redirect leads.
 *
 * The decision is made on the address a connection really goes to, at
 * connect time (and again before every request on a reused connection), so
 * a name that resolves to a public address when checked and to 127.0.0.1
 * when connecting (DNS rebinding) gains nothing.
 */
#ifndef HTTP_GUARD_H
#define HTTP_GUARD_H

#include <stddef.h>

#include <jansson.h>

struct http_guard;

/*
 * Build a guard from allow_hosts (a JSON array of strings, or NULL) and
 * deny_private. Returns 0 and sets *out, or -1 with the reason in err.
 */
int http_guard_new(struct http_guard **out, const json_t *allow_hosts, int deny_private, char *err,
                   size_t errlen);

void http_guard_free(struct http_guard *g);

/*
 * Why an address (family AF_INET with 4 bytes or AF_INET6 with 16) is not
 * an ordinary public one: "loopback", "private", "link-local"... or NULL.
 */
const char *http_guard_classify(int family, const unsigned char *addr);

/*
 * May a connection to addr (for host, the name in the URL, or NULL) go
 * ahead? Returns 0, or -1 with a message naming the address, why it is
 * refused and how to allow it.
 */
int http_guard_check(const struct http_guard *g, const char *host, int family,
                     const unsigned char *addr, char *msg, size_t msglen);

/* The same for an address in text form ("127.0.0.1", "::1"). An address
 * that does not parse is refused. */
int http_guard_check_text(const struct http_guard *g, const char *host, const char *ip, char *msg,
                          size_t msglen);

/* Nonzero when the guard allows everything (deny_private = false). */
int http_guard_is_open(const struct http_guard *g);

#endif /* HTTP_GUARD_H */
