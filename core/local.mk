# sluiced, the daemon. The sources other than main.c also form a
# convenience library so unit tests link exactly the code that ships.
CORE_SOURCES = \
	core/api.c core/api.h \
	core/apiauth.c core/apiauth.h \
	core/auth.c core/auth.h \
	core/captoken.c core/captoken.h \
	core/config.c core/config.h \
	core/confparse.c core/confparse.h \
	core/engine.c core/engine.h \
	core/event.c core/event.h \
	core/exec.c core/exec.h \
	core/execstate.c core/execstate.h \
	core/execdoc.c core/execdoc.h \
	core/filter.c core/filter.h \
	core/framing.c core/framing.h \
	core/follow.c core/follow.h \
	core/followbuf.c core/followbuf.h \
	core/gate.c core/gate.h core/gate_impl.h core/gateconf.c \
	core/generation.c core/generation.h \
	core/fsutil.c core/fsutil.h \
	core/gitmod.h \
	core/gitsync.c core/gitsync.h \
	core/host.c core/host.h \
	core/http.c core/http.h \
	core/intake.c core/intake.h \
	core/jsonout.c core/jsonout.h \
	core/jsonscan.c core/jsonscan.h \
	core/loader.c core/loader.h \
	core/log.c core/log.h \
	core/metrics.c core/metrics.h \
	core/module.c core/module.h \
	core/pidlock.c core/pidlock.h \
	core/prematch.c core/prematch.h \
	core/ratelimit.c core/ratelimit.h \
	core/request.h \
	core/reply.c core/reply.h \
	core/router.c core/router.h \
	core/shapes.c core/shapes.h \
	core/startlog.c core/startlog.h \
	core/store.c core/store.h \
	core/syncwait.c core/syncwait.h \
	core/store.c core/store.h core/store_sqlite.c core/store_sqlite.h \
	core/store_sqlite_read.c core/store_sqlite_write.c \
	core/units.c core/units.h \
	core/codec.c core/codec.h \
	sdk/abi/abi_rules.c sdk/abi/abi_rules.h \
	core/xalloc.c core/xalloc.h

CORE_CPP = -I$(top_srcdir)/core -I$(top_srcdir)/sdk/include -I$(top_srcdir)/sdk/abi \
	-DPLUGINDIR='"$(pluginsdir)"' -DMODULEDIR='"$(modulesdir)"' \
	-DSYSCONFDIR='"$(sysconfdir)"' -DLOCALSTATEDIR='"$(localstatedir)"'
# No libgit2 here: flows.git's libgit2 half is a module (modules/gitsync),
# so a sluiced without flows.git does not map it (core/gitmod.h).
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
