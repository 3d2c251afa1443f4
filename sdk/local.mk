# The SDK: the ABI header and pkg-config file plugin authors build against.
sluiceincdir = $(includedir)/sluice
sluiceinc_HEADERS = sdk/include/sluice/plugin.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = sdk/sluice-sdk.pc
EXTRA_DIST += sdk/sluice-sdk.pc.in
