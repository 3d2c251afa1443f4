#!/usr/bin/env bash
# GET /api/v1/executions/{id}/logs?follow: output arrives while the flow
# runs, the stream ends with the final state, a finished execution answers
# at once, unknown ids are 404, a client that goes away costs nothing, the
# number of streams is capped, and SIGTERM ends open streams cleanly.
. "$SRCDIR/tests/integration/lib.sh"

TOKEN=follow-test-admin-token-0123
AUTH="Authorization: Bearer $TOKEN"
CURLS=
trap 'for p in $CURLS; do kill "$p" 2>/dev/null; done; cleanup' EXIT

# Flows that wait for files the test creates, so "while it runs" is a fact,
# not a guess about timing. Each gives up after 20 s.
cat > "$T/await.sh" <<'EOS'
#!/bin/sh
i=0; while [ ! -e "$1" ]; do i=$((i + 1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done
EOS
cat > "$T/steps.sh" <<EOS
#!/bin/sh
echo "first line"
$T/await.sh $T/go || exit 9
echo "second line" >&2
sleep 0.2
echo "third line"
EOS
cat > "$T/utf8.sh" <<EOS
#!/bin/sh
printf 'caf\303'
$T/await.sh $T/go-utf8 || exit 9
printf '\251\n'
EOS
cat > "$T/drip.sh" <<EOS
#!/bin/sh
i=0; while [ ! -e $T/stop ] && [ \$i -lt 400 ]; do echo "drip \$i"; i=\$((i + 1)); sleep 0.05; done
EOS
cat > "$T/flood.sh" <<EOS
#!/bin/sh
$T/await.sh $T/go-flood || exit 9
yes "\$(printf '%099d' 0)" | head -c 40000000
EOS
cat > "$T/retry.sh" <<EOS
#!/bin/sh
if [ ! -e $T/tried ]; then
    touch $T/tried; echo "attempt one"; $T/await.sh $T/go-retry; exit 1
fi
echo "attempt two"
EOS
chmod +x "$T"/*.sh

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 6; shutdown_timeout = "1s";
          admin_token = "$TOKEN"; max_followers = 2; follow_heartbeat = "1s"; };
flows = (
  { id = "steps"; executor = "shell"; config = { argv = ["$T/steps.sh"]; }; },
  { id = "utf8"; executor = "shell"; config = { argv = ["$T/utf8.sh"]; }; },
  { id = "drip"; executor = "shell"; config = { argv = ["$T/drip.sh"]; }; },
  { id = "flood"; executor = "shell"; config = { argv = ["$T/flood.sh"]; }; },
  { id = "fail"; executor = "shell"; config = { argv = ["/bin/sh", "-c", "echo oops >&2; exit 3"]; }; },
  { id = "retry"; executor = "shell"; retry = { max = 1; backoff = "100ms"; };
    config = { argv = ["$T/retry.sh"]; }; }
);
triggers = (
  { id = "steps"; flows = ["steps"]; },
  { id = "utf8"; flows = ["utf8"]; },
  { id = "drip"; flows = ["drip"]; },
  { id = "flood"; flows = ["flood"]; },
  { id = "fail"; flows = ["fail"]; mode = "sync"; },
  { id = "retry"; flows = ["retry"]; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

api() { curl -s -H "$AUTH" "$BASE$1"; }
state() { api "/api/v1/executions/$1" | jq -r .data.state; }
followers_are() { [ "$(api /metrics | sed -n 's/^sluice_log_followers //p')" = "$1" ]; }
start() { curl -s -X POST "$BASE/hooks/$1" | jq -r .data.execution_id; }
# follow ID NAME: stream into $T/NAME (headers in $T/NAME.h); PID in FOLLOW_PID.
follow() {
    curl -sN --max-time 60 -D "$T/$2.h" -H "$AUTH" \
        "$BASE/api/v1/executions/$1/logs?follow" > "$T/$2" 2>/dev/null &
    FOLLOW_PID=$!
    CURLS="$CURLS $FOLLOW_PID"
}
has() { grep -q -- "$2" "$T/$1" 2>/dev/null; }
# data NAME STREAM: the output of one stream, put back together.
data() { jq -j --arg s "$2" 'select(.stream == $s and has("data")) | .data' < "$T/$1"; }

# ---- live output, before the flow finishes ----
id=$(start steps)
follow "$id" steps
check "the first line arrives while the flow runs" wait_for "first line" 10 has steps '"first line\\n"'
is "$(state "$id")" running "...and the execution is still running then"
unlike "$(cat "$T/steps")" '"state"' "...and the stream has not ended"
check "a quiet stream gets heartbeats" wait_for heartbeat 5 has steps '{"heartbeat":true}'
touch "$T/go"
wait "$FOLLOW_PID"
is "$?" 0 "the stream ends by itself when the execution does"
is "$(tail -n 1 "$T/steps")" '{"state":"succeeded","exit_code":0}' "the last line is the final state"
is "$(data steps stdout)" "$(printf 'first line\nthird line\n')" "stdout arrives whole and in order"
is "$(data steps stderr)" "second line" "stderr arrives on its own stream"
check "every line is one JSON object" sh -c "jq -e -c . < '$T/steps' > /dev/null"
like "$(tr -d '\r' < "$T/steps.h")" '[Tt]ransfer-[Ee]ncoding: chunked' "the stream is chunked"
like "$(tr -d '\r' < "$T/steps.h")" 'Content-Type: application/x-ndjson' "...as NDJSON"
order=$(jq -r 'if has("data") then .stream elif has("state") then "end" else empty end' < "$T/steps" |
    tr '\n' ' ')
is "$order" "stdout stderr stdout end " "stdout, stderr and the end come in the order they happened"

# ---- a finished execution answers at once ----
req GET "/api/v1/executions/$id/logs?follow" -H "$AUTH" --max-time 5
is "$STATUS" 200 "following a finished execution answers 200"
is "$(printf '%s\n' "$BODY" | tail -n 1)" '{"state":"succeeded","exit_code":0}' "...ends with its final state"
is "$(printf '%s\n' "$BODY" | jq -j 'select(.stream == "stdout") | .data')" \
    "$(printf 'first line\nthird line\n')" "...after its stored output"

req POST /hooks/fail
fid=$(jq_get .data.id)
req GET "/api/v1/executions/$fid/logs?follow" -H "$AUTH" --max-time 5
is "$(printf '%s\n' "$BODY" | tail -n 1)" '{"state":"failed","exit_code":3,"error":"exit code 3"}' \
    "a failed execution's last line has its exit code and error"
is "$(printf '%s\n' "$BODY" | jq -j 'select(.stream == "stderr") | .data')" "oops" "...after its stderr"

# ---- errors ----
req GET "/api/v1/executions/01900000-0000-7000-8000-000000000000/logs?follow" -H "$AUTH"
is "$STATUS" 404 "an unknown execution is 404"
is "$(jq_get .error.code)" not_found "...in the JSON envelope"
req GET "/api/v1/executions/$id/logs?follow"
is "$STATUS" 401 "following needs the admin token like the rest of the API"

# ---- a character split between two writes ----
uid=$(start utf8)
follow "$uid" utf8
check "the start of a line arrives" wait_for caf 10 has utf8 '"caf"'
touch "$T/go-utf8"
wait "$FOLLOW_PID"
is "$(data utf8 stdout)" "café" "a character split between writes arrives whole"
unlike "$(cat "$T/utf8")" $'\xef\xbf\xbd' "...with no replacement character"

# ---- retries: the next attempt's output follows a marker ----
rid=$(start retry)
follow "$rid" retry
check "the first attempt's output arrives" wait_for "attempt one" 10 has retry 'attempt one'
touch "$T/go-retry"
wait "$FOLLOW_PID"
is "$(jq -c 'select(has("attempt"))' < "$T/retry")" '{"attempt":2}' "a retry is announced"
is "$(data retry stdout)" "$(printf 'attempt one\nattempt two\n')" "...and its output follows"
is "$(tail -n 1 "$T/retry")" '{"state":"succeeded","exit_code":0}' "...to the final state"

# ---- a client that does not read loses output, never the flow's time ----
# The reader of curl's pipe waits until the flow is done, so curl stops
# reading and the socket fills: sluiced must drop, count, and say so.
xid=$(start flood)
( curl -sN --max-time 60 -H "$AUTH" "$BASE/api/v1/executions/$xid/logs?follow" |
    { "$T/await.sh" "$T/flood-read"; cat > "$T/flood"; } ) &
xpid=$!
CURLS="$CURLS $xpid"
check "the stream opens" wait_for "flood follower" 10 followers_are 1
touch "$T/go-flood"
check "40 MB of output do not wait for a client that does not read" \
    wait_for "flood finished" 20 sh -c "[ \"\$(curl -s -H '$AUTH' $BASE/api/v1/executions/$xid | jq -r .data.state)\" = succeeded ]"
touch "$T/flood-read"
wait "$xpid"
check "a line says how much was dropped" has flood '{"stream":"stdout","dropped":[1-9]'
got=$(jq -r 'if has("data") then (.data | length) elif has("dropped") then .dropped else empty end' \
    < "$T/flood" | awk '{ s += $1 } END { print s }')
is "$got" 40000000 "bytes received plus bytes reported dropped are exactly the output"
is "$(tail -n 1 "$T/flood")" '{"state":"succeeded","exit_code":0}' "...and the stream still ends with the state"

# ---- the cap, and clients that go away ----
did=$(start drip)
follow "$did" d1
p1=$FOLLOW_PID
follow "$did" d2
p2=$FOLLOW_PID
check "two streams open" wait_for "two followers" 10 followers_are 2
req GET "/api/v1/executions/$did/logs?follow" -H "$AUTH"
is "$STATUS" 503 "a stream past server.max_followers is 503"
is "$(jq_get .error.code)" too_many_followers "...saying why"
like "$(header Retry-After)" '^[0-9]+$' "...with Retry-After"
kill "$p1" "$p2" 2>/dev/null
wait "$p1" "$p2" 2>/dev/null
is "$(state "$did")" running "the flow keeps running when its followers leave"
check "streams of clients that went away are closed" wait_for "no followers" 10 followers_are 0
req GET /healthz
is "$STATUS" 200 "sluiced is healthy after the disconnects"
follow "$did" d3
check "a new stream can open" wait_for d3 10 has d3 '"drip '

# ---- SIGTERM ends open streams cleanly ----
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced exits 0 on SIGTERM with a stream open"
wait "$FOLLOW_PID"
is "$?" 0 "the open stream was ended cleanly (complete chunked body)"
last=$(tail -n 1 "$T/d3")
# Killed at shutdown_timeout, its flow without retry: as after a crash.
is "$(printf '%s' "$last" | jq -r .state)" unknown "its last line gives the state (unknown: killed at shutdown)"
like "$(printf '%s' "$last" | jq -r .error)" 'shutting down' "...and says why it ends early"
touch "$T/stop"

done_testing
