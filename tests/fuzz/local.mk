# libFuzzer targets: one per parser of untrusted bytes, each checking what
# must hold of its output, not only that it does not crash. They need a
# tree configured with CC=clang --enable-fuzz (the whole tree is then
# built with coverage and ASan+UBSan); "make fuzz" builds them there and
# "make fuzz-run" runs each for FUZZ_SECONDS on a copy of its seed corpus
# and its regression inputs, printing TAP.
FUZZ_TARGETS = \
	tests/fuzz/fuzz_event \
	tests/fuzz/fuzz_router \
	tests/fuzz/fuzz_query \
	tests/fuzz/fuzz_json \
	tests/fuzz/fuzz_signature \
	tests/fuzz/fuzz_units \
	tests/fuzz/fuzz_filter \
	tests/fuzz/fuzz_followbuf \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_captoken \
	tests/fuzz/fuzz_framing
EXTRA_PROGRAMS += $(FUZZ_TARGETS)
CLEANFILES += $(FUZZ_TARGETS)

FUZZ_CPP = $(CORE_CPP)
FUZZ_CC = $(CORE_CC)
FUZZ_LIBS = core/libsluicecore.a $(CORE_LIBS)
FUZZ_LINK = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz.c

tests_fuzz_fuzz_event_SOURCES = tests/fuzz/fuzz_event.c $(FUZZ_COMMON)
tests_fuzz_fuzz_event_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_event_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_event_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_event_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_router_SOURCES = tests/fuzz/fuzz_router.c $(FUZZ_COMMON)
tests_fuzz_fuzz_router_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_router_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_router_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_router_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_query_SOURCES = tests/fuzz/fuzz_query.c $(FUZZ_COMMON)
tests_fuzz_fuzz_query_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_query_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_query_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_query_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c $(FUZZ_COMMON)
tests_fuzz_fuzz_json_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_json_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_json_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_signature_SOURCES = tests/fuzz/fuzz_signature.c $(FUZZ_COMMON)
tests_fuzz_fuzz_signature_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_signature_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_signature_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_signature_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_units_SOURCES = tests/fuzz/fuzz_units.c $(FUZZ_COMMON)
tests_fuzz_fuzz_units_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_units_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_units_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_units_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_filter_SOURCES = tests/fuzz/fuzz_filter.c $(FUZZ_COMMON)
tests_fuzz_fuzz_filter_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_filter_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_filter_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_filter_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_followbuf_SOURCES = tests/fuzz/fuzz_followbuf.c $(FUZZ_COMMON)
tests_fuzz_fuzz_followbuf_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_followbuf_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_followbuf_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_followbuf_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(FUZZ_COMMON)
tests_fuzz_fuzz_config_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LIBS)

tests_fuzz_fuzz_captoken_SOURCES = tests/fuzz/fuzz_captoken.c $(FUZZ_COMMON)
tests_fuzz_fuzz_captoken_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_captoken_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_captoken_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_captoken_LDADD = $(FUZZ_LIBS)

tests_fuzz_fuzz_framing_SOURCES = tests/fuzz/fuzz_framing.c $(FUZZ_COMMON)
tests_fuzz_fuzz_framing_CPPFLAGS = $(FUZZ_CPP)
tests_fuzz_fuzz_framing_CFLAGS = $(FUZZ_CC)
tests_fuzz_fuzz_framing_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_framing_LDADD = $(FUZZ_LIBS)

FUZZ_SECONDS = 20
FUZZ_JOBS = 2
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/lsan.supp tests/fuzz/corpus tests/fuzz/regressions

if FUZZ
fuzz: $(FUZZ_TARGETS)
fuzz-run: fuzz
	$(BASH) $(top_srcdir)/tests/fuzz/run.sh -d '$(abs_top_builddir)/tests/fuzz' \
	  -s '$(abs_top_srcdir)/tests/fuzz' -t '$(FUZZ_SECONDS)' -j '$(FUZZ_JOBS)' $(FUZZ_ONLY)
else
fuzz fuzz-run:
	@echo "make $@: the fuzz targets need a clang build configured for them:" >&2; \
	echo "  mkdir build-fuzz && cd build-fuzz && CC=clang ../configure --enable-fuzz && make $@" >&2; \
	exit 1
endif
.PHONY: fuzz fuzz-run
