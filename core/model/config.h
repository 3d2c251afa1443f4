/*
 * config.h - the configuration model: server, plugins, flows, triggers.
 *
 * config_load() turns libconfig files into this model and validates it as a
 * whole; every error names file:line and the setting. A loaded config is an
 * immutable, reference-counted snapshot: requests and executions hold a
 * reference to the snapshot they started with, so a reload never changes
 * anything under them. Nothing in it changes after config_load: binding
 * flows to plugin instances, and what the engine keeps per flow, belong to
 * a generation (generation.h), because binding runs plugin code.
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct router;
struct gate;
struct gitsync_conf;

#define METHOD_GET 0x01u
#define METHOD_POST 0x02u
#define METHOD_PUT 0x04u
#define METHOD_PATCH 0x08u
#define METHOD_DELETE 0x10u

#define ON_LIMIT_QUEUE 0
#define ON_LIMIT_REJECT 1
#define ON_LIMIT_CANCEL 2

/* What a sync trigger answers with (trigger_def.respond_with). */
#define RESPOND_DEFAULT 0   /* the document, or the response a plugin chose */
#define RESPOND_EXECUTION 1 /* always the execution document */
#define RESPOND_UPSTREAM 2  /* the response the flow's plugin set */

typedef struct flow_def {
    char *id;
    char *ns;  /* namespace, may be NULL */
    char *key; /* "ns/id", or "id" without a namespace */
    char *executor;
    char *description;
    uint64_t timeout_ms; /* 0: none */
    int concurrency;     /* 0: unlimited */
    int on_limit;
    int retry_max;
    uint64_t retry_backoff_ms;
    char *cfg_json; /* the flow's config group as JSON text */
    size_t cfg_len;
    char *where;  /* "file:line" of the flow */
    char *commit; /* flows.git: the commit the flow came from, else NULL */
} flow_def;

typedef struct trigger_def {
    char *id;
    char *path; /* route template */
    unsigned methods;
    char **content_types; /* NULL-terminated, NULL: any */
    flow_def **flows;
    size_t n_flows;
    int sync;
    uint64_t sync_timeout_ms;
    int success_code; /* for async answers, default 202 */
    int respond_with; /* RESPOND_*: UPSTREAM only with sync and one flow */
    char **variables; /* NULL-terminated names, may be NULL */
    size_t n_variables;
    uint64_t max_body;
    char *description;
    char *where;
    struct gate *gate; /* admission rules, NULL when none (gate.h) */
    char *idem_key;    /* "header:NAME" or "body:path"; NULL: the standard headers */
    uint64_t idem_ttl_ms;
    /* wayscript with its own path: the program_id that picks this trigger
     * among those sharing the path (shapes_pick_program), else NULL. */
    char *program_id;
    struct trigger_def *program_next; /* the next trigger on the same path */
    int json_duplicate_keys;          /* 1: a JSON body may repeat a key ("accept"); 0: 400 */
} trigger_def;

/* server.worker_nice = "idle": flows run only on otherwise idle CPU. */
#define WORKER_IDLE (-1)

typedef struct server_conf {
    char **listen; /* NULL-terminated "host:port" */
    int http_threads;
    int workers;
    int worker_nice; /* nice of worker threads and what they spawn, or WORKER_IDLE (engine.h) */
    uint64_t max_body;
    size_t max_queue;
    uint64_t max_queue_memory; /* bytes of queued executions (engine.h) */
    uint64_t sync_timeout_ms;
    uint64_t shutdown_timeout_ms;
    int max_followers;            /* logs?follow streams open at once */
    uint64_t follow_heartbeat_ms; /* a line on quiet streams this often, 0: never */
    char *admin_token;            /* NULL: admin API from loopback only */
    char *metrics_token;          /* a bearer token good for GET /metrics only, or NULL */
    int metrics_public;           /* GET /metrics answers anyone, without a token */
    char **trusted_proxies;       /* CIDRs whose X-Forwarded-For is believed */
    char *log_level;
    char *state_dir;                 /* small state files (capability tokens); NULL: the default */
    int max_connections;             /* open at once, all addresses */
    int max_connections_per_address; /* 0: no limit of its own */
    uint64_t head_timeout_ms;        /* request line and headers, in total */
    uint64_t body_timeout_ms;        /* the body, in total, from the end of the head */
} server_conf;

typedef struct sluice_config {
    atomic_int refs;
    char *path;
    char *dir; /* directory of path, for relative includes */
    server_conf server;
    char **plugin_path;    /* NULL-terminated */
    char *store_path;      /* SQLite file */
    int store_explicit;    /* store.path or --store, not derived from the state dir */
    uint64_t retention_ms; /* 0: keep finished executions forever */
    flow_def *flows;
    size_t n_flows;
    trigger_def *triggers;
    size_t n_triggers;
    struct router *router;
    /* Headers the triggers read keys or signatures from (lower-case,
     * NULL-terminated, may be NULL): redacted like the well-known ones
     * (event_header_is_secret) while this configuration serves. */
    char **secret_headers;
    struct gitsync_conf *flows_git; /* flows.git settings (gitsync.h), or NULL */
} sluice_config;

/*
 * flows.git for one load. Parsing never fetches: main.c reads the settings
 * with config_git_peek, fetches the commit (gitsync_prepare) and hands the
 * result to config_load_git.
 */
typedef struct config_git_source {
    struct gitsync_conf *conf; /* flows.git settings, NULL: the file has none */
    char *where;               /* "file:line" of flows.git, for errors of the fetch */
    char *state_dir;           /* server.state_dir made absolute, or NULL */
    /* Set by whoever fetched (malloc'd): */
    char *dir;    /* the commit's directory of flow files */
    char sha[41]; /* the commit */
} config_git_source;

/*
 * Read only what fetching flows.git needs from the file at path: its
 * flows.git settings and server.state_dir. Returns 0 (src->conf NULL when
 * there is no flows.git), or -1 with "file:line: setting: message" in err.
 */
int config_git_peek(const char *path, config_git_source *src, char *err, size_t errlen);
void config_git_source_free(config_git_source *src);

/*
 * Parse and validate the file at path (and the flow files it includes,
 * with git->dir's when git is not NULL; without it flows.git's settings
 * are checked and its flow files not read). On error returns -1 with
 * "file:line: setting: message" in err.
 */
int config_load_git(sluice_config **out, const char *path, const config_git_source *git, char *err,
                    size_t errlen);
/* config_load_git without flows.git's flow files. */
int config_load(sluice_config **out, const char *path, char *err, size_t errlen);

/* Use dir (NULL: keep the configured one) as the state directory; the
 * store defaults to DIR/sluice.db. */
void config_apply_state_dir(sluice_config *cfg, const char *dir);

sluice_config *config_ref(sluice_config *cfg);
/* Drops a reference; the last one frees. */
void config_unref(sluice_config *cfg);

flow_def *config_find_flow(const sluice_config *cfg, const char *key);
trigger_def *config_find_trigger(const sluice_config *cfg, const char *id);

/* "GET, POST" for an Allow header. */
void config_methods_string(unsigned methods, char *buf, size_t len);
unsigned config_method_bit(const char *method);

#endif
