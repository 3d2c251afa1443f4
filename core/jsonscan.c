/*
 * jsonscan.c - a fast yes-or-ask check of a JSON body (see jsonscan.h).
 *
 * RFC 8259 grammar, strict, with jansson's extra refusals in mind: no
 * \u0000, no lone surrogates, UTF-8 checked byte by byte, no duplicate keys,
 * integers that fit a json_int_t, reals that do not overflow a double.
 * Every "no" is an ASK: jansson has the last word and writes the message.
 */
#include "jsonscan.h"

#include "units.h"

#include <stdlib.h>
#include <string.h>

/* Objects with more members than this are left to jansson (duplicate keys
 * are found by comparing each key with the others of its object). */
#define SCAN_MAX_KEYS 64
/* Integers of up to 18 digits always fit in a json_int_t. */
#define SCAN_MAX_INT_DIGITS 18
/* A real without an exponent and with fewer digits before the point than
 * this is always a finite double. */
#define SCAN_MAX_REAL_DIGITS 300

typedef struct {
    const char *p;
    size_t len;
} span;

typedef struct {
    const char *p, *end;
    size_t depth, max_depth;
    json_scan_info *info;
} scanner;

static void skip_ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* At '"': past the closing quote. *escaped tells whether any escape was seen. */
static int scan_string(scanner *s, int *escaped)
{
    *escaped = 0;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c == '\\') {
            *escaped = 1;
            if (++s->p >= s->end)
                return -1;
            c = (unsigned char)*s->p;
            if (c == 'u') {
                if (s->end - s->p < 5)
                    return -1;
                unsigned v = 0;
                for (int i = 1; i <= 4; i++) {
                    int h = units_hex_digit((unsigned char)s->p[i]);
                    if (h < 0)
                        return -1;
                    v = v << 4 | (unsigned)h;
                }
                /* NUL and surrogates (paired or not): jansson decides. */
                if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
                    return -1;
                s->p += 5;
            } else if (c && strchr("\"\\/bfnrt", c)) {
                s->p++;
            } else {
                return -1;
            }
            continue;
        }
        if (c < 0x20)
            return -1;
        if (c < 0x80) {
            s->p++;
            continue;
        }
        size_t n = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end);
        if (!n)
            return -1;
        s->p += n;
    }
    return -1;
}

static size_t digits(scanner *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return (size_t)(s->p - start);
}

static int scan_number(scanner *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return -1;
    size_t int_digits;
    if (*s->p == '0') {
        s->p++;
        int_digits = 1;
    } else if (*s->p >= '1' && *s->p <= '9') {
        int_digits = digits(s);
    } else {
        return -1;
    }
    int real = 0;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s))
            return -1;
        real = 1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
        return -1; /* exponents can overflow a double: ask */
    if (real ? int_digits >= SCAN_MAX_REAL_DIGITS : int_digits > SCAN_MAX_INT_DIGITS)
        return -1;
    return 0;
}

static int scan_literal(scanner *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int scan_value(scanner *s);

/* After a member or element: 1 to go on (past a comma), 0 when the
 * container closed with close (past it), -1 otherwise. */
static int next_or_close(scanner *s, char close)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        skip_ws(s);
        return 1;
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    return -1;
}

static int scan_object(scanner *s)
{
    if (++s->depth > s->max_depth)
        return -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return 0;
    }
    /* Keys of this object live in a local list: nested objects get their
     * own, so comparing stays within one object. */
    span keys[SCAN_MAX_KEYS];
    size_t n = 0;
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return -1;
        const char *k = s->p + 1;
        int escaped;
        if (scan_string(s, &escaped) < 0 || escaped || n == SCAN_MAX_KEYS)
            return -1;
        size_t klen = (size_t)(s->p - 1 - k);
        for (size_t i = 0; i < n; i++)
            if (keys[i].len == klen && memcmp(keys[i].p, k, klen) == 0)
                return -1;
        keys[n++] = (span){k, klen};
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        skip_ws(s);
        int is_function = s->depth == 1 && klen == 8 && memcmp(k, "function", 8) == 0;
        if (is_function && s->p < s->end && *s->p == '"') {
            const char *v = s->p + 1;
            if (scan_string(s, &escaped) < 0 || escaped)
                return -1;
            s->info->function = v;
            s->info->function_len = (size_t)(s->p - 1 - v);
        } else if (scan_value(s) < 0) {
            return -1;
        }
        int r = next_or_close(s, '}');
        if (r <= 0)
            return r;
    }
}

static int scan_array(scanner *s)
{
    if (++s->depth > s->max_depth)
        return -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        if (scan_value(s) < 0)
            return -1;
        int r = next_or_close(s, ']');
        if (r <= 0)
            return r;
    }
}

static int scan_value(scanner *s)
{
    if (s->p >= s->end)
        return -1;
    int escaped;
    switch (*s->p) {
    case '{':
        return scan_object(s);
    case '[':
        return scan_array(s);
    case '"':
        return scan_string(s, &escaped);
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        return scan_number(s);
    }
}

int json_scan(const char *text, size_t len, size_t max_depth, json_scan_info *info)
{
    json_scan_info none;
    scanner s = {.p = text, .end = text + len, .max_depth = max_depth,
                 .info = info ? info : &none};
    s.info->function = NULL;
    s.info->function_len = 0;
    skip_ws(&s);
    if (scan_value(&s) < 0)
        goto ask;
    skip_ws(&s);
    if (s.p != s.end)
        goto ask;
    return JSON_SCAN_OK;
ask:
    s.info->function = NULL;
    s.info->function_len = 0;
    return JSON_SCAN_ASK;
}
