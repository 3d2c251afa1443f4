#!/usr/bin/env bash
# Sync and async execution end to end, fan-out, sync timeout, queue full.
. "$SRCDIR/tests/integration/lib.sh"

cat > "$T/greet.sh" <<'EOS'
#!/bin/sh
name=$(jq -r .body.name < "$SLUICE_EVENT")
echo "hello $name"
echo "greeting=hello $name" >> "$SLUICE_OUTPUT"
EOS
chmod +x "$T/greet.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 1; max_queue = 2; sync_timeout = "5s"; };
flows = (
  { id = "greet"; executor = "shell"; config = { argv = ["$T/greet.sh"]; }; },
  { id = "fail"; executor = "shell"; config = { argv = ["/bin/sh", "-c", "echo broken >&2; exit 3"]; }; },
  { id = "slow"; executor = "shell"; config = { argv = ["/bin/sleep", "1.5"]; }; },
  { id = "mark"; namespace = "ops"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "echo \$SLUICE_FLOW >> $T/marks"]; }; }
);
triggers = (
  { id = "greet"; flows = ["greet"]; mode = "sync"; },
  { id = "greet-async"; flows = ["greet"]; },
  { id = "fail"; flows = ["fail"]; mode = "sync"; },
  { id = "slow"; flows = ["slow"]; mode = "sync"; sync_timeout = "300ms"; },
  { id = "slow-async"; flows = ["slow"]; },
  { id = "fan"; flows = ["greet", "ops/mark"]; success_code = 201; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

req POST /hooks/greet -H 'Content-Type: application/json' -d '{"name":"ada"}'
is "$STATUS" 200 "sync: 200 when the flow succeeds"
is "$(jq_get .data.state)" succeeded "sync: the finished execution"
is "$(jq_get .data.exit_code)" 0 "sync: exit code"
is "$(jq_get .data.outputs.greeting)" "hello ada" "sync: outputs from \$SLUICE_OUTPUT"
is "$(jq_get .data.inputs.body.name)" ada "sync: inputs echo the request"
is "$(jq_get .data.flow)" greet "sync: names the flow"

req POST /hooks/fail -d x
is "$STATUS" 500 "sync: 500 when the flow fails"
is "$(jq_get .data.state)" failed "sync: failed state"
is "$(jq_get .data.exit_code)" 3 "sync: failing exit code recorded"
is "$(jq_get .error.code)" flow_failed "sync failure: error envelope"
id=$(jq_get .data.id)
req GET "/api/v1/executions/$id"
like "$(jq_get .data.stderr)" broken "stderr is kept with the execution"

req POST /hooks/greet-async -H 'Content-Type: application/json' -d '{"name":"bob"}'
is "$STATUS" 202 "async: 202 at once"
id=$(jq_get .data.execution_id)
like "$id" '^[0-9a-f-]{36}$' "async: an execution id"
is "$(header Location)" "/api/v1/executions/$id" "async: Location header"
is "$(jq_get .data.status_url)" "/api/v1/executions/$id" "async: status_url"
like "$(jq_get .data.state)" '^(queued|running|succeeded)$' "async: the state at acceptance"
check "async: the execution finishes" wait_for "$id succeeded" 10 \
    sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$id | jq -r .data.state)\" = succeeded ]"
req GET "/api/v1/executions/$id"
is "$(jq_get .data.outputs.greeting)" "hello bob" "async: outputs visible through the API"
like "$(jq_get .data.stdout)" "hello bob" "async: stdout kept"

req POST '/hooks/greet-async?wait' -H 'Content-Type: application/json' -d '{"name":"cy"}'
is "$STATUS" 200 "?wait turns an async trigger sync"
is "$(jq_get .data.outputs.greeting)" "hello cy" "?wait answers with outputs"

req POST '/hooks/greet?async' -H 'Content-Type: application/json' -d '{"name":"di"}'
is "$STATUS" 202 "?async turns a sync trigger async"

req POST /hooks/slow -d x
is "$STATUS" 202 "sync past sync_timeout falls back to 202"
id=$(jq_get .data.execution_id)
check "...and the execution still finishes" wait_for "slow finishes" 10 \
    sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$id | jq -r .data.state)\" = succeeded ]"

req POST /hooks/fan -H 'Content-Type: application/json' -d '{"name":"fan"}'
is "$STATUS" 201 "fan-out answers with the configured success code"
is "$(jq_get '.data.execution_ids | length')" 2 "fan-out: one execution per flow"
check "fan-out: both flows run" wait_for "mark written" 10 grep -q '^ops/mark$' "$T/marks"

# One worker, queue of two: the fourth slow request in a burst has no room.
codes=""
for i in 1 2 3 4 5; do
    req POST /hooks/slow-async -d x
    codes="$codes $STATUS"
    [ "$STATUS" = 503 ] && { ra=$(header Retry-After); code=$(jq_get .error.code); }
done
like "$codes" '503' "a full queue answers 503 (got:$codes)"
is "${ra:-}" 1 "503 carries Retry-After"
is "${code:-}" queue_full "503 error code says the queue is full"

# The queue is bounded in memory too: with room for many executions but
# 128 KiB, queued 20 KiB bodies run out of memory before they run out of
# places, and the room comes back as they run.
stop_sluiced TERM
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 1; max_queue = 1000; max_queue_memory = "128K"; };
flows = ( { id = "slow"; executor = "shell"; config = { argv = ["/bin/sleep", "1"]; stdin = "none"; }; } );
triggers = ( { id = "slow-async"; flows = ["slow"]; } );
EOF2
start_sluiced || { fail "sluiced starts with max_queue_memory"; done_testing; exit 1; }
head -c 20000 /dev/zero | tr '\0' a > "$T/big"
codes="" why=""
for i in 1 2 3 4 5 6; do
    req POST /hooks/slow-async -H 'Content-Type: text/plain' --data-binary @"$T/big"
    codes="$codes $STATUS"
    [ "$STATUS" = 503 ] && why=$(jq_get .error.message)
done
like "$codes" '^ 202 202.* 503' "bodies past max_queue_memory are refused with 503 (got:$codes)"
like "$why" 'max_queue_memory' "the 503 names the memory limit"
check "the room comes back as the queue runs" wait_for "an accept" 15 \
    sh -c "curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
        --data-binary @$T/big $BASE/hooks/slow-async | grep -q 202"

done_testing
