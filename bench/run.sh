#!/usr/bin/env bash
# bench/run.sh - sluiced side by side with adnanh/webhook and two ceilings.
#
#   bench/run.sh [BUILDDIR]
#
# Starts, one at a time, on free 127.0.0.1 ports: sluiced, webhook, bench/bare
# (also as "durable", with -j) and bench/spawn, and drives each with wrk
# (bench/count.lua) in two scenarios, and with bench/paced in a third:
#
#   sync   run /bin/true per request and answer when it has finished
#          (sluiced sync trigger, webhook with include-command-output-in-
#          response, bench/spawn = the spawn ceiling);
#   async  accept a 1 KiB JSON body, answer at once, run a command later that
#          appends one line to a counter file (sluiced async trigger, webhook's
#          default async hook, bench/bare = the HTTP-only ceiling, and
#          bench/bare -j = the durable ceiling: fdatasync before each 202);
#   paced  the async endpoints again, but at a fixed offered rate
#          (BENCH_PACED_RATE, 2000/s) from an open-loop generator
#          (bench/paced.c): latency at that rate, not maximum throughput.
#
# Every scenario gets a freshly started server. It prints a table (also written
# to bench/results/latest.txt) and PASS/MISS for each target in
# /work/shared/DESIGN.md terms. It is a benchmark, not a test: it exits 0
# whatever the numbers are, and non-zero only if a server that exists failed
# to start, answered its endpoint with a non-2xx status or died during the
# run, or if wrk is missing (for sync and async). A server that is not
# installed / not built, or bench/paced if it cannot be built, is skipped
# with one line. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

if [[ $# -gt 1 ]]; then
    echo "usage: $0 [BUILDDIR]" >&2
    exit 2
fi
if [[ $# -eq 1 ]]; then
    BUILDDIR=$1
elif [[ -z ${BUILDDIR:-} ]]; then
    if [[ -d $repo/build ]]; then BUILDDIR=$repo/build; else BUILDDIR=$repo; fi
fi
if [[ ! -d $BUILDDIR ]]; then
    echo "bench: build directory $BUILDDIR does not exist" >&2
    exit 2
fi
BUILDDIR=$(cd "$BUILDDIR" && pwd)

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-32}
BODY_BYTES=${BENCH_BODY_BYTES:-1024}
WRK_TIMEOUT=${BENCH_TIMEOUT:-30s}
DRAIN_MAX=${BENCH_DRAIN_TIMEOUT:-180}
DRAIN_STALL=${BENCH_DRAIN_STALL:-10}
SETTLE_MAX=${BENCH_SETTLE_TIMEOUT:-30}
SERVERS=${BENCH_SERVERS:-sluiced webhook bare durable spawn}
MODES=${BENCH_MODES:-sync async paced}
# Issue #6's target rate for durable ingest: p99 under 10 ms at 2,000/s.
PACED_RATE=${BENCH_PACED_RATE:-2000}
PACED_TARGET_RATE=2000
PACED_TARGET_P99_MS=10
RESULTS=${BENCH_RESULTS:-$here/results/latest.txt}
WRK=${WRK:-wrk}
WEBHOOK=${WEBHOOK:-$(command -v webhook || true)}
SLUICED=${SLUICED:-$BUILDDIR/sluiced}
PLUGIN_PATH=${SLUICE_PLUGIN_PATH:-$BUILDDIR/plugins/shell/.libs}
# The bench gives sluiced a private store in its temp dir. A build whose
# configuration does not know the store group yet (in-memory store) refuses
# it as an unknown setting; run.sh then retries once without it.
SLUICE_STORE=${BENCH_SLUICE_STORE:-yes}
# sluiced logs two info lines per execution by default, webhook nothing
# without -verbose. Unset = the daemon's default, what operators get; set to
# warn to see what that logging costs.
SLUICE_LOG_LEVEL=${BENCH_SLUICE_LOG_LEVEL:-}

say() { printf '%s\n' "$*"; }
warn() { printf 'bench: %s\n' "$*" >&2; }

# "10s", "2m", "1h" or a plain number of seconds -> seconds.
to_secs() {
    local v=$1
    case $v in
    *[!0-9smh]* | '' | [smh]*) return 1 ;;
    *s) echo "${v%s}" ;;
    *m) echo $((${v%m} * 60)) ;;
    *h) echo $((${v%h} * 3600)) ;;
    *) echo "$v" ;;
    esac
}
for knob in DURATION WARMUP; do
    if ! to_secs "${!knob}" >/dev/null; then
        echo "bench: BENCH_$knob='${!knob}' is not a duration like 10s or 1m" >&2
        exit 2
    fi
done
for knob in THREADS CONNS BODY_BYTES DRAIN_MAX DRAIN_STALL SETTLE_MAX PACED_RATE; do
    if [[ ! ${!knob} =~ ^[0-9]+$ ]]; then
        echo "bench: $knob='${!knob}' must be a whole number" >&2
        exit 2
    fi
