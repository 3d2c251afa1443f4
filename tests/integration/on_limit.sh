#!/usr/bin/env bash
# on_limit = "cancel" cancels a running execution only for one that was
# stored: not for a request the store refused (503), nor for the second
# of two deliveries with the same idempotency key arriving together (a
# duplicate). The store is held still by a write transaction of our own
# (sqlite3 on the same WAL database), so both deliveries are admitted
# before either is committed.
. "$SRCDIR/tests/integration/lib.sh"

# Waits for a file the test creates (20 s at most). SIGTERM is ignored, so
# a cancelled execution stays running until kill_grace: one cancelled for
# nothing still counts against the limit when the next request arrives.
cat > "$T/await.sh" <<'EOF'
#!/bin/sh
trap '' TERM
i=0; while [ ! -e "$1" ]; do i=$((i + 1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done
EOF
chmod +x "$T/await.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 4; workers = 4; shutdown_timeout = "10s"; };
flows = ( { id = "pair"; executor = "shell"; concurrency = 2; on_limit = "cancel";
            config = { argv = ["$T/await.sh", "$T/go-{body.n}"]; kill_grace = "2s"; }; } );
triggers = ( { id = "pair"; flows = ["pair"]; } );
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

doc() { curl -s "$BASE/api/v1/executions/$1"; }
state_is() { [ "$(doc "$1" | jq -r .data.state)" = "$2" ]; }
post() {
    curl -s -X POST -H 'Content-Type: application/json' -d "$2" "$BASE/hooks/pair" |
        jq -r .data.execution_id
}
cancels() { grep -c "cancelled to make room" "$T/sluiced.log"; }

a1=$(post pair '{"n":"a1"}')
check "the first one runs" wait_for "a1 running" 20 state_is "$a1" running
a2=$(post pair '{"n":"a2"}')
check "the second one runs" wait_for "a2 running" 20 state_is "$a2" running

# lock: hold the store's write lock until unlock; the sqlite3 shell reads
# its statements from a fifo.
lock() {
    rm -f "$T/lockfifo" "$T/locked"; mkfifo "$T/lockfifo"
    sqlite3 "$T/sluice.db" < "$T/lockfifo" > "$T/locked" 2>&1 &
    LOCK_PID=$!
    exec 3> "$T/lockfifo"
    printf 'BEGIN IMMEDIATE;\n.print locked\n' >&3
    wait_for "the store is locked" 10 grep -q locked "$T/locked"
}
unlock() { printf 'COMMIT;\n' >&3; exec 3>&-; wait "$LOCK_PID"; }

# ---- the store refuses the batch: nothing is cancelled ----

check "the store is held" lock
curl -s -o "$T/refused.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"n":"refused"}' "$BASE/hooks/pair" > "$T/refused.code" &
refused=$!
wait "$refused"
unlock
is "$(cat "$T/refused.code")" 503 "a request the store could not take is answered 503"
is "$(cancels)" 0 "...and cancelled nothing"
is "$(doc "$a1" | jq -r .data.state)/$(doc "$a2" | jq -r .data.state)" running/running \
    "...both executions still run"

# ---- two deliveries with one idempotency key: one cancellation ----

check "the store is held again" lock
for n in b c; do
    curl -s -o "$T/$n.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H 'Idempotency-Key: delivery-1' -d '{"n":"b"}' "$BASE/hooks/pair" > "$T/$n.code" &
    eval "pid_$n=\$!"
done
# Both are admitted at once (nothing stored yet, neither is a duplicate of
# anything); the store's busy timeout (5 s) is far from here.
sleep 1
unlock
wait "$pid_b" "$pid_c"
is "$(sort "$T/b.code" "$T/c.code" | tr '\n' ' ')" "200 202 " \
    "one delivery is accepted, the other answered as its duplicate"
b=$(jq -r '.data.execution_id // empty' "$T/b.json" "$T/c.json" | head -1)
is "$(jq -r 'select(.data.duplicate) | .data.id' "$T/b.json" "$T/c.json")" "$b" \
    "the duplicate names the stored execution"
check "the stored one cancels the oldest" wait_for "a1 cancelled" 20 state_is "$a1" cancelled
is "$(cancels)" 1 "one execution is cancelled, not one per delivery"
is "$(doc "$a1" | jq -r .data.replaced_by)" "$b" "the cancelled one names its replacement"
touch "$T/go-a2" "$T/go-b"
check "the other running one finishes on its own" wait_for "a2 succeeded" 20 state_is "$a2" succeeded
check "the replacement runs" wait_for "b succeeded" 20 state_is "$b" succeeded
is "$(doc "$b" | jq -r .data.replaces)" "$a1" "...and names the one it replaced"
stop_sluiced TERM
start_sluiced || { fail "restart"; done_testing; exit 1; }
is "$(doc "$a1" | jq -r .data.replaced_by)/$(doc "$b" | jq -r .data.replaces)" "$b/$a1" \
    "the links are in the store"
done_testing
