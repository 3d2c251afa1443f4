#!/usr/bin/env bash
# The SDK as a third party gets it: install sluice into a temporary root,
# then, with nothing but PKG_CONFIG_PATH pointing there,
#   - check sluice-sdk.pc (plugindir, abi_major, abi_minor, no Requires),
#     the headers, the mock host, the docs and the installed plugins
#     (nm -D: exactly sluice_plugin_v1 each), and sluiced's flows.git
#     module (no .la, exactly sluice_gitmod_v1, loaded by the installed
#     sluiced);
#   - build hello.c with the documented one-line cc command;
#   - copy sdk/examples/hello out of the tree, autoreconf, configure, make,
#     make check (its mock-host unit test), make distcheck, make install;
#   - start the installed sluiced with --plugin-dir $(pkg-config
#     --variable=plugindir sluice-sdk) and the example's sample flow, and
#     trigger it over HTTP;
#   - uninstall both and check that nothing is left.
#
# The temporary root is made with `make install DESTDIR=...` from this
# build tree (fast, and it works in make distcheck's read-only source
# tree). Installing under DESTDIR leaves the configured prefix in the .pc
# files, so their absolute variables are then rooted in the staging
# directory: exactly what `configure --prefix=$ROOT$prefix` would have
# written. Nothing else is touched.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/abi/todo.sh"
trap 'chmod -R u+w "$T" 2>/dev/null; cleanup' EXIT

# Sub-makes must not inherit this make's jobserver, flags or variables.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS DESTDIR
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR PKG_CONFIG_PATH SLUICE_PLUGIN_PATH SLUICE_MODULE_PATH
unset CFLAGS CPPFLAGS LDFLAGS LIBS
CC=${SLUICE_TEST_CC:-cc}
export CC

missing=
for tool in autoreconf pkg-config make libtoolize; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    skip "install and build the hello example out of tree" "missing:$missing"
    done_testing
    exit 0
fi

