/*
 * sluice/jansson.h - optional helpers for plugins that use jansson.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * JSON crosses the plugin ABI as UTF-8 text (see <sluice/plugin.h>). A
 * plugin that uses jansson can include this header to turn that text into
 * json_t values and back without repeating the same twenty lines in every
 * plugin:
 *
 *     sluice_json_config      parse configure's cfg_json, insist on an object
 *     sluice_json_check_keys  refuse unknown settings ("unknown setting ...")
 *     sluice_json_event       parse the execution's event
 *     sluice_json_parse_event the same from the event's text
 *     sluice_json_path        look up "body.items.0.id" in a json_t
 *     sluice_json_path_string the same, only when the value is a string
 *     sluice_json_size        "512K", "1M" or an integer, like sluice.conf
 *     sluice_json_duration    "250ms", "30s", "5m" or an integer of seconds
 *     sluice_json_set_output  exec_set_output from a json_t object
 *     sluice_json_set_response exec_set_response with a json_t body
 *     sluice_json_error       write "where: message" into err, return -1
 *
 * Everything here is static inline and compiled into the plugin against the
 * plugin's own jansson (link it with -ljansson, `pkg-config --libs
 * jansson`). sluiced never sees a json_t: the ABI is unchanged whether a
 * plugin uses this header or not, and the host's jansson (if any) is never
 * shared with the plugin. The header is C99 and C++ clean.
 *
 * Ownership follows jansson: functions that return a new reference say so;
 * sluice_json_path returns a borrowed one. Nothing here keeps state, so every
 * function may be called from any thread.
 */
#ifndef SLUICE_JANSSON_H
#define SLUICE_JANSSON_H

#include <sluice/plugin.h>

#include <jansson.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Format "where: message" (or just the message when where is NULL or empty)
 * into err, errlen bytes, always NUL-terminated. Returns -1 so that a
 * configure callback can write `return sluice_json_error(...)`.
 */
static inline int sluice_json_error(char *err, size_t errlen, const char *where, const char *fmt,
                                    ...) SLUICE_PRINTF(4, 5);
static inline int sluice_json_error(char *err, size_t errlen, const char *where, const char *fmt,
                                    ...)
{
    size_t n = 0;
    va_list ap;
    if (!err || !errlen)
        return -1;
    err[0] = '\0';
    if (where && *where) {
        int w = snprintf(err, errlen, "%s: ", where);
        n = w < 0 ? 0 : (size_t)w;
        if (n >= errlen)
            return -1;
    }
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - n, fmt, ap);
    va_end(ap);
    return -1;
}

/*
 * Parse a flow's configuration as configure receives it. Returns a new
 * reference to a JSON object, or NULL with "where: why" in err.
 */
static inline json_t *sluice_json_config(const char *cfg_json, size_t cfg_len, const char *where,
                                         char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *cfg;
    if (!cfg_json) {
        sluice_json_error(err, errlen, where, "no configuration");
        return NULL;
    }
    cfg = json_loadb(cfg_json, cfg_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!cfg) {
        sluice_json_error(err, errlen, where, "configuration is not valid JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        sluice_json_error(err, errlen, where, "configuration must be a group of settings");
        return NULL;
    }
    return cfg;
}

/*
 * Refuse settings the plugin does not know, the way sluiced refuses unknown
 * settings in its own files (a typo must not silently disable something).
 * allowed is a NULL-terminated list of names. Returns 0, or -1 with
 * "where: unknown setting "NAME" (known: a, b, c)" in err.
 */
static inline int sluice_json_check_keys(const json_t *obj, const char *const *allowed,
                                         const char *where, char *err, size_t errlen)
{
    const char *key;
    json_t *value;
    if (!json_is_object(obj))
        return sluice_json_error(err, errlen, where, "expected a group of settings");
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t i;
        int known = 0;
        (void)value;
        for (i = 0; allowed && allowed[i]; i++)
            if (strcmp(allowed[i], key) == 0) {
                known = 1;
                break;
            }
        if (!known) {
            char list[256];
            size_t n = 0;
            list[0] = '\0';
            for (i = 0; allowed && allowed[i] && n + 1 < sizeof(list); i++) {
                int w = snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", allowed[i]);
                if (w < 0)
                    break;
                n += (size_t)w;
            }
            return sluice_json_error(err, errlen, where, "unknown setting \"%s\" (known: %s)", key,
                                     list[0] ? list : "none");
        }
    }
    return 0;
}

