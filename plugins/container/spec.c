/*
 * spec.c - the body of POST /containers/create for one execution.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit/kit.h"

/* Render a list of templates into a JSON array of strings. */
static json_t *ctr_spec_argv(const struct ctr_argv *argv, const char *key, const json_t *event,
                             char *err, size_t errlen)
{
    json_t *arr = json_array();

    if (!arr)
        goto nomem;
    for (size_t i = 0; i < argv->n; i++) {
        char *text;
        size_t len;

        if (kit_template_render(argv->items[i], event, &text, &len) != 0)
            goto nomem;
        if (strlen(text) != len) {
            kit_errf(err, errlen,
                     "%s[%zu] (\"%s\") would contain a NUL byte, which an "
                     "argument cannot carry",
                     key, i, kit_template_source(argv->items[i]));
            free(text);
            json_decref(arr);
            return NULL;
        }
        if (json_array_append_new(arr, json_stringn(text, len)) != 0) {
            free(text);
            goto nomem;
        }
        free(text);
    }
    return arr;

nomem:
    json_decref(arr);
    kit_errf(err, errlen, "out of memory");
    return NULL;
}

static int ctr_env_add(json_t *env, const char *name, const char *value, size_t len)
{
    size_t nlen = strlen(name);
    char *entry = malloc(nlen + 1 + len + 1);
    int rc;

    if (!entry)
        return -1;
    memcpy(entry, name, nlen);
    entry[nlen] = '=';
    memcpy(entry + nlen + 1, value, len);
    entry[nlen + 1 + len] = '\0';
    rc = json_array_append_new(env, json_stringn(entry, nlen + 1 + len));
    explicit_bzero(entry, nlen + 1 + len);
    free(entry);
    return rc;
}

static int ctr_env_fact(json_t *env, const char *name, const char *value)
{
    return !value ? 0 : ctr_env_add(env, name, value, strlen(value));
}

static json_t *ctr_spec_env(const struct ctr_settings *cfg, const json_t *event,
                            const struct ctr_spec_facts *facts, char *err, size_t errlen)
{
    json_t *env = json_array();

    if (!env || ctr_env_fact(env, "SLUICE_EXECUTION_ID", facts->execution_id) != 0 ||
        ctr_env_fact(env, "SLUICE_REQUEST_ID", facts->request_id) != 0 ||
        ctr_env_fact(env, "SLUICE_FLOW", facts->flow) != 0 ||
        ctr_env_fact(env, "SLUICE_TRIGGER", facts->trigger) != 0 ||
        ctr_env_fact(env, "SLUICE_FUNCTION", facts->function) != 0 ||
        ctr_env_fact(env, "SLUICE_EVENT", CTR_EVENT_PATH) != 0 ||
        ctr_env_fact(env, "SLUICE_OUTPUT", CTR_OUTPUT_PATH) != 0)
        goto nomem;
    for (size_t i = 0; i < cfg->nenv; i++) {
        char *value;
        size_t len;

        if (kit_template_render(cfg->env[i].value, event, &value, &len) != 0)
            goto nomem;
        if (strlen(value) != len) {
            kit_errf(err, errlen,
                     "env.%s: the value (from \"%s\") contains a NUL byte, which "
                     "an environment variable cannot carry",
                     cfg->env[i].name, kit_template_source(cfg->env[i].value));
            free(value);
            json_decref(env);
            return NULL;
        }
        if (ctr_env_add(env, cfg->env[i].name, value, len) != 0) {
            free(value);
            goto nomem;
        }
        free(value);
    }
    for (size_t i = 0; i < cfg->nsecrets; i++)
        if (ctr_env_fact(env, cfg->secrets[i].name, cfg->secrets[i].value) != 0)
            goto nomem;
    return env;

nomem:
    json_decref(env);
    kit_errf(err, errlen, "out of memory");
    return NULL;
}

static json_t *ctr_spec_mount(const char *source, const char *target, int read_only)
{
    return json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", source, "Target", target,
                     "ReadOnly", read_only);
}

