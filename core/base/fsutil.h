/*
 * fsutil.h - directory trees: create, remove.
 *
 * Self-contained (libc only), so the flows.git module compiles this file
 * too instead of calling back into sluiced, which exports nothing.
 */
#ifndef SLUICE_FSUTIL_H
#define SLUICE_FSUTIL_H

/* mkdir -p (0755). */
int fsutil_mkdirs(const char *path);

/* mkdir -p of the directory holding path (nothing when path has no '/'). */
int fsutil_mkdirs_parent(const char *path);

/* The same with 0700: the directories that hold sluiced's private state. */
int fsutil_mkdirs_parent_private(const char *path);

/* rm -rf without following symbolic links. */
int fsutil_remove_tree(const char *path);

#endif
