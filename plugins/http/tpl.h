/*
 * tpl.h - {placeholder} templates resolved against the event JSON.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * A single-header helper (stb style) with the placeholder syntax of the
 * shell executor, so every first-party executor reads "{body.ref}" the same
 * way. Plugins never share code at link time, so each one compiles its own
 * copy: include this header anywhere for the declarations, and in exactly
 * one .c file define TPL_IMPLEMENTATION before including it. It needs
 * jansson and nothing else.
 *
 * THE SYNTAX
 *
 * A template is text with placeholders: "{body.ref}", "--user={query.u}",
 * "{body.items.0.id}". A placeholder is a dotted path into the event; its
 * first part (the root) must be one of the event's documented top-level
 * fields, which is checked when the template is compiled (at configure
 * time). "{{" and "}}" stand for literal braces. Rendering inserts each
 * value as text:
 *
 *     string          as-is
 *     number, bool    JSON text (reals in their shortest exact form)
 *     object, array   compact JSON
 *     null, missing   empty string
 *
 * An array with exactly one element stands for that element, so query
 * values (always arrays) read naturally: {query.a} of {"a": ["1"]} is "1".
 * Walking a path, a numeric part indexes an array; a name applied to a
 * one-element array looks inside its element. Header names are matched in
 * lower case, the way the event stores them.
 *
 * ENCODINGS
 *
 * tpl_render takes an encoding applied to the inserted values only, never
 * to the literal text around them: TPL_RAW inserts them unchanged, TPL_URL
 * percent-encodes every byte but ALPHA, DIGIT, '-', '_' and '~' (even '.',
 * so a value of ".." cannot become a dot segment that a client or server
 * would resolve), so a value can never end a path segment, start a query
 * or a fragment, or add a parameter.
 */
#ifndef SLUICE_TPL_H
#define SLUICE_TPL_H

#include <stddef.h>

#include <jansson.h>

typedef struct tpl tpl;

enum tpl_enc { TPL_RAW, TPL_URL };

/*
 * Compile text. Returns 0 and sets *out, or -1 with the reason in err
 * (unclosed or unmatched brace, empty path part, unknown root...).
 */
int tpl_compile(tpl **out, const char *text, char *err, size_t errlen);

void tpl_free(tpl *t);

/* Nonzero when the template has at least one placeholder. */
int tpl_has_placeholders(const tpl *t);

/* Nonzero when the template is exactly one placeholder and nothing else. */
int tpl_is_single(const tpl *t);

/* The text the template was compiled from. */
const char *tpl_source(const tpl *t);

/*
 * Render against event. Returns 0 with a malloc'd NUL-terminated string in
 * *out and its length in *len (which is less than strlen only when a value
 * carried a NUL byte: callers that need C strings check for that), or -1
 * when out of memory.
 */
int tpl_render(const tpl *t, const json_t *event, enum tpl_enc enc, char **out, size_t *len);

/*
 * For a template that tpl_is_single: the value its placeholder names in
 * event (borrowed), or NULL when missing.
 */
const json_t *tpl_single_value(const tpl *t, const json_t *event);

/*
 * The value at a dotted path (already split) inside event, with the
 * one-element-array rule applied, or NULL when missing.
 */
const json_t *tpl_lookup(const json_t *event, char *const *parts, size_t nparts);

/* Nonzero when name (len bytes) is a top-level field of the event. */
int tpl_root_known(const char *name, size_t len);

#endif /* SLUICE_TPL_H */

#ifdef TPL_IMPLEMENTATION
#ifndef SLUICE_TPL_IMPLEMENTED
#define SLUICE_TPL_IMPLEMENTED

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tpl_seg_kind { TPL_SEG_TEXT, TPL_SEG_PATH };

struct tpl_seg {
    enum tpl_seg_kind kind;
    char *text; /* literal text, or the path as written (without braces) */
    size_t len;
    char **parts; /* TPL_SEG_PATH: the path split on '.' */
    size_t nparts;
};

struct tpl {
    char *source;
    struct tpl_seg *segs;
    size_t nsegs;
    int placeholders;
};

/* The top-level fields of the event sluiced builds (README, "Input"). */
static const char *const tpl_roots[] = {
    "execution_id", "request_id", "trigger",      "flow",      "function",
    "method",       "path",       "params",       "query",     "headers",
    "content_type", "body",       "raw_body_b64", "variables", "remote_addr",
    "received_at",
};

static void tpl_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tpl_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int tpl_root_known(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(tpl_roots) / sizeof(tpl_roots[0]); i++) {
        if (strlen(tpl_roots[i]) == len && memcmp(tpl_roots[i], name, len) == 0)
            return 1;
    }
    return 0;
}

