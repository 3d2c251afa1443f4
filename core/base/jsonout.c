/*
 * jsonout.c - compact JSON text of a jansson value (see jsonout.h).
 */
#include "jsonout.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
    const json_t *at; /* json_compact_splice */
    const char *raw;
    size_t raw_len;
} buf;

static int reserve(buf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void put(buf *b, const char *s, size_t n)
{
    if (reserve(b, n) == 0) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static void put_string(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    /* Worst case every byte becomes \u00XX. */
    if (reserve(b, n * 6 + 2) < 0)
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}

static void put_value(buf *b, const json_t *v)
{
    char num[32];
    if (v == b->at) {
        put(b, b->raw, b->raw_len);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        put(b, "{", 1);
        const char *key;
        json_t *val;
        int first = 1;
        json_object_foreach((json_t *)v, key, val)
        {
            if (!first)
                put(b, ",", 1);
            first = 0;
            put_string(b, key, strlen(key));
            put(b, ":", 1);
            put_value(b, val);
        }
        put(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                put(b, ",", 1);
            put_value(b, json_array_get(v, i));
        }
        put(b, "]", 1);
        break;
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(b, num, (size_t)n);
        break;
    }
    case JSON_REAL: {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!s) {
            b->oom = 1;
            break;
        }
        put(b, s, strlen(s));
        free(s);
        break;
    }
    case JSON_TRUE:
        put(b, "true", 4);
        break;
    case JSON_FALSE:
        put(b, "false", 5);
        break;
    case JSON_NULL:
        put(b, "null", 4);
        break;
    }
}

char *json_compact(const json_t *v, size_t *len)
{
    return json_compact_splice(v, NULL, NULL, 0, len);
}

char *json_compact_splice(const json_t *v, const json_t *at, const char *raw, size_t raw_len,
                          size_t *len)
{
    buf b = {.at = at, .raw = raw, .raw_len = raw_len};
    put_value(&b, v);
    if (b.oom || reserve(&b, 0) < 0) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = 0;
    if (len)
        *len = b.len;
    return b.p;
}

/* The end of the compact value at p, or NULL when it runs past end. */
static const char *compact_skip(const char *p, const char *end)
{
    int depth = 0;
    do {
        if (p >= end)
            return NULL;
        switch (*p) {
        case '"':
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return NULL;
            p++;
            break;
        case '{':
        case '[':
            depth++;
            p++;
            break;
        case '}':
        case ']':
            if (--depth < 0)
                return NULL;
            p++;
            break;
        default:
            if (depth > 0) {
                p++;
                break;
            }
            while (p < end && *p != ',' && *p != '}' && *p != ']')
                p++;
            return p;
        }
    } while (depth > 0);
    return p;
}

int json_compact_member(const char *text, size_t len, const char *key, const char **val,
                        size_t *vlen)
{
    const char *p = text, *end = text + len;
    size_t klen = strlen(key);
    if (len < 2 || *p++ != '{')
        return -1;
    if (*p == '}')
        return 1;
    for (;;) {
        const char *k = p + 1, *colon = *p == '"' ? compact_skip(p, end) : NULL;
        if (!colon || colon >= end || *colon != ':')
            return -1;
        const char *v = colon + 1, *next = compact_skip(v, end);
        if (!next || next == v || next >= end)
            return -1;
        if ((size_t)(colon - 1 - k) == klen && memcmp(k, key, klen) == 0) {
            *val = v;
            *vlen = (size_t)(next - v);
            return 0;
        }
        if (*next == '}')
            return 1;
        if (*next != ',')
            return -1;
        p = next + 1;
    }
}
