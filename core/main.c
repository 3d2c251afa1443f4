/*
 * main.c - sluiced: options, start-up, signals, reload, shutdown.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwaitinfo(), so reload and shutdown run as ordinary code on
 * one thread, never inside a signal handler.
 */
#include "autoconfig.h"
#include "api.h"
#include "apiauth.h"
#include "config.h"
#include "engine.h"
#include "follow.h"
#include "generation.h"
#include "gitsync.h"
#include "host.h"
#include "http.h"
#include "intake.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "pidlock.h"
#include "store.h"
#include "units.h"
#include "xalloc.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/sluice/sluice.conf"
#ifndef MODULEDIR
#define MODULEDIR "/usr/local/lib/sluice/modules"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define RETENTION_TICK_MS 5000
/* How long shutdown waits for log streams to send their last line. */
#define FOLLOW_SHUTDOWN_MS 2000

static void usage(FILE *out)
{
    fprintf(out, "Usage: sluiced [OPTION]...\n"
                 "Receive webhooks and run flows: sluiced matches each HTTP request to a trigger,\n"
                 "turns it into a JSON event and hands it to the executor plugin of each flow\n"
                 "the trigger starts.\n"
                 "\n"
                 "Options:\n"
                 "  -c, --config FILE      configuration file (default " DEFAULT_CONFIG ")\n"
                 "  -t, --check-config     validate the configuration, load its plugins, print\n"
                 "                         any error as FILE:LINE: SETTING: MESSAGE, and exit\n"
                 "                         0 when it is valid, 1 when it is not\n"
                 "  -l, --listen ADDR:PORT listen here instead of server.listen (repeatable;\n"
                 "                         [::1]:8080 for IPv6)\n"
                 "  -P, --plugin-dir DIR   search DIR for executor plugins before the configured\n"
                 "                         plugins.path (repeatable)\n"
                 "  -d, --state-dir DIR    keep state here: the store (DIR/sluice.db unless\n"
                 "                         store.path is set), capability tokens, plugin caches\n"
                 "                         (instead of server.state_dir; default\n"
                 "                         " LOCALSTATEDIR "/lib/sluice)\n"
                 "  -s, --store FILE       the SQLite execution store (instead of store.path)\n"
                 "  -v, --verbose          log at debug level\n"
                 "  -q, --quiet            log warnings and errors only\n"
                 "  -V, --version          print the version and the plugin ABI, and exit\n"
                 "  -h, --help             print this help and exit\n"
                 "\n"
                 "Environment:\n"
                 "  SLUICE_PLUGIN_PATH     colon-separated plugin directories, searched after\n"
                 "                         --plugin-dir and before plugins.path\n"
                 "  SLUICE_STATE_DIR       the state directory, when --state-dir is not given\n"
                 "  SLUICE_MODULE_PATH     colon-separated directories searched before\n"
                 "                         " MODULEDIR " for sluiced's own modules\n"
                 "                         (gitsync.so, loaded for flows.git)\n"
                 "\n"
                 "Signals:\n"
                 "  SIGTERM, SIGINT        stop accepting requests, let running executions finish\n"
                 "                         (up to server.shutdown_timeout), exit 0\n"
                 "  SIGHUP                 reload the configuration; an invalid one is rejected\n"
                 "                         and the running one keeps serving\n"
                 "\n"
                 "Logs go to standard error, one line per event.\n"
                 "Documentation: README.md; the plugin ABI: <sluice/plugin.h>.\n");
}

static char **split_path_env(const char *s, char **extra, size_t n_extra)
{
    size_t n = n_extra;
    for (const char *p = s; p && *p; p++)
        if (*p == ':')
            n++;
    char **v = xcalloc(n + 3, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n_extra; i++)
        v[k++] = extra[i];
    if (s && *s) {
        char *copy = xstrdup(s), *save = NULL;
        for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
            v[k++] = xstrdup(tok);
        free(copy);
    }
    v[k] = NULL;
    return v;
}

static const char *store_override;
static const char *state_dir_override;

/*
 * One sluiced per state directory, and per store when the store lives
 * elsewhere (pidlock.h): held from before the first plugin is loaded or
 * the store opened until the process ends. The descriptors stay open.
 */