static void tpl_roots_list(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(tpl_roots) / sizeof(tpl_roots[0]); i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", tpl_roots[i]);

        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

/* Bytes allowed in a path part: anything visible but the template syntax. */
static int tpl_path_byte_ok(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '{' && c != '}' && c != '.';
}

/* Non-empty parts of allowed bytes separated by single dots. */
static int tpl_path_valid(const char *path, size_t len)
{
    size_t part = 0;

    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '.') {
            if (part == 0)
                return 0;
            part = 0;
        } else if (tpl_path_byte_ok((unsigned char)path[i])) {
            part++;
        } else {
            return 0;
        }
    }
    return part > 0;
}

static size_t tpl_path_root_len(const char *path, size_t len)
{
    const char *dot = memchr(path, '.', len);

    return dot ? (size_t)(dot - path) : len;
}

void tpl_free(tpl *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nsegs; i++) {
        free(t->segs[i].text);
        for (size_t k = 0; k < t->segs[i].nparts; k++)
            free(t->segs[i].parts[k]);
        free(t->segs[i].parts);
    }
    free(t->segs);
    free(t->source);
    free(t);
}

static struct tpl_seg *tpl_add(tpl *t, enum tpl_seg_kind kind)
{
    struct tpl_seg *segs = realloc(t->segs, (t->nsegs + 1) * sizeof(*segs));

    if (segs == NULL)
        return NULL;
    t->segs = segs;
    memset(&segs[t->nsegs], 0, sizeof(segs[0]));
    segs[t->nsegs].kind = kind;
    return &segs[t->nsegs++];
}

/* Append literal text, merging with a preceding text segment. */
static int tpl_add_text(tpl *t, const char *text, size_t len)
{
    struct tpl_seg *seg = NULL;
    char *grown;

    if (len == 0)
        return 0;
    if (t->nsegs > 0 && t->segs[t->nsegs - 1].kind == TPL_SEG_TEXT)
        seg = &t->segs[t->nsegs - 1];
    else if ((seg = tpl_add(t, TPL_SEG_TEXT)) == NULL)
        return -1;
    grown = realloc(seg->text, seg->len + len + 1);
    if (grown == NULL)
        return -1;
    memcpy(grown + seg->len, text, len);
    seg->len += len;
    grown[seg->len] = '\0';
    seg->text = grown;
    return 0;
}

/* Split a validated path. {headers.X-GitHub-Event} is folded to lower case
 * because the event stores header names that way. */
static int tpl_add_path(tpl *t, const char *path, size_t len)
{
    struct tpl_seg *seg = tpl_add(t, TPL_SEG_PATH);
    const char *p = path;
    const char *end = path + len;

    if (seg == NULL || (seg->text = strndup(path, len)) == NULL)
        return -1;
    seg->len = len;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        char **parts = realloc(seg->parts, (seg->nparts + 1) * sizeof(*parts));

        if (parts == NULL)
            return -1;
        seg->parts = parts;
        if ((parts[seg->nparts] = strndup(p, n)) == NULL)
            return -1;
        seg->nparts++;
        p += n + 1;
    }
    if (seg->nparts >= 2 && strcmp(seg->parts[0], "headers") == 0)
        for (char *c = seg->parts[1]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    t->placeholders++;
    return 0;
}

int tpl_compile(tpl **out, const char *text, char *err, size_t errlen)
{
    tpl *t = calloc(1, sizeof(*t));
    const char *lit = text;
    const char *p = text;

    *out = NULL;
    if (t == NULL || (t->source = strdup(text)) == NULL)
        goto nomem;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (tpl_add_text(t, lit, (size_t)(p - lit) + 1) != 0)
                goto nomem;
            p += 2;
            lit = p;
            continue;
        }
        if (*p == '}') {
            tpl_errf(err, errlen,
                     "unmatched '}' at offset %zu in \"%s\" (write '}}' for a literal brace)",
                     (size_t)(p - text), text);
            goto fail;
        }
        if (*p != '{') {
            p++;
            continue;
        }
        const char *close = strpbrk(p + 1, "{}");
        if (close == NULL || *close == '{') {
            tpl_errf(err, errlen,
                     "unclosed '{' at offset %zu in \"%s\" (write '{{' for a literal brace)",
                     (size_t)(p - text), text);
            goto fail;
        }
        size_t plen = (size_t)(close - p - 1);
        if (!tpl_path_valid(p + 1, plen)) {
            tpl_errf(err, errlen,
                     "bad placeholder \"%.*s\" in \"%s\": expected {root.name...} with "
                     "non-empty parts and no spaces",
                     (int)(plen + 2), p, text);
            goto fail;
        }
        if (!tpl_root_known(p + 1, tpl_path_root_len(p + 1, plen))) {
            char roots[512];

            tpl_roots_list(roots, sizeof(roots));
            tpl_errf(err, errlen, "unknown placeholder root \"%.*s\" in \"%s\" (known: %s)",
                     (int)tpl_path_root_len(p + 1, plen), p + 1, text, roots);
            goto fail;
        }
        if (tpl_add_text(t, lit, (size_t)(p - lit)) != 0 || tpl_add_path(t, p + 1, plen) != 0)
            goto nomem;
        p = close + 1;
        lit = p;
    }
    if (tpl_add_text(t, lit, (size_t)(p - lit)) != 0)
        goto nomem;
    *out = t;
    return 0;

