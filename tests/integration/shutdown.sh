#!/usr/bin/env bash
# SIGTERM in the middle of load: sync and async requests in flight, some
# parked on the store's commit, some on their executions, and a burst of
# sync requests sent right at the signal, which reach the store and their
# wait while the shutdown runs. sluiced must answer or drop each of them,
# exit 0 (libmicrohttpd aborts if a connection is still suspended when its
# daemon stops), and keep every execution it answered 2xx for.
. "$SRCDIR/tests/integration/lib.sh"

# Four flows and a large body on the sync trigger: a request spends longer
# between its admission and its wait, the window the burst aims at.
write_config <<EOF2
$SERVER_BLOCK
flows = ( { id = "t"; executor = "shell"; config = { argv = ["/bin/true"]; stdin = "none"; }; },
          { id = "t2"; executor = "shell"; config = { argv = ["/bin/true"]; stdin = "none"; }; },
          { id = "t3"; executor = "shell"; config = { argv = ["/bin/true"]; stdin = "none"; }; },
          { id = "t4"; executor = "shell"; config = { argv = ["/bin/true"]; stdin = "none"; }; } );
triggers = ( { id = "s"; flows = ["t", "t2", "t3", "t4"]; mode = "sync"; },
             { id = "a"; flows = ["t"]; } );
EOF2
head -c 150000 /dev/zero | tr '\0' 'x' | sed 's/^/{"pad":"/; s/$/"}/' > "$T/big.json"

ROUNDS=10
for round in $(seq "$ROUNDS"); do
    start_sluiced || { fail "round $round: sluiced starts"; break; }
    mkdir -p "$T/r$round"
    # One curl per trigger, 16 transfers at a time each; every answer of
    # the async one is kept (file per transfer) to be looked up later.
    curl -s -Z --parallel-max 16 --max-time 20 -X POST -H 'content-type: application/json' \
        --data-binary @"$T/big.json" -o /dev/null "$BASE/hooks/s?n=[1-3000]" 2>/dev/null &
    load_s=$!
    curl -s -Z --parallel-max 16 --max-time 20 -X POST -H 'content-type: application/json' \
        -d '{"n":1}' -o "$T/r$round/a_#1.json" "$BASE/hooks/a?n=[1-3000]" 2>/dev/null &
    load_a=$!
    # Stop at a different moment of the load each round, with fresh sync
    # requests arriving as the signal does.
    sleep "0.$((1 + round % 5 * 2))"
    curl -s -Z --parallel-max 32 --max-time 20 -X POST -H 'content-type: application/json' \
        --data-binary @"$T/big.json" -o /dev/null "$BASE/hooks/s?b=[1-32]" 2>/dev/null &
    burst=$!
    [ $((round % 2)) = 0 ] && sleep 0.02
    stop_sluiced TERM
    is "$SLUICE_RC" 0 "round $round: SIGTERM under load exits 0"
    [ "$SLUICE_RC" = 0 ] || { diag "the end of its log:"; tail -n 40 "$T/sluiced.log" | sed 's/^/#   /'; }
    unlike "$(cat "$T/sluiced.log")" 'Fatal error|suspended connections' \
        "round $round: no connection is left parked at exit"
    kill "$load_s" "$load_a" "$burst" 2>/dev/null
    wait "$load_s" "$load_a" "$burst" 2>/dev/null
done

# Every 2xx the async trigger gave names an execution the store kept.
ids=$(cat "$T"/r*/a_*.json 2>/dev/null | jq -r 'select(.data.execution_id != null) | .data.execution_id' 2>/dev/null | sort)
n=$(printf '%s\n' "$ids" | grep -c .)
check "the load was answered before the stops ($n accepted)" test "$n" -gt 0
sqlite3 "$T/sluice.db" 'SELECT id FROM executions' | sort > "$T/stored"
missing=$(printf '%s\n' "$ids" | comm -23 - "$T/stored" | grep -c .)
is "$missing" 0 "every accepted execution is in the store after the stops"
start_sluiced || { fail "sluiced starts again"; done_testing; exit 1; }
req GET "/api/v1/executions/$(printf '%s\n' "$ids" | tail -1)"
is "$STATUS" 200 "and the API finds the last one"
done_testing
