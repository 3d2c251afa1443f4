#!/usr/bin/env bash
# The http executor when things go wrong: retries (503 then 200, exhausted,
# network), Retry-After honoured (and refused when too long), the per-
# attempt timeout, an oversized response, the redirect policy, and a flow
# timeout that must abort a transfer in flight at once.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/integration/http_forward_lib.sh"

start_receiver up \
    -r '/flaky=503,503,200' \
    -r '/down=503' \
    -r '/after=503;retry-after=2,200' \
    -r '/later=429;retry-after=3600' \
    -r '/teapot=418' \
    -r '/slow=200;delay=3000' \
    -r '/stuck=200;delay=30000' \
    -r '/huge=200;size=3000000' \
    -r '/hop=302;location=/target' \
    -r '/loop=302;location=/loop' \
    -r '/target=200;body=arrived' || { fail "receiver starts"; done_testing; exit 1; }
U="http://127.0.0.1:$(rport up)"
A='allow_hosts = ["127.0.0.1"];'
R='retry = { max = 3; backoff = "100ms"; };'
# A port nothing listens on: the kernel's choice for a receiver, freed
# when it is stopped (with the receiver rather than a python3 one-liner: a
# minimal Debian has no python3).
start_receiver dead || { fail "receiver starts"; done_testing; exit 1; }
DEAD=$(rport dead)
dead_pid=${RECEIVER_PIDS##* }
kill -TERM "$dead_pid"
wait "$dead_pid" 2>/dev/null

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; };
flows = (
  { id = "flaky"; executor = "http"; config = { url = "$U/flaky"; $A $R }; },
  { id = "down"; executor = "http";
    config = { url = "$U/down"; $A retry = { max = 2; backoff = "50ms"; }; }; },
  { id = "noretry"; executor = "http"; config = { url = "$U/down"; $A }; },
  { id = "after"; executor = "http";
    config = { url = "$U/after"; $A retry = { max = 2; backoff = "10ms"; }; }; },
  { id = "later"; executor = "http"; config = { url = "$U/later"; $A $R }; },
  { id = "teapot"; executor = "http"; config = { url = "$U/teapot"; $A $R }; },
  { id = "network"; executor = "http";
    config = { url = "http://127.0.0.1:$DEAD/x"; $A
               retry = { max = 2; backoff = "10ms"; on = ["network"]; }; }; },
  { id = "slow"; executor = "http"; config = { url = "$U/slow"; $A timeout = "500ms"; }; },
  { id = "stuck"; executor = "http"; timeout = "1s"; config = { url = "$U/stuck"; $A }; },
  { id = "huge"; executor = "http"; config = { url = "$U/huge"; $A max_response = "64K"; }; },
  { id = "hop"; executor = "http"; config = { url = "$U/hop"; $A }; },
  { id = "hop-follow"; executor = "http"; config = { url = "$U/hop"; $A max_redirects = 2; }; },
  { id = "loop"; executor = "http"; config = { url = "$U/loop"; $A max_redirects = 3; }; }
);
triggers = (
  { id = "flaky"; flows = ["flaky"]; mode = "sync"; },
  { id = "down"; flows = ["down"]; mode = "sync"; },
  { id = "noretry"; flows = ["noretry"]; mode = "sync"; },
  { id = "after"; flows = ["after"]; mode = "sync"; },
  { id = "later"; flows = ["later"]; mode = "sync"; },
  { id = "teapot"; flows = ["teapot"]; mode = "sync"; },
  { id = "network"; flows = ["network"]; mode = "sync"; },
  { id = "slow"; flows = ["slow"]; mode = "sync"; },
  { id = "stuck"; flows = ["stuck"]; mode = "sync"; },
  { id = "huge"; flows = ["huge"]; mode = "sync"; },
  { id = "hop"; flows = ["hop"]; mode = "sync"; },
  { id = "hop-follow"; flows = ["hop-follow"]; mode = "sync"; },
  { id = "loop"; flows = ["loop"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

# ---- 503, 503, 200 ----
req POST /hooks/flaky -d x
is "$STATUS" 200 "retry: 503, 503 then 200 succeeds"
is "$(jq_get .data.outputs.attempts)" 3 "retry: in three attempts"
is "$(rcount up /flaky)" 3 "retry: the receiver saw three requests"
like "$(jq_get .data.stdout)" 'attempt 1: 503 from 127\.0\.0\.1 in [0-9]+ ms; retrying in 100 ms' \
    "retry: each attempt is in the execution's log"
like "$(jq_get .data.stdout)" 'attempt 2: 503 .* retrying in 200 ms' "retry: the backoff doubles"
id1=$(printf '%s' "$(rnth up /flaky 1)" | jq -r '.headers["webhook-id"] // "none"')
is "$id1" none "retry: no signature headers unless asked"

req POST /hooks/down -d x
is "$STATUS" 500 "retry: exhausted retries fail"
like "$(jq_get .data.error)" 'answered 503 \(attempt 3\)' "retry: the error names the last attempt"
is "$(rcount up /down)" 3 "retry: max = 2 means three attempts"
req POST /hooks/noretry -d x
is "$(rcount up /down)" 4 "retry: none without a retry group"

req POST /hooks/teapot -d x
is "$(jq_get .data.outputs.attempts)" 1 "retry: a status not in retry.on is final"

# ---- Retry-After ----
req POST /hooks/after -d x
is "$STATUS" 200 "Retry-After: the second attempt succeeds"
t1=$(printf '%s' "$(rnth up /after 1)" | jq .t_ms)
t2=$(printf '%s' "$(rnth up /after 2)" | jq .t_ms)
gap=$((t2 - t1))
check "Retry-After: 2 is honoured over a 10 ms backoff (${gap} ms)" \
    [ "$gap" -ge 1900 -a "$gap" -lt 5000 ]
like "$(jq_get .data.stdout)" 'retrying in 2000 ms' "Retry-After: the log says so"

start=$(date +%s)
req POST /hooks/later -d x
end=$(date +%s)
is "$STATUS" 500 "Retry-After: an hour is longer than retry.max_delay: no retry"
like "$(jq_get .data.error)" 'answered 429 with Retry-After: 3600 s, longer than retry.max_delay' \
    "Retry-After: the error says why it gave up"
check "Retry-After: it gave up at once" [ $((end - start)) -lt 3 ]
is "$(rcount up /later)" 1 "Retry-After: one request"

# ---- network failures ----
req POST /hooks/network -d x
is "$STATUS" 500 "network: a refused connection fails"
is "$(printf '%s' "$(jq_get .data.stdout)" | grep -c 'retrying')" 2 "network: retried twice first"
like "$(jq_get .data.error)" "the request to 127\.0\.0\.1 failed \(attempt 3\)" "network: error"

# ---- timeouts ----
start=$(date +%s%N)
req POST /hooks/slow -d x
took=$((($(date +%s%N) - start) / 1000000))
is "$STATUS" 500 "timeout: a slow upstream fails the execution"
is "$(jq_get .data.state)" failed "timeout: state failed (the flow itself did not time out)"
like "$(jq_get .data.error)" '^timed out: the request to 127\.0\.0\.1 failed \(attempt 1\)' \
    "timeout: the error says timed out"
check "timeout: after about 500 ms ($took ms)" [ "$took" -lt 2500 ]

start=$(date +%s%N)
req POST /hooks/stuck -d x
took=$((($(date +%s%N) - start) / 1000000))
is "$STATUS" 500 "cancel: the flow timeout ends a stuck forward"
is "$(jq_get .data.state)" timed_out "cancel: state timed_out"
like "$(jq_get .data.error)" 'timed out during the transfer .*the transfer was aborted' \
    "cancel: the error says the transfer was aborted"
check "cancel: promptly ($took ms for a 1 s timeout)" [ "$took" -lt 2500 ]
check "cancel: the receiver saw the connection close at once" \
    wait_for "abort recorded" 5 grep -q '"event":"aborted"' "$(rlog up)"
after=$(jq -s '[.[] | select(.event == "aborted")] | last | .after_ms' "$(rlog up)")
check "cancel: the upstream saw the close after ${after} ms of its 30 s delay" [ "$after" -lt 2000 ]

# ---- oversized answers ----
req POST /hooks/huge -d x
is "$STATUS" 500 "max_response: a 3 MB answer fails a 64K limit"
like "$(jq_get .data.error)" 'larger than max_response \(65536 bytes\)' "max_response: error"

# ---- redirects ----
req POST /hooks/hop -d x
is "$STATUS" 500 "redirects: not followed by default; a 302 is not a success"
like "$(jq_get .data.error)" 'answered 302' "redirects: the error names the 302"
is "$(rcount up /target)" 0 "redirects: the target was not fetched"
req POST /hooks/hop-follow -d x
is "$STATUS" 200 "redirects: followed with max_redirects"
is "$(jq_get .data.outputs.body)" arrived "redirects: the final answer is the target's"
is "$(rcount up /target)" 1 "redirects: the target was fetched once"
req POST /hooks/loop -d x
is "$STATUS" 500 "redirects: a loop stops at max_redirects"
like "$(jq_get .data.error)" '[Mm]aximum \(3\) redirects' "redirects: the error says so"
is "$(rcount up /loop)" 4 "redirects: 1 + 3 requests"

done_testing
