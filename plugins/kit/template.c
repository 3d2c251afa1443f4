/*
 * template.c - {placeholder} templates resolved against the event JSON.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * See template.h for the rules. A template is compiled once, at configure
 * time, into a list of segments (literal text or a split path) so that
 * every error is found before the first webhook and rendering is a plain
 * walk with no parsing.
 */
#define _GNU_SOURCE
#include "kit/template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/kit.h"

enum kit_seg_kind { KIT_SEG_TEXT, KIT_SEG_PATH };

struct kit_seg {
    enum kit_seg_kind kind;
    char *text; /* literal text, or the path as written (without braces) */
    size_t len;
    char **parts; /* KIT_SEG_PATH: the path split on '.' */
    size_t nparts;
};

struct kit_template {
    char *source;
    struct kit_seg *segs;
    size_t nsegs;
    int placeholders;
};

/* The top-level fields of the event sluiced builds (sdk/docs/host_exec_event.md). */
static const char *const kit_template_roots[] = {
    "execution_id", "request_id", "trigger",     "flow",        "function",     "method",
    "path",         "params",     "query",       "headers",     "content_type", "body",
    "raw_body_b64", "variables",  "remote_addr", "received_at",
};

int kit_template_root_known(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(kit_template_roots) / sizeof(kit_template_roots[0]); i++) {
        if (strlen(kit_template_roots[i]) == len && memcmp(kit_template_roots[i], name, len) == 0)
            return 1;
    }
    return 0;
}

static void kit_template_roots_list(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(kit_template_roots) / sizeof(kit_template_roots[0]); i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", kit_template_roots[i]);

        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

/* Bytes allowed in a path part: anything visible but the template syntax. */
static int kit_path_byte_ok(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '{' && c != '}' && c != '.';
}

/*
 * Check a path (len bytes, without braces) for syntax: non-empty parts of
 * allowed bytes separated by single dots. Returns 1 when valid.
 */
static int kit_path_valid(const char *path, size_t len)
{
    size_t part = 0;

    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '.') {
            if (part == 0)
                return 0;
            part = 0;
        } else if (kit_path_byte_ok((unsigned char)path[i])) {
            part++;
        } else {
            return 0;
        }
    }
    return part > 0;
}

static size_t kit_path_root_len(const char *path, size_t len)
{
    const char *dot = memchr(path, '.', len);

    return dot ? (size_t)(dot - path) : len;
}

static void kit_seg_clear(struct kit_seg *seg)
{
    free(seg->text);
    for (size_t i = 0; i < seg->nparts; i++)
        free(seg->parts[i]);
    free(seg->parts);
}

void kit_template_free(kit_template *tpl)
{
    if (!tpl)
        return;
    for (size_t i = 0; i < tpl->nsegs; i++)
        kit_seg_clear(&tpl->segs[i]);
    free(tpl->segs);
    free(tpl->source);
    free(tpl);
}

static struct kit_seg *kit_template_add(kit_template *tpl, enum kit_seg_kind kind)
{
    struct kit_seg *segs = realloc(tpl->segs, (tpl->nsegs + 1) * sizeof(*segs));

    if (!segs)
        return NULL;
    tpl->segs = segs;
    memset(&segs[tpl->nsegs], 0, sizeof(segs[0]));
    segs[tpl->nsegs].kind = kind;
    return &segs[tpl->nsegs++];
}

/* Append len bytes of literal text, merging with a preceding text segment. */
static int kit_template_add_text(kit_template *tpl, const char *text, size_t len)
{
    struct kit_seg *seg = NULL;
    char *grown;

    if (len == 0)
        return 0;
    if (tpl->nsegs > 0 && tpl->segs[tpl->nsegs - 1].kind == KIT_SEG_TEXT)
        seg = &tpl->segs[tpl->nsegs - 1];
    else if (!(seg = kit_template_add(tpl, KIT_SEG_TEXT)))
        return -1;
    grown = realloc(seg->text, seg->len + len + 1);
    if (!grown)
        return -1;
    memcpy(grown + seg->len, text, len);
    seg->len += len;
    grown[seg->len] = '\0';
    seg->text = grown;
    return 0;
}

