# plugins/kit: code shared by the first-party plugins, compiled into each of
# them (never installed, no ABI; see plugins/kit/README.md). Two convenience
# libraries built with the plugins' own flags (hidden visibility), so a
# plugin linked with them still exports nothing but sluice_plugin_v1:
# libkit for every plugin, libkit-command for those that run a command.
KIT_CPP = $(PLUGIN_CPP) -I$(top_srcdir)/plugins
KIT_SRC = \
	plugins/kit/kit.c plugins/kit/kit.h \
	plugins/kit/base64.c plugins/kit/base64.h \
	plugins/kit/template.c plugins/kit/template.h \
	plugins/kit/outputs.c plugins/kit/outputs.h
KIT_COMMAND_SRC = \
	plugins/kit/command/settings.c plugins/kit/command/settings.h \
	plugins/kit/command/runas.c plugins/kit/command/runas.h \
	plugins/kit/command/env.c plugins/kit/command/env.h \
	plugins/kit/command/payload.c plugins/kit/command/payload.h \
	plugins/kit/command/workdir.c plugins/kit/command/workdir.h \
	plugins/kit/command/spawn.c plugins/kit/command/proc.h \
	plugins/kit/command/groups.c plugins/kit/command/groups.h \
	plugins/kit/command/supervise.c \
	plugins/kit/command/command.c plugins/kit/command/command.h

noinst_LTLIBRARIES += plugins/kit/libkit.la plugins/kit/libkit-command.la
plugins_kit_libkit_la_SOURCES = $(KIT_SRC)
plugins_kit_libkit_la_CPPFLAGS = $(KIT_CPP)
plugins_kit_libkit_la_CFLAGS = $(PLUGIN_CC) $(JANSSON_CFLAGS) $(NETTLE_CFLAGS)
plugins_kit_libkit_command_la_SOURCES = $(KIT_COMMAND_SRC)
plugins_kit_libkit_command_la_CPPFLAGS = $(KIT_CPP)
plugins_kit_libkit_command_la_CFLAGS = $(PLUGIN_CC) $(JANSSON_CFLAGS)
# What a plugin adds to its LIBADD (or a unit test to its LDADD).
KIT_LIBS = plugins/kit/libkit.la $(NETTLE_LIBS) $(JANSSON_LIBS)
KIT_COMMAND_LIBS = plugins/kit/libkit-command.la $(KIT_LIBS)
EXTRA_DIST += plugins/kit/README.md

# The layering of plugins/: no plugin reaches into another's directory.
TESTS += tests/plugins_layers.sh
EXTRA_DIST += tests/plugins_layers.sh

# One grammar for sizes: kit_size against the forms the plugins' own
# parsers took before, and against the SDK's sluice_json_size.
check_PROGRAMS += tests/unit/test_size
TESTS += tests/unit/test_size
tests_unit_test_size_SOURCES = tests/unit/test_size.c
tests_unit_test_size_CPPFLAGS = $(KIT_CPP)
tests_unit_test_size_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_size_LDADD = $(KIT_LIBS) $(CHECK_LIBS)
