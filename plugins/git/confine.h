/*
 * confine.h - paths of the repository that must stay inside the checkout.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef GITEXEC_CONFINE_H
#define GITEXEC_CONFINE_H

#include <stddef.h>

#define GITEXEC_WANT_FILE 0
#define GITEXEC_WANT_DIR 1

/*
 * Resolve rel (already checked as text: relative, no "..") inside the
 * checkout at root, following symbolic links, and require the result to
 * be root itself or under it, and a regular file or a directory (want).
 * The checkout is immutable, so what is checked here is what runs. Returns
 * 0 with the resolved absolute path in out, or -1 with why ("does not
 * exist", "resolves to /etc/passwd, outside the repository"...).
 */
int gitexec_confine(const char *root, const char *rel, int want, char *out, size_t outlen,
                    char *why, size_t whylen);

#endif /* GITEXEC_CONFINE_H */
