/*
 * config.c - libconfig files to the configuration model.
 *
 * The main file holds server, plugins and store settings and either a list
 * of flows or a group naming flow files to include (flows.include, a glob
 * relative to the main file). Each flow file holds flows and triggers lists.
 * Files are parsed one by one so that every setting still knows its file and
 * line, and the whole set is validated before anything is used: unknown
 * settings are errors (a typo must not silently disable a check), as are
 * unknown flows, duplicate ids and duplicate routes.
 */
#include "config.h"

#include "auth.h"
#include "confparse.h"
#include "gate.h"
#include "gitsync.h"

#include "log.h"
#include "router.h"
#include "shapes.h"
#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <glob.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define DEFAULT_LISTEN "127.0.0.1:8080"
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/sluice"

static const char *const server_keys[] = {"listen",
                                          "http_threads",
                                          "workers",
                                          "worker_nice",
                                          "max_body",
                                          "max_queue",
                                          "max_queue_memory",
                                          "sync_timeout",
                                          "shutdown_timeout",
                                          "admin_token",
                                          "log_level",
                                          "trusted_proxies",
                                          "state_dir",
                                          "max_followers",
                                          "follow_heartbeat",
                                          "max_connections",
                                          "max_connections_per_address",
                                          "head_timeout",
                                          "body_timeout",
                                          "metrics_token",
                                          "metrics_public",
                                          NULL};

static int parse_server(parse_ctx *c, sluice_config *cfg, const config_setting_t *g)
{
    server_conf *sv = &cfg->server;
    if (!config_setting_is_group(g))
        return cp_fail(c, g, "server: must be a group { ... }");
    if (cp_check_keys(c, g, "server", server_keys) < 0 ||
        cp_get_strv(c, g, "listen", "server", &sv->listen) < 0 ||
        cp_get_int(c, g, "http_threads", "server", 1, 64, &sv->http_threads) < 0 ||
        cp_get_int(c, g, "workers", "server", 1, 1024, &sv->workers) < 0 ||
        cp_get_size(c, g, "max_body", "server", &sv->max_body) < 0 ||
        cp_get_size(c, g, "max_queue_memory", "server", &sv->max_queue_memory) < 0 ||
        cp_get_duration(c, g, "sync_timeout", "server", &sv->sync_timeout_ms) < 0 ||
        cp_get_duration(c, g, "shutdown_timeout", "server", &sv->shutdown_timeout_ms) < 0 ||
        cp_get_int(c, g, "max_followers", "server", 0, 100000, &sv->max_followers) < 0 ||
        cp_get_duration(c, g, "follow_heartbeat", "server", &sv->follow_heartbeat_ms) < 0 ||
        cp_get_string(c, g, "admin_token", "server", &sv->admin_token) < 0 ||
        cp_get_string(c, g, "metrics_token", "server", &sv->metrics_token) < 0 ||
        cp_get_string(c, g, "log_level", "server", &sv->log_level) < 0)
        return -1;
    const config_setting_t *wn = config_setting_get_member(g, "worker_nice");
    if (wn && config_setting_type(wn) == CONFIG_TYPE_STRING) {
        if (strcmp(config_setting_get_string(wn), "idle") != 0)
            return cp_fail(c, wn, "server.worker_nice: a number from 0 to 19, or \"idle\"");
        sv->worker_nice = WORKER_IDLE;
    } else if (cp_get_int(c, g, "worker_nice", "server", 0, 19, &sv->worker_nice) < 0) {
        return -1;
    }
    if (cp_get_int(c, g, "max_connections", "server", 1, 1000000, &sv->max_connections) < 0 ||
        cp_get_int(c, g, "max_connections_per_address", "server", 0, 1000000,
                   &sv->max_connections_per_address) < 0 ||
        cp_get_duration(c, g, "head_timeout", "server", &sv->head_timeout_ms) < 0 ||
        cp_get_duration(c, g, "body_timeout", "server", &sv->body_timeout_ms) < 0)
        return -1;
    if (sv->max_connections_per_address > sv->max_connections)
        return cp_fail(c, config_setting_get_member(g, "max_connections_per_address"),
                       "server.max_connections_per_address: %d is more than "
                       "server.max_connections (%d)",
                       sv->max_connections_per_address, sv->max_connections);
    if (sv->head_timeout_ms < 1000 || sv->head_timeout_ms > 3600000)
        return cp_fail(c, config_setting_get_member(g, "head_timeout"),
                       "server.head_timeout: must be from 1s to 1h");
    if (sv->body_timeout_ms < 1000 || sv->body_timeout_ms > 86400000)
        return cp_fail(c, config_setting_get_member(g, "body_timeout"),
                       "server.body_timeout: must be from 1s to 24h");
    int mq = (int)sv->max_queue;
    if (cp_get_int(c, g, "max_queue", "server", 1, 100000000, &mq) < 0)
        return -1;
    sv->max_queue = (size_t)mq;
    if (sv->log_level && log_parse_level(sv->log_level) < 0)
        return cp_fail(c, config_setting_get_member(g, "log_level"),
                       "server.log_level: use error, warn, info or debug");
    if (sv->admin_token && strlen(sv->admin_token) < 16)
        return cp_fail(c, config_setting_get_member(g, "admin_token"),
                       "server.admin_token: must be at least 16 characters");
    /* A scraper gets a credential of its own, good for /metrics only, or
     * none at all when the operator says so; never the admin token. */
    const config_setting_t *mt = config_setting_get_member(g, "metrics_token");
    const config_setting_t *mp = config_setting_get_member(g, "metrics_public");
    if (mp) {
        if (config_setting_type(mp) != CONFIG_TYPE_BOOL)
            return cp_fail(c, mp, "server.metrics_public: must be true or false");
        sv->metrics_public = config_setting_get_bool(mp);
    }
    if (sv->metrics_token && strlen(sv->metrics_token) < 16)
        return cp_fail(c, mt, "server.metrics_token: must be at least 16 characters");
    if (sv->metrics_token && sv->admin_token && strcmp(sv->metrics_token, sv->admin_token) == 0)
        return cp_fail(c, mt, "server.metrics_token: must differ from server.admin_token");
    if (sv->metrics_token && sv->metrics_public)
        return cp_fail(c, mp,
                       "server.metrics_public: /metrics cannot be public and need "
                       "server.metrics_token at once; set one of them");
    if (sv->max_body == 0)
        return cp_fail(c, config_setting_get_member(g, "max_body"), "server.max_body: must be > 0");
    if (sv->max_queue_memory == 0)
        return cp_fail(c, config_setting_get_member(g, "max_queue_memory"),
                       "server.max_queue_memory: must be > 0");
    /* Trusted proxies are CIDRs; the state dir is relative to the config. */
    if (cp_get_strv(c, g, "trusted_proxies", "server", &sv->trusted_proxies) < 0 ||
        cp_get_string(c, g, "state_dir", "server", &sv->state_dir) < 0)
        return -1;
    for (char **p = sv->trusted_proxies; p && *p; p++) {
        auth_cidr cidr;
        if (auth_cidr_parse(*p, &cidr) < 0)
            return cp_fail(c, config_setting_get_member(g, "trusted_proxies"),
                           "server.trusted_proxies: \"%s\" is not an address or CIDR", *p);
    }
    if (sv->state_dir && sv->state_dir[0] != '/') {
        size_t n = strlen(cfg->dir) + strlen(sv->state_dir) + 2;
        char *abs = xmalloc(n);
        snprintf(abs, n, "%s/%s", cfg->dir, sv->state_dir);
        free(sv->state_dir);
        sv->state_dir = abs;
    }
    return 0;
}

