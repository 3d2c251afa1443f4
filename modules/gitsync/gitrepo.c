/*
 * gitrepo.c - the flows.git module (gitsync.so): libgit2 operations for
 * git-backed flow definitions, behind the function table of gitmod.h.
 *
 * A bare mirror fetched with libgit2 (no git command at run time), and
 * checkouts of one commit each. The git executor plugin has its own copy
 * of this kind of code: plugins are built against the SDK alone and share
 * nothing with the daemon. What the two agree on is the behaviour: an
 * anonymous remote with explicit refspecs (the mirror holds exactly the
 * remote's branch), credentials offered once (a refusal ends as one clear
 * error, not a loop), ssh host keys checked against known_hosts, https
 * certificates checked by libgit2.
 */
#define _GNU_SOURCE
#include "autoconfig.h"
#include "fsutil.h"
#include "gitmod.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#define EXPORT __attribute__((visibility("default")))

/* Longest known_hosts file read from disk. */
#define KNOWN_HOSTS_MAX (1024 * 1024)

/* The daemon's services, from init. */
static const gitmod_host *sluiced;

static int gitrepo_init(const gitmod_host *h, char *err, size_t errlen)
{
    sluiced = h;
    if (git_libgit2_init() < 0) {
        snprintf(err, errlen, "libgit2 failed to initialise: %s",
                 git_error_last() ? git_error_last()->message : "unknown error");
        return -1;
    }
    return 0;
}

static void gitrepo_shutdown(void)
{
    git_libgit2_shutdown();
}

struct fetch_state {
    const gitmod_remote *r;
    int secret_offered;
    int username_calls;
    char *known_hosts; /* text, loaded on demand */
};

static int cred_cb(git_credential **out, const char *url, const char *url_user,
                   unsigned int allowed, void *payload)
{
    struct fetch_state *st = payload;
    const gitmod_remote *r = st->r;
    const char *user = url_user ? url_user : "git";
    (void)url;
    if ((allowed & GIT_CREDENTIAL_USERNAME) && st->username_calls++ < 4)
        return git_credential_username_new(out, user);
    if (st->secret_offered++) {
        git_error_set_str(GIT_ERROR_NET, "authentication failed: the server refused the "
                                         "credentials");
        return GIT_EAUTH;
    }
    if (allowed & GIT_CREDENTIAL_SSH_KEY) {
        if (!r->ssh_key)
            return git_credential_ssh_key_from_agent(out, user);
        if (strncmp(r->ssh_key, "-----BEGIN", 10) == 0)
            return git_credential_ssh_key_memory_new(out, user, NULL, r->ssh_key, NULL);
        return git_credential_ssh_key_new(out, user, NULL, r->ssh_key, NULL);
    }
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && r->token)
        return git_credential_userpass_plaintext_new(out, url_user ? url_user : "x-access-token",
                                                     r->token);
    git_error_set_str(GIT_ERROR_NET, "the server asks for credentials: set flows.git.token "
                                     "(https) or ssh_key (ssh)");
    return GIT_EAUTH;
}

