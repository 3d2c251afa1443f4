/*
 * fuzz_json.c - the JSON checker (jsonscan.c) and writer (jsonout.c)
 * against jansson.
 *
 * Input: one byte of nesting limit, then JSON text. Checks: json_scan says
 * OK only for text jansson accepts (JSON_REJECT_DUPLICATES |
 * JSON_DECODE_ANY), no deeper than the limit, with the top-level
 * "function" string jansson reads; json_compact writes exactly what
 * json_dumps(JSON_COMPACT) writes; json_compact_member reads each member
 * back as that text; json_compact_splice of a member's own text changes
 * nothing.
 */
#include "fuzz.h"

#include "jsonout.h"
#include "jsonscan.h"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t depth_of(const json_t *v)
{
    size_t d = 0, c;
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, m)
            if ((c = depth_of(m)) > d)
                d = c;
        return d + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
            if ((c = depth_of(m)) > d)
                d = c;
        return d + 1;
    }
    return 0;
}

static void check_writer(const json_t *v)
{
    size_t len;
    char *mine = json_compact(v, &len);
    char *ref = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    FUZZ_CHECK(mine && ref, "no text for a value (%p, %p)", (void *)mine, (void *)ref);
    FUZZ_CHECK(strlen(ref) == len && memcmp(mine, ref, len) == 0,
               "json_compact and json_dumps differ:\n  mine    %.*s\n  jansson %s", (int)len,
               mine, ref);
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            char *want = json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);
            const char *val;
            size_t vlen;
            int rc = json_compact_member(mine, len, k, &val, &vlen);
            /* Keys needing escapes are not looked up (jsonout.h). */
            int plain = strcspn(k, "\"\\") == strlen(k);
            for (const unsigned char *p = (const unsigned char *)k; *p; p++)
                if (*p < 0x20 || *p >= 0x7f)
                    plain = 0;
            if (plain) {
                FUZZ_CHECK(rc == 0 && vlen == strlen(want) && memcmp(val, want, vlen) == 0,
                           "json_compact_member(%s) = %d \"%.*s\", want \"%s\" in %s", k, rc,
                           rc == 0 ? (int)vlen : 0, rc == 0 ? val : "", want, mine);
            }
            size_t slen;
            char *spliced = json_compact_splice(v, m, want, strlen(want), &slen);
            FUZZ_CHECK(spliced && slen == len && memcmp(spliced, mine, len) == 0,
                       "splicing member %s's own text changes %s", k, mine);
            free(spliced);
            free(want);
        }
        const char *val;
        size_t vlen;
        FUZZ_CHECK(json_object_get(v, "no such member \x01") ||
                       json_compact_member(mine, len, "no such member \x01", &val, &vlen) != 0,
                   "json_compact_member found a member that is not there in %s", mine);
    }
    free(mine);
    free(ref);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_depth = data[0] % 70;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    json_scan_info info;
    memset(&info, 0, sizeof(info));
    int scan = json_scan(text, len, max_depth, &info);
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (scan == JSON_SCAN_OK) {
        FUZZ_CHECK(v, "json_scan accepted what jansson refuses (%s): %.*s", jerr.text, (int)len,
                   text);
        FUZZ_CHECK(depth_of(v) <= max_depth, "json_scan accepted depth %zu over the limit %zu",
                   depth_of(v), max_depth);
        json_t *fn = json_is_object(v) ? json_object_get(v, "function") : NULL;
        if (info.function) {
            FUZZ_CHECK(json_is_string(fn) && json_string_length(fn) == info.function_len &&
                           memcmp(json_string_value(fn), info.function, info.function_len) == 0,
                       "json_scan's function \"%.*s\" is not jansson's", (int)info.function_len,
                       info.function);
        }
    } else {
        FUZZ_CHECK(scan == JSON_SCAN_ASK, "json_scan returned %d", scan);
    }
    json_decref(v);

    /* The writer, on everything jansson reads, NUL bytes included. */
    v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v)
        check_writer(v);
    json_decref(v);
    return 0;
}
