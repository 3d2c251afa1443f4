/*
 * test_config.c - config_load: the model it builds, its defaults, and an
 * error naming file:line and the setting for every way a file can be wrong.
 * Also the three generation_bind outcomes that matter to an operator.
 *
 * Most cases write a small file into a fresh mkdtemp directory, so the
 * line numbers the assertions expect are visible right next to the text.
 */
#define _GNU_SOURCE
#include "config.h"
#include "generation.h"

#include "host.h"
#include "loader.h"
#include "router.h"

#include <check.h>
#include <ftw.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CONF_DIR TEST_SRCDIR "/tests/unit/conf"

/* One directory per tcase, made and removed by the parent process, holds one
 * directory per test: a failed test ends its process before its own
 * teardown, and must not leave files behind. */
static char basedir[512];
static char tmpdir[600];
static char main_path[700];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void base_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(basedir, sizeof(basedir), "%s/sluice-test-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(basedir)) {
        perror(basedir);
        exit(EXIT_FAILURE);
    }
}

static void base_teardown(void)
{
    rm_tree(basedir);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/t-XXXXXX", basedir);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(main_path, sizeof(main_path), "%s/sluice.conf", tmpdir);
}

static void teardown(void)
{
    rm_tree(tmpdir);
}

/* Write text to rel (relative to tmpdir), creating one level of directory. */
static void write_file(const char *rel, const char *text)
{
    char path[1024];
    const char *slash = strchr(rel, '/');
    if (slash) {
        snprintf(path, sizeof(path), "%s/%.*s", tmpdir, (int)(slash - rel), rel);
        mkdir(path, 0700);
    }
    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static sluice_config *load_path_ok(const char *path)
{
    char err[2048] = "";
    sluice_config *cfg = (sluice_config *)1;
    int rc = config_load(&cfg, path, err, sizeof(err));
    ck_assert_msg(rc == 0, "config_load(%s) failed: %s", path, err);
    ck_assert_ptr_nonnull(cfg);
    return cfg;
}

static sluice_config *load_ok(const char *text)
{
    write_file("sluice.conf", text);
    return load_path_ok(main_path);
}

/*
 * Load the main file (already written) and expect a failure whose message
 * starts with "<file>:<line>: " and contains every needle (NULL-terminated).
 */
static void expect_failure(const char *file, int line, va_list ap)
{
    char err[2048] = "";
    sluice_config *cfg = (sluice_config *)1;
    int rc = config_load(&cfg, main_path, err, sizeof(err));
    ck_assert_msg(rc == -1, "config_load accepted a bad file");
    ck_assert_ptr_null(cfg);
    char prefix[1200];
    snprintf(prefix, sizeof(prefix), "%s/%s:%d: ", tmpdir, file, line);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
                  "error \"%s\" does not start with \"%s\"", err, prefix);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        ck_assert_msg(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err, needle);
}

static void load_fails(const char *text, int line, ...)
{
    write_file("sluice.conf", text);
    va_list ap;
    va_start(ap, line);
    expect_failure("sluice.conf", line, ap);
    va_end(ap);
}

/* As load_fails, for an error reported in another file than the main one. */
static void load_fails_in(const char *file, int line, ...)
{
    va_list ap;
    va_start(ap, line);
    expect_failure(file, line, ap);
    va_end(ap);
}

static void where_is(const char *where, const char *file, int line)
{
    char want[1200];
    snprintf(want, sizeof(want), "%s/%s:%d", tmpdir, file, line);
    ck_assert_str_eq(where, want);
}

/* A config that is valid on its own, for the cases that vary one thing. */
#define ONE_FLOW "flows = ( { id = \"f\"; executor = \"good\"; } );\n"

/* ---- the model ---- */

START_TEST(minimal_file_gets_defaults)
{
    sluice_config *cfg = load_ok("flows = (\n"
                                 "    { id = \"f\"; executor = \"good\"; }\n"
                                 ");\n"
                                 "triggers = (\n"
                                 "    { id = \"t\"; flows = [\"f\"]; }\n"
                                 ");\n");
    const server_conf *sv = &cfg->server;
    ck_assert_ptr_nonnull(sv->listen);
    ck_assert_str_eq(sv->listen[0], "127.0.0.1:8080");
    ck_assert_ptr_null(sv->listen[1]);
    ck_assert_int_eq(sv->http_threads, 2);
    ck_assert_int_eq(sv->workers, 4);
    ck_assert_uint_eq(sv->max_body, 1024 * 1024);
    ck_assert_uint_eq(sv->max_queue, 10000);
    ck_assert_uint_eq(sv->max_queue_memory, 256u << 20);
    ck_assert_uint_eq(sv->sync_timeout_ms, 30000);
    ck_assert_uint_eq(sv->shutdown_timeout_ms, 30000);
    ck_assert_int_eq(sv->max_followers, 64);
    ck_assert_uint_eq(sv->follow_heartbeat_ms, 15000);
    ck_assert_int_eq(sv->max_connections, 4096);
    ck_assert_int_eq(sv->max_connections_per_address, 64);
    ck_assert_uint_eq(sv->head_timeout_ms, 10000);
    ck_assert_uint_eq(sv->body_timeout_ms, 60000);
    ck_assert_ptr_null(sv->admin_token);
    ck_assert_ptr_null(cfg->plugin_path);
    ck_assert_str_eq(cfg->store_path, LOCALSTATEDIR "/lib/sluice/sluice.db");
    ck_assert_uint_eq(cfg->retention_ms, 0);
    ck_assert_str_eq(cfg->path, main_path);
    ck_assert_str_eq(cfg->dir, tmpdir);

    ck_assert_uint_eq(cfg->n_flows, 1);
    const flow_def *f = &cfg->flows[0];
    ck_assert_str_eq(f->id, "f");
    ck_assert_ptr_null(f->ns);
    ck_assert_str_eq(f->key, "f");
    ck_assert_str_eq(f->executor, "good");
    ck_assert_uint_eq(f->timeout_ms, 0);
    ck_assert_str_eq(f->cfg_json, "{}");
    ck_assert_uint_eq(f->cfg_len, 2);
    ck_assert_int_eq(f->concurrency, 0);
    ck_assert_int_eq(f->on_limit, ON_LIMIT_QUEUE);
    ck_assert_int_eq(f->retry_max, 0);
    where_is(f->where, "sluice.conf", 2);

    ck_assert_uint_eq(cfg->n_triggers, 1);
    const trigger_def *t = &cfg->triggers[0];
    ck_assert_str_eq(t->id, "t");
    ck_assert_str_eq(t->path, "/hooks/t");
    ck_assert_uint_eq(t->methods, METHOD_POST);
    ck_assert_int_eq(t->sync, 0);
    ck_assert_int_eq(t->success_code, 202);
    ck_assert_uint_eq(t->sync_timeout_ms, 30000);
    ck_assert_uint_eq(t->max_body, 1024 * 1024);
    ck_assert_ptr_null(t->content_types);
    ck_assert_uint_eq(t->n_variables, 0);
    ck_assert_uint_eq(t->n_flows, 1);
    ck_assert_ptr_eq(t->flows[0], &cfg->flows[0]);
    ck_assert_ptr_null(t->idem_key);
    ck_assert_uint_eq(t->idem_ttl_ms, 24ULL * 3600 * 1000);
    ck_assert_ptr_null(t->gate);
    where_is(t->where, "sluice.conf", 5);

    ck_assert_ptr_eq(config_find_flow(cfg, "f"), &cfg->flows[0]);
    ck_assert_ptr_null(config_find_flow(cfg, "g"));
    ck_assert_ptr_eq(config_find_trigger(cfg, "t"), &cfg->triggers[0]);
    ck_assert_ptr_null(config_find_trigger(cfg, "u"));

    /* The default route is live in the router. */
    route_match m;
    ck_assert_int_eq(router_match(cfg->router, "/hooks/t", &m), 1);
    ck_assert_ptr_eq(m.target, &cfg->triggers[0]);
    route_match_clear(&m);
    config_unref(cfg);
}
END_TEST