exports() { nm -D --defined-only "$1" | awk 'NF >= 3 { print $3 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
# run NAME COMMAND...: run quietly into $T/NAME.log; show its tail on failure.
run() {
    local name=$1; shift
    if "$@" > "$T/$name.log" 2>&1; then return 0; fi
    diag "$name failed: $*"
    tail -40 "$T/$name.log" | sed 's/^/#   /'
    return 1
}

# ---- 1. install into a temporary root ------------------------------------
ROOT=$T/root
check "make install DESTDIR=<tmp> from the build tree" run install make -C "$BUILDDIR" install DESTDIR="$ROOT"
PCDIR=$ROOT$SLUICE_TEST_PKGCONFIGDIR
PLUGINDIR=$ROOT$SLUICE_TEST_PLUGINDIR
INCDIR=$ROOT$SLUICE_TEST_INCLUDEDIR
check "sluice-sdk.pc is installed in \$(libdir)/pkgconfig" test -f "$PCDIR/sluice-sdk.pc"
sed -i -E "s|^([A-Za-z_][A-Za-z0-9_]*)=/|\\1=$ROOT/|" "$PCDIR"/sluice-*.pc
export PKG_CONFIG_PATH=$PCDIR

hdr=$SRCDIR/sdk/include/sluice/plugin.h
major=$(sed -n 's/^#define SLUICE_ABI_MAJOR \([0-9]*\)$/\1/p' "$hdr")
minor=$(sed -n 's/^#define SLUICE_ABI_MINOR \([0-9]*\)$/\1/p' "$hdr")
is "$(pkg-config --variable=plugindir sluice-sdk)" "$PLUGINDIR" \
    "pkg-config --variable=plugindir sluice-sdk names where sluiced looks"
is "$(pkg-config --variable=abi_major sluice-sdk).$(pkg-config --variable=abi_minor sluice-sdk)" \
    "$major.$minor" "abi_major and abi_minor match <sluice/plugin.h>"
is "$(pkg-config --print-requires sluice-sdk)$(pkg-config --print-requires-private sluice-sdk)" "" \
    "sluice-sdk has no Requires"
is "$(pkg-config --libs sluice-sdk | tr -d ' ')" "" "sluice-sdk has nothing to link"
is "$(pkg-config --cflags sluice-sdk | sed 's/ *$//')" "-I$INCDIR" "sluice-sdk Cflags: -I\$(includedir)"
for h in plugin.h jansson.h; do
    check "<sluice/$h> is installed as shipped" cmp -s "$SRCDIR/sdk/include/sluice/$h" "$INCDIR/sluice/$h"
done
check "<sluice/mock_host.h> is installed" cmp -s "$SRCDIR/sdk/mock/mock_host.h" "$INCDIR/sluice/mock_host.h"
check "libsluice-mock.a is installed" test -f "$ROOT$SLUICE_TEST_LIBDIR/libsluice-mock.a"
like "$(pkg-config --libs sluice-mock)" "-L$ROOT$SLUICE_TEST_LIBDIR -lsluice-mock" \
    "sluice-mock.pc links the mock host"
ndocs=$(ls "$ROOT$SLUICE_TEST_DOCDIR"/host_*.md "$ROOT$SLUICE_TEST_DOCDIR"/plugin_*.md 2>/dev/null | wc -l)
nsrc=$(ls "$SRCDIR"/sdk/docs/host_*.md "$SRCDIR"/sdk/docs/plugin_*.md | wc -l)
check "there are pages for the ABI 1.1 host functions ($nsrc)" [ "$nsrc" -ge 20 ]
is "$ndocs" "$nsrc" "a doc page per host function and per plugin callback is installed"
check "the examples are installed with the docs" \
    test -f "$ROOT$SLUICE_TEST_DOCDIR/examples/hello/configure.ac" -a -f "$ROOT$SLUICE_TEST_DOCDIR/examples/jsonl/jsonl.c"

n=0
for so in "$PLUGINDIR"/*.so; do
    [ -f "$so" ] || continue
    n=$((n + 1))
    is "$(exports "$so")" sluice_plugin_v1 "installed ${so##*/} exports only sluice_plugin_v1"
done
check "at least one plugin is installed" test "$n" -ge 1
is "$(ls "$PLUGINDIR" | grep -c '\.la$')" 0 "no libtool archives next to installed plugins"

# sluiced's own modules (core/base/module.h): not plugins, and not in the plugindir.
MODULEDIR=$ROOT$SLUICE_TEST_MODULEDIR
check "the flows.git module is installed in \$(pkglibdir)/modules" test -f "$MODULEDIR/gitsync.so"
is "$(ls "$MODULEDIR" | grep -c '\.la$')" 0 "no libtool archives next to installed modules"
is "$(exports "$MODULEDIR/gitsync.so")" sluice_gitmod_v1 "installed gitsync.so exports only sluice_gitmod_v1"

# The sample flow of the example, used below by both builds.
mkdir -p "$T/flows.d"
cp "$SRCDIR/sdk/examples/hello/flows/hello.conf" "$T/flows.d/"
write_config <<EOF2
$SERVER_BLOCK
flows: { include = "flows.d/*.conf"; };
EOF2
SLUICED=$ROOT$SLUICE_TEST_SBINDIR/sluiced
check "sluiced is installed" test -x "$SLUICED"
# Staged under DESTDIR, the installed sluiced looks for its modules in the
# unstaged path; SLUICE_MODULE_PATH points it at the staged one.
cat > "$T/git.conf" <<EOF2
$SERVER_BLOCK
flows: { git = { url = "file://$T/nowhere.git"; poll = "0"; }; };
EOF2
out=$(SLUICE_MODULE_PATH=$MODULEDIR "$SLUICED" -c "$T/git.conf" --state-dir "$T/gitstate" \
    --check-config 2>&1)
