/*
 * cxx.cc - a plugin written in C++ that includes <sluice/plugin.h> and
 * <sluice/jansson.h>. Built twice: as cxx11.so with -std=c++11 -pedantic
 * (where designated initializers do not exist, so the descriptor is filled
 * in declaration order) and as cxx20.so with -std=c++20, which uses
 * SLUICE_PLUGIN_DEFINE as a C plugin would. Both must export the one
 * unmangled symbol sluice_plugin_v1 and load in sluiced.
 */
#include <sluice/jansson.h>
#include <sluice/plugin.h>

#include <cstdio>
#include <new>
#include <string>

#ifndef CXX_PLUGIN_NAME
#error "define CXX_PLUGIN_NAME"
#endif

namespace {

const sluice_host *g_host = nullptr;

struct instance {
    std::string greeting;
};

int cxx_init(const sluice_host *host, void **, char *, size_t)
{
    g_host = host;
    return 0;
}

int cxx_configure(void *, const char *cfg_json, size_t cfg_len, const char *where,
                  void **out, char *err, size_t errlen)
{
    static const char *const known[] = {"greeting", nullptr};
    json_t *cfg = sluice_json_config(cfg_json, cfg_len, where, err, errlen);
    if (!cfg)
        return -1;
    if (sluice_json_check_keys(cfg, known, where, err, errlen) < 0) {
        json_decref(cfg);
        return -1;
    }
    const char *g = sluice_json_path_string(cfg, "greeting");
    instance *in = new (std::nothrow) instance;
    if (!in) {
        json_decref(cfg);
        return sluice_json_error(err, errlen, where, "out of memory");
    }
    in->greeting = g ? g : "hello from C++";
    json_decref(cfg);
    *out = in;
    return 0;
}

void cxx_unconfigure(void *in)
{
    delete static_cast<instance *>(in);
}

int cxx_execute(void *in, sluice_exec *exec)
{
    const instance *self = static_cast<const instance *>(in);
    json_t *out = json_pack("{s:s, s:s}", "greeting", self->greeting.c_str(), "std",
                            CXX_PLUGIN_NAME);
    int rc = out ? sluice_json_set_output(g_host, exec, out) : -1;
    json_decref(out);
    return rc == 0 ? SLUICE_OK : SLUICE_ERR;
}

} // namespace

#if __cplusplus >= 202002L
SLUICE_PLUGIN_DEFINE(.name = CXX_PLUGIN_NAME, .version = "1.0",
                     .description = "C++20 build check", .license = "MIT", .init = cxx_init,
                     .configure = cxx_configure, .unconfigure = cxx_unconfigure,
                     .execute = cxx_execute)
#else
SLUICE_EXPORT const sluice_plugin *sluice_plugin_v1(void)
{
    static const sluice_plugin descriptor = {
        SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR, static_cast<uint32_t>(sizeof(sluice_plugin)), 0,
        CXX_PLUGIN_NAME, "1.0", "C++11 build check", "MIT",
        cxx_init, nullptr, cxx_configure, cxx_unconfigure, cxx_execute, nullptr,
    };
    return &descriptor;
}
#endif