static int take_locks(const sluice_config *cfg)
{
    char path[4200], what[4200], err[9000];
    snprintf(path, sizeof(path), "%s/sluiced.lock", cfg->server.state_dir);
    snprintf(what, sizeof(what), "state directory %s", cfg->server.state_dir);
    if (pidlock_take(path, what, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    char inside[4200];
    snprintf(inside, sizeof(inside), "%s/sluice.db", cfg->server.state_dir);
    if (strcmp(cfg->store_path, inside) == 0)
        return 0;
    snprintf(path, sizeof(path), "%s.lock", cfg->store_path);
    snprintf(what, sizeof(what), "store %s", cfg->store_path);
    if (pidlock_take(path, what, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

/*
 * flows.git is fetched before the configuration is parsed, so parsing
 * stays pure: the settings come from a pre-pass over the file, and a
 * failed fetch names the file:line of flows.git. The state directory is
 * the one the store uses: the override, else server.state_dir.
 */
static int fetch_flows_git(const char *path, config_git_source *src, char *err, size_t errlen)
{
    if (config_git_peek(path, src, err, errlen) < 0)
        return -1;
    if (!src->conf)
        return 0;
    char dir[4096], gerr[1024];
    const char *state = state_dir_override ? state_dir_override : src->state_dir;
    if (gitsync_prepare(src->conf, state, dir, sizeof(dir), src->sha, gerr, sizeof(gerr)) < 0) {
        snprintf(err, errlen, "%s: flows.git: %s", src->where, gerr);
        return -1;
    }
    src->dir = xstrdup(dir);
    return 0;
}

/* lock: take the locks (the first load of a daemon, not --check-config). */
static generation *load_and_bind(const char *path, char **listen_override, int lock, char *err,
                                 size_t errlen)
{
    sluice_config *cfg;
    config_git_source git;
    int rc = fetch_flows_git(path, &git, err, errlen);
    if (rc == 0)
        rc = config_load_git(&cfg, path, &git, err, errlen);
    config_git_source_free(&git);
    if (rc < 0) {
        log_error("config: %s", err);
        gitsync_rejected(err);
        return NULL;
    }
    if (listen_override && listen_override[0]) {
        for (char **l = cfg->server.listen; *l; l++)
            free(*l);
        free(cfg->server.listen);
        size_t n = 0;
        while (listen_override[n])
            n++;
        cfg->server.listen = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            cfg->server.listen[i] = xstrdup(listen_override[i]);
    }
    config_apply_state_dir(cfg, state_dir_override);
    if (store_override) {
        free(cfg->store_path);
        cfg->store_path = xstrdup(store_override);
        cfg->store_explicit = 1;
    }
    if (lock && take_locks(cfg) < 0) {
        config_unref(cfg);
        return NULL;
    }
    /* Plugins keep their caches under the same directory. The environment
     * is written once, before any other thread runs: setenv during a
     * reload would race getenv on the workers (libcurl reads its proxy
     * variables on every transfer). */
    static int state_env_set;
    if (!state_env_set) {
        setenv("SLUICE_STATE_DIR", cfg->server.state_dir, 1);
        state_env_set = 1;
    } else if (strcmp(getenv("SLUICE_STATE_DIR"), cfg->server.state_dir) != 0) {
        log_warn("reload: server.state_dir changed; plugins use the new one when sluiced "
                 "restarts");
    }
    generation *gen = generation_bind(cfg, err, errlen);
    config_unref(cfg); /* gen holds it */
    if (!gen) {
        log_error("config: %s", err);
        gitsync_rejected(err);
        return NULL;
    }
    apiauth_warn_config(cfg);
    return gen;
}

/*
 * Settings read once, when the threads, the queue and the store are set up:
 * a reload that changes them would otherwise look applied and not be. Their
 * names go into changed (NULL-terminated, room for 9).
 */
static void warn_start_only(const sluice_config *cur, const sluice_config *cfg,
                            const char **changed)
{
    size_t k = 0;
    const server_conf *o = &cur->server, *n = &cfg->server;
    const struct {
        int changed;
        const char *name;
    } set[] = {
        {o->http_threads != n->http_threads, "server.http_threads"},
        {o->workers != n->workers, "server.workers"},
        {o->worker_nice != n->worker_nice, "server.worker_nice"},
        {o->max_queue != n->max_queue, "server.max_queue"},
        {o->max_queue_memory != n->max_queue_memory, "server.max_queue_memory"},
        {strcmp(cur->store_path ? cur->store_path : "", cfg->store_path ? cfg->store_path : "") !=
             0,
         "store.path"},
        {cur->retention_ms != cfg->retention_ms, "store.retention"},
    };
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
        if (set[i].changed) {
            log_warn("reload: %s changed; it takes effect when sluiced restarts", set[i].name);
            changed[k++] = set[i].name;
        }
    changed[k] = NULL;
}

/* Requests of POST /api/v1/reload parked before it began get its outcome. */
static void reload(const char *path, char **listen_override)
{
    api_park *asked = api_reload_begin();
    log_info("reload: reading %s", path);
    char err[2048];
    generation *cur_gen = http_get_generation();
    generation *gen = load_and_bind(path, listen_override, 0, err, sizeof(err));
    if (!gen) {
        log_error("reload: the new configuration is invalid; still serving the old one");
        generation_unref(cur_gen);
        api_reload_end(asked, NULL, err, NULL);
        return;
    }
    const sluice_config *cur = generation_config(cur_gen), *cfg = generation_config(gen);
    const char *changed[10] = {NULL}; /* [0]: server.listen, then warn_start_only's */
    int same_listen = 1;
    char **a = cur->server.listen, **b = cfg->server.listen;
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b) != 0)
            same_listen = 0;
    warn_start_only(cur, cfg, changed + 1);
    if (*a || *b || !same_listen) {
        log_warn("reload: server.listen changed; restart sluiced to listen elsewhere");
        changed[0] = "server.listen";
    }
    if (cfg->server.log_level)
        log_set_level(log_parse_level(cfg->server.log_level));
    http_set_generation(gen);
    gitsync_serving(cfg);
    log_info("reload: now serving %zu flows and %zu triggers", cfg->n_flows, cfg->n_triggers);
    api_reload_end(asked, cfg, NULL, changed[0] ? changed : changed + 1);
    generation_unref(gen);
    generation_unref(cur_gen);
}

struct recovery {
    generation *gen;
    size_t counts[4]; /* resumed, retried, failed, unknown */
};

/* Record how a recovered execution ends here: a running one had started,
 * so whatever else is wrong, whether it finished is not known. */
static void recover_final(struct recovery *rec, const store_row *r, int running, const char *why)
{
    if (running) {
        char msg[400];
        snprintf(msg, sizeof(msg), "%s%s%s", EXEC_UNKNOWN_ERROR, why ? "; " : "", why ? why : "");
        store_fail_stale(r->id, EXEC_UNKNOWN, msg);
        metrics_count_finished(NULL, EXEC_UNKNOWN, 0);
        rec->counts[3]++;
    } else {
        store_fail_stale(r->id, EXEC_FAILED, why);
        metrics_count_finished(NULL, EXEC_FAILED, 0); /* never ran: no run time */
        rec->counts[2]++;
    }
}

/*
 * Work an earlier process accepted and did not finish: queued executions
 * run now; running ones were interrupted mid-way, so they are retried when
 * their flow allows it, never silently run twice. Otherwise they end
 * "unknown", not failed: the command may have finished, its result not yet
 * committed, and a failure invites a retry that would run it twice.
 */
static void recover_one(void *arg, store_row *r)
{
    struct recovery *rec = arg;
    sluice_config *cfg = generation_config(rec->gen);
    trigger_def *t = config_find_trigger(cfg, r->trigger);
    flow_def *f = config_find_flow(cfg, r->flow);
    int running = strcmp(r->state, "running") == 0;
    if (!t || !f) {
        log_warn("recovery: exec=%s: trigger %s or flow %s is no longer configured; %s", r->id,
                 r->trigger, r->flow, running ? "outcome unknown" : "failed");
        recover_final(rec, r, running, "its trigger or flow is no longer configured");
        return;
    }
    if (running && r->attempt > f->retry_max) {
        log_warn("recovery: exec=%s flow=%s was running when sluiced stopped; outcome "
                 "unknown (the flow allows no retry)",
                 r->id, r->flow);
        recover_final(rec, r, running, NULL);
        return;
    }
    char err[300];
    sluice_exec *e = exec_from_store(rec->gen, t, generation_flow(rec->gen, f), r->id,
                                     r->request_id, r->event, r->event_len, r->raw, r->body,
                                     r->function, r->headers, r->received_ms, err, sizeof(err));
    r->event = NULL; /* taken over */
    if (!e) {
        log_warn("recovery: exec=%s flow=%s: %s; %s", r->id, r->flow, err,
                 running ? "outcome unknown" : "failed");
        recover_final(rec, r, running, err);
        return;
    }
    exec_set_recovered(e, r->replay_of, r->replaces, running ? r->attempt + 1 : r->attempt);
    if (running) {
        /* The attempt cut short stays on record beside the retry. */
        exec_attempt cut = {.attempt = r->attempt,
                            .state = EXEC_UNKNOWN,
                            .error = EXEC_UNKNOWN_ERROR,
                            .started_ms = r->started_ms};
        exec_add_attempt(e, &cut);
        store_requeue(e, r->attempt);
    }
    intake_recover(e);
    exec_unref(e);
    rec->counts[running ? 1 : 0]++;
}

/*
 * Give memory back once the work stops. glibc keeps what a burst freed:
 * after 9,000 async executions of the bench, 28 MB stayed with the
 * allocator against 2.6 MB in use (VmRSS 34.5 MiB once drained; 11.3 MiB
 * after malloc_trim, the rest mostly SQLite's page caches). The freed
 * chunks sit in the worker threads' arenas between live ones, where
 * glibc's own trimming (top of heap only) never reaches. Fewer arenas
 * (M_ARENA_MAX=2) kept as much. So when a whole tick saw no execution
 * accepted and none is queued or running, malloc_trim once: it walks the
 * arenas under their locks for a few milliseconds, which only ever
 * happens when there is nothing to slow down. The first tick runs as
 * sluiced starts, so what building the configuration freed (24 KiB of
 * the bench configuration's heap) goes back too.
 */
static void release_when_idle(void)
{
    static unsigned long long seen;
    static int trimmed;
    unsigned long long n = metrics_accepted_total();
    int busy = n != seen || engine_queued() > 0 || engine_running() > 0;
    seen = n;
    if (busy) {
        trimmed = 0;
    } else if (!trimmed) {
        uint64_t t0 = units_mono_ms();
        store_release_memory();
        malloc_trim(0);
        trimmed = 1;
        log_debug("idle: returned free memory to the system in %llu ms",
                  (unsigned long long)(units_mono_ms() - t0));
    }
}

static uint64_t retention_ms;

/* Every RETENTION_TICK_MS on the engine's timer thread. */
static void retention_tick(void *arg)
{
    (void)arg;
    if (retention_ms)
        store_purge(units_now_ms() - retention_ms);
    release_when_idle();
    engine_timer_add(units_mono_ms() + RETENTION_TICK_MS, retention_tick, NULL, NULL);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check-config", no_argument, NULL, 't'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"plugin-dir", required_argument, NULL, 'P'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"store", required_argument, NULL, 's'},
                                         {"state-dir", required_argument, NULL, 'd'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = DEFAULT_CONFIG;
    int check_only = 0;
    char *listen[17] = {0};
    size_t n_listen = 0;
    char *plugin_dirs[64];
    size_t n_plugin_dirs = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:tl:P:s:d:vqVh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case 't':
            check_only = 1;
            break;
        case 'l':
            if (n_listen == 16) {
                fprintf(stderr, "sluiced: at most 16 --listen addresses\n");
                return 2;
            }
            listen[n_listen++] = optarg;
            break;
        case 'P':
            if (n_plugin_dirs == 32) {
                fprintf(stderr, "sluiced: at most 32 --plugin-dir options\n");
                return 2;
            }
            plugin_dirs[n_plugin_dirs++] = xstrdup(optarg);
            break;
        case 's':
            store_override = optarg;
            break;
        case 'd':
            state_dir_override = optarg;
            break;
        case 'v':
            log_set_level(LOG_DEBUG);
            break;
        case 'q':
            log_set_level(LOG_WARN);
            break;
        case 'V':
            printf("sluiced %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, SLUICE_ABI_MAJOR,
                   SLUICE_ABI_MINOR);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'sluiced --help' for more information.\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sluiced: unexpected argument \"%s\"\n", argv[optind]);
        fprintf(stderr, "Try 'sluiced --help' for more information.\n");
        return 2;
    }

    if (!state_dir_override && getenv("SLUICE_STATE_DIR") && *getenv("SLUICE_STATE_DIR"))
        state_dir_override = xstrdup(getenv("SLUICE_STATE_DIR"));
    char **dirs = split_path_env(getenv("SLUICE_PLUGIN_PATH"), plugin_dirs, n_plugin_dirs);
    loader_set_extra_dirs((const char *const *)dirs);
    sluice_host host;
    host_fill(&host);
    loader_set_host(&host);
    for (char **d = dirs; *d; d++)
        free(*d);
    free(dirs);

    /* Block the signals we handle before any thread exists, so every thread
     * inherits the mask and only sigwaitinfo below sees them. SIGPIPE is
     * ignored: a client gone mid-answer is not a reason to die. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit must surface as a failed write (503), not a kill. */
    signal(SIGXFSZ, SIG_IGN);

    /* A check runs beside the daemon, or beside what a dead one left, and
     * takes no lock: plugins are told, and act on no state (the shell
     * executor's sweep of process groups waits for the daemon's start).
     * Set before any thread or plugin exists, and never inherited by a
     * daemon. */
    if (check_only)
        setenv("SLUICE_CHECK_CONFIG", "1", 1);
    else
        unsetenv("SLUICE_CHECK_CONFIG");

    char err[2048];
    generation *gen = load_and_bind(config_path, listen, !check_only, err, sizeof(err));
    const sluice_config *cfg = gen ? generation_config(gen) : NULL;
    if (check_only) {
        if (!gen) {
            fprintf(stderr, "sluiced: configuration %s is invalid\n", config_path);
            return 1;
        }
        printf("sluiced: configuration %s is valid: %zu flows, %zu triggers\n", config_path,
               cfg->n_flows, cfg->n_triggers);
        generation_unref(gen);
        loader_shutdown();
        gitsync_shutdown();
        return 0;
    }
    if (!gen)
        return 1;
    if (cfg->server.log_level)
        log_set_level(log_parse_level(cfg->server.log_level));

    /* The engine keeps the live set the store reports to and reads. */
    static const store_hooks hooks = {.queued = engine_queued,
                                      .live_add = engine_adopt,
                                      .live_remove = engine_forget,
                                      .live_find = engine_find};
    if (store_open(cfg->store_path, &hooks, err, sizeof(err)) < 0) {
        log_error("%s", err);
        generation_unref(gen);
        loader_shutdown();
        return 1;
    }
    if (engine_start(cfg->server.workers, cfg->server.worker_nice, cfg->server.max_queue,
                     cfg->server.max_queue_memory) < 0) {
        log_error("cannot start the worker threads");
        return 1;
    }
    struct recovery rec = {.gen = gen};
    store_recover(recover_one, &rec);
    if (rec.counts[0] + rec.counts[1] + rec.counts[2] + rec.counts[3])
        log_info("recovery: %zu queued executions resumed, %zu interrupted ones retried, %zu "
                 "failed, %zu of unknown outcome",
                 rec.counts[0], rec.counts[1], rec.counts[2], rec.counts[3]);
    retention_ms = cfg->retention_ms;
    if (retention_ms)
        log_info("store: finished executions are kept for %llu s",
                 (unsigned long long)(retention_ms / 1000));
    retention_tick(NULL);
    if (http_start(gen, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return 1;
    }
    gitsync_serving(cfg);
    uint64_t shutdown_ms = cfg->server.shutdown_timeout_ms;
    log_info("sluiced %s ready: %zu flows, %zu triggers, %d workers, queue %zu", PACKAGE_VERSION,
             cfg->n_flows, cfg->n_triggers, cfg->server.workers, cfg->server.max_queue);
    generation_unref(gen); /* the HTTP front holds it now */

    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig == SIGHUP) {
            reload(config_path, listen);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("%s: draining (up to %llu ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     (unsigned long long)shutdown_ms);
            break;
        }
    }
    api_reload_shutdown();
    http_quiesce();
    size_t queued = engine_drain(shutdown_ms);
    if (queued)
        log_info("shutdown: %zu queued executions stay queued for the next start", queued);
    store_flush();
    http_release_waits();
    follow_shutdown(FOLLOW_SHUTDOWN_MS);
    http_stop();
    engine_stop();
    store_close();
    engine_forget_all();
    gitsync_shutdown();
    loader_shutdown();
    log_info("sluiced stopped");
    return 0;
}
