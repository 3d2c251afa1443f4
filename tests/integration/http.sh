#!/usr/bin/env bash
# HTTP behaviour of the front: routing, methods, envelopes, bad input.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
$SERVER_BLOCK
flows = (
  { id = "echo"; executor = "shell"; config = { argv = ["/bin/cat"]; stdin = "body"; }; }
);
triggers = (
  { id = "echo"; flows = ["echo"]; mode = "sync"; methods = ["POST", "PUT"]; },
  { id = "typed"; flows = ["echo"]; path = "/in/typed"; content_types = ["application/json"]; },
  { id = "item"; flows = ["echo"]; path = "/items/{kind}/{name}"; mode = "sync"; methods = ["GET"]; },
  { id = "literal"; flows = ["echo"]; path = "/items/special/one"; mode = "sync"; methods = ["GET"]; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
ok "sluiced starts on a kernel-chosen port ($PORT)"

req GET /healthz
is "$STATUS" 200 "healthz answers 200"
is "$(jq_get .data.status)" ok "healthz says ok"
like "$(header X-Request-Id)" '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
    "every response carries a UUIDv7 X-Request-Id"
is "$(jq_get .request.id)" "$(header X-Request-Id)" "the envelope repeats the request id"

req POST /nowhere -d x
is "$STATUS" 404 "unknown route: 404"
is "$(jq_get .data)" null "404 envelope has data: null"
is "$(jq_get .error.code)" not_found "404 error code"
like "$(header Content-Type)" '^application/json' "errors are JSON"

req POST /hooks/echo/extra -d x
is "$STATUS" 404 "no prefix matching: a longer path is 404"

req DELETE /hooks/echo
is "$STATUS" 405 "wrong method: 405"
is "$(header Allow)" "POST, PUT, OPTIONS" "405 names the allowed methods in Allow"
is "$(jq_get .error.code)" method_not_allowed "405 error code"

req OPTIONS /hooks/echo
is "$STATUS" 200 "OPTIONS answers"
is "$(header Allow)" "POST, PUT, OPTIONS" "OPTIONS lists methods"

req PUT /hooks/echo -H 'Content-Type: text/plain' --data-binary 'plain text'
is "$STATUS" 200 "a second configured method works"
is "$(jq_get .data.state)" succeeded "sync flow succeeded"

req POST /hooks/echo -H 'Content-Type: application/json' --data-binary '{"a": 1,'
is "$STATUS" 400 "malformed JSON: 400"
like "$(jq_get .error.message)" 'malformed JSON' "400 says why"

req POST /hooks/echo -H 'Content-Type: application/json' --data-binary '{"a": 1, "a": 2}'
is "$STATUS" 400 "duplicate JSON keys: 400"

req POST /hooks/echo -H 'Content-Type: application/json' --data-binary $'"\xff\xfe"'
is "$STATUS" 400 "invalid UTF-8 in JSON: 400"

req POST '/hooks/echo?a=%zz' -d x
is "$STATUS" 400 "invalid percent-encoding in the query: 400"

req POST /in/typed -H 'Content-Type: text/plain' -d 'x'
is "$STATUS" 415 "content type outside the trigger's list: 415"
is "$(jq_get .error.code)" unsupported_media_type "415 error code"

req POST /in/typed -H 'Content-Type: application/json; charset=utf-8' -d '{"x":1}'
is "$STATUS" 202 "listed content type with parameters: accepted"

req GET /items/special/one
is "$(jq_get .data.trigger)" literal "a literal route beats a parameter route"
req GET /items/fruit/apple%20pie
is "$(jq_get .data.trigger)" item "a parameter route matches"
is "$(jq_get .data.inputs.params.name)" "apple pie" "path parameters are decoded into params"
is "$(jq_get .data.inputs.params.kind)" fruit "every path parameter is captured"

req GET /api/v1/executions/0000
is "$STATUS" 404 "unknown execution: 404"

req GET /metrics
is "$STATUS" 200 "metrics answer"
like "$BODY" 'sluice_http_responses_total\{code="404"\} [1-9]' "metrics count 404 answers"
like "$BODY" 'sluice_executions_finished_total\{state="succeeded"\} [1-9]' \
    "metrics count finished executions"
like "$BODY" 'sluice_queue_capacity 10000' "metrics show the queue capacity"
like "$BODY" 'sluice_queue_capacity_bytes 268435456' "metrics show the queue's memory limit"
like "$BODY" 'sluice_queue_bytes [0-9]+' "metrics show the memory the queue holds"

req GET /api/v1/triggers
is "$STATUS" 200 "triggers are listed"
is "$(jq_get '.data | length')" 4 "all four triggers listed"

done_testing
