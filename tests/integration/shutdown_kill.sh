#!/usr/bin/env bash
# An execution still running at shutdown_timeout is killed. Whether its
# command finished its work is not known, as after a crash: without a retry
# left it ends "unknown" and never runs again; with one, the next start runs
# the next attempt, and the one cut short stays on record as unknown.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "1s"; };
flows = (
  { id = "deploy"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "echo run >> $T/deploy; sleep 30"]; stdin = "none"; }; },
  { id = "again"; executor = "shell"; retry = { max = 1; backoff = "10ms"; };
    config = { argv = ["/bin/sh", "-c", "echo run >> $T/again; [ \$(wc -l < $T/again) -ge 2 ] || sleep 30"];
               stdin = "none"; }; }
);
triggers = ( { id = "deploy"; flows = ["deploy"]; }, { id = "again"; flows = ["again"]; } );
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

post() {
    curl -s -X POST -H 'Content-Type: application/json' -d '{}' "$BASE/hooks/$1" |
        jq -r .data.execution_id
}
state_is() { [ "$(exec_state "$1")" = "$2" ]; }
deploy=$(post deploy)
again=$(post again)
check "both run" wait_for "both running" 20 sh -c \
    "[ -s $T/deploy ] && [ -s $T/again ] && [ \"\$(curl -s $BASE/api/v1/executions/$deploy | jq -r .data.state)\$(curl -s $BASE/api/v1/executions/$again | jq -r .data.state)\" = runningrunning ]"
stop_sluiced TERM
is "$SLUICE_RC" 0 "SIGTERM with executions past shutdown_timeout exits 0"
mv "$T/sluiced.log" "$T/sluiced.1.log"
unlike "$(cat "$T/sluiced.1.log")" 'AddressSanitizer|LeakSanitizer|runtime error:' \
    "the shutdown that killed them ran clean under the sanitizers"

start_sluiced || { fail "restart"; done_testing; exit 1; }
check "with a retry left, the next attempt runs at the next start" \
    wait_for "again succeeded" 20 state_is "$again" succeeded
req GET "/api/v1/executions/$again"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.state)"] | join(" ")')" "1:unknown 2:succeeded" \
    "...and the attempt killed at shutdown stays on record as unknown"
like "$(jq_get .data.attempts[0].error)" "^sluiced stopped while this ran; whether it finished is not known" \
    "...saying why"
req GET "/api/v1/executions/$deploy"
is "$(jq_get .data.state)" unknown "without a retry left, killed at shutdown: unknown"
like "$(jq_get .data.error)" "^sluiced stopped while this ran; whether it finished is not known" \
    "...and says why"
is "$(jq_get '[.data.attempts[] | "\(.attempt):\(.state)"] | join(" ")')" "1:unknown" \
    "...as its only attempt does"
is "$(wc -l < "$T/deploy" | tr -d ' ')" 1 "its command ran once, not again at the next start"
done_testing