done

if ((PACED_RATE == 0)); then
    echo "bench: BENCH_PACED_RATE must be at least 1" >&2
    exit 2
fi
want_mode() { [[ " $MODES " == *" $1 "* ]]; }
# Only the closed-loop scenarios use wrk; a paced-only run does without.
if { want_mode sync || want_mode async; } && ! command -v "$WRK" >/dev/null 2>&1; then
    echo "bench: wrk not found (apt-get install wrk, or set WRK=/path/to/wrk)" >&2
    exit 1
fi
if ! command -v curl >/dev/null 2>&1; then
    echo "bench: curl not found (apt-get install curl)" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
SERVER_PID=
SAMPLER_PID=
WRK_PID=
FAILED=0
KEEP_TMP=${BENCH_KEEP:-}

# Stop a process we started: SIGTERM, up to 10 s, then SIGKILL; always reap.
# A zombie still answers kill -0, so look at its state in /proc instead.
alive() {
    local state
    [[ -r /proc/$1/stat ]] || return 1
    state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $state != Z ]]
}
STOP_KILLED=0
stop_pid() {
    local pid=$1 name=${2:-pid $1} i
    STOP_KILLED=0
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        warn "$name did not exit within 10 s of SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        STOP_KILLED=1
    fi
    wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$WRK_PID"
    stop_pid "$SAMPLER_PID"
    stop_pid "$SERVER_PID"
    if [[ -n $KEEP_TMP ]]; then
        warn "kept logs and configs in $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_us() { echo "${EPOCHREALTIME/./}"; }

# A free port below the ephemeral range, so wrk's own client sockets never
# sit on it. Bounded; the bind can still race, so launches retry too.
port_in_use() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        if ! port_in_use "$p"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# VmRSS / VmHWM of a pid in KiB (empty if gone).
proc_kib() {
    local pid=$1 field=$2 k v _
    [[ -r /proc/$pid/status ]] || return 0
    while read -r k v _; do
        if [[ $k == "$field:" ]]; then
            echo "$v"
            return 0
        fi
    done <"/proc/$pid/status"
}
mib() { [[ -n $1 ]] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo "-"; }

# Background RSS sampler: every 200 ms, keep the maximum VmRSS in $2.
sample_rss() {
    local pid=$1 out=$2 max=0 v i
    for ((i = 0; i < 100000; i++)); do
        v=$(proc_kib "$pid" VmRSS)
        [[ -n $v ]] || break
        if ((v > max)); then
            max=$v
            echo "$max" >"$out"
        fi
        sleep 0.2
    done
}

count_lines() {
    if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi
}

# Wait until the counter file has at least $2 lines, it stops growing for $4
# seconds, or $3 seconds pass. Sets DRAIN_RAN and DRAIN_S (seconds from the
# call to the last growth, i.e. how long the backlog took to run) and
# DRAIN_WHY: done (every acked execution ran), stalled (no growth for $4 s:
# the rest is lost) or timeout (still growing at $3 s: unknown yet).
wait_drain() {
    local file=$1 target=$2 max_s=$3 stall_s=$4
    local start last_change n last=-1 t i
    start=$(now_us)
    last_change=$start
    for ((i = 0; i < max_s * 5 + 1; i++)); do
        n=$(count_lines "$file")
        t=$(now_us)
        if ((n != last)); then
            last=$n
            last_change=$t
        fi
        ((n < target)) || break
        ((t - last_change < stall_s * 1000000)) || break
        sleep 0.2
    done
    DRAIN_RAN=$last
    DRAIN_S=$(awk -v d=$((last_change - start)) 'BEGIN { printf "%.1f", d / 1e6 }')
    if ((last >= target)); then
        DRAIN_WHY="done"
    elif ((t - last_change >= stall_s * 1000000)); then
        DRAIN_WHY=stalled
    else
        DRAIN_WHY=timeout
    fi
}

# Results, keyed "server.mode.field".
declare -A R=()
declare -A NOTE=()
add_note() { NOTE[$1]="${NOTE[$1]:+${NOTE[$1]}; }$2"; }
SKIPPED=()

# Build the two reference servers and the paced load generator with the
# tree's own make; if the tree is not configured (or make fails, e.g. while
# core/ is half written), compile them directly so webhook and the ceilings
# can still be measured.
BARE=
SPAWN=
PACED=
build_tools() {
    if [[ -f $BUILDDIR/Makefile ]] &&
        make -C "$BUILDDIR" bench/bare bench/spawn bench/paced >"$tmp/make.log" 2>&1; then
        BARE=$BUILDDIR/bench/bare
        SPAWN=$BUILDDIR/bench/spawn
        PACED=$BUILDDIR/bench/paced
        return 0
    fi
    if [[ -f $BUILDDIR/Makefile ]]; then
        warn "make -C $BUILDDIR bench/bare bench/spawn bench/paced failed:"
        tail -n 5 "$tmp/make.log" | sed 's/^/    /' >&2
    else
        warn "no Makefile in $BUILDDIR (not configured)"
    fi
    warn "compiling bench/bare, bench/spawn and bench/paced directly with ${CC:-cc} instead"
    local flags t
    # paced needs only libc, so it does not depend on pkg-config below.
    if ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -o "$tmp/paced" "$here/paced.c" \
        >>"$tmp/make.log" 2>&1; then
        PACED=$tmp/paced
    else
        warn "cannot compile bench/paced.c:"
        tail -n 5 "$tmp/make.log" | sed 's/^/    /' >&2
    fi
    if ! flags=$(pkg-config --cflags --libs libmicrohttpd jansson 2>&1); then
        warn "pkg-config: $flags"
        return 0
    fi
    for t in bare spawn; do
        # shellcheck disable=SC2086  # $flags is a word list by design
        if ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -o "$tmp/$t" "$here/$t.c" $flags \
            >>"$tmp/make.log" 2>&1; then
            if [[ $t == bare ]]; then BARE=$tmp/bare; else SPAWN=$tmp/spawn; fi
        else
            warn "cannot compile bench/$t.c:"
            tail -n 5 "$tmp/make.log" | sed 's/^/    /' >&2
        fi
    done
}

write_sluice_conf() { # dir port countfile
    local dir=$1 port=$2 count=$3 store='' loglevel=''
    if [[ $SLUICE_STORE == yes ]]; then
        store="store: { path = \"$dir/sluice.db\"; };"
    fi
    if [[ -n $SLUICE_LOG_LEVEL ]]; then
        loglevel="log_level = \"$SLUICE_LOG_LEVEL\";"
    fi
    cat >"$dir/sluice.conf" <<EOF
# Written by bench/run.sh for one benchmark run.
server: {
    listen = ["127.0.0.1:$port"];
    http_threads = 2;
    workers = 4;
    max_body = "1M";
    max_queue = 1000000;
    max_queue_memory = "4G";
    sync_timeout = "30s";
    $loglevel
};
$store
flows = (
    { id = "true"; executor = "shell";
      config = { argv = ["/bin/true"]; stdin = "none"; }; },
    { id = "count"; executor = "shell";
      config = { argv = ["/bin/sh", "-c", "echo x >> \"\$COUNT_FILE\""]; stdin = "none";
                 env = { COUNT_FILE = "$count"; }; }; }
);
triggers = (
    { id = "sync-true"; flows = ["true"]; path = "/hooks/sync-true"; mode = "sync"; },
    { id = "async-count"; flows = ["count"]; path = "/hooks/async-count"; mode = "async"; }
);
EOF
}

write_hooks_json() { # dir countfile
    local dir=$1 count=$2
    cat >"$dir/hooks.json" <<EOF
[
  {
    "id": "sync-true",
    "execute-command": "/bin/true",
    "include-command-output-in-response": true
  },
  {
    "id": "async-count",
    "execute-command": "/bin/sh",
    "pass-arguments-to-command": [
      { "source": "string", "name": "-c" },
      { "source": "string", "name": "echo x >> \"\$COUNT_FILE\"" }
    ],
    "pass-environment-to-command": [
      { "source": "string", "envname": "COUNT_FILE", "name": "$count" }
    ]
  }
]
EOF
}

# Is this server available at all? Prints why not.
server_missing() {
    case $1 in
    sluiced)
        if [[ ! -x $SLUICED ]]; then
            echo "no sluiced binary at $SLUICED (build the tree first)"
        elif [[ ! -d $PLUGIN_PATH ]]; then
            echo "no shell plugin directory $PLUGIN_PATH"
        fi
        ;;
    webhook)
        [[ -n $WEBHOOK && -x $WEBHOOK ]] || echo "webhook not installed (apt-get install webhook)"
        ;;
    bare | durable) [[ -n $BARE && -x $BARE ]] || echo "bench/bare could not be built" ;;
    spawn) [[ -n $SPAWN && -x $SPAWN ]] || echo "bench/spawn could not be built" ;;
    esac
}