START_TEST(every_setting_reaches_the_model)
{
    sluice_config *cfg = load_ok("server: {\n"
                                 "    listen = [\"127.0.0.1:9001\", \"[::1]:9002\"];\n"
                                 "    http_threads = 3;\n"
                                 "    workers = 8;\n"
                                 "    max_body = \"4M\";\n"
                                 "    max_queue = 50; max_queue_memory = \"32M\";\n"
                                 "    sync_timeout = \"10s\";\n"
                                 "    shutdown_timeout = \"1m\"; max_followers = 5;"
                                 " follow_heartbeat = \"0\";\n"
                                 "    admin_token = \"0123456789abcdef0123\";\n"
                                 "    log_level = \"debug\";\n"
                                 "};\n"
                                 "plugins: { path = [\"/opt/a\", \"/opt/b\"]; };\n"
                                 "flows = (\n"
                                 "    {\n"
                                 "        id = \"deploy\";\n"
                                 "        namespace = \"prod\";\n"
                                 "        executor = \"good\";\n"
                                 "        description = \"ship it\";\n"
                                 "        timeout = \"5m\";\n"
                                 "    },\n"
                                 "    { id = \"notify\"; executor = \"good\"; }\n"
                                 ");\n"
                                 "triggers = (\n"
                                 "    {\n"
                                 "        id = \"gh\";\n"
                                 "        flows = [\"prod/deploy\", \"notify\"];\n"
                                 "        path = \"/hooks/gh/{repo}\";\n"
                                 "        methods = [\"GET\", \"PUT\", \"DELETE\"];\n"
                                 "        content_types = [\"application/json\", \"text/plain\"];\n"
                                 "        mode = \"sync\";\n"
                                 "        sync_timeout = \"2s\";\n"
                                 "        success_code = 201;\n"
                                 "        variables = [\"user\", \"period\"];\n"
                                 "        max_body = \"512K\";\n"
                                 "        description = \"from github\";\n"
                                 "    },\n"
                                 "    { id = \"plain\"; flows = \"notify\"; mode = \"async\"; }\n"
                                 ");\n");
    const server_conf *sv = &cfg->server;
    ck_assert_str_eq(sv->listen[0], "127.0.0.1:9001");
    ck_assert_str_eq(sv->listen[1], "[::1]:9002");
    ck_assert_ptr_null(sv->listen[2]);
    ck_assert_int_eq(sv->http_threads, 3);
    ck_assert_int_eq(sv->workers, 8);
    ck_assert_uint_eq(sv->max_body, 4 * 1024 * 1024);
    ck_assert_uint_eq(sv->max_queue, 50);
    ck_assert_uint_eq(sv->max_queue_memory, 32u << 20);
    ck_assert_uint_eq(sv->sync_timeout_ms, 10000);
    ck_assert_uint_eq(sv->shutdown_timeout_ms, 60000);
    ck_assert_int_eq(sv->max_followers, 5);
    ck_assert_uint_eq(sv->follow_heartbeat_ms, 0);
    ck_assert_str_eq(sv->admin_token, "0123456789abcdef0123");
    ck_assert_str_eq(sv->log_level, "debug");
    ck_assert_str_eq(cfg->plugin_path[0], "/opt/a");
    ck_assert_str_eq(cfg->plugin_path[1], "/opt/b");
    ck_assert_ptr_null(cfg->plugin_path[2]);

    ck_assert_uint_eq(cfg->n_flows, 2);
    const flow_def *f = config_find_flow(cfg, "prod/deploy");
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->id, "deploy");
    ck_assert_str_eq(f->ns, "prod");
    ck_assert_str_eq(f->key, "prod/deploy");
    ck_assert_str_eq(f->description, "ship it");
    ck_assert_uint_eq(f->timeout_ms, 5 * 60 * 1000);
    where_is(f->where, "sluice.conf", 14);
    /* A namespaced flow is not found by its bare id. */
    ck_assert_ptr_null(config_find_flow(cfg, "deploy"));

    const trigger_def *t = config_find_trigger(cfg, "gh");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->path, "/hooks/gh/{repo}");
    ck_assert_uint_eq(t->methods, METHOD_GET | METHOD_PUT | METHOD_DELETE);
    ck_assert_str_eq(t->content_types[0], "application/json");
    ck_assert_str_eq(t->content_types[1], "text/plain");
    ck_assert_ptr_null(t->content_types[2]);
    ck_assert_int_eq(t->sync, 1);
    ck_assert_uint_eq(t->sync_timeout_ms, 2000);
    ck_assert_int_eq(t->success_code, 201);
    ck_assert_uint_eq(t->n_variables, 2);
    ck_assert_str_eq(t->variables[0], "user");
    ck_assert_str_eq(t->variables[1], "period");
    ck_assert_ptr_null(t->variables[2]);
    ck_assert_uint_eq(t->max_body, 512 * 1024);
    ck_assert_str_eq(t->description, "from github");
    /* Fan-out keeps the listed order. */
    ck_assert_uint_eq(t->n_flows, 2);
    ck_assert_ptr_eq(t->flows[0], config_find_flow(cfg, "prod/deploy"));
    ck_assert_ptr_eq(t->flows[1], config_find_flow(cfg, "notify"));

    /* Unset trigger settings inherit the server's. */
    t = config_find_trigger(cfg, "plain");
    ck_assert_str_eq(t->path, "/hooks/plain");
    ck_assert_int_eq(t->sync, 0);
    ck_assert_uint_eq(t->sync_timeout_ms, 10000);
    ck_assert_uint_eq(t->max_body, 4 * 1024 * 1024);
    ck_assert_uint_eq(t->n_flows, 1);
    ck_assert_ptr_eq(t->flows[0], config_find_flow(cfg, "notify"));

    route_match m;
    ck_assert_int_eq(router_match(cfg->router, "/hooks/gh/sluice", &m), 1);
    ck_assert_ptr_eq(m.target, config_find_trigger(cfg, "gh"));
    ck_assert_str_eq(m.values[0], "sluice");
    route_match_clear(&m);
    config_unref(cfg);
}
END_TEST