static const char *const flow_keys[] = {"id",      "namespace",   "executor", "description",
                                        "timeout", "concurrency", "on_limit", "retry",
                                        "config",  NULL};
static const char *const retry_keys[] = {"max", "backoff", NULL};

static int parse_flow(parse_ctx *c, flow_def *f, const config_setting_t *g)
{
    if (!config_setting_is_group(g))
        return cp_fail(c, g, "flows: each flow must be a group { id = ...; executor = ...; }");
    f->where = cp_where_of(g);
    if (cp_check_keys(c, g, "flow", flow_keys) < 0 || cp_get_string(c, g, "id", "flow", &f->id) < 0)
        return -1;
    if (!f->id)
        return cp_fail(c, g, "flow: missing setting \"id\"");
    if (!cp_valid_id(f->id))
        return cp_fail(c, config_setting_get_member(g, "id"),
                       "flow.id: \"%s\" must match [A-Za-z0-9._-]+", f->id);
    char what[200];
    snprintf(what, sizeof(what), "flow \"%s\"", f->id);
    if (cp_get_string(c, g, "namespace", what, &f->ns) < 0 ||
        cp_get_string(c, g, "executor", what, &f->executor) < 0 ||
        cp_get_string(c, g, "description", what, &f->description) < 0 ||
        cp_get_duration(c, g, "timeout", what, &f->timeout_ms) < 0)
        return -1;
    char *on_limit = NULL;
    if (cp_get_int(c, g, "concurrency", what, 0, 100000, &f->concurrency) < 0 ||
        cp_get_string(c, g, "on_limit", what, &on_limit) < 0)
        return -1;
    if (on_limit) {
        int bad = 0;
        if (strcmp(on_limit, "queue") == 0)
            f->on_limit = ON_LIMIT_QUEUE;
        else if (strcmp(on_limit, "reject") == 0)
            f->on_limit = ON_LIMIT_REJECT;
        else if (strcmp(on_limit, "cancel") == 0)
            f->on_limit = ON_LIMIT_CANCEL;
        else
            bad = 1;
        free(on_limit);
        if (bad)
            return cp_fail(c, config_setting_get_member(g, "on_limit"),
                           "%s.on_limit: use \"queue\", \"reject\" or \"cancel\"", what);
    }
    const config_setting_t *retry = config_setting_get_member(g, "retry");
    if (retry) {
        char rwhat[220];
        snprintf(rwhat, sizeof(rwhat), "%s.retry", what);
        f->retry_backoff_ms = 10000;
        if (!config_setting_is_group(retry))
            return cp_fail(c, retry, "%s: must be a group { max = 3; backoff = \"10s\"; }", rwhat);
        if (cp_check_keys(c, retry, rwhat, retry_keys) < 0 ||
            cp_get_int(c, retry, "max", rwhat, 0, 100, &f->retry_max) < 0 ||
            cp_get_duration(c, retry, "backoff", rwhat, &f->retry_backoff_ms) < 0)
            return -1;
    }
    if (f->ns && !cp_valid_id(f->ns))
        return cp_fail(c, config_setting_get_member(g, "namespace"),
                       "%s: namespace \"%s\" must match [A-Za-z0-9._-]+", what, f->ns);
    if (!f->executor)
        return cp_fail(c, g, "%s: missing setting \"executor\"", what);
    if (f->ns) {
        size_t n = strlen(f->ns) + strlen(f->id) + 2;
        f->key = xmalloc(n);
        snprintf(f->key, n, "%s/%s", f->ns, f->id);
    } else {
        f->key = xstrdup(f->id);
    }
    const config_setting_t *conf = config_setting_get_member(g, "config");
    json_t *j;
    if (conf) {
        if (!config_setting_is_group(conf))
            return cp_fail(c, conf, "%s: config must be a group { ... }", what);
        j = cp_setting_to_json(c, conf, what);
        if (!j)
            return -1;
    } else {
        j = json_object();
    }
    f->cfg_json = json_dumps(j, JSON_COMPACT);
    f->cfg_len = strlen(f->cfg_json);
    json_decref(j);
    return 0;
}