nomem:
    tpl_errf(err, errlen, "out of memory");
fail:
    tpl_free(t);
    return -1;
}

int tpl_has_placeholders(const tpl *t)
{
    return t->placeholders > 0;
}

int tpl_is_single(const tpl *t)
{
    return t->nsegs == 1 && t->segs[0].kind == TPL_SEG_PATH;
}

const char *tpl_source(const tpl *t)
{
    return t->source;
}

/* A canonical non-negative decimal index ("0", "12"; not "012"). */
static int tpl_parse_index(const char *s, size_t *out)
{
    size_t v = 0;

    if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
            return 0;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static const json_t *tpl_unwrap_single(const json_t *value)
{
    if (json_is_array(value) && json_array_size(value) == 1)
        return json_array_get(value, 0);
    return value;
}

const json_t *tpl_lookup(const json_t *event, char *const *parts, size_t nparts)
{
    const json_t *v = event;

    for (size_t i = 0; i < nparts && v != NULL; i++) {
        size_t index;

        if (json_is_array(v) && tpl_parse_index(parts[i], &index)) {
            v = json_array_get(v, index);
            continue;
        }
        v = tpl_unwrap_single(v);
        v = json_is_object(v) ? json_object_get(v, parts[i]) : NULL;
    }
    return tpl_unwrap_single(v);
}

const json_t *tpl_single_value(const tpl *t, const json_t *event)
{
    if (!tpl_is_single(t))
        return NULL;
    return tpl_lookup(event, t->segs[0].parts, t->segs[0].nparts);
}

static int tpl_append(char **out, size_t *len, const char *data, size_t n)
{
    char *grown = realloc(*out, *len + n + 1);

    if (grown == NULL)
        return -1;
    if (n > 0)
        memcpy(grown + *len, data, n);
    *len += n;
    grown[*len] = '\0';
    *out = grown;
    return 0;
}

/* Percent-encode everything but ALPHA, DIGIT, '-', '_', '~' (see ENCODINGS). */
static int tpl_append_url(char **out, size_t *len, const char *data, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *grown = realloc(*out, *len + 3 * n + 1);

    if (grown == NULL)
        return -1;
    *out = grown;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '~') {
            grown[(*len)++] = (char)c;
        } else {
            grown[(*len)++] = '%';
            grown[(*len)++] = hex[c >> 4];
            grown[(*len)++] = hex[c & 15];
        }
    }
    grown[*len] = '\0';
    return 0;
}

/*
 * jansson prints reals with 17 significant digits (0.1 becomes
 * 0.10000000000000001); a receiver expects "0.1". Try increasing
 * precisions until the text reads back as the same double; a decimal comma
 * from setlocale() is turned back into a point.
 */
static size_t tpl_format_real(double value, char *buf, size_t len)
{
    size_t n;

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, value);
        if (strtod(buf, NULL) == value)
            break;
    }
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
    n = strlen(buf);
    if (strpbrk(buf, ".eEni") == NULL && n + 2 < len) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}

static int tpl_value_text(const json_t *value, enum tpl_enc enc, char **out, size_t *len)
{
    int (*put)(char **, size_t *, const char *, size_t) =
        enc == TPL_URL ? tpl_append_url : tpl_append;
    char buf[64];
    char *dump;
    int rc;

    switch (json_typeof(value)) {
    case JSON_STRING:
        return put(out, len, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return put(out, len, buf, strlen(buf));
    case JSON_REAL:
        return put(out, len, buf, tpl_format_real(json_real_value(value), buf, sizeof(buf)));
    case JSON_TRUE:
        return put(out, len, "true", 4);
    case JSON_FALSE:
        return put(out, len, "false", 5);
    case JSON_NULL:
        return 0;
    case JSON_OBJECT:
    case JSON_ARRAY:
        dump = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (dump == NULL)
            return -1;
        rc = put(out, len, dump, strlen(dump));
        free(dump);
        return rc;
    }
    return -1;
}

int tpl_render(const tpl *t, const json_t *event, enum tpl_enc enc, char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;

    if (tpl_append(&buf, &n, "", 0) != 0)
        return -1;
    for (size_t i = 0; i < t->nsegs; i++) {
        const struct tpl_seg *seg = &t->segs[i];
        const json_t *value;

        if (seg->kind == TPL_SEG_TEXT) {
            if (tpl_append(&buf, &n, seg->text, seg->len) != 0)
                goto fail;
            continue;
        }
        value = tpl_lookup(event, seg->parts, seg->nparts);
        if (value != NULL && tpl_value_text(value, enc, &buf, &n) != 0)
            goto fail;
    }
    *out = buf;
    *len = n;
    return 0;

fail:
    free(buf);
    return -1;
}

#endif /* SLUICE_TPL_IMPLEMENTED */
#endif /* TPL_IMPLEMENTATION */
