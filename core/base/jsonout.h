/*
 * jsonout.h - compact JSON text of a jansson value, fast.
 *
 * The same text json_dumps(v, JSON_COMPACT) gives (insertion order, UTF-8
 * passed through, the same escapes), written in one pass into one growing
 * buffer instead of through jansson's per-chunk callbacks: the event of
 * every accepted request is written this way. Reals are handed to jansson
 * so that their digits are exactly jansson's.
 */
#ifndef SLUICE_JSONOUT_H
#define SLUICE_JSONOUT_H

#include <jansson.h>
#include <stddef.h>

/* malloc'd, NUL-terminated; *len (if not NULL) gets the length. NULL when
 * out of memory. */
char *json_compact(const json_t *v, size_t *len);

/*
 * The same, except that the value at (that very node, compared by address,
 * so nothing a sender wrote can stand for it) is written as raw_len bytes of
 * raw: JSON text the caller vouches for, spliced in without being parsed
 * and serialized again.
 */
char *json_compact_splice(const json_t *v, const json_t *at, const char *raw, size_t raw_len,
                          size_t *len);

/*
 * Read back one member of an object that json_compact wrote: sets *val and
 * *vlen to the text of the value of the top-level member named key (no
 * escapes in it) and returns 0; 1 when the object has no such member; -1
 * when text is not a compact object. Reading a few members of a stored
 * event this way costs a pass over its bytes instead of a parse into a
 * tree, and the text read is the text json_compact would write again.
 */
int json_compact_member(const char *text, size_t len, const char *key, const char **val,
                        size_t *vlen);

#endif
