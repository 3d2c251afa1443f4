#!/usr/bin/env bash
# Authentication end to end: keys wherever senders put them, rotation,
# Basic, every HMAC preset signed with openssl, timestamp tolerance, IP
# allowlists behind proxies, 401 against 403, failed-attempt limits,
# filters, and no secret in the log, the event or the store.
. "$SRCDIR/tests/integration/lib.sh"

KEY_OLD=old-key-0001-aaaa
KEY_NEW=new-key-0002-bbbb
PATH_KEY=path-key-0003-cccc
BASIC_PW='correct horse 0004'
GH_SECRET=gh-secret-0005-dddd
GH_OLD=gh-old-secret-0006-eeee
SW_RAW=sw-raw-key-0007-ffff-0123456789
SW_SECRET="whsec_$(printf '%s' "$SW_RAW" | base64 -w0)"
STRIPE_SECRET=whsec_stripe-0008-gggg
SLACK_SECRET=slack-0009-hhhh
GEN_SECRET=generic-0010-iiii

# A second listener on ::1 gives a peer that is not a trusted proxy.
LISTEN='"127.0.0.1:0"'
grep -qs '^0\{31\}1 ' /proc/net/if_inet6 && LISTEN="$LISTEN, \"[::1]:0\""

write_config <<EOF2
server: { listen = [$LISTEN]; http_threads = 2; workers = 2;
          shutdown_timeout = "10s"; trusted_proxies = ["127.0.0.1/32"]; state_dir = "state";
          admin_token = "auth-admin-token-0123456789abcdef"; };
