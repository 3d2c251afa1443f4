#!/usr/bin/env bash
# The host against a plugin that breaks the rules (tests/abi/misbehave.c):
# PENDING that never completes is timed out; exec_complete twice, after the
# timeout, with a bad result or on top of a returned result is ignored and
# logged; NULL, oversized and malformed outputs, bad streams and bad
# responses are refused with a log line; errors and logs are bounded to the
# documented limits. Nothing crashes and, under the sanitizers, nothing
# leaks or corrupts memory. (A second exec_complete from a plugin thread:
# late.sh; stray completions with retries: retry.sh.)
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/abi/todo.sh"

flow() { printf '  { id = "%s"; executor = "misbehave"; %s config = { mode = "%s"; }; },\n' "$1" "$3" "$2"; }
trig() { printf '  { id = "%s"; flows = ["%s"]; mode = "%s"; },\n' "$1" "$1" "$2"; }

{
    echo "$SERVER_BLOCK"
    echo "flows = ("
    flow park park 'timeout = "1s";'
    flow release release ''
    flow twice twice_inside ''
    flow complete_and_return complete_and_return ''
    flow bad_result bad_result ''
    flow bad_complete bad_complete ''
    flow silent_fail silent_fail ''
    flow limits limits ''
    flow long_error long_error ''
    flow utf8_error utf8_error ''
    flow latin1_error latin1_error ''
    flow loud loud ''
    flow block block 'timeout = "1s";'
    echo '  { id = "last"; executor = "misbehave"; config = { mode = "silent_fail"; }; }'
    echo ");"
    echo "triggers = ("
    trig park async
    trig block async
    echo '  { id = "park-sync"; flows = ["park"]; mode = "sync"; sync_timeout = "20s"; },'
    for t in release twice complete_and_return bad_result bad_complete silent_fail limits \
             long_error utf8_error latin1_error loud; do trig "$t" sync; done
    echo '  { id = "last"; flows = ["last"]; }'
    echo ");"
} > "$T/sluice.conf"
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
LOG=$T/sluiced.log
log_has() { grep -Eq -- "$1" "$LOG"; }

# ---- PENDING forever: timed out, cancel called, late completion ignored ----
req POST /hooks/park -d x
is "$STATUS" 202 "park: accepted"
parked=$(jq_get .data.execution_id)
# A sync request on the same flow waits in the background meanwhile.
curl -s -o "$T/park-sync.json" -w '%{http_code}' -X POST -d x --max-time 30 \
    "$BASE/hooks/park-sync" > "$T/park-sync.status" &
sync_pid=$!
# And an execute that blocks for 7 s and ignores its cancellation.
req POST /hooks/block -d x
blocked=$(jq_get .data.execution_id)

# ---- exec_complete twice (inside execute, where the host holds exec) ----
req POST /hooks/twice -d x
is "$STATUS" 200 "twice: the first exec_complete finishes the execution"
is "$(jq_get .data.state)" succeeded "twice: the first result (SLUICE_OK) counts"
id=$(jq_get .data.id)
check "twice: the second exec_complete is logged as ignored" \
    log_has "exec=$id: exec_complete called for an execution that is already complete; ignored"
req GET "/api/v1/executions/$id"
is "$(jq_get .data.state)" succeeded "twice: the second exec_complete did not change the state"

# ---- exec_complete inside execute, then a returned result ----
req POST /hooks/complete_and_return -d x
is "$(jq_get .data.state)" succeeded "complete_and_return: the completion counts, the return does not"
is "$(jq_get .data.outputs.completed)" true "complete_and_return: outputs kept"
id=$(jq_get .data.id)
check "complete_and_return: the returned result is logged as ignored" \
    log_has "exec=$id: plugin misbehave called exec_complete and also returned -1; ignored"

