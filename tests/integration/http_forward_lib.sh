# http_forward_lib.sh - helpers for the http executor's integration tests,
# sourced after lib.sh: receivers (tests/http_receiver) on 127.0.0.1 and
# reading what they recorded.
#
#   start_receiver NAME [RECEIVER ARGS...]   start one; its port in $T/NAME.port
#   rport NAME                               its port
#   rlog NAME                                its log (one JSON line per request)
#   rcount NAME [PATH]                       requests recorded (to PATH)
#   rlast NAME [PATH]                        the last request (to PATH), as JSON
#   rnth NAME PATH N                         the Nth request to PATH (1-based)
#   wait_final ID                            wait for an execution to finish
#
# Receivers are stopped by PID when the script exits, before lib.sh's own
# cleanup runs.

RECEIVER=${RECEIVER:-$BUILDDIR/tests/http_receiver/receiver}
RECEIVER_PIDS=

http_cleanup() {
    local pid
    for pid in $RECEIVER_PIDS; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $RECEIVER_PIDS; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    cleanup
}
trap http_cleanup EXIT

start_receiver() {
    local name=$1; shift
    rm -f "$T/$name.port"
    : > "$T/$name.log"
    "$RECEIVER" -P "$T/$name.port" -o "$T/$name.log" "$@" > /dev/null 2>> "$T/$name.err" &
    local pid=$!
    RECEIVER_PIDS="$RECEIVER_PIDS $pid"
    for _ in $(seq 100); do
        [ -s "$T/$name.port" ] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            return $?
        fi
        sleep 0.05
    done
    diag "receiver $name did not start"
    return 1
}

rport() { cat "$T/$1.port"; }
rlog() { printf '%s' "$T/$1.log"; }

rcount() {
    if [ $# -gt 1 ]; then
        jq -s --arg p "$2" '[.[] | select(.path == $p)] | length' "$T/$1.log"
    else
        jq -s '[.[] | select(.method)] | length' "$T/$1.log"
    fi
}

rlast() {
    if [ $# -gt 1 ]; then
        jq -sc --arg p "$2" '[.[] | select(.path == $p)] | last' "$T/$1.log"
    else
        jq -sc '[.[] | select(.method)] | last' "$T/$1.log"
    fi
}

rnth() {
    jq -sc --arg p "$2" --argjson n "$3" '[.[] | select(.path == $p)] | .[$n - 1]' "$T/$1.log"
}

# The body a receiver recorded, as raw bytes on stdout.
rbody() { printf '%s' "$1" | jq -r .body_b64 | base64 -d; }

is_final() {
    curl -s "$BASE/api/v1/executions/$1" |
        jq -e '.data.state | test("succeeded|failed|timed_out|cancelled")' >/dev/null
}
wait_final() { wait_for "execution $1 finishes" 20 is_final "$1"; }
