# sluiced, the daemon. The sources other than main.c also form a
# convenience library so unit tests link exactly the code that ships.
CORE_SOURCES = \
	core/front/api.c core/front/api.h \
	core/front/apiauth.c core/front/apiauth.h \
	core/gate/auth.c core/gate/auth.h \
	core/gate/captoken.c core/gate/captoken.h \
	core/conf/config.c core/model/config.h \
	core/base/confparse.c core/base/confparse.h \
	core/run/engine.c core/run/engine.h \
	core/model/event.c core/model/event.h \
	core/run/exec.c core/run/exec.h core/run/exec_impl.h \
	core/model/execstate.c core/model/execstate.h \
	core/model/execdoc.c core/model/execdoc.h \
	core/gate/filter.c core/gate/filter.h \
	core/front/framing.c core/front/framing.h \
	core/front/follow.c core/front/follow.h \
	core/base/followbuf.c core/base/followbuf.h \
	core/gate/gate.c core/gate/gate.h core/gate/gate_impl.h core/gate/gateconf.c \
	core/run/generation.c core/run/generation.h \
	core/base/fsutil.c core/base/fsutil.h \
	core/conf/gitmod.h \
	core/conf/gitsync.c core/conf/gitsync.h \
	core/run/host.c core/run/host.h \
	core/front/http.c core/front/http.h \
	core/front/intake.c core/front/intake.h \
	core/base/jsonout.c core/base/jsonout.h \
	core/base/jsonscan.c core/base/jsonscan.h \
	core/run/loader.c core/run/loader.h \
	core/base/log.c core/base/log.h \
	core/model/metrics.c core/model/metrics.h \
	core/base/module.c core/base/module.h \
	core/base/pidlock.c core/base/pidlock.h \
	core/front/prematch.c core/front/prematch.h \
	core/base/ratelimit.c core/base/ratelimit.h \
	core/model/request.h \
	core/front/reply.c core/front/reply.h \
	core/base/router.c core/base/router.h \
	core/gate/shapes.c core/gate/shapes.h \
	core/base/startlog.c core/base/startlog.h \
	core/run/store.c core/run/store.h \
	core/front/syncwait.c core/front/syncwait.h core/front/webhook.c core/front/webhook.h \
	core/run/store.c core/run/store.h core/run/store_sqlite.c core/run/store_sqlite.h \
	core/run/store_sqlite_read.c core/run/store_sqlite_write.c \
	core/base/units.c core/base/units.h \
	core/base/codec.c core/base/codec.h \
	sdk/abi/abi_rules.c sdk/abi/abi_rules.h \
	core/base/xalloc.c core/base/xalloc.h

CORE_INCLUDES = -I$(top_srcdir)/core/base -I$(top_srcdir)/core/model -I$(top_srcdir)/core/gate -I$(top_srcdir)/core/conf -I$(top_srcdir)/core/run -I$(top_srcdir)/core/front
CORE_CPP = $(CORE_INCLUDES) -I$(top_srcdir)/sdk/include -I$(top_srcdir)/sdk/abi \
	-DPLUGINDIR='"$(pluginsdir)"' -DMODULEDIR='"$(modulesdir)"' \
	-DSYSCONFDIR='"$(sysconfdir)"' -DLOCALSTATEDIR='"$(localstatedir)"'
# No libgit2 here: flows.git's libgit2 half is a module (modules/gitsync),
# so a sluiced without flows.git does not map it (core/conf/gitmod.h).
CORE_CC = $(AM_CFLAGS) $(MHD_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(NETTLE_CFLAGS) \
	$(SQLITE_CFLAGS)
CORE_LIBS = $(MHD_LIBS) $(LIBCONFIG_LIBS) $(JANSSON_LIBS) $(NETTLE_LIBS) $(SQLITE_LIBS) $(LIBS)

noinst_LIBRARIES += core/libsluicecore.a
core_libsluicecore_a_SOURCES = $(CORE_SOURCES)
core_libsluicecore_a_CPPFLAGS = $(CORE_CPP)
core_libsluicecore_a_CFLAGS = $(CORE_CC)

sbin_PROGRAMS += sluiced
sluiced_SOURCES = core/main.c
sluiced_CPPFLAGS = $(CORE_CPP)
sluiced_CFLAGS = $(CORE_CC)
sluiced_LDADD = core/libsluicecore.a $(CORE_LIBS)
