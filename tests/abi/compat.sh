#!/usr/bin/env bash
# A plugin built from the frozen v1.0 header (tests/abi/abi10.c) runs in the
# current sluiced, and every v1.0 host function keeps its v1.0 meaning:
# event, headers (with auth material hidden), meta, outputs, error, exit
# code, stdout/stderr, cancellation flag, response override, PENDING +
# exec_complete from another thread, SLUICE_HOST_HAS.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
$SERVER_BLOCK
flows = (
  { id = "report"; namespace = "abi"; executor = "abi10"; timeout = "30s"; },
  { id = "fail"; executor = "abi10"; config = { mode = "fail"; }; },
  { id = "respond"; executor = "abi10"; config = { mode = "respond"; }; },
  { id = "pending"; executor = "abi10"; timeout = "10s"; config = { mode = "pending"; }; }
);
triggers = (
  { id = "report"; flows = ["abi/report"]; mode = "sync"; },
  { id = "fail"; flows = ["fail"]; mode = "sync"; },
  { id = "respond"; flows = ["respond"]; mode = "sync"; },
  { id = "pending"; flows = ["pending"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts with the v1.0 plugin"; done_testing; exit 1; }
ok "sluiced starts with a plugin built from the frozen v1.0 header"
like "$(cat "$T/sluiced.log")" 'loaded plugin abi10 1\.0 \(ABI 1\.0\) from .*/abi10\.so' \
    "the loader names the plugin's ABI 1.0"

req POST '/hooks/report?function=deploy' -H 'Content-Type: application/json' \
    -H 'X-Test: hello v1.0' -H 'Authorization: Bearer s3cr3t-t0ken' -d '{"ref":"main"}'
is "$STATUS" 200 "v1.0 plugin: the execution succeeds"
id=$(jq_get .data.id)
o() { printf '%s' "$BODY" | jq -r ".data.outputs$1"; }
is "$(o .host_abi)" "$(sed -n 's/^#define SLUICE_ABI_MAJOR \([0-9]*\)$/\1/p' "$SRCDIR/sdk/include/sluice/plugin.h").$(sed -n 's/^#define SLUICE_ABI_MINOR \([0-9]*\)$/\1/p' "$SRCDIR/sdk/include/sluice/plugin.h")" \
    "the host table reports the current ABI version"
check "the host table is at least the v1.0 size" [ "$(o .host_struct_size)" -ge 104 ]
is "$(o .has_set_response)" true "SLUICE_HOST_HAS(exec_set_response) from a v1.0 plugin"
is "$(o .event_ok)" true "exec_event: a JSON object, *len equal to its length"
is "$(o .x_test)" "hello v1.0" "exec_header: case-insensitive lookup"
unlike "$(o .authorization)" 's3cr3t' "exec_header: Authorization is never visible"
is "$(o .missing_header)" null "exec_header: NULL for a header not sent"
is "$(o .meta.execution_id)" "$id" "exec_meta execution_id"
is "$(o .meta.request_id)" "$(header X-Request-Id)" "exec_meta request_id"
is "$(o .meta.flow)" "abi/report" "exec_meta flow is namespace/id"
is "$(o .meta.namespace)" "abi" "exec_meta namespace"
is "$(o .meta.trigger)" "report" "exec_meta trigger"
is "$(o .meta.function)" "deploy" "exec_meta function"
is "$(o .meta.attempt)" "1" "exec_meta attempt"
is "$(o .meta.timeout_ms)" "30000" "exec_meta timeout_ms"
is "$(o .meta.mode)" "sync" "exec_meta mode"
is "$(o .unknown_meta)" null "exec_meta: NULL for an unknown key"
is "$(o .cancelled)" 0 "exec_is_cancelled: 0 while running"
is "$(o .rc.exit_code)" 0 "exec_set_exit_code returns 0"
is "$(o .rc.stdout)$(o .rc.stderr)" 00 "exec_write_log returns 0 for stdout and stderr"
is "$(o .rc.bad_stream)" -1 "exec_write_log returns -1 for an unknown stream"
is "$(o .rc.not_object)" -1 "exec_set_output returns -1 for a non-object"
is "$(jq_get .data.exit_code)" 7 "the exit code is recorded"
req GET "/api/v1/executions/$id"
is "$(jq_get .data.stdout)" "to stdout" "stdout written by a v1.0 plugin"
is "$(jq_get .data.stderr)" "to stderr" "stderr written by a v1.0 plugin"
like "$(cat "$T/sluiced.log")" "plugin abi10 exec=$id: abi10 says hello \\(v1\\.0\\)" \
    "host->log names the plugin and the execution"

req POST /hooks/fail -d x
is "$STATUS" 500 "SLUICE_ERR fails the execution"
is "$(jq_get .data.state)" failed "state failed"
is "$(jq_get .data.error)" "abi10 failed on purpose" "exec_set_error gives the reason"
is "$(jq_get .data.exit_code)" 9 "exit code with a failure"

req POST /hooks/respond -d x
is "$STATUS" 201 "exec_set_response: the plugin's status"
is "$BODY" "made by abi10" "exec_set_response: the plugin's body"
is "$(header Content-Type)" "text/plain" "exec_set_response: the plugin's content type"

req POST /hooks/pending -d x
is "$STATUS" 200 "SLUICE_PENDING + exec_complete from another thread"
is "$(jq_get .data.outputs.pending)" done "outputs set from the other thread are kept"
id=$(jq_get .data.id)
req GET "/api/v1/executions/$id"
is "$(jq_get .data.stdout)" "completed from another thread" "logs written from the other thread"

done_testing
