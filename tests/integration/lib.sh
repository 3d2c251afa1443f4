# lib.sh - helpers for integration tests: a real sluiced on 127.0.0.1.
#
# Each test script sources this file, writes a config into $T (a private
# temporary directory), starts sluiced with start_sluiced, talks to it with
# req, and reports TAP through ok/fail/is/like. Everything started here is
# stopped by PID when the script exits.
set -u

: "${SLUICED:?SLUICED must point at the sluiced binary (make check sets it)}"
: "${SRCDIR:?SRCDIR must point at the source tree}"

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX")
SLUICE_PID=
PORT=
BASE=
TAP_N=0
TAP_FAILED=0
STATUS=
BODY=
HEADERS=

cleanup() {
    if [ -n "$SLUICE_PID" ] && kill -0 "$SLUICE_PID" 2>/dev/null; then
        kill -TERM "$SLUICE_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$SLUICE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SLUICE_PID" 2>/dev/null
        wait "$SLUICE_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
fail() {
    TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_N - $*"
}
diag() { printf '# %s\n' "$@"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local d=$1; shift
    if "$@"; then ok "$d"; else fail "$d"; fi
}
# is ACTUAL EXPECTED DESCRIPTION
is() {
    if [ "$1" = "$2" ]; then ok "$3"; else fail "$3"; diag "expected: $2" "got:      $1"; fi
}
# like ACTUAL REGEX DESCRIPTION
like() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then ok "$3"
    else fail "$3"; diag "expected to match: $2" "got: $(printf '%s' "$1" | head -c 600)"; fi
}
unlike() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then fail "$3"; diag "must not match: $2"
    else ok "$3"; fi
}
# done_testing: stop sluiced (it must exit 0 on SIGTERM and, under the
# sanitizers, report nothing), then print the plan.
done_testing() {
    if [ -n "$SLUICE_PID" ]; then
        stop_sluiced TERM
        is "$SLUICE_RC" 0 "sluiced exits 0 on SIGTERM"
    fi
    if [ -f "$T/sluiced.log" ]; then
        if grep -Eq 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$T/sluiced.log"; then
            fail "sluiced ran clean under the sanitizers"
            grep -E -A30 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$T/sluiced.log" |
                head -60 | sed 's/^/#   /'
        else
            ok "no sanitizer report in the sluiced log"
        fi
    fi
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}

# skip DESCRIPTION REASON
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }

# jq_get FILTER: evaluate a jq filter on $BODY.
jq_get() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }

# write_config: the config text on stdin; flows and triggers may follow.
# The listen port is 0: the kernel picks a free one and sluiced logs it.
write_config() { cat > "$T/sluice.conf"; }

# start_sluiced [ARGS...]: start on $T/sluice.conf, wait until ready.
start_sluiced() {
    : > "$T/sluiced.log"
    local state=()
    grep -q state_dir "$T/sluice.conf" || state=(--state-dir "$T/state")
    "$SLUICED" -c "$T/sluice.conf" --store "$T/sluice.db" "${state[@]}" "$@" 2>>"$T/sluiced.log" &
    SLUICE_PID=$!
    for _ in $(seq 200); do
        if grep -q "ready:" "$T/sluiced.log"; then
            PORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\)$/\1/p' "$T/sluiced.log" | tail -1)
            BASE="http://127.0.0.1:$PORT"
            return 0
        fi
        if ! kill -0 "$SLUICE_PID" 2>/dev/null; then
            diag "sluiced exited during start:"; sed 's/^/#   /' "$T/sluiced.log"
            SLUICE_PID=
            return 1
        fi
        sleep 0.05
    done
    diag "sluiced did not become ready:"; sed 's/^/#   /' "$T/sluiced.log"
    return 1
}

# stop_sluiced [SIGNAL]: stop and wait; sets SLUICE_RC.
stop_sluiced() {
    local sig=${1:-TERM}
    SLUICE_RC=
    [ -n "$SLUICE_PID" ] || return 0
    kill -"$sig" "$SLUICE_PID" 2>/dev/null
    wait "$SLUICE_PID"
    SLUICE_RC=$?
    SLUICE_PID=
}

# req METHOD PATH [CURL ARGS...]: sets STATUS, BODY, HEADERS.
req() {
    local method=$1 path=$2; shift 2
    local out
    out=$(curl -sS -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$method" \
        --max-time 30 "$@" "$BASE$path") || true
    STATUS=$out
    BODY=$(cat "$T/body" 2>/dev/null)
    HEADERS=$(tr -d '\r' < "$T/headers" 2>/dev/null)
}

# header NAME: a header of the last response.
header() { printf '%s\n' "$HEADERS" | grep -i "^$1:" | tail -1 | sed 's/^[^:]*: *//'; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll until the command succeeds.
wait_for() {
    local d=$1 secs=$2; shift 2
    local i
    for i in $(seq $((secs * 20))); do
        if "$@" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    diag "timed out waiting for: $d"
    return 1
}

# exec_state ID: the state of an execution, via the admin API.
exec_state() {
    curl -s "$BASE/api/v1/executions/$1" | jq -r '.data.state'
}

# A plugins group pointing at nothing: tests find plugins through
# SLUICE_PLUGIN_PATH (set by make check) so the config stays portable.
SERVER_BLOCK='server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "10s"; };'
