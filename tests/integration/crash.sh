#!/usr/bin/env bash
# Nothing accepted is lost: 200 async requests over five kill -9 / restart
# cycles, and every accepted execution runs exactly once.
. "$SRCDIR/tests/integration/lib.sh"

cat > "$T/append.sh" <<'EOS'
#!/bin/sh
sleep 0.01
echo "$SLUICE_EXECUTION_ID" >> "$LINES"
EOS
chmod +x "$T/append.sh"
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 1; max_queue = 100000; };
flows = ( { id = "append"; executor = "shell";
            config = { argv = ["$T/append.sh"]; env = { LINES = "$T/lines"; }; stdin = "none"; }; } );
triggers = ( { id = "append"; flows = ["append"]; } );
EOF2
: > "$T/lines"
: > "$T/accepted"

fire() {
    # 40 concurrent senders; keep the ids of every 202.
    seq 40 | xargs -P 8 -I{} curl -s -o - -w '\n' -X POST -H 'Content-Type: application/json' \
        -d '{"n": {}}' "$BASE/hooks/append" |
        jq -r 'select(.data.execution_id != null) | .data.execution_id' >> "$T/accepted"
}

for cycle in 1 2 3 4 5; do
    start_sluiced || { fail "cycle $cycle: sluiced starts"; done_testing; exit 1; }
    fire
    kill -KILL "$SLUICE_PID"
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=
    mv "$T/sluiced.log" "$T/sluiced.$cycle.log"
done
accepted=$(sort -u "$T/accepted" | wc -l)
is "$accepted" 200 "200 requests were accepted across 5 kill -9 cycles"

start_sluiced || { fail "sluiced restarts"; done_testing; exit 1; }
like "$(cat "$T/sluiced.log")" 'recovery: [0-9]+ queued executions resumed' "recovery is logged"
drained() {
    q=$(curl -s "$BASE/api/v1/executions?state=queued&limit=1" | jq '.data.executions | length')
    r=$(curl -s "$BASE/api/v1/executions?state=running&limit=1" | jq '.data.executions | length')
    [ "$q" = 0 ] && [ "$r" = 0 ]
}
check "every recovered execution finishes" wait_for "queue drained" 120 drained

dups=$(sort "$T/lines" | uniq -d | wc -l)
is "$dups" 0 "no execution ran twice"
missing=0; interrupted=0
while read -r id; do
    if ! grep -qx "$id" "$T/lines"; then
        missing=$((missing + 1))
        st=$(curl -s "$BASE/api/v1/executions/$id" | jq -r '.data.state + " " + (.data.error // "")')
        case "$st" in "unknown sluiced stopped while this ran"*) interrupted=$((interrupted + 1));; *) diag "lost: $id $st";; esac
    fi
done < <(sort -u "$T/accepted")
diag "ran: $(sort -u "$T/lines" | wc -l), interrupted mid-run by kill -9 and reported: $interrupted"
is "$missing" "$interrupted" "every accepted execution ran, or is reported as interrupted mid-run"
check "at most one interrupted per kill (one worker)" [ "$interrupted" -le 5 ]
req GET "/api/v1/executions?state=failed&limit=500"
is "$(jq_get '.data.executions | length')" 0 "none killed mid-run is listed as failed (it may have finished)"
extra=$(sort -u "$T/lines" | grep -vxFf <(sort -u "$T/accepted") | wc -l)
is "$extra" 0 "nothing ran that was not acknowledged"

done_testing
