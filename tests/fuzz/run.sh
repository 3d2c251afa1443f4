#!/usr/bin/env bash
# tests/fuzz/run.sh - run each libFuzzer target for a bounded time, as TAP.
#
#   run.sh -d BUILD/tests/fuzz -s SRC/tests/fuzz [-t SECONDS] [-j JOBS] [NAME...]
#
# Each target starts from a copy of its seed corpus (corpus/NAME) and its
# regression inputs (regressions/NAME) in a temporary directory, so the
# source tree stays as it is, and fuzzes for SECONDS. One TAP check per
# target: "ok" when it ran its time without a crash, a leak, a timeout or
# running out of memory; "not ok" names the input that broke it (kept
# under BUILD/tests/fuzz/crashes/NAME/) and shows the report.
set -uo pipefail

bin= src= secs=20 jobs=1
while getopts d:s:t:j: o; do
    case $o in
    d) bin=$OPTARG ;;
    s) src=$OPTARG ;;
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ -n "$bin" ] && [ -n "$src" ] || { echo "usage: $0 -d BUILDDIR -s SRCDIR [-t S] [-j N] [NAME...]" >&2; exit 2; }

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for f in "$bin"/fuzz_*; do
        [ -x "$f" ] && [ -f "$f" ] && names+=("$(basename "$f")")
    done
fi
[ ${#names[@]} -gt 0 ] || { echo "1..0 # SKIP no fuzz targets in $bin (make fuzz)"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT

# run_one NAME: fuzz it; its TAP line body goes to $work/NAME.result.
run_one() {
    local name=$1 short=${1#fuzz_} d="$work/$1"
    mkdir -p "$d/corpus" "$d/artifacts"
    for c in "$src/corpus/$short" "$src/regressions/$short"; do
        [ -d "$c" ] && cp "$c"/* "$d/corpus/" 2>/dev/null
    done
    # The process runs under a hard limit too: -max_total_time is checked
    # between inputs, so one input that hangs would otherwise hold it.
    (cd "$d" && TMPDIR="$d" LSAN_OPTIONS="suppressions=$src/lsan.supp:print_suppressions=0" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" timeout -k 10 $((secs + 120)) "$bin/$name" \
        -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$d/artifacts/" corpus >"$d/log" 2>&1)
    local rc=$?
    local art
    art=$(ls "$d/artifacts" 2>/dev/null | head -1)
    if [ $rc -eq 0 ] && [ -z "$art" ]; then
        local runs
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -1)
        echo "ok - $name: ${runs:-?} inputs in ${secs}s, no crash" >"$d/result"
        return
    fi
    local keep="$bin/crashes/$short"
    mkdir -p "$keep"
    [ -n "$art" ] && cp "$d/artifacts/$art" "$keep/"
    {
        if [ -n "$art" ]; then
            echo "not ok - $name: $art (saved as $keep/$art; add it to tests/fuzz/regressions/$short/)"
        else
            echo "not ok - $name: exited with status $rc"
        fi
        # The invariant or sanitizer report, and the top of its stack.
        grep -v '^#[0-9]* *\(NEW\|REDUCE\|pulse\|INITED\|RELOAD\)\|^INFO:\|Uses:' "$d/log" \
            | sed -n '/invariant broken\|ERROR:\|SUMMARY\|==[0-9]*==/,$p' | head -60 | sed 's/^/# /'
    } >"$d/result"
}

echo "1..${#names[@]}"
running=0
for name in "${names[@]}"; do
    if [ ! -x "$bin/$name" ]; then
        mkdir -p "$work/$name"
        echo "not ok - $name: not built (make fuzz)" >"$work/$name/result"
        continue
    fi
    run_one "$name" &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait
i=0 failed=0
for name in "${names[@]}"; do
    i=$((i + 1))
    line=$(cat "$work/$name/result")
    case $line in not*) failed=$((failed + 1)) ;; esac
    # Number the checks in the order of the plan, whatever order they ended in.
    printf '%s\n' "$line" | sed "1s/^\(not ok\|ok\) -/\1 $i -/"
done
[ $failed -eq 0 ]
