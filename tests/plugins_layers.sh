#!/usr/bin/env bash
# plugins_layers.sh - the layering of plugins/: code a plugin shares with
# another lives in plugins/kit, so no file under plugins/ includes a path
# that climbs out of its directory ("../"), and no plugin's local.mk names
# another plugin's sources (only its own and plugins/kit's libraries).
# Speaks TAP; SRCDIR is the source tree (set by make check).
set -u
src=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

# 1: no #include "../..." anywhere under plugins/
bad=$(cd "$src" && grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\./' plugins \
	--include='*.c' --include='*.h' || true)
if [ -z "$bad" ]; then
	ok 'no #include "../" under plugins/'
else
	not_ok 'no #include "../" under plugins/'
	sed 's/^/# /' <<<"$bad"
fi

# 2: a plugin's local.mk names only plugins/<itself>/ and plugins/kit/
found=0
for mk in "$src"/plugins/*/local.mk; do
	dir=$(basename "$(dirname "$mk")")
	[ "$dir" = kit ] && continue
	# every plugins/NAME/ path outside comments, NAME neither itself nor kit
	others=$(sed 's/#.*//' "$mk" | grep -noE 'plugins/[A-Za-z0-9_-]+/' |
		grep -vE ":plugins/($dir|kit)/\$" | sort -u -t: -k1,1n || true)
	if [ -n "$others" ]; then
		found=1
		while IFS= read -r line; do
			echo "# plugins/$dir/local.mk:${line%%:*}: names ${line#*:}"
		done <<<"$others"
	fi
done
if [ "$found" = 0 ]; then
	ok "no plugin's local.mk names another plugin's sources"
else
	not_ok "no plugin's local.mk names another plugin's sources"
fi

# 3: a -I into another plugin's directory is the same reach by another way
bad=
for mk in "$src"/plugins/*/local.mk; do
	dir=$(basename "$(dirname "$mk")")
	hit=$(sed 's/#.*//' "$mk" | grep -noE -- '-I[^ ]*plugins/[A-Za-z0-9_-]+' |
		grep -vE -- "plugins/($dir|kit)\$" || true)
	[ -n "$hit" ] && bad="$bad${bad:+ }plugins/$dir/local.mk:${hit//$'\n'/ }"
done
if [ -z "$bad" ]; then
	ok "no plugin's build reaches into another plugin's directory with -I"
else
	not_ok "no plugin's build reaches into another plugin's directory with -I"
	sed 's/^/# /' <<<"$bad"
fi

echo "1..$n"
exit $fail
