/*
 * jsonscan.c - sluice's strict JSON reader (see jsonscan.h).
 *
 * RFC 8259, strictly: one value with optional whitespace (space, tab, CR,
 * LF) around it, no BOM, no comments, no trailing commas, numbers by the
 * RFC's grammar only, strings of valid UTF-8 without raw control
 * characters. Beyond the grammar it refuses what no reader of the event
 * can hold: a \u escape of a lone UTF-16 surrogate (the RFC leaves its
 * meaning open, and jansson and the event's other readers refuse it), and,
 * unless asked not to, duplicate keys.
 */
#include "jsonscan.h"

#include "units.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A key of an open object: in the text itself when it has no escapes (p
 * set), else decoded in the arena (off; the arena may move while an object
 * is read, so p is filled in only when comparing). */
typedef struct {
    size_t off, len;
    const char *p;
} key_ref;

/* Keys of one object compared as they come, up to this many; an object
 * with more is sorted once when it closes instead. */
#define LINEAR_KEYS 32

typedef struct {
    const char *start, *p, *end;
    size_t depth, max_depth;
    int flags;
    json_scan_info *info;
    /* the current string: str, str_len (in the text when it has no
     * escapes, else decoded into tmp) */
    const char *str;
    size_t str_len;
    int str_escaped;
    char *tmp;
    size_t tmp_len, tmp_cap;
    /* the keys of the objects being read, decoded, one stack for all */
    char *arena;
    size_t arena_len, arena_cap;
    key_ref *keys;
    size_t n_keys, keys_cap;
    int oom;
} scanner;

static int fail(scanner *s, const char *why)
{
    if (!s->info->error && !s->oom) {
        s->info->error = why;
        s->info->error_at = (size_t)(s->p - s->start);
    }
    return -1;
}

static int out_of_memory(scanner *s)
{
    s->oom = 1;
    s->info->error = NULL;
    return -1;
}

/* p grown to hold need items of size bytes: the new block, or NULL (p
 * is then untouched). */
static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * size);
    if (q)
        *cap = n;
    return q;
}

static int tmp_put(scanner *s, const char *b, size_t n)
{
    char *t = grow(s->tmp, &s->tmp_cap, s->tmp_len + n + 1, 1);
    if (!t)
        return out_of_memory(s);
    s->tmp = t;
    memcpy(s->tmp + s->tmp_len, b, n);
    s->tmp_len += n;
    s->tmp[s->tmp_len] = 0;
    return 0;
}

/* Push the current string onto the arena (NULs as U+FFFD when fffd). */
static int arena_push(scanner *s, int fffd, size_t *off, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < s->str_len; i++)
        n += fffd && s->str[i] == 0 ? 3 : 1;
    char *a = grow(s->arena, &s->arena_cap, s->arena_len + n + 1, 1);
    if (!a)
        return out_of_memory(s);
    s->arena = a;
    char *o = s->arena + s->arena_len;
    for (size_t i = 0; i < s->str_len; i++) {
        if (fffd && s->str[i] == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            *o++ = s->str[i];
        }
    }
    *o = 0;
    *off = s->arena_len;
    *len = n;
    s->arena_len += n + 1;
    return 0;
}

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

static size_t utf8_put(unsigned cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Four hex digits at p (the caller checked there are four bytes). */
static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = units_hex_digit((unsigned char)p[i]);
        if (h < 0)
            return -1;
        *v = *v << 4 | (unsigned)h;
    }
    return 0;
}

/* At '"': past the closing quote; with decode, the string is in s->str
 * (copied only when it has escapes). */
static int scan_string(scanner *s, int decode)
{
    s->tmp_len = 0;
    s->str_escaped = 0;
    s->p++;
    const char *run = s->p;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            if (!s->str_escaped) {
                s->str = run;
                s->str_len = (size_t)(s->p - run);
            } else if (decode) {
                if (tmp_put(s, run, (size_t)(s->p - run)) < 0)
                    return -1;
                s->str = s->tmp;
                s->str_len = s->tmp_len;
            }
            s->p++;
            return 0;
        }
        if (c == '\\') {
            s->str_escaped = 1;
            if (decode && tmp_put(s, run, (size_t)(s->p - run)) < 0)
                return -1;
            const char *esc = s->p;
            if (++s->p >= s->end)
                return fail(s, "unterminated string");
            char out[4];
            size_t n = 1;
            switch (*s->p) {
            case '"':
            case '\\':
            case '/':
                out[0] = *s->p;
                break;
            case 'b':
                out[0] = '\b';
                break;
            case 'f':
                out[0] = '\f';
                break;
            case 'n':
                out[0] = '\n';
                break;
            case 'r':
                out[0] = '\r';
                break;
            case 't':
                out[0] = '\t';
                break;
            case 'u': {
                unsigned v, lo;
                if (s->end - s->p < 5 || hex4(s->p + 1, &v) < 0)
                    return fail(s, "a \\u escape needs four hex digits");
                s->p += 4;
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (s->end - s->p < 7 || s->p[1] != '\\' || s->p[2] != 'u' ||
                        hex4(s->p + 3, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
                        s->p = esc;
                        return fail(s, "a \\u escape of a lone UTF-16 surrogate");
                    }
                    s->p += 6;
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                } else if (v >= 0xDC00 && v <= 0xDFFF) {
                    s->p = esc;
                    return fail(s, "a \\u escape of a lone UTF-16 surrogate");
                }
                n = utf8_put(v, out);
                break;
            }
            default:
                return fail(s, "an unknown escape in a string");
            }
            s->p++;
            if (decode && tmp_put(s, out, n) < 0)
                return -1;
            run = s->p;
            continue;
        }
        if (c < 0x20)
            return fail(s, "a control character in a string (it must be escaped)");
        if (c < 0x80) {
            s->p++;
            continue;
        }
        size_t n = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end);
        if (!n)
            return fail(s, "a string that is not UTF-8");
        s->p += n;
    }
    return fail(s, "unterminated string");
}

