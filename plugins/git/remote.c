/*
 * remote.c - one fetch from a remote into a bare repository, with libgit2.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The remote is anonymous (no [remote] section written to the mirror's
 * config) and the refspecs are explicit, so the mirror holds exactly the
 * remote's branches and tags under their own names, whatever the URL was
 * when it was created. Credentials are offered once: libgit2 asks again
 * after a refusal, and a loop of wrong answers must end as one clear
 * authentication error. An ssh server must present a host key listed in
 * known_hosts; https certificates are checked by libgit2 as usual.
 */
#define _GNU_SOURCE
#include "remote.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "fsutil.h"
#include "kit/base64.h"
#include "kit/kit.h"

struct gitexec_fetch_state {
    const struct gitexec_auth *auth;
    int (*cancelled)(void *ctx);
    void *ctx;
    int cred_calls;
    int secret_offered;
    int was_cancelled;
};

static int gitexec_cred(git_credential **out, const char *url, const char *url_user,
                        unsigned int allowed, void *payload)
{
    struct gitexec_fetch_state *st = payload;
    const struct gitexec_auth *a = st->auth;
    const char *user = url_user ? url_user : a->user;

    (void)url;
    if ((allowed & GIT_CREDENTIAL_USERNAME) && a->scheme == GITEXEC_URL_SSH && st->cred_calls++ < 4)
        return git_credential_username_new(out, user ? user : "git");
    /* A second request for the secret means the first one was refused. */
    if (st->cred_calls++ >= 4 || st->secret_offered++) {
        git_error_set_str(GIT_ERROR_NET, "authentication failed: the server refused the "
                                         "credentials");
        return GIT_EAUTH;
    }
    if ((allowed & GIT_CREDENTIAL_SSH_KEY) && a->scheme == GITEXEC_URL_SSH) {
        if (!a->ssh_key)
            return git_credential_ssh_key_from_agent(out, user ? user : "git");
        if (a->ssh_key_text)
            return git_credential_ssh_key_memory_new(out, user ? user : "git", NULL, a->ssh_key,
                                                     NULL);
        return git_credential_ssh_key_new(out, user ? user : "git", NULL, a->ssh_key, NULL);
    }
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && a->token)
        return git_credential_userpass_plaintext_new(out, user ? user : "x-access-token", a->token);
    git_error_set_str(GIT_ERROR_NET, a->scheme == GITEXEC_URL_HTTPS
                                         ? "the server asks for credentials: set token"
                                         : "the server asks for credentials this flow lacks");
    return GIT_EAUTH;
}

/* One host pattern of a known_hosts line against host and port. */
static int gitexec_host_matches(const char *pattern, size_t n, const char *host, int port)
{
    char pat[1024], want[512];
    size_t k = 0;

    if (n == 0 || n >= sizeof(pat) / 2 || pattern[0] == '!' || pattern[0] == '|')
        return 0; /* negations and hashed names are never a positive match here */
    /* Only * and ? are wildcards: the brackets of "[host]:port" are literal. */
    for (size_t i = 0; i < n; i++) {
        if (pattern[i] == '[' || pattern[i] == ']' || pattern[i] == '\\')
            pat[k++] = '\\';
        pat[k++] = pattern[i];
    }
    pat[k] = '\0';
    if (port == 0 || port == 22)
        snprintf(want, sizeof(want), "%s", host);
    else
        snprintf(want, sizeof(want), "[%s]:%d", host, port);
    return fnmatch(pat, want, FNM_CASEFOLD) == 0;
}

