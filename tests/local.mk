# Tests: Check unit tests (tests/unit), loader fixtures (tests/plugins),
# and integration tests that run a real sluiced on loopback
# (tests/integration, driven by bash and curl).
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(BASH)
AM_SH_LOG_FLAGS =

UNIT_CPP = $(CORE_CPP) -DTEST_PLUGIN_DIR='"$(abs_top_builddir)/tests/plugins/.libs"' \
	-DTEST_SRCDIR='"$(abs_top_srcdir)"'
UNIT_CC = $(CORE_CC) $(CHECK_CFLAGS)
UNIT_LIBS = core/libsluicecore.a $(CORE_LIBS) $(CHECK_LIBS)

UNIT_TESTS = tests/unit/test_units tests/unit/test_router tests/unit/test_config \
	tests/unit/test_event tests/unit/test_loader tests/unit/test_exec \
	tests/unit/test_auth tests/unit/test_gate tests/unit/test_captoken \
	tests/unit/test_jsonscan tests/unit/test_jsonout tests/unit/test_startlog \
	tests/unit/test_follow tests/unit/test_gitsync tests/unit/test_store \
	tests/unit/test_xalloc tests/unit/test_front tests/unit/test_framing \
	tests/unit/test_apiauth tests/unit/test_intake tests/unit/test_duration tests/unit/test_execdoc
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_test_units_SOURCES = tests/unit/test_units.c
tests_unit_test_units_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_units_CFLAGS = $(UNIT_CC)
tests_unit_test_units_LDADD = $(UNIT_LIBS)
tests_unit_test_duration_SOURCES = tests/unit/test_duration.c
tests_unit_test_duration_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_duration_CFLAGS = $(UNIT_CC)
tests_unit_test_duration_LDADD = $(UNIT_LIBS)
tests_unit_test_front_SOURCES = tests/unit/test_front.c
tests_unit_test_front_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_front_CFLAGS = $(UNIT_CC)
tests_unit_test_front_LDADD = $(UNIT_LIBS)
# Admission against fakes of the engine and the store (defined in the test),
# so it links intake.c alone instead of the core library.
tests_unit_test_intake_SOURCES = tests/unit/test_intake.c core/front/intake.c core/base/xalloc.c
tests_unit_test_intake_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_intake_CFLAGS = $(UNIT_CC)
tests_unit_test_intake_LDADD = $(CORE_LIBS) $(CHECK_LIBS)
tests_unit_test_xalloc_SOURCES = tests/unit/test_xalloc.c
tests_unit_test_xalloc_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_xalloc_CFLAGS = $(UNIT_CC)
tests_unit_test_xalloc_LDADD = $(UNIT_LIBS)
tests_unit_test_framing_SOURCES = tests/unit/test_framing.c
tests_unit_test_framing_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_framing_CFLAGS = $(UNIT_CC)
tests_unit_test_framing_LDADD = $(UNIT_LIBS)
tests_unit_test_apiauth_SOURCES = tests/unit/test_apiauth.c
tests_unit_test_apiauth_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_apiauth_CFLAGS = $(UNIT_CC)
tests_unit_test_apiauth_LDADD = $(UNIT_LIBS)
tests_unit_test_router_SOURCES = tests/unit/test_router.c
tests_unit_test_router_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_router_CFLAGS = $(UNIT_CC)
tests_unit_test_router_LDADD = $(UNIT_LIBS)
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_config_CFLAGS = $(UNIT_CC)
tests_unit_test_config_LDADD = $(UNIT_LIBS)
tests_unit_test_event_SOURCES = tests/unit/test_event.c
tests_unit_test_event_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_event_CFLAGS = $(UNIT_CC)
tests_unit_test_event_LDADD = $(UNIT_LIBS)
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_loader_CFLAGS = $(UNIT_CC)
tests_unit_test_loader_LDADD = $(UNIT_LIBS)
tests_unit_test_exec_SOURCES = tests/unit/test_exec.c tests/abi/abi_cases.h
tests_unit_test_exec_CPPFLAGS = $(UNIT_CPP) -I$(top_srcdir)/tests/abi
tests_unit_test_exec_CFLAGS = $(UNIT_CC)
tests_unit_test_exec_LDADD = $(UNIT_LIBS)
tests_unit_test_auth_SOURCES = tests/unit/test_auth.c
tests_unit_test_auth_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_auth_CFLAGS = $(UNIT_CC)
tests_unit_test_auth_LDADD = $(UNIT_LIBS)
tests_unit_test_gate_SOURCES = tests/unit/test_gate.c
tests_unit_test_gate_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_gate_CFLAGS = $(UNIT_CC)
tests_unit_test_gate_LDADD = $(UNIT_LIBS)
tests_unit_test_captoken_SOURCES = tests/unit/test_captoken.c
tests_unit_test_captoken_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_captoken_CFLAGS = $(UNIT_CC)
tests_unit_test_captoken_LDADD = $(UNIT_LIBS)
tests_unit_test_follow_SOURCES = tests/unit/test_follow.c
tests_unit_test_follow_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_follow_CFLAGS = $(UNIT_CC)
tests_unit_test_follow_LDADD = $(UNIT_LIBS)
tests_unit_test_jsonscan_SOURCES = tests/unit/test_jsonscan.c
tests_unit_test_jsonscan_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_jsonscan_CFLAGS = $(UNIT_CC)
tests_unit_test_jsonscan_LDADD = $(UNIT_LIBS)
tests_unit_test_jsonout_SOURCES = tests/unit/test_jsonout.c
tests_unit_test_jsonout_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_jsonout_CFLAGS = $(UNIT_CC)
tests_unit_test_jsonout_LDADD = $(UNIT_LIBS)
tests_unit_test_startlog_SOURCES = tests/unit/test_startlog.c
tests_unit_test_startlog_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_startlog_CFLAGS = $(UNIT_CC)
tests_unit_test_startlog_LDADD = $(UNIT_LIBS)
tests_unit_test_gitsync_SOURCES = tests/unit/test_gitsync.c
tests_unit_test_gitsync_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_gitsync_CFLAGS = $(UNIT_CC)
tests_unit_test_gitsync_LDADD = $(UNIT_LIBS)
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_store_CFLAGS = $(UNIT_CC)
tests_unit_test_store_LDADD = $(UNIT_LIBS)
tests_unit_test_execdoc_SOURCES = tests/unit/test_execdoc.c
tests_unit_test_execdoc_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_execdoc_CFLAGS = $(UNIT_CC)
tests_unit_test_execdoc_LDADD = $(UNIT_LIBS)