/*
 * Split a validated path into parts. Header names are case-insensitive in
 * HTTP and lower case in the event, so {headers.X-GitHub-Event} is folded.
 */
static int kit_template_add_path(kit_template *tpl, const char *path, size_t len)
{
    struct kit_seg *seg = kit_template_add(tpl, KIT_SEG_PATH);
    const char *p = path;
    const char *end = path + len;

    if (!seg || !(seg->text = strndup(path, len)))
        return -1;
    seg->len = len;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        char **parts = realloc(seg->parts, (seg->nparts + 1) * sizeof(*parts));

        if (!parts)
            return -1;
        seg->parts = parts;
        if (!(parts[seg->nparts] = strndup(p, n)))
            return -1;
        seg->nparts++;
        p += n + 1;
    }
    if (seg->nparts >= 2 && strcmp(seg->parts[0], "headers") == 0)
        for (char *c = seg->parts[1]; *c; c++)
            *c = (char)tolower((unsigned char)*c);
    tpl->placeholders = 1;
    return 0;
}

int kit_template_compile(kit_template **out, const char *text, char *err, size_t errlen)
{
    kit_template *tpl = calloc(1, sizeof(*tpl));
    const char *lit = text;
    const char *p = text;

    *out = NULL;
    if (!tpl || !(tpl->source = strdup(text)))
        goto nomem;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (kit_template_add_text(tpl, lit, (size_t)(p - lit) + 1) != 0)
                goto nomem;
            p += 2;
            lit = p;
            continue;
        }
        if (*p == '}') {
            kit_errf(err, errlen,
                     "unmatched '}' at offset %zu in \"%s\" (write '}}' for a literal brace)",
                     (size_t)(p - text), text);
            goto fail;
        }
        if (*p != '{') {
            p++;
            continue;
        }
        const char *close = strpbrk(p + 1, "{}");
        if (!close || *close == '{') {
            kit_errf(err, errlen,
                     "unclosed '{' at offset %zu in \"%s\" (write '{{' for a literal brace)",
                     (size_t)(p - text), text);
            goto fail;
        }
        size_t plen = (size_t)(close - p - 1);
        if (!kit_path_valid(p + 1, plen)) {
            kit_errf(err, errlen,
                     "bad placeholder \"%.*s\" in \"%s\": expected {root.name...} with "
                     "non-empty parts and no spaces",
                     (int)(plen + 2), p, text);
            goto fail;
        }
        if (!kit_template_root_known(p + 1, kit_path_root_len(p + 1, plen))) {
            char roots[512];

            kit_template_roots_list(roots, sizeof(roots));
            kit_errf(err, errlen, "unknown placeholder root \"%.*s\" in \"%s\" (known: %s)",
                     (int)kit_path_root_len(p + 1, plen), p + 1, text, roots);
            goto fail;
        }
        if (kit_template_add_text(tpl, lit, (size_t)(p - lit)) != 0 ||
            kit_template_add_path(tpl, p + 1, plen) != 0)
            goto nomem;
        p = close + 1;
        lit = p;
    }
    if (kit_template_add_text(tpl, lit, (size_t)(p - lit)) != 0)
        goto nomem;
    *out = tpl;
    return 0;

nomem:
    kit_errf(err, errlen, "out of memory");
fail:
    kit_template_free(tpl);
    return -1;
}

int kit_template_has_placeholders(const kit_template *tpl)
{
    return tpl->placeholders;
}

const char *kit_template_source(const kit_template *tpl)
{
    return tpl->source;
}

/* Parse a canonical non-negative decimal index ("0", "12"; not "012"). */
static int kit_parse_index(const char *s, size_t *out)
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

static const json_t *kit_unwrap_single(const json_t *value)
{
    if (json_is_array(value) && json_array_size(value) == 1)
        return json_array_get(value, 0);
    return value;
}

