#!/usr/bin/env bash
# A plugin built from the frozen v1.1 header (tests/abi/abi11.c) runs in the
# current sluiced, and the two functions 1.1 added keep their 1.1 meaning:
# exec_body lends the body byte for byte with its content type (and withholds
# one that carried a key), also after a replay and after kill -9; exec_set_meta
# refuses every bad key and value, stops at the limit, is readable through
# exec_meta, shown under "meta" and kept in the store; a retry starts without
# the failed attempt's meta; respond_with reaches the plugin as exec_meta.
. "$SRCDIR/tests/integration/lib.sh"

HDR=$SRCDIR/sdk/include/sluice/plugin.h
FROZEN=$SRCDIR/tests/abi/frozen/v1.1/sluice/plugin.h
minor=$(sed -n 's/^#define SLUICE_ABI_MINOR \([0-9]*\)$/\1/p' "$HDR")
if [ "$minor" = 1 ]; then
    check "frozen/v1.1 is the header as released (the current one says 1.1)" cmp -s "$HDR" "$FROZEN"
else
    skip "frozen/v1.1 is the current header" "the current header is 1.$minor"
fi

KEY="k-$$-body-secret-$RANDOM"
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "10s"; };
flows = (
  { id = "report"; executor = "abi11"; },
  { id = "echo"; executor = "abi11"; config = { mode = "echo"; }; },
  { id = "retry"; executor = "abi11"; retry = { max = 1; backoff = "10ms"; };
    config = { mode = "retry"; }; }
);
triggers = (
  { id = "report"; flows = ["report"]; mode = "sync"; },
  { id = "report-async"; flows = ["report"]; },
  { id = "report-up"; flows = ["report"]; mode = "sync"; respond_with = "upstream"; },
  { id = "echo"; flows = ["echo"]; mode = "sync"; },
  { id = "echo-up"; flows = ["echo"]; mode = "sync"; respond_with = "upstream"; },
  { id = "echo-doc"; flows = ["echo"]; mode = "sync"; respond_with = "execution"; },
  { id = "keyed"; flows = ["report"]; mode = "sync";
    auth = { keys = ["$KEY"]; key_in = ["header:X-Token", "body:token"]; }; },
  { id = "retry"; flows = ["retry"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts with the v1.1 plugin"; done_testing; exit 1; }
like "$(cat "$T/sluiced.log")" 'loaded plugin abi11 1\.1 \(ABI 1\.1\) from .*/abi11\.so' \
    "the loader names the plugin's ABI 1.1"

o() { printf '%s' "$BODY" | jq -r ".data.outputs$1"; }
jqc() { printf '%s' "$BODY" | jq -c "$1"; }

# ---- exec_body: the bytes as sent, odd JSON included ----
printf '{ "b" :1,\n\t"a": [1 , 2.50, 1e2],  "s":"\\u00e9\\u0041\\/", "z":{} }' > "$T/odd.json"
req POST /hooks/report -H 'Content-Type: application/json; charset=utf-8' \
    --data-binary @"$T/odd.json"
is "$STATUS" 200 "report: the execution succeeds"
rid=$(jq_get .data.id)
is "$(o .host_abi)" "1.$minor" "the host reports its ABI version"
is "$(o .has_body)" true "exec_body: a body"
is "$(o .len)" "$(wc -c < "$T/odd.json" | tr -d ' ')" "exec_body: *len is the byte count"
is "$(o .type)" "application/json; charset=utf-8" "exec_body: the Content-Type as sent"
is "$(o .nul_after)" true "exec_body: a NUL follows the bytes"
check "exec_body: byte for byte" cmp -s <(o .body_b64 | base64 -d) "$T/odd.json"
is "$(o .null_args)" true "exec_body: NULL out-parameters are allowed"
is "$(o .respond_with)" execution "exec_meta respond_with: execution by default"
is "$(jq_get .data.inputs.body.s)" "éA/" "the event still has the parsed body"

# ---- exec_set_meta: the rules ----
for k in kind len set remove remove_missing max_key max_value fill replace_when_full; do
    is "$(o .set.$k)" 0 "exec_set_meta accepts: $k"
done
for k in no_dot upper leading_dot space empty null_key long_key long_value not_utf8 over; do
    is "$(o .set.$k)" -1 "exec_set_meta refuses: $k"
done
is "$(o .read.kind)" report "exec_meta reads a key the plugin set"
is "$(o .read.gone)" null "exec_meta: a removed key is gone"
is "$(o .read.flow)" report "exec_meta: a host key is never shadowed"
is "$(jqc .data.meta)" "{\"abi11.kind\":\"report\",\"abi11.len\":\"$(o .len)\"}" \
    "the document shows the meta, in the order it was set"
like "$(cat "$T/sluiced.log")" "plugin abi11 exec=$rid: exec_set_meta: key \"flow\" refused" \
    "a refused key is logged, naming the plugin and the execution"
like "$(cat "$T/sluiced.log")" 'exec_set_meta: abi11.one-too-many refused: already 32 keys' \
    "the limit is logged"
req GET "/api/v1/executions/$rid"
is "$(jqc '.data.meta | keys')" '["abi11.kind","abi11.len"]' "GET: meta from the store"
is "$(jq_get .data.inputs.body.a[1])" 2.5 "GET: inputs rebuilt from the stored body"

# ---- no body ----
req POST /hooks/report
is "$(o .has_body)" false "exec_body: NULL without a body"
is "$(o .len)" 0 "exec_body: *len 0 without a body"
is "$(o .type)" null "exec_body: no Content-Type, NULL type"

# ---- a body that carried the key is withheld ----
req POST /hooks/keyed -H 'Content-Type: application/json' -d "{\"token\":\"$KEY\",\"x\":1}"
is "$STATUS" 200 "keyed: the key in the body is accepted"
is "$(o .has_body)" false "exec_body: withheld when a key travelled in it"
is "$(o .type)" application/json "exec_body: the type is still given"
is "$(jq_get .data.inputs.body.token)" "[redacted]" "the event shows the key redacted"
kid=$(jq_get .data.id)
req POST /hooks/keyed -H "X-Token: $KEY" -H 'Content-Type: application/json' -d '{"x":2}'
is "$(o .has_body)" true "exec_body: given when the key came in a header"
req GET "/api/v1/executions/$kid"
is "$(jq_get .data.inputs.body.token)" "[redacted]" "GET: the stored event has the key redacted"

# ---- respond_with ----
req POST /hooks/report-up -d x
is "$STATUS" 502 "upstream: no response from the flow is a 502"
is "$(jq_get .error.code)" no_response "upstream: error no_response"
is "$(o .respond_with)" upstream "exec_meta respond_with: upstream"
head -c 3000 /dev/urandom > "$T/blob.bin"
req POST /hooks/echo-up -H 'Content-Type: application/x-thing' --data-binary @"$T/blob.bin"
is "$STATUS" 200 "upstream: the plugin's status"
is "$(header Content-Type)" application/x-thing "upstream: the plugin's content type"
check "upstream: the plugin's body (a binary request echoed byte for byte)" \
    cmp -s "$T/body" "$T/blob.bin"
req POST /hooks/echo -H 'Content-Type: text/plain' -d 'hi there'
is "$BODY" "hi there" "unset: a response the plugin set replaces the document (ABI 1.0)"
req POST /hooks/echo-doc -H 'Content-Type: text/plain' -d 'hi there'
is "$(header Content-Type)" application/json "execution: the document, whatever the plugin set"
is "$(jq_get '.data.meta["abi11.kind"]')" echo "execution: with the plugin's meta"

# ---- a retry starts without the failed attempt's meta ----
req POST /hooks/retry -d x
is "$STATUS" 200 "retry: the second attempt succeeds"
is "$(jq_get .data.attempt)" 2 "retry: attempt 2"
is "$(jqc .data.meta)" '{"abi11.second":"2"}' "retry: only the meta of the attempt that counts"

# ---- replay: the same bytes ----
req POST "/api/v1/executions/$rid/replay"
is "$STATUS" 202 "replay accepted"
pid=$(jq_get .data.execution_id)
done_() { [ "$(exec_state "$pid")" = succeeded ]; }
check "the replay runs" wait_for "replay $pid" 20 done_
req GET "/api/v1/executions/$pid"
check "replay: exec_body gives the original bytes" \
    cmp -s <(o .body_b64 | base64 -d) "$T/odd.json"
is "$(o .type)" "application/json; charset=utf-8" "replay: with the original type"

# ---- the store: meta and bodies survive a restart; nothing keyed was written ----
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced stops"
found=$(cat "$T/sluice.db"* | grep -c -a -- "$KEY")
is "$found" 0 "the key that came in a body is nowhere in the store"
start_sluiced || { fail "sluiced restarts"; done_testing; exit 1; }
req GET "/api/v1/executions/$rid"
is "$(jqc '.data.meta | keys')" '["abi11.kind","abi11.len"]' "restart: meta kept"
is "$(jq_get .data.inputs.body.s)" "éA/" "restart: inputs rebuilt from the body"

# ---- kill -9 with the request queued: recovery lends the same bytes ----
stop_sluiced TERM
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 1; shutdown_timeout = "10s"; };
flows = (
  { id = "block"; executor = "shell"; config = { argv = ["/bin/sleep", "5"]; stdin = "none"; }; },
  { id = "report"; executor = "abi11"; }
);
triggers = (
  { id = "block"; flows = ["block"]; },
  { id = "report-async"; flows = ["report"]; }
);
EOF2
start_sluiced || { fail "sluiced starts to crash"; done_testing; exit 1; }
req POST /hooks/block -d x
bid=$(jq_get .data.execution_id)
running() { [ "$(exec_state "$bid")" = running ]; }
check "the only worker is busy" wait_for "block runs" 10 running
printf 'a=1&b=%%C3%%A9+x&a=2&empty=&k' > "$T/form.txt"
req POST /hooks/report-async -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary @"$T/form.txt"
qid=$(jq_get .data.execution_id)
is "$(exec_state "$qid")" queued "the form request waits in the queue"
kill -KILL "$SLUICE_PID"
wait "$SLUICE_PID" 2>/dev/null
SLUICE_PID=
mv "$T/sluiced.log" "$T/sluiced.crashed.log"
start_sluiced || { fail "sluiced restarts after kill -9"; done_testing; exit 1; }
qdone() { [ "$(exec_state "$qid")" = succeeded ]; }
check "recovery runs the queued request" wait_for "recovered $qid" 20 qdone
req GET "/api/v1/executions/$qid"
check "recovery: exec_body gives the form byte for byte" \
    cmp -s <(o .body_b64 | base64 -d) "$T/form.txt"
is "$(o .type)" application/x-www-form-urlencoded "recovery: with its type"
is "$(jqc .data.inputs.body.a)" '["1","2"]' "recovery: the parsed form is rebuilt too"

done_testing
