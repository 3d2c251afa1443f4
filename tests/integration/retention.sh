#!/usr/bin/env bash
# store.retention deletes finished executions older than it, and nothing else.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; };
store: { retention = "1s"; };
flows = ( { id = "quick"; executor = "shell"; config = { argv = ["/bin/true"]; }; },
          { id = "slow"; executor = "shell"; config = { argv = ["/bin/sleep", "20"]; }; } );
triggers = ( { id = "quick"; flows = ["quick"]; mode = "sync"; },
             { id = "slow"; flows = ["slow"]; } );
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
like "$(cat "$T/sluiced.log")" 'finished executions are kept for 1 s' "retention is announced"
req POST /hooks/quick -d x
old=$(jq_get .data.id)
req POST /hooks/slow -d x
running=$(jq_get .data.execution_id)
gone() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/executions/$old")" = 404 ]; }
check "a finished execution older than retention is deleted" wait_for "purge" 20 gone
req GET "/api/v1/executions/$running"
is "$(jq_get .data.state)" running "an unfinished execution is never deleted"
curl -s -X POST "$BASE/api/v1/executions/$running/cancel" >/dev/null
done_testing