# Loader fixtures: one shared object per way a plugin can be wrong.
FIXTURE_LINK = -module -avoid-version -no-undefined -shared -rpath /nowhere $(AM_LDFLAGS)
FIXTURE_CPP = -I$(top_srcdir)/sdk/include
FIXTURE_CC = $(AM_CFLAGS) -fvisibility=hidden
check_LTLIBRARIES += tests/plugins/good.la tests/plugins/nosym.la tests/plugins/major.la \
	tests/plugins/minor.la tests/plugins/small.la tests/plugins/nullcb.la \
	tests/plugins/badname.la tests/plugins/dupe.la tests/plugins/initfail.la \
	tests/plugins/bigtail.la tests/plugins/bigzero.la
tests_plugins_good_la_SOURCES = tests/plugins/fixture.c
tests_plugins_good_la_CPPFLAGS = $(FIXTURE_CPP)
tests_plugins_good_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_good_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_nosym_la_SOURCES = tests/plugins/fixture.c
tests_plugins_nosym_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_NOSYM
tests_plugins_nosym_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_nosym_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_major_la_SOURCES = tests/plugins/fixture.c
tests_plugins_major_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_MAJOR -DFIXTURE_NAME='"major"'
tests_plugins_major_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_major_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_minor_la_SOURCES = tests/plugins/fixture.c
tests_plugins_minor_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_MINOR -DFIXTURE_NAME='"minor"'
tests_plugins_minor_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_minor_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_small_la_SOURCES = tests/plugins/fixture.c
tests_plugins_small_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_SMALL -DFIXTURE_NAME='"small"'
tests_plugins_small_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_small_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_nullcb_la_SOURCES = tests/plugins/fixture.c
tests_plugins_nullcb_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_NULLCB -DFIXTURE_NAME='"nullcb"'
tests_plugins_nullcb_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_nullcb_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_badname_la_SOURCES = tests/plugins/fixture.c
tests_plugins_badname_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_NAME='"Bad Name"'
tests_plugins_badname_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_badname_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_dupe_la_SOURCES = tests/plugins/fixture.c
tests_plugins_dupe_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_NAME='"good"'
tests_plugins_dupe_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_dupe_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_initfail_la_SOURCES = tests/plugins/fixture.c
tests_plugins_initfail_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_INITFAIL -DFIXTURE_NAME='"initfail"'
tests_plugins_initfail_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_initfail_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_bigtail_la_SOURCES = tests/plugins/fixture.c
tests_plugins_bigtail_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_BIGTAIL -DFIXTURE_NAME='"bigtail"'
tests_plugins_bigtail_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_bigtail_la_LDFLAGS = $(FIXTURE_LINK)
tests_plugins_bigzero_la_SOURCES = tests/plugins/fixture.c
tests_plugins_bigzero_la_CPPFLAGS = $(FIXTURE_CPP) -DFIXTURE_BIGZERO -DFIXTURE_NAME='"bigzero"'
tests_plugins_bigzero_la_CFLAGS = $(FIXTURE_CC)
tests_plugins_bigzero_la_LDFLAGS = $(FIXTURE_LINK)

