#!/usr/bin/env bash
# bench/git.sh - how the git executor's mirror behaves on a sizeable
# repository: 1,000 commits and 5,000 files, served over file://.
#
#   bench/git.sh                 # BUILDDIR defaults to ./build if it exists
#   bench/git.sh /path/to/build
#
# Measures, through a real sluiced (the git plugin logs each fetch at debug
# level with its duration):
#   - the first clone (a fetch into an empty mirror) and the first execution
#     (clone + checkout of 5,000 files + run);
#   - a no-change fetch (median of BENCH_GIT_RUNS) and an execution on a warm
#     mirror (no-change fetch, checkout reused);
#   - an incremental fetch after one new commit.
# `git clone --bare` of the same repository is timed alongside for scale.
# A benchmark, not a test: it prints numbers and exits 0 unless something
# fails to run. The git command is needed to build the repository only.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILDDIR=${1:-${BUILDDIR:-}}
if [ -z "$BUILDDIR" ]; then
    if [ -x "$SRC/build/sluiced" ]; then BUILDDIR=$SRC/build; else BUILDDIR=$SRC; fi
fi
SLUICED=$BUILDDIR/sluiced
PLUGIN_DIR=$BUILDDIR/plugins/git/.libs
RUNS=${BENCH_GIT_RUNS:-5}
COMMITS=1000
FILES=5000

for tool in git curl jq; do
    command -v "$tool" >/dev/null || { echo "bench/git.sh: $tool is needed" >&2; exit 1; }
done
[ -x "$SLUICED" ] && [ -f "$PLUGIN_DIR/git.so" ] ||
    { echo "bench/git.sh: build sluiced and plugins/git first ($BUILDDIR)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-git.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID"
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@sluice.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@sluice.invalid
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

now_ms() { date +%s%3N; }

# ---- the repository, written with git fast-import (seconds, not minutes) ----
t0=$(now_ms)
git init -q --bare -b main "$T/repo.git"
awk -v commits="$COMMITS" -v files="$FILES" 'BEGIN {
    ts = 1700000000
    for (c = 1; c <= commits; c++) {
        print "commit refs/heads/main"
        print "committer bench <bench@sluice.invalid> " (ts + c) " +0000"
        msg = "commit " c
        print "data " length(msg); print msg
        if (c == 1) {
            script = "#!/bin/sh\necho \"commit $SLUICE_GIT_COMMIT\"\n"
            printf "M 100755 inline bin/run.sh\ndata %d\n%s", length(script), script
            for (f = 0; f < files - 1; f++) {
                body = "file " f " of the benchmark repository, first version\n"
                printf "M 100644 inline d%02d/f%04d.txt\ndata %d\n%s", f % 50, f, length(body), body
            }
        } else {
            # Five files change per commit, spread over the tree.
            for (k = 0; k < 5; k++) {
                f = (c * 7 + k * 997) % (files - 1)
                body = "file " f " changed by commit " c "\n"
                printf "M 100644 inline d%02d/f%04d.txt\ndata %d\n%s", f % 50, f, length(body), body
            }
        }
        print ""
    }
}' | git -C "$T/repo.git" fast-import --quiet
git -C "$T/repo.git" gc -q
build_ms=$(($(now_ms) - t0))
ncommits=$(git -C "$T/repo.git" rev-list --count main)
nfiles=$(git -C "$T/repo.git" ls-tree -r main | wc -l)
size=$(du -sh "$T/repo.git" | cut -f1)

t0=$(now_ms)
git clone -q --bare "file://$T/repo.git" "$T/cli-clone.git"
cli_ms=$(($(now_ms) - t0))

# ---- sluiced with one git flow on that repository ----
cat > "$T/sluice.conf" <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; shutdown_timeout = "10s"; };
flows = ( { id = "bench"; executor = "git";
            config = { url = "file://$T/repo.git"; ref = "main"; script = "bin/run.sh";
                       cache_dir = "$T/cache"; }; } );
triggers = ( { id = "bench"; flows = ["bench"]; mode = "sync"; } );
EOF2
SLUICE_PLUGIN_PATH=$PLUGIN_DIR "$SLUICED" -v -c "$T/sluice.conf" --store "$T/sluice.db" \
    2>"$T/sluiced.log" &
PID=$!
for _ in $(seq 200); do grep -q "ready:" "$T/sluiced.log" && break; sleep 0.05; done
PORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\)$/\1/p' "$T/sluiced.log" | tail -1)
[ -n "$PORT" ] || { echo "bench/git.sh: sluiced did not start:" >&2; cat "$T/sluiced.log" >&2; exit 1; }

# execute: one sync execution; prints its wall time in ms.
execute() {
    local out state
    out=$(curl -s -o "$T/body" -w '%{time_total}' -X POST "http://127.0.0.1:$PORT/hooks/bench" -d '{}')
    state=$(jq -r .data.state "$T/body")
    [ "$state" = succeeded ] || { echo "bench/git.sh: execution $state" >&2; cat "$T/body" >&2; exit 1; }
    awk -v s="$out" 'BEGIN { printf "%d", s * 1000 }'
}
# last_fetch_ms: the duration of the latest real fetch the plugin logged.
last_fetch_ms() {
    grep 'git: fetch from .* done in' "$T/sluiced.log" | tail -1 | sed 's/.* done in \([0-9.]*\) ms.*/\1/'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

first_exec=$(execute)
first_fetch=$(last_fetch_ms)
warm_execs=
fetches=
for _ in $(seq "$RUNS"); do
    warm_execs="$warm_execs $(execute)"
    fetches="$fetches $(last_fetch_ms)"
done
warm_exec=$(printf '%s\n' $warm_execs | median)
nochange=$(printf '%s\n' $fetches | median)

# One more commit upstream: an incremental fetch.
git clone -q "file://$T/repo.git" "$T/work"
echo "one more line" >> "$T/work/d00/f0000.txt"
git -C "$T/work" commit -qam "one more"
git -C "$T/work" push -q origin HEAD:main
incr_exec=$(execute)
incr_fetch=$(last_fetch_ms)

echo "sluice git executor: $ncommits commits, $nfiles files, $size packed (built in $build_ms ms)"
printf '%-52s %8s\n' "measure" "ms"
printf '%-52s %8.1f\n' "first clone (libgit2 fetch into an empty mirror)" "$first_fetch"
printf '%-52s %8d\n' "first execution (clone + checkout + run)" "$first_exec"
printf '%-52s %8.2f\n' "no-change fetch (median of $RUNS)" "$nochange"
printf '%-52s %8d\n' "execution on a warm mirror (median of $RUNS)" "$warm_exec"
printf '%-52s %8.2f\n' "incremental fetch after one new commit" "$incr_fetch"
printf '%-52s %8d\n' "execution of the new commit (fetch + checkout + run)" "$incr_exec"
printf '%-52s %8d\n' "reference: git clone --bare (git command)" "$cli_ms"
