#!/usr/bin/env bash
# bench/forward.sh - what forwarding through sluiced's http executor costs.
#
#   bench/forward.sh [BUILDDIR]
#
# Starts, on free 127.0.0.1 ports, the test receiver (tests/http_receiver,
# libmicrohttpd, answers 200 with a small JSON body) and a sluiced whose
# http flows forward to it, then drives both with wrk and bench/count.lua
# (POST of a 1 KiB JSON body) in the same run:
#
#   direct      wrk -> receiver                  what the upstream costs alone
#   sync        wrk -> sluiced -> receiver       trigger mode = "sync": the
#                                                sender waits for the forward
#   async       wrk -> sluiced (202), forward    trigger mode = "async": acked
#               later                            at once, delivered after
#
# each at one connection (latency: what one forward adds) and at
# BENCH_CONNECTIONS (throughput). Prints a table and the added latency
# (sync p50/p99 minus direct p50/p99 at one connection), and for async how
# many acknowledged forwards reached the receiver and how long the backlog
# took to drain. A benchmark, not a test: it exits non-zero only when
# something it needs is missing or fails to start. Everything is bounded:
# every wrk run has a duration, every wait a limit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
if [[ $# -ge 1 ]]; then BUILDDIR=$1; fi
if [[ -z ${BUILDDIR:-} ]]; then
    if [[ -d $repo/build ]]; then BUILDDIR=$repo/build; else BUILDDIR=$repo; fi
fi
BUILDDIR=$(cd "$BUILDDIR" && pwd)

DURATION=${BENCH_DURATION:-5s}
WARMUP=${BENCH_WARMUP:-1s}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
BODY_BYTES=${BENCH_BODY_BYTES:-1024}
DRAIN_MAX=${BENCH_DRAIN_TIMEOUT:-60}
WRK=${WRK:-wrk}
SLUICED=${SLUICED:-$BUILDDIR/sluiced}
RECEIVER=${RECEIVER:-$BUILDDIR/tests/http_receiver/receiver}
PLUGIN_PATH=${SLUICE_PLUGIN_PATH:-$BUILDDIR/plugins/http/.libs}

command -v "$WRK" >/dev/null || { echo "forward: wrk not found (apt-get install wrk)" >&2; exit 1; }
[[ -x $SLUICED ]] || { echo "forward: no sluiced in $BUILDDIR (build first)" >&2; exit 1; }
[[ -f $PLUGIN_PATH/http.so ]] || { echo "forward: no http.so in $PLUGIN_PATH" >&2; exit 1; }
if [[ ! -x $RECEIVER ]]; then
    make -C "$BUILDDIR" tests/http_receiver/receiver >/dev/null ||
        { echo "forward: cannot build the receiver" >&2; exit 1; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fwd.XXXXXX")
RECV_PID= SLUICE_PID=
stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$SLUICE_PID"
    stop_pid "$RECV_PID"
    if [[ -n ${BENCH_KEEP:-} ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The receiver logs every request only for the async run, where the count
# of delivered forwards is the point; for the rest it just answers.
"$RECEIVER" -P "$tmp/recv.port" -o "$tmp/recv.log" >/dev/null 2>"$tmp/recv.err" &
RECV_PID=$!
for ((i = 0; i < 100; i++)); do [[ -s $tmp/recv.port ]] && break; sleep 0.05; done
[[ -s $tmp/recv.port ]] || { echo "forward: the receiver did not start" >&2; exit 1; }
RPORT=$(cat "$tmp/recv.port")

# A private store in the temp dir: never the default system path. A build
# whose configuration has no store group refuses it; then go without.
write_conf() { # STORE-LINE
    cat >"$tmp/sluice.conf" <<EOF
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 4; max_queue = 100000; };
$1
flows = (
  { id = "fwd"; executor = "http";
    config = { url = "http://127.0.0.1:$RPORT/sink"; allow_hosts = ["127.0.0.1"]; }; },
  { id = "fwd-async"; executor = "http";
    config = { url = "http://127.0.0.1:$RPORT/async"; allow_hosts = ["127.0.0.1"]; }; }
);
triggers = (
  { id = "sync"; flows = ["fwd"]; mode = "sync"; },
  { id = "async"; flows = ["fwd-async"]; mode = "async"; }
);
EOF
}
write_conf "store: { path = \"$tmp/sluice.db\"; };"
if ! SLUICE_PLUGIN_PATH=$PLUGIN_PATH "$SLUICED" -t -c "$tmp/sluice.conf" >/dev/null 2>&1; then
    write_conf ""
fi
: >"$tmp/sluiced.log"
SLUICE_PLUGIN_PATH=$PLUGIN_PATH "$SLUICED" -c "$tmp/sluice.conf" 2>>"$tmp/sluiced.log" &
SLUICE_PID=$!
SPORT=
for ((i = 0; i < 200; i++)); do
    SPORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\)$/\1/p' "$tmp/sluiced.log" | tail -1)
    [[ -n $SPORT ]] && break
    kill -0 "$SLUICE_PID" 2>/dev/null || break
    sleep 0.05
done
if [[ -z $SPORT ]]; then
    echo "forward: sluiced did not start:" >&2
    cat "$tmp/sluiced.log" >&2
    exit 1
fi

# run NAME CONNS URL: a warm-up and a measured wrk run; prints
# "NAME CONNS rps p50 p99 non2xx errors ok" (ok: 2xx of both runs).
run() {
    local name=$1 conns=$2 url=$3 threads=$THREADS line warm
    ((conns < threads)) && threads=$conns
    warm=$("$WRK" -t"$threads" -c"$conns" -d"$WARMUP" -s "$here/count.lua" "$url" \
        -- post "$BODY_BYTES" 2>&1 | sed -n 's/^RESULT.* ok=\([0-9]*\).*/\1/p' || true)
    line=$("$WRK" -t"$threads" -c"$conns" -d"$DURATION" --timeout 10s -s "$here/count.lua" "$url" \
        -- post "$BODY_BYTES" 2>&1 | grep '^RESULT' || true)
    [[ -n $line ]] || { echo "forward: wrk failed for $name" >&2; exit 1; }
    local ok_rps p50 p99 non2xx errs
    ok_rps=$(sed -n 's/.* ok_rps=\([^ ]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' <<<"$line")
    non2xx=$(sed -n 's/.* non2xx=\([^ ]*\).*/\1/p' <<<"$line")
    errs=$(($(sed -n 's/.* sock_errors=\([^ ]*\).*/\1/p' <<<"$line") + \
        $(sed -n 's/.* timeouts=\([^ ]*\).*/\1/p' <<<"$line")))
    printf '%s %s %s %s %s %s %s %s\n' "$name" "$conns" "$ok_rps" "$p50" "$p99" "$non2xx" "$errs" \
        "$((${warm:-0} + $(sed -n 's/.* ok=\([^ ]*\).*/\1/p' <<<"$line")))"
}

curl -fsS -o /dev/null -X POST "http://127.0.0.1:$SPORT/hooks/sync" -d '{}' ||
    { echo "forward: a first forward failed" >&2; exit 1; }

results=()
results+=("$(run direct 1 "http://127.0.0.1:$RPORT/direct")")
results+=("$(run sync 1 "http://127.0.0.1:$SPORT/hooks/sync")")
# The executor's own share of a sync forward: started -> finished of the
# latest executions (whole milliseconds, as the store keeps them), against
# what the rest (accept, durable store, queue, reply) adds around it.
share=$(curl -s "http://127.0.0.1:$SPORT/api/v1/executions?flow=fwd&limit=500" 2>/dev/null |
    jq -r '[.data.executions[]?.duration_ms | select(. != null)] | sort |
           if length > 0 then "\(.[length / 2 | floor]) \(.[(length * 99 / 100) | floor]) \(length)"
           else empty end' 2>/dev/null || true)
results+=("$(run direct "$CONNS" "http://127.0.0.1:$RPORT/direct")")
results+=("$(run sync "$CONNS" "http://127.0.0.1:$SPORT/hooks/sync")")
results+=("$(run async "$CONNS" "http://127.0.0.1:$SPORT/hooks/async")")

# Async: every acknowledged forward must reach the receiver. wrk counts the
# 202s it saw (warm-up and measured run); it stops mid-request at the end of
# each run, so up to 2 x CONNS more may have been accepted and delivered.
read -r _ _ _ _ _ _ _ acked <<<"${results[4]}"
start=$(date +%s)
last=-1 delivered=0
for ((i = 0; i < DRAIN_MAX * 10; i++)); do
    delivered=$(grep -c '"path":"/async"' "$tmp/recv.log" || true)
    ((delivered >= acked)) && break
    if ((i % 20 == 0)); then
        [[ $delivered == "$last" ]] && break
        last=$delivered
    fi
    sleep 0.1
done
drain=$(($(date +%s) - start))

printf '\nsluice http forwarding, %s per run, %s B JSON bodies, %s wrk threads, loopback\n' \
    "$DURATION" "$BODY_BYTES" "$THREADS"
printf '%s, %s CPUs, load %s\n\n' "$(uname -sr)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %6s %10s %9s %9s %7s %6s\n' path conns 2xx/s p50_ms p99_ms non2xx errs
for r in "${results[@]}"; do
    read -r name conns rps p50 p99 non2xx errs _ <<<"$r"
    printf '%-8s %6s %10.0f %9.3f %9.3f %7s %6s\n' "$name" "$conns" "$rps" "$p50" "$p99" \
        "$non2xx" "$errs"
done
read -r _ _ _ d50 d99 _ <<<"${results[0]}"
read -r _ _ _ s50 s99 _ <<<"${results[1]}"
read -r _ _ drps _ <<<"${results[2]}"
read -r _ _ srps _ <<<"${results[3]}"
minus() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }
printf '\nadded latency per forward (sync, 1 connection): p50 %+.3f ms, p99 %+.3f ms\n' \
    "$(minus "$s50" "$d50")" "$(minus "$s99" "$d99")"
if [[ -n $share ]]; then
    read -r e50 e99 en <<<"$share"
    printf 'of which the execution itself (prepare, transfer, complete; last %s): p50 %s ms, p99 %s ms\n' \
        "$en" "$e50" "$e99"
fi
printf 'sync forwarding at %s connections: %.0f/s = %.0f%% of calling the receiver directly\n' \
    "$CONNS" "$srps" "$(awk -v a="$srps" -v b="$drps" 'BEGIN { print (b > 0 ? 100 * a / b : 0) }')"
printf 'async: %s acknowledged (seen by wrk), %s delivered, backlog drained in %s s\n' \
    "$acked" "$delivered" "$drain"
