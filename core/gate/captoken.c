/*
 * captoken.c - capability URL tokens and their state file (see captoken.h).
 *
 * The in-memory state mirrors tokens.json and is changed only after the
 * new file is safely on disk, so a failed save changes nothing: a token
 * the sender was given is never one sluiced forgets at the next restart.
 */
#include "captoken.h"

#include "auth.h"
#include "codec.h"
#include "log.h"
#include "units.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nettle/memops.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKENS_FILE "tokens.json"

const char captoken_template[] = "/t/{token}";

typedef struct cap_entry {
    char *trigger;
    char token[CAPTOKEN_LEN + 1]; /* "" when removed */
    unsigned char digest[AUTH_DIGEST_LEN];
    char when[40]; /* created_at, or removed_at */
} cap_entry;

typedef struct cap_retired {
    unsigned char digest[AUTH_DIGEST_LEN];
    char *trigger;
} cap_retired;

typedef struct cap_state {
    cap_entry *e;
    size_t n;
    cap_retired *r;
    size_t nr;
} cap_state;

static struct {
    pthread_mutex_t mu;
    char *dir; /* the directory the state was loaded from */
    int loaded;
    cap_state st;
} ct = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void state_free(cap_state *s)
{
    for (size_t i = 0; i < s->n; i++) {
        explicit_bzero(s->e[i].token, sizeof(s->e[i].token));
        free(s->e[i].trigger);
    }
    free(s->e);
    for (size_t i = 0; i < s->nr; i++)
        free(s->r[i].trigger);
    free(s->r);
    memset(s, 0, sizeof(*s));
}

static cap_entry *find_entry(cap_state *s, const char *trigger)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].trigger, trigger) == 0)
            return &s->e[i];
    return NULL;
}

static cap_entry *add_entry(cap_state *s, const char *trigger)
{
    s->e = xrealloc(s->e, (s->n + 1) * sizeof(cap_entry));
    cap_entry *e = &s->e[s->n++];
    memset(e, 0, sizeof(*e));
    e->trigger = xstrdup(trigger);
    return e;
}

static void add_retired(cap_state *s, const unsigned char *digest, const char *trigger)
{
    if (s->nr == CAPTOKEN_MAX_RETIRED) {
        free(s->r[0].trigger);
        memmove(s->r, s->r + 1, (s->nr - 1) * sizeof(cap_retired));
        s->nr--;
    }
    s->r = xrealloc(s->r, (s->nr + 1) * sizeof(cap_retired));
    memcpy(s->r[s->nr].digest, digest, AUTH_DIGEST_LEN);
    s->r[s->nr].trigger = xstrdup(trigger);
    s->nr++;
}

static int state_copy(cap_state *dst, const cap_state *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++) {
        cap_entry *e = add_entry(dst, src->e[i].trigger);
        memcpy(e->token, src->e[i].token, sizeof(e->token));
        memcpy(e->digest, src->e[i].digest, AUTH_DIGEST_LEN);
        memcpy(e->when, src->e[i].when, sizeof(e->when));
    }
    for (size_t i = 0; i < src->nr; i++)
        add_retired(dst, src->r[i].digest, src->r[i].trigger);
    return 0;
}