static size_t digits(scanner *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return (size_t)(s->p - start);
}

/* The number's text, as jansson would read it if it can; else the text. */
static json_t *make_number(scanner *s, const char *text, size_t n, int integer)
{
    s->tmp_len = 0;
    if (tmp_put(s, text, n) < 0)
        return NULL;
    errno = 0;
    if (integer) {
        long long v = strtoll(s->tmp, NULL, 10);
        if (errno != ERANGE)
            return json_integer((json_int_t)v);
    } else {
        double d = strtod(s->tmp, NULL);
        if (!(errno == ERANGE && isinf(d)))
            return json_real(d);
    }
    return json_stringn(text, n);
}

static int scan_number(scanner *s, json_t **out)
{
    const char *start = s->p;
    int integer = 1;
    if (*s->p == '-')
        s->p++;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return fail(s, "an unexpected character");
    if (*s->p == '0')
        s->p++;
    else
        digits(s);
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        integer = 0;
        if (!digits(s))
            return fail(s, "a number needs digits after its decimal point");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        integer = 0;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!digits(s))
            return fail(s, "a number needs digits in its exponent");
    }
    if (out && !(*out = make_number(s, start, (size_t)(s->p - start), integer)))
        return out_of_memory(s);
    return 0;
}

static int scan_literal(scanner *s, const char *word, size_t n, json_t **out)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "an unexpected character");
    s->p += n;
    if (out && !(*out = word[0] == 't' ? json_true() : word[0] == 'f' ? json_false() : json_null()))
        return out_of_memory(s);
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    const key_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* 1, with the key named for the message: printable ASCII, the rest '?'. */
static int name_duplicate(scanner *s, const key_ref *k)
{
    size_t m = k->len < sizeof(s->info->key) - 1 ? k->len : sizeof(s->info->key) - 1;
    for (size_t j = 0; j < m; j++) {
        unsigned char c = (unsigned char)k->p[j];
        s->info->key[j] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
    }
    s->info->key[m] = 0;
    return 1;
}

/* The newest key against the others of its object: 1 when it repeats one.
 * Only while the object is small; a larger one is sorted at its end. */
static int repeats(scanner *s, size_t base)
{
    key_ref *k = s->keys + base, *last = s->keys + s->n_keys - 1;
    if (s->n_keys - base > LINEAR_KEYS)
        return 0;
    if (last->off != (size_t)-1)
        last->p = s->arena + last->off;
    for (; k < last; k++) {
        if (k->off != (size_t)-1)
            k->p = s->arena + k->off;
        if (k->len == last->len && memcmp(k->p, last->p, k->len) == 0)
            return name_duplicate(s, last);
    }
    return 0;
}

/* The keys pushed since base, sorted: does any appear twice? */
static int has_duplicate(scanner *s, size_t base)
{
    key_ref *k = s->keys + base;
    size_t n = s->n_keys - base;
    for (size_t i = 0; i < n; i++)
        if (k[i].off != (size_t)-1)
            k[i].p = s->arena + k[i].off;
    qsort(k, n, sizeof(*k), key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&k[i - 1], &k[i]) == 0)
            return name_duplicate(s, &k[i]);
    return 0;
}

static int scan_value(scanner *s, json_t **out);

static int enter(scanner *s)
{
    if (++s->depth > s->max_depth) {
        s->info->too_deep = 1;
        return fail(s, "nested too deep");
    }
    s->p++;
    skip_ws(s);
    return 0;
}

/* At '{'. With out, *out gets the object as soon as there is one (the
 * caller frees it, also after an error). */
