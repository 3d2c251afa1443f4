/*
 * loader.c - dlopen, validation and init of executor plugins.
 */
#include "loader.h"

#include "abi_rules.h"
#include "log.h"
#include "xalloc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PLUGINDIR
#define PLUGINDIR "/usr/local/lib/sluice/plugins"
#endif

static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static plugin *loaded;
static char **extra_dirs;
static sluice_host host_tmpl;
static int host_set;

void loader_set_host(const sluice_host *tmpl)
{
    pthread_mutex_lock(&loader_lock);
    host_tmpl = *tmpl;
    host_set = 1;
    pthread_mutex_unlock(&loader_lock);
}

void loader_set_extra_dirs(const char *const *dirs)
{
    pthread_mutex_lock(&loader_lock);
    if (extra_dirs) {
        for (char **d = extra_dirs; *d; d++)
            free(*d);
        free(extra_dirs);
    }
    size_t n = 0;
    while (dirs && dirs[n])
        n++;
    extra_dirs = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        extra_dirs[i] = xstrdup(dirs[i]);
    pthread_mutex_unlock(&loader_lock);
}

__attribute__((format(printf, 4, 5))) static void refuse(const char *path, char *err, size_t errlen,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    log_error("loader: refusing plugin %s: %s", path, err);
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

static plugin *find_loaded(const char *name)
{
    for (plugin *p = loaded; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/*
 * The order of checks matters: only the three leading fields are trusted
 * until the version is known, and init (plugin code) runs only after the
 * descriptor is fully validated. Called with loader_lock held.
 */
static plugin *load_file_locked(const char *path, const char *expect_name, char *err, size_t errlen)
{
    /* Checked before dlopen: a plugin must never see a zeroed table. */
    if (!host_set) {
        refuse(path, err, errlen, "no host services table was set (loader_set_host)");
        return NULL;
    }
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        refuse(path, err, errlen, "cannot load: %s", e ? e : "unknown error");
        return NULL;
    }
    const sluice_plugin *(*entry)(void);
    *(void **)&entry = dlsym(dl, "sluice_plugin_v1");
    if (!entry) {
        refuse(path, err, errlen,
               "no sluice_plugin_v1 symbol (not a sluice plugin, or built for another ABI "
               "major version)");
        goto fail;
    }
    const sluice_plugin *d = entry();
    if (!d) {
        refuse(path, err, errlen, "sluice_plugin_v1() returned NULL");
        goto fail;
    }
    char why[256];
    if (abi_rules_descriptor(d, why, sizeof(why)) != 0) {
        refuse(path, err, errlen, "%s", why);
        goto fail;
    }
    plugin *p = xcalloc(1, sizeof(*p));
    size_t n = d->struct_size < sizeof(sluice_plugin) ? d->struct_size : sizeof(sluice_plugin);
    memcpy(&p->desc, d, n);
    const char *missing = abi_rules_missing_callback(&p->desc);
    if (missing) {
        refuse(path, err, errlen, "mandatory callback %s is NULL", missing);
        free(p);
        goto fail;
    }
    if (!valid_name(p->desc.name)) {
        refuse(path, err, errlen, "plugin name \"%s\" must match [a-z0-9._-]{1,64}",
               p->desc.name ? p->desc.name : "(null)");
        free(p);
        goto fail;
    }
    if (expect_name && strcmp(p->desc.name, expect_name) != 0) {
        refuse(path, err, errlen, "plugin calls itself \"%s\" but its file says \"%s\"",
               p->desc.name, expect_name);
        free(p);
        goto fail;
    }
    plugin *dup = find_loaded(p->desc.name);
    if (dup) {
        refuse(path, err, errlen, "a plugin named \"%s\" is already loaded from %s", p->desc.name,
               dup->path);
        free(p);
        goto fail;
    }
    p->name = xstrdup(p->desc.name);
    p->path = xstrdup(path);
    p->dl = dl;
    p->host.pub = host_tmpl;
    p->host.owner = p;
    if (p->desc.init) {
        char ierr[512] = "";
        if (p->desc.init(&p->host.pub, &p->ctx, ierr, sizeof(ierr)) != 0) {
            refuse(path, err, errlen, "init failed: %s", ierr[0] ? ierr : "(no message)");
            free(p->name);
            free(p->path);
            free(p);
            goto fail;
        }
    }
    p->next = loaded;
    loaded = p;
    log_info("loader: loaded plugin %s %s (ABI %u.%u) from %s", p->name,
             p->desc.version ? p->desc.version : "?", p->desc.abi_major, p->desc.abi_minor, path);
    return p;
fail:
    dlclose(dl);
    return NULL;
}

plugin *loader_load_file(const char *path, const char *expect_name, char *err, size_t errlen)
{
    pthread_mutex_lock(&loader_lock);
    plugin *p = load_file_locked(path, expect_name, err, errlen);
    pthread_mutex_unlock(&loader_lock);
    return p;
}

static int try_dir(const char *dir, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s.so", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

plugin *loader_get(const char *name, const char *const *cfg_dirs, char *err, size_t errlen)
{
    if (!valid_name(name)) {
        snprintf(err, errlen, "executor names must match [a-z0-9._-]{1,64}");
        return NULL;
    }
    pthread_mutex_lock(&loader_lock);
    plugin *p = find_loaded(name);
    if (p) {
        pthread_mutex_unlock(&loader_lock);
        return p;
    }
    char path[4096];
    char searched[2048] = "";
    int found = 0;
    for (char **d = extra_dirs; !found && d && *d; d++) {
        found = try_dir(*d, name, path, sizeof(path));
        snprintf(searched + strlen(searched), sizeof(searched) - strlen(searched), "%s%s",
                 searched[0] ? ":" : "", *d);
    }
    for (const char *const *d = cfg_dirs; !found && d && *d; d++) {
        found = try_dir(*d, name, path, sizeof(path));
        snprintf(searched + strlen(searched), sizeof(searched) - strlen(searched), "%s%s",
                 searched[0] ? ":" : "", *d);
    }
    if (!found) {
        found = try_dir(PLUGINDIR, name, path, sizeof(path));
        snprintf(searched + strlen(searched), sizeof(searched) - strlen(searched), "%s%s",
                 searched[0] ? ":" : "", PLUGINDIR);
    }
    if (!found) {
        snprintf(err, errlen, "unknown executor: no %s.so in %s", name, searched);
        pthread_mutex_unlock(&loader_lock);
        return NULL;
    }
    p = load_file_locked(path, name, err, errlen);
    pthread_mutex_unlock(&loader_lock);
    return p;
}

int loader_configure(plugin *p, const char *cfg_json, size_t cfg_len, const char *where,
                     void **instance, char *err, size_t errlen)
{
    *instance = NULL;
    err[0] = 0;
    int rc = p->desc.configure(p->ctx, cfg_json, cfg_len, where, instance, err, errlen);
    err[errlen - 1] = 0;
    return rc == 0 ? 0 : -1;
}

void loader_unconfigure(plugin *p, void *instance)
{
    p->desc.unconfigure(instance);
}

void loader_shutdown(void)
{
    pthread_mutex_lock(&loader_lock);
    for (plugin *p = loaded; p; p = p->next)
        if (p->desc.destroy)
            p->desc.destroy(p->ctx);
    pthread_mutex_unlock(&loader_lock);
}
