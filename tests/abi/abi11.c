/*
 * abi11.c - a plugin built from the frozen v1.1 header
 * (tests/abi/frozen/v1.1/sluice/plugin.h), never from the current one.
 *
 * Every later sluiced must load it and serve it the two functions 1.1
 * added with their 1.1 meaning. It reports what it saw as the execution's
 * outputs, so tests/abi/compat11.sh can check the answers through the real
 * daemon. Modes (config "mode"):
 *
 *   "report"  (default) the body exec_body lends (length, type, base64 of
 *             the bytes), exec_meta "respond_with", and the return value of
 *             exec_set_meta for good and for every kind of bad key or value;
 *             keeps "abi11.kind" and "abi11.len" as meta
 *   "echo"    answers with the body and its type (exec_set_response)
 *   "retry"   the first attempt records "abi11.first" and fails, the second
 *             records "abi11.second" and succeeds
 */
#include <sluice/plugin.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if SLUICE_ABI_MAJOR != 1 || SLUICE_ABI_MINOR != 1
#error "abi11 must be built against the frozen v1.1 header"
#endif

enum { MODE_REPORT, MODE_ECHO, MODE_RETRY };

static const sluice_host *g_host;

typedef struct {
    int mode;
} abi11_instance;

/* A growing JSON text buffer. */
typedef struct {
    char *s;
    size_t len, cap;
} buf;

static void put(buf *b, const char *fmt, ...) SLUICE_PRINTF(2, 3);
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->len + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* A JSON string (or null), escaped. */
static void put_str(buf *b, const char *s)
{
    if (!s) {
        put(b, "null");
        return;
    }
    put(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(b, "\\%c", c);
        else if (c < 0x20)
            put(b, "\\u%04x", c);
        else
            put(b, "%c", c);
    }
    put(b, "\"");
}

/* Any bytes, as a base64 JSON string. */
static void put_b64(buf *b, const unsigned char *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    put(b, "\"");
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        put(b, "%c%c%c%c", abc[v >> 18 & 63], abc[v >> 12 & 63], i + 1 < n ? abc[v >> 6 & 63] : '=',
            i + 2 < n ? abc[v & 63] : '=');
    }
    put(b, "\"");
}

static int abi11_init(const sluice_host *host, void **ctx, char *err, size_t errlen)
{
    (void)ctx;
    if (host->abi_major != 1 || !SLUICE_HOST_HAS(host, exec_body) ||
        !SLUICE_HOST_HAS(host, exec_set_meta)) {
        snprintf(err, errlen, "the host lacks the functions of ABI 1.1");
        return -1;
    }
    g_host = host;
    return 0;
}

static int abi11_configure(void *ctx, const char *cfg, size_t len, const char *where,
                           void **instance, char *err, size_t errlen)
{
    (void)ctx;
    (void)len;
    abi11_instance *in = calloc(1, sizeof(*in));
    if (!in) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    if (strstr(cfg, "\"echo\""))
        in->mode = MODE_ECHO;
    else if (strstr(cfg, "\"retry\""))
        in->mode = MODE_RETRY;
    *instance = in;
    return 0;
}

static void abi11_unconfigure(void *instance)
{
    free(instance);
}

