/*
 * gitsync.c - flow definitions kept in a git repository (flows.git).
 *
 * One process-wide record (gs) holds what the admin API reports and what
 * the poller compares against: the commit serving, the commit being built
 * (pending), the last commit rejected with its error, and the result of
 * the last fetch. The main thread builds configurations and reports their
 * fate; the poller thread only fetches and signals. repo_mu keeps the two
 * from fetching the mirror at once; mu guards the record. The poller
 * never holds mu while it talks to the network.
 *
 * libgit2 is the module's (gitmod.h): loaded by the first configuration
 * with flows.git, kept to the end. Until then nothing here touches git.
 */
#define _GNU_SOURCE
#include "autoconfig.h"
#include "gitsync.h"

#include "codec.h"
#include "fsutil.h"
#include "gitmod.h"
#include "log.h"
#include "module.h"
#include "units.h"
#include "xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha1.h>

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/sluice"
#define DEFAULT_POLL_MS 60000

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t repo_mu;
    const gitmod *mod; /* set once, before the poller starts */
    int lg_inited;
    char pending[41];
    char serving[41];
    char rejected[41];
    char *rejected_err;
    uint64_t rejected_at;
    char *fetch_error;   /* the last fetch's, NULL when it worked */
    uint64_t fetched_at; /* the last successful fetch, epoch ms */
    gitsync_conf *conf;  /* a copy of the serving configuration's */
    char *state_dir;
    uint64_t conf_gen;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    char signalled[41];
} gs = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .cv = PTHREAD_COND_INITIALIZER,
        .repo_mu = PTHREAD_MUTEX_INITIALIZER};

static const char *const git_keys[] = {"url",   "branch",  "dir",         "poll",
                                       "token", "ssh_key", "known_hosts", NULL};

/* ---- names ---- */

int gitsync_branch_ok(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || b[0] == '/' || b[0] == '-' || b[n - 1] == '/' || b[n - 1] == '.' ||
        strstr(b, "..") || strstr(b, "//") || strstr(b, "@{"))
        return 0;
    for (const unsigned char *p = (const unsigned char *)b; *p; p++)
        if (*p < 0x21 || *p == 0x7f || strchr("~^:?*[\\", *p))
            return 0;
    return 1;
}

/*
 * The hash is git's object id of the URL as a blob, SHA-1 of
 * "blob <length>\0<url>": what libgit2's git_odb_hash gave when sluiced
 * linked it, so mirrors fetched by an older sluiced keep their names.
 */
int gitsync_mirror_name(const char *url, char *out, size_t len)
{
    const char *base = strrchr(url, '/');
    char name[33], head[32];
    size_t n = 0;
    base = base ? base + 1 : url;
    for (; *base && n < sizeof(name) - 1 && strcmp(base, ".git") != 0; base++)
        name[n++] = isalnum((unsigned char)*base) || strchr("-_.", *base) ? *base : '_';
    name[n] = 0;
    int hl = snprintf(head, sizeof(head), "blob %zu", strlen(url)) + 1; /* with the NUL */
    unsigned char md[SHA1_DIGEST_SIZE];
    struct sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, (size_t)hl, (const uint8_t *)head);
    sha1_update(&ctx, strlen(url), (const uint8_t *)url);
    sha1_digest(&ctx, sizeof(md), md);
    snprintf(out, len, "%s-%02x%02x%02x%02x%02x%02x", n > 0 && name[0] != '.' ? name : "repo",
             md[0], md[1], md[2], md[3], md[4], md[5]);
    return 0;
}

/* ---- settings ---- */

void gitsync_conf_free(gitsync_conf *gc)
{
    if (!gc)
        return;
    free(gc->url);
    free(gc->branch);
    free(gc->dir);
    if (gc->token)
        explicit_bzero(gc->token, strlen(gc->token));
    free(gc->token);
    if (gc->ssh_key)
        explicit_bzero(gc->ssh_key, strlen(gc->ssh_key));
    free(gc->ssh_key);
    free(gc->known_hosts);
    free(gc);
}

static gitsync_conf *conf_dup(const gitsync_conf *gc)
{
    gitsync_conf *d = xcalloc(1, sizeof(*d));
    d->url = xstrdup(gc->url);
    d->branch = xstrdup(gc->branch);
    d->dir = xstrdup(gc->dir);
    d->poll_ms = gc->poll_ms;
    d->token = gc->token ? xstrdup(gc->token) : NULL;
    d->ssh_key = gc->ssh_key ? xstrdup(gc->ssh_key) : NULL;
    d->known_hosts = gc->known_hosts ? xstrdup(gc->known_hosts) : NULL;
    return d;
}