# ---- bad results ----
req POST /hooks/bad_result -d x
is "$STATUS" 500 "bad_result: execute returning 42 fails the execution"
is "$(jq_get .data.state)" failed "bad_result: state failed"
check "bad_result: logged" log_has "plugin misbehave returned 42 from execute; treating it as an error"
req POST /hooks/bad_complete -d x
is "$(jq_get .data.state)" failed "bad_complete: exec_complete(7) fails the execution"
check "bad_complete: logged" log_has "exec_complete: bad result 7; treating as error"
req POST /hooks/silent_fail -d x
is "$(jq_get .data.state)" failed "silent_fail: failed"
like "$(jq_get .data.error)" 'without a message' "silent_fail: the host supplies an error"

# ---- refusals, each with a log line ----
req POST /hooks/limits -d x
is "$STATUS" 200 "limits: the execution survives every refusal"
r() { printf '%s' "$BODY" | jq -r ".data.outputs.$1"; }
is "$(r output_null)" -1 "exec_set_output(NULL) refused"
check "...logged" log_has 'exec_set_output: NULL output refused'
is "$(r output_over)" -1 "exec_set_output of SLUICE_MAX_OUTPUT+1 bytes refused"
check "...logged with the size and the limit" log_has 'exec_set_output: 1048577 bytes refused \(the limit is 1048576\)'
is "$(r output_at_limit)" 0 "exec_set_output of exactly SLUICE_MAX_OUTPUT bytes accepted"
is "$(r output_array)" -1 "exec_set_output of an array refused"
is "$(r output_invalid)" -1 "exec_set_output of invalid JSON refused"
is "$(r output_duplicate)" -1 "exec_set_output with duplicate keys refused"
check "...logged" log_has 'exec_set_output: not a JSON object'
is "$(r log_stream_0)$(r log_stream_3)" "-1-1" "exec_write_log to an unknown stream refused"
check "...logged" log_has 'exec_write_log: unknown stream 3'
is "$(r response_status_99)$(r response_status_600)" "-1-1" "exec_set_response: status outside 100-599 refused"
check "...logged" log_has 'exec_set_response: bad status 600 refused'
is "$(r response_over)" -1 "exec_set_response: body over SLUICE_MAX_OUTPUT refused"
check "...logged" log_has 'exec_set_response: body of 1048577 bytes refused'
is "$(r response_null_body)" -1 "exec_set_response: NULL body with a length refused"
is "$(r response_crlf_type)" -1 "exec_set_response: a content type with CR/LF refused"
check "...logged" log_has 'exec_set_response: bad content type refused'
unlike "$HEADERS" 'X-Evil' "no header injected through the content type"
is "$(r meta_null_key)$(r header_null_name)$(r event_null_len)" truetruetrue \
    "exec_meta(NULL), exec_header(NULL) and exec_event(len NULL) are safe"

# ---- bounded errors and logs ----
req POST /hooks/long_error -d x
n=$(printf '%s' "$BODY" | jq -r '.data.error | length')
check "an error longer than SLUICE_MAX_ERROR is cut to at most 4096 bytes (got $n)" \
    test "$n" -ge 4000 -a "$n" -le 4096
req POST /hooks/utf8_error -d x
UTF8_BUG="core: exec_set_error keeps bytes that are not UTF-8 (or cuts inside a character); exec_to_json then drops \"error\""
is "$(jq_get '.data.error | type')" string \
    "an error cut inside a UTF-8 character is still reported (valid UTF-8)" "$UTF8_BUG"
req POST /hooks/latin1_error -d x
is "$(jq_get '.data.error | type')" string "an error that is not UTF-8 is still reported" "$UTF8_BUG"
is "$(jq_get .data.error | grep -c '^caf.* au lait')" 1 "...with its readable part intact" "$UTF8_BUG"