# Start $1 on port $2 in $3; sets SERVER_PID. Returns non-zero if it died or
# never answered.
launch() {
    local server=$1 port=$2 dir=$3 count=$4 probe strict=0 i code
    case $server in
    sluiced)
        write_sluice_conf "$dir" "$port" "$count"
        COUNT_FILE=$count SLUICE_PLUGIN_PATH=$PLUGIN_PATH \
            "$SLUICED" -c "$dir/sluice.conf" >"$dir/server.log" 2>&1 &
        probe=/healthz
        strict=1
        ;;
    webhook)
        write_hooks_json "$dir" "$count"
        (cd "$dir" && exec "$WEBHOOK" -hooks "$dir/hooks.json" -ip 127.0.0.1 -port "$port") \
            >"$dir/server.log" 2>&1 &
        probe=/
        ;;
    bare)
        "$BARE" -p "$port" >"$dir/server.log" 2>&1 &
        probe=/
        ;;
    durable)
        "$BARE" -p "$port" -j "$dir/journal" >"$dir/server.log" 2>&1 &
        probe=/
        ;;
    spawn)
        "$SPAWN" -p "$port" >"$dir/server.log" 2>&1 &
        probe=/
        ;;
    esac
    SERVER_PID=$!
    for ((i = 0; i < 200; i++)); do
        if ! alive "$SERVER_PID"; then
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=
            return 1
        fi
        if ((strict)); then
            curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port$probe" 2>/dev/null && return 0
        else
            code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$probe" \
                2>/dev/null || true)
            [[ $code == 000 || -z $code ]] || return 0
        fi
        sleep 0.1
    done
    return 1
}

