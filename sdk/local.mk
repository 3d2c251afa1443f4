# The SDK: what a plugin author builds against. Installed:
#   $(includedir)/sluice/plugin.h    the ABI (the manual is in the header)
#   $(includedir)/sluice/jansson.h   optional static-inline jansson helpers
#   $(libdir)/pkgconfig/sluice-sdk.pc  plugindir, abi_major, abi_minor; no Requires
#   $(docdir)/sdk/                   one page per host function and callback,
#                                    and the two example plugins
# The mock host (sdk/mock/local.mk) adds libsluice-mock.a, mock_host.h and
# sluice-mock.pc.
sluiceincdir = $(includedir)/sluice
sluiceinc_HEADERS = sdk/include/sluice/plugin.h sdk/include/sluice/jansson.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = sdk/sluice-sdk.pc
EXTRA_DIST += sdk/sluice-sdk.pc.in

# Host functions and plugin callbacks have a page each; tests/abi/docs.sh
# checks that every member of sluice_host and sluice_plugin has one and
# that every example on every page compiles.
SDK_HOST_DOCS = \
	sdk/docs/host_log.md \
	sdk/docs/host_exec_event.md \
	sdk/docs/host_exec_header.md \
	sdk/docs/host_exec_meta.md \
	sdk/docs/host_exec_set_output.md \
	sdk/docs/host_exec_set_error.md \
	sdk/docs/host_exec_set_exit_code.md \
	sdk/docs/host_exec_write_log.md \
	sdk/docs/host_exec_is_cancelled.md \
	sdk/docs/host_exec_complete.md \
	sdk/docs/host_exec_set_response.md \
	sdk/docs/host_exec_body.md \
	sdk/docs/host_exec_set_meta.md
SDK_PLUGIN_DOCS = \
	sdk/docs/plugin_sluice_plugin_v1.md \
	sdk/docs/plugin_init.md \
	sdk/docs/plugin_destroy.md \
	sdk/docs/plugin_configure.md \
	sdk/docs/plugin_unconfigure.md \
	sdk/docs/plugin_execute.md \
	sdk/docs/plugin_cancel.md
SDK_OTHER_DOCS = \
	sdk/docs/README.md \
	sdk/docs/SLUICE_HOST_HAS.md \
	sdk/docs/jansson.md \
	sdk/docs/mock_host.md \
	sdk/docs/building.md
sdkdocdir = $(docdir)/sdk
dist_sdkdoc_DATA = $(SDK_HOST_DOCS) $(SDK_PLUGIN_DOCS) $(SDK_OTHER_DOCS)

# The examples, installed next to the docs so that an author with only the
# installed SDK has a project to copy.
SDK_HELLO_FILES = \
	sdk/examples/hello/README.md \
	sdk/examples/hello/configure.ac \
	sdk/examples/hello/Makefile.am \
	sdk/examples/hello/hello.c \
	sdk/examples/hello/test_hello.c
SDK_HELLO_FLOWS = sdk/examples/hello/flows/hello.conf
SDK_JSONL_FILES = \
	sdk/examples/jsonl/README.md \
	sdk/examples/jsonl/Makefile \
	sdk/examples/jsonl/jsonl.c \
	sdk/examples/jsonl/test_jsonl.c
SDK_JSONL_FLOWS = sdk/examples/jsonl/flows/audit.conf
sdkhellodir = $(sdkdocdir)/examples/hello
dist_sdkhello_DATA = $(SDK_HELLO_FILES)
sdkhelloflowsdir = $(sdkhellodir)/flows
dist_sdkhelloflows_DATA = $(SDK_HELLO_FLOWS)
sdkjsonldir = $(sdkdocdir)/examples/jsonl
dist_sdkjsonl_DATA = $(SDK_JSONL_FILES)
sdkjsonlflowsdir = $(sdkjsonldir)/flows
dist_sdkjsonlflows_DATA = $(SDK_JSONL_FLOWS)