static const char *const trigger_keys[] = {"id",
                                           "flows",
                                           "path",
                                           "methods",
                                           "content_types",
                                           "mode",
                                           "sync_timeout",
                                           "success_code",
                                           "variables",
                                           "max_body",
                                           "description",
                                           "idempotency_key",
                                           "idempotency_ttl",
                                           "respond_with",
                                           "json_duplicate_keys",
                                           NULL};

/* Flow references are resolved after every file is read. */
typedef struct pending_refs {
    char **names;
    const config_setting_t *where;
} pending_refs;

/*
 * respond_with: what the sender of a sync request gets. "upstream" hands it
 * the response the flow's executor set (the http executor: its upstream's
 * status, type and body), so it needs a sender that waits and exactly one
 * flow to answer; "execution" always sends the execution document.
 */
static int respond_parse(parse_ctx *c, const config_setting_t *g, const char *what, trigger_def *t,
                         const char *value, size_t n_flows)
{
    const config_setting_t *s = config_setting_get_member(g, "respond_with");
    if (strcmp(value, "execution") == 0) {
        t->respond_with = RESPOND_EXECUTION;
        return 0;
    }
    if (strcmp(value, "upstream") != 0)
        return cp_fail(c, s,
                       "%s: respond_with must be \"execution\" (answer with the execution "
                       "document) or \"upstream\" (answer with the response the flow's "
                       "executor sets)",
                       what);
    if (!t->sync)
        return cp_fail(c, s,
                       "%s: respond_with = \"upstream\" needs mode = \"sync\": an async "
                       "trigger answers before its flow runs",
                       what);
    if (n_flows != 1)
        return cp_fail(c, s,
                       "%s: respond_with = \"upstream\" needs exactly one flow, not %zu: one "
                       "sender gets one answer",
                       what, n_flows);
    t->respond_with = RESPOND_UPSTREAM;
    return 0;
}