static char *load_known_hosts(const char *spec)
{
    if (!spec)
        return NULL;
    if (spec[0] != '/' || strchr(spec, '\n'))
        return strdup(spec);
    FILE *f = fopen(spec, "re");
    if (!f)
        return NULL;
    char *buf = calloc(1, KNOWN_HOSTS_MAX + 1);
    size_t n = buf ? fread(buf, 1, KNOWN_HOSTS_MAX, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    else
        errno = ENOMEM; /* fclose may have changed it */
    return buf;
}

/* host[:port] as known_hosts writes it, from the URL's authority. */
static void known_host_name(const char *url, const char *host, char *out, size_t len)
{
    const char *a = strstr(url, "://");
    a = a ? a + 3 : url;
    const char *at = strchr(a, '@'), *slash = strchr(a, '/');
    if (at && (!slash || at < slash))
        a = at + 1;
    const char *colon = strchr(a, ':');
    if (colon && (!slash || colon < slash) && atoi(colon + 1) != 22)
        snprintf(out, len, "[%s]:%d", host, atoi(colon + 1));
    else
        snprintf(out, len, "%s", host);
}

/* Only * and ? are wildcards: the brackets of "[host]:port" are literal. */
static int host_matches(const char *pattern, const char *want)
{
    char pat[1024];
    size_t k = 0;
    for (const char *p = pattern; *p && k < sizeof(pat) - 2; p++) {
        if (*p == '[' || *p == ']' || *p == '\\')
            pat[k++] = '\\';
        pat[k++] = *p;
    }
    pat[k] = 0;
    return fnmatch(pat, want, FNM_CASEFOLD) == 0;
}

static int known_host_ok(const char *text, const char *want, const char *key, size_t keylen)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        char buf[16384];
        if (ll < sizeof(buf)) {
            memcpy(buf, line, ll);
            buf[ll] = 0;
            char *save = NULL, *hosts = strtok_r(buf, " \t\r", &save);
            char *type = hosts && hosts[0] != '@' ? strtok_r(NULL, " \t\r", &save) : NULL;
            char *b64 = type ? strtok_r(NULL, " \t\r", &save) : NULL;
            int match = 0;
            for (char *h = b64 ? strtok_r(hosts, ",", &save) : NULL; h && !match;
                 h = strtok_r(NULL, ",", &save))
                match = h[0] != '!' && h[0] != '|' && host_matches(h, want);
            unsigned char raw[8192];
            size_t rawlen;
            if (match && sluiced->base64_decode(b64, strlen(b64), raw, sizeof(raw), &rawlen) == 0 &&
                rawlen == keylen && memcmp(raw, key, keylen) == 0)
                return 1;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

static int cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
    struct fetch_state *st = payload;
    (void)valid;
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
        return GIT_PASSTHROUGH; /* x509: libgit2 checks the chain and the name */
    const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
    char want[300];
    known_host_name(st->r->url, host, want, sizeof(want));
    if (!st->known_hosts && st->r->known_hosts &&
        !(st->known_hosts = load_known_hosts(st->r->known_hosts))) {
        /* Refused either way; the message says why (out of memory, unreadable). */
        git_error_set(GIT_ERROR_SSH, "cannot load flows.git.known_hosts: %s", strerror(errno));
        return GIT_ECERTIFICATE;
    }
    if ((hk->type & GIT_CERT_SSH_RAW) && st->known_hosts &&
        known_host_ok(st->known_hosts, want, hk->hostkey, hk->hostkey_len))
        return 0;
    git_error_set(GIT_ERROR_SSH, "the ssh host key of %s is not in flows.git.known_hosts", want);
    return GIT_ECERTIFICATE;
}

static int progress_cb(const git_indexer_progress *stats, void *payload)
{
    struct fetch_state *st = payload;
    (void)stats;
    return st->r->stop && atomic_load(st->r->stop) ? -1 : 0;
}

static int gitrepo_fetch(const char *git_dir, const char *branch, const gitmod_remote *r, char *err,
                         size_t errlen)
{
    git_repository *repo = NULL;
    git_remote *remote = NULL;
    struct fetch_state st = {.r = r};
    char spec[1024];
    snprintf(spec, sizeof(spec), "+refs/heads/%s:refs/heads/%s", branch, branch);
    char *specs[] = {spec};
    git_strarray refspecs = {specs, 1};
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    int rc = -1;

    if (git_repository_open_bare(&repo, git_dir) != 0) {
        if (fsutil_mkdirs_parent(git_dir) != 0) {
            snprintf(err, errlen, "cannot create the parent of %s: %s", git_dir, strerror(errno));
            return -1;
        }
        if (git_repository_init(&repo, git_dir, 1) != 0)
            goto lgerr;
    }
    /* No url.<base>.insteadOf rewriting: the URL is the configured one.
     * (Skipping it also avoids a leak in libgit2 1.5, whose regex matching
     * of that config scan loses its match data.) */
    git_remote_create_options ropts;
    git_remote_create_options_init(&ropts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    ropts.repository = repo;
    ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if (git_remote_create_with_opts(&remote, r->url, &ropts) != 0)
        goto lgerr;
    opts.prune = GIT_FETCH_PRUNE;
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    opts.update_fetchhead = 0;
    opts.proxy_opts.type = GIT_PROXY_AUTO;
    opts.callbacks.credentials = cred_cb;
    opts.callbacks.certificate_check = cert_cb;
    opts.callbacks.transfer_progress = progress_cb;
    opts.callbacks.payload = &st;
    if (git_remote_fetch(remote, &refspecs, &opts, NULL) != 0)
        goto lgerr;
    rc = 0;
    goto out;
lgerr:
    snprintf(err, errlen, "%s", git_error_last() ? git_error_last()->message : "libgit2 error");
out:
    free(st.known_hosts);
    git_remote_free(remote);
    git_repository_free(repo);
    return rc;
}

static int gitrepo_branch_commit(const char *git_dir, const char *branch, char sha[41])
{
    git_repository *repo = NULL;
    git_reference *ref = NULL;
    git_object *obj = NULL;
    char name[1024];
    int found = 0;
    snprintf(name, sizeof(name), "refs/heads/%s", branch);
    if (git_repository_open_bare(&repo, git_dir) == 0 &&
        git_reference_lookup(&ref, repo, name) == 0 &&
        git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
        git_oid_tostr(sha, 41, git_object_id(obj));
        found = 1;
    }
    git_object_free(obj);
    git_reference_free(ref);
    git_repository_free(repo);
    return found;
}

static int gitrepo_checkout(const char *git_dir, const char *sha, const char *dest, char *err,
                            size_t errlen)
{
    struct stat st;
    if (lstat(dest, &st) == 0 && S_ISDIR(st.st_mode))
        return 0; /* complete: only the rename below creates it */
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", dest, (long)getpid());
    fsutil_remove_tree(tmp);
    if (fsutil_mkdirs_parent(dest) != 0) {
        snprintf(err, errlen, "cannot create the parent of %s: %s", dest, strerror(errno));
        return -1;
    }
    git_repository *repo = NULL;
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    git_oid oid;
    git_checkout_options opts;
    git_checkout_options_init(&opts, GIT_CHECKOUT_OPTIONS_VERSION);
    opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX;
    opts.target_directory = tmp;
    int rc = -1;
    if (git_repository_open_bare(&repo, git_dir) != 0 || git_oid_fromstr(&oid, sha) != 0 ||
        git_commit_lookup(&commit, repo, &oid) != 0 || git_commit_tree(&tree, commit) != 0 ||
        git_checkout_tree(repo, (const git_object *)tree, &opts) != 0) {
        snprintf(err, errlen, "cannot check out commit %s: %s", sha,
                 git_error_last() ? git_error_last()->message : "libgit2 error");
        goto out;
    }
    if ((mkdir(tmp, 0755) != 0 && errno != EEXIST) || rename(tmp, dest) != 0) {
        snprintf(err, errlen, "cannot check out commit %s into %s: %s", sha, dest, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        fsutil_remove_tree(tmp);
    git_tree_free(tree);
    git_commit_free(commit);
    git_repository_free(repo);
    return rc;
}

static const gitmod module = {
    .version = GITMOD_VERSION,
    .size = sizeof(gitmod),
    .package_version = PACKAGE_VERSION,
    .init = gitrepo_init,
    .shutdown = gitrepo_shutdown,
    .fetch = gitrepo_fetch,
    .branch_commit = gitrepo_branch_commit,
    .checkout = gitrepo_checkout,
};

const gitmod *sluice_gitmod_v1(void);

EXPORT const gitmod *sluice_gitmod_v1(void)
{
    return &module;
}
