#!/usr/bin/env bash
# Bodies reach flows exactly as sent: numbers no C type holds
# (18446744073709551615, 1.0e400) byte for byte in the event, in
# placeholders and on stdin, also where sluiced reads inside the body
# (filters, variables); stdin = "raw" hands over the received bytes
# (sha256 of what was sent = sha256 of what the flow read); \u0000 and deep
# nesting are JSON too; a raw NUL in a form is refused like %00.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
$SERVER_BLOCK
flows = (
  { id = "event"; executor = "shell"; config = { argv = ["/bin/sh", "-c", "cat > $T/event"]; }; },
  { id = "raw"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "cat > $T/raw"]; stdin = "raw"; }; },
  { id = "body"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "cat > $T/stdin-body"]; stdin = "body"; }; },
  { id = "args"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "printf '%s|%s|%s' \"\$1\" \"\$2\" \"\$3\" > $T/args", "sh",
                       "{body.id}", "{body.x}", "{body.u}"]; stdin = "none"; }; }
);
triggers = (
  { id = "event"; flows = ["event"]; mode = "sync"; },
  { id = "raw"; flows = ["raw"]; mode = "sync"; },
  { id = "body"; flows = ["body"]; mode = "sync"; },
  { id = "args"; flows = ["args"]; mode = "sync"; },
  { id = "filtered"; flows = ["event"]; mode = "sync";
    filter = { path = "body.id"; equals = "18446744073709551615"; }; },
  { id = "vars"; flows = ["event"]; mode = "sync"; variables = ["big", "huge"]; },
  { id = "dups"; flows = ["event"]; mode = "sync"; json_duplicate_keys = "accept"; },
  { id = "rawkeyed"; flows = ["raw"]; mode = "sync";
    auth = { keys = ["raw-body-key-0123456789"]; key_in = ["body:key"]; }; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
J=(-H 'Content-Type: application/json')

# ---- numbers, as sent ----
printf '{"id": 18446744073709551615, "x": 1.0e400,\r\n "n": -0.10E-0400}' > "$T/big.json"
req POST /hooks/event "${J[@]}" --data-binary @"$T/big.json"
is "$STATUS" 200 "a body with integers beyond 64 bits and reals beyond a double is accepted"
is "$(jq_get .data.state)" succeeded "...and its flow ran"
check "the event carries the numbers byte for byte" \
    grep -qF '"body":{"id": 18446744073709551615, "x": 1.0e400,   "n": -0.10E-0400}' "$T/event"

req POST /hooks/args "${J[@]}" --data-binary '{"id":18446744073709551615,"x":1.0e400,"u":-1e99999}'
is "$STATUS" 200 "placeholders of such numbers do not fail the execution"
is "$(cat "$T/args")" "18446744073709551615|1.0e400|-1e99999" \
    "{body.id}, {body.x}, {body.u} give the exact text"

req POST /hooks/body "${J[@]}" --data-binary @"$T/big.json"
is "$(jq_get .data.state)" succeeded "stdin = body ran"
is "$(sha256sum < "$T/stdin-body")" "$(sha256sum < "$T/big.json")" "stdin = body: a JSON body exactly as sent"

req POST /hooks/filtered "${J[@]}" --data-binary @"$T/big.json"
is "$(jq_get .data.state)" succeeded "a filter reads a big number as its exact text"
check "...and the event still carries it as sent" grep -qF '"id": 18446744073709551615' "$T/event"
req POST /hooks/filtered "${J[@]}" --data-binary '{"id":18446744073709551616}'
is "$(jq_get .data.filtered)" true "...and another number does not match"

req POST /hooks/vars "${J[@]}" --data-binary '{"variables":[18446744073709551615,1.0e400]}'
is "$(jq_get .data.state)" succeeded "positional variables may be big numbers"
check "...mapped as their exact text" \
    grep -qF '"variables":{"big":"18446744073709551615","huge":"1.0e400"}' "$T/event"

req GET "/api/v1/executions/$(jq_get .data.id)"
is "$(jq_get .data.inputs.body.variables[0])" 18446744073709551615 \
    "the execution document shows the body, big numbers as their text"

# ---- stdin = raw ----
printf '{"a": 1,\r\n\t"b": [18446744073709551615, 1.0e400, "\\u0000"]}\n' > "$T/sent.json"
req POST /hooks/raw "${J[@]}" --data-binary @"$T/sent.json"
is "$(jq_get .data.state)" succeeded "stdin = raw: a JSON body"
is "$(sha256sum < "$T/raw")" "$(sha256sum < "$T/sent.json")" "stdin = raw: the flow read the exact bytes"
printf 'a=1&b=x%%20y&c=%%E2%%82%%AC' > "$T/sent.form"
req POST /hooks/raw -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$T/sent.form"
is "$(sha256sum < "$T/raw")" "$(sha256sum < "$T/sent.form")" "stdin = raw: a form as sent, not as an object"
head -c 3000 /dev/urandom > "$T/sent.bin"
req POST /hooks/raw -H 'Content-Type: application/octet-stream' --data-binary @"$T/sent.bin"
is "$(sha256sum < "$T/raw")" "$(sha256sum < "$T/sent.bin")" "stdin = raw: binary bytes"
req POST /hooks/rawkeyed "${J[@]}" --data-binary '{"key":"raw-body-key-0123456789","a":1}'
is "$(jq_get .data.state)" failed "stdin = raw: a body whose key was redacted is not handed over"
like "$(jq_get .data.error)" 'not available byte for byte' "...saying why"
req POST /hooks/raw
is "$(jq_get .data.state)" succeeded "stdin = raw without a body runs"
is "$(stat -c %s "$T/raw")" 0 "...with an empty stdin"

# ---- what JSON allows ----
req POST /hooks/event "${J[@]}" --data-binary '{"a":"x\u0000y","k\u0000":1}'
is "$(jq_get .data.state)" succeeded "\\u0000 in a string and in a key is JSON"
nest() { local n=$1 o c; o=$(printf '%*s' "$n" '' | tr ' ' '['); c=$(printf '%*s' "$n" '' | tr ' ' ']'); printf '%s1%s' "$o" "$c"; }
nest 512 > "$T/d512.json"
nest 513 > "$T/d513.json"
req POST /hooks/event "${J[@]}" --data-binary @"$T/d512.json"
# (jq reads no deeper than 256 levels: the state is found by text)
like "$STATUS $BODY" '^200 .*"state":"succeeded"' "JSON nested 512 deep is accepted"
req POST /hooks/event "${J[@]}" --data-binary @"$T/d513.json"
is "$STATUS" 400 "JSON nested 513 deep: 400"
like "$(jq_get .error.message)" 'nested deeper than 512' "...naming the limit"
printf '123\0' > "$T/nul.json"
req POST /hooks/event "${J[@]}" --data-binary @"$T/nul.json"
is "$STATUS" 400 "a number followed by a NUL byte is not JSON"
req POST /hooks/event "${J[@]}"
is "$STATUS" 400 "an empty body labelled JSON is not JSON"
like "$(jq_get .error.message)" 'empty' "...saying so"

req POST /hooks/dups "${J[@]}" --data-binary '{"a":1,"a":2}'
is "$(jq_get .data.state)" succeeded "json_duplicate_keys = accept takes a repeated key"
req POST /hooks/event "${J[@]}" --data-binary '{"a":1,"a":2}'
is "$STATUS" 400 "the default refuses it"
like "$(jq_get .error.message)" 'duplicate key' "...saying why"

# ---- NUL in forms and text ----
F=(-H 'Content-Type: application/x-www-form-urlencoded')
printf 'a=x\0y&b=2' > "$T/nul.form"
req POST /hooks/event "${F[@]}" --data-binary @"$T/nul.form"
is "$STATUS" 400 "a raw NUL in a form body is refused"
like "$(jq_get .error.message)" 'NUL' "...saying why"
req POST /hooks/event "${F[@]}" --data-binary 'a=x%00y&b=2'
is "$STATUS" 400 "as %00 is"
printf 'x\0y' > "$T/nul.txt"
req POST /hooks/event -H 'Content-Type: text/plain' --data-binary @"$T/nul.txt"
is "$(jq_get .data.state)" succeeded "a text body with a NUL runs"
check "...the event holds it escaped" grep -qF '"body":"x\u0000y"' "$T/event"

req GET /healthz
is "$STATUS" 200 "the daemon still serves"
done_testing
