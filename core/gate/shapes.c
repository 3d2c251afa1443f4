/*
 * shapes.c - service route shapes (see shapes.h).
 *
 * A shape is only a convenient spelling: it becomes an ordinary path
 * template and ordinary gate settings (keys, where they are read, the
 * status of a wrong key), so every behaviour is the same code path as a
 * hand-written trigger.
 */
#include "shapes.h"

#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_path(trigger_def *t, const char *path)
{
    free(t->path);
    t->path = xstrdup(path);
}

/* A path segment built from a setting: one segment, route-safe. */
static int check_segment(parse_ctx *c, const config_setting_t *g, const char *name,
                         const char *what, const char *v)
{
    if (!cp_valid_id(v))
        return cp_fail(c, config_setting_get_member(g, name),
                       "%s.%s: \"%s\" must match [A-Za-z0-9._-]+", what, name, v);
    return 0;
}

static const char *const kestra_keys[] = {"namespace", "flow", "tenant", "key", NULL};
static const char *const cloudomation_keys[] = {"client", "name", "key", NULL};
static const char *const wayscript_keys[] = {"program_id", "api_key", NULL};
static const char *const capability_keys[] = {"invalid_status", NULL};

/*
 * Kestra: the key is the last path segment and a wrong one answers 404,
 * exactly like a flow that does not exist, so keys cannot be probed.
 */
static int parse_kestra(parse_ctx *c, const config_setting_t *s, const char *w, trigger_def *t,
                        shapes_settings *out, int methods_set)
{
    char *ns = NULL, *flow = NULL, *tenant = NULL;
    int rc = -1;
    if (!config_setting_is_group(s)) {
        cp_fail(c, s, "%s: must be a group { namespace = ...; flow = ...; key = ...; }", w);
        goto out;
    }
    if (cp_check_keys(c, s, w, kestra_keys) < 0 || cp_get_string(c, s, "namespace", w, &ns) < 0 ||
        cp_get_string(c, s, "flow", w, &flow) < 0 ||
        cp_get_string(c, s, "tenant", w, &tenant) < 0 ||
        cp_get_strv(c, s, "key", w, &out->keys) < 0)
        goto out;
    if (!ns || !flow || !out->keys || !out->keys[0]) {
        cp_fail(c, s, "%s: namespace, flow and key are required", w);
        goto out;
    }
    if (check_segment(c, s, "namespace", w, ns) < 0 || check_segment(c, s, "flow", w, flow) < 0 ||
        (tenant && check_segment(c, s, "tenant", w, tenant) < 0))
        goto out;
    char path[1024];
    snprintf(path, sizeof(path), "/api/v1%s%s/executions/webhook/%s/%s/{key}", tenant ? "/" : "",
             tenant ? tenant : "", ns, flow);
    set_path(t, path);
    if (!methods_set)
        t->methods = METHOD_GET | METHOD_POST | METHOD_PUT;
    out->key_in[0] = "path:key";
    out->wrong_status = 404;
    rc = 0;
out:
    free(ns);
    free(flow);
    free(tenant);
    return rc;
}

/* Cloudomation answers with the finished flow unless asked for ?async. */
static int parse_cloudomation(parse_ctx *c, const config_setting_t *s, const char *w,
                              trigger_def *t, shapes_settings *out, int methods_set, int mode_set)
{
    char *client = NULL, *name = NULL;
    int rc = -1;
    if (!config_setting_is_group(s)) {
        cp_fail(c, s, "%s: must be a group { client = ...; name = ...; }", w);
        goto out;
    }
    if (cp_check_keys(c, s, w, cloudomation_keys) < 0 ||
        cp_get_string(c, s, "client", w, &client) < 0 ||
        cp_get_string(c, s, "name", w, &name) < 0 || cp_get_strv(c, s, "key", w, &out->keys) < 0)
        goto out;
    if (!client || !name) {
        cp_fail(c, s, "%s: client and name are required", w);
        goto out;
    }
    if (check_segment(c, s, "client", w, client) < 0 || check_segment(c, s, "name", w, name) < 0)
        goto out;
    char path[1024];
    snprintf(path, sizeof(path), "/api/webhook/%s/%s", client, name);
    set_path(t, path);
    if (!methods_set)
        t->methods = METHOD_GET | METHOD_POST;
    if (!mode_set)
        t->sync = 1;
    out->key_in[0] = "query:key";
    out->key_in[1] = "body:key";
    rc = 0;
out:
    free(client);
    free(name);
    return rc;
}

static int parse_wayscript(parse_ctx *c, const config_setting_t *s, const char *w, trigger_def *t,
                           shapes_settings *out, int path_set, int methods_set)
{
    char *program = NULL;
    int rc = -1;
    if (!config_setting_is_group(s)) {
        cp_fail(c, s, "%s: must be a group { program_id = ...; api_key = ...; }", w);
        goto out;
    }
    if (cp_check_keys(c, s, w, wayscript_keys) < 0 ||
        cp_get_string(c, s, "program_id", w, &program) < 0 ||
        cp_get_strv(c, s, "api_key", w, &out->keys) < 0)
        goto out;
    if (!program && !path_set) {
        cp_fail(c, s, "%s: set program_id (the path becomes /wayscript/PROGRAM_ID) or path", w);
        goto out;
    }
    if (program && check_segment(c, s, "program_id", w, program) < 0)
        goto out;
    if (!path_set) {
        char path[512];
        snprintf(path, sizeof(path), "/wayscript/%s", program);
        set_path(t, path);
    }
    if (!methods_set)
        t->methods = METHOD_GET | METHOD_POST;
    if (program && path_set) {
        free(t->program_id);
        t->program_id = xstrdup(program);
    }
    out->key_in[0] = "query:api_key";
    out->key_in[1] = "body:api_key";
    rc = 0;
out:
    free(program);
    return rc;
}