flows = (
  { id = "event"; executor = "shell"; config = { argv = ["/bin/cat"]; stdin = "event"; }; }
);
triggers = (
  { id = "keys"; flows = ["event"]; mode = "sync"; methods = ["GET", "POST"];
    auth = { keys = ["$KEY_OLD", "$KEY_NEW"];
             key_in = ["bearer", "header:X-Custom-Token", "query:token", "body:token"]; }; },
  { id = "default"; flows = ["event"]; mode = "sync";
    auth = { keys = ["$KEY_NEW"]; }; },
  { id = "pathkey"; flows = ["event"]; mode = "sync"; path = "/hooks/p/{key}/go";
    auth = { keys = ["$PATH_KEY"]; key_in = ["path:key"]; }; },
  { id = "basic"; flows = ["event"]; mode = "sync";
    auth = { basic = ["deploy:$BASIC_PW"]; }; },
  { id = "github"; flows = ["event"]; mode = "sync";
    auth = { hmac = { preset = "github"; secrets = ["$GH_SECRET", "$GH_OLD"]; }; };
    filter = { header = "X-GitHub-Event"; equals = ["push", "ping"]; }; },
  { id = "standard"; flows = ["event"]; mode = "sync";
    auth = { hmac = { preset = "standard-webhooks"; secrets = ["$SW_SECRET"]; }; }; },
  { id = "stripe"; flows = ["event"]; mode = "sync";
    auth = { hmac = { preset = "stripe"; secrets = ["$STRIPE_SECRET"]; }; }; },
  { id = "slack"; flows = ["event"]; mode = "sync";
    auth = { hmac = { preset = "slack"; secrets = ["$SLACK_SECRET"]; }; }; },
  { id = "generic"; flows = ["event"]; mode = "sync";
    auth = { hmac = { header = "X-Signature"; prefix = "sha512="; encoding = "base64";
                      algorithm = "sha512"; template = "{timestamp}:{id}:{body}";
                      timestamp_header = "X-Timestamp"; id_header = "X-Nonce";
                      tolerance = "2m"; secrets = ["$GEN_SECRET"]; }; }; },
  { id = "ips"; flows = ["event"]; mode = "sync";
    auth = { allow_ips = ["203.0.113.0/24", "2001:db8::/32"]; }; },
  { id = "lockout"; flows = ["event"]; mode = "sync";
    auth = { keys = ["$KEY_NEW"]; max_failures = 3; failure_window = "1m"; }; },
  { id = "filtered"; flows = ["event"]; filter_status = 200;
    filter = { all = ( { header = "X-Event"; equals = "deploy"; },
                       { path = "body.ref"; matches = "^refs/heads/(main|release/.+)\$"; } ); }; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
ok "sluiced starts"
PORT6=$(sed -n 's/.*listening on http:\/\/\[::1\]:\([0-9]*\)$/\1/p' "$T/sluiced.log" | tail -1)
PORT4=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/sluiced.log" | tail -1)
BASE="http://127.0.0.1:$PORT4"

# ---- keys ----
req POST /hooks/keys -H "Authorization: Bearer $KEY_OLD" -d x
is "$STATUS" 200 "keys: Bearer with the old key (rotation)"
req POST /hooks/keys -H "Authorization: Bearer $KEY_NEW" -d x
is "$STATUS" 200 "keys: Bearer with the new key (rotation)"
req POST /hooks/keys -H "X-Custom-Token: $KEY_NEW" -d x
is "$STATUS" 200 "keys: a named header"
is "$(jq_get .data.stdout | jq -r '.headers["x-custom-token"]')" "[redacted]" \
    "keys: the key header is redacted in the event the flow receives"
req GET "/hooks/keys?token=$KEY_NEW&other=1"
is "$STATUS" 200 "keys: a query parameter"
is "$(jq_get .data.stdout | jq -r '.query.token[0]')" "[redacted]" "keys: the query key is redacted"
is "$(jq_get .data.stdout | jq -r '.query.other[0]')" 1 "keys: other parameters stay"
req POST /hooks/keys -H 'Content-Type: application/json' -d "{\"token\":\"$KEY_OLD\",\"x\":1}"
is "$STATUS" 200 "keys: a JSON body field"
is "$(jq_get .data.stdout | jq -r '.body.token')" "[redacted]" "keys: the body key is redacted"
keys_exec=$(jq_get .data.id)
req POST /hooks/keys -H 'Content-Type: application/x-www-form-urlencoded' --data "token=$KEY_OLD"
is "$STATUS" 200 "keys: a form body field"
req POST /hooks/keys -d x
is "$STATUS" 401 "keys: no key: 401"
is "$(jq_get .error.code)" unauthorized "keys: 401 error code"
is "$(header WWW-Authenticate)" 'Bearer realm="sluice"' "keys: 401 carries a Bearer challenge"
req POST /hooks/keys -H 'Authorization: Bearer wrong-key' -d x
is "$STATUS" 403 "keys: wrong key: 403"
is "$(jq_get .error.code)" forbidden "keys: 403 error code"
req POST "/hooks/keys?token=wrong" -H "Authorization: Bearer $KEY_NEW" -d x
is "$STATUS" 403 "keys: a right key beside a wrong one: 403"
req POST /hooks/default -H "X-Api-Key: $KEY_NEW" -d x
is "$STATUS" 200 "keys: X-Api-Key by default"
req POST "/hooks/default?token=$KEY_NEW" -d x
is "$STATUS" 401 "keys: only the configured places are read"
req POST "/hooks/p/$PATH_KEY/go" -d x
is "$STATUS" 200 "keys: in a path segment"
is "$(jq_get .data.stdout | jq -r .path)" "/hooks/p/[redacted]/go" "keys: the path key is redacted"
is "$(jq_get .data.stdout | jq -r .params.key)" "[redacted]" "keys: the path parameter is redacted"
req POST /hooks/p/wrong/go -d x
is "$STATUS" 403 "keys: a wrong path key: 403"

# ---- Basic ----
req POST /hooks/basic -u "deploy:$BASIC_PW" -d x
is "$STATUS" 200 "Basic: right user and password"
is "$(jq_get .data.stdout | jq -r .headers.authorization)" "[redacted]" \
    "Basic: Authorization is redacted in the event"
req POST /hooks/basic -u 'deploy:wrong' -d x
is "$STATUS" 403 "Basic: wrong password: 403"
req POST /hooks/basic -u "other:$BASIC_PW" -d x
is "$STATUS" 403 "Basic: wrong user: 403"
req POST /hooks/basic -d x
is "$STATUS" 401 "Basic: no credentials: 401"
is "$(header WWW-Authenticate)" 'Basic realm="sluice"' "Basic: 401 carries a Basic challenge"

# ---- HMAC presets, signed as the senders sign ----
hmac_hex() { openssl dgst "-$1" -hmac "$2" | sed 's/^.*= //'; }
printf '{"ref":"refs/heads/main","n":1}' > "$T/gh.json"
sig=$(hmac_hex sha256 "$GH_SECRET" < "$T/gh.json")
req POST /hooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary @"$T/gh.json"
is "$STATUS" 200 "github: a signed push is accepted"
is "$(jq_get .data.stdout | jq -r '.headers["x-hub-signature-256"]')" "[redacted]" \
    "github: the signature header is redacted"
gh_exec=$(jq_get .data.id)
sig=$(hmac_hex sha256 "$GH_OLD" < "$T/gh.json")
req POST /hooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary @"$T/gh.json"
is "$STATUS" 200 "github: the second secret verifies too (rotation)"
sig1=$(hmac_hex sha1 "$GH_SECRET" < "$T/gh.json")
req POST /hooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature: sha1=$sig1" --data-binary @"$T/gh.json"
is "$STATUS" 200 "github: the legacy SHA-1 signature"
req POST /hooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary '{"ref":"refs/heads/main","n":2}'
is "$STATUS" 403 "github: a changed body: 403"
like "$(jq_get .error.message)" 'does not match' "github: the 403 says the signature does not match"
req POST /hooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    --data-binary @"$T/gh.json"
is "$STATUS" 401 "github: no signature: 401"
# The exact bytes are verified: reformatting (what a parser would do) breaks it.
printf '{"ref": "refs/heads/main", "n": 1}' > "$T/gh2.json"
req POST /hooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
    -H "X-Hub-Signature-256: sha256=$(hmac_hex sha256 "$GH_SECRET" < "$T/gh.json")" \
    --data-binary @"$T/gh2.json"
is "$STATUS" 403 "github: the signature covers the raw bytes, not the JSON value"
sig=$(hmac_hex sha256 "$GH_SECRET" < "$T/gh.json")
req POST /hooks/github -H 'Content-Type: application/json' -H 'X-GitHub-Event: issues' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary @"$T/gh.json"
is "$STATUS" 202 "filter: a signed event the filter rejects answers 202 by default"
is "$(jq_get .data.filtered)" true "filter: the answer says filtered"
is "$(jq_get .data.execution_id)" null "filter: no execution"

now=$(date +%s)
sw_sign() { # id ts bodyfile
    local key
    key=$(printf '%s' "$SW_RAW" | od -An -tx1 | tr -d ' \n')
    { printf '%s.%s.' "$1" "$2"; cat "$3"; } |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64 -w0
}
printf '{"type":"invoice.paid"}' > "$T/sw.json"
req POST /hooks/standard -H 'Content-Type: application/json' -H 'webhook-id: msg_1' \
    -H "webhook-timestamp: $now" -H "webhook-signature: v1,$(sw_sign msg_1 "$now" "$T/sw.json")" \
    --data-binary @"$T/sw.json"
is "$STATUS" 200 "standard-webhooks: a signed request"
req POST /hooks/standard -H 'Content-Type: application/json' -H 'webhook-id: msg_1' \
    -H "webhook-timestamp: $now" \
    -H "webhook-signature: v1,AAAA v1,$(sw_sign msg_1 "$now" "$T/sw.json")" \
    --data-binary @"$T/sw.json"
is "$STATUS" 200 "standard-webhooks: one good signature in a space-separated list"
old=$((now - 400))
req POST /hooks/standard -H 'Content-Type: application/json' -H 'webhook-id: msg_1' \
    -H "webhook-timestamp: $old" -H "webhook-signature: v1,$(sw_sign msg_1 "$old" "$T/sw.json")" \
    --data-binary @"$T/sw.json"
is "$STATUS" 403 "standard-webhooks: a correctly signed but 400 s old request: 403"
like "$(jq_get .error.message)" '300 seconds' "standard-webhooks: the 403 names the tolerance"
future=$((now + 400))
req POST /hooks/standard -H 'Content-Type: application/json' -H 'webhook-id: msg_1' \
    -H "webhook-timestamp: $future" \
    -H "webhook-signature: v1,$(sw_sign msg_1 "$future" "$T/sw.json")" --data-binary @"$T/sw.json"
is "$STATUS" 403 "standard-webhooks: 400 s in the future: 403"
req POST /hooks/standard -H 'Content-Type: application/json' -H 'webhook-id: msg_2' \
    -H "webhook-timestamp: $now" -H "webhook-signature: v1,$(sw_sign msg_1 "$now" "$T/sw.json")" \
    --data-binary @"$T/sw.json"
is "$STATUS" 403 "standard-webhooks: the id is signed"

printf '{"id":"evt_1","type":"charge.succeeded"}' > "$T/stripe.json"
v1=$({ printf '%s.' "$now"; cat "$T/stripe.json"; } | hmac_hex sha256 "$STRIPE_SECRET")
req POST /hooks/stripe -H 'Content-Type: application/json' \
    -H "Stripe-Signature: t=$now,v1=$v1,v0=deadbeef" --data-binary @"$T/stripe.json"
is "$STATUS" 200 "stripe: a signed event"
is "$(jq_get .data.stdout | jq -r '.headers["stripe-signature"]')" "[redacted]" \
    "stripe: the signature header is redacted"
v1=$({ printf '%s.' "$old"; cat "$T/stripe.json"; } | hmac_hex sha256 "$STRIPE_SECRET")
req POST /hooks/stripe -H 'Content-Type: application/json' \
    -H "Stripe-Signature: t=$old,v1=$v1" --data-binary @"$T/stripe.json"
is "$STATUS" 403 "stripe: older than 300 s: 403"

printf 'token=x&command=%%2Fdeploy&text=prod' > "$T/slack.form"
v0=$({ printf 'v0:%s:' "$now"; cat "$T/slack.form"; } | hmac_hex sha256 "$SLACK_SECRET")
req POST /hooks/slack -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "X-Slack-Request-Timestamp: $now" -H "X-Slack-Signature: v0=$v0" --data-binary @"$T/slack.form"
is "$STATUS" 200 "slack: a signed slash command"
is "$(jq_get .data.stdout | jq -r .body.command)" "/deploy" "slack: the form body reaches the flow"
v0=$({ printf 'v0:%s:' "$old"; cat "$T/slack.form"; } | hmac_hex sha256 "$SLACK_SECRET")
req POST /hooks/slack -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "X-Slack-Request-Timestamp: $old" -H "X-Slack-Signature: v0=$v0" --data-binary @"$T/slack.form"
is "$STATUS" 403 "slack: older than 300 s: 403"

printf 'plain payload' > "$T/gen.txt"
gsig=$({ printf '%s:%s:' "$now" nonce-1; cat "$T/gen.txt"; } |
    openssl dgst -sha512 -hmac "$GEN_SECRET" -binary | base64 -w0)
req POST /hooks/generic -H 'Content-Type: text/plain' -H "X-Timestamp: $now" -H 'X-Nonce: nonce-1' \
    -H "X-Signature: sha512=$gsig" --data-binary @"$T/gen.txt"
is "$STATUS" 200 "generic: sha512, base64, a template with timestamp and id"
is "$(jq_get .data.stdout | jq -r '.headers["x-signature"]')" "[redacted]" \
    "generic: the configured signature header is redacted"
req POST /hooks/generic -H 'Content-Type: text/plain' -H "X-Timestamp: $now" -H 'X-Nonce: nonce-2' \
    -H "X-Signature: sha512=$gsig" --data-binary @"$T/gen.txt"
is "$STATUS" 403 "generic: another id: 403"
t3=$((now - 180))
gsig=$({ printf '%s:%s:' "$t3" nonce-1; cat "$T/gen.txt"; } |
    openssl dgst -sha512 -hmac "$GEN_SECRET" -binary | base64 -w0)
req POST /hooks/generic -H 'Content-Type: text/plain' -H "X-Timestamp: $t3" -H 'X-Nonce: nonce-1' \
    -H "X-Signature: sha512=$gsig" --data-binary @"$T/gen.txt"
is "$STATUS" 403 "generic: outside its 2 minute tolerance: 403"

# ---- addresses ----
req POST /hooks/ips -H 'X-Forwarded-For: 203.0.113.7' -d x
is "$STATUS" 200 "allowlist: from a trusted proxy, the forwarded client is allowed"
is "$(jq_get .data.stdout | jq -r .remote_addr)" 203.0.113.7 \
    "allowlist: remote_addr is the forwarded client the allowlist checked"
req POST /hooks/ips -H 'X-Forwarded-For: 2001:db8::42' -d x
is "$STATUS" 200 "allowlist: an IPv6 client in an IPv6 range"
req POST /hooks/ips -H 'X-Forwarded-For: 203.0.113.7, 198.51.100.9' -d x
is "$STATUS" 403 "allowlist: an allowed address prepended by the sender is not believed"
like "$(jq_get .error.message)" '198\.51\.100\.9' "allowlist: the 403 names the address seen"
req POST /hooks/ips -d x
is "$STATUS" 403 "allowlist: the proxy itself is not on the list"
if [ -n "$PORT6" ] && curl -s -o /dev/null -g "http://[::1]:$PORT6/healthz"; then
    st=$(curl -s -o /dev/null -w '%{http_code}' -g -X POST -H 'X-Forwarded-For: 203.0.113.7' \
        -d x "http://[::1]:$PORT6/hooks/ips")
    is "$st" 403 "allowlist: X-Forwarded-For from an untrusted peer (::1) is ignored"
else
    skip "allowlist: X-Forwarded-For from an untrusted peer is ignored" "no IPv6 loopback"
fi

# ---- failed attempts ----
for i in 1 2 3; do req POST /hooks/lockout -H 'X-Api-Key: guess' -d x; done
is "$STATUS" 403 "lockout: the third wrong key is still a 403"
req POST /hooks/lockout -H "X-Api-Key: $KEY_NEW" -d x
is "$STATUS" 429 "lockout: after three failures even the right key waits"
is "$(jq_get .error.code)" too_many_failures "lockout: the 429 says why"
like "$(header Retry-After)" '^[0-9]+$' "lockout: with Retry-After"
req POST /hooks/keys -H "Authorization: Bearer $KEY_NEW" -d x
is "$STATUS" 200 "lockout: other triggers are not affected"

# ---- filters ----
req POST /hooks/filtered -H 'Content-Type: application/json' -H 'X-Event: deploy' \
    -d '{"ref":"refs/heads/main"}'
is "$STATUS" 202 "filter: a matching request runs"
req POST /hooks/filtered -H 'Content-Type: application/json' -H 'X-Event: deploy' \
    -d '{"ref":"refs/heads/feature/x"}'
is "$STATUS" 200 "filter: a non-matching body path answers filter_status"
is "$(jq_get .data.filtered)" true "filter: data.filtered is true"
fid=$(jq_get .request.id)
req POST /hooks/filtered -H 'Content-Type: application/json' -d '{"ref":"refs/heads/main"}'
is "$(jq_get .data.filtered)" true "filter: a missing header is false"
check "filter: the filtered request is logged and created no execution" \
    sh -c "grep -q '\[$fid\] filtered' $T/sluiced.log && ! grep -q '\[$fid\] accepted' $T/sluiced.log"

# ---- no secret anywhere ----
# Behind trusted_proxies the admin API takes the admin token only.
ADMIN_AUTH='Authorization: Bearer auth-admin-token-0123456789abcdef'
req GET "/api/v1/executions/$keys_exec" -H "$ADMIN_AUTH"
is "$STATUS" 200 "the stored execution is readable"
unlike "$BODY" "$KEY_OLD|$KEY_NEW" "the stored execution holds no key"
req GET "/api/v1/executions/$gh_exec" -H "$ADMIN_AUTH"
unlike "$BODY" "$sig" "the stored execution holds no signature"
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced exits 0 on SIGTERM"
leaked=
for s in "$KEY_OLD" "$KEY_NEW" "$PATH_KEY" "$BASIC_PW" "$GH_SECRET" "$GH_OLD" "$SW_SECRET" \
         "$SW_RAW" "$STRIPE_SECRET" "$SLACK_SECRET" "$GEN_SECRET" "$sig" "$v1" "$v0" "$gsig"; do
    grep -qF -- "$s" "$T/sluiced.log" && leaked="$leaked log:$s"
    for f in "$T"/sluice.db*; do
        [ -f "$f" ] && grep -aqF -- "$s" "$f" && leaked="$leaked store:$s"
    done
done
is "${leaked:-none}" none "no key, password, secret or signature in the log or the store files"
done_testing