static json_t *ctr_spec_host_config(const struct ctr_settings *cfg,
                                    const struct ctr_spec_facts *facts)
{
    json_t *hc = json_object();
    json_t *ulimits = json_array();
    json_t *mounts = json_array();

    if (!hc || !ulimits || !mounts)
        goto fail;
    for (size_t i = 0; i < cfg->nulimits; i++) {
        const struct ctr_ulimit *u = &cfg->ulimits[i];

        if (json_array_append_new(ulimits,
                                  json_pack("{s:s, s:I, s:I}", "Name", u->name, "Soft",
                                            (json_int_t)u->soft, "Hard", (json_int_t)u->hard)) != 0)
            goto fail;
    }
    if (json_array_append_new(mounts, ctr_spec_mount(facts->host_event_path, CTR_EVENT_PATH, 1)) !=
            0 ||
        json_array_append_new(mounts, ctr_spec_mount(facts->host_out_dir, CTR_OUT_DIR, 0)) != 0)
        goto fail;
    for (size_t i = 0; i < cfg->nmounts; i++)
        if (json_array_append_new(mounts,
                                  ctr_spec_mount(cfg->mounts[i].source, cfg->mounts[i].target,
                                                 cfg->mounts[i].read_only)) != 0)
            goto fail;
    /* set_new takes the reference even when it fails. */
    if (json_object_set_new(hc, "Ulimits", ulimits) != 0) {
        ulimits = NULL;
        goto fail;
    }
    if (json_object_set_new(hc, "Mounts", mounts) != 0)
        goto fail_hc;
    if (json_object_set_new(hc, "NetworkMode", json_string(cfg->network)) != 0 ||
        json_object_set_new(hc, "ReadonlyRootfs", json_boolean(cfg->read_only_rootfs)) != 0 ||
        json_object_set_new(hc, "AutoRemove", json_false()) != 0)
        goto fail_hc;
    /* Swap equal to memory: without it Docker allows as much again in swap. */
    if (cfg->memory > 0 &&
        (json_object_set_new(hc, "Memory", json_integer((json_int_t)cfg->memory)) != 0 ||
         json_object_set_new(hc, "MemorySwap", json_integer((json_int_t)cfg->memory)) != 0))
        goto fail_hc;
    if (cfg->nano_cpus > 0 &&
        json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)cfg->nano_cpus)) != 0)
        goto fail_hc;
    if (cfg->pids_limit > 0 &&
        json_object_set_new(hc, "PidsLimit", json_integer((json_int_t)cfg->pids_limit)) != 0)
        goto fail_hc;
    return hc;

fail:
    json_decref(ulimits);
    json_decref(mounts);
fail_hc:
    json_decref(hc);
    return NULL;
}

static int ctr_spec_labels(json_t *spec, const struct ctr_settings *cfg,
                           const struct ctr_spec_facts *facts)
{
    json_t *labels = json_object();

    if (!labels ||
        json_object_set_new(labels, "sluice.execution", json_string(facts->execution_id)) != 0 ||
        (facts->flow &&
         json_object_set_new(labels, "sluice.flow", json_string(facts->flow)) != 0) ||
        json_object_set_new(labels, "sluice.owner", json_string(facts->owner)) != 0 ||
        (cfg->keep && json_object_set_new(labels, "sluice.keep", json_string("true")) != 0)) {
        json_decref(labels);
        return -1;
    }
    return json_object_set_new(spec, "Labels", labels);
}

json_t *ctr_spec_build(const struct ctr_settings *cfg, const json_t *event,
                       const struct ctr_spec_facts *facts, char *err, size_t errlen)
{
    json_t *spec = json_object();
    json_t *v;

    if (!spec || json_object_set_new(spec, "Image", json_string(cfg->image)) != 0)
        goto nomem;
    if (cfg->command.present) {
        if (!(v = ctr_spec_argv(&cfg->command, "command", event, err, errlen)))
            goto fail;
        if (json_object_set_new(spec, "Cmd", v) != 0)
            goto nomem;
    }
    if (cfg->entrypoint.present) {
        if (!(v = ctr_spec_argv(&cfg->entrypoint, "entrypoint", event, err, errlen)))
            goto fail;
        if (json_object_set_new(spec, "Entrypoint", v) != 0)
            goto nomem;
    }
    if (!(v = ctr_spec_env(cfg, event, facts, err, errlen)))
        goto fail;
    if (json_object_set_new(spec, "Env", v) != 0)
        goto nomem;
    if (cfg->user && json_object_set_new(spec, "User", json_string(cfg->user)) != 0)
        goto nomem;
    /* StdinOnce: the engine closes stdin when the attached client half-closes. */
    if (json_object_set_new(spec, "AttachStdin", json_boolean(cfg->stdin_event)) != 0 ||
        json_object_set_new(spec, "OpenStdin", json_boolean(cfg->stdin_event)) != 0 ||
        json_object_set_new(spec, "StdinOnce", json_boolean(cfg->stdin_event)) != 0 ||
        json_object_set_new(spec, "AttachStdout", json_false()) != 0 ||
        json_object_set_new(spec, "AttachStderr", json_false()) != 0 ||
        json_object_set_new(spec, "Tty", json_false()) != 0 ||
        ctr_spec_labels(spec, cfg, facts) != 0)
        goto nomem;
    if (!(v = ctr_spec_host_config(cfg, facts)) || json_object_set_new(spec, "HostConfig", v) != 0)
        goto nomem;
    return spec;

nomem:
    kit_errf(err, errlen, "out of memory");
fail:
    json_decref(spec);
    return NULL;
}
