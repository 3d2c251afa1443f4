/*
 * fixture.c - plugins for the loader tests, one per way to be wrong.
 *
 * Compiled once per FIXTURE_* macro into its own shared object. Each
 * variant differs from a good plugin in exactly one respect, so a test that
 * sees it refused knows which check refused it.
 */
#include <sluice/plugin.h>

#include <stdio.h>
#include <string.h>

/* Some variants leave some callbacks unused on purpose. */
#define FX_UNUSED __attribute__((unused))

FX_UNUSED static int fx_configure(void *ctx, const char *cfg, size_t len, const char *where,
                                  void **inst, char *err, size_t errlen)
{
    (void)ctx;
    (void)where;
    /* {"fail":true} exercises configure errors reaching the operator. */
    if (len && strstr(cfg, "\"fail\"")) {
        snprintf(err, errlen, "fixture refuses this config");
        return -1;
    }
    static int instance;
    *inst = &instance;
    return 0;
}

FX_UNUSED static void fx_unconfigure(void *inst)
{
    (void)inst;
}

FX_UNUSED static int fx_execute(void *inst, sluice_exec *exec)
{
    (void)inst;
    (void)exec;
    return SLUICE_OK;
}

#if defined(FIXTURE_INITFAIL)
static int fx_init(const sluice_host *host, void **ctx, char *err, size_t errlen)
{
    (void)host;
    (void)ctx;
    snprintf(err, errlen, "fixture init says no");
    return -1;
}
#else
#define fx_init NULL
#endif

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "good"
#endif

#if defined(FIXTURE_NOSYM)
/* Exports a function under the wrong name: not a sluice plugin. */
SLUICE_EXPORT int sluice_plugin_v0(void);
SLUICE_EXPORT int sluice_plugin_v0(void)
{
    return 0;
}
#else
typedef struct {
    sluice_plugin p;
    unsigned char tail[64];
} fixture_desc;

static const fixture_desc desc = {
    .p =
        {
#if defined(FIXTURE_MAJOR)
            .abi_major = SLUICE_ABI_MAJOR + 1,
#else
            .abi_major = SLUICE_ABI_MAJOR,
#endif
#if defined(FIXTURE_MINOR)
            .abi_minor = SLUICE_ABI_MINOR + 1,
#else
            .abi_minor = SLUICE_ABI_MINOR,
#endif
#if defined(FIXTURE_SMALL)
            .struct_size = 32,
#elif defined(FIXTURE_BIGTAIL) || defined(FIXTURE_BIGZERO)
            .struct_size = sizeof(sluice_plugin) + 16,
#else
            .struct_size = sizeof(sluice_plugin),
#endif
            .name = FIXTURE_NAME,
            .version = "1.0",
            .description = "loader test fixture",
            .license = "MIT",
            .init = fx_init,
            .configure = fx_configure,
            .unconfigure = fx_unconfigure,
#if defined(FIXTURE_NULLCB)
            .execute = NULL,
#else
            .execute = fx_execute,
#endif
        },
#if defined(FIXTURE_BIGTAIL)
    .tail = {1},
#endif
};

SLUICE_EXPORT const sluice_plugin *sluice_plugin_v1(void)
{
    return &desc.p;
}
#endif