# A flows.git module from another build, for tests/integration/modules.sh.
check_LTLIBRARIES += tests/modules/gitsync.la
tests_modules_gitsync_la_SOURCES = tests/modules/stale.c
tests_modules_gitsync_la_CPPFLAGS = $(CORE_INCLUDES)
tests_modules_gitsync_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_modules_gitsync_la_LDFLAGS = $(FIXTURE_LINK)

# Integration tests: a real sluiced on 127.0.0.1, driven by curl.
INTEGRATION_TESTS = \
	tests/integration/http.sh \
	tests/integration/sync_async.sh \
	tests/integration/limits.sh \
	tests/integration/signals.sh \
	tests/integration/secret_reload.sh \
	tests/integration/shutdown.sh \
	tests/integration/shell.sh \
	tests/integration/cli.sh \
	tests/integration/store.sh \
	tests/integration/crash.sh \
	tests/integration/crash_children.sh \
	tests/integration/recovery.sh \
	tests/integration/statedir.sh \
	tests/integration/diskfull.sh \
	tests/integration/retention.sh \
	tests/integration/dialects.sh \
	tests/integration/auth.sh \
	tests/integration/refusals.sh \
	tests/integration/badinput.sh \
	tests/integration/json_suite.sh \
	tests/integration/json_exact.sh \
	tests/integration/follow.sh \
	tests/integration/records.sh \
	tests/integration/on_limit.sh \
	tests/integration/fanout.sh \
	tests/integration/shutdown_kill.sh \
	tests/integration/modules.sh \
	tests/integration/framing.sh \
	tests/integration/slowclients.sh \
	tests/integration/admin.sh \
	tests/integration/replay_limits.sh
TESTS += $(INTEGRATION_TESTS)
# modules.sh skips the missing-module check when a gitsync.so is installed there.
AM_TESTS_ENVIRONMENT += export SLUICE_TEST_MODULEDIR='$(modulesdir)';
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/unit/conf \
	tests/data/JSONTestSuite

UNIT_TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CPPFLAGS = $(UNIT_CPP)
tests_unit_test_metrics_CFLAGS = $(UNIT_CC)
tests_unit_test_metrics_LDADD = $(UNIT_LIBS)

# core/ in layers: no include runs upward (docs/architecture.md).
TESTS += tests/layers.sh
EXTRA_DIST += tests/layers.sh
