#!/usr/bin/env bash
# quickstart.sh - set up, build and run or test sluice on Debian 12.
#
#   ./quickstart.sh run    install what is missing, build, and start sluiced
#                          in the foreground on 127.0.0.1:8080 with the
#                          sample flows in flows/ (state, including the
#                          execution store, goes to var/)
#   ./quickstart.sh test   install what is missing, build, check the style
#                          (make checkstyle), run the whole test suite
#                          (normal build, then an ASan+UBSan build, then the
#                          threaded unit and integration tests in a
#                          ThreadSanitizer build, then every libFuzzer target
#                          for FUZZ_SECONDS, 20 by default, in a clang build),
#                          and print "N passed, M failed"
#
# Installing packages needs root (or sudo). Builds go to build/, build-san/,
# build-tsan/ and build-fuzz/ so the source tree stays clean.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

BUILD_PKGS="build-essential autoconf automake libtool pkg-config
  libmicrohttpd-dev libconfig-dev libjansson-dev libgit2-dev
  libcurl4-openssl-dev libsqlite3-dev libssl-dev nettle-dev check curl"
# Every command a test runs comes from here: a minimal Debian root has
# neither xxd nor openssl, and the proxy, slow-client, metrics and fuzz
# tests run nginx, slowhttptest, promtool and clang's libFuzzer.
TEST_PKGS="jq procps podman runc busybox-static git sqlite3 xxd openssl
  nginx slowhttptest prometheus netcat-openbsd clang libclang-rt-14-dev clang-format"

# What the ThreadSanitizer build runs (see "test" below): the tests whose
# daemon exercises every thread. Not shutdown.sh: under TSan's slowdown it
# hits, about one run in three, libmicrohttpd 0.9.75's own race between
# MHD_quiesce_daemon and a pool thread over the listen socket's epoll entry
# (a panic in daemon.c, "Failed to remove listen FD from epoll set"); the
# other builds run it.
TSAN_TESTS="tests/unit/test_store tests/unit/test_follow tests/unit/test_exec tests/unit/test_event
  tests/integration/http.sh tests/integration/sync_async.sh tests/integration/limits.sh
  tests/integration/on_limit.sh tests/integration/signals.sh
  tests/integration/shutdown_kill.sh tests/integration/store.sh tests/integration/recovery.sh
  tests/integration/follow.sh tests/integration/fanout.sh tests/integration/framing.sh
  tests/integration/admin.sh"

say() { printf '\033[1mquickstart:\033[0m %s\n' "$*"; }

install_packages() {
    local missing=()
    for p in $*; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

bootstrap() {
    mkdir -p m4
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
        say "autoreconf -fi"
        autoreconf -fi >/dev/null
    fi
}

# build DIR [CONFIGURE ARGS...]
build() {
    local dir=$1; shift
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/Makefile" ]; then
        say "configure $* (in $dir)"
        # autoconf's clean-up runs "rm -f core", which complains about the
        # core/ directory: harmless, and filtered out.
        (cd "$dir" && "$ROOT/configure" -q "$@" 2>&1 | { grep -v "cannot remove 'core'" >&2 || true; }
         exit "${PIPESTATUS[0]}")
    fi
    say "make ${BUILD_TARGET:-} (in $dir)"
    make -C "$dir" -s -j"$(nproc)" ${BUILD_TARGET:-} >/dev/null
}

# Sum the TAP results that make check recorded in test-suite.log files,
# and those of plain TAP files (the fuzz run).
summarize() {
    local pass=0 failed=0 f n
    for f in "$@"; do
        [ -f "$f" ] || continue
        if [ "${f%.tap}" != "$f" ]; then
            n=$(grep -c '^ok ' "$f"); pass=$((pass + n))
            n=$(grep -c '^not ok ' "$f"); failed=$((failed + n))
            continue
        fi
        n=$(sed -n 's/^# PASS: *//p' "$f" | head -1); pass=$((pass + ${n:-0}))
        for k in FAIL ERROR XPASS; do
            n=$(sed -n "s/^# $k: *//p" "$f" | head -1); failed=$((failed + ${n:-0}))
        done
    done
    echo "$pass passed, $failed failed"
    [ "$failed" -eq 0 ]
}

cmd=${1:-}
case "$cmd" in
run)
    install_packages $BUILD_PKGS
    bootstrap
    build build --enable-werror
    cat <<EOT

