/*
 * gate_impl.h - the inside of a gate, shared by gateconf.c (which builds
 * it from the configuration) and gate.c (which checks requests against
 * it). Nothing else includes this file.
 */
#ifndef SLUICE_GATE_IMPL_H
#define SLUICE_GATE_IMPL_H

#include "auth.h"
#include "filter.h"
#include "gate.h"
#include "ratelimit.h"

/* Where a key may be presented. */
#define SRC_BEARER 0 /* Authorization: Bearer KEY */
#define SRC_HEADER 1 /* a named header */
#define SRC_QUERY 2  /* a query parameter */
#define SRC_BODY 3   /* a JSON or form body field */
#define SRC_PATH 4   /* a {name} segment of the route */

#define GATE_REDACTED "[redacted]"

typedef struct key_source {
    int kind;
    char *name; /* header names lower-case; NULL for bearer */
} key_source;

/* Immutable once built: checks read it from any thread without a lock. */
struct gate {
    char *trigger_id;
    int capability;
    int invalid_status;

    auth_keyset keys;
    key_source *src;
    size_t n_src;
    auth_keyset basic;
    auth_hmac *hmac;
    auth_cidr *allow;
    size_t n_allow;
    int wrong_status;
    int has_creds;  /* keys, basic or hmac */
    int body_creds; /* some credential can only be found in the body */
    int path_creds; /* keys in path segments, verified by gate_check_route */
    ratelimit_rule fail_rule;

    ratelimit_rule rules[3];
    size_t n_rules;

    filter *filter;
    int filter_status;
};

#endif
