#!/usr/bin/env bash
# Triggers that speak other services' dialects: Kestra, Cloudomation,
# WayScript, Shipyard capability URLs, SecureX limits, fan-out, templates.
. "$SRCDIR/tests/integration/lib.sh"

printf 'kestra-file-key-0001\n' > "$T/kestra.key"
export SLUICE_TEST_KESTRA_KEY=kestra-env-key-0002
CM_KEY=cm-key-0003
WS_KEY=ws-key-0004

# run-as needs root; elsewhere the Cloudomation flow runs as the daemon's user.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    RUN_AS='user = "nobody";'; EXPECT_USER=nobody
else
    RUN_AS=''; EXPECT_USER=$(id -un)
fi

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 4; shutdown_timeout = "10s";
          max_body = "1M"; state_dir = "state"; };
flows = (
  { id = "echo"; executor = "shell"; config = { argv = ["/bin/cat"]; stdin = "body"; }; },
  { id = "who"; namespace = "ops"; executor = "shell";
    config = { script = "echo \"who=\$(id -un)\" >> \"\$SLUICE_OUTPUT\"; echo \"ok=1\" >> \"\$SLUICE_OUTPUT\"";
               $RUN_AS }; },
  { id = "fn"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "echo \"fn=\$SLUICE_FUNCTION user=\$1 period=\$2\"", "sh",
                       "{variables.user}", "{variables.period}"]; stdin = "none"; }; },
  { id = "a"; executor = "shell"; config = { argv = ["/bin/sh", "-c", "cat > $T/fan-a"]; stdin = "body"; }; },
  { id = "b"; executor = "shell"; config = { argv = ["/bin/sh", "-c", "cat > $T/fan-b"]; stdin = "body"; }; }
);
triggers = (
  { id = "kestra"; flows = ["echo"]; mode = "sync";
    kestra = { namespace = "company.team"; flow = "myflow";
               key = ["@file:kestra.key", "@env:SLUICE_TEST_KESTRA_KEY"]; }; },
  { id = "kestra-tenant"; flows = ["echo"]; mode = "sync";
    kestra = { tenant = "main"; namespace = "company.team"; flow = "myflow";
               key = "@env:SLUICE_TEST_KESTRA_KEY"; }; },
  { id = "cloudomation"; flows = ["ops/who"];
    cloudomation = { client = "acme"; name = "deploy"; key = "$CM_KEY"; }; },
  { id = "wayscript"; flows = ["fn"]; mode = "sync"; variables = ["user", "period"];
    wayscript = { program_id = "4242"; api_key = "$WS_KEY"; }; },
  { id = "ws-report"; flows = ["fn"]; mode = "sync"; variables = ["user"]; path = "/api";
    wayscript = { program_id = "3726"; api_key = "$WS_KEY"; }; },
  { id = "ws-backup"; flows = ["fn"]; mode = "sync"; variables = ["user"]; path = "/api";
    wayscript = { program_id = "3727"; api_key = "other-$WS_KEY"; }; },
  { id = "ship"; flows = ["echo"]; capability = true; success_code = 201; },
  { id = "securex"; flows = ["echo"]; mode = "sync"; max_body = "1K";
    content_types = ["application/json", "text/plain"]; rate_limit = { per_minute = 5; }; },
  { id = "daily"; flows = ["echo"]; rate_limit = { per_day = 3; }; },
  { id = "fan"; flows = ["a", "b"]; },
  { id = "item"; flows = ["echo"]; path = "/items/{kind}/{name}"; methods = ["GET"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
ok "sluiced starts with every dialect configured"

# The sample triggers: alone, and within the whole shipped sample configuration.
mkdir -p "$T/sample/flows.d"
cp "$SRCDIR/flows/sluice.conf" "$T/sample/"
cp "$SRCDIR/flows/flows.d/dialects.conf" "$T/sample/flows.d/"
out=$("$SLUICED" -c "$T/sample/sluice.conf" --check-config 2>&1); rc=$?
is "$rc" 0 "flows.d/dialects.conf passes --check-config with the shipped sluice.conf"
[ "$rc" -eq 0 ] || diag "$out"
out=$("$SLUICED" -c "$SRCDIR/flows/sluice.conf" --check-config 2>&1); rc=$?
if [ "$rc" -ne 0 ] && ! printf '%s' "$out" | grep -q 'dialects\.conf' &&
    printf '%s' "$out" | grep -q 'unknown executor'; then
    skip "the whole shipped sample configuration passes --check-config" \
        "an executor of another sample is not built here"
else
    is "$rc" 0 "the whole shipped sample configuration passes --check-config"
    [ "$rc" -eq 0 ] || diag "$out"
fi

# ---- Kestra ----
K=/api/v1/executions/webhook/company.team/myflow
req POST "$K/kestra-file-key-0001" -H 'Content-Type: text/plain' --data-binary 'from kestra'
is "$STATUS" 200 "Kestra: POST with the key from @file runs the flow"
is "$(jq_get .data.stdout)" "from kestra" "Kestra: the body reaches the flow"
is "$(jq_get .data.inputs.params.key)" "[redacted]" "Kestra: the key is redacted from the inputs"
kexec=$(jq_get .data.id)
req PUT "$K/kestra-env-key-0002" -H 'Content-Type: application/json' -d '{"a":1}'
is "$STATUS" 200 "Kestra: PUT with the key from @env works (two keys accepted)"
req GET "$K/kestra-env-key-0002?x=1"
is "$STATUS" 200 "Kestra: GET works"
is "$(jq_get '.data.inputs.query.x[0]')" 1 "Kestra: GET carries the query as input"
req POST "$K/wrong-key" -d x
is "$STATUS" 404 "Kestra: a wrong key answers 404"
wrong=$(jq -c '{data, error}' <<<"$BODY")
req POST /api/v1/executions/webhook/company.team/nosuchflow/kestra-file-key-0001 -d x
is "$wrong" "$(jq -c '{data, error}' <<<"$BODY")" \
    "Kestra: a wrong key is indistinguishable from a flow that does not exist"
req DELETE "$K/kestra-file-key-0001"
is "$STATUS" 405 "Kestra: other methods: 405"
is "$(header Allow)" "GET, POST, PUT, HEAD, OPTIONS" "Kestra: Allow lists GET, POST and PUT"
req POST /api/v1/main/executions/webhook/company.team/myflow/kestra-env-key-0002 \
    -H 'Content-Type: text/plain' --data-binary 'tenant'
is "$STATUS" 200 "Kestra: the tenant route works"
is "$(jq_get .data.trigger)" kestra-tenant "Kestra: the tenant route is its own trigger"
req POST /api/v1/main/executions/webhook/company.team/myflow/kestra-file-key-0001 -d x
is "$STATUS" 404 "Kestra: the tenant trigger accepts only its own key"
req GET "/api/v1/executions/$kexec"
unlike "$BODY" 'kestra-file-key-0001' "Kestra: the stored execution does not hold the key"
unlike "$(cat "$T/sluiced.log")" 'kestra-(file|env)-key' "Kestra: no key in the log"
like "$(cat "$T/sluiced.log")" 'myflow/\[redacted\]' "Kestra: the log shows the path with the key redacted"

# ---- Cloudomation ----
req POST "/api/webhook/acme/deploy?key=$CM_KEY" -H 'Content-Type: application/json' -d '{"env":"prod"}'
is "$STATUS" 200 "Cloudomation: sync by default"
is "$(jq_get .data.flow)" ops/who "Cloudomation: the answer names the flow"
is "$(jq_get .data.inputs.body.env)" prod "Cloudomation: the answer holds the inputs"
is "$(jq_get .data.outputs.ok)" 1 "Cloudomation: the answer holds the outputs"
is "$(jq_get .data.outputs.who)" "$EXPECT_USER" "Cloudomation: the flow runs as the configured user"
is "$(jq_get '.data.inputs.query.key[0]')" "[redacted]" "Cloudomation: the query key is redacted"
req POST /api/webhook/acme/deploy -H 'Content-Type: application/json' -d "{\"key\":\"$CM_KEY\",\"n\":2}"
is "$STATUS" 200 "Cloudomation: the key in the JSON body field works"
is "$(jq_get .data.inputs.body.key)" "[redacted]" "Cloudomation: the body key is redacted"
is "$(jq_get .data.inputs.body.n)" 2 "Cloudomation: other body fields stay"
req POST "/api/webhook/acme/deploy?key=$CM_KEY&async" -H 'Content-Type: application/json' -d '{}'
is "$STATUS" 202 "Cloudomation: ?async answers at once"
like "$(jq_get .data.execution_id)" '^[0-9a-f-]{36}$' "Cloudomation: ?async gives the execution id"
req GET "/api/webhook/acme/deploy?key=$CM_KEY"
is "$STATUS" 200 "Cloudomation: GET works"
req POST /api/webhook/acme/deploy -H 'Content-Type: application/json' -d '{}'
is "$STATUS" 401 "Cloudomation: no key: 401"
req POST "/api/webhook/acme/deploy?key=nope" -H 'Content-Type: application/json' -d '{}'
is "$STATUS" 403 "Cloudomation: wrong key: 403"
is "$(jq_get .data)" null "Cloudomation: refusals carry data: null"
unlike "$(cat "$T/sluiced.log")" "$CM_KEY" "Cloudomation: no key in the log"

# ---- WayScript ----
req GET "/wayscript/4242?api_key=$WS_KEY&variables=alice&variables=weekly&function=summary"
is "$STATUS" 200 "WayScript: api_key in the query"
is "$(jq_get .data.stdout)" "fn=summary user=alice period=weekly" \
    "WayScript: positional variables in order, function as SLUICE_FUNCTION"
is "$(jq_get .data.inputs.variables.user)" alice "WayScript: variables are named in the inputs"
req POST /wayscript/4242 -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "api_key=$WS_KEY&variables=bob&variables=daily&function=main"
is "$STATUS" 200 "WayScript: api_key in a form body"
is "$(jq_get .data.stdout)" "fn=main user=bob period=daily" "WayScript: form variables and function"
is "$(jq_get .data.inputs.body.api_key)" "[redacted]" "WayScript: the form key is redacted"
req POST /wayscript/4242 -H 'Content-Type: application/json' \
    -d "{\"api_key\":\"$WS_KEY\",\"variables\":[\"carol\"],\"function\":\"report\"}"
is "$STATUS" 200 "WayScript: api_key in a JSON body"
is "$(jq_get .data.stdout)" "fn=report user=carol period=" "WayScript: missing variables are empty"
req GET "/wayscript/4242?api_key=$WS_KEY&variables=a&variables=b&variables=c"
is "$STATUS" 400 "WayScript: more variables than declared: 400"
like "$(jq_get .error.message)" 'got 3 variables.*declares 2' "WayScript: the 400 names both counts"
req GET "/wayscript/4242?api_key=wrong&variables=a"
is "$STATUS" 403 "WayScript: wrong api_key: 403"
req GET "/wayscript/4242?variables=a"
is "$STATUS" 401 "WayScript: no api_key: 401"

# Several programs on WayScript's own URL: only the host changes.
req POST "/api?api_key=$WS_KEY&program_id=3726&variables=dana&function=report"
is "$STATUS" 200 "WayScript /api: program_id picks the trigger"
is "$(jq_get .data.trigger)" ws-report "WayScript /api: program 3726 is ws-report"
is "$(jq_get .data.stdout)" "fn=report user=dana period=" "WayScript /api: variables and function"
req POST "/api?api_key=other-$WS_KEY&program_id=3727&variables=erin"
is "$(jq_get .data.trigger)" ws-backup "WayScript /api: program 3727 is ws-backup"
req POST "/api?api_key=$WS_KEY&program_id=3727&variables=erin"
is "$STATUS" 403 "WayScript /api: each program checks its own api_key"
req POST "/api?api_key=$WS_KEY&program_id=9999"
is "$STATUS" 404 "WayScript /api: an unknown program_id answers like an unknown route"
is "$(jq_get .error.message)" "no trigger at this path" "WayScript /api: the same 404 message"
req POST "/api?api_key=$WS_KEY"
is "$STATUS" 400 "WayScript /api: no program_id: 400"
like "$(jq_get .error.message)" 'program_id is required' "WayScript /api: the 400 says why"

# ---- Shipyard: capability URLs ----
check "the capability token is in the state file" test -s "$T/state/tokens.json"
perm=$(stat -c %a "$T/state/tokens.json")
is "$perm" 600 "the token file is readable by its owner only"
tok=$(jq -r .triggers.ship.token "$T/state/tokens.json")
like "$tok" '^[A-Za-z0-9_-]{22}$' "the token is 128 bits of URL-safe base64"
req POST "/t/$tok" -H 'Content-Type: application/json' -d '{"ship":1}'
is "$STATUS" 201 "Shipyard: the capability URL answers success_code 201"
like "$(jq_get .request.id)" '^[0-9a-f-]{36}$' "Shipyard: the answer carries the request id"
like "$(jq_get .data.execution_id)" '^[0-9a-f-]{36}$' "Shipyard: the answer carries the execution id"
like "$(header Location)" '^/api/v1/executions/' "Shipyard: Location points at the execution"
req POST /t/AAAAAAAAAAAAAAAAAAAAAA -d x
is "$STATUS" 400 "Shipyard: an unknown token: 400"
is "$(jq_get .data)" null "Shipyard: the 400 has data: null"
is "$(jq_get .error.code)" invalid_token "Shipyard: the 400 says why"
req POST /t/ship -d x
is "$STATUS" 400 "Shipyard: the trigger's id is no way in"
req POST /hooks/ship -d x
is "$STATUS" 404 "Shipyard: a capability trigger has no ordinary route"
unlike "$(cat "$T/sluiced.log")" "$tok" "Shipyard: the token never reaches the log"
like "$(cat "$T/sluiced.log")" 'POST /t/\[redacted\]' "Shipyard: the log shows /t/[redacted]"

# Regenerate and remove through the admin API, when it is wired.
req POST /api/v1/triggers/ship/token
if [ "$STATUS" = 200 ] || [ "$STATUS" = 201 ]; then
    new=$(jq -r .triggers.ship.token "$T/state/tokens.json")
    check "regenerate: a new token" [ "$new" != "$tok" ]
    req POST "/t/$tok" -d x
    is "$STATUS" 400 "regenerate: the old URL stops working at once"
    req POST "/t/$new" -d x
    is "$STATUS" 201 "regenerate: the new URL works"
    tok=$new
    req DELETE /api/v1/triggers/ship/token
    check "remove: answered with success" [ "${STATUS:0:1}" = 2 ]
    req POST "/t/$tok" -d x
    is "$STATUS" 400 "remove: the URL stops working"
    req POST /api/v1/triggers/ship/token
    tok=$(jq -r .triggers.ship.token "$T/state/tokens.json")
    req POST "/t/$tok" -d x
    is "$STATUS" 201 "regenerate after remove: the trigger is reachable again"
else
    skip "regenerate and remove over HTTP" "POST /api/v1/triggers/{id}/token answers $STATUS (not wired)"
fi

# ---- SecureX: types, size, limits ----
req POST /hooks/securex -H 'Content-Type: text/plain' --data-binary $'line one\nline two\n'
is "$STATUS" 200 "SecureX: a text body is accepted"
printf '%s' "$BODY" | jq -j .data.stdout > "$T/text-out"
check "SecureX: the text body reaches the flow byte for byte" \
    cmp -s "$T/text-out" <(printf 'line one\nline two\n')
req POST /hooks/securex -H 'Content-Type: application/json' -d '{"alert":{"id":7,"tags":["a","b"]}}'
is "$STATUS" 200 "SecureX: a JSON body is accepted"
is "$(jq_get .data.stdout | jq -cS .)" '{"alert":{"id":7,"tags":["a","b"]}}' \
    "SecureX: the JSON body reaches the flow as sent"
req POST /hooks/securex -H 'Content-Type: application/xml' -d '<a/>'
is "$STATUS" 415 "SecureX: another content type: 415"
head -c 2048 /dev/zero | tr '\0' 'x' > "$T/2k"
req POST /hooks/securex -H 'Content-Type: text/plain' --data-binary @"$T/2k"
is "$STATUS" 413 "SecureX: a body over the trigger's max_body: 413"
# Refused requests (415, 413) took nothing from the budget: two used so far.
for n in three four five; do req POST /hooks/securex -H 'Content-Type: text/plain' -d "$n"; done
is "$STATUS" 200 "SecureX: the fifth request of the minute is accepted"
req POST /hooks/securex -H 'Content-Type: text/plain' -d 'six'
is "$STATUS" 429 "SecureX: the sixth request of the minute: 429"
ra=$(header Retry-After)
like "$ra" '^[0-9]+$' "SecureX: Retry-After is whole seconds"
check "SecureX: Retry-After is at most 12 s (5 per minute refill every 12 s)" \
    [ "${ra:-0}" -ge 1 -a "${ra:-99}" -le 12 ]
is "$(jq_get .error.code)" rate_limited "SecureX: the 429 says why"
for i in 1 2 3; do req POST /hooks/daily -d "d$i"; done
is "$STATUS" 202 "per-day limit: the third request of the day is accepted"
req POST /hooks/daily -d d4
is "$STATUS" 429 "per-day limit: the fourth: 429"
ra=$(header Retry-After)
check "per-day limit: Retry-After is hours away ($ra s)" [ "${ra:-0}" -gt 3600 ]

# ---- fan-out ----
req POST /hooks/fan -H 'Content-Type: text/plain' -d 'fan body'
is "$STATUS" 202 "fan-out: accepted"
is "$(jq_get '.data.execution_ids | length')" 2 "fan-out: one execution per flow"
is "$(jq_get '[.data.executions[].flow] | sort | join(",")')" "a,b" "fan-out: every flow named"
check "fan-out: both flows got the body" wait_for "fan files" 10 \
    sh -c "grep -qx 'fan body' $T/fan-a && grep -qx 'fan body' $T/fan-b"

# ---- plain templates ----
req GET /items/books/the%20hobbit
is "$(jq_get .data.inputs.params.name)" "the hobbit" "templates: {param} segments become params"

# ---- restart: tokens survive ----
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced stops for a restart"
start_sluiced || { fail "sluiced restarts"; done_testing; exit 1; }
req POST "/t/$tok" -d x
is "$STATUS" 201 "Shipyard: the token survives a restart"
is "$(jq -r .triggers.ship.token "$T/state/tokens.json")" "$tok" "the state file keeps the token"

# ---- reload: an invalid_status of 404 hides unknown tokens ----
sed -i 's/capability = true;/capability = { invalid_status = 404; };/' "$T/sluice.conf"
kill -HUP "$SLUICE_PID"
check "reload done" wait_for "reload" 10 grep -q 'reload: now serving' "$T/sluiced.log"
req POST /t/AAAAAAAAAAAAAAAAAAAAAA -d x
is "$STATUS" 404 "invalid_status = 404: unknown tokens answer 404"
is "$(jq_get .data)" null "the 404 has data: null"
req POST "/t/$tok" -d x
is "$STATUS" 201 "the token survives a reload"

done_testing
