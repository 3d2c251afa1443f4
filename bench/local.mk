# bench/: load and latency benchmarks (see bench/README.md).
#
# The two reference servers and the paced load generator are EXTRA_PROGRAMS:
# a plain `make`, `make check` or `make install` never builds them;
# bench/run.sh asks for them by name (`make bench/bare bench/spawn
# bench/paced`). The servers link only MHD and jansson, like the HTTP half
# of sluiced; paced needs nothing but libc. None is ever installed.
EXTRA_PROGRAMS += bench/bare bench/spawn bench/paced

bench_bare_SOURCES = bench/bare.c
bench_bare_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS)
bench_bare_LDADD = $(MHD_LIBS) $(JANSSON_LIBS)

bench_spawn_SOURCES = bench/spawn.c
bench_spawn_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS)
bench_spawn_LDADD = $(MHD_LIBS) $(JANSSON_LIBS)

bench_paced_SOURCES = bench/paced.c

CLEANFILES += bench/bare bench/spawn bench/paced
EXTRA_DIST += bench/run.sh bench/rss.sh bench/count.lua bench/README.md
