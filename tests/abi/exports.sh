#!/usr/bin/env bash
# Every plugin built in this tree exports exactly one dynamic symbol,
# sluice_plugin_v1 (nm -D --defined-only): the first-party plugins, the SDK
# examples, and the C99, C++11 and C++20 build checks, which are linked
# WITHOUT an export list, so -fvisibility=hidden (plus
# -fvisibility-inlines-hidden for C++) and SLUICE_EXPORT alone must do it.
# (tests/abi/install.sh checks the installed plugins the same way.)
. "$SRCDIR/tests/integration/lib.sh"

NM=${NM:-nm}
exports() { "$NM" -D --defined-only "$1" | awk 'NF >= 3 { print $3 }' | sort | tr '\n' ' ' | sed 's/ $//'; }

n=0
for so in "$BUILDDIR"/plugins/*/.libs/*.so "$BUILDDIR"/tests/abi/.libs/*.so; do
    [ -f "$so" ] || continue
    n=$((n + 1))
    name=${so#"$BUILDDIR"/}
    is "$(exports "$so")" sluice_plugin_v1 "$name exports only sluice_plugin_v1"
done
for want in abi10 c99 cxx11 cxx20 hello jsonl misbehave; do
    check "tests/abi/.libs/$want.so was built and checked" test -f "$BUILDDIR/tests/abi/.libs/$want.so"
done
check "the shell plugin was checked" test -f "$BUILDDIR/plugins/shell/.libs/shell.so"

# The entry point is a C symbol in every one of them, C++ included.
is "$("$NM" -D --defined-only "$BUILDDIR/tests/abi/.libs/cxx20.so" | awk '{print $2}')" T \
    "the C++ plugin's entry is an unmangled text symbol"

# And nothing is taken from the daemon: sluiced exports no symbols, so a
# plugin that needed one of its functions would fail to load.
undef=$(for so in "$BUILDDIR"/tests/abi/.libs/*.so "$BUILDDIR"/plugins/*/.libs/*.so; do
            "$NM" -D --undefined-only "$so" | awk '{print $NF}'
        done | sed 's/@.*//' | sort -u |
        grep -E '^(sluice_|host_|loader_|engine_|exec_|log_|config_|store_|http_|router_|units_|event_|api_)' || true)
is "$undef" "" "no plugin needs a symbol from sluiced"
done_testing
