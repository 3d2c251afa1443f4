/*
 * remote.h - one fetch from a remote into a bare repository, with libgit2.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef GITEXEC_REMOTE_H
#define GITEXEC_REMOTE_H

#include <stddef.h>

#include "gitset.h"

/*
 * Fetch every branch and tag of url (refs/heads and refs/tags, forced)
 * into the bare repository at git_dir, creating it (and its parent
 * directory) when missing, pruning refs the remote no longer has.
 * Credentials come from auth (token for https, key or agent for ssh); an
 * ssh host key must be in auth->known_hosts. cancelled (may be NULL) is polled while data flows.
 * Returns 0, or -1 with libgit2's error text in err.
 */
int gitexec_remote_fetch(const char *git_dir, const char *url, const struct gitexec_auth *auth,
                         int (*cancelled)(void *ctx), void *ctx, char *err, size_t errlen);

/*
 * Nonzero when known_hosts (the text of a known_hosts file) lists key
 * (raw, len bytes) for host at port (0 or 22: the default).
 */
int gitexec_known_host(const char *known_hosts, const char *host, int port, const char *key,
                       size_t len);

#endif /* GITEXEC_REMOTE_H */