like "$out" "flows\.git: cannot fetch file://$T/nowhere\.git" \
    "the installed sluiced loads the installed gitsync.so for flows.git"

# The configuration: one that opens no door, and the samples, whose keys
# are published, only as examples that nothing reads.
ETC=$ROOT$SLUICE_TEST_SYSCONFDIR
EXAMPLES=$ROOT$SLUICE_TEST_EXAMPLESDIR
check "the samples are installed as examples" \
    test -f "$EXAMPLES/sluice.conf" -a -f "$EXAMPLES/flows.d/dialects.conf" -a -f "$EXAMPLES/flows.d/hello.conf"
is "$(cd "$ETC" && find . | sort | tr '\n' ' ')" ". ./flows.d ./sluice.conf " \
    "\$(sysconfdir)/sluice holds a sluice.conf and an empty flows.d"
is "$(grep -rlE 'DEMO|CHANGE-ME|whsec_' "$ETC")" "" "no demo key in \$(sysconfdir)/sluice"
out=$(SLUICE_MODULE_PATH=$MODULEDIR "$ROOT$SLUICE_TEST_SBINDIR/sluiced" -c "$ETC/sluice.conf" \
    --state-dir "$T/etcstate" --check-config 2>&1)
is "$out" "sluiced: configuration $ETC/sluice.conf is valid: 0 flows, 0 triggers" \
    "the installed sluice.conf is valid, with nothing to warn about"

# ---- 2. the one-line build ----------------------------------------------
mkdir -p "$T/one"
cp "$SRCDIR/sdk/examples/hello/hello.c" "$T/one/"
(cd "$T/one" && cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags sluice-sdk) -o hello.so hello.c) \
    > "$T/one.log" 2>&1
check "cc -shared -fPIC -fvisibility=hidden \$(pkg-config --cflags sluice-sdk) -o hello.so hello.c" \
    test -f "$T/one/hello.so"
is "$(exports "$T/one/hello.so")" sluice_plugin_v1 "the one-line build exports only sluice_plugin_v1"
check "hello.c is clean under -std=c99 -pedantic -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror" \
    run strict "$CC" -std=c99 -pedantic -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Werror \
    -shared -fPIC -fvisibility=hidden $(pkg-config --cflags sluice-sdk) -o "$T/one/strict.so" "$T/one/hello.c"
out=$("$SLUICED" -c "$T/sluice.conf" --check-config --plugin-dir "$T/one" 2>&1); rc=$?
is "$rc" 0 "the installed sluiced loads and configures the one-line build"
[ "$rc" = 0 ] || diag "$out"

# ---- 3. the example project, out of tree ---------------------------------
cp -R "$SRCDIR/sdk/examples/hello" "$T/hello"
chmod -R u+w "$T/hello"
if [ "${SLUICE_SANITIZED:-}" = yes ]; then
    # The installed mock host is instrumented like the rest of this build.
    export CFLAGS="-g -O1 $SLUICE_TEST_SAN_CFLAGS" LDFLAGS="$SLUICE_TEST_SAN_LDFLAGS"
fi
check "hello: autoreconf -fi" run autoreconf sh -c "cd '$T/hello' && autoreconf -fi"
mkdir -p "$T/hello/_b"
check "hello: configure finds sluice-sdk through PKG_CONFIG_PATH only" \
    run configure sh -c "cd '$T/hello/_b' && ../configure --prefix='$T/hello-prefix'"
is "$(sed -n 's/^plugindir = //p' "$T/hello/_b/Makefile")" "$PLUGINDIR" \
    "hello: plugindir comes from pkg-config (PKG_CHECK_VAR)"
check "hello: make" run make sh -c "cd '$T/hello/_b' && make"
check "hello: make check (its unit test through the mock host)" run check sh -c "cd '$T/hello/_b' && make check"
like "$(grep -h '^# PASS' "$T/check.log")" 'PASS: *[1-9]' "hello: its unit test ran and passed"
check "hello: make distcheck" run distcheck sh -c "cd '$T/hello/_b' && make distcheck"
like "$(cat "$T/distcheck.log")" '_inst/lib/sluice/plugins' \
    "hello: distcheck installs under its own prefix (--with-plugindir)"
