/*
 * env.h - the environment a command runs with.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_ENV_H
#define KIT_ENV_H

#include <stddef.h>

#include <jansson.h>

#include "kit/command/settings.h"

/* What the host says about one execution; any may be NULL (then unset). */
struct kit_env_facts {
    const char *execution_id;
    const char *flow;
    const char *trigger;
    const char *function;
    const char *request_id;
    const char *event_path;
    const char *output_path;
};

/*
 * Build a clean environment, in this order (a later name replaces an
 * earlier one): PATH, HOME and LANG, the inherit_env variables as they were
 * at configure time, the SLUICE_* variables, then the declared env rendered
 * against event. Nothing else from sluiced's environment leaks through.
 * Returns a NULL-terminated array for execve (free with kit_env_free), or
 * NULL with err set (a value holding a NUL byte cannot be passed).
 */
char **kit_env_build(const struct kit_settings *cfg, const json_t *event,
                     const struct kit_env_facts *facts, char *err, size_t errlen);

void kit_env_free(char **envp);

/* The value of name in envp, or NULL. */
const char *kit_env_get(char *const *envp, const char *name);

#endif /* KIT_ENV_H */
