/*
 * fuzz_json.c - the JSON checker (jsonscan.c) and writer (jsonout.c)
 * against jansson.
 *
 * Input: one byte (nesting limit, and whether duplicate keys are taken),
 * then JSON text. Checks: json_scan and json_scan_tree agree; where jansson
 * reads the text too (within the limit), json_scan accepts it and builds
 * the same tree, with the top-level "function" string jansson reads; what
 * json_scan accepts and jansson refuses is only what jansson cannot hold
 * (numbers too big for it, NUL in a key); json_compact writes exactly what
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
        json_object_foreach((json_t *)v, k, m) if ((c = depth_of(m)) > d) d = c;
        return d + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, m) if ((c = depth_of(m)) > d) d = c;
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
               "json_compact and json_dumps differ:\n  mine    %.*s\n  jansson %s", (int)len, mine,
               ref);
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

/* jansson's words for valid JSON it cannot hold (jsonscan.h). */
static int jansson_cannot_hold(const char *why)
{
    return strstr(why, "too big") || strstr(why, "overflow") || strstr(why, "NUL");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_depth = data[0] % 70;
    int flags = data[0] & 0x80 ? JSON_SCAN_DUPLICATES : 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    json_scan_info info, tinfo;
    memset(&info, 0, sizeof(info));
    memset(&tinfo, 0, sizeof(tinfo));
    int scan = json_scan(text, len, max_depth, flags, &info);
    json_t *tree = json_scan_tree(text, len, max_depth, flags, &tinfo);
    FUZZ_CHECK((scan == 0) == (tree != NULL), "json_scan says %d, json_scan_tree %s", scan,
               tree ? "a tree" : "nothing");
    FUZZ_CHECK(scan == 0 || info.error, "json_scan refused without saying why");

    json_error_t jerr;
    size_t jflags = JSON_DECODE_ANY | JSON_ALLOW_NUL | (flags ? 0 : JSON_REJECT_DUPLICATES);
    json_t *v = json_loadb(text, len, jflags, &jerr);
    /* jansson stops at a NUL byte after the value; a JSON text cannot hold one. */
    int raw_nul = memchr(text, 0, len) != NULL;
    if (v && depth_of(v) <= max_depth && !raw_nul)
        FUZZ_CHECK(scan == 0, "json_scan refused what jansson reads (%s at %zu): %.*s",
                   info.error ? info.error : "?", info.error_at, (int)len, text);
    if (scan == 0 && v) {
        FUZZ_CHECK(json_equal(tree, v), "json_scan_tree and jansson read different values: %.*s",
                   (int)len, text);
        json_t *fn = json_is_object(v) ? json_object_get(v, "function") : NULL;
        if (info.function) {
            json_t *dec = json_scan_tree(info.function, info.function_len, 1, 0, &tinfo);
            FUZZ_CHECK(json_is_string(fn) && json_equal(dec, fn),
                       "json_scan's function %.*s is not jansson's", (int)info.function_len,
                       info.function);
            json_decref(dec);
        } else {
            FUZZ_CHECK(!json_is_string(fn), "json_scan found no function; jansson did");
        }
    } else if (scan == 0) {
        FUZZ_CHECK(jansson_cannot_hold(jerr.text),
                   "json_scan accepted what jansson refuses (%s): %.*s", jerr.text, (int)len, text);
    }
    json_decref(tree);
    json_decref(v);

    /* The writer, on everything jansson reads, NUL bytes included. */
    v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v)
        check_writer(v);
    json_decref(v);
    return 0;
}
