#!/usr/bin/env bash
# What sluiced keeps in its state directory: one daemon per directory and
# per store, and every file there private to sluiced's user.
. "$SRCDIR/tests/integration/lib.sh"

cat > "$T/hold.sh" <<'EOF2'
#!/bin/sh
# Runs until the test lets it finish (bounded), then says it ran.
for _ in $(seq 600); do [ -e "$GO" ] && break; sleep 0.1; done
echo "$SLUICE_EXECUTION_ID" >> "$RUNS"
EOF2
chmod +x "$T/hold.sh"
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; shutdown_timeout = "10s"; };
flows = (
  { id = "hold"; executor = "shell";
    config = { argv = ["$T/hold.sh"]; env = { GO = "$T/go"; RUNS = "$T/runs"; }; stdin = "none"; }; }
);
triggers = (
  { id = "hold"; flows = ["hold"]; },
  { id = "cap"; flows = ["hold"]; capability = true; }
);
EOF2
: > "$T/runs"

# ---- one daemon per state directory and store ----
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
FIRST=$SLUICE_PID
ids=()
for n in 1 2 3; do
    req POST /hooks/hold -d x
    ids+=("$(jq_get .data.execution_id)")
done
running() { [ "$(exec_state "${ids[0]}")/$(exec_state "${ids[1]}")" = running/running ]; }
check "two executions run and one waits (two workers)" wait_for "two running" 20 running
is "$(exec_state "${ids[2]}")" queued "...the third is queued"
is "$(cat "$T/state/sluiced.lock")" "$FIRST" "the lock file names the running sluiced's PID"

# second [ARGS...]: another sluiced on the same configuration; waits until
# it exits or becomes ready (then it is stopped: it should not have
# started). Sets SECOND_RC and SECOND_LOG.
second() {
    : > "$T/second.log"
    "$SLUICED" -c "$T/sluice.conf" "$@" 2>"$T/second.log" &
    local pid=$! i
    for i in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        if grep -q "ready:" "$T/second.log"; then
            diag "the second sluiced started"
            kill -TERM "$pid"
            break
        fi
        sleep 0.05
    done
    wait "$pid"
    SECOND_RC=$?
    SECOND_LOG=$(cat "$T/second.log")
}
second --store "$T/sluice.db" --state-dir "$T/state"
is "$SECOND_RC" 1 "a second sluiced on the same state directory exits 1"
like "$SECOND_LOG" "state directory $T/state is in use by another sluiced, PID $FIRST" \
    "...naming the state directory and the other one's PID"
unlike "$SECOND_LOG" "recovery|ready" "...before recovering or serving anything"
second --store "$T/sluice.db" --state-dir "$T/state2"
is "$SECOND_RC" 1 "another state directory on the same store: refused too"
like "$SECOND_LOG" "store $T/sluice.db is in use by another sluiced, PID $FIRST" \
    "...naming the store and the other one's PID"
second --store "$T/state/sluice.db" --state-dir "$T/state"
like "$SECOND_LOG" "state directory $T/state is in use" "another store in the same state directory: refused"
out=$("$SLUICED" -c "$T/sluice.conf" --store "$T/sluice.db" --state-dir "$T/state" --check-config 2>&1)
is "$?" 0 "--check-config runs beside the daemon (it takes no lock)"
diag "$out"

states() { for id in "${ids[@]}"; do printf '%s ' "$(exec_state "$id")"; done; }
is "$(states)" "running running queued " "the first one's executions are untouched"
if command -v sqlite3 >/dev/null; then
    is "$(sqlite3 "$T/sluice.db" "SELECT count(*) FROM executions WHERE state = 'failed'")" 0 \
        "...in the store too: none was failed as interrupted"
else
    skip "...in the store too" "no sqlite3 command"
fi
touch "$T/go"
finished() { [ "$(states)" = "succeeded succeeded succeeded " ]; }
check "all three finish" wait_for "three succeeded" 30 finished
is "$(sort -u "$T/runs" | wc -l)/$(wc -l < "$T/runs")" 3/3 "each ran once"

rm -f "$T/go"
req POST /hooks/hold -d x
interrupted=$(jq_get .data.execution_id)
check "one more runs" wait_for "running" 20 sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$interrupted | jq -r .data.state)\" = running ]"
kill -KILL "$FIRST"
wait "$FIRST" 2>/dev/null
SLUICE_PID=
check "after kill -9 of the first, a new sluiced starts" start_sluiced
is "$(cat "$T/state/sluiced.lock")" "$SLUICE_PID" "...and the lock file names it"
is "$(exec_state "$interrupted")" unknown "...and it recovers what the first one left (outcome unknown)"
stop_sluiced TERM

# ---- every file in the state directory is private ----
# private DIR: the entries of DIR that anyone but their owner may use.
private() { find "$1" -mindepth 1 -maxdepth 1 -perm /077 -printf '%f %m\n' | sort | tr '\n' ' '; }
CALLER_UMASK=$(umask)
for mask in 022 000; do
    S=$T/private-$mask
    umask $mask
    start_sluiced --store "$S/sluice.db" --state-dir "$S" || fail "start with umask $mask"
    umask "$CALLER_UMASK"
    touch "$T/go"
    req POST /hooks/hold -d x
    id=$(jq_get .data.execution_id)
    check "umask $mask: an execution runs" wait_for "succeeded" 20 \
        sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$id | jq -r .data.state)\" = succeeded ]"
    listing=$(cd "$S" && ls | tr '\n' ' ')
    like "$listing" "sluice\.db sluice\.db-shm sluice\.db-started sluice\.db-wal sluiced\.lock tokens\.json" \
        "umask $mask: the state directory holds the store, its WAL, journal, lock and tokens"
    is "$(private "$S")" "" "umask $mask: each of them is private to sluiced's user"
    is "$(stat -c %a "$S")" 700 "umask $mask: and so is the directory sluiced made for them"
    stop_sluiced TERM
done

# A store an older sluiced left readable is made private at start.
S=$T/private-022
chmod 0644 "$S/sluice.db" "$S/sluice.db-started"
start_sluiced --store "$S/sluice.db" --state-dir "$S" || fail "start on a readable store"
is "$(private "$S")" "" "a readable store and its files are made private at start"
like "$(cat "$T/sluiced.log")" "store $S/sluice.db: made private to its owner \(it was mode 0644\)" \
    "...and the log says so"
done_testing