/* Enough flows and triggers to grow every array: references must survive. */
START_TEST(many_flows_and_triggers)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("flows = (\n", f);
    for (int i = 0; i < 40; i++)
        fprintf(f, "%s{ id = \"f%d\"; namespace = \"n\"; executor = \"good\"; }\n", i ? "," : "",
                i);
    fputs(");\ntriggers = (\n", f);
    for (int i = 0; i < 40; i++)
        fprintf(f, "%s{ id = \"t%d\"; flows = [\"n/f%d\"]; }\n", i ? "," : "", i, 39 - i);
    fputs(");\n", f);
    fclose(f);
    sluice_config *cfg = load_ok(text);
    free(text);
    ck_assert_uint_eq(cfg->n_flows, 40);
    ck_assert_uint_eq(cfg->n_triggers, 40);
    for (int i = 0; i < 40; i++) {
        char path[32], key[32];
        snprintf(path, sizeof(path), "/hooks/t%d", i);
        snprintf(key, sizeof(key), "n/f%d", 39 - i);
        route_match m;
        ck_assert_int_eq(router_match(cfg->router, path, &m), 1);
        const trigger_def *t = m.target;
        ck_assert_ptr_eq(t, &cfg->triggers[i]);
        ck_assert_ptr_eq(t->flows[0], &cfg->flows[39 - i]);
        ck_assert_str_eq(t->flows[0]->key, key);
        route_match_clear(&m);
    }
    config_unref(cfg);
}
END_TEST

START_TEST(flow_config_becomes_json)
{
    setenv("SLUICE_TEST_CFG_SECRET", "s3cr3t", 1);
    sluice_config *cfg = load_ok("flows = ( {\n"
                                 "    id = \"f\";\n"
                                 "    executor = \"good\";\n"
                                 "    config = {\n"
                                 "        argv = [\"/bin/echo\", \"{body.x}\"];\n"
                                 "        n = 3;\n"
                                 "        big = 5000000000L;\n"
                                 "        ratio = 0.5;\n"
                                 "        on = true;\n"
                                 "        off = false;\n"
                                 "        env = { A = \"1\";\n"
                                 "                B = \"@env:SLUICE_TEST_CFG_SECRET\"; };\n"
                                 "        nested = ( [\"a\", \"b\"],\n"
                                 "                   { k = \"v\"; }, ( 1, \"two\" ) );\n"
                                 "        empty_list = ();\n"
                                 "        empty_group = {};\n"
                                 "        token = \"@env:SLUICE_TEST_CFG_SECRET\";\n"
                                 "    };\n"
                                 "} );\n");
    const flow_def *f = &cfg->flows[0];
    ck_assert_uint_eq(f->cfg_len, strlen(f->cfg_json));
    json_error_t jerr;
    json_t *j = json_loads(f->cfg_json, 0, &jerr);
    ck_assert_msg(j != NULL, "cfg_json is not JSON: %s", jerr.text);
    ck_assert(json_is_object(j));
    ck_assert_uint_eq(json_object_size(j), 11);

    json_t *argv = json_object_get(j, "argv");
    ck_assert_uint_eq(json_array_size(argv), 2);
    ck_assert_str_eq(json_string_value(json_array_get(argv, 0)), "/bin/echo");
    ck_assert_str_eq(json_string_value(json_array_get(argv, 1)), "{body.x}");
    ck_assert(json_is_integer(json_object_get(j, "n")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n")), 3);
    ck_assert(json_integer_value(json_object_get(j, "big")) == 5000000000LL);
    ck_assert(json_is_real(json_object_get(j, "ratio")));
    ck_assert(json_real_value(json_object_get(j, "ratio")) == 0.5);
    ck_assert(json_is_true(json_object_get(j, "on")));
    ck_assert(json_is_false(json_object_get(j, "off")));

    json_t *env = json_object_get(j, "env");
    ck_assert_str_eq(json_string_value(json_object_get(env, "A")), "1");
    ck_assert_str_eq(json_string_value(json_object_get(env, "B")), "s3cr3t");
    ck_assert_str_eq(json_string_value(json_object_get(j, "token")), "s3cr3t");

    json_t *nested = json_object_get(j, "nested");
    ck_assert_uint_eq(json_array_size(nested), 3);
    json_t *n0 = json_array_get(nested, 0);
    ck_assert_uint_eq(json_array_size(n0), 2);
    ck_assert_str_eq(json_string_value(json_array_get(n0, 1)), "b");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nested, 1), "k")), "v");
    json_t *n2 = json_array_get(nested, 2);
    ck_assert_int_eq(json_integer_value(json_array_get(n2, 0)), 1);
    ck_assert_str_eq(json_string_value(json_array_get(n2, 1)), "two");

    ck_assert(json_is_array(json_object_get(j, "empty_list")));
    ck_assert_uint_eq(json_array_size(json_object_get(j, "empty_list")), 0);
    ck_assert(json_is_object(json_object_get(j, "empty_group")));
    ck_assert_uint_eq(json_object_size(json_object_get(j, "empty_group")), 0);

    /* Only the resolved value travels: the reference is gone. */
    ck_assert_ptr_null(strstr(f->cfg_json, "@env:"));
    json_decref(j);
    config_unref(cfg);
}
END_TEST

START_TEST(flow_config_must_be_a_group)
{
    load_fails("flows = ( {\n"
               "    id = \"f\";\n"
               "    executor = \"good\";\n"
               "    config = \"argv\";\n"
               "} );\n",
               4, "flow \"f\"", "config must be a group", NULL);
}
END_TEST

START_TEST(flow_execution_settings)
{
    sluice_config *cfg = load_ok("flows = (\n"
                                 "    { id = \"a\"; executor = \"good\"; concurrency = 1;\n"
                                 "      on_limit = \"reject\";\n"
                                 "      retry = { max = 3; backoff = \"2s\"; }; },\n"
                                 "    { id = \"b\"; executor = \"good\"; on_limit = \"cancel\";\n"
                                 "      retry = { max = 1; }; }\n"
                                 ");\n");
    const flow_def *a = config_find_flow(cfg, "a"), *b = config_find_flow(cfg, "b");
    ck_assert_int_eq(a->concurrency, 1);
    ck_assert_int_eq(a->on_limit, ON_LIMIT_REJECT);
    ck_assert_int_eq(a->retry_max, 3);
    ck_assert_uint_eq(a->retry_backoff_ms, 2000);
    ck_assert_int_eq(b->on_limit, ON_LIMIT_CANCEL);
    ck_assert_int_eq(b->retry_max, 1);
    ck_assert_uint_eq(b->retry_backoff_ms, 10000);
    config_unref(cfg);
}
END_TEST