sluiced is starting on http://127.0.0.1:8080 with flows/sluice.conf. Try:

  curl -s -X POST http://127.0.0.1:8080/hooks/hello -H 'Content-Type: application/json' -d '{"name":"world"}'

Stop it with Ctrl-C.
EOT
    plugin_path=$(ls -d "$ROOT"/build/plugins/*/.libs | paste -sd:)
    module_path=$(ls -d "$ROOT"/build/modules/*/.libs | paste -sd:)
    SLUICE_PLUGIN_PATH=$plugin_path SLUICE_MODULE_PATH=$module_path \
        exec build/sluiced -c flows/sluice.conf --state-dir "$ROOT/var"
    ;;
test)
    # Whatever fails, the last line is the summary CI reads.
    trap 'st=$?; [ $st -ne 0 ] && [ -z "${SUMMARIZED:-}" ] && echo "0 passed, 1 failed"; exit $st' EXIT
    install_packages $BUILD_PKGS $TEST_PKGS
    bootstrap
    build build --enable-werror
    rc=0
    # The style check (CODE_STYLE.md) counts as one test of its own.
    say "make checkstyle (in build)"
    if make -C build -s checkstyle >build/checkstyle.out 2>&1; then
        echo "ok 1 - make checkstyle" >build/checkstyle.tap
    else
        { echo "not ok 1 - make checkstyle"; sed 's/^/# /' build/checkstyle.out; } >build/checkstyle.tap
        rc=1
    fi
    say "make check (in build)"
    make -C build -s -j2 check >/dev/null 2>&1 || rc=1
    build build-san --enable-werror --enable-sanitizers
    say "make check (in build-san, ASan+UBSan)"
    make -C build-san -s -j2 check >/dev/null 2>&1 || rc=1
    # ThreadSanitizer: the threaded unit tests and the integration tests that drive
    # every thread (libmicrohttpd pool, workers, timer, store writer, syncer,
    # checkpointer, follow, reload, shutdown). TSan runs sluiced 5-15 times
    # slower, so the single-threaded rest (parsers, CLI, plugins' options)
    # stays with the other two builds.
    build build-tsan --enable-werror --enable-sanitizers=thread
    say "make check (in build-tsan, ThreadSanitizer)"
    make -C build-tsan -s -j2 check TESTS="$TSAN_TESTS" >/dev/null 2>&1 || rc=1
    # The fuzz targets (tests/fuzz): built by clang with libFuzzer, ASan and
    # UBSan, each run for a bounded time; a crash is a failed check.
    fuzz_tap=build-fuzz/fuzz.tap
    mkdir -p build-fuzz
    if BUILD_TARGET=fuzz build build-fuzz CC=clang --enable-fuzz --enable-werror; then
        say "make fuzz-run (in build-fuzz, ${FUZZ_SECONDS:-20}s a target)"
        make -C build-fuzz -s fuzz-run FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >"$fuzz_tap" 2>&1 || rc=1
    else
        echo "not ok 1 - make fuzz (in build-fuzz) failed" >"$fuzz_tap"
        rc=1
    fi
    for d in build build-san build-tsan; do
        grep -h '^\(FAIL\|ERROR\|XPASS\)' "$d/test-suite.log" 2>/dev/null | sed "s/^/$d: /" || true
    done
    grep -h '^not ok' "$fuzz_tap" | sed "s/^/build-fuzz: /" || true
    grep -h '^not ok' build/checkstyle.tap | sed "s/^/build: /" || true
    if [ $rc -ne 0 ]; then
        for d in build build-san build-tsan; do
            [ -f "$d/test-suite.log" ] && sed -n '/^\(FAIL\|ERROR\)/,$p' "$d/test-suite.log" | head -200
        done
        sed -n '/^not ok/,/^ok/p' "$fuzz_tap" | head -200
        head -40 build/checkstyle.tap
    fi
    SUMMARIZED=1
    summarize build/test-suite.log build-san/test-suite.log build-tsan/test-suite.log "$fuzz_tap" build/checkstyle.tap || rc=1
    exit $rc
    ;;
*)
    sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
