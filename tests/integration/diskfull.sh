#!/usr/bin/env bash
# A full disk is a 503, never a 2xx for work that was not stored; and what
# was acknowledged is all there after a restart with room again.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 1; };
flows = ( { id = "noop"; executor = "shell"; config = { argv = ["/bin/true"]; stdin = "none"; }; } );
triggers = ( { id = "noop"; flows = ["noop"]; } );
EOF2
# The file size limit stands in for a full disk: writes past it fail with
# EFBIG (sluiced ignores SIGXFSZ), exactly as ENOSPC would.
ulimit -f 400
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
ulimit -f unlimited 2>/dev/null || true
head -c 60000 /dev/zero | tr '\0' 'x' | sed 's/^/{"pad":"/; s/$/"}/' > "$T/body.json"
: > "$T/acked"
codes=""
for i in $(seq 60); do
    req POST /hooks/noop -H 'Content-Type: application/json' --data-binary @"$T/body.json"
    codes="$codes $STATUS"
    [ "$STATUS" = 202 ] && jq_get .data.execution_id >> "$T/acked"
    [ "$STATUS" = 503 ] && { code=$(jq_get .error.code); break; }
done
like "$codes" '503' "a full disk answers 503 (got:$codes)"
is "${code:-}" store_unavailable "...saying the store is unavailable"
req GET /readyz
is "$STATUS" 503 "readyz reports the failing store"
stop_sluiced KILL
diag "acknowledged before the disk filled: $(wc -l < "$T/acked")"
start_sluiced || { fail "restart with room"; done_testing; exit 1; }
lost=0
while read -r id; do
    s=$(curl -s "$BASE/api/v1/executions/$id" | jq -r .data.state)
    [ "$s" = null ] && { lost=$((lost + 1)); diag "lost $id"; }
done < "$T/acked"
is "$lost" 0 "every acknowledged execution is in the store after a restart"
check "the store takes work again" sh -c "curl -s -o /dev/null -w '%{http_code}' -X POST -d x $BASE/hooks/noop | grep -q 202"
done_testing