static int report(sluice_exec *exec)
{
    const sluice_host *h = g_host;
    const char *type = "unset";
    size_t len = 12345;
    const char *body = h->exec_body(exec, &len, &type);
    char long_key[SLUICE_META_KEY_MAX + 2], long_value[SLUICE_META_VALUE_MAX + 2], n[32];
    buf b = {0};

    put(&b, "{\"host_abi\":\"%u.%u\",\"has_body\":%s,\"len\":%zu,\"type\":", h->abi_major,
        h->abi_minor, body ? "true" : "false", len);
    put_str(&b, type);
    put(&b, ",\"nul_after\":%s,\"body_b64\":", body && body[len] == '\0' ? "true" : "false");
    if (body)
        put_b64(&b, (const unsigned char *)body, len);
    else
        put(&b, "null");
    put(&b, ",\"null_args\":%s", h->exec_body(exec, NULL, NULL) == body ? "true" : "false");
    put(&b, ",\"respond_with\":");
    put_str(&b, h->exec_meta(exec, "respond_with"));

    snprintf(n, sizeof(n), "%zu", len);
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[0] = 'a';
    long_key[1] = '.';
    long_key[sizeof(long_key) - 1] = '\0';
    memset(long_value, 'v', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    put(&b, ",\"set\":{\"kind\":%d", h->exec_set_meta(exec, "abi11.kind", "report"));
    put(&b, ",\"len\":%d", h->exec_set_meta(exec, "abi11.len", n));
    put(&b, ",\"set\":%d", h->exec_set_meta(exec, "abi11.gone", "first"));
    put(&b, ",\"remove\":%d", h->exec_set_meta(exec, "abi11.gone", NULL));
    put(&b, ",\"remove_missing\":%d", h->exec_set_meta(exec, "abi11.never", NULL));
    put(&b, ",\"no_dot\":%d", h->exec_set_meta(exec, "flow", "hijacked"));
    put(&b, ",\"upper\":%d", h->exec_set_meta(exec, "Abi11.kind", "x"));
    put(&b, ",\"leading_dot\":%d", h->exec_set_meta(exec, ".abi11", "x"));
    put(&b, ",\"space\":%d", h->exec_set_meta(exec, "abi11.a b", "x"));
    put(&b, ",\"empty\":%d", h->exec_set_meta(exec, "", "x"));
    put(&b, ",\"null_key\":%d", h->exec_set_meta(exec, NULL, "x"));
    put(&b, ",\"long_key\":%d", h->exec_set_meta(exec, long_key, "x"));
    long_key[SLUICE_META_KEY_MAX] = '\0';
    put(&b, ",\"max_key\":%d", h->exec_set_meta(exec, long_key, "x"));
    put(&b, ",\"long_value\":%d", h->exec_set_meta(exec, "abi11.long", long_value));
    long_value[SLUICE_META_VALUE_MAX] = '\0';
    put(&b, ",\"max_value\":%d", h->exec_set_meta(exec, "abi11.max", long_value));
    put(&b, ",\"not_utf8\":%d", h->exec_set_meta(exec, "abi11.bytes", "caf\xe9"));
    h->exec_set_meta(exec, long_key, NULL);
    h->exec_set_meta(exec, "abi11.max", NULL);

    /* Fill up to the limit: abi11.kind and abi11.len are two. */
    int full = 0, over;
    for (unsigned i = 2; i < SLUICE_META_MAX; i++) {
        char key[32];
        snprintf(key, sizeof(key), "abi11.k%u", i);
        full |= h->exec_set_meta(exec, key, "x");
    }
    over = h->exec_set_meta(exec, "abi11.one-too-many", "x");
    put(&b, ",\"fill\":%d,\"over\":%d", full, over);
    put(&b, ",\"replace_when_full\":%d", h->exec_set_meta(exec, "abi11.k2", "y"));
    for (unsigned i = 2; i < SLUICE_META_MAX; i++) {
        char key[32];
        snprintf(key, sizeof(key), "abi11.k%u", i);
        h->exec_set_meta(exec, key, NULL);
    }
    put(&b, "},\"read\":{\"kind\":");
    put_str(&b, h->exec_meta(exec, "abi11.kind"));
    put(&b, ",\"gone\":");
    put_str(&b, h->exec_meta(exec, "abi11.gone"));
    put(&b, ",\"flow\":");
    put_str(&b, h->exec_meta(exec, "flow"));
    put(&b, "}}");
    int rc = b.s ? h->exec_set_output(exec, b.s, b.len) : -1;
    free(b.s);
    return rc == 0 ? SLUICE_OK : SLUICE_ERR;
}

static int abi11_execute(void *instance, sluice_exec *exec)
{
    abi11_instance *in = instance;
    const sluice_host *h = g_host;

    if (in->mode == MODE_ECHO) {
        size_t len;
        const char *type;
        const char *body = h->exec_body(exec, &len, &type);
        h->exec_set_meta(exec, "abi11.kind", "echo");
        if (!body)
            return h->exec_set_response(exec, 200, "text/plain", "(no body)", 9) == 0 ? SLUICE_OK
                                                                                      : SLUICE_ERR;
        return h->exec_set_response(exec, 200, type ? type : "application/octet-stream", body,
                                    len) == 0
                   ? SLUICE_OK
                   : SLUICE_ERR;
    }
    if (in->mode == MODE_RETRY) {
        const char *attempt = h->exec_meta(exec, "attempt");
        if (attempt && strcmp(attempt, "1") == 0) {
            h->exec_set_meta(exec, "abi11.first", "was here");
            h->exec_set_error(exec, "the first attempt fails");
            return SLUICE_ERR;
        }
        if (h->exec_meta(exec, "abi11.first")) {
            h->exec_set_error(exec, "the failed attempt's meta is still there");
            return SLUICE_ERR;
        }
        h->exec_set_meta(exec, "abi11.second", attempt ? attempt : "?");
        return SLUICE_OK;
    }
    return report(exec);
}

SLUICE_PLUGIN_DEFINE(.name = "abi11", .version = "1.1", .description = "ABI v1.1 fixture",
                     .license = "MIT", .init = abi11_init, .configure = abi11_configure,
                     .unconfigure = abi11_unconfigure, .execute = abi11_execute)
