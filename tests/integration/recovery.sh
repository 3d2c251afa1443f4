#!/usr/bin/env bash
# What a restart finds: the start journal, a database from an older
# schema, and the priority flows run at.
. "$SRCDIR/tests/integration/lib.sh"

cat > "$T/slow.sh" <<'EOF2'
#!/bin/sh
sleep 2; echo "$1" >> "$RUNS"
EOF2
chmod +x "$T/slow.sh"
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; shutdown_timeout = "300ms"; };
flows = (
  { id = "serial"; executor = "shell"; concurrency = 1;
    config = { argv = ["$T/slow.sh", "{body.n}"]; env = { RUNS = "$T/runs" }; }; },
  { id = "nice"; executor = "shell"; config = { argv = ["/usr/bin/nice"]; }; },
  { id = "policy"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "cut -d' ' -f41 /proc/self/stat"]; }; }
);
triggers = (
  { id = "serial"; flows = ["serial"]; },
  { id = "nice"; flows = ["nice"]; mode = "sync"; },
  { id = "policy"; flows = ["policy"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

# Flows run below intake: nice 10 unless configured otherwise, and never
# above sluiced itself, which runs at the nice this script was given.
OWN_NICE=$(nice)
at_least() { [ "$1" -gt "$OWN_NICE" ] && echo "$1" || echo "$OWN_NICE"; }
req POST /hooks/nice -d x
is "$(jq_get .data.stdout | tr -d '\n')" "$(at_least 10)" "flows run at worker_nice 10 by default"

# One execution runs, one waits behind concurrency = 1; SIGTERM cuts the
# first short (its flow allows no retry: unknown) and leaves the second
# queued.
req POST /hooks/serial -H 'Content-Type: application/json' -d '{"n":"first"}'
first=$(jq_get .data.execution_id)
wait_for "first running" 10 sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$first | jq -r .data.state)\" = running ]"
req POST /hooks/serial -H 'Content-Type: application/json' -d '{"n":"second"}'
second=$(jq_get .data.execution_id)
stop_sluiced TERM
is "$SLUICE_RC" 0 "SIGTERM exits 0"
is "$(stat -c %s "$T/sluice.db-started")" 0 "a clean stop leaves the start journal empty"

# A crash just after a worker journaled the start of "second", before the
# database learned it: the next start must treat it as interrupted (this
# flow allows no retry), never run it again as if it had not begun, and
# not call it failed either: whether it finished is not known.
echo "$second 1" >> "$T/sluice.db-started"
start_sluiced || { fail "restart"; done_testing; exit 1; }
is "$(grep -c "$second" "$T/sluice.db-started")" 0 "the journal is emptied once read"
req GET "/api/v1/executions/$second"
is "$(jq_get .data.state)" unknown "a journaled start is recovered with an unknown outcome"
like "$(jq_get .data.error)" "whether it finished is not known" "...with the reason"
req GET "/api/v1/executions/$first"
is "$(jq_get .data.state)" unknown \
    "the execution cut short by shutdown (no retry) is unknown too, not run again"
is "$(cat "$T/runs" 2>/dev/null | grep -c .)" 0 "...and neither command ran to its end"
stop_sluiced TERM

# worker_nice is configurable and checked.
set_nice() { sed -i "s/worker_nice = [^;]*;/worker_nice = $1;/" "$T/sluice.conf"; }
flow_says() { req POST "/hooks/$1" -d x; jq_get .data.stdout | tr -d '\n'; }
refused() {
    local out rc
    out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1); rc=$?
    is "$rc" 1 "$1 is a config error"
    like "$out" "$2" "...naming file:line and the setting"
}
sed -i 's/workers = 2;/workers = 2; worker_nice = 3;/' "$T/sluice.conf"
start_sluiced || { fail "restart with worker_nice"; done_testing; exit 1; }
is "$(flow_says nice)" "$(at_least 3)" "worker_nice = 3"
stop_sluiced TERM
set_nice 25
refused "worker_nice out of range" 'sluice\.conf:[0-9]+: .*worker_nice'
# "idle": flows and what they spawn get SCHED_IDLE (policy 5).
set_nice '"idle"'
start_sluiced || { fail "restart with worker_nice = idle"; done_testing; exit 1; }
is "$(flow_says policy)" 5 "worker_nice = \"idle\" runs flows at SCHED_IDLE"
is "$(flow_says nice)" "$OWN_NICE" "...and leaves their nice alone"
stop_sluiced TERM
# A sluiced started below worker_nice keeps its flows at its own nice.
set_nice 3
REAL_SLUICED=$SLUICED
printf '#!/bin/sh\nexec nice -n 5 "%s" "$@"\n' "$REAL_SLUICED" > "$T/nicer-sluiced"
chmod +x "$T/nicer-sluiced"
SLUICED=$T/nicer-sluiced
start_sluiced || { fail "restart at a higher nice"; done_testing; exit 1; }
SLUICED=$REAL_SLUICED
is "$(flow_says nice)" "$((OWN_NICE + 5 > 19 ? 19 : OWN_NICE + 5))" \
    "flows never run above a sluiced started at a higher nice than worker_nice"
stop_sluiced TERM
set_nice '"lazy"'
refused "another word" 'sluice\.conf:[0-9]+: server.worker_nice: a number from 0 to 19, or "idle"'
set_nice 25

# A database written by schema version 1 is upgraded at start and keeps
# its history and its queued work.
if command -v sqlite3 >/dev/null; then
    rm -f "$T"/sluice.db*
    sqlite3 "$T/sluice.db" >/dev/null <<'EOF2'
PRAGMA journal_mode = WAL;
CREATE TABLE executions (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, trigger TEXT NOT NULL,
  flow TEXT NOT NULL, state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 1,
  event TEXT NOT NULL, inputs TEXT, function TEXT, headers TEXT, idem_key TEXT,
  exit_code INTEGER, outputs TEXT, error TEXT, stdout TEXT, stderr TEXT,
  received_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER) WITHOUT ROWID;
CREATE INDEX executions_state ON executions(state);
CREATE INDEX executions_flow ON executions(flow, id);
CREATE INDEX executions_trigger ON executions(trigger, id);
CREATE INDEX executions_finished ON executions(finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX executions_idem ON executions(trigger, flow, idem_key) WHERE idem_key IS NOT NULL;
INSERT INTO executions VALUES ('0193a8c2-0000-7000-8000-000000000001', 'r1', 'serial', 'serial',
  'succeeded', 1, '{"execution_id":"0193a8c2-0000-7000-8000-000000000001","body":{"n":"old"},"query":{},"params":{}}',
  '{"body":{"n":"old"}}', NULL, '{"content-type":"application/json"}', NULL, 0, '{"k":"v"}', NULL,
  'old output', '', 1700000000000, 1700000000100, 1700000000200);
INSERT INTO executions VALUES ('0193a8c2-0000-7000-8000-000000000002', 'r2', 'serial', 'serial',
  'queued', 1, '{"execution_id":"0193a8c2-0000-7000-8000-000000000002","body":{"n":"queued-in-v1"},"query":{},"params":{}}',
  NULL, NULL, '{}', NULL, NULL, NULL, NULL, NULL, NULL, 1700000000300, NULL, NULL);
PRAGMA user_version = 1;
EOF2
    sed -i 's/worker_nice = 25;//' "$T/sluice.conf"
    start_sluiced || { fail "start on a v1 database"; done_testing; exit 1; }
    like "$(cat "$T/sluiced.log")" "upgraded the schema to version 3" "a v1 database is upgraded"
    req GET /api/v1/executions/0193a8c2-0000-7000-8000-000000000001
    is "$(jq_get .data.state)/$(jq_get .data.outputs.k)/$(jq_get .data.stdout)" \
        "succeeded/v/old output" "its history survives the upgrade"
    is "$(jq_get .data.inputs.body.n)" old "inputs are derived from the stored event"
    check "work queued under v1 runs after the upgrade" \
        wait_for "v1 queued ran" 20 grep -qx queued-in-v1 "$T/runs"
    stop_sluiced TERM
    is "$(sqlite3 "$T/sluice.db" 'PRAGMA user_version')" 3 "the schema version is recorded"
else
    skip "a v1 database is upgraded" "no sqlite3 command"
fi
done_testing