static int parse_trigger(parse_ctx *c, sluice_config *cfg, trigger_def *t,
                         const config_setting_t *g, pending_refs *refs)
{
    if (!config_setting_is_group(g))
        return cp_fail(c, g, "triggers: each trigger must be a group { id = ...; flows = [...]; }");
    t->where = cp_where_of(g);
    const char *keys[64];
    size_t nk = 0;
    for (const char *const *k = trigger_keys; *k; k++)
        keys[nk++] = *k;
    for (const char *const *k = gate_trigger_keys; *k && nk < 63; k++)
        keys[nk++] = *k;
    keys[nk] = NULL;
    if (cp_check_keys(c, g, "trigger", keys) < 0 ||
        cp_get_string(c, g, "id", "trigger", &t->id) < 0)
        return -1;
    if (!t->id)
        return cp_fail(c, g, "trigger: missing setting \"id\"");
    if (!cp_valid_id(t->id))
        return cp_fail(c, config_setting_get_member(g, "id"),
                       "trigger.id: \"%s\" must match [A-Za-z0-9._-]+", t->id);
    char what[200];
    snprintf(what, sizeof(what), "trigger \"%s\"", t->id);

    char *mode = NULL, *respond = NULL, *dupkeys = NULL;
    char **methods = NULL;
    int rc = -1;
    t->sync_timeout_ms = cfg->server.sync_timeout_ms;
    t->max_body = cfg->server.max_body;
    t->success_code = 202;
    t->idem_ttl_ms = 24ULL * 3600 * 1000;
    if (cp_get_string(c, g, "path", what, &t->path) < 0 ||
        cp_get_string(c, g, "description", what, &t->description) < 0 ||
        cp_get_strv(c, g, "flows", what, &refs->names) < 0 ||
        cp_get_strv(c, g, "methods", what, &methods) < 0 ||
        cp_get_strv(c, g, "content_types", what, &t->content_types) < 0 ||
        cp_get_strv(c, g, "variables", what, &t->variables) < 0 ||
        cp_get_string(c, g, "mode", what, &mode) < 0 ||
        cp_get_string(c, g, "respond_with", what, &respond) < 0 ||
        cp_get_duration(c, g, "sync_timeout", what, &t->sync_timeout_ms) < 0 ||
        cp_get_int(c, g, "success_code", what, 200, 299, &t->success_code) < 0 ||
        cp_get_size(c, g, "max_body", what, &t->max_body) < 0 ||
        cp_get_string(c, g, "idempotency_key", what, &t->idem_key) < 0 ||
        cp_get_duration(c, g, "idempotency_ttl", what, &t->idem_ttl_ms) < 0 ||
        cp_get_string(c, g, "json_duplicate_keys", what, &dupkeys) < 0)
        goto out;
    /* Refused by default: readers disagree on which of two equal keys
     * counts (first, last, an error), so a body that repeats a key could
     * pass a check in one reader and act differently in another. */
    if (dupkeys && strcmp(dupkeys, "accept") == 0) {
        t->json_duplicate_keys = 1;
    } else if (dupkeys && strcmp(dupkeys, "reject") != 0) {
        cp_fail(c, config_setting_get_member(g, "json_duplicate_keys"),
                "%s: json_duplicate_keys must be \"reject\" (400 for a JSON body that repeats "
                "a key) or \"accept\" (the last of equal keys counts)",
                what);
        goto out;
    }
    if (t->idem_key && strncmp(t->idem_key, "header:", 7) != 0 &&
        strncmp(t->idem_key, "body:", 5) != 0) {
        cp_fail(c, config_setting_get_member(g, "idempotency_key"),
                "%s: idempotency_key must be \"header:NAME\" or \"body:dotted.path\"", what);
        goto out;
    }
    refs->where = g;
    if (!refs->names || !refs->names[0]) {
        cp_fail(c, g, "%s: missing setting \"flows\" (the flows it starts)", what);
        goto out;
    }
    if (!t->path) {
        size_t n = strlen(t->id) + 8;
        t->path = xmalloc(n);
        snprintf(t->path, n, "/hooks/%s", t->id);
    }
    if (methods) {
        for (char **m = methods; *m; m++) {
            unsigned bit = config_method_bit(*m);
            if (!bit) {
                cp_fail(c, config_setting_get_member(g, "methods"),
                        "%s.methods: unknown method \"%s\" (use GET, POST, PUT, PATCH or DELETE)",
                        what, *m);
                goto out;
            }
            t->methods |= bit;
        }
    } else {
        t->methods = METHOD_POST;
    }
    if (mode && strcmp(mode, "sync") == 0) {
        t->sync = 1;
    } else if (mode && strcmp(mode, "async") != 0) {
        cp_fail(c, config_setting_get_member(g, "mode"), "%s: mode must be \"sync\" or \"async\"",
                what);
        goto out;
    }
    if (t->max_body > cfg->server.max_body) {
        cp_fail(c, config_setting_get_member(g, "max_body"),
                "%s: max_body is larger than server.max_body (%llu bytes)", what,
                (unsigned long long)cfg->server.max_body);
        goto out;
    }
    t->n_variables = cp_strv_len(t->variables);
    if (gate_parse(c, g, what, t, &t->gate) < 0)
        goto out;
    /* After gate_parse: a sender's shape may make the trigger sync. */
    if (respond && respond_parse(c, g, what, t, respond, cp_strv_len(refs->names)) < 0)
        goto out;
    rc = 0;
out:
    free(respond);
    free(dupkeys);
    free(mode);
    cp_strv_free(methods);
    return rc;
}

typedef struct builder {
    sluice_config *cfg;
    size_t cap_flows, cap_triggers;
    pending_refs *refs;
    config_t **files; /* each apart: settings point back at their config_t */
    size_t n_files, cap_files;
    const config_git_source *git; /* flows.git fetched beforehand, or NULL */
} builder;