# One wrk run; $1 url, $2 duration, $3 output file. Parses the RESULT line
# into W_* variables; returns non-zero if wrk produced none.
run_wrk() {
    local url=$1 dur=$2 out=$3 line kv
    local limit=$(($(to_secs "$dur") + 120))
    W_ok=0 W_ok_rps=0 W_p99_ms=0 W_non2xx=0 W_sock_errors=0 W_timeouts=0 W_duration_s=0
    # In the background so that a signal to this script is handled at once
    # (bash runs traps only after a foreground child exits; `wait` returns).
    timeout "$limit" "$WRK" -t"$THREADS" -c"$CONNS" -d"$dur" --timeout "$WRK_TIMEOUT" \
        -s "$here/count.lua" "$url" -- post "$BODY_BYTES" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || true
    WRK_PID=
    line=$(grep '^RESULT ' "$out" | tail -n 1 || true)
    [[ -n $line ]] || return 1
    for kv in ${line#RESULT }; do
        case ${kv%%=*} in
        ok | ok_rps | p99_ms | non2xx | sock_errors | timeouts | duration_s)
            printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
            ;;
        esac
    done
}

# One bench/paced run; $1 url, $2 duration, $3 output file. Sets the same
# W_* variables as run_wrk (W_sock_errors = paced's errors: connection,
# read, write and protocol failures) plus P_* for what only paced measures;
# returns non-zero if paced produced no RESULT line.
run_paced() {
    local url=$1 dur=$2 out=$3 line kv timeout_s
    local secs
    secs=$(to_secs "$dur")
    # paced waits up to its request timeout for the stragglers after the
    # schedule; wrk's timeout knob, so BENCH_TIMEOUT means one thing.
    timeout_s=$(to_secs "$WRK_TIMEOUT" 2>/dev/null) || timeout_s=30
    local limit=$((secs + timeout_s + 120))
    W_ok=0 W_ok_rps=0 W_p99_ms=0 W_non2xx=0 W_sock_errors=0 W_timeouts=0 W_duration_s=0
    P_p50_ms=0 P_max_ms=0 P_unsent=0 P_scheduled=0 P_connect_errors=0 P_svc_p99_ms=0
    P_late_p99_ms=0 P_late_max_ms=0
    timeout "$limit" "$PACED" -r "$PACED_RATE" -c "$CONNS" -d "$secs" -b "$BODY_BYTES" \
        -t "$timeout_s" "$url" >"$out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || true
    WRK_PID=
    line=$(grep '^RESULT ' "$out" | tail -n 1 || true)
    [[ -n $line ]] || return 1
    for kv in ${line#RESULT }; do
        case ${kv%%=*} in
        ok | ok_rps | p99_ms | non2xx | timeouts | duration_s)
            printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
            ;;
        errors) W_sock_errors=${kv#*=} ;;
        p50_ms | max_ms | unsent | scheduled | connect_errors | svc_p99_ms | late_p99_ms | late_max_ms)
            printf -v "P_${kv%%=*}" '%s' "${kv#*=}"
            ;;
        esac
    done
}

# The load generator for a scenario: wrk (closed loop) or bench/paced.
run_load() { # mode url duration output
    local mode=$1
    shift
    if [[ $mode == paced ]]; then run_paced "$@"; else run_wrk "$@"; fi
}

