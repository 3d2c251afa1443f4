/*
 * stale.c - a flows.git module from another build (tests/integration/
 * modules.sh): the right entry symbol, another interface version and
 * package version. sluiced must refuse it, naming the file, before
 * calling anything in it, so its functions are all NULL.
 */
#include "gitmod.h"

static const gitmod stale = {
    .version = GITMOD_VERSION + 1,
    .size = sizeof(gitmod),
    .package_version = "0.0.0-stale",
};

const gitmod *sluice_gitmod_v1(void);

__attribute__((visibility("default"))) const gitmod *sluice_gitmod_v1(void)
{
    return &stale;
}
