# ABI guarantees and the plugin SDK, enforced by tests (issue #7).
#
#   test_abi     layouts of the frozen v1.0 header and the current one
#                (compile-time checks in layout_v1_0.h, run-time comparison),
#                the host table, SLUICE_HOST_HAS, the loader against the
#                v1.0, C99, C++ and example plugins
#   test_sdk     <sluice/jansson.h>, hello, jsonl and the C99/C++ plugins
#                through the mock host
#   exports.sh   nm -D: exactly sluice_plugin_v1 in every built plugin
#   compat.sh    the plugin built from the frozen v1.0 header in sluiced
#   compat11.sh  the plugin built from the frozen v1.1 header in sluiced:
#                exec_body (also after replay and kill -9), exec_set_meta
#   safety.sh    the host against a plugin that breaks every rule
#   late.sh      a second exec_complete from a plugin thread, after the first
#   retry.sh     stray completions of a failed attempt with flow retries
#   jsonl.sh     the jsonl example in sluiced: rotation, reload, errors
#   docs.sh      a page per host function and callback; examples compile
#   install.sh   make install into a temporary root, build sdk/examples/hello
#                out of tree with only PKG_CONFIG_PATH, its make distcheck,
#                install it, run it in the installed sluiced over HTTP
TEST_PLUGIN_DIRS += tests/abi

# Test plugins are linked like third-party plugins but WITHOUT an export
# list, so exports.sh proves the header's visibility rules suffice.
ABI_LINK = -module -avoid-version -no-undefined -shared -rpath /nowhere $(AM_LDFLAGS)
ABI_CXXFLAGS = -pedantic -Werror -Wall -Wextra -Wshadow $(SAN_CFLAGS) \
	-fvisibility=hidden -fvisibility-inlines-hidden $(JANSSON_CFLAGS)

check_LTLIBRARIES += tests/abi/abi10.la tests/abi/abi11.la tests/abi/c99.la \
	tests/abi/cxx11.la tests/abi/cxx20.la tests/abi/hello.la tests/abi/jsonl.la \
	tests/abi/misbehave.la

# Built from the frozen v1.0 header only: no -I for sdk/include.
tests_abi_abi10_la_SOURCES = tests/abi/abi10.c
tests_abi_abi10_la_CPPFLAGS = -I$(srcdir)/tests/abi/frozen/v1.0
tests_abi_abi10_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_abi_abi10_la_LDFLAGS = $(ABI_LINK)
# And one from the frozen v1.1 header only.
tests_abi_abi11_la_SOURCES = tests/abi/abi11.c
tests_abi_abi11_la_CPPFLAGS = -I$(srcdir)/tests/abi/frozen/v1.1
tests_abi_abi11_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_abi_abi11_la_LDFLAGS = $(ABI_LINK)

# ISO C99, pedantic, warnings are errors whatever configure said.
tests_abi_c99_la_SOURCES = tests/abi/c99.c
tests_abi_c99_la_CPPFLAGS = $(PLUGIN_CPP)
tests_abi_c99_la_CFLAGS = -std=c99 -pedantic -Werror $(WARN_CFLAGS) $(SAN_CFLAGS) \
	-fvisibility=hidden $(JANSSON_CFLAGS)
tests_abi_c99_la_LDFLAGS = $(ABI_LINK)
tests_abi_c99_la_LIBADD = $(JANSSON_LIBS)

# C++11 (descriptor filled in order) and C++20 (SLUICE_PLUGIN_DEFINE).
# GCC's C++ front end warns about members a designated initializer leaves
# out (-Wmissing-field-initializers, part of -Wextra); C does not.
tests_abi_cxx11_la_SOURCES = tests/abi/cxx.cc
tests_abi_cxx11_la_CPPFLAGS = $(PLUGIN_CPP) -DCXX_PLUGIN_NAME='"cxx11"'
tests_abi_cxx11_la_CXXFLAGS = -std=c++11 $(ABI_CXXFLAGS)
tests_abi_cxx11_la_LDFLAGS = $(ABI_LINK)
tests_abi_cxx11_la_LIBADD = $(JANSSON_LIBS)
tests_abi_cxx20_la_SOURCES = tests/abi/cxx.cc
tests_abi_cxx20_la_CPPFLAGS = $(PLUGIN_CPP) -DCXX_PLUGIN_NAME='"cxx20"'
tests_abi_cxx20_la_CXXFLAGS = -std=c++20 $(ABI_CXXFLAGS) -Wno-missing-field-initializers
tests_abi_cxx20_la_LDFLAGS = $(ABI_LINK)
tests_abi_cxx20_la_LIBADD = $(JANSSON_LIBS)