/* A file named relative to the main config file; text (from "@file:") stays as it is. */
static void make_absolute(parse_ctx *c, char **path)
{
    if (!*path || (*path)[0] == '/' || strchr(*path, '\n') || strncmp(*path, "-----", 5) == 0)
        return;
    char *abs;
    if (asprintf(&abs, "%s/%s", c->dir ? c->dir : ".", *path) < 0)
        return;
    free(*path);
    *path = abs;
}

int gitsync_conf_parse(parse_ctx *c, const config_setting_t *g, gitsync_conf **out)
{
    if (!config_setting_is_group(g))
        return cp_fail(c, g, "flows.git: must be a group { url = \"...\"; branch = \"main\"; }");
    gitsync_conf *gc = xcalloc(1, sizeof(*gc));
    *out = gc;
    gc->poll_ms = DEFAULT_POLL_MS;
    const char *w = "flows.git";
    if (cp_check_keys(c, g, w, git_keys) < 0 || cp_get_string(c, g, "url", w, &gc->url) < 0 ||
        cp_get_string(c, g, "branch", w, &gc->branch) < 0 ||
        cp_get_string(c, g, "dir", w, &gc->dir) < 0 ||
        cp_get_duration(c, g, "poll", w, &gc->poll_ms) < 0 ||
        cp_get_string(c, g, "token", w, &gc->token) < 0 ||
        cp_get_string(c, g, "ssh_key", w, &gc->ssh_key) < 0 ||
        cp_get_string(c, g, "known_hosts", w, &gc->known_hosts) < 0)
        return -1;
    if (!gc->url)
        return cp_fail(c, g, "flows.git: missing setting \"url\" (file://, https:// or ssh://)");
    int https = strncmp(gc->url, "https://", 8) == 0, ssh = strncmp(gc->url, "ssh://", 6) == 0;
    if (!https && !ssh && strncmp(gc->url, "file:///", 8) != 0)
        return cp_fail(c, config_setting_get_member(g, "url"),
                       "flows.git.url: \"%s\": use file:///path, https:// or ssh://", gc->url);
    if (!gc->branch)
        gc->branch = xstrdup("main");
    if (!gc->dir)
        gc->dir = xstrdup("flows.d");
    if (!gitsync_branch_ok(gc->branch))
        return cp_fail(c, config_setting_get_member(g, "branch"),
                       "flows.git.branch: \"%s\" is not a valid branch name", gc->branch);
    const char *d = gc->dir;
    int bad = d[0] == '/' || d[0] == 0 || strcmp(d, "..") == 0 || strncmp(d, "../", 3) == 0 ||
              strstr(d, "/../") || (strlen(d) >= 3 && strcmp(d + strlen(d) - 3, "/..") == 0);
    if (bad)
        return cp_fail(c, config_setting_get_member(g, "dir"),
                       "flows.git.dir: \"%s\" must be a directory inside the repository", d);
    if (gc->token && !https)
        return cp_fail(c, config_setting_get_member(g, "token"),
                       "flows.git.token: only for https:// URLs");
    const char *sshset = gc->ssh_key ? "ssh_key" : "known_hosts";
    if ((gc->ssh_key || gc->known_hosts) && !ssh)
        return cp_fail(c, config_setting_get_member(g, sshset),
                       "flows.git.%s: only for ssh:// URLs", sshset);
    if (ssh && !gc->known_hosts)
        return cp_fail(c, g, "flows.git: an ssh:// URL needs known_hosts (a file or its text)");
    make_absolute(c, &gc->ssh_key);
    make_absolute(c, &gc->known_hosts);
    return 0;
}

/* ---- the mirror ---- */

static int repo_paths(const gitsync_conf *gc, const char *state_dir, char *git_dir, char *co_dir,
                      size_t len)
{
    char name[64];
    if (gitsync_mirror_name(gc->url, name, sizeof(name)) < 0)
        return -1;
    const char *base = state_dir ? state_dir : DEFAULT_STATE_DIR;
    snprintf(git_dir, len, "%s/flows-git/%s.git", base, name);
    snprintf(co_dir, len, "%s/flows-git/%s.co", base, name);
    return 0;
}

