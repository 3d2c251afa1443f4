# The container executor plugin: a Docker Engine API client over a unix
# socket (Docker, or Podman's compatible service), built like any
# third-party plugin against sdk/include only, exporting nothing but
# sluice_plugin_v1. See plugins/container/README.md.
CONTAINER_PLUGIN_SRC = \
	plugins/container/container.c plugins/container/container.h \
	plugins/container/execute.c \
	plugins/container/preflight.c \
	plugins/container/settings.c plugins/container/settings.h \
	plugins/container/sandbox.c plugins/container/settings_parts.h \
	plugins/container/spec.c plugins/container/spec.h \
	plugins/container/engine.c plugins/container/engine.h \
	plugins/container/api.c plugins/container/api.h \
	plugins/container/attach.c plugins/container/attach.h \
	plugins/container/frames.c plugins/container/frames.h \
	plugins/container/workdir.c plugins/container/workdir.h
# Placeholders and $SLUICE_OUTPUT behave exactly as in the shell executor:
# both come from plugins/kit, compiled into this plugin.

plugins_LTLIBRARIES += plugins/container/container.la
TEST_PLUGIN_DIRS += plugins/container
plugins_container_container_la_SOURCES = $(CONTAINER_PLUGIN_SRC)
plugins_container_container_la_CPPFLAGS = $(KIT_CPP) \
	-DCTR_PLUGIN_VERSION='"$(PACKAGE_VERSION)"' $(LIBCURL_CFLAGS) $(JANSSON_CFLAGS)
plugins_container_container_la_CFLAGS = $(PLUGIN_CC)
plugins_container_container_la_LDFLAGS = $(PLUGIN_LINK)
plugins_container_container_la_LIBADD = $(KIT_LIBS) $(LIBCURL_LIBS) $(JANSSON_LIBS) -lm

# Unit tests: the plugin's sources compiled into the test (so the settings
# parser, the frame splitter and the create body can be tested directly),
# run through the SDK mock host against a fake engine on a unix socket.
check_PROGRAMS += tests/unit/test_container
TESTS += tests/unit/test_container
tests_unit_test_container_SOURCES = tests/unit/test_container.c \
	tests/unit/test_container_fake.c tests/unit/test_container_fake.h \
	$(CONTAINER_PLUGIN_SRC)
tests_unit_test_container_CPPFLAGS = $(KIT_CPP) -I$(top_srcdir)/plugins/container \
	-I$(top_srcdir)/sdk/mock $(LIBCURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_container_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_container_LDADD = sdk/mock/libsluice-mock.a $(KIT_LIBS) $(LIBCURL_LIBS) $(JANSSON_LIBS) \
	$(CHECK_LIBS) -lm -lpthread

# Integration: a real sluiced and a real engine (Podman started by the test
# on a private socket); one clear skip line when no engine can run here.
TESTS += tests/integration/container.sh
EXTRA_DIST += tests/integration/container.sh plugins/container/README.md

# bench/container.sh: per-execution overhead against the shell executor
# (run by hand, like bench/run.sh; see its header).
EXTRA_DIST += bench/container.sh