static int parse_lists(parse_ctx *c, builder *b, const config_setting_t *root, int is_main)
{
    const config_setting_t *fl = config_setting_get_member(root, "flows");
    if (fl && (!is_main || !config_setting_is_group(fl))) {
        if (!config_setting_is_list(fl))
            return cp_fail(c, fl, "flows: must be a list ( { ... }, { ... } )");
        int n = config_setting_length(fl);
        for (int i = 0; i < n; i++) {
            if (b->cfg->n_flows == b->cap_flows) {
                b->cap_flows = b->cap_flows ? b->cap_flows * 2 : 16;
                b->cfg->flows = xrealloc(b->cfg->flows, b->cap_flows * sizeof(flow_def));
            }
            flow_def *f = &b->cfg->flows[b->cfg->n_flows++];
            memset(f, 0, sizeof(*f));
            if (parse_flow(c, f, config_setting_get_elem(fl, (unsigned)i)) < 0)
                return -1;
        }
    }
    const config_setting_t *tl = config_setting_get_member(root, "triggers");
    if (tl) {
        if (!config_setting_is_list(tl))
            return cp_fail(c, tl, "triggers: must be a list ( { ... }, { ... } )");
        int n = config_setting_length(tl);
        for (int i = 0; i < n; i++) {
            if (b->cfg->n_triggers == b->cap_triggers) {
                b->cap_triggers = b->cap_triggers ? b->cap_triggers * 2 : 16;
                b->cfg->triggers =
                    xrealloc(b->cfg->triggers, b->cap_triggers * sizeof(trigger_def));
                b->refs = xrealloc(b->refs, b->cap_triggers * sizeof(pending_refs));
            }
            trigger_def *t = &b->cfg->triggers[b->cfg->n_triggers];
            pending_refs *r = &b->refs[b->cfg->n_triggers];
            b->cfg->n_triggers++;
            memset(t, 0, sizeof(*t));
            memset(r, 0, sizeof(*r));
            if (parse_trigger(c, b->cfg, t, config_setting_get_elem(tl, (unsigned)i), r) < 0)
                return -1;
        }
    }
    return 0;
}

/* Parsed files stay open until validation ends so settings keep file:line. */
static config_t *open_file(parse_ctx *c, builder *b, const char *path)
{
    if (b->n_files == b->cap_files) {
        b->cap_files = b->cap_files ? b->cap_files * 2 : 8;
        b->files = xrealloc(b->files, b->cap_files * sizeof(*b->files));
    }
    config_t *f = b->files[b->n_files++] = xmalloc(sizeof(config_t));
    config_init(f);
    config_set_include_dir(f, c->dir);
    if (config_read_file(f, path) != CONFIG_TRUE) {
        if (config_error_type(f) == CONFIG_ERR_FILE_IO)
            snprintf(c->err, c->errlen, "%s: cannot read: %s", path, units_strerror(errno));
        else
            snprintf(c->err, c->errlen, "%s:%d: syntax error: %s",
                     config_error_file(f) ? config_error_file(f) : path, config_error_line(f),
                     config_error_text(f));
        c->failed = 1;
        return NULL;
    }
    return f;
}

static const char *const main_keys[] = {"server", "plugins", "store", "flows", "triggers", NULL};
static const char *const store_keys[] = {"path", "retention", NULL};
static const char *const flowfile_keys[] = {"flows", "triggers", NULL};
static const char *const plugins_keys[] = {"path", NULL};
static const char *const flows_group_keys[] = {"include", "git", NULL};

/* flows.git: the flow files of the commit fetched beforehand (main.c),
 * like flows.include (gitsync.h). Without one, only the settings. */
static int read_git(parse_ctx *c, builder *b, const config_setting_t *g)
{
    char pat[4200];
    if (gitsync_conf_parse(c, g, &b->cfg->flows_git) < 0)
        return -1;
    if (!b->git || !b->git->dir)
        return 0;
    const char *sha = b->git->sha;
    snprintf(pat, sizeof(pat), "%s/*.conf", b->git->dir);
    glob_t gl;
    int gr = glob(pat, 0, NULL, &gl), rc = 0;
    if (gr == GLOB_NOMATCH)
        log_warn("config: flows.git: commit %s has no %s/*.conf", sha, b->cfg->flows_git->dir);
    else if (gr != 0)
        return cp_fail(c, g, "flows.git: cannot expand %s", pat);
    for (size_t i = 0; gr == 0 && i < gl.gl_pathc && rc == 0; i++) {
        size_t first = b->cfg->n_flows;
        config_t *f = open_file(c, b, gl.gl_pathv[i]);
        if (!f || cp_check_keys(c, config_root_setting(f), "flow file", flowfile_keys) < 0 ||
            parse_lists(c, b, config_root_setting(f), 0) < 0)
            rc = -1;
        for (size_t k = first; k < b->cfg->n_flows; k++)
            b->cfg->flows[k].commit = xstrdup(sha);
    }
    if (gr == 0)
        globfree(&gl);
    return rc;
}