START_TEST(flow_execution_settings_errors)
{
    load_fails("flows = ( {\n"
               "    id = \"f\"; executor = \"good\";\n"
               "    on_limit = \"drop\";\n"
               "} );\n",
               3, "flow \"f\"", "on_limit", NULL);
    load_fails("flows = ( {\n"
               "    id = \"f\"; executor = \"good\";\n"
               "    concurrency = -1;\n"
               "} );\n",
               3, "flow \"f\"", "concurrency", "out of range", NULL);
    load_fails("flows = ( {\n"
               "    id = \"f\"; executor = \"good\";\n"
               "    retry = {\n"
               "        max = 3;\n"
               "        backof = \"1s\";\n"
               "    };\n"
               "} );\n",
               5, "retry", "unknown setting \"backof\"", NULL);
    load_fails("flows = ( {\n"
               "    id = \"f\"; executor = \"good\";\n"
               "    retry = { backoff = \"soon\"; };\n"
               "} );\n",
               3, "retry", "backoff", "bad duration", NULL);
}
END_TEST

START_TEST(store_settings)
{
    sluice_config *cfg = load_ok("store: { path = \"data/sluice.db\"; retention = \"14d\"; };\n");
    char want[1024];
    snprintf(want, sizeof(want), "%s/data/sluice.db", tmpdir);
    /* A relative store path is relative to the configuration file. */
    ck_assert_str_eq(cfg->store_path, want);
    ck_assert_uint_eq(cfg->retention_ms, 14ULL * 86400 * 1000);
    config_unref(cfg);

    cfg = load_ok("store: { path = \"/srv/sluice.db\"; };\n");
    ck_assert_str_eq(cfg->store_path, "/srv/sluice.db");
    config_unref(cfg);

    load_fails("store: {\n"
               "    path = \"x.db\";\n"
               "    retain = \"1d\";\n"
               "};\n",
               3, "store", "unknown setting \"retain\"", NULL);
    load_fails("store: {\n"
               "    retention = \"forever\";\n"
               "};\n",
               2, "store.retention", "bad duration", NULL);
}
END_TEST

START_TEST(trigger_idempotency)
{
    sluice_config *cfg = load_ok(ONE_FLOW "triggers = (\n"
                                          "    { id = \"a\"; flows = [\"f\"];\n"
                                          "      idempotency_key = \"header:X-Delivery\";\n"
                                          "      idempotency_ttl = \"1h\"; },\n"
                                          "    { id = \"b\"; flows = [\"f\"];\n"
                                          "      idempotency_key = \"body:event.id\"; }\n"
                                          ");\n");
    const trigger_def *a = config_find_trigger(cfg, "a");
    ck_assert_str_eq(a->idem_key, "header:X-Delivery");
    ck_assert_uint_eq(a->idem_ttl_ms, 3600 * 1000);
    ck_assert_str_eq(config_find_trigger(cfg, "b")->idem_key, "body:event.id");
    config_unref(cfg);

    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\"; flows = [\"f\"];\n"
                        "    idempotency_key = \"cookie:id\";\n"
                        "} );\n",
               4, "trigger \"t\"", "idempotency_key", NULL);
}
END_TEST

#define TWO_FLOWS                                       \
    "flows = ( { id = \"f\"; executor = \"good\"; },\n" \
    "          { id = \"g\"; executor = \"good\"; } );\n"

/* respond_with: who decides what a sync sender gets, and the two ways
 * "upstream" cannot work, each named at the setting's own line. */
START_TEST(trigger_respond_with)
{
    sluice_config *cfg = load_ok(
        TWO_FLOWS
        "triggers = (\n"
        "    { id = \"up\"; flows = [\"f\"]; mode = \"sync\"; respond_with = \"upstream\"; },\n"
        "    { id = \"doc\"; flows = [\"f\", \"g\"]; respond_with = \"execution\"; },\n"
        "    { id = \"cm\"; flows = [\"f\"]; respond_with = \"upstream\";\n"
        "      cloudomation = { client = \"c\"; name = \"n\"; }; },\n"
        "    { id = \"plain\"; flows = [\"f\"]; mode = \"sync\"; }\n"
        ");\n");
    ck_assert_int_eq(config_find_trigger(cfg, "up")->respond_with, RESPOND_UPSTREAM);
    ck_assert_int_eq(config_find_trigger(cfg, "doc")->respond_with, RESPOND_EXECUTION);
    /* Cloudomation's shape is sync unless it says otherwise. */
    ck_assert_int_eq(config_find_trigger(cfg, "cm")->respond_with, RESPOND_UPSTREAM);
    ck_assert_int_eq(config_find_trigger(cfg, "plain")->respond_with, RESPOND_DEFAULT);
    config_unref(cfg);

    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\"; flows = [\"f\"]; mode = \"sync\";\n"
                        "    respond_with = \"body\";\n"
                        "} );\n",
               4, "trigger \"t\"", "respond_with must be \"execution\"", "\"upstream\"", NULL);
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\"; flows = [\"f\"];\n"
                        "    respond_with = \"upstream\";\n"
                        "} );\n",
               4, "trigger \"t\"", "needs mode = \"sync\"", NULL);
    load_fails(TWO_FLOWS "triggers = ( {\n"
                         "    id = \"t\"; flows = [\"f\", \"g\"]; mode = \"sync\";\n"
                         "    respond_with = \"upstream\";\n"
                         "} );\n",
               5, "trigger \"t\"", "needs exactly one flow, not 2", NULL);
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\"; flows = [\"f\"]; mode = \"sync\";\n"
                        "    respond_with = [\"upstream\"];\n"
                        "} );\n",
               4, "trigger \"t\"", "respond_with", NULL);
}
END_TEST

/* ---- secrets: @env and @file ---- */

START_TEST(env_reference_resolves)
{
    setenv("SLUICE_TEST_ADMIN", "admin-token-from-env-0001", 1);
    sluice_config *cfg = load_ok("server: { admin_token = \"@env:SLUICE_TEST_ADMIN\"; };\n");
    ck_assert_str_eq(cfg->server.admin_token, "admin-token-from-env-0001");
    config_unref(cfg);
}
END_TEST

START_TEST(env_reference_missing)
{
    unsetenv("SLUICE_TEST_NOT_SET");
    load_fails("server: {\n"
               "    workers = 2;\n"
               "    admin_token = \"@env:SLUICE_TEST_NOT_SET\";\n"
               "};\n",
               3, "admin_token", "SLUICE_TEST_NOT_SET", "is not set", NULL);
}
END_TEST