/* 1 when jansson holds the number token tok (n bytes) as a number. */
static inline int sluice_json_number_fits_(const char *tok, size_t n)
{
    char small[64];
    char *buf = n < sizeof(small) ? small : (char *)malloc(n + 1);
    size_t i;
    int integer = 1, fits, saved = errno;
    if (!buf)
        return 1;
    for (i = 0; i < n; i++) {
        char c = tok[i];
        if (c == '.' || c == 'e' || c == 'E')
            integer = 0;
        /* jansson reads reals with the locale's decimal point */
        buf[i] = c == '.' ? *localeconv()->decimal_point : c;
    }
    buf[n] = '\0';
    errno = 0;
    if (integer) {
#if JSON_INTEGER_IS_LONG_LONG
        (void)strtoll(buf, NULL, 10);
#else
        (void)strtol(buf, NULL, 10);
#endif
        fits = errno != ERANGE;
    } else {
        double d = strtod(buf, NULL);
        fits = !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL));
    }
    errno = saved;
    if (buf != small)
        free(buf);
    return fits;
}

/*
 * A copy of JSON text that jansson can read: each number it cannot hold in
 * quotes (a string of its exact text), \u0000 in object keys as \uFFFD.
 * Every such change adds at most two bytes to a token of five or more, so
 * the copy fits in twice the text. malloc'd, or NULL.
 */
static inline char *sluice_json_tame_(const char *text, size_t len, size_t *outlen)
{
    size_t i = 0, n = 0;
    char *out;
    if (len > ((size_t)-1 - 16) / 2 || !(out = (char *)malloc(2 * len + 16)))
        return NULL;
    while (i < len) {
        char c = text[i];
        if (c == '"') {
            size_t j = i + 1, k;
            int key;
            while (j < len && text[j] != '"')
                j += text[j] == '\\' ? 2 : 1;
            if (j >= len)
                j = len - 1;
            for (k = j + 1; k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' ||
                                        text[k] == '\r');
                 k++)
                ;
            key = k < len && text[k] == ':';
            for (k = i; k <= j; k++) {
                if (text[k] == '\\' && key && k + 6 <= j && memcmp(text + k, "\\u0000", 6) == 0) {
                    memcpy(out + n, "\\uFFFD", 6);
                    n += 6;
                    k += 5;
                    continue;
                }
                if (text[k] == '\\' && k < j)
                    out[n++] = text[k++];
                out[n++] = text[k];
            }
            i = j + 1;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            int fits;
            while (j < len && text[j] && strchr("0123456789+-.eE", text[j]))
                j++;
            fits = sluice_json_number_fits_(text + i, j - i);
            if (!fits)
                out[n++] = '"';
            memcpy(out + n, text + i, j - i);
            n += j - i;
            if (!fits)
                out[n++] = '"';
            i = j;
        } else {
            out[n++] = c;
            i++;
        }
    }
    *outlen = n;
    return out;
}

/*
 * Parse an execution's event from its text (what exec_event returns), the
 * way sluiced itself reads request bodies, so that a plugin and sluiced see
 * the same values:
 *
 *   - strings may hold \u0000 (JSON_ALLOW_NUL): a text body can carry a
 *     NUL; only a place that cannot hold one (argv, a header) refuses it;
 *   - a number jansson cannot hold (an integer beyond a json_int_t, a real
 *     beyond a double, such as 18446744073709551615 or 1.0e400, both valid
 *     JSON) is the string of its exact text, so "{body.id}"-style lookups
 *     give the digits as sent; the event text itself keeps the number;
 *   - \u0000 in an object key (jansson keys cannot hold a NUL) reads as
 *     U+FFFD;
 *   - duplicate keys are not refused here: sluiced refuses them in request
 *     bodies unless the trigger says json_duplicate_keys = "accept", and
 *     then, as here, the last of equal keys counts.
 *
 * Returns a new reference, or NULL with the reason in *error when error is
 * not NULL.
 */
