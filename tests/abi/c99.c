/*
 * c99.c - a plugin compiled with -std=c99 -pedantic -Werror (and the
 * project's warning flags): <sluice/plugin.h>, SLUICE_PLUGIN_DEFINE and the
 * optional <sluice/jansson.h> must stay within ISO C99.
 *
 * It copies body.ref of the event into the outputs, using the helpers.
 */
#include <sluice/jansson.h>
#include <sluice/plugin.h>

#include <stdlib.h>

static const sluice_host *g_host;

static int c99_init(const sluice_host *host, void **ctx, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    g_host = host;
    return 0;
}

static int c99_configure(void *ctx, const char *cfg_json, size_t cfg_len, const char *where,
                         void **instance, char *err, size_t errlen)
{
    static const char *const known[] = {"key", NULL};
    json_t *cfg = sluice_json_config(cfg_json, cfg_len, where, err, errlen);
    (void)ctx;
    if (!cfg)
        return -1;
    if (sluice_json_check_keys(cfg, known, where, err, errlen) < 0) {
        json_decref(cfg);
        return -1;
    }
    *instance = cfg; /* the parsed config is the instance */
    return 0;
}

static void c99_unconfigure(void *instance)
{
    json_decref((json_t *)instance);
}

static int c99_execute(void *instance, sluice_exec *exec)
{
    json_t *cfg = (json_t *)instance;
    const char *path = sluice_json_path_string(cfg, "key");
    json_t *event = sluice_json_event(g_host, exec, NULL);
    json_t *out;
    int rc;
    if (!event)
        return SLUICE_ERR;
    if (!path)
        path = "body.ref";
    out = json_pack("{s:O?}", "value", sluice_json_path(event, path));
    rc = out ? sluice_json_set_output(g_host, exec, out) : -1;
    json_decref(out);
    json_decref(event);
    return rc == 0 ? SLUICE_OK : SLUICE_ERR;
}

SLUICE_PLUGIN_DEFINE(.name = "c99", .version = "1.0", .description = "ISO C99 build check",
                     .license = "MIT", .init = c99_init, .configure = c99_configure,
                     .unconfigure = c99_unconfigure, .execute = c99_execute)