START_TEST(env_reference_missing_in_flow_config)
{
    unsetenv("SLUICE_TEST_NOT_SET");
    load_fails("flows = ( {\n"
               "    id = \"f\";\n"
               "    executor = \"good\";\n"
               "    config = {\n"
               "        token = \"@env:SLUICE_TEST_NOT_SET\";\n"
               "    };\n"
               "} );\n",
               5, "flow \"f\"", "token", "SLUICE_TEST_NOT_SET", "is not set", NULL);
}
END_TEST

START_TEST(file_reference_relative_and_trimmed)
{
    write_file("secrets/admin", "file-token-0123456789\n");
    write_file("secrets/crlf", "crlf-token\r\n");
    write_file("secrets/inner", "line one\nline two\n\n");
    char text[2048];
    snprintf(text, sizeof(text),
             "server: { admin_token = \"@file:secrets/admin\"; };\n"
             "flows = ( { id = \"f\"; executor = \"good\";\n"
             "    config = { a = \"@file:%s/secrets/crlf\"; b = \"@file:secrets/inner\"; }; } );\n",
             tmpdir);
    sluice_config *cfg = load_ok(text);
    ck_assert_str_eq(cfg->server.admin_token, "file-token-0123456789");
    json_t *j = json_loads(cfg->flows[0].cfg_json, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "a")), "crlf-token");
    /* Only trailing newlines go; inner ones are part of the secret. */
    ck_assert_str_eq(json_string_value(json_object_get(j, "b")), "line one\nline two");
    json_decref(j);
    config_unref(cfg);
}
END_TEST

START_TEST(file_reference_unreadable)
{
    char want[1024];
    snprintf(want, sizeof(want), "%s/secrets/missing", tmpdir);
    load_fails("server: {\n"
               "    admin_token = \"@file:secrets/missing\";\n"
               "};\n",
               2, "admin_token", "cannot read", want, NULL);
}
END_TEST

/* A directory opens fine but cannot be read: that is not "too large". */
START_TEST(file_reference_is_directory)
{
    write_file("secrets/x", "x\n");
    load_fails("server: {\n"
               "    admin_token = \"@file:secrets\";\n"
               "};\n",
               2, "cannot read", NULL);
}
END_TEST

/* ---- flows.include ---- */

/* The checked-in fixture: a flow in one file, its trigger in another. */
START_TEST(include_fixture_tree)
{
    sluice_config *cfg = load_path_ok(CONF_DIR "/include/sluice.conf");
    ck_assert_uint_eq(cfg->server.max_body, 2 * 1024 * 1024);
    ck_assert_uint_eq(cfg->n_flows, 1);
    ck_assert_uint_eq(cfg->n_triggers, 1);
    const flow_def *f = &cfg->flows[0];
    ck_assert_str_eq(f->key, "ci/build");
    ck_assert_uint_eq(f->timeout_ms, 90000);
    ck_assert_str_eq(f->where, CONF_DIR "/include/flows.d/10-flows.conf:3");
    /* @file in an included file is relative to the main file's directory. */
    ck_assert_str_eq(f->cfg_json, "{\"token\":\"fixture-token\"}");
    const trigger_def *t = &cfg->triggers[0];
    ck_assert_str_eq(t->id, "push");
    ck_assert_str_eq(t->where, CONF_DIR "/include/flows.d/20-triggers.conf:3");
    ck_assert_ptr_eq(t->flows[0], f);
    ck_assert_uint_eq(t->max_body, 2 * 1024 * 1024);
    route_match m;
    ck_assert_int_eq(router_match(cfg->router, "/hooks/sluice/push", &m), 1);
    ck_assert_ptr_eq(m.target, t);
    route_match_clear(&m);
    config_unref(cfg);
}
END_TEST

START_TEST(include_glob_in_tmpdir)
{
    write_file("flows.d/a.conf", "flows = (\n"
                                 "    { id = \"a\"; executor = \"good\"; }\n"
                                 ");\n");
    write_file("flows.d/b.conf", "triggers = (\n"
                                 "    { id = \"tb\"; flows = [\"a\"]; path = \"/b/{x}\"; }\n"
                                 ");\n");
    write_file("flows.d/c.txt", "this { is not libconfig\n");
    sluice_config *cfg = load_ok("flows: { include = \"flows.d/*.conf\"; };\n"
                                 "triggers = ( { id = \"tm\"; flows = [\"a\"]; } );\n");
    ck_assert_uint_eq(cfg->n_flows, 1);
    ck_assert_uint_eq(cfg->n_triggers, 2);
    where_is(config_find_flow(cfg, "a")->where, "flows.d/a.conf", 2);
    where_is(config_find_trigger(cfg, "tb")->where, "flows.d/b.conf", 2);
    ck_assert_ptr_eq(config_find_trigger(cfg, "tm")->flows[0], config_find_flow(cfg, "a"));
    config_unref(cfg);
}
END_TEST

START_TEST(include_matching_nothing_is_legal)
{
    sluice_config *cfg = load_ok("flows: { include = \"flows.d/*.conf\"; };\n");
    ck_assert_uint_eq(cfg->n_flows, 0);
    ck_assert_uint_eq(cfg->n_triggers, 0);
    config_unref(cfg);
}
END_TEST

START_TEST(include_file_with_server_setting)
{
    write_file("flows.d/a.conf", "flows = ( { id = \"a\"; executor = \"good\"; } );\n"
                                 "server = { workers = 2; };\n");
    write_file("sluice.conf", "flows: { include = \"flows.d/*.conf\"; };\n");
    load_fails_in("flows.d/a.conf", 2, "unknown setting \"server\"", NULL);
}
END_TEST

START_TEST(include_unknown_setting)
{
    load_fails("flows: {\n"
               "    include = \"flows.d/*.conf\";\n"
               "    includes = \"more/*.conf\";\n"
               "};\n",
               3, "unknown setting \"includes\"", NULL);
}
END_TEST

/* ---- syntax ---- */

START_TEST(syntax_error_names_file_and_line)
{
    load_fails("flows = (\n"
               "    { id = \"f\"; executor = \"good\"; },\n"
               "    { id = \"g\"; executor = ; }\n"
               ");\n",
               3, "syntax error", NULL);
}
END_TEST

START_TEST(syntax_error_in_included_file)
{
    write_file("flows.d/ok.conf", "flows = ( { id = \"a\"; executor = \"good\"; } );\n");
    write_file("flows.d/zz-bad.conf", "# comment\n"
                                      "\n"
                                      "triggers = ( { id = \"t\" flows = [\"a\"] } }\n");
    write_file("sluice.conf", "flows: { include = \"flows.d/*.conf\"; };\n");
    load_fails_in("flows.d/zz-bad.conf", 3, "syntax error", NULL);
}
END_TEST