static inline json_t *sluice_json_parse_event(const char *text, size_t len, json_error_t *error)
{
    json_error_t first, again;
    json_t *j;
    char *tame;
    size_t n = 0;
    if (!text) {
        if (error) {
            memset(error, 0, sizeof(*error));
            snprintf(error->text, sizeof(error->text), "the execution has no event");
        }
        return NULL;
    }
    j = json_loadb(text, len, JSON_ALLOW_NUL, &first);
    if (!j && (tame = sluice_json_tame_(text, len, &n))) {
        j = json_loadb(tame, n, JSON_ALLOW_NUL, &again);
        free(tame);
    }
    if (!j && error)
        *error = first;
    return j;
}

/*
 * Parse the event of an execution (host->exec_event) with
 * sluice_json_parse_event. Returns a new reference, or NULL with the reason
 * in *error when error is not NULL. The event is always a JSON object when
 * sluiced built it.
 */
static inline json_t *sluice_json_event(const sluice_host *host, const sluice_exec *exec,
                                        json_error_t *error)
{
    size_t len = 0;
    const char *text = host->exec_event(exec, &len);
    return sluice_json_parse_event(text, len, error);
}

/*
 * The value at a dotted path below root, as sluice's placeholders address
 * it: "body.ref", "headers.content-type", "body.items.0.id" (a decimal
 * segment indexes an array). An empty path is root itself. Returns a
 * borrowed reference (valid as long as root is), or NULL when any segment
 * is missing.
 */
static inline json_t *sluice_json_path(const json_t *root, const char *path)
{
    json_t *cur = (json_t *)root;
    const char *seg = path;
    if (!root || !path)
        return NULL;
    if (!*path)
        return cur;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        if (json_is_object(cur)) {
            char small[128];
            char *key = n < sizeof(small) ? small : (char *)malloc(n + 1);
            if (!key)
                return NULL;
            memcpy(key, seg, n);
            key[n] = '\0';
            cur = json_object_get(cur, key);
            if (key != small)
                free(key);
        } else if (json_is_array(cur)) {
            size_t i, idx = 0;
            if (n == 0 || n > 9)
                return NULL;
            for (i = 0; i < n; i++) {
                if (seg[i] < '0' || seg[i] > '9')
                    return NULL;
                idx = idx * 10 + (size_t)(seg[i] - '0');
            }
            cur = json_array_get(cur, idx);
        } else {
            return NULL;
        }
        if (!cur || !dot)
            return cur;
        seg = dot + 1;
    }
}

/* The string at a dotted path, or NULL when it is missing or not a string.
 * Borrowed: valid as long as root is. */