static int read_includes(parse_ctx *c, builder *b, const config_setting_t *g)
{
    if (cp_check_keys(c, g, "flows", flows_group_keys) < 0)
        return -1;
    char **globs = NULL;
    if (cp_get_strv(c, g, "include", "flows", &globs) < 0)
        return -1;
    int rc = 0;
    for (char **gp = globs; gp && *gp && rc == 0; gp++) {
        char pat[4096];
        if ((*gp)[0] == '/' || !c->dir)
            snprintf(pat, sizeof(pat), "%s", *gp);
        else
            snprintf(pat, sizeof(pat), "%s/%s", c->dir, *gp);
        glob_t gl;
        int gr = glob(pat, 0, NULL, &gl);
        if (gr == GLOB_NOMATCH) {
            /* An empty flows.d is legal: log it so a wrong pattern is visible. */
            log_warn("config: flows.include \"%s\" matches no file", pat);
            continue;
        }
        if (gr != 0) {
            rc = cp_fail(c, config_setting_get_member(g, "include"),
                         "flows.include: cannot expand %s", pat);
            break;
        }
        for (size_t i = 0; i < gl.gl_pathc && rc == 0; i++) {
            config_t *f = open_file(c, b, gl.gl_pathv[i]);
            if (!f) {
                rc = -1;
                break;
            }
            const config_setting_t *root = config_root_setting(f);
            if (cp_check_keys(c, root, "flow file", flowfile_keys) < 0 ||
                parse_lists(c, b, root, 0) < 0)
                rc = -1;
        }
        globfree(&gl);
    }
    cp_strv_free(globs);
    if (rc == 0 && config_setting_get_member(g, "git"))
        rc = read_git(c, b, config_setting_get_member(g, "git"));
    return rc;
}

static int resolve_and_route(parse_ctx *c, builder *b)
{
    sluice_config *cfg = b->cfg;
    for (size_t i = 0; i < cfg->n_flows; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->flows[i].key, cfg->flows[j].key) == 0) {
                snprintf(c->err, c->errlen, "%s: flow \"%s\" is already defined at %s",
                         cfg->flows[i].where, cfg->flows[i].key, cfg->flows[j].where);
                return -1;
            }
    cfg->router = router_new();
    for (size_t i = 0; i < cfg->n_triggers; i++) {
        trigger_def *t = &cfg->triggers[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->id, cfg->triggers[j].id) == 0) {
                snprintf(c->err, c->errlen, "%s: trigger \"%s\" is already defined at %s", t->where,
                         t->id, cfg->triggers[j].where);
                return -1;
            }
        pending_refs *r = &b->refs[i];
        t->n_flows = cp_strv_len(r->names);
        t->flows = xcalloc(t->n_flows, sizeof(flow_def *));
        for (size_t k = 0; k < t->n_flows; k++) {
            t->flows[k] = config_find_flow(cfg, r->names[k]);
            if (!t->flows[k])
                return cp_fail(c, config_setting_get_member(r->where, "flows"),
                               "trigger \"%s\": flows: unknown flow \"%s\"", t->id, r->names[k]);
            for (size_t m = 0; m < k; m++)
                if (t->flows[m] == t->flows[k])
                    return cp_fail(c, config_setting_get_member(r->where, "flows"),
                                   "trigger \"%s\": flows: \"%s\" is listed twice", t->id,
                                   r->names[k]);
        }
        char rerr[512];
        void *other;
        if (router_add(cfg->router, t->path, t, &other, rerr, sizeof(rerr)) < 0) {
            int shared = shapes_share_path(other, t, rerr, sizeof(rerr));
            if (shared > 0)
                continue;
            if (shared < 0)
                snprintf(c->err, c->errlen, "%s: trigger \"%s\": %s", t->where, t->id, rerr);
            else if (other)
                snprintf(c->err, c->errlen,
                         "%s: trigger \"%s\": path: duplicate route: %s (trigger \"%s\" at %s)",
                         t->where, t->id, rerr, ((trigger_def *)other)->id,
                         ((trigger_def *)other)->where);
            else
                snprintf(c->err, c->errlen, "%s: trigger \"%s\": path: %s", t->where, t->id, rerr);
            return -1;
        }
    }
    return 0;
}

static void builder_free(builder *b)
{
    for (size_t i = 0; b->refs && i < b->cfg->n_triggers; i++)
        cp_strv_free(b->refs[i].names);
    free(b->refs);
    for (size_t i = 0; i < b->n_files; i++) {
        config_destroy(b->files[i]);
        free(b->files[i]);
    }
    free(b->files);
}