static int parse_capability(parse_ctx *c, const config_setting_t *s, const char *w, trigger_def *t,
                            shapes_settings *out)
{
    out->invalid_status = 400;
    if (config_setting_type(s) == CONFIG_TYPE_BOOL) {
        out->capability = config_setting_get_bool(s);
    } else if (config_setting_is_group(s)) {
        out->capability = 1;
        if (cp_check_keys(c, s, w, capability_keys) < 0 ||
            cp_get_int(c, s, "invalid_status", w, 400, 404, &out->invalid_status) < 0)
            return -1;
        if (out->invalid_status != 400 && out->invalid_status != 404)
            return cp_fail(c, config_setting_get_member(s, "invalid_status"),
                           "%s.invalid_status: use 400 or 404", w);
    } else {
        return cp_fail(c, s, "%s: use true, or a group { invalid_status = 404; }", w);
    }
    if (!out->capability)
        return 0;
    /* An internal route the router never reaches: every /t/X path goes to
     * prematch_route first, and the gate refuses any other way in. */
    char path[300];
    snprintf(path, sizeof(path), "/t/%s", t->id);
    set_path(t, path);
    return 0;
}

int shapes_parse(parse_ctx *c, const config_setting_t *g, const char *what, trigger_def *t,
                 shapes_settings *out)
{
    memset(out, 0, sizeof(*out));
    static const char *const names[] = {"kestra", "cloudomation", "wayscript", "capability"};
    const config_setting_t *s = NULL;
    for (size_t i = 0; i < 4; i++) {
        const config_setting_t *m = config_setting_get_member(g, names[i]);
        if (!m)
            continue;
        if (s)
            return cp_fail(c, m,
                           "%s: use only one of kestra, cloudomation, wayscript and "
                           "capability",
                           what);
        s = m;
        out->name = names[i];
    }
    if (!s)
        return 0;
    const config_setting_t *path = config_setting_get_member(g, "path");
    int methods_set = config_setting_get_member(g, "methods") != NULL;
    int mode_set = config_setting_get_member(g, "mode") != NULL;
    if (path && strcmp(out->name, "wayscript") != 0)
        return cp_fail(c, path, "%s: path is set by %s; remove it", what, out->name);
    char w[256];
    snprintf(w, sizeof(w), "%s.%s", what, out->name);
    if (strcmp(out->name, "kestra") == 0)
        return parse_kestra(c, s, w, t, out, methods_set);
    if (strcmp(out->name, "cloudomation") == 0)
        return parse_cloudomation(c, s, w, t, out, methods_set, mode_set);
    if (strcmp(out->name, "wayscript") == 0)
        return parse_wayscript(c, s, w, t, out, path != NULL, methods_set);
    return parse_capability(c, s, w, t, out);
}

void shapes_clear(shapes_settings *s)
{
    cp_strv_free(s->keys);
    memset(s, 0, sizeof(*s));
}

int shapes_path_reserved(const char *path)
{
    return path && strncmp(path, "/t/", 3) == 0 && path[3] && !strchr(path + 3, '/');
}

int shapes_share_path(void *owner, trigger_def *t, char *err, size_t errlen)
{
    trigger_def *first = owner;
    if (!first || !first->program_id || !t->program_id || strcmp(first->path, t->path) != 0)
        return 0;
    for (trigger_def *o = first; o; o = o->program_next)
        if (strcmp(o->program_id, t->program_id) == 0) {
            snprintf(err, errlen,
                     "wayscript.program_id: \"%s\" already names trigger \"%s\" (at %s) on "
                     "path %s",
                     t->program_id, o->id, o->where, t->path);
            return -1;
        }
    t->program_next = first->program_next;
    first->program_next = t;
    return 1;
}

int shapes_pick_program(const http_request *rq, route_match *m, gate_verdict *v)
{
    trigger_def *t = m->target;
    if (!t->program_id)
        return 0;
    const char *want = NULL;
    for (size_t i = 0; i < rq->n_params; i++)
        if (strcmp(rq->params[i].name, "program_id") == 0) {
            if (want) {
                v->status = 400;
                v->code = "bad_request";
                snprintf(v->message, sizeof(v->message), "program_id is given more than once");
                return -1;
            }
            want = rq->params[i].value;
        }
    if (!want) {
        if (!t->program_next)
            return 0; /* the path's only program */
        v->status = 400;
        v->code = "bad_request";
        snprintf(v->message, sizeof(v->message),
                 "program_id is required: several programs share this path");
        return -1;
    }
    for (trigger_def *o = t; o; o = o->program_next)
        if (strcmp(o->program_id, want) == 0) {
            m->target = o;
            return 0;
        }
    v->status = 404;
    v->code = "not_found";
    snprintf(v->message, sizeof(v->message), "no trigger at this path");
    return -1;
}
