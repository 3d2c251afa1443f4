#!/usr/bin/env bash
# What an execution records: every attempt with its own state, exit code,
# timings and output (in the document and through the logs endpoint, live
# and after a restart), replay_of on a replay, replaced_by and replaces
# between an execution cancelled by on_limit = "cancel" and the one that
# took its place, and "unknown" for an execution that was running when
# sluiced was killed and is not retried: not a failure, left out of
# ?state=failed, replayed only by name.
. "$SRCDIR/tests/integration/lib.sh"

# Each flow that must be "running" at some point waits for a file the test
# creates, so that is a fact, not a guess about timing; each gives up after
# 20 s.
cat > "$T/await.sh" <<'EOS'
#!/bin/sh
i=0; while [ ! -e "$1" ]; do i=$((i + 1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done
EOS
# Fails twice (exit 11, then 12), then waits for go-flaky and succeeds; a
# different line on stdout and stderr each time.
cat > "$T/flaky.sh" <<EOS
#!/bin/sh
n=\$((\$(cat $T/count 2>/dev/null || echo 0) + 1)); echo \$n > $T/count
echo "attempt \$n"; echo "complaint \$n" >&2
[ \$n -ge 3 ] || exit \$((10 + n))
$T/await.sh $T/go-flaky || exit 9
EOS
cat > "$T/hold.sh" <<EOS
#!/bin/sh
echo "holding \$1"; $T/await.sh $T/go-\$1 || exit 9; echo "\$1" >> $T/done
EOS
chmod +x "$T"/*.sh

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 4; shutdown_timeout = "10s"; };
flows = (
  { id = "flaky"; executor = "shell"; retry = { max = 2; backoff = "50ms"; };
    config = { argv = ["$T/flaky.sh"]; }; },
  { id = "once"; executor = "shell"; config = { argv = ["/bin/echo", "hello"]; }; },
  { id = "single"; executor = "shell"; concurrency = 1; on_limit = "cancel";
    config = { argv = ["$T/hold.sh", "{body.n}"]; }; },
  { id = "hold"; executor = "shell"; config = { argv = ["$T/hold.sh", "{body.n}"]; }; },
  { id = "again"; executor = "shell"; retry = { max = 1; backoff = "10ms"; };
    config = { argv = ["$T/hold.sh", "{body.n}"]; }; },
  { id = "bad"; executor = "shell"; config = { argv = ["/bin/sh", "-c", "exit 3"]; }; }
);
triggers = (
  { id = "flaky"; flows = ["flaky"]; },
  { id = "once"; flows = ["once"]; mode = "sync"; },
  { id = "single"; flows = ["single"]; },
  { id = "hold"; flows = ["hold"]; },
  { id = "again"; flows = ["again"]; },
  { id = "bad"; flows = ["bad"]; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

doc() { curl -s "$BASE/api/v1/executions/$1"; }
state_is() { [ "$(doc "$1" | jq -r .data.state)" = "$2" ]; }
post() {
    curl -s -X POST -H 'Content-Type: application/json' -d "$2" "$BASE/hooks/$1" |
        jq -r .data.execution_id
}
db() { sqlite3 "$T/sluice.db" "$1"; }

# ---- attempts ----

id=$(post flaky '{}')
check "the third attempt runs" wait_for "attempt 3 running" 20 sh -c \
    "curl -s $BASE/api/v1/executions/$id | jq -e '.data.attempt == 3 and .data.state == \"running\"' >/dev/null"
req GET "/api/v1/executions/$id"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.state):\(.exit_code)"] | join(" ")')" \
    "1:failed:11 2:failed:12 3:running:null" "while it runs: the attempts that failed, then the one running"
is "$(jq_get '.data.attempts[1].stdout')" "attempt 2" "...each with its own output"
touch "$T/go-flaky"
check "the execution succeeds" wait_for "flaky succeeded" 20 state_is "$id" succeeded
req GET "/api/v1/executions/$id"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.state):\(.exit_code)"] | join(" ")')" \
    "1:failed:11 2:failed:12 3:succeeded:0" "three attempts, each with its state and exit code"
is "$(jq_get '[.data.attempts[].stdout] | join("|")')" "attempt 1
|attempt 2
|attempt 3" "...each with its own stdout"
is "$(jq_get '[.data.attempts[].stderr] | join("|")')" "complaint 1
|complaint 2
|complaint 3" "...and stderr"
is "$(jq_get '[.data.attempts[] | select(.started_at != null and .finished_at != null and .duration_ms >= 0)] | length')" \
    3 "...and timings"
is "$(jq_get '(.data.attempts[0].finished_at <= .data.attempts[1].started_at) and (.data.attempts[1].finished_at <= .data.attempts[2].started_at)')" \
    true "...one after the other"
is "$(jq_get .data.exit_code)/$(jq_get .data.attempt)/$(jq_get .data.stdout)" "0/3/attempt 3" \
    "the execution's own results are the last attempt's"
is "$(db "SELECT group_concat(attempt) FROM attempts WHERE id = '$id'")" "1,2" \
    "the store keeps a row for each attempt that was retried"

req GET "/api/v1/executions/$id/logs"
is "$STATUS/$(jq_get .data.attempt)/$(jq_get .data.stdout)" "200/3/attempt 3" \
    "logs: the last attempt by default"
req GET "/api/v1/executions/$id/logs?attempt=1"
is "$(jq_get .data.attempt)/$(jq_get .data.state)/$(jq_get .data.exit_code)/$(jq_get .data.stdout)" \
    "1/failed/11/attempt 1" "logs?attempt=1: that attempt"
req GET "/api/v1/executions/$id/logs?attempt=all"
is "$(jq_get '[.data.attempts[] | "\(.attempt) \(.state) \(.stdout)"] | join("")')" "1 failed attempt 1
2 failed attempt 2
3 succeeded attempt 3" "logs?attempt=all: every attempt, labelled"
# The README's example.
is "$(curl -s "$BASE/api/v1/executions/$id/logs?attempt=all" |
    jq -r '.data.attempts[] | "--- attempt \(.attempt): \(.state) (exit \(.exit_code))\n\(.stdout)"')" \
    "--- attempt 1: failed (exit 11)
attempt 1

--- attempt 2: failed (exit 12)
attempt 2

--- attempt 3: succeeded (exit 0)
attempt 3" "logs?attempt=all, as the README reads it"
req GET "/api/v1/executions/$id/logs?attempt=4"
is "$STATUS/$(jq_get .error.code)" 404/not_found "logs?attempt=4: no such attempt is a 404"
req GET "/api/v1/executions/$id/logs?attempt=first"
is "$STATUS/$(jq_get .error.code)" 400/bad_request "logs?attempt=first: 400"

req POST /hooks/once -d x
once=$(jq_get .data.id)
req GET "/api/v1/executions/$once"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.state):\(.exit_code):\(.stdout)"] | join(" ")')" \
    "1:succeeded:0:hello" "one attempt for an execution that ran once"
is "$(db "SELECT count(*) FROM attempts WHERE id = '$once'")" 0 \
    "...which writes no attempts row (its results are the execution's own)"

# ---- replay_of ----

req POST "/api/v1/executions/$once/replay"
is "$STATUS" 202 "replay accepted"
replay=$(jq_get .data.execution_id)
check "the replay runs" wait_for "replay finished" 20 state_is "$replay" succeeded
req GET "/api/v1/executions/$replay"
is "$(jq_get .data.replay_of)" "$once" "a replay's document names the execution it replays"
is "$(doc "$once" | jq -r .data.replay_of)" null "...and the original names none"

# ---- replaced_by / replaces ----

old=$(post single '{"n":"old"}')
check "the first one runs" wait_for "old running" 20 state_is "$old" running
new=$(post single '{"n":"new"}')
check "on_limit = cancel cancels it" wait_for "old cancelled" 20 state_is "$old" cancelled
is "$(doc "$old" | jq -r .data.replaced_by)" "$new" "the cancelled execution names the one that replaced it"
touch "$T/go-new"
check "the replacement runs" wait_for "new succeeded" 20 state_is "$new" succeeded
req GET "/api/v1/executions/$new"
is "$(jq_get .data.replaces)/$(jq_get .data.replaced_by)" "$old/null" "...and the replacement names the one it cancelled"

# ---- kill -9: outcome unknown ----

lost=$(post hold '{"n":"lost"}')
retried=$(post again '{"n":"retried"}')
check "both run" wait_for "both running" 20 sh -c \
    "[ \"\$(curl -s $BASE/api/v1/executions/$lost | jq -r .data.state)\$(curl -s $BASE/api/v1/executions/$retried | jq -r .data.state)\" = runningrunning ]"
failed=$(post bad '{}')
check "a real failure" wait_for "bad failed" 20 state_is "$failed" failed
kill -KILL "$SLUICE_PID"
wait "$SLUICE_PID" 2>/dev/null
SLUICE_PID=
touch "$T/go-lost" # the orphaned commands finish on their own (they may still run)
mv "$T/sluiced.log" "$T/sluiced.1.log"
start_sluiced || { fail "restart after kill -9"; done_testing; exit 1; }
like "$(cat "$T/sluiced.log")" "exec=$lost flow=hold was running when sluiced stopped; outcome unknown" \
    "the restart logs the unknown outcome"
req GET "/api/v1/executions/$lost"
is "$(jq_get .data.state)" unknown "running, not retried: the state is unknown, not failed"
is "$(jq_get .data.error)" "sluiced stopped while this ran; whether it finished is not known" "...and says why"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.state)"] | join(" ")')" "1:unknown" "...as its attempt does"
req GET "/api/v1/executions?state=failed"
is "$(jq_get "[.data.executions[].id] | index(\"$lost\")")" null "?state=failed does not list it"
is "$(jq_get "[.data.executions[].id] | index(\"$failed\") != null")" true "...which lists real failures"
is "$(curl -s "$BASE/api/v1/executions?state=unknown" | jq -r '.data.executions[].id')" "$lost" \
    "?state=unknown lists it, alone (the README's example)"
req GET /metrics
like "$BODY" 'sluice_executions_finished_total\{state="unknown"\} 1' "metrics count it apart"
req POST "/api/v1/executions/$lost/replay"
is "$STATUS" 202 "named by its id, it can be replayed"
lost2=$(jq_get .data.execution_id)
is "$(doc "$lost2" | jq -r .data.replay_of)" "$lost" "...and the replay says so"

touch "$T/go-retried"
check "with a retry left, it is retried" wait_for "retried succeeded" 20 state_is "$retried" succeeded
req GET "/api/v1/executions/$retried"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.state)"] | join(" ")')" "1:unknown 2:succeeded" \
    "...and the attempt cut short stays on record as unknown"
is "$(jq_get '.data.attempts[0].started_at != null')" true "...with the time it started"

# ---- after a clean restart, from the store ----

check "the replay finishes" wait_for "lost2 finished" 20 state_is "$lost2" succeeded
stop_sluiced TERM
start_sluiced || { fail "restart"; done_testing; exit 1; }
req GET "/api/v1/executions/$id"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.exit_code):\(.stdout)"] | join("")')" "1:11:attempt 1
2:12:attempt 2
3:0:attempt 3" "the attempts are read back from the store"
is "$(doc "$old" | jq -r .data.replaced_by)/$(doc "$new" | jq -r .data.replaces)/$(doc "$replay" | jq -r .data.replay_of)" \
    "$new/$old/$once" "...and the links between executions"

done_testing