static void config_free(sluice_config *cfg);

/* The directory of path, for relative includes and paths (malloc'd). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == path)
        return xstrdup("/");
    return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
}

/* A relative path setting is relative to the directory of the configuration. */
static void make_relative_to(const char *dir, char **p)
{
    if (!*p || (*p)[0] == '/')
        return;
    size_t n = strlen(dir) + strlen(*p) + 2;
    char *abs = xmalloc(n);
    snprintf(abs, n, "%s/%s", dir, *p);
    free(*p);
    *p = abs;
}

int config_git_peek(const char *path, config_git_source *src, char *err, size_t errlen)
{
    memset(src, 0, sizeof(*src));
    char *dir = dir_of(path);
    parse_ctx c = {.err = err, .errlen = errlen, .dir = dir};
    builder b = {0};
    int rc = -1;
    config_t *f = open_file(&c, &b, path);
    if (!f)
        goto out;
    const config_setting_t *root = config_root_setting(f);
    const config_setting_t *fg = config_setting_get_member(root, "flows");
    const config_setting_t *g =
        fg && config_setting_is_group(fg) ? config_setting_get_member(fg, "git") : NULL;
    if (g) {
        if (gitsync_conf_parse(&c, g, &src->conf) < 0)
            goto out;
        src->where = cp_where_of(g);
        const config_setting_t *sv = config_setting_get_member(root, "server");
        if (sv && config_setting_is_group(sv) &&
            cp_get_string(&c, sv, "state_dir", "server", &src->state_dir) < 0)
            goto out;
        make_relative_to(dir, &src->state_dir);
    }
    rc = 0;
out:
    builder_free(&b);
    free(dir);
    if (rc < 0)
        config_git_source_free(src);
    return rc;
}

void config_git_source_free(config_git_source *src)
{
    gitsync_conf_free(src->conf);
    free(src->where);
    free(src->state_dir);
    free(src->dir);
    memset(src, 0, sizeof(*src));
}

int config_load(sluice_config **out, const char *path, char *err, size_t errlen)
{
    return config_load_git(out, path, NULL, err, errlen);
}

