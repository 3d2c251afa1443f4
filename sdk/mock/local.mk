# The SDK mock host: a static library that stands in for sluiced in a
# plugin's unit tests (see sdk/mock/mock_host.h). Installed with the SDK as
# $(libdir)/libsluice-mock.a, <sluice/mock_host.h> and sluice-mock.pc, so an
# out-of-tree plugin links its tests with `pkg-config --libs sluice-mock`.
lib_LIBRARIES += sdk/mock/libsluice-mock.a
# sdk/abi/abi_rules.c is the loader's own file: the mock refuses exactly
# what sluiced refuses.
sdk_mock_libsluice_mock_a_SOURCES = sdk/mock/mock_host.c sdk/mock/mock_host.h \
	sdk/abi/abi_rules.c sdk/abi/abi_rules.h
sdk_mock_libsluice_mock_a_CPPFLAGS = -I$(top_srcdir)/sdk/include -I$(top_srcdir)/sdk/abi
sdk_mock_libsluice_mock_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(NETTLE_CFLAGS)
sluiceinc_HEADERS += sdk/mock/mock_host.h

# sluice-mock.pc is made by make rather than configure so that it follows
# the directories given to make install. The mock links jansson, libdl and
# pthreads, and Nettle for base64 as sluiced decodes it; since it is only a
# static library they are public requirements.
pkgconfig_DATA += sdk/mock/sluice-mock.pc
CLEANFILES += sdk/mock/sluice-mock.pc
EXTRA_DIST += sdk/mock/sluice-mock.pc.in
sdk/mock/sluice-mock.pc: $(srcdir)/sdk/mock/sluice-mock.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) sdk/mock && sed \
	  -e 's|@prefix[@]|$(prefix)|g' -e 's|@exec_prefix[@]|$(exec_prefix)|g' \
	  -e 's|@libdir[@]|$(libdir)|g' -e 's|@includedir[@]|$(includedir)|g' \
	  -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	  $(srcdir)/sdk/mock/sluice-mock.pc.in > $@.tmp && mv -f $@.tmp $@