START_TEST(missing_main_file)
{
    char err[1024] = "";
    sluice_config *cfg = (sluice_config *)1;
    char path[1024];
    snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
    ck_assert_int_eq(config_load(&cfg, path, err, sizeof(err)), -1);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err, path) && strstr(err, "cannot read"), "error: %s", err);
}
END_TEST

/* ---- unknown settings: a typo must never be ignored ---- */

START_TEST(unknown_top_level_setting)
{
    load_fails("# comment\n"
               "servr: { workers = 2; };\n",
               2, "unknown setting \"servr\"", "server", NULL);
}
END_TEST

START_TEST(unknown_server_setting)
{
    load_fails("server: {\n"
               "    workers = 2;\n"
               "    listn = [\"127.0.0.1:1\"];\n"
               "};\n",
               3, "server", "unknown setting \"listn\"", NULL);
}
END_TEST

START_TEST(unknown_flow_setting)
{
    load_fails("flows = (\n"
               "    {\n"
               "        id = \"f\";\n"
               "        executer = \"good\";\n"
               "    }\n"
               ");\n",
               4, "flow", "unknown setting \"executer\"", "executor", NULL);
}
END_TEST

START_TEST(unknown_trigger_setting)
{
    load_fails(ONE_FLOW "triggers = (\n"
                        "    {\n"
                        "        id = \"t\";\n"
                        "        flows = [\"f\"];\n"
                        "        method = [\"GET\"];\n"
                        "    }\n"
                        ");\n",
               6, "trigger", "unknown setting \"method\"", NULL);
}
END_TEST

START_TEST(unknown_plugins_setting)
{
    load_fails("plugins: {\n"
               "    paths = [\"/x\"];\n"
               "};\n",
               2, "plugins", "unknown setting \"paths\"", NULL);
}
END_TEST

/* ---- values ---- */

START_TEST(bad_duration)
{
    load_fails("flows = ( {\n"
               "    id = \"f\";\n"
               "    executor = \"good\";\n"
               "    timeout = \"5 minutes\";\n"
               "} );\n",
               4, "flow \"f\"", "timeout", "bad duration", NULL);
    load_fails("server: {\n"
               "    sync_timeout = \"soon\";\n"
               "};\n",
               2, "server.sync_timeout", "bad duration", NULL);
}
END_TEST

START_TEST(connection_limits_and_deadlines)
{
    sluice_config *cfg =
        load_ok("server: { max_connections = 100; max_connections_per_address = 0;\n"
                "          head_timeout = \"5s\"; body_timeout = \"2m\"; };\n");
    ck_assert_int_eq(cfg->server.max_connections, 100);
    ck_assert_int_eq(cfg->server.max_connections_per_address, 0);
    ck_assert_uint_eq(cfg->server.head_timeout_ms, 5000);
    ck_assert_uint_eq(cfg->server.body_timeout_ms, 120000);
    config_unref(cfg);
    load_fails("server: {\n"
               "    max_connections = 10;\n"
               "    max_connections_per_address = 20;\n"
               "};\n",
               3, "server.max_connections_per_address", "more than", NULL);
    load_fails("server: {\n"
               "    head_timeout = \"100ms\";\n"
               "};\n",
               2, "server.head_timeout", "from 1s", NULL);
    load_fails("server: {\n"
               "    body_timeout = \"0\";\n"
               "};\n",
               2, "server.body_timeout", "from 1s", NULL);
    load_fails("server: {\n"
               "    max_connections = 0;\n"
               "};\n",
               2, "server.max_connections", NULL);
}
END_TEST

START_TEST(bad_size)
{
    load_fails("server: {\n"
               "    max_body = \"1X\";\n"
               "};\n",
               2, "server.max_body", "bad size", NULL);
    load_fails("server: {\n"
               "    max_body = -5;\n"
               "};\n",
               2, "server.max_body", "negative", NULL);
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\"; flows = [\"f\"];\n"
                        "    max_body = \"lots\";\n"
                        "} );\n",
               4, "trigger \"t\"", "max_body", "bad size", NULL);
}
END_TEST

START_TEST(integer_sizes_are_bytes)
{
    sluice_config *cfg = load_ok("server: { max_body = 65536; };\n");
    ck_assert_uint_eq(cfg->server.max_body, 65536);
    config_unref(cfg);
}
END_TEST

START_TEST(out_of_range_and_wrong_types)
{
    load_fails("server: {\n"
               "    workers = 0;\n"
               "};\n",
               2, "server.workers", "out of range", NULL);
    load_fails("server: {\n"
               "    http_threads = \"2\";\n"
               "};\n",
               2, "server.http_threads", "must be an integer", NULL);
    load_fails("server: {\n"
               "    admin_token = \"short\";\n"
               "};\n",
               2, "server.admin_token", "16", NULL);
    load_fails("server: {\n"
               "    log_level = \"loud\";\n"
               "};\n",
               2, "server.log_level", NULL);
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\"; flows = [\"f\"];\n"
                        "    success_code = 302;\n"
                        "} );\n",
               4, "trigger \"t\"", "success_code", "out of range", NULL);
}
END_TEST

START_TEST(missing_required_settings)
{
    load_fails("flows = (\n"
               "    { id = \"f\"; }\n"
               ");\n",
               2, "flow \"f\"", "missing setting \"executor\"", NULL);
    load_fails("flows = (\n"
               "    { executor = \"good\"; }\n"
               ");\n",
               2, "missing setting \"id\"", NULL);
    load_fails(ONE_FLOW "triggers = (\n"
                        "    { id = \"t\"; }\n"
                        ");\n",
               3, "trigger \"t\"", "missing setting \"flows\"", NULL);
}
END_TEST

START_TEST(bad_ids)
{
    load_fails("flows = (\n"
               "    { id = \"has space\"; executor = \"good\"; }\n"
               ");\n",
               2, "flow.id", "has space", NULL);
    load_fails("flows = (\n"
               "    { id = \"f\"; namespace = \"a/b\"; executor = \"good\"; }\n"
               ");\n",
               2, "namespace", "a/b", NULL);
    load_fails(ONE_FLOW "triggers = (\n"
                        "    { id = \"\"; flows = [\"f\"]; }\n"
                        ");\n",
               3, "trigger.id", NULL);
}
END_TEST

/* ---- cross references ---- */

START_TEST(trigger_names_unknown_flow)
{
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\";\n"
                        "    flows = [\"f\", \"nope\"];\n"
                        "} );\n",
               4, "trigger \"t\"", "flows", "unknown flow \"nope\"", NULL);
}
END_TEST

START_TEST(trigger_needs_namespaced_key)
{
    load_fails("flows = ( { id = \"f\"; namespace = \"prod\"; executor = \"good\"; } );\n"
               "triggers = ( {\n"
               "    id = \"t\";\n"
               "    flows = [\"f\"];\n"
               "} );\n",
               4, "unknown flow \"f\"", NULL);
}
END_TEST