int config_load_git(sluice_config **out, const char *path, const config_git_source *git, char *err,
                    size_t errlen)
{
    *out = NULL;
    sluice_config *cfg = xcalloc(1, sizeof(*cfg));
    atomic_init(&cfg->refs, 1);
    cfg->path = xstrdup(path);
    cfg->dir = dir_of(path);
    server_conf *sv = &cfg->server;
    sv->http_threads = 2;
    sv->workers = 4;
    sv->worker_nice = 10;
    sv->max_body = 1024 * 1024;
    sv->max_queue = 10000;
    sv->max_queue_memory = 256u << 20;
    sv->sync_timeout_ms = 30000;
    sv->shutdown_timeout_ms = 30000;
    sv->max_followers = 64;
    sv->follow_heartbeat_ms = 15000;
    sv->max_connections = 4096;
    sv->max_connections_per_address = 64;
    sv->head_timeout_ms = 10000;
    sv->body_timeout_ms = 60000;

    parse_ctx c = {.err = err, .errlen = errlen, .dir = cfg->dir};
    builder b = {.cfg = cfg, .git = git};
    int rc = -1;
    config_t *f = open_file(&c, &b, path);
    if (!f)
        goto out;
    const config_setting_t *root = config_root_setting(f);
    if (cp_check_keys(&c, root, "top level", main_keys) < 0)
        goto out;
    /* server first: trigger defaults come from it. */
    const config_setting_t *s = config_setting_get_member(root, "server");
    if (s && parse_server(&c, cfg, s) < 0)
        goto out;
    if (!sv->listen) {
        sv->listen = xcalloc(2, sizeof(char *));
        sv->listen[0] = xstrdup(DEFAULT_LISTEN);
    }
    const config_setting_t *pl = config_setting_get_member(root, "plugins");
    if (pl) {
        if (!config_setting_is_group(pl)) {
            cp_fail(&c, pl, "plugins: must be a group { path = [...]; }");
            goto out;
        }
        if (cp_check_keys(&c, pl, "plugins", plugins_keys) < 0 ||
            cp_get_strv(&c, pl, "path", "plugins", &cfg->plugin_path) < 0)
            goto out;
    }
    const config_setting_t *stg = config_setting_get_member(root, "store");
    if (stg) {
        if (!config_setting_is_group(stg)) {
            cp_fail(&c, stg, "store: must be a group { path = \"...\"; retention = \"14d\"; }");
            goto out;
        }
        if (cp_check_keys(&c, stg, "store", store_keys) < 0 ||
            cp_get_string(&c, stg, "path", "store", &cfg->store_path) < 0 ||
            cp_get_duration(&c, stg, "retention", "store", &cfg->retention_ms) < 0)
            goto out;
        cfg->store_explicit = cfg->store_path != NULL;
        /* A relative store path is relative to the configuration file. */
        if (cfg->store_path && cfg->store_path[0] != '/') {
            size_t n = strlen(cfg->dir) + strlen(cfg->store_path) + 2;
            char *abs = xmalloc(n);
            snprintf(abs, n, "%s/%s", cfg->dir, cfg->store_path);
            free(cfg->store_path);
            cfg->store_path = abs;
        }
    }
    config_apply_state_dir(cfg, NULL);
    if (parse_lists(&c, &b, root, 1) < 0)
        goto out;
    const config_setting_t *fg = config_setting_get_member(root, "flows");
    if (fg && config_setting_is_group(fg) && read_includes(&c, &b, fg) < 0)
        goto out;
    if (resolve_and_route(&c, &b) < 0)
        goto out;
    size_t n_secret = 0;
    for (size_t i = 0; i < cfg->n_triggers; i++)
        gate_secret_headers(cfg->triggers[i].gate, &cfg->secret_headers, &n_secret);
    rc = 0;
out:
    builder_free(&b);
    if (rc < 0) {
        config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

static void config_free(sluice_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_flows; i++) {
        flow_def *f = &cfg->flows[i];
        free(f->id);
        free(f->ns);
        free(f->key);
        free(f->executor);
        free(f->description);
        free(f->cfg_json);
        free(f->where);
        free(f->commit);
    }
    free(cfg->flows);
    for (size_t i = 0; i < cfg->n_triggers; i++) {
        trigger_def *t = &cfg->triggers[i];
        free(t->id);
        free(t->path);
        cp_strv_free(t->content_types);
        free(t->flows);
        cp_strv_free(t->variables);
        free(t->description);
        free(t->where);
        free(t->idem_key);
        free(t->program_id);
        gate_free(t->gate);
    }
    free(cfg->triggers);
    cp_strv_free(cfg->secret_headers);
    gitsync_conf_free(cfg->flows_git);
    router_free(cfg->router);
    cp_strv_free(cfg->server.listen);
    free(cfg->server.admin_token);
    free(cfg->server.metrics_token);
    cp_strv_free(cfg->server.trusted_proxies);
    free(cfg->server.log_level);
    free(cfg->server.state_dir);
    cp_strv_free(cfg->plugin_path);
    free(cfg->store_path);
    free(cfg->path);
    free(cfg->dir);
    free(cfg);
}

/*
 * One directory holds what sluiced keeps between runs: the store (unless
 * store.path says otherwise), capability tokens, plugin caches. An override
 * (--state-dir, SLUICE_STATE_DIR) wins over server.state_dir.
 */
void config_apply_state_dir(sluice_config *cfg, const char *override)
{
    if (override) {
        free(cfg->server.state_dir);
        cfg->server.state_dir = xstrdup(override);
    }
    if (!cfg->server.state_dir)
        cfg->server.state_dir = xstrdup(DEFAULT_STATE_DIR);
    if (!cfg->store_explicit) {
        free(cfg->store_path);
        size_t n = strlen(cfg->server.state_dir) + 12;
        cfg->store_path = xmalloc(n);
        snprintf(cfg->store_path, n, "%s/sluice.db", cfg->server.state_dir);
    }
}

sluice_config *config_ref(sluice_config *cfg)
{
    atomic_fetch_add(&cfg->refs, 1);
    return cfg;
}

void config_unref(sluice_config *cfg)
{
    if (cfg && atomic_fetch_sub(&cfg->refs, 1) == 1)
        config_free(cfg);
}

flow_def *config_find_flow(const sluice_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_flows; i++)
        if (strcmp(cfg->flows[i].key, key) == 0)
            return &cfg->flows[i];
    return NULL;
}

trigger_def *config_find_trigger(const sluice_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_triggers; i++)
        if (strcmp(cfg->triggers[i].id, id) == 0)
            return &cfg->triggers[i];
    return NULL;
}

static const struct {
    const char *name;
    unsigned bit;
} method_names[] = {{"GET", METHOD_GET},
                    {"POST", METHOD_POST},
                    {"PUT", METHOD_PUT},
                    {"PATCH", METHOD_PATCH},
                    {"DELETE", METHOD_DELETE}};

unsigned config_method_bit(const char *method)
{
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (strcmp(method, method_names[i].name) == 0)
            return method_names[i].bit;
    return 0;
}

void config_methods_string(unsigned methods, char *buf, size_t len)
{
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
        if (methods & method_names[i].bit) {
            if (buf[0])
                strncat(buf, ", ", len - strlen(buf) - 1);
            strncat(buf, method_names[i].name, len - strlen(buf) - 1);
        }
    if (methods & METHOD_GET)
        strncat(buf, ", HEAD", len - strlen(buf) - 1);
    strncat(buf, buf[0] ? ", OPTIONS" : "OPTIONS", len - strlen(buf) - 1);
}