/* Called with mu held: remember how the last fetch went, logging changes only. */
static void note_fetch(const gitsync_conf *gc, int rc, const char *err)
{
    if (rc == 0) {
        if (gs.fetch_error)
            log_info("flows.git: fetching %s works again", gc->url);
        free(gs.fetch_error);
        gs.fetch_error = NULL;
        gs.fetched_at = units_now_ms();
        return;
    }
    if (!gs.fetch_error || strcmp(gs.fetch_error, err) != 0)
        log_warn("flows.git: fetching %s failed: %s", gc->url, err);
    free(gs.fetch_error);
    gs.fetch_error = xstrdup(err);
}

static const gitmod_host host = {.base64_decode = codec_b64_decode};

/* Called with mu held: the module, loaded and initialised once. */
static int load_module(char *err, size_t errlen)
{
    char path[4096], merr[2600];
    if (!gs.mod) {
        const gitmod *(*entry)(void);
        *(void **)&entry =
            module_load(GITMOD_NAME, GITMOD_ENTRY, path, sizeof(path), merr, sizeof(merr));
        if (!entry) {
            snprintf(err, errlen, "%s", merr);
            return -1;
        }
        const gitmod *m = entry();
        if (!m || m->version != GITMOD_VERSION || m->size != sizeof(gitmod) ||
            !m->package_version || strcmp(m->package_version, PACKAGE_VERSION) != 0) {
            snprintf(err, errlen,
                     "module %s is from another build (sluice %s, interface %u; this sluiced "
                     "is %s, interface %d): install sluiced and its modules together",
                     path, m && m->package_version ? m->package_version : "?", m ? m->version : 0,
                     PACKAGE_VERSION, GITMOD_VERSION);
            return -1;
        }
        gs.mod = m;
        log_info("flows.git: loaded module %s", path);
    }
    if (!gs.lg_inited) {
        if (gs.mod->init(&host, err, errlen) < 0)
            return -1;
        gs.lg_inited = 1;
    }
    return 0;
}

static int ensure_module(char *err, size_t errlen)
{
    pthread_mutex_lock(&gs.mu);
    int rc = load_module(err, errlen);
    pthread_mutex_unlock(&gs.mu);
    return rc;
}

int gitsync_prepare(const gitsync_conf *gc, const char *state_dir, char *dir, size_t dirlen,
                    char sha[41], char *err, size_t errlen)
{
    char git_dir[4096], co_dir[4096], ferr[1024] = "";
    if (ensure_module(err, errlen) < 0)
        return -1;
    if (repo_paths(gc, state_dir, git_dir, co_dir, sizeof(git_dir)) < 0) {
        snprintf(err, errlen, "cannot name the mirror of %s", gc->url);
        return -1;
    }
    gitmod_remote r = {gc->url, gc->token, gc->ssh_key, gc->known_hosts, &gs.stop};
    pthread_mutex_lock(&gs.repo_mu);
    int frc = gs.mod->fetch(git_dir, gc->branch, &r, ferr, sizeof(ferr));
    pthread_mutex_lock(&gs.mu);
    note_fetch(gc, frc, ferr);
    pthread_mutex_unlock(&gs.mu);
    if (!gs.mod->branch_commit(git_dir, gc->branch, sha)) {
        pthread_mutex_unlock(&gs.repo_mu);
        if (frc < 0)
            snprintf(err, errlen, "cannot fetch %s: %s", gc->url, ferr);
        else
            snprintf(err, errlen, "%s has no branch \"%s\"", gc->url, gc->branch);
        return -1;
    }
    if (frc < 0)
        log_warn("flows.git: using commit %s of %s, fetched earlier", sha, gc->branch);
    char checkout[4200];
    snprintf(checkout, sizeof(checkout), "%s/%s", co_dir, sha);
    int crc = gs.mod->checkout(git_dir, sha, checkout, err, errlen);
    pthread_mutex_unlock(&gs.repo_mu);
    if (crc < 0)
        return -1;
    /* From here on a failure is this commit's: it can be rejected by name. */
    pthread_mutex_lock(&gs.mu);
    snprintf(gs.pending, sizeof(gs.pending), "%s", sha);
    pthread_mutex_unlock(&gs.mu);
    struct stat st;
    if (strcmp(gc->dir, ".") == 0)
        snprintf(dir, dirlen, "%s", checkout);
    else
        snprintf(dir, dirlen, "%s/%s", checkout, gc->dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "commit %s has no directory \"%s\"", sha, gc->dir);
        return -1;
    }
    log_debug("flows.git: reading %s/*.conf of commit %s", gc->dir, sha);
    return 0;
}