START_TEST(trigger_lists_flow_twice)
{
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\";\n"
                        "    flows = [\"f\", \"f\"];\n"
                        "} );\n",
               4, "trigger \"t\"", "flows", "twice", NULL);
}
END_TEST

START_TEST(duplicate_flow_id)
{
    char first[1024];
    snprintf(first, sizeof(first), "%s/sluice.conf:2", tmpdir);
    load_fails("flows = (\n"
               "    { id = \"f\"; executor = \"good\"; },\n"
               "    { id = \"g\"; executor = \"good\"; },\n"
               "    { id = \"f\"; executor = \"good\"; }\n"
               ");\n",
               4, "flow \"f\"", "already defined", first, NULL);
}
END_TEST

START_TEST(duplicate_flow_across_files)
{
    write_file("flows.d/a.conf", "flows = ( { id = \"f\"; executor = \"good\"; } );\n");
    write_file("sluice.conf", "flows: { include = \"flows.d/*.conf\"; };\n");
    write_file("flows.d/b.conf", "\nflows = ( { id = \"f\"; executor = \"good\"; } );\n");
    char first[1024];
    snprintf(first, sizeof(first), "%s/flows.d/a.conf:1", tmpdir);
    load_fails_in("flows.d/b.conf", 2, "flow \"f\"", "already defined", first, NULL);
}
END_TEST

START_TEST(same_id_in_two_namespaces_is_fine)
{
    sluice_config *cfg = load_ok("flows = (\n"
                                 "    { id = \"f\"; namespace = \"a\"; executor = \"good\"; },\n"
                                 "    { id = \"f\"; namespace = \"b\"; executor = \"good\"; },\n"
                                 "    { id = \"f\"; executor = \"good\"; }\n"
                                 ");\n");
    ck_assert_uint_eq(cfg->n_flows, 3);
    ck_assert_str_eq(config_find_flow(cfg, "a/f")->ns, "a");
    ck_assert_str_eq(config_find_flow(cfg, "b/f")->ns, "b");
    ck_assert_ptr_null(config_find_flow(cfg, "f")->ns);
    config_unref(cfg);
}
END_TEST

START_TEST(duplicate_trigger_id)
{
    char first[1024];
    snprintf(first, sizeof(first), "%s/sluice.conf:3", tmpdir);
    load_fails(ONE_FLOW "triggers = (\n"
                        "    { id = \"t\"; flows = [\"f\"]; path = \"/a\"; },\n"
                        "    { id = \"t\"; flows = [\"f\"]; path = \"/b\"; }\n"
                        ");\n",
               4, "trigger \"t\"", "already defined", first, NULL);
}
END_TEST

START_TEST(duplicate_route)
{
    char first[1024];
    snprintf(first, sizeof(first), "%s/sluice.conf:3", tmpdir);
    /* The default path of "deploy" is the explicit path of "other". */
    load_fails(ONE_FLOW "triggers = (\n"
                        "    { id = \"deploy\"; flows = [\"f\"]; },\n"
                        "    { id = \"other\"; flows = [\"f\"]; path = \"/hooks/deploy\"; }\n"
                        ");\n",
               4, "trigger \"other\"", "duplicate route", "trigger \"deploy\"", first, NULL);
    /* Parameter names do not make two routes different. */
    load_fails(ONE_FLOW "triggers = (\n"
                        "    { id = \"a\"; flows = [\"f\"]; path = \"/x/{one}\"; },\n"
                        "    { id = \"b\"; flows = [\"f\"]; path = \"/x/{two}\"; }\n"
                        ");\n",
               4, "trigger \"b\"", "duplicate route", "trigger \"a\"", NULL);
}
END_TEST

START_TEST(bad_route_template)
{
    load_fails(ONE_FLOW "triggers = (\n"
                        "    { id = \"t\"; flows = [\"f\"]; path = \"hooks/t\"; }\n"
                        ");\n",
               3, "trigger \"t\"", "path", "must start with '/'", NULL);
    load_fails(ONE_FLOW "triggers = (\n"
                        "    { id = \"t\"; flows = [\"f\"]; path = \"/hooks/{}\"; }\n"
                        ");\n",
               3, "trigger \"t\"", "path", NULL);
}
END_TEST

/* ---- trigger values ---- */

START_TEST(bad_method)
{
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\";\n"
                        "    flows = [\"f\"];\n"
                        "    methods = [\"POST\", \"FETCH\"];\n"
                        "} );\n",
               5, "trigger \"t\"", "methods", "\"FETCH\"", NULL);
}
END_TEST

START_TEST(bad_mode)
{
    load_fails(ONE_FLOW "triggers = ( {\n"
                        "    id = \"t\";\n"
                        "    flows = [\"f\"];\n"
                        "    mode = \"later\";\n"
                        "} );\n",
               5, "trigger \"t\"", "mode", "\"sync\" or \"async\"", NULL);
}
END_TEST

START_TEST(trigger_max_body_above_server)
{
    load_fails("server: { max_body = \"1M\"; };\n" ONE_FLOW "triggers = ( {\n"
               "    id = \"t\";\n"
               "    flows = [\"f\"];\n"
               "    max_body = \"2M\";\n"
               "} );\n",
               6, "trigger \"t\"", "max_body", "server.max_body", NULL);
    sluice_config *cfg = load_ok("server: { max_body = \"1M\"; };\n" ONE_FLOW "triggers = (\n"
                                 "    { id = \"t\"; flows = [\"f\"]; max_body = \"1M\"; }\n"
                                 ");\n");
    ck_assert_uint_eq(cfg->triggers[0].max_body, 1024 * 1024);
    config_unref(cfg);
}
END_TEST

START_TEST(methods_helpers)
{
    ck_assert_uint_eq(config_method_bit("GET"), METHOD_GET);
    ck_assert_uint_eq(config_method_bit("DELETE"), METHOD_DELETE);
    ck_assert_uint_eq(config_method_bit("HEAD"), 0);
    ck_assert_uint_eq(config_method_bit("FETCH"), 0);
    char buf[128];
    config_methods_string(METHOD_POST, buf, sizeof(buf));
    ck_assert_str_eq(buf, "POST, OPTIONS");
    config_methods_string(METHOD_GET | METHOD_PUT, buf, sizeof(buf));
    ck_assert_str_eq(buf, "GET, PUT, HEAD, OPTIONS");
}
END_TEST

/* The sample configuration shipped in flows/ must always load. */
START_TEST(shipped_sample_loads)
{
    sluice_config *cfg = load_path_ok(TEST_SRCDIR "/flows/sluice.conf");
    ck_assert_ptr_nonnull(config_find_flow(cfg, "prod/deploy"));
    ck_assert_ptr_nonnull(config_find_flow(cfg, "hello"));
    ck_assert_ptr_nonnull(config_find_flow(cfg, "report"));
    const trigger_def *t = config_find_trigger(cfg, "report");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->path, "/hooks/report");
    ck_assert_uint_eq(t->methods, METHOD_GET | METHOD_POST);
    ck_assert_uint_eq(t->n_variables, 2);
    config_unref(cfg);
}
END_TEST

