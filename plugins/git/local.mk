# The git executor plugin: built like any third-party plugin, against
# sdk/include only, exporting nothing but sluice_plugin_v1. It runs the
# script "as the shell executor runs it": both run it with plugins/kit's
# command code, linked into git.so.
GIT_PLUGIN_SRC = \
	plugins/git/git.c plugins/git/git.h \
	plugins/git/run.c \
	plugins/git/gitset.c plugins/git/gitset.h \
	plugins/git/mirror.c plugins/git/mirror.h \
	plugins/git/remote.c plugins/git/remote.h \
	plugins/git/worktree.c plugins/git/worktree.h \
	plugins/git/confine.c plugins/git/confine.h \
	plugins/git/fsutil.c plugins/git/fsutil.h

plugins_LTLIBRARIES += plugins/git/git.la
TEST_PLUGIN_DIRS += plugins/git
plugins_git_git_la_SOURCES = $(GIT_PLUGIN_SRC)
plugins_git_git_la_CPPFLAGS = $(KIT_CPP) \
	-DGIT_PLUGIN_VERSION='"$(PACKAGE_VERSION)"'
plugins_git_git_la_CFLAGS = $(PLUGIN_CC) $(JANSSON_CFLAGS) $(LIBGIT2_CFLAGS)
plugins_git_git_la_LDFLAGS = $(PLUGIN_LINK)
plugins_git_git_la_LIBADD = $(KIT_COMMAND_LIBS) $(LIBGIT2_LIBS)
EXTRA_DIST += plugins/git/README.md

# Integration tests: real repositories made with the git command (a test
# dependency only; sluiced itself never runs git), fetched over file://.
GIT_INTEGRATION_TESTS = tests/integration/git_exec.sh tests/integration/git_flows.sh
TESTS += $(GIT_INTEGRATION_TESTS)
EXTRA_DIST += $(GIT_INTEGRATION_TESTS) bench/git.sh

# Unit tests (Check): the plugin's settings, path confinement, tree
# handling and known_hosts matching, with its sources compiled in.
check_PROGRAMS += tests/unit/test_git
TESTS += tests/unit/test_git
tests_unit_test_git_SOURCES = tests/unit/test_git.c $(GIT_PLUGIN_SRC)
tests_unit_test_git_CPPFLAGS = $(KIT_CPP) -I$(top_srcdir)/plugins/git
tests_unit_test_git_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBGIT2_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_git_LDADD = $(KIT_COMMAND_LIBS) $(LIBGIT2_LIBS) $(CHECK_LIBS)