# One scenario against one freshly started server.
run_case() {
    local server=$1 mode=$2 k="$1.$2"
    local dir=$tmp/$server-$mode count='' path expect port attempt code idle
    mkdir -p "$dir"
    # paced drives the async endpoints, and counts their executions too.
    [[ $mode != sync && $server != bare && $server != durable ]] && count=$dir/count
    case $server in
    sluiced | webhook) path=/hooks/$([[ $mode == sync ]] && echo sync-true || echo async-count) ;;
    *) path=/ ;;
    esac
    case $server.$mode in
    sluiced.async | bare.async | durable.async | sluiced.paced | bare.paced | durable.paced)
        expect=202
        ;;
    *) expect=200 ;;
    esac

    local started=0
    for ((attempt = 0; attempt < 3; attempt++)); do
        port=$(free_port) || break
        if launch "$server" "$port" "$dir" "${count:-/dev/null}"; then
            started=1
            break
        fi
        stop_pid "$SERVER_PID"
        SERVER_PID=
        if [[ $server == sluiced && $SLUICE_STORE == yes ]] &&
            grep -q 'unknown setting "store"' "$dir/server.log" 2>/dev/null; then
            SLUICE_STORE=no
            add_note sluiced "this build has no store setting; ran without a store group"
            continue
        fi
        # A port lost to a race shows up as a bind error; anything else is real.
        grep -qi 'in use\|bind' "$dir/server.log" 2>/dev/null || break
    done
    if ((!started)); then
        warn "$server ($mode) failed to start; last lines of its log:"
        tail -n 15 "$dir/server.log" 2>/dev/null | sed 's/^/    /' >&2 || true
        R[$k.status]="failed to start"
        FAILED=1
        return 0
    fi
    local url=http://127.0.0.1:$port$path
    sleep 1
    idle=$(proc_kib "$SERVER_PID" VmRSS)
    R[$k.rss_idle]=$idle
    # Where that memory is, per library (kept with BENCH_KEEP).
    "$here/rss.sh" "$SERVER_PID" >"$dir/rss-idle.txt" 2>/dev/null || true

    # One request by hand first: a server that answers the wrong thing would
    # make every number below meaningless.
    local acked=0 ran_before=0
    code=$(curl -s -m 35 -o "$dir/check.body" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data '{"source":"sluice-bench","check":true}' \
        "$url" 2>/dev/null || true)
    if [[ $code != 2?? ]]; then
        warn "$server ($mode): POST $path answered ${code:-nothing}, expected $expect; log:"
        tail -n 15 "$dir/server.log" | sed 's/^/    /' >&2 || true
        R[$k.status]="answered $code"
        FAILED=1
        stop_pid "$SERVER_PID"
        SERVER_PID=
        return 0
    fi
    [[ $code == "$expect" ]] || add_note "$k" "answers $code (expected $expect)"
    acked=1

    say "  $server $mode: warm-up $WARMUP on $url"
    if run_load "$mode" "$url" "$WARMUP" "$dir/warmup.txt"; then
        acked=$((acked + W_ok))
    fi
    if [[ -n $count ]]; then
        # Let the warm-up backlog run before measuring, so it does not steal
        # CPU from the measured run. Not counted as drain time.
        wait_drain "$count" "$acked" "$SETTLE_MAX" 5
        ran_before=$DRAIN_RAN
    fi

    local tool=wrk
    if [[ $mode == paced ]]; then
        tool=paced
        say "  $server $mode: load $DURATION at $PACED_RATE/s, $CONNS connections, open loop"
    else
        say "  $server $mode: load $DURATION, $THREADS threads, $CONNS connections"
    fi
    local rss_file=$dir/rss.max
    echo "${idle:-0}" >"$rss_file"
    sample_rss "$SERVER_PID" "$rss_file" &
    SAMPLER_PID=$!
    if ! run_load "$mode" "$url" "$DURATION" "$dir/load.txt"; then
        warn "$server ($mode): $tool printed no RESULT line:"
        tail -n 5 "$dir/load.txt" | sed 's/^/    /' >&2 || true
        R[$k.status]="$tool failed"
        FAILED=1
    else
        R[$k.ok_rps]=$W_ok_rps
        R[$k.p99]=$W_p99_ms
        R[$k.non2xx]=$W_non2xx
        R[$k.errors]=$((W_sock_errors + W_timeouts))
        R[$k.ok]=$W_ok
        R[$k.status]=ok
        R[$k.raw]=$(grep '^RESULT ' "$dir/load.txt" | tail -n 1)
        acked=$((acked + W_ok))
        if [[ $mode == paced ]]; then
            R[$k.p50]=$P_p50_ms
            R[$k.max]=$P_max_ms
            R[$k.scheduled]=$P_scheduled
            R[$k.svc_p99]=$P_svc_p99_ms
            ((P_unsent == 0)) ||
                add_note "$k" "$P_unsent of $P_scheduled scheduled requests never sent (no free connection before the deadline)"
            ((P_connect_errors == 0)) || add_note "$k" "$P_connect_errors failed connects"
            # A generator that is not scheduled on time sends late, and that
            # delay is inside every latency it reports: say when it was often
            # enough to reach the p99 (a few late wake-ups on a shared machine
            # are normal and move only the max).
            if awk -v l="$P_late_p99_ms" 'BEGIN { exit !(l >= 1) }'; then
                add_note "$k" "bench/paced itself woke up to $P_late_max_ms ms late (p99 $P_late_p99_ms ms; CPU contention), included in its latencies"
            fi
        fi
    fi

    if [[ -n $count && ${R[$k.status]} == ok ]]; then
        say "  $server $mode: waiting for $acked acked executions to run (up to ${DRAIN_MAX}s)"
        wait_drain "$count" "$acked" "$DRAIN_MAX" "$DRAIN_STALL"
        R[$k.acked]=$acked
        R[$k.ran]=$DRAIN_RAN
        R[$k.lost]=$((acked > DRAIN_RAN ? acked - DRAIN_RAN : 0))
        R[$k.drain]=$DRAIN_S
        # Executions per second from the start of the measured run until the
        # last one ran: the rate at which the server really does the work.
        R[$k.run_rps]=$(awk -v n=$((DRAIN_RAN - ran_before)) -v a="$W_duration_s" \
            -v b="$DRAIN_S" 'BEGIN { if (a + b > 0) printf "%.0f", n / (a + b) }')
        case $DRAIN_WHY in
        stalled) R[$k.drain]=">$DRAIN_S" ;;
        timeout)
            R[$k.drain]=">$DRAIN_S"
            R[$k.lost]="?"
            add_note "$k" "still running its backlog after ${DRAIN_MAX}s"
            add_note "$k" "$DRAIN_RAN of $acked ran, lost unknown: raise BENCH_DRAIN_TIMEOUT"
            ;;
        esac
    fi

    stop_pid "$SAMPLER_PID"
    SAMPLER_PID=
    local peak hwm
    peak=$(cat "$rss_file" 2>/dev/null || echo 0)
    hwm=$(proc_kib "$SERVER_PID" VmHWM)
    if [[ -n $hwm ]] && ((hwm > peak)); then peak=$hwm; fi
    R[$k.rss_peak]=$peak
    if ! alive "$SERVER_PID"; then
        # It died under load: the numbers above are not a benchmark result.
        local st=0
        wait "$SERVER_PID" 2>/dev/null || st=$?
        SERVER_PID=
        if ((st > 128)); then st="signal $((st - 128))"; else st="exit status $st"; fi
        warn "$server ($mode) died during the run ($st); last lines of its log:"
        tail -n 20 "$dir/server.log" | sed 's/^/    /' >&2 || true
        add_note "$k" "see $dir/server.log"
        R[$k.status]="died during the run: $st"
        unset "R[$k.ok_rps]" "R[$k.lost]"
        FAILED=1
        KEEP_TMP=1
        return 0
    fi
    stop_pid "$SERVER_PID" "$server (pid $SERVER_PID)"
    SERVER_PID=
    if ((STOP_KILLED)); then
        add_note "$k" "did not exit within 10 s of SIGTERM (SIGKILLed)"
    fi
}

