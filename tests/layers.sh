#!/bin/sh
# layers.sh - core/ depends only downward (plugins/: plugins_layers.sh).
#
# core/ is in layers, one folder each, lowest first:
#
#   base < model < gate < conf < run < front < main (core/main.c)
#
# A file may include the headers of its own layer and of the layers below
# it; an include that runs upward fails, naming the file and the include.
# An _impl.h header (the private fields of a type) is included only by
# files of its own layer. Inside a layer, the modules (a .c with its .h and _impl.h) must not
# include each other in a cycle. A header declares only what the .c of its
# name defines (config.h, the parsed types, sits in model below config.c),
# so a call upward cannot hide behind a declaration in a lower header.
#
# TAP: one check per rule, each failure a diagnostic line. See
# docs/architecture.md for what each layer holds.
set -u
SRC=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$SRC" || exit 1
LAYERS="base model gate conf run front"

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; }

# The layer of every core file, and the rank of every layer.
map=$(mktemp)
trap 'rm -f "$map" "$map.inc" "$map.bad"' EXIT
: > "$map.bad"
for f in core/*.c core/*.h core/*/*.c core/*/*.h; do
    [ -e "$f" ] || continue
    case "$f" in
    core/main.c) echo "main.c main 6" >> "$map" ;;
    core/*/*)
        layer=${f#core/}
        layer=${layer%%/*}
        rank=0 found=
        for l in $LAYERS; do
            [ "$l" = "$layer" ] && found=1 && break
            rank=$((rank + 1))
        done
        if [ -n "$found" ]; then
            echo "$(basename "$f") $layer $rank" >> "$map"
        else
            echo "$f: in core/$layer/, which is not a layer ($LAYERS)" >> "$map.bad"
        fi
        ;;
    *) echo "$f: directly in core/ (only main.c is; the rest is in a layer folder)" >> "$map.bad" ;;
    esac
done
if [ -s "$map.bad" ]; then
    sed 's/^/# /' "$map.bad"
    notok "every core file is in a layer folder"
else
    ok "every core file is in a layer folder"
fi

# Every quoted include of a core file, as "file layer rank header".
for f in core/main.c core/*/*.c core/*/*.h; do
    [ -e "$f" ] || continue
    b=$(basename "$f")
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r h; do echo "$b $h"; done
done > "$map.inc"

up=$(awk 'NR == FNR { layer[$1] = $2; rank[$1] = $3; next }
    ($2 in rank) && rank[$2] > rank[$1] {
        printf "# %s (%s) includes %s, which is in %s, a layer above\n",
            $1, layer[$1], $2, layer[$2]
    }' "$map" "$map.inc")
if [ -n "$up" ]; then
    echo "$up"
    notok "no include runs upward"
else
    ok "no include runs upward"
fi

# A private part (_impl.h) is read only inside its own layer: the front
# sees an execution through exec.h, a gate through gate.h.
priv=$(awk 'NR == FNR { layer[$1] = $2; next }
    $2 ~ /_impl\.h$/ && ($2 in layer) && layer[$1] != layer[$2] {
        printf "# %s (%s) includes %s, private to %s\n", $1, layer[$1], $2, layer[$2]
    }' "$map" "$map.inc")
if [ -n "$priv" ]; then
    echo "$priv"
    notok "no _impl.h is included outside its layer"
else
    ok "no _impl.h is included outside its layer"
fi

# Cycles between modules of one layer: a module is a file's name without
# its extension and without _impl.
cyc=$(awk 'function mod(x) { sub(/\.[ch]$/, "", x); sub(/_impl$/, "", x); return x }
    function visit(m,    i, t) {
        state[m] = 1
        stack[++depth] = m
        for (i = 1; i <= nout[m]; i++) {
            t = out[m, i]
            if (state[t] == 1) {
                path = t
                for (j = depth; j >= 1 && stack[j] != t; j--) path = stack[j] " -> " path
                print "# a cycle in " layer[m] ": " t " -> " path
                found = 1
            } else if (!state[t])
                visit(t)
        }
        depth--
        state[m] = 2
    }
    NR == FNR { l = mod($1); layer[l] = $2; next }
    {
        a = mod($1); b = mod($2)
        if (a == b || !(b in layer) || layer[a] != layer[b] || seen[a, b]++) next
        out[a, ++nout[a]] = b
    }
    END { for (m in layer) if (!state[m]) visit(m); exit found ? 1 : 0 }' "$map" "$map.inc")
if [ -n "$cyc" ]; then
    echo "$cyc"
    notok "no two modules of one layer include each other in a cycle"
else
    ok "no two modules of one layer include each other in a cycle"
fi

echo "1..$n"