const json_t *kit_template_lookup(const json_t *event, char *const *parts, size_t nparts)
{
    const json_t *v = event;

    for (size_t i = 0; i < nparts && v; i++) {
        size_t index;

        if (json_is_array(v) && kit_parse_index(parts[i], &index)) {
            v = json_array_get(v, index);
            continue;
        }
        v = kit_unwrap_single(v);
        v = json_is_object(v) ? json_object_get(v, parts[i]) : NULL;
    }
    return kit_unwrap_single(v);
}

static int kit_append(char **out, size_t *len, const char *data, size_t n)
{
    char *grown = realloc(*out, *len + n + 1);

    if (!grown)
        return -1;
    memcpy(grown + *len, data, n);
    *len += n;
    grown[*len] = '\0';
    *out = grown;
    return 0;
}

/* Percent-encode everything but ALPHA, DIGIT, '-', '_', '~' (template.h). */
static int kit_append_url(char **out, size_t *len, const char *data, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *grown = realloc(*out, *len + 3 * n + 1);

    if (!grown)
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

static int kit_value_text(const json_t *value, enum kit_enc enc, char **out, size_t *len)
{
    int (*put)(char **, size_t *, const char *, size_t) =
        enc == KIT_ENC_URL ? kit_append_url : kit_append;
    char buf[64];
    char *dump;
    int rc;

    switch (json_typeof(value)) {
    case JSON_STRING:
        return put(out, len, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return put(out, len, buf, strlen(buf));
    case JSON_REAL: {
        size_t n = kit_format_real(json_real_value(value), buf, sizeof(buf));
        return put(out, len, buf, n);
    }
    case JSON_TRUE:
        return put(out, len, "true", 4);
    case JSON_FALSE:
        return put(out, len, "false", 5);
    case JSON_NULL:
        return put(out, len, "", 0);
    case JSON_OBJECT:
    case JSON_ARRAY:
        dump = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!dump)
            return -1;
        rc = put(out, len, dump, strlen(dump));
        free(dump);
        return rc;
    }
    return -1;
}

int kit_template_value_text(const json_t *value, char **out, size_t *len)
{
    return kit_value_text(value, KIT_ENC_RAW, out, len);
}

int kit_template_render_enc(const kit_template *tpl, const json_t *event, enum kit_enc enc,
                            char **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;

    if (kit_append(&buf, &n, "", 0) != 0)
        return -1;
    for (size_t i = 0; i < tpl->nsegs; i++) {
        const struct kit_seg *seg = &tpl->segs[i];
        const json_t *value;

        if (seg->kind == KIT_SEG_TEXT) {
            if (kit_append(&buf, &n, seg->text, seg->len) != 0)
                goto fail;
            continue;
        }
        value = kit_template_lookup(event, seg->parts, seg->nparts);
        if (value && kit_value_text(value, enc, &buf, &n) != 0)
            goto fail;
    }
    *out = buf;
    *len = n;
    return 0;

fail:
    free(buf);
    return -1;
}

int kit_template_render(const kit_template *tpl, const json_t *event, char **out, size_t *len)
{
    return kit_template_render_enc(tpl, event, KIT_ENC_RAW, out, len);
}

int kit_template_is_single(const kit_template *tpl)
{
    return tpl->nsegs == 1 && tpl->segs[0].kind == KIT_SEG_PATH;
}

const json_t *kit_template_single_value(const kit_template *tpl, const json_t *event)
{
    if (!kit_template_is_single(tpl))
        return NULL;
    return kit_template_lookup(event, tpl->segs[0].parts, tpl->segs[0].nparts);
}

int kit_template_find_in_script(const char *script, char *found, size_t foundlen)
{
    for (const char *p = script; *p; p++) {
        if (p[0] == '{' && p[1] == '{') {
            p++;
            continue;
        }
        if (*p != '{' || (p > script && p[-1] == '$'))
            continue;
        const char *close = strpbrk(p + 1, "{}");
        if (!close || *close == '{')
            continue;
        size_t plen = (size_t)(close - p - 1);
        if (kit_path_valid(p + 1, plen) &&
            kit_template_root_known(p + 1, kit_path_root_len(p + 1, plen))) {
            snprintf(found, foundlen, "%.*s", (int)(plen + 2), p);
            return 1;
        }
    }
    return 0;
}