# ---------------------------------------------------------------------------

say "sluice bench: BUILDDIR=$BUILDDIR"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
build_tools

ORDER=()
for server in $SERVERS; do
    case $server in
    sluiced | webhook | bare | durable | spawn) ;;
    *)
        warn "unknown server '$server' in BENCH_SERVERS (sluiced webhook bare durable spawn)"
        exit 2
        ;;
    esac
    why=$(server_missing "$server")
    if [[ -n $why ]]; then
        say "SKIP $server: $why"
        SKIPPED+=("$server: $why")
        continue
    fi
    ORDER+=("$server")
done

for server in "${ORDER[@]}"; do
    case $server in
    sluiced | webhook) modes="sync async paced" ;;
    spawn) modes=sync ;;
    bare | durable) modes="async paced" ;;
    esac
    for mode in $modes; do
        [[ " $MODES " == *" $mode "* ]] || continue
        if [[ $mode == paced && -z $PACED ]]; then
            say "SKIP $server / paced: bench/paced could not be built"
            continue
        fi
        say "== $server / $mode"
        run_case "$server" "$mode"
    done
done

# ---------------------------------------------------------------------------
# The report.

get() { echo "${R[$1]:-}"; }
dash() { echo "${R[$1]:--}"; }
ratio() { # a b -> a/b with 2 decimals, or empty
    local a=$1 b=$2
    [[ -n $a && -n $b ]] || return 0
    awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}
verdict() { # value op target
    [[ -n $1 ]] || {
        echo SKIP
        return
    }
    [[ $1 != "?" ]] || {
        echo UNKNOWN
        return
    }
    awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
        ok = (op == ">=") ? (v >= t) : (op == "<") ? (v < t) : (v == t)
        print ok ? "PASS" : "MISS" }'
}
need() { # factor base -> factor*base as a whole number of req/s
    [[ -n $2 ]] || {
        echo "-"
        return
    }
    awk -v f="$1" -v b="$2" 'BEGIN { printf "%.0f", f * b }'
}