/* ---- generation_bind ---- */

static void use_fixture_plugins(void)
{
    const char *dirs[] = {TEST_PLUGIN_DIR, NULL};
    loader_set_extra_dirs(dirs);
}

START_TEST(bind_good_executor)
{
    use_fixture_plugins();
    sluice_config *cfg = load_ok("flows = (\n"
                                 "    { id = \"f\"; executor = \"good\"; config = { x = 1; }; }\n"
                                 ");\n");
    char err[1024] = "";
    generation *g = generation_bind(cfg, err, sizeof(err));
    ck_assert_msg(g != NULL, "generation_bind: %s", err);
    ck_assert_ptr_eq(generation_config(g), cfg);
    /* The generation keeps its configuration alive. */
    ck_assert_int_eq(atomic_load(&cfg->refs), 2);
    flow_rt *rt = generation_flow(g, &cfg->flows[0]);
    ck_assert_ptr_nonnull(rt);
    ck_assert_ptr_eq(rt->def, &cfg->flows[0]);
    ck_assert_ptr_nonnull(rt->plugin);
    ck_assert_str_eq(rt->plugin->name, "good");
    ck_assert_ptr_nonnull(rt->instance);
    ck_assert_int_eq(atomic_load(&rt->running), 0);
    ck_assert_int_eq(atomic_load(&rt->queued), 0);
    ck_assert_ptr_eq(generation_ref(g), g);
    generation_unref(g);
    generation_unref(g);
    ck_assert_int_eq(atomic_load(&cfg->refs), 1);
    config_unref(cfg);
}
END_TEST

START_TEST(bind_unknown_executor)
{
    use_fixture_plugins();
    sluice_config *cfg = load_ok("\n"
                                 "flows = (\n"
                                 "    { id = \"f\"; executor = \"nope\"; }\n"
                                 ");\n");
    char err[2048] = "", prefix[1024];
    ck_assert_ptr_null(generation_bind(cfg, err, sizeof(err)));
    snprintf(prefix, sizeof(prefix), "%s/sluice.conf:3: ", tmpdir);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error \"%s\" lacks %s", err, prefix);
    ck_assert_msg(strstr(err, "unknown executor") && strstr(err, "nope"), "error: %s", err);
    ck_assert_int_eq(atomic_load(&cfg->refs), 1);
    config_unref(cfg);
}
END_TEST

START_TEST(bind_config_refused)
{
    use_fixture_plugins();
    sluice_config *cfg = load_ok("flows = (\n"
                                 "    { id = \"f\"; executor = \"good\"; },\n"
                                 "    { id = \"g\"; executor = \"good\";\n"
                                 "      config = { fail = true; }; }\n"
                                 ");\n");
    char err[2048] = "", prefix[1024];
    ck_assert_ptr_null(generation_bind(cfg, err, sizeof(err)));
    snprintf(prefix, sizeof(prefix), "%s/sluice.conf:3: ", tmpdir);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error \"%s\" lacks %s", err, prefix);
    ck_assert_msg(strstr(err, "flow \"g\"") && strstr(err, "fixture refuses this config"),
                  "error: %s", err);
    /* Nothing is kept: the flow bound before the failure is undone with
     * the generation, which lets go of the configuration. */
    ck_assert_int_eq(atomic_load(&cfg->refs), 1);
    config_unref(cfg);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");

    TCase *tc = tcase_create("model");
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, minimal_file_gets_defaults);
    tcase_add_test(tc, every_setting_reaches_the_model);
    tcase_add_test(tc, many_flows_and_triggers);
    tcase_add_test(tc, flow_config_becomes_json);
    tcase_add_test(tc, flow_config_must_be_a_group);
    tcase_add_test(tc, flow_execution_settings);
    tcase_add_test(tc, flow_execution_settings_errors);
    tcase_add_test(tc, store_settings);
    tcase_add_test(tc, trigger_idempotency);
    tcase_add_test(tc, trigger_respond_with);
    tcase_add_test(tc, integer_sizes_are_bytes);
    tcase_add_test(tc, same_id_in_two_namespaces_is_fine);
    tcase_add_test(tc, methods_helpers);
    tcase_add_test(tc, shipped_sample_loads);
    suite_add_tcase(s, tc);

    tc = tcase_create("secrets");
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, env_reference_resolves);
    tcase_add_test(tc, env_reference_missing);
    tcase_add_test(tc, env_reference_missing_in_flow_config);
    tcase_add_test(tc, file_reference_relative_and_trimmed);
    tcase_add_test(tc, file_reference_unreadable);
    tcase_add_test(tc, file_reference_is_directory);
    suite_add_tcase(s, tc);

    tc = tcase_create("include");
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, include_fixture_tree);
    tcase_add_test(tc, include_glob_in_tmpdir);
    tcase_add_test(tc, include_matching_nothing_is_legal);
    tcase_add_test(tc, include_file_with_server_setting);
    tcase_add_test(tc, include_unknown_setting);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, syntax_error_names_file_and_line);
    tcase_add_test(tc, syntax_error_in_included_file);
    tcase_add_test(tc, missing_main_file);
    tcase_add_test(tc, unknown_top_level_setting);
    tcase_add_test(tc, unknown_server_setting);
    tcase_add_test(tc, unknown_flow_setting);
    tcase_add_test(tc, unknown_trigger_setting);
    tcase_add_test(tc, unknown_plugins_setting);
    tcase_add_test(tc, bad_duration);
    tcase_add_test(tc, connection_limits_and_deadlines);
    tcase_add_test(tc, bad_size);
    tcase_add_test(tc, out_of_range_and_wrong_types);
    tcase_add_test(tc, missing_required_settings);
    tcase_add_test(tc, bad_ids);
    tcase_add_test(tc, bad_method);
    tcase_add_test(tc, bad_mode);
    tcase_add_test(tc, trigger_max_body_above_server);
    suite_add_tcase(s, tc);

    tc = tcase_create("references");
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, trigger_names_unknown_flow);
    tcase_add_test(tc, trigger_needs_namespaced_key);
    tcase_add_test(tc, trigger_lists_flow_twice);
    tcase_add_test(tc, duplicate_flow_id);
    tcase_add_test(tc, duplicate_flow_across_files);
    tcase_add_test(tc, duplicate_trigger_id);
    tcase_add_test(tc, duplicate_route);
    tcase_add_test(tc, bad_route_template);
    suite_add_tcase(s, tc);

    tc = tcase_create("bind");
    tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bind_good_executor);
    tcase_add_test(tc, bind_unknown_executor);
    tcase_add_test(tc, bind_config_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    sluice_host host;
    host_fill(&host);
    loader_set_host(&host);
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