static inline const char *sluice_json_path_string(const json_t *root, const char *path)
{
    json_t *v = sluice_json_path(root, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ASCII case-insensitive comparison (strcasecmp is not C99). */
static inline int sluice_json_unit_is_(const char *s, const char *unit)
{
    for (; *s && *unit; s++, unit++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != *unit)
            return 0;
    }
    return *s == *unit;
}

/* A non-negative decimal number followed by optional spaces; *rest points
 * after them. 0 or -1 (no digits, or overflow). */
static inline int sluice_json_number_(const char *s, uint64_t *out, const char **rest)
{
    uint64_t n = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    while (*s == ' ')
        s++;
    *out = n;
    *rest = s;
    return 0;
}

/*
 * A size setting, with the units sluice.conf accepts: a non-negative
 * integer of bytes, or a string "4096", "512K", "1M", "2G" (also "KB",
 * "KiB", ...; powers of 1024, case-insensitive). 0, or -1 when v is none of
 * these or overflows.
 */
static inline int sluice_json_size(const json_t *v, uint64_t *bytes)
{
    uint64_t n, mul;
    const char *u;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return -1;
        *bytes = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v) || sluice_json_number_(json_string_value(v), &n, &u) < 0)
        return -1;
    if (!*u || sluice_json_unit_is_(u, "b"))
        mul = 1;
    else if (sluice_json_unit_is_(u, "k") || sluice_json_unit_is_(u, "kb") ||
             sluice_json_unit_is_(u, "kib"))
        mul = 1024u;
    else if (sluice_json_unit_is_(u, "m") || sluice_json_unit_is_(u, "mb") ||
             sluice_json_unit_is_(u, "mib"))
        mul = 1024u * 1024u;
    else if (sluice_json_unit_is_(u, "g") || sluice_json_unit_is_(u, "gb") ||
             sluice_json_unit_is_(u, "gib"))
        mul = 1024u * 1024u * 1024u;
    else
        return -1;
    if (n && mul > UINT64_MAX / n)
        return -1;
    *bytes = n * mul;
    return 0;
}

/*
 * A duration setting, with the units sluice.conf accepts: an integer of
 * seconds, or a string "250ms", "30s" (or "30"), "5m", "1h", "14d". The
 * result is in milliseconds. 0, or -1.
 */
static inline int sluice_json_duration(const json_t *v, uint64_t *ms)
{
    uint64_t n, mul;
    const char *u;
    if (json_is_integer(v)) {
        json_int_t s = json_integer_value(v);
        if (s < 0 || (uint64_t)s > UINT64_MAX / 1000u)
            return -1;
        *ms = (uint64_t)s * 1000u;
        return 0;
    }
    if (!json_is_string(v) || sluice_json_number_(json_string_value(v), &n, &u) < 0)
        return -1;
    if (strcmp(u, "ms") == 0)
        mul = 1;
    else if (!*u || strcmp(u, "s") == 0)
        mul = 1000u;
    else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
        mul = 60u * 1000u;
    else if (strcmp(u, "h") == 0)
        mul = 3600u * 1000u;
    else if (strcmp(u, "d") == 0)
        mul = 86400u * 1000u;
    else
        return -1;
    if (n && mul > UINT64_MAX / n)
        return -1;
    *ms = n * mul;
    return 0;
}

/*
 * Set the execution's outputs from a JSON object (host->exec_set_output
 * with its compact text). outputs is not consumed. Returns what the host
 * returned: 0, or -1 when outputs is not an object, cannot be serialized
 * or is over SLUICE_MAX_OUTPUT (the host logs the refusal).
 */
static inline int sluice_json_set_output(const sluice_host *host, sluice_exec *exec,
                                         const json_t *outputs)
{
    char *text;
    int rc;
    if (!json_is_object(outputs)) {
        host->log(host, exec, SLUICE_LOG_ERROR, "sluice_json_set_output: not a JSON object");
        return -1;
    }
    text = json_dumps(outputs, JSON_COMPACT);
    if (!text) {
        host->log(host, exec, SLUICE_LOG_ERROR, "sluice_json_set_output: cannot serialize");
        return -1;
    }
    rc = host->exec_set_output(exec, text, strlen(text));
    free(text);
    return rc;
}

/*
 * For sync triggers: answer the sender with status and body as
 * application/json (host->exec_set_response). body is not consumed and may
 * be any JSON value. Returns what the host returned (0 or -1).
 */
static inline int sluice_json_set_response(const sluice_host *host, sluice_exec *exec, int status,
                                           const json_t *body)
{
    char *text;
    int rc;
    if (!body)
        return -1;
    text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return -1;
    rc = host->exec_set_response(exec, status, "application/json", text, strlen(text));
    free(text);
    return rc;
}

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_JANSSON_H */
