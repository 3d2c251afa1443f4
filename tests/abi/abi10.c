/*
 * abi10.c - a plugin built from the frozen v1.0 header
 * (tests/abi/frozen/v1.0/sluice/plugin.h), never from the current one.
 *
 * Every later sluiced must load it and serve every v1.0 host function to it
 * with v1.0 meaning. It calls each of them and reports what it saw as the
 * execution's outputs, so tests/abi/compat.sh can check the answers through
 * the real daemon. Modes (config "mode"): "report" (default), "fail"
 * (exec_set_error + SLUICE_ERR), "respond" (exec_set_response), "pending"
 * (SLUICE_PENDING, completed from another thread).
 */
#include <sluice/plugin.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if SLUICE_ABI_MAJOR != 1 || SLUICE_ABI_MINOR != 0
#error "abi10 must be built against the frozen v1.0 header"
#endif

enum { MODE_REPORT, MODE_FAIL, MODE_RESPOND, MODE_PENDING };

static const sluice_host *g_host;

typedef struct {
    int mode;
} abi10_instance;

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

static int abi10_init(const sluice_host *host, void **ctx, char *err, size_t errlen)
{
    (void)ctx;
    if (host->abi_major != 1 || host->struct_size < offsetof(sluice_host, exec_set_response) +
                                                        sizeof(host->exec_set_response)) {
        snprintf(err, errlen, "host table too small for v1.0");
        return -1;
    }
    g_host = host;
    return 0;
}

static int abi10_configure(void *ctx, const char *cfg, size_t len, const char *where,
                           void **instance, char *err, size_t errlen)
{
    (void)ctx;
    abi10_instance *in = calloc(1, sizeof(*in));
    if (!in) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    if (len != strlen(cfg)) {
        snprintf(err, errlen, "%s: cfg_len %zu but the text is %zu bytes", where, len, strlen(cfg));
        free(in);
        return -1;
    }
    if (strstr(cfg, "\"fail\""))
        in->mode = MODE_FAIL;
    else if (strstr(cfg, "\"respond\""))
        in->mode = MODE_RESPOND;
    else if (strstr(cfg, "\"pending\""))
        in->mode = MODE_PENDING;
    *instance = in;
    return 0;
}

static void abi10_unconfigure(void *instance)
{
    free(instance);
}

static void *complete_later(void *arg)
{
    sluice_exec *exec = arg;
    const sluice_host *h = g_host;
    h->exec_write_log(exec, SLUICE_STDOUT, "completed from another thread\n", 30);
    h->exec_set_output(exec, "{\"pending\":\"done\"}", 18);
    h->exec_complete(exec, SLUICE_OK);
    return NULL;
}

static int abi10_execute(void *instance, sluice_exec *exec)
{
    abi10_instance *in = instance;
    const sluice_host *h = g_host;
    static const char *const meta_keys[] = {"execution_id", "request_id", "flow",
                                            "namespace",    "trigger",    "function",
                                            "attempt",      "timeout_ms", "mode"};

    h->log(h, exec, SLUICE_LOG_INFO, "abi10 says hello (%s)", "v1.0");
    if (in->mode == MODE_FAIL) {
        h->exec_set_exit_code(exec, 9);
        h->exec_set_error(exec, "abi10 failed on purpose");
        return SLUICE_ERR;
    }
    if (in->mode == MODE_RESPOND) {
        static const char body[] = "made by abi10\n";
        int rc = h->exec_set_response(exec, 201, "text/plain", body, sizeof(body) - 1);
        return rc == 0 ? SLUICE_OK : SLUICE_ERR;
    }
    if (in->mode == MODE_PENDING) {
        pthread_t t;
        if (pthread_create(&t, NULL, complete_later, exec) != 0)
            return SLUICE_ERR;
        pthread_detach(t);
        return SLUICE_PENDING;
    }

    buf b = {0};
    size_t len = 0;
    const char *event = h->exec_event(exec, &len);
    put(&b, "{\"host_abi\":\"%u.%u\",\"host_struct_size\":%u", h->abi_major, h->abi_minor,
        h->struct_size);
    put(&b, ",\"has_set_response\":%s", SLUICE_HOST_HAS(h, exec_set_response) ? "true" : "false");
    put(&b, ",\"event_ok\":%s",
        event && len == strlen(event) && event[0] == '{' && event[len - 1] == '}' ? "true"
                                                                                  : "false");
    put(&b, ",\"x_test\":");
    put_str(&b, h->exec_header(exec, "x-TEST"));
    put(&b, ",\"authorization\":");
    put_str(&b, h->exec_header(exec, "Authorization"));
    put(&b, ",\"missing_header\":");
    put_str(&b, h->exec_header(exec, "X-Not-Sent"));
    put(&b, ",\"meta\":{");
    for (size_t i = 0; i < sizeof(meta_keys) / sizeof(meta_keys[0]); i++) {
        put(&b, "%s\"%s\":", i ? "," : "", meta_keys[i]);
        put_str(&b, h->exec_meta(exec, meta_keys[i]));
    }
    put(&b, "},\"unknown_meta\":");
    put_str(&b, h->exec_meta(exec, "no-such-key"));
    put(&b, ",\"cancelled\":%d", h->exec_is_cancelled(exec));
    put(&b, ",\"rc\":{\"exit_code\":%d", h->exec_set_exit_code(exec, 7));
    put(&b, ",\"stdout\":%d", h->exec_write_log(exec, SLUICE_STDOUT, "to stdout\n", 10));
    put(&b, ",\"stderr\":%d", h->exec_write_log(exec, SLUICE_STDERR, "to stderr\n", 10));
    put(&b, ",\"bad_stream\":%d", h->exec_write_log(exec, 3, "x", 1));
    put(&b, ",\"not_object\":%d", h->exec_set_output(exec, "[1]", 3));
    put(&b, "}}");
    int rc = b.s ? h->exec_set_output(exec, b.s, b.len) : -1;
    free(b.s);
    return rc == 0 ? SLUICE_OK : SLUICE_ERR;
}

SLUICE_PLUGIN_DEFINE(.name = "abi10", .version = "1.0", .description = "ABI v1.0 fixture",
                     .license = "MIT", .init = abi10_init, .configure = abi10_configure,
                     .unconfigure = abi10_unconfigure, .execute = abi10_execute)
