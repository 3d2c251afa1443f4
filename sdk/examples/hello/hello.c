/*
 * hello.c - the smallest complete sluice executor.
 *
 * It greets whoever the request names in an X-Name header ("world" when
 * there is none), records the greeting as the execution's output and on its
 * stdout, and refuses a bad name with an error. It depends on nothing but
 * <sluice/plugin.h>, so it also builds without autotools:
 *
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags sluice-sdk) -o hello.so hello.c
 *
 * A plugin that needs the request body parses the event JSON with a JSON
 * library; ../jsonl shows that with jansson and <sluice/jansson.h>.
 *
 * This file is in the public domain (CC0): copy it to start your own plugin.
 */
#include <sluice/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_MAX_NAME 64

/* Per process: what init received. */
typedef struct hello_ctx {
    const sluice_host *host;
} hello_ctx;

/* Per flow: made by configure, freed by unconfigure. */
typedef struct hello_instance {
    const sluice_host *host;
    unsigned long runs; /* only touched by execute, which the host serializes */
} hello_instance;

static int hello_init(const sluice_host *host, void **plugin_ctx, char *err, size_t errlen)
{
    hello_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ctx->host = host;
    *plugin_ctx = ctx;
    return 0;
}

static void hello_destroy(void *plugin_ctx)
{
    free(plugin_ctx);
}

/* hello has no settings: the flow's config group must be empty ("{}"). */
static int hello_configure(void *plugin_ctx, const char *cfg_json, size_t cfg_len,
                           const char *where, void **instance, char *err, size_t errlen)
{
    hello_ctx *ctx = plugin_ctx;
    char seen[3] = "";
    size_t i, n = 0;
    for (i = 0; i < cfg_len; i++) {
        char c = cfg_json[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
            continue;
        if (n == 2)
            break;
        seen[n++] = c;
    }
    if (i < cfg_len || strcmp(seen, "{}") != 0) {
        snprintf(err, errlen, "%s: hello takes no settings; remove the config group", where);
        return -1;
    }
    hello_instance *in = calloc(1, sizeof(*in));
    if (!in) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    in->host = ctx->host;
    *instance = in;
    return 0;
}

static void hello_unconfigure(void *instance)
{
    free(instance);
}

/* A name is 1 to 64 bytes with no control characters, quotes or backslashes,
 * so it can go into JSON text as it is. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HELLO_MAX_NAME)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

static int hello_execute(void *instance, sluice_exec *exec)
{
    hello_instance *in = instance;
    const sluice_host *host = in->host;
    const char *name = host->exec_header(exec, "X-Name");
    if (!name)
        name = "world";
    if (!name_ok(name)) {
        /* Say why, then fail: the message is kept with the execution. */
        host->exec_set_error(exec, "X-Name must be 1 to 64 characters without quotes, "
                                   "backslashes or control characters");
        return SLUICE_ERR;
    }

    char message[128];
    int n = snprintf(message, sizeof(message), "hello, %s", name);
    in->runs++;
    host->log(host, exec, SLUICE_LOG_DEBUG, "greeting %s (run %lu of this flow)", name, in->runs);

    /* stdout of the execution, as a command's would be. */
    host->exec_write_log(exec, SLUICE_STDOUT, message, (size_t)n);
    host->exec_write_log(exec, SLUICE_STDOUT, "\n", 1);

    /* Outputs are one JSON object; the host copies it before returning. */
    const char *flow = host->exec_meta(exec, "flow");
    char outputs[512];
    n = snprintf(outputs, sizeof(outputs), "{\"message\":\"%s\",\"flow\":\"%s\"}", message,
                 flow ? flow : "");
    if (n < 0 || (size_t)n >= sizeof(outputs) ||
        host->exec_set_output(exec, outputs, (size_t)n) != 0) {
        host->exec_set_error(exec, "could not set the outputs");
        return SLUICE_ERR;
    }
    return SLUICE_OK;
}

SLUICE_PLUGIN_DEFINE(.name = "hello", .version = "1.0.0",
                     .description = "Greets the name in the X-Name header", .license = "CC0-1.0",
                     .init = hello_init, .destroy = hello_destroy, .configure = hello_configure,
                     .unconfigure = hello_unconfigure, .execute = hello_execute)