/* ---- what became of a configuration ---- */

void gitsync_rejected(const char *err)
{
    pthread_mutex_lock(&gs.mu);
    if (gs.pending[0] && strcmp(gs.pending, gs.serving) != 0) {
        snprintf(gs.rejected, sizeof(gs.rejected), "%s", gs.pending);
        free(gs.rejected_err);
        gs.rejected_err = xstrdup(err);
        gs.rejected_at = units_now_ms();
        if (gs.serving[0])
            log_error("flows.git: commit %s rejected; still serving commit %s: %s", gs.rejected,
                      gs.serving, err);
        else
            log_error("flows.git: commit %s rejected: %s", gs.rejected, err);
    }
    gs.pending[0] = 0;
    pthread_mutex_unlock(&gs.mu);
}

/* Checkouts other than the serving commit's are no longer read. */
static void collect_checkouts(const char *co_dir, const char *keep)
{
    DIR *d = opendir(co_dir);
    if (!d)
        return;
    struct dirent *de;
    char path[4400];
    for (int n = 0; n < 10000 && (de = readdir(d)); n++) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, keep) == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", co_dir, de->d_name);
        fsutil_remove_tree(path);
    }
    closedir(d);
}

static void *poll_main(void *arg);

void gitsync_serving(const sluice_config *cfg)
{
    const gitsync_conf *gc = cfg->flows_git;
    char git_dir[4096], co_dir[4096], keep[41] = "";
    int start = 0, collect = 0;
    pthread_mutex_lock(&gs.mu);
    if (gc) {
        if (gs.pending[0] && strcmp(gs.pending, gs.serving) != 0) {
            log_info("flows.git: serving commit %s of %s", gs.pending, gc->branch);
            snprintf(gs.serving, sizeof(gs.serving), "%s", gs.pending);
            gs.rejected[0] = 0; /* a newer commit serves: the rejection is history */
            free(gs.rejected_err);
            gs.rejected_err = NULL;
        }
        gitsync_conf_free(gs.conf);
        gs.conf = conf_dup(gc);
        free(gs.state_dir);
        gs.state_dir = cfg->server.state_dir ? xstrdup(cfg->server.state_dir) : NULL;
        start = gc->poll_ms > 0 && !gs.thread_started;
        collect = repo_paths(gc, gs.state_dir, git_dir, co_dir, sizeof(co_dir)) == 0;
        snprintf(keep, sizeof(keep), "%s", gs.serving);
    } else {
        gs.serving[0] = gs.rejected[0] = 0;
        gitsync_conf_free(gs.conf);
        gs.conf = NULL;
    }
    gs.pending[0] = 0;
    gs.conf_gen++;
    pthread_cond_broadcast(&gs.cv);
    if (start && pthread_create(&gs.thread, NULL, poll_main, NULL) == 0)
        gs.thread_started = 1;
    else if (start)
        log_error("flows.git: cannot start the poller thread; new commits load on reload only");
    pthread_mutex_unlock(&gs.mu);
    if (collect && keep[0]) {
        pthread_mutex_lock(&gs.repo_mu);
        collect_checkouts(co_dir, keep);
        pthread_mutex_unlock(&gs.repo_mu);
    }
}

/* ---- the poller ---- */

/* One poll: fetch, and ask for a reload when the branch moved somewhere new. */
static void poll_once(const gitsync_conf *gc, const char *state_dir, uint64_t gen)
{
    char git_dir[4096], co_dir[4096], ferr[1024] = "", tip[41] = "";
    if (repo_paths(gc, state_dir, git_dir, co_dir, sizeof(git_dir)) < 0)
        return;
    gitmod_remote r = {gc->url, gc->token, gc->ssh_key, gc->known_hosts, &gs.stop};
    pthread_mutex_lock(&gs.repo_mu);
    int frc = gs.mod->fetch(git_dir, gc->branch, &r, ferr, sizeof(ferr));
    int found = gs.mod->branch_commit(git_dir, gc->branch, tip);
    pthread_mutex_unlock(&gs.repo_mu);
    pthread_mutex_lock(&gs.mu);
    if (!atomic_load(&gs.stop))
        note_fetch(gc, frc, ferr);
    if (found && gen == gs.conf_gen && strcmp(tip, gs.serving) != 0 &&
        strcmp(tip, gs.rejected) != 0 && strcmp(tip, gs.signalled) != 0) {
        snprintf(gs.signalled, sizeof(gs.signalled), "%s", tip);
        log_info("flows.git: %s moved to commit %s; reloading", gc->branch, tip);
        kill(getpid(), SIGHUP);
    }
    pthread_mutex_unlock(&gs.mu);
}

