# The shell executor plugin: built like any third-party plugin, against
# sdk/include only, exporting nothing but sluice_plugin_v1.
SHELL_PLUGIN_SRC = \
	plugins/shell/shell.c plugins/shell/shell.h \
	plugins/shell/execute.c

plugins_LTLIBRARIES += plugins/shell/shell.la
# Integration tests find the uninstalled shell.so through SLUICE_PLUGIN_PATH.
TEST_PLUGIN_DIRS += plugins/shell
plugins_shell_shell_la_SOURCES = $(SHELL_PLUGIN_SRC)
plugins_shell_shell_la_CPPFLAGS = $(KIT_CPP) -DSHELL_PLUGIN_VERSION='"$(PACKAGE_VERSION)"'
plugins_shell_shell_la_CFLAGS = $(PLUGIN_CC) $(JANSSON_CFLAGS)
plugins_shell_shell_la_LDFLAGS = $(PLUGIN_LINK)
plugins_shell_shell_la_LIBADD = $(KIT_COMMAND_LIBS)

# Unit tests: the plugin's sources compiled into the test (so internal
# functions such as the template resolver can be tested directly), run
# through the SDK mock host. One test also dlopen()s the built shell.so.
check_PROGRAMS += tests/unit/test_shell
TESTS += tests/unit/test_shell
tests_unit_test_shell_SOURCES = \
	tests/unit/test_shell.c \
	tests/unit/shell_test.h \
	tests/unit/shell_test_util.c \
	tests/unit/shell_test_units.c \
	tests/unit/shell_test_config.c \
	tests/unit/shell_test_run.c \
	tests/unit/shell_test_cancel.c \
	tests/unit/shell_test_mock.c \
	$(SHELL_PLUGIN_SRC)
tests_unit_test_shell_CPPFLAGS = $(KIT_CPP) -I$(top_srcdir)/plugins/shell \
	-I$(top_srcdir)/sdk/mock
tests_unit_test_shell_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_shell_LDADD = sdk/mock/libsluice-mock.a $(KIT_COMMAND_LIBS) $(CHECK_LIBS)
# The dlopen test needs the plugin built first.
EXTRA_tests_unit_test_shell_DEPENDENCIES = plugins/shell/shell.la