static int valid_token_text(const char *s, size_t n)
{
    if (n != CAPTOKEN_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int new_token(cap_entry *e)
{
    unsigned char raw[16];
    if (units_random(raw, sizeof(raw)) < 0)
        return -1;
    codec_b64url_encode(raw, sizeof(raw), e->token);
    explicit_bzero(raw, sizeof(raw));
    auth_sha256(e->token, CAPTOKEN_LEN, e->digest);
    units_format_time(units_now_ms(), e->when, sizeof(e->when));
    return 0;
}

/* ---- the file ---- */

static void file_path(const char *dir, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Parse tokens.json into s. 0, also when the file does not exist. */
static int state_load(const char *dir, cap_state *s)
{
    char path[4200];
    file_path(dir, TOKENS_FILE, path, sizeof(path));
    memset(s, 0, sizeof(*s));
    if (access(path, F_OK) != 0)
        return errno == ENOENT ? 0 : -1;
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        log_error("capability tokens: %s:%d: %s", path, jerr.line, jerr.text);
        return -1;
    }
    json_t *trig = json_object_get(root, "triggers");
    const char *id;
    json_t *v;
    json_object_foreach(trig, id, v)
    {
        json_t *tok = json_object_get(v, "token");
        cap_entry *e = add_entry(s, id);
        if (json_is_string(tok) &&
            valid_token_text(json_string_value(tok), json_string_length(tok))) {
            memcpy(e->token, json_string_value(tok), CAPTOKEN_LEN + 1);
            auth_sha256(e->token, CAPTOKEN_LEN, e->digest);
            snprintf(e->when, sizeof(e->when), "%s",
                     json_string_value(json_object_get(v, "created_at"))
                         ? json_string_value(json_object_get(v, "created_at"))
                         : "");
        } else {
            snprintf(e->when, sizeof(e->when), "%s",
                     json_string_value(json_object_get(v, "removed_at"))
                         ? json_string_value(json_object_get(v, "removed_at"))
                         : "");
        }
    }
    size_t i;
    json_array_foreach(json_object_get(root, "retired"), i, v)
    {
        const char *hex = json_string_value(json_object_get(v, "sha256"));
        const char *tid = json_string_value(json_object_get(v, "trigger"));
        unsigned char d[AUTH_DIGEST_LEN];
        size_t dl;
        if (hex && tid && codec_hex_decode(hex, strlen(hex), d, sizeof(d), &dl) == 0 &&
            dl == AUTH_DIGEST_LEN)
            add_retired(s, d, tid);
    }
    json_decref(root);
    return 0;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Write s to tokens.json: a temporary file, fsync, rename, fsync the directory. */
static int state_save(const char *dir, const cap_state *s)
{
    json_t *root = json_object();
    json_object_set_new(root, "version", json_integer(1));
    json_t *trig = json_object();
    for (size_t i = 0; i < s->n; i++) {
        json_t *o = json_object();
        if (s->e[i].token[0]) {
            json_object_set_new(o, "token", json_string(s->e[i].token));
            json_object_set_new(o, "created_at", json_string(s->e[i].when));
        } else {
            json_object_set_new(o, "token", json_null());
            json_object_set_new(o, "removed_at", json_string(s->e[i].when));
        }
        json_object_set_new(trig, s->e[i].trigger, o);
    }
    json_object_set_new(root, "triggers", trig);
    json_t *ret = json_array();
    for (size_t i = 0; i < s->nr; i++) {
        char hex[2 * AUTH_DIGEST_LEN + 1];
        codec_hex_encode(s->r[i].digest, AUTH_DIGEST_LEN, hex);
        json_t *o = json_object();
        json_object_set_new(o, "sha256", json_string(hex));
        json_object_set_new(o, "trigger", json_string(s->r[i].trigger));
        json_array_append_new(ret, o);
    }
    json_object_set_new(root, "retired", ret);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text)
        return -1;

    char path[4200], tmp[4300];
    file_path(dir, TOKENS_FILE, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int rc = -1, fd = -1;
    size_t len = strlen(text);
    if (mkdir_p(dir) < 0) {
        log_error("capability tokens: cannot create %s: %s", dir, units_strerror(errno));
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("capability tokens: cannot write %s: %s", tmp, units_strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            log_error("capability tokens: cannot write %s: %s", tmp, units_strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
        log_error("capability tokens: cannot write %s: %s", tmp, units_strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) < 0) {
        log_error("capability tokens: cannot rename %s: %s", tmp, units_strerror(errno));
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    explicit_bzero(text, len);
    free(text);
    return rc;
}

/* Under ct.mu: the state of dir in memory. */
static int ensure_loaded(const char *dir)
{
    if (ct.loaded && strcmp(ct.dir, dir) == 0)
        return 0;
    cap_state s;
    if (state_load(dir, &s) < 0) {
        /* Fail closed: never answer from another directory's tokens. */
        state_free(&s);
        state_free(&ct.st);
        ct.loaded = 0;
        return -1;
    }
    state_free(&ct.st);
    ct.st = s;
    free(ct.dir);
    ct.dir = xstrdup(dir);
    ct.loaded = 1;
    return 0;
}

/* Under ct.mu: save next and make it the state, or change nothing. */
static int commit(const char *dir, cap_state *next)
{
    if (state_save(dir, next) < 0) {
        state_free(next);
        return -1;
    }
    state_free(&ct.st);
    ct.st = *next;
    return 0;
}

/* Under ct.mu. */
static int ensure_locked(const char *dir, const char *const *ids, size_t n)
{
    if (ensure_loaded(dir) < 0)
        return -1;
    int missing = 0;
    for (size_t i = 0; i < n; i++)
        if (!find_entry(&ct.st, ids[i]))
            missing = 1;
    if (!missing)
        return 0;
    cap_state next;
    state_copy(&next, &ct.st);
    for (size_t i = 0; i < n; i++) {
        if (find_entry(&next, ids[i]))
            continue;
        if (new_token(add_entry(&next, ids[i])) < 0) {
            state_free(&next);
            return -1;
        }
    }
    if (commit(dir, &next) < 0) {
        log_error("capability tokens: not saved; triggers without a token stay unreachable");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        log_debug("trigger \"%s\": capability URL in %s/%s", ids[i], dir, TOKENS_FILE);
    log_info("capability tokens: created for new capability triggers (see %s/%s)", dir,
             TOKENS_FILE);
    return 0;
}

int captoken_ensure(const char *dir, const char *const *trigger_ids, size_t n)
{
    pthread_mutex_lock(&ct.mu);
    int rc = ensure_locked(dir, trigger_ids, n);
    pthread_mutex_unlock(&ct.mu);
    return rc;
}

int captoken_lookup(const char *dir, const char *token, size_t len, char *trigger_id, size_t idlen)
{
    if (!valid_token_text(token, len))
        return 0;
    unsigned char d[AUTH_DIGEST_LEN];
    auth_sha256(token, CAPTOKEN_LEN, d);
    int rc = 0;
    pthread_mutex_lock(&ct.mu);
    /* Only what was loaded from dir answers: never another directory's
     * tokens, and nothing while the file cannot be read. */
    if (ct.loaded && strcmp(ct.dir, dir) == 0) {
        /* Every entry is compared, so the time taken does not tell where
         * a token matched. */
        for (size_t i = 0; i < ct.st.n; i++)
            if (ct.st.e[i].token[0] && memeql_sec(d, ct.st.e[i].digest, sizeof(d)) && !rc) {
                rc = 1;
                snprintf(trigger_id, idlen, "%s", ct.st.e[i].trigger);
            }
        for (size_t i = 0; !rc && i < ct.st.nr; i++)
            if (memeql_sec(d, ct.st.r[i].digest, sizeof(d))) {
                rc = -1;
                snprintf(trigger_id, idlen, "%s", ct.st.r[i].trigger);
            }
    }
    pthread_mutex_unlock(&ct.mu);
    explicit_bzero(d, sizeof(d));
    return rc;
}

/* The entry of trigger_id in st, made if it has none; a token it holds is
 * retired first, so the old URL answers "revoked", not "unknown". */
static cap_entry *entry_to_replace(cap_state *st, const char *trigger_id)
{
    cap_entry *e = find_entry(st, trigger_id);
    if (!e)
        return add_entry(st, trigger_id);
    if (e->token[0])
        add_retired(st, e->digest, trigger_id);
    return e;
}

int captoken_regenerate(const char *dir, const char *trigger_id, char *token, size_t tokenlen,
                        char *err, size_t errlen)
{
    int rc = -1;
    pthread_mutex_lock(&ct.mu);
    if (ensure_loaded(dir) < 0) {
        snprintf(err, errlen, "the capability token state cannot be read");
        goto out;
    }
    cap_state next;
    state_copy(&next, &ct.st);
    cap_entry *e = entry_to_replace(&next, trigger_id);
    if (new_token(e) < 0 || tokenlen < CAPTOKEN_LEN + 1) {
        state_free(&next);
        snprintf(err, errlen, "cannot make a token");
        goto out;
    }
    memcpy(token, e->token, CAPTOKEN_LEN + 1);
    if (commit(dir, &next) < 0) {
        explicit_bzero(token, tokenlen);
        snprintf(err, errlen, "the capability token state cannot be saved");
        goto out;
    }
    log_info("trigger \"%s\": capability token replaced; the old URL no longer works", trigger_id);
    rc = 0;
out:
    pthread_mutex_unlock(&ct.mu);
    return rc;
}

int captoken_remove(const char *dir, const char *trigger_id, char *err, size_t errlen)
{
    int rc = -1;
    pthread_mutex_lock(&ct.mu);
    if (ensure_loaded(dir) < 0) {
        snprintf(err, errlen, "the capability token state cannot be read");
        goto out;
    }
    cap_state next;
    state_copy(&next, &ct.st);
    cap_entry *e = entry_to_replace(&next, trigger_id);
    explicit_bzero(e->token, sizeof(e->token));
    memset(e->digest, 0, sizeof(e->digest));
    units_format_time(units_now_ms(), e->when, sizeof(e->when));
    if (commit(dir, &next) < 0) {
        snprintf(err, errlen, "the capability token state cannot be saved");
        goto out;
    }
    log_info("trigger \"%s\": capability token removed", trigger_id);
    rc = 0;
out:
    pthread_mutex_unlock(&ct.mu);
    return rc;
}

int captoken_get(const char *dir, const char *trigger_id, char *token, size_t tokenlen)
{
    int rc = -1;
    pthread_mutex_lock(&ct.mu);
    if (ensure_loaded(dir) == 0) {
        cap_entry *e = find_entry(&ct.st, trigger_id);
        if (e && e->token[0] && tokenlen > CAPTOKEN_LEN) {
            memcpy(token, e->token, CAPTOKEN_LEN + 1);
            rc = 0;
        } else if (e && !e->token[0]) {
            rc = 1;
        }
    }
    pthread_mutex_unlock(&ct.mu);
    return rc;
}

void captoken_reset(void)
{
    pthread_mutex_lock(&ct.mu);
    state_free(&ct.st);
    free(ct.dir);
    ct.dir = NULL;
    ct.loaded = 0;
    pthread_mutex_unlock(&ct.mu);
}
