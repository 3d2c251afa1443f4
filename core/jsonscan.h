/*
 * jsonscan.h - a fast yes-or-ask check of a JSON request body.
 *
 * Most webhook bodies only need to be known good: the event carries their
 * text as received (event_for_flow), and nothing reads inside them. Parsing
 * them into a tree with jansson only to throw the tree away was the largest
 * single cost of accepting a request. json_scan walks the text once and
 * answers JSON_SCAN_OK only when jansson (with JSON_REJECT_DUPLICATES and
 * JSON_DECODE_ANY) would accept it too; for anything it is not sure of
 * (escapes in keys, numbers jansson may find too big, every error) it
 * answers JSON_SCAN_ASK and the caller parses with jansson, which then
 * decides and words the error. So the two can never disagree.
 */
#ifndef SLUICE_JSONSCAN_H
#define SLUICE_JSONSCAN_H

#include <stddef.h>

#define JSON_SCAN_OK 0
#define JSON_SCAN_ASK 1

typedef struct json_scan_info {
    /* A top-level object's "function" member when it is a string without
     * escapes: its text (not NUL-terminated) and length; else NULL. */
    const char *function;
    size_t function_len;
} json_scan_info;

int json_scan(const char *text, size_t len, size_t max_depth, json_scan_info *info);

#endif
