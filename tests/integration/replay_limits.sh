#!/usr/bin/env bash
# A replay is admitted as a webhook is: a flow at its concurrency with
# on_limit = "reject" refuses it with 503 flow_busy, and takes it once the
# flow is free; an Idempotency-Key on the replay request makes a retried
# replay a duplicate of the first instead of a second run.
. "$SRCDIR/tests/integration/lib.sh"

# Waits for a file the test creates (20 s at most).
cat > "$T/await.sh" <<'EOF'
#!/bin/sh
i=0; while [ ! -e "$1" ]; do i=$((i + 1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done
EOF
chmod +x "$T/await.sh"

write_config <<EOF
$SERVER_BLOCK
flows = ( { id = "one"; executor = "shell"; concurrency = 1; on_limit = "reject";
            config = { argv = ["$T/await.sh", "$T/go-{body.n}"]; }; } );
triggers = ( { id = "one"; flows = ["one"]; } );
EOF
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

post() {
    curl -s -X POST -H 'Content-Type: application/json' -d "{\"n\":\"$1\"}" "$BASE/hooks/one" |
        jq -r .data.execution_id
}
state_is() { [ "$(exec_state "$1")" = "$2" ]; }

touch "$T/go-early"
early=$(post early)
check "an earlier execution to replay" wait_for "early succeeded" 20 state_is "$early" succeeded
long=$(post long)
check "a long-running execution holds the flow" wait_for "long running" 20 state_is "$long" running

req POST "/api/v1/executions/$early/replay"
is "$STATUS" 503 "a replay into a flow at its limit is refused"
is "$(jq_get .error.code)" flow_busy "with the flow_busy code"
is "$(jq_get .request.id)" "$(header X-Request-Id)" "in the JSON envelope"
is "$(jq_get .data)" null "...with data null"
is "$(header Retry-After)" 1 "and Retry-After"
is "$(curl -s "$BASE/api/v1/executions?flow=one" | jq '.data.executions | length')" 2 \
    "nothing was stored for it"
req POST /hooks/one -H 'Content-Type: application/json' -d '{"n":"x"}'
is "$STATUS/$(jq_get .error.code)" 503/flow_busy "a webhook is refused the same way"

touch "$T/go-long"
check "the flow is free again" wait_for "long succeeded" 20 state_is "$long" succeeded
req POST "/api/v1/executions/$early/replay" -H 'Idempotency-Key: replay-1'
is "$STATUS" 202 "the replay is accepted once the flow is free"
replay=$(jq_get .data.execution_id)
is "$(jq_get .data.replay_of)" "$early" "it names what it replays"
is "$(header Location)" "/api/v1/executions/$replay" "with its Location"
check "the replay runs" wait_for "replay succeeded" 20 state_is "$replay" succeeded
is "$(curl -s "$BASE/api/v1/executions/$replay" | jq -r .data.replay_of)" "$early" \
    "its document names the original"

req POST "/api/v1/executions/$early/replay" -H 'Idempotency-Key: replay-1'
is "$STATUS" 200 "the same replay again is a duplicate"
is "$(jq_get .data.duplicate)/$(jq_get .data.id)" "true/$replay" "...naming the first replay"
req POST "/api/v1/executions/$early/replay" -H 'Idempotency-Key: replay-2'
is "$STATUS" 202 "another key replays again"
is "$(curl -s "$BASE/api/v1/executions?flow=one" | jq '.data.executions | length')" 4 \
    "two webhooks and two replays are stored, nothing that was refused"
done_testing
