#!/usr/bin/env bash
# The http executor end to end, against a real receiver on 127.0.0.1: each
# body mode, placeholders with hostile values (URL-encoded in the URL, JSON-
# escaped in a body, refused in a header), secrets, outputs, non-2xx
# answers, the triggers' respond_with (one flow relayed by one trigger and
# documented by another), keep-alive reuse, many at once, and config
# mistakes caught by --check-config. body = "body" byte for byte:
# http_forward_body.sh.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/integration/http_forward_lib.sh"

start_receiver up \
    -r '/text=201;body=plain words;ct=text/plain' \
    -r '/missing=404;body=no such thing here' || { fail "receiver starts"; done_testing; exit 1; }
U="http://127.0.0.1:$(rport up)"
A='allow_hosts = ["127.0.0.1"];'
export FWD_TOKEN="tok-$$-secret"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 4; };
flows = (
  { id = "event"; executor = "http"; config = { url = "$U/event"; $A }; },
  { id = "raw"; executor = "http"; config = { url = "$U/raw"; body = "body"; $A }; },
  { id = "tpl"; executor = "http";
    config = { url = "$U/tpl"; $A
               body = { text = "hello {body.user.name}"; user = "{body.user}"; n = "{body.n}";
                        q = "{query.q}"; fixed = 1; missing = "{body.nope}";
                        list = ["{body.n}", "x"]; }; }; },
  { id = "get"; executor = "http";
    config = { url = "$U/items/{body.id}?q={body.q}&from={query.from}"; method = "GET"; $A }; },
  { id = "headers"; executor = "http";
    config = { url = "$U/headers"; $A
               headers = { X-Token = "@env:FWD_TOKEN"; X-User = "{body.user}";
                           Content-Type = "application/vnd.test+json"; }; }; },
  { id = "text"; executor = "http";
    config = { url = "$U/text"; $A response_headers = ["content-type", "x-receiver-n"]; }; },
  { id = "missing"; executor = "http"; config = { url = "$U/missing"; $A }; },
  { id = "relay"; executor = "http"; config = { url = "$U/text"; $A }; },
  { id = "relay-missing"; executor = "http"; config = { url = "$U/missing"; $A }; },
  { id = "relay-nowhere"; executor = "http";
    config = { url = "http://127.0.0.1:1/"; $A connect_timeout = "1s"; }; },
  { id = "keep"; executor = "http"; config = { url = "$U/keep"; $A }; }
);
triggers = (
  { id = "event"; flows = ["event"]; mode = "sync"; },
  { id = "raw"; flows = ["raw"]; mode = "sync"; },
  { id = "tpl"; flows = ["tpl"]; mode = "sync"; },
  { id = "get"; flows = ["get"]; mode = "sync"; },
  { id = "headers"; flows = ["headers"]; mode = "sync"; },
  { id = "text"; flows = ["text"]; mode = "sync"; },
  { id = "missing"; flows = ["missing"]; mode = "sync"; },
  { id = "relay"; flows = ["relay"]; mode = "sync"; respond_with = "upstream"; },
  { id = "relay-doc"; flows = ["relay"]; mode = "sync"; respond_with = "execution"; },
  { id = "relay-plain"; flows = ["relay"]; mode = "sync"; },
  { id = "relay-missing"; flows = ["relay-missing"]; mode = "sync"; respond_with = "upstream"; },
  { id = "relay-nowhere"; flows = ["relay-nowhere"]; mode = "sync"; respond_with = "upstream"; },
  { id = "relay-async"; flows = ["relay"]; },
  { id = "keep"; flows = ["keep"]; mode = "sync"; },
  { id = "keep-async"; flows = ["keep"]; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

# ---- body = "event" (the default) ----
req POST /hooks/event -H 'Content-Type: application/json' -d '{"a":1,"s":"x"}'
is "$STATUS" 200 "event: the forward succeeds"
id=$(jq_get .data.id)
got=$(rlast up /event)
is "$(printf '%s' "$got" | jq -r .method)" POST "event: POST by default"
is "$(printf '%s' "$got" | jq -r '.headers["content-type"]')" application/json "event: JSON"
ev=$(rbody "$got")
is "$(printf '%s' "$ev" | jq -r .execution_id)" "$id" "event: the whole event, with its id"
is "$(printf '%s' "$ev" | jq -c .body)" '{"a":1,"s":"x"}' "event: the request body inside it"
like "$(printf '%s' "$got" | jq -r '.headers["user-agent"]')" '^sluice-http/' "event: User-Agent"
is "$(jq_get .data.outputs.status)" 200 "outputs: status"
is "$(jq_get .data.outputs.body.ok)" true "outputs: a JSON answer is parsed"
is "$(jq_get .data.outputs.attempts)" 1 "outputs: one attempt"

# ---- body = "body": the request's own body ----
req POST /hooks/raw -H 'Content-Type: application/json' -d '{"a": 1, "b": [true, null, 1.5]}'
got=$(rlast up /raw)
is "$(rbody "$got")" '{"a": 1, "b": [true, null, 1.5]}' "body: a JSON body is sent as it came"
is "$(printf '%s' "$got" | jq -r '.headers["content-type"]')" application/json "body: JSON type"

printf 'line 1\r\nline "2" \xc3\xa9 $(id) `x` \\ %%s\n' > "$T/text.txt"
req POST /hooks/raw -H 'Content-Type: text/plain; charset=utf-8' --data-binary @"$T/text.txt"
got=$(rlast up /raw)
check "body: a text body arrives byte for byte" cmp -s <(rbody "$got") "$T/text.txt"
is "$(printf '%s' "$got" | jq -r '.headers["content-type"]')" "text/plain; charset=utf-8" \
    "body: with its content type"

head -c 4096 /dev/urandom > "$T/blob.bin"
req POST /hooks/raw -H 'Content-Type: application/octet-stream' --data-binary @"$T/blob.bin"
got=$(rlast up /raw)
check "body: a binary body arrives byte for byte" cmp -s <(rbody "$got") "$T/blob.bin"
is "$(printf '%s' "$got" | jq -r '.headers["content-type"]')" application/octet-stream \
    "body: binary type"

req POST /hooks/raw -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'a=1+2&b=x%26y&b=%C3%A9'
got=$(rlast up /raw)
is "$(rbody "$got")" 'a=1+2&b=x%26y&b=%C3%A9' "body: a form body is re-encoded as it came"

# ---- body = { JSON template } ----
hostile='he said "}, {"admin": true} \u0000? <script>'
body=$(jq -cn --arg name "$hostile" '{user: {name: $name, id: 7}, n: 42}')
req POST '/hooks/tpl?q=z' -H 'Content-Type: application/json' -d "$body"
is "$STATUS" 200 "template: the forward succeeds"
doc=$(rbody "$(rlast up /tpl)")
is "$(printf '%s' "$doc" | jq -r .text)" "hello $hostile" "template: text interpolation, escaped"
is "$(printf '%s' "$doc" | jq -r .user.name)" "$hostile" "template: a whole value keeps its type"
is "$(printf '%s' "$doc" | jq -r '.n | type')" number "template: a number stays a number"
is "$(printf '%s' "$doc" | jq -c .list)" '[42,"x"]' "template: lists"
is "$(printf '%s' "$doc" | jq -r .q)" z "template: query values"
is "$(printf '%s' "$doc" | jq -r .fixed)" 1 "template: literals"
is "$(printf '%s' "$doc" | jq -r .missing)" null "template: a missing value is null"
is "$(printf '%s' "$doc" | jq -r 'keys | length')" 7 "template: nothing injected"

# ---- placeholders in the URL, hostile values ----
before=$(rcount up)
body=$(jq -cn '{id: "../../admin?x=1#frag", q: "a&b=c d/é"}')
req POST '/hooks/get?from=%2F..%2Fetc' -H 'Content-Type: application/json' -d "$body"
is "$STATUS" 200 "url: the forward succeeds"
got=$(rlast up)
is "$(printf '%s' "$got" | jq -r .method)" GET "url: method GET"
is "$(printf '%s' "$got" | jq -r .uri)" \
    "/items/%2E%2E%2F%2E%2E%2Fadmin%3Fx%3D1%23frag?q=a%26b%3Dc%20d%2F%C3%A9&from=%2F%2E%2E%2Fetc" \
    "url: every value is percent-encoded where it lands"
is "$(printf '%s' "$got" | jq -r .path)" "/items/%2E%2E%2F%2E%2E%2Fadmin%3Fx%3D1%23frag" \
    "url: the path stays one segment below /items/"
is "$(printf '%s' "$got" | jq -r .len)" 0 "url: GET sends no body"
is "$(($(rcount up) - before))" 1 "url: exactly one request"

# ---- headers: secrets, placeholders, and a value that would inject ----
req POST /hooks/headers -H 'Content-Type: application/json' -d '{"user":"ada \"l\" é"}'
is "$STATUS" 200 "headers: the forward succeeds"
got=$(rlast up /headers)
is "$(printf '%s' "$got" | jq -r '.headers["x-token"]')" "$FWD_TOKEN" "headers: an @env secret"
is "$(printf '%s' "$got" | jq -r '.headers["x-user"]')" 'ada "l" é' "headers: a placeholder"
is "$(printf '%s' "$got" | jq -r '.headers["content-type"]')" application/vnd.test+json \
    "headers: Content-Type can be set"
before=$(rcount up /headers)
req POST /hooks/headers -H 'Content-Type: application/json' \
    -d '{"user":"ada\r\nX-Admin: true"}'
is "$STATUS" 500 "headers: a value with a line break fails the execution"
like "$(jq_get .data.error)" 'headers.X-User: the value from the request contains a line break' \
    "headers: the error says why"
is "$(rcount up /headers)" "$before" "headers: nothing was sent"

# ---- outputs, non-2xx ----
req POST /hooks/text -d x
is "$STATUS" 200 "text: a 201 is a success"
is "$(jq_get .data.outputs.status)" 201 "text: outputs.status"
is "$(jq_get .data.outputs.body)" "plain words" "text: a text answer is kept as text"
is "$(jq_get '.data.outputs.headers["content-type"]')" text/plain "text: selected headers"
is "$(jq_get '.data.outputs.headers["x-receiver-n"]')" 1 "text: response_headers"

req POST /hooks/missing -d x
is "$STATUS" 500 "missing: a 404 fails the execution"
is "$(jq_get .data.state)" failed "missing: state failed"
like "$(jq_get .data.error)" '^127\.0\.0\.1 answered 404 \(attempt 1\): no such thing here$' \
    "missing: the error has the status and the start of the body"
is "$(jq_get .data.outputs.status)" 404 "missing: outputs still tell what came back"

# ---- the trigger's respond_with ----
req POST /hooks/relay -d x
is "$STATUS" 201 "relay: the sender gets the upstream's status"
is "$BODY" "plain words" "relay: ...its body, unwrapped"
is "$(header Content-Type)" text/plain "relay: ...and its content type"
like "$(header X-Sluice-Execution-Id)" '^[0-9a-f-]{36}$' "relay: the execution is named"
req GET "/api/v1/executions/$(header X-Sluice-Execution-Id)"
is "$(jq_get .data.outputs.status)" 201 "relay: the execution is kept as always"
req POST /hooks/relay-doc -d x
is "$STATUS" 200 "relay-doc: the same flow, respond_with = \"execution\": 200"
is "$(header Content-Type)" application/json "relay-doc: a JSON document"
is "$(jq_get .data.state)" succeeded "relay-doc: the execution document"
is "$(jq_get .data.outputs.body)" "plain words" "relay-doc: with the upstream's answer as outputs"
req POST /hooks/relay-plain -d x
is "$(jq_get .data.outputs.status)" 201 "relay-plain: respond_with unset: the document"
req POST /hooks/relay-missing -d x
is "$STATUS" 404 "relay: a 404 is passed on as 404"
is "$BODY" "no such thing here" "relay: with its body"
req POST /hooks/relay-nowhere -d x
is "$STATUS" 502 "relay: no upstream answer at all is a 502"
is "$(jq_get .error.code)" no_response "relay: error no_response"
like "$(jq_get .error.message)" 'attempt 1' "relay: the message says what failed"
is "$(jq_get .data.state)" failed "relay: with the failed execution"
req POST /hooks/relay-async -d x
is "$STATUS" 202 "relay: an async trigger still answers 202 at once"
req GET /api/v1/triggers
is "$(jq_get '.data[] | select(.id == "relay") | .respond_with')" upstream \
    "GET /api/v1/triggers shows respond_with"

# ---- keep-alive and concurrency ----
for i in 1 2 3 4 5; do req POST /hooks/keep -d "$i"; done
is "$STATUS" 200 "keep: sequential forwards succeed"
conns=$(jq -s '[.[] | select(.path == "/keep") | .conn] | unique | length' "$(rlog up)")
is "$conns" 1 "keep: five forwards share one keep-alive connection"
ids=
for i in $(seq 20); do
    req POST /hooks/keep-async -d "$i"
    ids="$ids $(jq_get .data.execution_id)"
done
all=1
for id in $ids; do
    wait_final "$id" && [ "$(exec_state "$id")" = succeeded ] || all=0
done
is "$all" 1 "keep: 20 async forwards all succeed"
is "$(rcount up /keep)" 25 "keep: the receiver saw every one"
conns=$(jq -s '[.[] | select(.path == "/keep") | .conn] | unique | length' "$(rlog up)")
check "keep: connections are reused ($conns for 25 requests)" [ "$conns" -lt 25 ]

# ---- configuration errors are found at start ----
cat > "$T/bad.conf" <<EOF2
server: { listen = ["127.0.0.1:0"]; };
flows = (
  { id = "bad"; executor = "http";
    config = { urll = "$U/x"; }; }
);
triggers = ( { id = "bad"; flows = ["bad"]; } );
EOF2
out=$("$SLUICED" -t -c "$T/bad.conf" 2>&1); rc=$?
is "$rc" 1 "check-config: a typo fails the configuration"
like "$out" 'bad\.conf:[0-9]+: flow "bad": http: unknown setting "urll"' \
    "check-config: the error names file:line and the setting"

# respond_with moved from the flow to the trigger: an old config says so.
cat > "$T/old.conf" <<EOF2
server: { listen = ["127.0.0.1:0"]; };
flows = (
  { id = "relay"; executor = "http";
    config = { url = "$U/x"; $A respond_with = "upstream"; }; }
);
triggers = ( { id = "relay"; flows = ["relay"]; mode = "sync"; } );
EOF2
out=$("$SLUICED" -t -c "$T/old.conf" 2>&1); rc=$?
is "$rc" 1 "check-config: respond_with in an http flow fails"
like "$out" 'old\.conf:3: flow "relay": http: respond_with is a trigger setting now' \
    "check-config: ...and says where it went"
# "upstream" needs a sync trigger with one flow.
cat > "$T/fan.conf" <<EOF2
server: { listen = ["127.0.0.1:0"]; };
flows = ( { id = "a"; executor = "http"; config = { url = "$U/a"; $A }; },
          { id = "b"; executor = "http"; config = { url = "$U/b"; $A }; } );
triggers = ( { id = "fan"; flows = ["a", "b"]; mode = "sync";
               respond_with = "upstream"; } );
EOF2
out=$("$SLUICED" -t -c "$T/fan.conf" 2>&1); rc=$?
is "$rc" 1 "check-config: respond_with = \"upstream\" on a fan-out fails"
like "$out" 'fan\.conf:5: trigger "fan": respond_with = "upstream" needs exactly one flow, not 2' \
    "check-config: ...naming file:line"

done_testing
