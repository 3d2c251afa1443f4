/*
 * module.c - finding and opening internal modules (see module.h).
 */
#include "module.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef MODULEDIR
#define MODULEDIR "/usr/local/lib/sluice/modules"
#endif

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Try dir/name.so; append it to tried either way. */
static int try_dir(const char *dir, size_t dirlen, const char *name, char *path, size_t pathlen,
                   char *tried, size_t triedlen)
{
    if (dirlen == 0)
        return 0;
    snprintf(path, pathlen, "%.*s/%s.so", (int)dirlen, dir, name);
    size_t n = strlen(tried);
    snprintf(tried + n, triedlen - n, "%s%s", n ? ", " : "", path);
    return is_file(path);
}

void *module_load(const char *name, const char *entry, char *path, size_t pathlen, char *err,
                  size_t errlen)
{
    char tried[2048] = "";
    int found = 0;
    const char *env = getenv("SLUICE_MODULE_PATH");
    for (const char *d = env; !found && d && *d;) {
        const char *colon = strchr(d, ':');
        size_t len = colon ? (size_t)(colon - d) : strlen(d);
        found = try_dir(d, len, name, path, pathlen, tried, sizeof(tried));
        d = colon ? colon + 1 : NULL;
    }
    if (!found)
        found = try_dir(MODULEDIR, strlen(MODULEDIR), name, path, pathlen, tried, sizeof(tried));
    if (!found) {
        snprintf(err, errlen,
                 "module %s.so not found (tried %s): install sluiced's modules with it, or "
                 "name their directory in SLUICE_MODULE_PATH",
                 name, tried);
        return NULL;
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(err, errlen, "cannot load module %s: %s", path, e ? e : "unknown error");
        return NULL;
    }
    void *sym = dlsym(dl, entry);
    if (!sym) {
        snprintf(err, errlen, "module %s has no %s symbol (not a sluice %s module)", path, entry,
                 name);
        dlclose(dl);
        return NULL;
    }
    return sym;
}
