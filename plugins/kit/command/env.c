/*
 * env.c - the environment a command runs with.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "kit/command/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/kit.h"

struct kit_envb {
    char **vars;
    size_t n;
};

/* Take ownership of entry ("NAME=value") and replace any earlier NAME. */
static int kit_envb_take(struct kit_envb *b, char *entry)
{
    size_t nlen = (size_t)(strchr(entry, '=') - entry);
    char **grown;

    for (size_t i = 0; i < b->n; i++) {
        if (strncmp(b->vars[i], entry, nlen + 1) == 0) {
            free(b->vars[i]);
            b->vars[i] = entry;
            return 0;
        }
    }
    grown = realloc(b->vars, (b->n + 2) * sizeof(*grown));
    if (!grown) {
        free(entry);
        return -1;
    }
    b->vars = grown;
    b->vars[b->n++] = entry;
    b->vars[b->n] = NULL;
    return 0;
}

static int kit_envb_put(struct kit_envb *b, const char *name, const char *value)
{
    char *entry;

    if (!value)
        return 0;
    if (asprintf(&entry, "%s=%s", name, value) < 0)
        return -1;
    return kit_envb_take(b, entry);
}

char **kit_env_build(const struct kit_settings *cfg, const json_t *event,
                     const struct kit_env_facts *facts, char *err, size_t errlen)
{
    struct kit_envb b = {NULL, 0};

    for (size_t i = 0; i < cfg->nbase_env; i++) {
        char *copy = strdup(cfg->base_env[i]);

        if (!copy || kit_envb_take(&b, copy) != 0)
            goto nomem;
    }
    if (kit_envb_put(&b, "SLUICE_EXECUTION_ID", facts->execution_id) != 0 ||
        kit_envb_put(&b, "SLUICE_FLOW", facts->flow) != 0 ||
        kit_envb_put(&b, "SLUICE_TRIGGER", facts->trigger) != 0 ||
        kit_envb_put(&b, "SLUICE_FUNCTION", facts->function) != 0 ||
        kit_envb_put(&b, "SLUICE_REQUEST_ID", facts->request_id) != 0 ||
        kit_envb_put(&b, "SLUICE_EVENT", facts->event_path) != 0 ||
        kit_envb_put(&b, "SLUICE_OUTPUT", facts->output_path) != 0)
        goto nomem;
    for (size_t i = 0; i < cfg->nenv; i++) {
        const struct kit_env_var *var = &cfg->env[i];
        size_t nlen = strlen(var->name);
        char *value, *entry;
        size_t vlen;

        if (kit_template_render(var->value, event, &value, &vlen) != 0)
            goto nomem;
        if (strlen(value) != vlen) {
            kit_errf(err, errlen,
                     "env.%s: the value (from \"%s\") contains a NUL byte, which "
                     "an environment variable cannot carry",
                     var->name, kit_template_source(var->value));
            free(value);
            goto fail;
        }
        entry = malloc(nlen + 1 + vlen + 1);
        if (!entry) {
            free(value);
            goto nomem;
        }
        memcpy(entry, var->name, nlen);
        entry[nlen] = '=';
        memcpy(entry + nlen + 1, value, vlen + 1);
        free(value);
        if (kit_envb_take(&b, entry) != 0)
            goto nomem;
    }
    if (!b.vars && !(b.vars = calloc(1, sizeof(*b.vars))))
        goto nomem;
    return b.vars;

nomem:
    kit_errf(err, errlen, "out of memory");
fail:
    if (b.vars)
        b.vars[b.n] = NULL;
    kit_env_free(b.vars);
    return NULL;
}

void kit_env_free(char **envp)
{
    if (!envp)
        return;
    for (char **p = envp; *p; p++)
        free(*p);
    free(envp);
}

const char *kit_env_get(char *const *envp, const char *name)
{
    size_t nlen = strlen(name);

    for (char *const *p = envp; *p; p++)
        if (strncmp(*p, name, nlen) == 0 && (*p)[nlen] == '=')
            return *p + nlen + 1;
    return NULL;
}