report() {
    local cpu load
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
    load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)
    say "sluice bench  $(date -u '+%Y-%m-%d %H:%M:%SZ')"
    say "host: $(nproc) cpus ${cpu:+($cpu)}, kernel $(uname -r);" \
        "load average $LOAD_START at start, $load at end"
    if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l + 0 > n * 0.5) }'; then
        say "WARNING: the machine was busy before the bench started (load ${LOAD_START%% *} on" \
            "$(nproc) cpus); absolute numbers and ratios are noisy, run again when idle"
    fi
    say "wrk: -t$THREADS -c$CONNS -d$DURATION (warm-up $WARMUP), POST ${BODY_BYTES}-byte JSON," \
        "timeout $WRK_TIMEOUT; client and server share the same cpus"
    local wv=''
    [[ -z $WEBHOOK ]] || wv=$("$WEBHOOK" -version 2>/dev/null | head -n 1 || true)
    say "webhook: ${WEBHOOK:-none} $wv"
    say "sluiced: $SLUICED${SLUICE_LOG_LEVEL:+ (log_level = $SLUICE_LOG_LEVEL)}"
    say ""
    printf '%-6s %-8s %8s %8s %6s %5s %7s %7s %6s %6s %8s %8s %8s\n' \
        scen server 2xx/s p99_ms non2xx errs acked ran lost run/s drain_s rss_idle rss_peak
    printf '%-6s %-8s %8s %8s %6s %5s %7s %7s %6s %6s %8s %8s %8s\n' \
        '' '' '' '' '' '' '' '' '' '' '' MiB MiB
    local mode server k st
    for mode in sync async; do
        for server in sluiced webhook spawn bare durable; do
            [[ $mode == sync && ($server == bare || $server == durable) ]] && continue
            [[ $mode == async && $server == spawn ]] && continue
            k=$server.$mode
            st=$(get "$k.status")
            if [[ -z $st ]]; then
                printf '%-6s %-8s %s\n' "$mode" "$server" "(skipped)"
                continue
            fi
            if [[ $st != ok ]]; then
                printf '%-6s %-8s %s\n' "$mode" "$server" "($st)"
                continue
            fi
            printf '%-6s %-8s %8.0f %8.2f %6s %5s %7s %7s %6s %6s %8s %8s %8s\n' \
                "$mode" "$server" "$(get "$k.ok_rps")" "$(get "$k.p99")" "$(get "$k.non2xx")" \
                "$(get "$k.errors")" "$(dash "$k.acked")" "$(dash "$k.ran")" "$(dash "$k.lost")" \
                "$(dash "$k.run_rps")" "$(dash "$k.drain")" \
                "$(mib "$(get "$k.rss_idle")")" "$(mib "$(get "$k.rss_peak")")"
        done
    done
    local n
    for n in "${!NOTE[@]}"; do
        [[ $n == *.paced ]] || say "note: $n ${NOTE[$n]}" # those go under the paced table
    done
    for n in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do say "skipped: $n"; done

    say ""
    say "targets                                       value     target    needs        verdict"
    local s_sync w_sync c_sync s_async w_async b_async d_async r v lost idle
    s_sync=$(get sluiced.sync.ok_rps)
    w_sync=$(get webhook.sync.ok_rps)
    c_sync=$(get spawn.sync.ok_rps)
    s_async=$(get sluiced.async.ok_rps)
    w_async=$(get webhook.async.ok_rps)
    b_async=$(get bare.async.ok_rps)
    d_async=$(get durable.async.ok_rps)

    r=$(ratio "$s_sync" "$w_sync")
    printf '%-45s %-9s %-9s %-12s %s\n' "sync  2xx/s sluiced / webhook" "${r:--}" ">= 1.20" \
        "$(need 1.2 "$w_sync")/s" "$(verdict "$r" ">=" 1.2)"
    r=$(ratio "$s_sync" "$c_sync")
    printf '%-45s %-9s %-9s %-12s %s\n' "sync  2xx/s sluiced / spawn ceiling" "${r:--}" ">= 0.80" \
        "$(need 0.8 "$c_sync")/s" "$(verdict "$r" ">=" 0.8)"
    r=$(ratio "$s_async" "$w_async")
    printf '%-45s %-9s %-9s %-12s %s\n' "async 2xx/s sluiced / webhook (acked)" "${r:--}" \
        ">= 3.00" "$(need 3 "$w_async")/s" "$(verdict "$r" ">=" 3)"
    r=$(ratio "$s_async" "$b_async")
    printf '%-45s %-9s %-9s %-12s %s\n' "async 2xx/s sluiced / bare ceiling" "${r:--}" ">= 0.50" \
        "$(need 0.5 "$b_async")/s" "$(verdict "$r" ">=" 0.5)"
    lost=$(get sluiced.async.lost)
    printf '%-45s %-9s %-9s %-12s %s\n' "async every acked sluiced execution ran" \
        "${lost:+lost $lost}" "lost 0" "-" "$(verdict "$lost" "==" 0)"
    idle=$(get sluiced.sync.rss_idle)
    [[ -n $idle ]] || idle=$(get sluiced.async.rss_idle)
    v=
    [[ -z $idle ]] || v=$(mib "$idle")
    printf '%-45s %-9s %-9s %-12s %s\n' "idle RSS sluiced (MiB)" "${v:--}" "< 8" "-" \
        "$(verdict "$v" "<" 8)"

    say ""
    say "reference points"
    r=$(ratio "$w_sync" "$c_sync")
    say "  webhook sync  / spawn ceiling: ${r:--}"
    r=$(ratio "$w_async" "$b_async")
    say "  webhook async / bare ceiling:  ${r:--}"
    r=$(ratio "$d_async" "$b_async")
    say "  durable ceiling / bare ceiling: ${r:--} (what an fdatasync before each 202 costs here)"
    r=$(ratio "$s_async" "$d_async")
    say "  sluiced async / durable ceiling: ${r:--}"
    want_mode paced && report_paced
    say ""
    say "raw wrk RESULT lines (measured run only)"
    for k in sluiced.sync webhook.sync spawn.sync sluiced.async webhook.async bare.async \
        durable.async; do
        [[ -n $(get "$k.raw") ]] && say "  $k: $(get "$k.raw")"
    done
    if want_mode paced; then
        say "raw paced RESULT lines (measured run only)"
        for k in sluiced.paced webhook.paced bare.paced durable.paced; do
            [[ -n $(get "$k.raw") ]] && say "  $k: $(get "$k.raw")"
        done
    fi
    return 0
}

