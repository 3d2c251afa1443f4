/*
 * module.h - internal modules: parts of sluiced kept out of the binary
 * because of what they link, loaded the first time a configuration needs
 * them (gitmod.h says why flows.git is one).
 *
 * NAME.so is searched in the directories of SLUICE_MODULE_PATH
 * (colon-separated: the build tree's tests point it at the uninstalled
 * modules), then in MODULEDIR, $(pkglibdir)/modules. A module is opened
 * RTLD_NOW | RTLD_LOCAL and never closed.
 */
#ifndef SLUICE_MODULE_H
#define SLUICE_MODULE_H

#include <stddef.h>

/*
 * The address of symbol entry in module name, with the file's path in
 * path. NULL with err set (naming every path tried when there is no such
 * file). Main thread.
 */
void *module_load(const char *name, const char *entry, char *path, size_t pathlen, char *err,
                  size_t errlen);

#endif
