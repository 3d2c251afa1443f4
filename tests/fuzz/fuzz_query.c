/*
 * fuzz_query.c - query strings (event_parse_query) and form bodies
 * (event_body_json with application/x-www-form-urlencoded).
 *
 * Input: a query line, then a form body. Checks against a model of
 * application/x-www-form-urlencoded: every non-empty '&' piece is one
 * parameter, in order, its name and value percent-decoded with '+' as a
 * space; bad encoding (or %00) refuses the whole query; more than
 * EVENT_MAX_QUERY_PARAMS refuses it. A form becomes an object whose every
 * key holds its values in order (a string for one, an array for more).
 */
#include "fuzz.h"

#include "event.h"
#include "log.h"
#include "units.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The model's decoding; NULL when invalid. */
static char *decode(const char *s, size_t len)
{
    char *o = malloc(len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            o[k++] = ' ';
        } else if (s[i] == '%') {
            int h = i + 2 < len ? units_hex_digit((unsigned char)s[i + 1]) : -1;
            int l = h >= 0 ? units_hex_digit((unsigned char)s[i + 2]) : -1;
            if (l < 0 || (h == 0 && l == 0)) {
                free(o);
                return NULL;
            }
            o[k++] = (char)(h * 16 + l);
            i += 2;
        } else {
            o[k++] = s[i];
        }
    }
    o[k] = 0;
    return o;
}

typedef struct pair {
    char *k, *v;
} pair;

/* Split s[0..n): number of pairs, -1 when one does not decode. */
static long model(const char *s, size_t n, pair *out, size_t max)
{
    size_t i = 0, np = 0;
    long rc = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(s + i, '=', j - i);
            size_t kl = eq ? (size_t)(eq - (s + i)) : j - i;
            char *k = decode(s + i, kl);
            char *v = eq ? decode(eq + 1, j - i - kl - 1) : strdup("");
            if (!k || !v) {
                free(k);
                free(v);
                rc = -1;
            } else if (np < max) {
                out[np].k = k;
                out[np].v = v;
            } else {
                free(k);
                free(v);
            }
            np++;
        }
        i = j + 1;
    }
    if (rc < 0) {
        for (size_t p = 0; p < np && p < max; p++)
            if (out[p].k) {
                free(out[p].k);
                free(out[p].v);
                out[p].k = out[p].v = NULL;
            }
        return -1;
    }
    return (long)np;
}

static void pairs_free(pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].k);
        free(p[i].v);
    }
}

static int utf8(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    char *query = fuzz_line(&in);
    size_t blen;
    char *body = fuzz_rest(&in, &blen);
    size_t max = EVENT_MAX_QUERY_PARAMS + 1;
    pair *want = calloc(blen + strlen(query) + max + 1, sizeof(pair));

    http_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.query = query;
    char err[256];
    int rc = event_parse_query(&rq, err, sizeof(err));
    long n = model(query, strlen(query), want, max);
    if (n < 0 || n > EVENT_MAX_QUERY_PARAMS) {
        /* Refused, though the limit may be met before a bad piece is read. */
        FUZZ_CHECK(rc < 0 || n < 0 ? rc < 0 || n < 0 : 0, "query \"%s\" accepted", query);
        FUZZ_CHECK(n >= 0 || rc < 0, "query \"%s\" with bad encoding accepted", query);
    } else {
        FUZZ_CHECK(rc == 0, "query \"%s\" refused: %s", query, err);
        FUZZ_CHECK(rq.n_params == (size_t)n, "query \"%s\": %zu parameters, the model has %ld",
                   query, rq.n_params, n);
        for (size_t i = 0; i < rq.n_params; i++)
            FUZZ_CHECK(strcmp(rq.params[i].name, want[i].k) == 0 &&
                           strcmp(rq.params[i].value, want[i].v) == 0,
                       "query \"%s\" parameter %zu: \"%s\"=\"%s\", the model has \"%s\"=\"%s\"",
                       query, i, rq.params[i].name, rq.params[i].value, want[i].k, want[i].v);
    }
    if (n > 0)
        pairs_free(want, (size_t)n < max ? (size_t)n : max);
    for (size_t i = 0; i < rq.n_params; i++) {
        free(rq.params[i].name);
        free(rq.params[i].value);
    }
    free(rq.params);

    /* The same grammar as a form body: an object of values in order. */
    json_t *obj, *raw;
    rc = event_body_json((const unsigned char *)body, blen, "application/x-www-form-urlencoded",
                         &obj, &raw, err, sizeof(err));
    memset(want, 0, (blen + strlen(query) + max + 1) * sizeof(pair));
    n = model(body, blen, want, blen + strlen(query) + max);
    int ok = n >= 0;
    for (long i = 0; ok && i < n; i++)
        ok = utf8(want[i].k) && utf8(want[i].v);
    if (blen == 0) {
        FUZZ_CHECK(rc == 0 && json_is_null(obj), "an empty form is not null");
    } else if (!ok || memchr(body, 0, blen)) {
        /* A NUL byte in a piece ends its text: the model cannot say. */
        if (!memchr(body, 0, blen))
            FUZZ_CHECK(rc < 0, "form \"%s\" (bad encoding or not UTF-8) accepted", body);
    } else {
        FUZZ_CHECK(rc == 0 && json_is_object(obj), "form \"%s\" refused: %s", body, err);
        FUZZ_CHECK(blen == 0 || json_is_null(raw), "a form keeps raw bytes");
        /* Replay the model's pairs against the object, in order. */
        json_t *seen = json_object();
        for (long i = 0; i < n; i++) {
            json_t *v = json_object_get(obj, want[i].k);
            size_t idx = (size_t)json_integer_value(json_object_get(seen, want[i].k));
            json_t *at = json_is_array(v) ? json_array_get(v, idx) : idx == 0 ? v : NULL;
            FUZZ_CHECK(json_is_string(at) && strcmp(json_string_value(at), want[i].v) == 0,
                       "form \"%s\": value %zu of \"%s\" is not \"%s\"", body, idx, want[i].k,
                       want[i].v);
            json_object_set_new(seen, want[i].k, json_integer((json_int_t)idx + 1));
        }
        const char *k;
        json_t *v;
        json_object_foreach(obj, k, v)
        {
            size_t count = (size_t)json_integer_value(json_object_get(seen, k));
            FUZZ_CHECK(json_is_array(v) ? json_array_size(v) == count && count > 1 : count == 1,
                       "form \"%s\": key \"%s\" has values the body does not", body, k);
        }
        json_decref(seen);
    }
    if (n > 0)
        pairs_free(want, (size_t)n);
    json_decref(obj);
    json_decref(raw);
    free(want);
    free(query);
    free(body);
    return 0;
}