static void *poll_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "git-poll");
    pthread_mutex_lock(&gs.mu);
    while (!atomic_load(&gs.stop)) {
        if (!gs.conf || gs.conf->poll_ms == 0) {
            pthread_cond_wait(&gs.cv, &gs.mu);
            continue;
        }
        uint64_t gen = gs.conf_gen;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(gs.conf->poll_ms / 1000);
        until.tv_nsec += (long)(gs.conf->poll_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!atomic_load(&gs.stop) && gen == gs.conf_gen && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&gs.cv, &gs.mu, &until);
        if (atomic_load(&gs.stop) || gen != gs.conf_gen)
            continue;
        gitsync_conf *gc = conf_dup(gs.conf);
        char *state_dir = gs.state_dir ? xstrdup(gs.state_dir) : NULL;
        pthread_mutex_unlock(&gs.mu);
        poll_once(gc, state_dir, gen);
        gitsync_conf_free(gc);
        free(state_dir);
        pthread_mutex_lock(&gs.mu);
    }
    pthread_mutex_unlock(&gs.mu);
    return NULL;
}

/* ---- reporting and shutdown ---- */

json_t *gitsync_status_json(void)
{
    pthread_mutex_lock(&gs.mu);
    if (!gs.conf) {
        pthread_mutex_unlock(&gs.mu);
        return NULL;
    }
    char at[40];
    json_t *o = json_object();
    json_object_set_new(o, "branch", json_string(gs.conf->branch));
    json_object_set_new(o, "dir", json_string(gs.conf->dir));
    json_object_set_new(o, "commit", gs.serving[0] ? json_string(gs.serving) : json_null());
    units_format_time(gs.fetched_at, at, sizeof(at));
    json_object_set_new(o, "fetched_at", gs.fetched_at ? json_string(at) : json_null());
    json_object_set_new(o, "fetch_error",
                        gs.fetch_error ? json_string(gs.fetch_error) : json_null());
    json_t *rej = json_null();
    if (gs.rejected[0]) {
        rej = json_object();
        units_format_time(gs.rejected_at, at, sizeof(at));
        json_object_set_new(rej, "commit", json_string(gs.rejected));
        json_object_set_new(rej, "error",
                            json_string(gs.rejected_err ? gs.rejected_err : "rejected"));
        json_object_set_new(rej, "at", json_string(at));
    }
    json_object_set_new(o, "last_rejected", rej);
    pthread_mutex_unlock(&gs.mu);
    return o;
}

char *gitsync_rejection_text(void)
{
    char *text = NULL;
    pthread_mutex_lock(&gs.mu);
    if (gs.conf && gs.rejected[0] &&
        asprintf(&text, "flows.git: commit %s was rejected (still serving %s): %s", gs.rejected,
                 gs.serving[0] ? gs.serving : "nothing",
                 gs.rejected_err ? gs.rejected_err : "") < 0)
        text = NULL;
    pthread_mutex_unlock(&gs.mu);
    return text;
}

void gitsync_shutdown(void)
{
    pthread_mutex_lock(&gs.mu);
    atomic_store(&gs.stop, 1);
    pthread_cond_broadcast(&gs.cv);
    int started = gs.thread_started;
    gs.thread_started = 0;
    pthread_mutex_unlock(&gs.mu);
    if (started)
        pthread_join(gs.thread, NULL);
    pthread_mutex_lock(&gs.mu);
    gitsync_conf_free(gs.conf);
    gs.conf = NULL;
    free(gs.state_dir);
    gs.state_dir = NULL;
    free(gs.rejected_err);
    gs.rejected_err = NULL;
    free(gs.fetch_error);
    gs.fetch_error = NULL;
    int lg = gs.lg_inited;
    gs.lg_inited = 0;
    pthread_mutex_unlock(&gs.mu);
    if (lg)
        gs.mod->shutdown();
}
