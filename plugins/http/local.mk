# The http executor plugin: built like any third-party plugin, against
# sdk/include only, exporting nothing but sluice_plugin_v1. libcurl moves
# the bytes, jansson reads the event and the config, libcrypto signs.
HTTP_PLUGIN_SRC = \
	plugins/http/http.c plugins/http/http.h \
	plugins/http/execute.c \
	plugins/http/loop.c plugins/http/loop.h \
	plugins/http/request.c plugins/http/request.h \
	plugins/http/result.c \
	plugins/http/settings.c plugins/http/settings.h \
	plugins/http/body.c plugins/http/body.h \
	plugins/http/sign.c plugins/http/sign.h \
	plugins/http/guard.c plugins/http/guard.h \
	plugins/http/util.c plugins/http/util.h

HTTP_PLUGIN_CPP = $(KIT_CPP) -DHTTP_PLUGIN_VERSION='"$(PACKAGE_VERSION)"'
HTTP_PLUGIN_CFLAGS = $(JANSSON_CFLAGS) $(LIBCURL_CFLAGS) $(CRYPTO_CFLAGS)
HTTP_PLUGIN_LIBS = $(KIT_LIBS) $(JANSSON_LIBS) $(LIBCURL_LIBS) $(CRYPTO_LIBS)

plugins_LTLIBRARIES += plugins/http/http.la
TEST_PLUGIN_DIRS += plugins/http
plugins_http_http_la_SOURCES = $(HTTP_PLUGIN_SRC)
plugins_http_http_la_CPPFLAGS = $(HTTP_PLUGIN_CPP)
plugins_http_http_la_CFLAGS = $(PLUGIN_CC) $(HTTP_PLUGIN_CFLAGS)
plugins_http_http_la_LDFLAGS = $(PLUGIN_LINK)
plugins_http_http_la_LIBADD = $(HTTP_PLUGIN_LIBS)
EXTRA_DIST += plugins/http/README.md

# Unit tests (Check): the plugin's sources compiled into the test, so the
# signing, template, guard and settings code is tested directly; the
# configure tests go through the SDK mock host.
check_PROGRAMS += tests/unit/test_http
TESTS += tests/unit/test_http
tests_unit_test_http_SOURCES = \
	tests/unit/test_http_main.c tests/unit/test_http_suites.h \
	tests/unit/test_http_sign.c \
	tests/unit/test_http_template.c \
	tests/unit/test_http_guard.c \
	tests/unit/test_http_config.c \
	tests/unit/test_http_run.c \
	$(HTTP_PLUGIN_SRC)
tests_unit_test_http_CPPFLAGS = $(HTTP_PLUGIN_CPP) -I$(top_srcdir)/plugins/http \
	-I$(top_srcdir)/sdk/mock
tests_unit_test_http_CFLAGS = $(AM_CFLAGS) $(HTTP_PLUGIN_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_http_LDADD = sdk/mock/libsluice-mock.a $(HTTP_PLUGIN_LIBS) $(CHECK_LIBS) -ldl \
	-lpthread

# The test receiver: a small libmicrohttpd server that records every
# request as a JSON line and answers as scripted per path.
check_PROGRAMS += tests/http_receiver/receiver
tests_http_receiver_receiver_SOURCES = tests/http_receiver/receiver.c
tests_http_receiver_receiver_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS)
tests_http_receiver_receiver_LDADD = $(MHD_LIBS) $(JANSSON_LIBS) -lpthread

HTTP_INTEGRATION_TESTS = \
	tests/integration/http_forward.sh \
	tests/integration/http_forward_body.sh \
	tests/integration/http_forward_retry.sh \
	tests/integration/http_forward_tls.sh \
	tests/integration/http_forward_sign.sh \
	tests/integration/http_forward_guard.sh
TESTS += $(HTTP_INTEGRATION_TESTS)
EXTRA_DIST += $(HTTP_INTEGRATION_TESTS) tests/integration/http_forward_lib.sh \
	bench/forward.sh
