/*
 * jsonscan.h - sluice's own strict JSON (RFC 8259) reader.
 *
 * A request body is judged here, not by jansson: jansson refuses valid JSON
 * it cannot hold (integers beyond 64 bits, reals beyond a double, \u0000 in
 * keys, deep nesting), and it would decide for every sender what a number
 * may be. json_scan only says whether the text is one JSON text; the event
 * then carries that text as received (event.h, "the event's body"), so
 * numbers reach a flow exactly as sent.
 *
 * When something in sluiced must read inside a body (filters, keys in body
 * fields, variables, an idempotency key's body path) json_scan_tree builds
 * a jansson tree of the same text, under the rules plugins read the event
 * with (sluice_json_parse_event in <sluice/jansson.h>), so that sluiced and
 * every plugin see the same values:
 *
 *   - a number jansson cannot hold (an integer beyond a json_int_t, a real
 *     whose magnitude overflows a double) is the string of its exact text;
 *   - \u0000 in an object key reads as U+FFFD (jansson keys cannot hold a
 *     NUL; in string values it stays a NUL);
 *   - of duplicate keys (only with JSON_SCAN_DUPLICATES) the last one wins.
 *
 * Recursion is bounded by max_depth, so no body can exhaust the stack, and
 * memory is bounded by a small multiple of the text's length.
 */
#ifndef SLUICE_JSONSCAN_H
#define SLUICE_JSONSCAN_H

#include <jansson.h>
#include <stddef.h>

/* Accept duplicate object keys (the default refuses them: two readers of
 * one body must not be able to see two different values). */
#define JSON_SCAN_DUPLICATES 1

typedef struct json_scan_info {
    /* A top-level object's (last) "function" member whose value is a
     * string: the string's token, quotes and escapes included, NULL when
     * there is none. json_scan_tree of it gives the decoded string. */
    const char *function;
    size_t function_len;
    /* On error: where the text stopped being acceptable, and why. */
    size_t error_at;
    const char *error;
    int too_deep; /* the error is the depth limit */
    char key[48]; /* a repeated key (decoded, cut short), or "" */
} json_scan_info;

/* 0 when text is exactly one JSON text nested at most max_depth deep,
 * else -1 with info->error set (NULL: out of memory). */
int json_scan(const char *text, size_t len, size_t max_depth, int flags, json_scan_info *info);

/* The same check, and the text as a tree (a new reference). NULL when
 * json_scan would answer -1 (info->error says why) or out of memory
 * (info->error is NULL). */
json_t *json_scan_tree(const char *text, size_t len, size_t max_depth, int flags,
                       json_scan_info *info);

#endif
