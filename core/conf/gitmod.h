/*
 * gitmod.h - the interface between sluiced and its flows.git module.
 *
 * libgit2 and what it links (libssh2, mbedTLS, Kerberos, PCRE2, zlib ...)
 * cost every sluiced about 1.4 MiB of resident memory just by being
 * mapped and relocated, although most configurations never name a git
 * repository. So the libgit2 half of flows.git (fetch, read a branch,
 * check out a commit) lives in gitsync.so under $(pkglibdir)/modules,
 * which gitsync.c dlopen()s the first time a configuration has flows.git.
 * Everything else about flows.git (settings, the poller, what serves and
 * what was rejected) stays in sluiced.
 *
 * This is not the plugin ABI: the module is built and installed with
 * sluiced and must come from the same build. The loader refuses one whose
 * interface version, table size or package version differ. Change
 * anything below, bump GITMOD_VERSION.
 *
 * sluiced exports no symbols, so whatever the module needs from the
 * daemon comes through gitmod_host.
 */
#ifndef SLUICE_GITMOD_H
#define SLUICE_GITMOD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define GITMOD_VERSION 1
/* The one symbol a module exports: const gitmod *sluice_gitmod_v1(void). */
#define GITMOD_ENTRY "sluice_gitmod_v1"
/* The module's file name, searched as modules are (module.h). */
#define GITMOD_NAME "gitsync"

/* How to reach and authenticate to the remote. */
typedef struct gitmod_remote {
    const char *url;
    const char *token;       /* https password, or NULL */
    const char *ssh_key;     /* a key file, or the key's text, or NULL (agent) */
    const char *known_hosts; /* a known_hosts file, or its text; ssh only */
    atomic_int *stop;        /* nonzero aborts a transfer in progress; may be NULL */
} gitmod_remote;

/* What sluiced lends the module. */
typedef struct gitmod_host {
    /* codec_b64_decode: 0, or -1 when in is not base64 or out is too small. */
    int (*base64_decode)(const char *in, size_t inlen, unsigned char *out, size_t outcap,
                         size_t *outlen);
} gitmod_host;

/*
 * Every function may be called from any thread as long as two of them
 * never work on the same mirror at once (gitsync.c serializes them).
 */
typedef struct gitmod {
    /* These three lead in every version, so any module can be refused by name. */
    uint32_t version;            /* GITMOD_VERSION */
    uint32_t size;               /* sizeof(gitmod) */
    const char *package_version; /* PACKAGE_VERSION of the build */

    /* Initialise libgit2 (once per shutdown). 0, or -1 with err set. */
    int (*init)(const gitmod_host *host, char *err, size_t errlen);
    void (*shutdown)(void);

    /*
     * Fetch refs/heads/<branch> of the remote into the bare repository at
     * git_dir (created, with its parents, when missing). Returns 0, or -1
     * with libgit2's error text in err.
     */
    int (*fetch)(const char *git_dir, const char *branch, const gitmod_remote *r, char *err,
                 size_t errlen);

    /* The commit of refs/heads/<branch>: 1 with sha filled, 0 when absent. */
    int (*branch_commit)(const char *git_dir, const char *branch, char sha[41]);

    /*
     * Check commit sha out into dest (which must not exist) through a
     * temporary directory and a rename, so dest is either absent or
     * complete. Returns 0 (also when dest already exists), or -1 with err
     * set.
     */
    int (*checkout)(const char *git_dir, const char *sha, const char *dest, char *err,
                    size_t errlen);
} gitmod;

#endif