int gitexec_known_host(const char *known_hosts, const char *host, int port, const char *key,
                       size_t len)
{
    const char *line = known_hosts;

    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        char buf[16384], *save = NULL, *hosts, *type, *b64;
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        int match = 0;

        if (ll < sizeof(buf)) {
            memcpy(buf, line, ll);
            buf[ll] = '\0';
            hosts = strtok_r(buf, " \t\r", &save);
            if (hosts && hosts[0] == '@')
                hosts = NULL; /* @cert-authority and @revoked: not supported, not trusted */
            type = hosts ? strtok_r(NULL, " \t\r", &save) : NULL;
            b64 = type ? strtok_r(NULL, " \t\r", &save) : NULL;
            for (const char *p = hosts; b64 && p && *p && !match;) {
                size_t n = strcspn(p, ",");

                match = gitexec_host_matches(p, n, host, port);
                p += n + (p[n] == ',');
            }
            if (match && kit_base64_decode(b64, strlen(b64), &raw, &rawlen) == 0) {
                int same = rawlen == len && memcmp(raw, key, len) == 0;

                free(raw);
                if (same)
                    return 1;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

static int gitexec_cert(git_cert *cert, int valid, const char *host, void *payload)
{
    struct gitexec_fetch_state *st = payload;
    const git_cert_hostkey *hk;

    (void)valid;
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
        return GIT_PASSTHROUGH; /* x509: libgit2 verifies the chain and the name */
    hk = (const git_cert_hostkey *)cert;
    if ((hk->type & GIT_CERT_SSH_RAW) && st->auth->known_hosts &&
        gitexec_known_host(st->auth->known_hosts, host, st->auth->port, hk->hostkey,
                           hk->hostkey_len))
        return 0;
    git_error_set(GIT_ERROR_SSH,
                  "the ssh host key of %s is not in known_hosts (add the line `ssh-keyscan "
                  "%s` prints, unhashed)",
                  host, host);
    return GIT_ECERTIFICATE;
}

static int gitexec_check_cancel(struct gitexec_fetch_state *st)
{
    if (st->cancelled && st->cancelled(st->ctx)) {
        st->was_cancelled = 1;
        return -1;
    }
    return 0;
}

static int gitexec_progress(const git_indexer_progress *stats, void *payload)
{
    (void)stats;
    return gitexec_check_cancel(payload);
}

static int gitexec_sideband(const char *str, int len, void *payload)
{
    (void)str;
    (void)len;
    return gitexec_check_cancel(payload);
}

static int gitexec_open_or_init(git_repository **repo, const char *git_dir, char *err,
                                size_t errlen)
{
    char ebuf[128];

    if (git_repository_open_bare(repo, git_dir) == 0)
        return 0;
    if (gitexec_mkdirs_parent(git_dir) != 0) {
        kit_errf(err, errlen, "cannot create the cache directory of %s: %s", git_dir,
                 kit_strerror(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    if (git_repository_init(repo, git_dir, 1) != 0) {
        kit_errf(err, errlen, "cannot create the mirror %s: %s", git_dir,
                 git_error_last() ? git_error_last()->message : "unknown error");
        return -1;
    }
    return 0;
}

int gitexec_remote_fetch(const char *git_dir, const char *url, const struct gitexec_auth *auth,
                         int (*cancelled)(void *ctx), void *ctx, char *err, size_t errlen)
{
    static char heads[] = "+refs/heads/*:refs/heads/*";
    static char tags[] = "+refs/tags/*:refs/tags/*";
    char *specs[] = {heads, tags};
    git_strarray refspecs = {specs, 2};
    struct gitexec_fetch_state st = {auth, cancelled, ctx, 0, 0, 0};
    git_fetch_options opts;
    git_remote_create_options ropts;
    git_repository *repo = NULL;
    git_remote *remote = NULL;
    int rc = -1;

    /* The _init function, not the macro: the macro leaves fields to C's
     * zero-fill, which -Wmissing-field-initializers rightly flags. */
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    if (gitexec_open_or_init(&repo, git_dir, err, errlen) != 0)
        return -1;
    /* No url.<base>.insteadOf rewriting: where a flow fetches from is said
     * in its config. (Skipping it also avoids a leak in libgit2 1.5, whose
     * regex matching of that config scan loses its match data.) */
    git_remote_create_options_init(&ropts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
    ropts.repository = repo;
    ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if (git_remote_create_with_opts(&remote, url, &ropts) != 0)
        goto lgerr;
    opts.prune = GIT_FETCH_PRUNE;
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    opts.update_fetchhead = 0;
    opts.proxy_opts.type = GIT_PROXY_AUTO;
    opts.callbacks.credentials = gitexec_cred;
    opts.callbacks.certificate_check = gitexec_cert;
    opts.callbacks.transfer_progress = gitexec_progress;
    opts.callbacks.sideband_progress = gitexec_sideband;
    opts.callbacks.payload = &st;
    if (git_remote_fetch(remote, &refspecs, &opts, NULL) != 0)
        goto lgerr;
    rc = 0;
    goto out;
lgerr:
    if (st.was_cancelled)
        kit_errf(err, errlen, "the fetch was cancelled");
    else
        kit_errf(err, errlen, "%s",
                 git_error_last() ? git_error_last()->message : "unknown libgit2 error");
out:
    git_remote_free(remote);
    git_repository_free(repo);
    return rc;
}
