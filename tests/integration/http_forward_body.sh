#!/usr/bin/env bash
# body = "body" sends the request's own body byte for byte, with the
# Content-Type it came with (issue #9), against a real receiver: JSON with
# odd whitespace, key order, number spellings and \u escapes; a form; text;
# binary; no body; again after a replay. A JSON body with duplicate keys
# never gets that far, and a body that carried a key is not sent as it came.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/integration/http_forward_lib.sh"

start_receiver up || { fail "receiver starts"; done_testing; exit 1; }
U="http://127.0.0.1:$(rport up)"
A='allow_hosts = ["127.0.0.1"];'
KEY="body-key-$$-$RANDOM"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 4; };
flows = (
  { id = "raw"; executor = "http"; config = { url = "$U/raw"; body = "body"; $A }; },
  { id = "put"; executor = "http"; config = { url = "$U/put"; method = "PUT"; body = "body"; $A }; }
);
triggers = (
  { id = "raw"; flows = ["raw"]; mode = "sync"; },
  { id = "raw-async"; flows = ["raw"]; },
  { id = "put"; flows = ["put"]; mode = "sync"; },
  { id = "keyed"; flows = ["raw"]; mode = "sync";
    auth = { keys = ["$KEY"]; key_in = ["body:key", "header:X-Key"]; }; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

ctype() { printf '%s' "$1" | jq -r '.headers["content-type"] // "(none)"'; }

# send FILE CONTENT-TYPE [TRIGGER]: POST the file's bytes, then compare
# what the receiver got with them.
send() {
    local file=$1 type=$2 trig=${3:-raw}
    if [ "$type" = "(none)" ]; then
        req POST "/hooks/$trig" -H 'Content-Type:' --data-binary @"$file"
    else
        req POST "/hooks/$trig" -H "Content-Type: $type" --data-binary @"$file"
    fi
    GOT=$(rlast up)
}

# ---- JSON, as it came ----
printf '{\n  "zeta" : 1,\t"alpha":[1.50 , -0.0, 1E+2, 7],\r\n%s  }\n' \
    '  "s":"\u00e9\u0041\ud83d\ude00\/\"",  "o":{ }' > "$T/odd.json"
send "$T/odd.json" "application/json; charset=utf-8"
is "$STATUS" 200 "json: forwarded"
check "json: odd whitespace, key order, numbers and \\u escapes arrive byte for byte" \
    cmp -s <(rbody "$GOT") "$T/odd.json"
is "$(ctype "$GOT")" "application/json; charset=utf-8" "json: with its Content-Type as sent"
is "$(printf '%s' "$GOT" | jq -r .len)" "$(wc -c < "$T/odd.json" | tr -d ' ')" \
    "json: Content-Length is the byte count"
is "$(jq_get .data.inputs.body.s)" 'éA😀/"' "json: the event still has it parsed"

printf '{"b":2,"a":1}' > "$T/order.json"
send "$T/order.json" application/vnd.example+json
check "json: members keep the sender's order" cmp -s <(rbody "$GOT") "$T/order.json"
is "$(ctype "$GOT")" application/vnd.example+json "json: a +json type is kept"

before=$(rcount up)
printf '{"a":1,"a":2}' > "$T/dup.json"
send "$T/dup.json" application/json
is "$STATUS" 400 "json: duplicate keys are refused at the door (400)"
like "$(jq_get .error.message)" 'duplicate' "json: ...saying why"
is "$(rcount up)" "$before" "json: ...and nothing is forwarded"

# ---- form, text, binary, nothing ----
printf 'b=%%c3%%a9&a=1+2&a=%%7E&c&d=&=x' > "$T/form.txt"
send "$T/form.txt" application/x-www-form-urlencoded
is "$STATUS" 200 "form: forwarded"
check "form: lower-case escapes, repeats, empty fields arrive byte for byte" \
    cmp -s <(rbody "$GOT") "$T/form.txt"
is "$(ctype "$GOT")" application/x-www-form-urlencoded "form: with its type"

printf 'line 1\r\nline 2\ttab\n' > "$T/text.txt"
send "$T/text.txt" "text/plain; charset=us-ascii"
check "text: byte for byte" cmp -s <(rbody "$GOT") "$T/text.txt"
is "$(ctype "$GOT")" "text/plain; charset=us-ascii" "text: with its charset"

head -c 8192 /dev/urandom > "$T/blob.bin"
send "$T/blob.bin" image/png put
is "$STATUS" 200 "binary: forwarded with PUT"
check "binary: byte for byte" cmp -s <(rbody "$GOT") "$T/blob.bin"
is "$(ctype "$GOT")" image/png "binary: with its type"
is "$(printf '%s' "$GOT" | jq -r .method)" PUT "binary: the flow's method"

printf 'no type at all' > "$T/untyped.txt"
send "$T/untyped.txt" "(none)"
check "no Content-Type: the bytes" cmp -s <(rbody "$GOT") "$T/untyped.txt"
is "$(ctype "$GOT")" "(none)" "no Content-Type: none is invented"

req POST /hooks/raw
GOT=$(rlast up)
is "$(printf '%s' "$GOT" | jq -r .len)" 0 "no body: nothing is sent"

# ---- a replay sends the same bytes ----
send "$T/odd.json" "application/json; charset=utf-8" raw-async
id=$(jq_get .data.execution_id)
wait_final "$id"
n=$(rcount up /raw)
req POST "/api/v1/executions/$id/replay"
is "$STATUS" 202 "replay: accepted"
rid=$(jq_get .data.execution_id)
wait_final "$rid"
is "$(exec_state "$rid")" succeeded "replay: forwarded again"
is "$(rcount up /raw)" "$((n + 1))" "replay: one more request"
GOT=$(rlast up /raw)
check "replay: the original bytes, byte for byte" cmp -s <(rbody "$GOT") "$T/odd.json"
is "$(ctype "$GOT")" "application/json; charset=utf-8" "replay: with the original type"

# ---- a key that travelled in the body never leaves ----
req POST /hooks/keyed -H 'Content-Type: application/json' -d "{\"key\":\"$KEY\",  \"n\":1}"
is "$STATUS" 200 "keyed: accepted with the key in the body"
got=$(rbody "$(rlast up /raw)")
unlike "$got" "$KEY" "keyed: the key is not forwarded"
is "$got" '{"key":"[redacted]","n":1}' "keyed: the body is sent as the event has it, key redacted"
req POST /hooks/keyed -H "X-Key: $KEY" -H 'Content-Type: application/json' -d '{ "n" : 2 }'
is "$(rbody "$(rlast up /raw)")" '{ "n" : 2 }' "keyed: a key in a header leaves the body as it came"

done_testing
