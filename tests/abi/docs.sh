#!/usr/bin/env bash
# sdk/docs keeps up with the ABI: a page per member of sluice_host and per
# callback of sluice_plugin (read from <sluice/plugin.h> itself, so a new
# host function without a page fails here), each with every section, every
# page indexed, installed and linked correctly, and every example compiling
# as ISO C99 (-pedantic -Werror) against the headers the SDK installs.
. "$SRCDIR/tests/integration/lib.sh"

DOCS=$SRCDIR/sdk/docs
HDR=$SRCDIR/sdk/include/sluice/plugin.h
CC=${SLUICE_TEST_CC:-cc}
CXX=${SLUICE_TEST_CXX:-c++}

# The headers laid out as installed: <sluice/plugin.h>, <sluice/jansson.h>,
# <sluice/mock_host.h>.
mkdir -p "$T/inc/sluice"
cp "$SRCDIR/sdk/include/sluice/plugin.h" "$SRCDIR/sdk/include/sluice/jansson.h" \
   "$SRCDIR/sdk/mock/mock_host.h" "$T/inc/sluice/"

# Members that are function pointers, in declaration order.
members() { # START-REGEX END-REGEX
    sed -n "/$1/,/$2/p" "$HDR" | grep -o '(\*[a-z_0-9]*)' | tr -d '(*)'
}
host_fns=$(members '^struct sluice_host {' '^};')
plugin_cbs=$(members '^typedef struct sluice_plugin {' '^} sluice_plugin;')
check "found the host functions in plugin.h" test "$(echo $host_fns | wc -w)" -ge 11
check "found the plugin callbacks in plugin.h" test "$(echo $plugin_cbs | wc -w)" -ge 6

pages=
for f in $host_fns; do pages="$pages host_$f"; done
for f in $plugin_cbs; do pages="$pages plugin_$f"; done
pages="$pages plugin_sluice_plugin_v1 SLUICE_HOST_HAS"

sections='Synopsis Description Threading Ownership Return.value Example Availability See.also'
for p in $pages; do
    file=$DOCS/$p.md
    if [ ! -f "$file" ]; then
        fail "sdk/docs/$p.md exists"
        continue
    fi
    missing=
    for s in $sections; do
        grep -Eq "^## $s\$" "$file" || missing="$missing ${s/./ }"
    done
    is "$missing" "" "sdk/docs/$p.md has every section"
done

# Every page is in the index, in sdk/local.mk (so it is distributed and
# installed), and every relative link of every page leads somewhere.
for file in "$DOCS"/*.md; do
    b=${file##*/}
    [ "$b" = README.md ] || check "$b is linked from sdk/docs/README.md" grep -q "($b)" "$DOCS/README.md"
    check "$b is listed in sdk/local.mk" grep -q "sdk/docs/$b" "$SRCDIR/sdk/local.mk"
    bad=
    for link in $(grep -o '](\([^)#:]*\))' "$file" | sed 's/^](//; s/)$//'); do
        [ -e "$DOCS/$link" ] || bad="$bad $link"
    done
    is "$bad" "" "$b: every relative link resolves"
done

# The examples compile. Each page's first ```c block after "## Example" is a
# whole translation unit.
CFLAGS_DOC="-std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Wextra -Wshadow -Werror \
    -Wno-unused-function -Wno-unused-parameter -fsyntax-only -I$T/inc $SLUICE_TEST_JANSSON_CFLAGS"
for file in "$DOCS"/*.md; do
    b=${file##*/}
    awk '/^## Example/ { ex = 1 } ex && /^```c$/ { on = 1; next } on && /^```$/ { exit } on { print }' \
        "$file" > "$T/example.c"
    [ "$b" = README.md ] && continue
    if [ ! -s "$T/example.c" ]; then
        fail "$b has a C example"
        continue
    fi
    # shellcheck disable=SC2086
    if $CC $CFLAGS_DOC -x c "$T/example.c" > "$T/cc.log" 2>&1; then
        ok "$b: the example compiles as C99 -pedantic -Werror"
    else
        fail "$b: the example compiles as C99 -pedantic -Werror"
        sed 's/^/#   /' "$T/cc.log" | head -20
    fi
done

# The C++ descriptor of building.md, with the callbacks it names.
awk '/^```c\+\+$/ { on = 1; next } on && /^```$/ { exit } on { print }' "$DOCS/building.md" > "$T/body.cc"
{
    echo '#include <sluice/plugin.h>'
    for f in init:'int(const sluice_host*,void**,char*,size_t){return 0;}' \
             destroy:'void(void*){}' \
             configure:'int(void*,const char*,size_t,const char*,void**,char*,size_t){return 0;}' \
             unconfigure:'void(void*){}' execute:'int(void*,sluice_exec*){return 0;}' \
             cancel:'void(void*,sluice_exec*){}'; do
        sig=${f#*:}
        echo "static ${sig%%(*} my_${f%%:*}(${sig#*(}"
    done
    cat "$T/body.cc"
} > "$T/example.cc"
if $CXX -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$T/inc" "$T/example.cc" > "$T/cxx.log" 2>&1; then
    ok "building.md: the C++11 descriptor compiles"
else
    fail "building.md: the C++11 descriptor compiles"
    sed 's/^/#   /' "$T/cxx.log" | head -20
fi

# The documented one-line build is the same everywhere it is shown.
oneliner='cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags sluice-sdk) -o hello.so hello.c'
for f in sdk/docs/building.md sdk/examples/hello/README.md sdk/examples/hello/hello.c README.md; do
    check "$f shows the one-line build" grep -qF -- "${oneliner#cc }" "$SRCDIR/$f"
done

done_testing