static int scan_object(scanner *s, json_t **out)
{
    if (enter(s) < 0)
        return -1;
    if (out && !(*out = json_object()))
        return out_of_memory(s);
    size_t key_base = s->n_keys, arena_base = s->arena_len;
    int dup_check = !(s->flags & JSON_SCAN_DUPLICATES);
    int rc = 0;
    if (s->p < s->end && *s->p == '}')
        goto close;
    for (;;) {
        if (s->p >= s->end || *s->p != '"') {
            rc = fail(s, "an object key must be a string");
            goto done;
        }
        if ((rc = scan_string(s, dup_check || out || s->depth == 1)) < 0)
            goto done;
        int is_fn = s->depth == 1 && s->str_len == 8 && memcmp(s->str, "function", 8) == 0;
        /* the key as the tree holds it: in the text, or in the arena */
        const char *tkey = s->str;
        size_t toff = (size_t)-1, tlen = s->str_len;
        if (dup_check) {
            key_ref *k = grow(s->keys, &s->keys_cap, s->n_keys + 1, sizeof(key_ref));
            if (!k) {
                rc = out_of_memory(s);
                goto done;
            }
            s->keys = k;
            k = &s->keys[s->n_keys++];
            *k = (key_ref){(size_t)-1, s->str_len, s->str};
            if (s->str_escaped && (rc = arena_push(s, 0, &k->off, &k->len)) < 0)
                goto done;
            if (repeats(s, key_base)) {
                rc = fail(s, "a duplicate key");
                goto done;
            }
        }
        if (out && s->str_escaped && (rc = arena_push(s, 1, &toff, &tlen)) < 0)
            goto done;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':') {
            rc = fail(s, "expected ':' after an object key");
            goto done;
        }
        s->p++;
        skip_ws(s);
        const char *v = s->p;
        json_t *val = NULL;
        if ((rc = scan_value(s, out ? &val : NULL)) < 0) {
            json_decref(val);
            goto done;
        }
        if (is_fn) {
            s->info->function = *v == '"' ? v : NULL;
            s->info->function_len = *v == '"' ? (size_t)(s->p - v) : 0;
        }
        if (toff != (size_t)-1)
            tkey = s->arena + toff;
        if (out && json_object_setn_new(*out, tkey, tlen, val) < 0) {
            rc = out_of_memory(s);
            goto done;
        }
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == '}')
            goto close;
        rc = fail(s, "expected ',' or '}' after an object member");
        goto done;
    }
close:
    if (dup_check && s->n_keys - key_base > LINEAR_KEYS && has_duplicate(s, key_base)) {
        rc = fail(s, "a duplicate key");
        goto done;
    }
    s->p++;
    s->depth--;
done:
    s->n_keys = key_base;
    s->arena_len = arena_base;
    return rc;
}

static int scan_array(scanner *s, json_t **out)
{
    if (enter(s) < 0)
        return -1;
    if (out && !(*out = json_array()))
        return out_of_memory(s);
    if (s->p < s->end && *s->p == ']')
        goto close;
    for (;;) {
        json_t *val = NULL;
        if (scan_value(s, out ? &val : NULL) < 0) {
            json_decref(val);
            return -1;
        }
        if (out && json_array_append_new(*out, val) < 0)
            return out_of_memory(s);
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == ']')
            goto close;
        return fail(s, "expected ',' or ']' after an array element");
    }
close:
    s->p++;
    s->depth--;
    return 0;
}

static int scan_value(scanner *s, json_t **out)
{
    if (s->p >= s->end)
        return fail(s, "the text ends where a value should be");
    switch (*s->p) {
    case '{':
        return scan_object(s, out);
    case '[':
        return scan_array(s, out);
    case '"':
        if (scan_string(s, out != NULL) < 0)
            return -1;
        if (out && !(*out = json_stringn_nocheck(s->str, s->str_len)))
            return out_of_memory(s);
        return 0;
    case 't':
        return scan_literal(s, "true", 4, out);
    case 'f':
        return scan_literal(s, "false", 5, out);
    case 'n':
        return scan_literal(s, "null", 4, out);
    default:
        return scan_number(s, out);
    }
}

static json_t *run(const char *text, size_t len, size_t max_depth, int flags, json_scan_info *info,
                   int build)
{
    json_scan_info none;
    scanner s = {.start = text,
                 .p = text,
                 .end = text + len,
                 .max_depth = max_depth,
                 .flags = flags,
                 .info = info ? info : &none};
    memset(s.info, 0, sizeof(*s.info));
    json_t *tree = NULL;
    int rc;
    skip_ws(&s);
    if (s.p >= s.end) {
        rc = fail(&s, "no value (the text is empty or only whitespace)");
    } else if ((rc = scan_value(&s, build ? &tree : NULL)) == 0) {
        skip_ws(&s);
        if (s.p != s.end)
            rc = fail(&s, "more text after the value");
    }
    free(s.tmp);
    free(s.arena);
    free(s.keys);
    if (rc < 0) {
        json_decref(tree);
        s.info->function = NULL;
        s.info->function_len = 0;
        return NULL;
    }
    return build ? tree : json_null();
}

int json_scan(const char *text, size_t len, size_t max_depth, int flags, json_scan_info *info)
{
    return run(text, len, max_depth, flags, info, 0) ? 0 : -1;
}

json_t *json_scan_tree(const char *text, size_t len, size_t max_depth, int flags,
                       json_scan_info *info)
{
    return run(text, len, max_depth, flags, info, 1);
}
