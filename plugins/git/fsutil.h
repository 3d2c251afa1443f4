/*
 * fsutil.h - directories of the cache: create, freeze, remove.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef GITEXEC_FSUTIL_H
#define GITEXEC_FSUTIL_H

/* mkdir -p path (0755: a run-as user must be able to read checkouts). */
int gitexec_mkdirs(const char *path);

/* mkdir -p of the directory holding path. */
int gitexec_mkdirs_parent(const char *path);

/*
 * Clear every write bit under dir (dir included), never following a
 * symbolic link: a checkout is immutable, and a script running as another
 * user cannot change it (root ignores permissions; nothing else writes
 * there).
 */
int gitexec_tree_freeze(const char *dir);

/*
 * Remove dir and everything under it, never following a symbolic link,
 * restoring the write bits gitexec_tree_freeze cleared. Returns 0, or -1
 * with errno set when something stayed.
 */
int gitexec_tree_remove(const char *dir);

#endif /* GITEXEC_FSUTIL_H */