check "hello: make install" run hinstall sh -c "cd '$T/hello/_b' && make install"
check "hello: installed into the SDK's plugindir" test -f "$PLUGINDIR/hello.so"
check "hello: no libtool archive installed" test ! -e "$PLUGINDIR/hello.la"
is "$(exports "$PLUGINDIR/hello.so")" sluice_plugin_v1 "hello: exports only sluice_plugin_v1"

# The second example has a plain Makefile: pkg-config only.
cp -R "$SRCDIR/sdk/examples/jsonl" "$T/jsonl"
chmod -R u+w "$T/jsonl"
check "jsonl: make check with plain make and pkg-config (its mock-host test)" \
    run jsonl make -C "$T/jsonl" check CC="$CC"
is "$(exports "$T/jsonl/jsonl.so")" sluice_plugin_v1 "jsonl: exports only sluice_plugin_v1"

# ---- 4. the installed sluiced runs the installed example -----------------
start_sluiced --plugin-dir "$(pkg-config --variable=plugindir sluice-sdk)" ||
    { fail "the installed sluiced starts with the hello flow"; done_testing; exit 1; }
like "$(cat "$T/sluiced.log")" "loaded plugin hello 1\\.0\\.0 \\(ABI $major\\.[0-9]+\\) from $PLUGINDIR/hello\\.so" \
    "sluiced loads hello.so from the plugindir pkg-config names"
req POST /hooks/hello -H 'X-Name: plugin author'
is "$STATUS" 200 "POST /hooks/hello runs the hello executor"
is "$(jq_get .data.outputs.message)" "hello, plugin author" "hello's outputs come back over HTTP"
id=$(jq_get .data.id)
req GET "/api/v1/executions/$id"
is "$(jq_get .data.stdout)" "hello, plugin author" "and its stdout is kept with the execution"
req POST /hooks/hello
is "$(jq_get .data.outputs.message)" "hello, world" "without X-Name: hello, world"
stop_sluiced TERM
is "$SLUICE_RC" 0 "the installed sluiced exits 0 on SIGTERM"

# The installed configuration starts cleanly and accepts nothing, not even
# the samples' requests with their demo keys.
start_sluiced -c "$ETC/sluice.conf" --listen 127.0.0.1:0 ||
    { fail "the installed sluiced starts on the installed sluice.conf"; done_testing; exit 1; }
unlike "$(grep -v ' info  ' "$T/sluiced.log")" . "...logging no warning or error"
like "$(cat "$T/sluiced.log")" "ready: 0 flows, 0 triggers" "...with no flow and no trigger"
req POST /api/webhook/acme/deploy -H 'Content-Type: application/json' \
    -d '{"key": "demo-cloudomation-key-CHANGE-ME"}'
is "$STATUS" 404 "a sample's request with its demo key finds no trigger"
stop_sluiced TERM
is "$SLUICE_RC" 0 "...and it exits 0 on SIGTERM"

# ---- 5. and everything uninstalls ----------------------------------------
check "hello: make uninstall" run huninstall sh -c "cd '$T/hello/_b' && make uninstall"
check "hello: hello.so is gone" test ! -e "$PLUGINDIR/hello.so"
check "make uninstall DESTDIR=<tmp>" run uninstall make -C "$BUILDDIR" uninstall DESTDIR="$ROOT"
left=$(cd "$ROOT" && find . -type f | sort | tr '\n' ' ')
is "$left" "" "nothing is left after make uninstall" \
    "core: Makefile.am removes the .la files at install, so libtool's uninstall cannot find the plugins' .so files; uninstall-hook must delete them (make distcheck fails the same way)"

done_testing