# The SDK examples, from their own directories (wrappers keep the objects
# out of sdk/examples in an in-tree build).
tests_abi_hello_la_SOURCES = tests/abi/ex_hello.c
tests_abi_hello_la_CPPFLAGS = $(PLUGIN_CPP) -I$(top_srcdir)/sdk/examples/hello
tests_abi_hello_la_CFLAGS = $(PLUGIN_CC)
tests_abi_hello_la_LDFLAGS = $(ABI_LINK)
tests_abi_jsonl_la_SOURCES = tests/abi/ex_jsonl.c
tests_abi_jsonl_la_CPPFLAGS = $(PLUGIN_CPP) -I$(top_srcdir)/sdk/examples/jsonl
tests_abi_jsonl_la_CFLAGS = $(PLUGIN_CC) $(JANSSON_CFLAGS)
tests_abi_jsonl_la_LDFLAGS = $(ABI_LINK)
tests_abi_jsonl_la_LIBADD = $(JANSSON_LIBS)

tests_abi_misbehave_la_SOURCES = tests/abi/misbehave.c
tests_abi_misbehave_la_CPPFLAGS = $(PLUGIN_CPP)
tests_abi_misbehave_la_CFLAGS = $(PLUGIN_CC) $(JANSSON_CFLAGS)
tests_abi_misbehave_la_LDFLAGS = $(ABI_LINK)
tests_abi_misbehave_la_LIBADD = $(JANSSON_LIBS)

ABI_TESTS = tests/abi/test_abi tests/abi/test_sdk
check_PROGRAMS += $(ABI_TESTS)
TESTS += $(ABI_TESTS)
ABI_PLUGINS = tests/abi/abi10.la tests/abi/abi11.la tests/abi/c99.la tests/abi/cxx11.la \
	tests/abi/cxx20.la tests/abi/hello.la tests/abi/jsonl.la tests/abi/misbehave.la

tests_abi_test_abi_SOURCES = tests/abi/test_abi.c tests/abi/layout.h \
	tests/abi/layout_frozen.c tests/abi/layout_frozen_v1_1.c tests/abi/layout_current.c
tests_abi_test_abi_CPPFLAGS = $(CORE_CPP) \
	-DABI_PLUGIN_DIR='"$(abs_top_builddir)/tests/abi/.libs"' \
	-DFIXTURE_DIR='"$(abs_top_builddir)/tests/plugins/.libs"'
tests_abi_test_abi_CFLAGS = $(CORE_CC) $(CHECK_CFLAGS)
tests_abi_test_abi_LDADD = core/libsluicecore.a $(CORE_LIBS) $(CHECK_LIBS)
EXTRA_tests_abi_test_abi_DEPENDENCIES = $(ABI_PLUGINS)

tests_abi_test_sdk_SOURCES = tests/abi/test_sdk.c tests/abi/abi_cases.h
tests_abi_test_sdk_CPPFLAGS = $(PLUGIN_CPP) -I$(top_srcdir)/sdk/mock \
	-DABI_PLUGIN_DIR='"$(abs_top_builddir)/tests/abi/.libs"'
tests_abi_test_sdk_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CHECK_CFLAGS)
tests_abi_test_sdk_LDADD = sdk/mock/libsluice-mock.a $(JANSSON_LIBS) $(NETTLE_LIBS) $(CHECK_LIBS) $(LIBS)
EXTRA_tests_abi_test_sdk_DEPENDENCIES = $(ABI_PLUGINS)

ABI_SHELL_TESTS = tests/abi/exports.sh tests/abi/compat.sh tests/abi/compat11.sh \
	tests/abi/safety.sh \
	tests/abi/late.sh tests/abi/retry.sh tests/abi/jsonl.sh tests/abi/docs.sh \
	tests/abi/install.sh
TESTS += $(ABI_SHELL_TESTS)
EXTRA_DIST += $(ABI_SHELL_TESTS) tests/abi/todo.sh tests/abi/layout_v1_0.h \
	tests/abi/layout_v1_1.h tests/abi/frozen

# What the scripts need to know about this build: compilers and flags for
# docs.sh and install.sh, and the install directories install.sh stages.
AM_TESTS_ENVIRONMENT += \
	export SLUICE_TEST_CC='$(CC)' SLUICE_TEST_CXX='$(CXX)'; \
	export SLUICE_TEST_JANSSON_CFLAGS='$(JANSSON_CFLAGS)' SLUICE_TEST_JANSSON_LIBS='$(JANSSON_LIBS)'; \
	export SLUICE_TEST_SAN_CFLAGS='$(SAN_CFLAGS)' SLUICE_TEST_SAN_LDFLAGS='$(SAN_LDFLAGS)'; \
	export SLUICE_TEST_PREFIX='$(prefix)' SLUICE_TEST_SBINDIR='$(sbindir)'; \
	export SLUICE_TEST_INCLUDEDIR='$(includedir)' SLUICE_TEST_LIBDIR='$(libdir)'; \
	export SLUICE_TEST_PLUGINDIR='$(pluginsdir)' SLUICE_TEST_PKGCONFIGDIR='$(pkgconfigdir)'; \
	export SLUICE_TEST_DOCDIR='$(sdkdocdir)'; \
	export SLUICE_TEST_SYSCONFDIR='$(sluiceconfdir)' SLUICE_TEST_EXAMPLESDIR='$(examplesdir)';