req POST /hooks/loud -d x
id=$(jq_get .data.id)
req GET "/api/v1/executions/$id"
out=$(jq_get .data.stdout)
like "$out" '\[\.\.\. [0-9]+ bytes dropped \.\.\.\]' "stdout over 2 x SLUICE_LOG_KEEP: the middle is dropped and marked"
like "$out" 'END$' "stdout: the tail is kept"
check "stdout is bounded to head + tail (${#out} bytes)" [ "${#out}" -le $((2 * 32768 + 64)) ]

# ---- back to the parked execution ----
check "park: the flow timeout cancels it" wait_for "timed out log" 5 \
    grep -Eq "exec=$parked flow=park: timed out after 1000 ms; cancelling" "$LOG"
check "park: the plugin's cancel is called with SLUICE_CANCEL_TIMEOUT" \
    wait_for "cancel called" 5 grep -Eq "exec=$parked: misbehave: cancel called, reason 2" "$LOG"
check "park: ends timed_out although the plugin never completes" \
    wait_for "$parked timed_out" 15 sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$parked | jq -r .data.state)\" = timed_out ]"
check "park: the host says it gave up on the plugin" \
    log_has "exec=$parked flow=park: plugin misbehave did not complete within [0-9]+ ms of cancellation"
req GET "/api/v1/executions/$parked"
like "$(jq_get .data.error)" 'did not complete' "park: the execution says why"
wait "$sync_pid"
is "$(cat "$T/park-sync.status")" 500 "park (sync): the waiting request gets 500"
is "$(jq -r .data.state "$T/park-sync.json")" timed_out "park (sync): with the timed_out execution"

check "block: a blocking execute that ignores its timeout ends timed_out" \
    wait_for "$blocked timed_out" 10 sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$blocked | jq -r .data.state)\" = timed_out ]"
check "block: its late return is logged and ignored" wait_for "late return" 10 \
    grep -Eq "exec=$blocked: plugin misbehave (returned -1 after the host had finished the execution|called exec_complete and also returned -1); ignored" "$LOG"
req GET "/api/v1/executions/$blocked"
is "$(jq_get .data.state)" timed_out "block: the late return does not change the state"

before=$(grep -c 'already complete; ignored' "$LOG")
req POST /hooks/release -d x
is "$(jq_get .data.outputs.released)" 2 "release: the plugin completes both parked executions late"
check "release: each late exec_complete is ignored and logged" \
    wait_for "late completes logged" 5 sh -c "[ \$(grep -c 'already complete; ignored' '$LOG') -ge $((before + 2)) ]"
check "release: the late complete names the execution" \
    log_has "exec=$parked: exec_complete called for an execution that is already complete; ignored"
req GET "/api/v1/executions/$parked"
is "$(jq_get .data.state)" timed_out "release: a late completion does not change the state"

# Everything finished: sluiced must stop at once and clean. The two
# executions the host abandoned are checked for leaks separately: the host
# keeps a reference to each for the plugin's late exec_complete and never
# drops it, which also keeps their whole configuration (and its plugin
# instances) alive until exit.
LEAK_BUG="core: pending_grace_expired takes a reference for a late exec_complete that host_exec_complete never drops"
req POST /hooks/last -d x
stop_sluiced TERM
# (LeakSanitizer makes the exit status 134 when it finds the leak.)
end_is=is
$end_is "$SLUICE_RC" 0 "sluiced exits 0 on SIGTERM" "$LEAK_BUG"
is "$(grep -cE 'ERROR: AddressSanitizer|runtime error:' "$LOG")" 0 \
    "no memory error or undefined behaviour reported"
grep -E -A12 'ERROR: AddressSanitizer|runtime error:' "$LOG" | head -24 | sed 's/^/#   /'
if [ "${SLUICE_SANITIZED:-}" = yes ]; then
    is "$(grep -c 'ERROR: LeakSanitizer' "$LOG")" 0 "no leak once the plugin completed its abandoned executions" "$LEAK_BUG"
    grep -A5 'Direct leak' "$LOG" | head -12 | sed 's/^/#   /'
fi
mv "$LOG" "$LOG.checked"
done_testing
