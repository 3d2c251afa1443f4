# The flows.git module, gitsync.so: the libgit2 half of git-backed flow
# definitions, dlopen()ed by sluiced only when a configuration has
# flows.git (core/conf/gitmod.h). Internal: installed in $(modulesdir) with
# sluiced, exporting nothing but sluice_gitmod_v1. It compiles
# core/base/fsutil.c rather than calling into sluiced, which exports nothing.
modules_LTLIBRARIES += modules/gitsync/gitsync.la
TEST_MODULE_DIRS += modules/gitsync
modules_gitsync_gitsync_la_SOURCES = modules/gitsync/gitrepo.c \
	core/base/fsutil.c core/base/fsutil.h core/conf/gitmod.h
modules_gitsync_gitsync_la_CPPFLAGS = $(CORE_INCLUDES)
modules_gitsync_gitsync_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(LIBGIT2_CFLAGS)
modules_gitsync_gitsync_la_LDFLAGS = -module -avoid-version -no-undefined -shared \
	-export-symbols-regex '^sluice_gitmod_v1$$' $(AM_LDFLAGS)
modules_gitsync_gitsync_la_LIBADD = $(LIBGIT2_LIBS)
