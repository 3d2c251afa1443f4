#!/usr/bin/env bash
# The execution store and flow control: idempotency, retries, concurrency,
# cancel, replay, listing, restart, shutdown with queued work, bad stores.
. "$SRCDIR/tests/integration/lib.sh"

cat > "$T/flaky.sh" <<'EOS'
#!/bin/sh
n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$COUNTER"
[ $n -ge 2 ] || { echo "attempt $n fails" >&2; exit 1; }
echo "attempt $n works"
EOS
cat > "$T/span.sh" <<'EOS'
#!/bin/sh
echo "start $(date +%s%N)" >> "$SPANS"; sleep 0.4; echo "end $(date +%s%N)" >> "$SPANS"
EOS
chmod +x "$T/flaky.sh" "$T/span.sh"
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 4; shutdown_timeout = "5s"; };
flows = (
  { id = "echo"; executor = "shell"; config = { argv = ["/bin/echo", "{body.msg}"]; }; },
  { id = "flaky"; executor = "shell"; retry = { max = 2; backoff = "100ms"; };
    config = { argv = ["$T/flaky.sh"]; env = { COUNTER = "$T/counter"; }; }; },
  { id = "serial"; executor = "shell"; concurrency = 1;
    config = { argv = ["$T/span.sh"]; env = { SPANS = "$T/spans"; }; }; },
  { id = "busy"; executor = "shell"; concurrency = 1; on_limit = "reject";
    config = { argv = ["/bin/sleep", "1"]; }; },
  { id = "newest"; executor = "shell"; concurrency = 1; on_limit = "cancel";
    config = { argv = ["/bin/sleep", "5"]; }; },
  { id = "long"; executor = "shell"; config = { argv = ["/bin/sleep", "30"]; }; },
  { id = "gate"; executor = "shell"; concurrency = 1;
    config = { argv = ["/bin/sleep", "6"]; }; }
);
triggers = (
  { id = "echo"; flows = ["echo"]; },
  { id = "echo-sync"; flows = ["echo"]; mode = "sync"; },
  { id = "keyed"; flows = ["echo"]; idempotency_key = "body:delivery.id"; },
  { id = "flaky"; flows = ["flaky"]; mode = "sync"; },
  { id = "serial"; flows = ["serial"]; },
  { id = "busy"; flows = ["busy"]; },
  { id = "newest"; flows = ["newest"]; },
  { id = "long"; flows = ["long"]; },
  { id = "gate"; flows = ["gate"]; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
state() { curl -s "$BASE/api/v1/executions/$1" | jq -r .data.state; }
state_is() { [ "$(state "$1")" = "$2" ]; }

# Idempotency: standard headers and a configured body path.
req POST /hooks/echo -H 'Idempotency-Key: k-1' -H 'Content-Type: application/json' -d '{"msg":"a"}'
is "$STATUS" 202 "first delivery accepted"
first=$(jq_get .data.execution_id)
req POST /hooks/echo -H 'Idempotency-Key: k-1' -H 'Content-Type: application/json' -d '{"msg":"a"}'
is "$STATUS" 200 "a repeated Idempotency-Key answers 200"
is "$(jq_get .data.duplicate)" true "...marked duplicate"
is "$(jq_get .data.id)" "$first" "...with the original execution"
req POST /hooks/echo -H 'X-GitHub-Delivery: gh-1' -d x
gh=$(jq_get .data.execution_id)
req POST /hooks/echo -H 'X-GitHub-Delivery: gh-1' -d x
is "$(jq_get .data.id)" "$gh" "X-GitHub-Delivery deduplicates"
req POST /hooks/echo -H 'webhook-id: msg_1' -d x
req POST /hooks/echo -H 'webhook-id: msg_1' -d x
is "$(jq_get .data.duplicate)" true "webhook-id deduplicates"
req POST /hooks/keyed -H 'Content-Type: application/json' -d '{"delivery":{"id":"d-9"}}'
keyed=$(jq_get .data.execution_id)
req POST /hooks/keyed -H 'Content-Type: application/json' -d '{"delivery":{"id":"d-9"},"x":1}'
is "$(jq_get .data.id)" "$keyed" "a configured body path deduplicates"
req POST /hooks/keyed -H 'Content-Type: application/json' -d '{"delivery":{"id":"d-10"}}'
is "$STATUS" 202 "a new key is a new execution"
n=$(curl -s "$BASE/api/v1/executions?trigger=echo&limit=500" | jq '.data.executions | length')
is "$n" 3 "duplicates ran nothing (3 executions for 6 deliveries)"

# Retries with backoff.
req POST /hooks/flaky -d x
is "$STATUS" 200 "a flow that fails once succeeds on retry"
is "$(jq_get .data.attempt)" 2 "...on its second attempt"
like "$(cat "$T/sluiced.log")" 'attempt 1 failed; retrying in [0-9]+ ms' "the retry is logged"

# Concurrency 1 with on_limit = queue: never two at once.
for i in 1 2 3; do req POST /hooks/serial -d x; ids="${ids:-} $(jq_get .data.execution_id)"; done
check "serial executions finish" wait_for serial 20 sh -c "[ \$(grep -c end $T/spans 2>/dev/null) = 3 ]"
overlap=$(awk '{print $2, $1}' "$T/spans" | sort -n | awk '{ if ($2=="start") { n++; if (n>m) m=n } else n-- } END {print m}')
is "$overlap" 1 "concurrency = 1 never runs two at once"

# A flow at its limit holds up neither the others nor a cancellation.
req POST /hooks/gate -d x
gate1=$(jq_get .data.execution_id)
wait_for "gate running" 5 state_is "$gate1" running
req POST /hooks/gate -d x
gate2=$(jq_get .data.execution_id)
is "$(state "$gate2")" queued "behind a flow at its limit, the next one waits queued"
req POST /hooks/echo-sync -H 'Content-Type: application/json' -d '{"msg":"past the gate"}'
is "$STATUS" 200 "...while another flow's execution runs at once"
req POST "/api/v1/executions/$gate2/cancel"
is "$STATUS" 202 "cancelling the queued one answers 202"
check "...and it is cancelled at once, not when the running one ends" \
    wait_for "gate2 cancelled" 3 state_is "$gate2" cancelled
is "$(state "$gate1")" running "...which still runs"
curl -s -X POST "$BASE/api/v1/executions/$gate1/cancel" >/dev/null

# on_limit = reject.
req POST /hooks/busy -d x
is "$STATUS" 202 "busy: the first runs"
req POST /hooks/busy -d x
is "$STATUS" 503 "busy: the second is rejected while the first runs"
is "$(jq_get .error.code)" flow_busy "...with flow_busy"
is "$(header Retry-After)" 1 "...and Retry-After"

# on_limit = cancel.
req POST /hooks/newest -d x
old=$(jq_get .data.execution_id)
wait_for "old running" 5 state_is "$old" running
req POST /hooks/newest -d x
new=$(jq_get .data.execution_id)
check "on_limit = cancel: the oldest is cancelled" wait_for "old cancelled" 10 state_is "$old" cancelled
check "...and the newest runs" wait_for "new running" 5 state_is "$new" running
curl -s -X POST "$BASE/api/v1/executions/$new/cancel" >/dev/null

# Cancel through the API.
req POST /hooks/long -d x
long=$(jq_get .data.execution_id)
wait_for "long running" 5 state_is "$long" running
req POST "/api/v1/executions/$long/cancel"
is "$STATUS" 202 "cancel answers 202"
check "cancel stops a running execution" wait_for "long cancelled" 10 state_is "$long" cancelled
req POST "/api/v1/executions/$long/cancel"
is "$STATUS" 409 "cancelling a finished execution is 409"

# Replay.
req POST /hooks/echo-sync -H 'Content-Type: application/json' -d '{"msg":"again"}'
orig=$(jq_get .data.id)
req POST "/api/v1/executions/$orig/replay"
is "$STATUS" 202 "replay answers 202"
rep=$(jq_get .data.execution_id)
check "the replay runs" wait_for replay 10 state_is "$rep" succeeded
req GET "/api/v1/executions/$rep"
like "$(jq_get .data.stdout)" again "the replay saw the original request"

# Listing with filters and a cursor.
req GET "/api/v1/executions?flow=echo&limit=2"
is "$(jq_get '.data.executions | length')" 2 "limit pages"
cursor=$(jq_get .data.next_cursor)
req GET "/api/v1/executions?flow=echo&limit=2&cursor=$cursor"
is "$(jq_get '.data.executions | length')" 2 "the cursor gives the next page"
req GET "/api/v1/executions?flow=echo&limit=500"
total=$(jq_get '.data.executions | length')
check "filter by flow" [ "$total" -ge 5 ]
is "$(jq_get '[.data.executions[].flow] | unique | join(",")')" echo "only that flow is listed"
req GET "/api/v1/executions?state=cancelled&limit=500"
like "$(jq_get '[.data.executions[].id] | join(" ")')" "$long" "filter by state"
req GET "/api/v1/executions?limit=0"
is "$STATUS" 400 "a bad limit is 400"
req GET "/api/v1/executions/$orig/logs"
like "$(jq_get .data.stdout)" again "logs endpoint"
req GET /api/v1/flows
is "$(jq_get '.data[] | select(.id=="echo") | .executions.executions >= 5')" true "flows carry execution counts"
req GET /readyz
is "$STATUS" 200 "readyz"

# Shutdown leaves queued work queued; a restart runs it; history survives.
for i in 1 2 3; do req POST /hooks/serial -d x; q="${q:-} $(jq_get .data.execution_id)"; done
stop_sluiced TERM
is "$SLUICE_RC" 0 "SIGTERM with queued work exits 0"
start_sluiced || { fail "restart"; done_testing; exit 1; }
for id in $q; do
    check "queued before shutdown, run after restart ($id)" wait_for "$id" 20 state_is "$id" succeeded
done
req GET "/api/v1/executions/$orig"
is "$(jq_get .data.state)" succeeded "history survives a restart"
like "$(jq_get .data.stdout)" again "stdout survives a restart"
stop_sluiced TERM

# A store that cannot be used is a clear start-up error.
echo "this is not a database" > "$T/bad.db"
out=$("$SLUICED" -c "$T/sluice.conf" --state-dir "$T/state" --store "$T/bad.db" 2>&1); rc=$?
is "$rc" 1 "a corrupted store: exit 1"
like "$out" "store $T/bad.db: file is not a database" "...naming the file and the problem"
mkdir -p "$T/ro"; chmod 0500 "$T/ro"
if [ "$(id -u)" = 0 ]; then
    chattr +i "$T/ro" 2>/dev/null && immutable=1
fi
if [ -n "${immutable:-}" ] || [ "$(id -u)" != 0 ]; then
    out=$("$SLUICED" -c "$T/sluice.conf" --state-dir "$T/state" --store "$T/ro/x.db" 2>&1); rc=$?
    is "$rc" 1 "an unwritable store directory: exit 1"
    like "$out" "store $T/ro/x.db" "...naming the file"
    chattr -i "$T/ro" 2>/dev/null
else
    skip "an unwritable store directory: exit 1" "root ignores permissions and chattr is unavailable"
fi

done_testing