# The paced section: latency at a fixed offered rate, and issue #6's target.
report_paced() {
    local server k st
    say ""
    say "paced: bench/paced, open loop at $PACED_RATE/s offered, $CONNS connections," \
        "-d $DURATION (warm-up $WARMUP), POST ${BODY_BYTES}-byte JSON to the async endpoints;" \
        "latency from each request's scheduled send time"
    printf '%-8s %8s %8s %8s %8s %8s %6s %5s %7s %7s %6s\n' \
        server offered 2xx/s p50_ms p99_ms max_ms non2xx errs acked ran lost
    for server in sluiced webhook bare durable; do
        k=$server.paced
        st=$(get "$k.status")
        if [[ -z $st ]]; then
            printf '%-8s %s\n' "$server" "(skipped)"
            continue
        fi
        if [[ $st != ok ]]; then
            printf '%-8s %s\n' "$server" "($st)"
            continue
        fi
        printf '%-8s %8s %8.0f %8.2f %8.2f %8.2f %6s %5s %7s %7s %6s\n' \
            "$server" "$PACED_RATE" "$(get "$k.ok_rps")" "$(get "$k.p50")" "$(get "$k.p99")" \
            "$(get "$k.max")" "$(get "$k.non2xx")" "$(get "$k.errors")" "$(dash "$k.acked")" \
            "$(dash "$k.ran")" "$(dash "$k.lost")"
    done
    for server in sluiced webhook bare durable; do
        k=$server.paced
        [[ -z ${NOTE[$k]:-} ]] || say "note: $k ${NOTE[$k]}"
    done

    # The target holds only at its own rate, and only if the load was really
    # carried: a fast p99 over a run that dropped or refused requests, or
    # never sent them, is not "p99 under 10 ms at 2,000/s".
    local label="paced p99 sluiced at ${PACED_TARGET_RATE}/s < ${PACED_TARGET_P99_MS} ms"
    local p99 ok sched v='-' verdict_s
    p99=$(get sluiced.paced.p99)
    ok=$(get sluiced.paced.ok)
    sched=$(get sluiced.paced.scheduled)
    if ((PACED_RATE != PACED_TARGET_RATE)); then
        verdict_s="SKIP (ran at $PACED_RATE/s)"
    elif [[ $(get sluiced.paced.status) != ok ]]; then
        verdict_s=SKIP
    else
        printf -v v '%.2f' "$p99" # rounded as in the table above
        verdict_s=$(verdict "$p99" "<" "$PACED_TARGET_P99_MS")
        if ((ok < sched)); then
            verdict_s="MISS ($((sched - ok)) of $sched requests not answered 2xx)"
        fi
    fi
    say ""
    say "target                                        value     target    needs        verdict"
    printf '%-45s %-9s %-9s %-12s %s\n' "$label" "$v" "< $PACED_TARGET_P99_MS" "-" "$verdict_s"
}

mkdir -p "$(dirname "$RESULTS")"
report | tee "$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
say ""
say "table written to $RESULTS"
if ((FAILED)); then
    warn "at least one server failed to start, answered non-2xx, or died; see above"
    exit 1
fi
exit 0
