#!/usr/bin/env bash
# Refused requests: no secret they carried reaches the log, repeated
# headers are read one way, and nothing refused spends a rate budget.
. "$SRCDIR/tests/integration/lib.sh"

KESTRA_KEY=KESTRA-SECRET-KEY-1
QUERY_KEY=QUERY-SECRET-KEY-2
HEADER_KEY=HEADER-SECRET-KEY-3
BODY_KEY=BODY-SECRET-KEY-4
GH_SECRET=GITHUB-HMAC-SECRET-5
ADMIN_TOKEN=ADMIN-SECRET-TOKEN-6
SW_RAW=STANDARD-HMAC-SECRET-7
SW_SECRET="whsec_$(printf '%s' "$SW_RAW" | base64 -w0)"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "10s";
          trusted_proxies = ["127.0.0.1/32"]; admin_token = "$ADMIN_TOKEN"; state_dir = "state"; };
flows = ( { id = "ev"; executor = "shell"; config = { argv = ["/bin/cat"]; stdin = "event"; }; } );
triggers = (
  { id = "kestra-far"; flows = ["ev"]; mode = "sync";
    kestra = { namespace = "n"; flow = "far"; key = "$KESTRA_KEY"; };
    auth = { allow_ips = ["10.0.0.0/8"]; }; },
  { id = "kestra-lock"; flows = ["ev"]; mode = "sync";
    kestra = { namespace = "n"; flow = "lock"; key = "$KESTRA_KEY"; };
    auth = { allow_ips = ["127.0.0.0/8"]; max_failures = 1; }; },
  { id = "query"; flows = ["ev"]; mode = "sync";
    auth = { keys = ["$QUERY_KEY"]; key_in = ["query:key"]; max_failures = 2; }; },
  { id = "header"; flows = ["ev"]; mode = "sync"; max_body = "1K";
    auth = { keys = ["$HEADER_KEY"]; key_in = ["header:X-Token"]; }; },
  { id = "body"; flows = ["ev"]; mode = "sync";
    auth = { keys = ["$BODY_KEY"]; key_in = ["body:key"]; }; },
  { id = "gh"; flows = ["ev"]; mode = "sync";
    auth = { hmac = { preset = "github"; secrets = ["$GH_SECRET"]; }; };
    filter = { header = "X-GitHub-Event"; equals = "push"; }; },
  { id = "svix"; flows = ["ev"];
    auth = { hmac = { preset = "standard-webhooks"; secrets = ["$SW_SECRET"]; }; }; },
  { id = "cap"; flows = ["ev"]; capability = true; auth = { allow_ips = ["10.0.0.0/8"]; }; },
  { id = "open"; flows = ["ev"]; mode = "sync"; max_body = "1K"; rate_limit = { per_minute = 1; }; },
  { id = "event"; flows = ["ev"]; mode = "sync";
    filter = { header = "X-Event"; equals = "push"; }; }
);
EOF2
start_sluiced -v || { fail "sluiced starts"; done_testing; exit 1; }
CAP_TOKEN=$(jq -r .triggers.cap.token "$T/state/tokens.json")

# ---- refusals that happen before a key is looked at ----
K=/api/v1/executions/webhook/n
req POST "$K/far/$KESTRA_KEY" -d x
is "$STATUS" 403 "allow_ips refuses a right Kestra key from elsewhere"
req POST "$K/lock/wrong" -d x
is "$STATUS" 404 "a wrong Kestra key: 404"
req POST "$K/lock/$KESTRA_KEY" -d x
is "$STATUS" 429 "past max_failures even the right Kestra key waits (429)"
req POST "/t/$CAP_TOKEN" -d x
is "$STATUS" 403 "allow_ips refuses a capability URL from elsewhere"
for k in wrong wrong "$QUERY_KEY"; do req POST "/hooks/query?key=$k" -d x; done
is "$STATUS" 429 "query keys: locked out after two failures"
# Unterminated: a JSON parser's message quotes the text where it stopped.
req POST /hooks/body -H 'Content-Type: application/json' -d "{\"key\":\"$BODY_KEY}"
is "$STATUS" 400 "a body key in malformed JSON: 400"
like "$(jq_get .error.message)" 'malformed JSON' "the sender is told why"
req POST /hooks/body -H 'Content-Type: application/json' -d "{\"key\":\"$BODY_KEY\",\"key\":1}"
is "$STATUS" 400 "a body key with a duplicate member: 400"
req POST /hooks/gh -H 'X-GitHub-Event: push' -H 'X-Hub-Signature-256: sha256=00' -d x
is "$STATUS" 403 "a wrong GitHub signature: 403"
req GET /api/v1/executions -H "Authorization: Bearer $ADMIN_TOKEN"
is "$STATUS" 200 "the admin token opens the executions API"
req GET /api/v1/executions -H "Authorization: Bearer wrong-$ADMIN_TOKEN"
like "$STATUS" '^40[13]$' "a wrong admin token is refused"

# ---- repeated headers ----
req POST /hooks/header -H "X-Token: $HEADER_KEY" -H 'X-Token: wrong' -d x
is "$STATUS" 400 "a right X-Token followed by a wrong one: 400"
is "$(jq_get .error.code)" repeated_header "the 400 says the header was repeated"
req POST /hooks/header -H 'X-Token: wrong' -H "X-Token: $HEADER_KEY" -d x
is "$STATUS" 400 "a wrong X-Token followed by a right one: 400"
req POST /hooks/event -H 'X-Event: push' -H 'X-Event: delete' -d x
is "$STATUS" 400 "X-Event push then delete never passes the filter on push"
req POST /hooks/event -H 'X-Event: push' -H 'X-Tag: a' -H 'X-Tag: b' -H 'X-Forwarded-For: 203.0.113.7' -d x
is "$STATUS" 200 "other repeated headers are accepted"
ev=$(jq_get .data.stdout)
is "$(printf '%s' "$ev" | jq -r '.headers["x-tag"]')" "a, b" \
    "the event carries a repeated header's values joined with \", \""
is "$(printf '%s' "$ev" | jq -r '.headers["x-event"]')" push "the event carries what the filter saw"
is "$(printf '%s' "$ev" | jq -r .remote_addr)" 203.0.113.7 \
    "behind trusted_proxies the event's remote_addr is the client allow_ips checks"
req POST /hooks/event -H 'X-Event: push' -d x
is "$(jq_get .data.stdout | jq -r .remote_addr)" 127.0.0.1 "without a proxy, remote_addr is the peer"

# ---- svix-id deduplicates like webhook-id ----
now=$(date +%s)
sw_sign() { # id ts bodyfile
    local key
    key=$(printf '%s' "$SW_RAW" | od -An -tx1 | tr -d ' \n')
    { printf '%s.%s.' "$1" "$2"; cat "$3"; } |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64 -w0
}
printf '{"type":"invoice.paid"}' > "$T/sw.json"
svix() {
    req POST /hooks/svix -H 'Content-Type: application/json' -H "svix-id: $1" \
        -H "svix-timestamp: $now" -H "svix-signature: v1,$(sw_sign "$1" "$now" "$T/sw.json")" \
        --data-binary @"$T/sw.json"
}
svix msg_a
is "$STATUS" 202 "a Svix-signed request runs"
first=$(jq_get .data.execution_id)
svix msg_a
is "$STATUS" 200 "the same svix-id again is a duplicate"
is "$(jq_get .data.duplicate)" true "the answer says duplicate"
is "$(jq_get .data.id)" "$first" "and names the first execution"
svix msg_b
is "$STATUS" 202 "another svix-id runs"

# ---- refused requests spend no rate budget ----
head -c 2048 /dev/zero | tr '\0' a > "$T/big"
req POST /hooks/open -H 'Expect:' -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
is "$STATUS" 413 "a chunked body over max_body: 413"
req POST /hooks/open -H 'Expect:' --data-binary @"$T/big"
is "$STATUS" 413 "the same body with Content-Length: 413"
req POST /hooks/open -H 'Content-Type: application/json' -d '{"a":'
is "$STATUS" 400 "a malformed body: 400"
req POST /hooks/open -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' -d '{"a":'
is "$STATUS" 400 "a malformed chunked body: 400"
req POST /hooks/open -d ok
is "$STATUS" 200 "the first admitted request still has the whole budget"
req POST /hooks/open -d ok
is "$STATUS" 429 "the next one finds it spent"
req POST /hooks/header -H "X-Token: $HEADER_KEY" -H 'Expect:' -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/big"
is "$STATUS" 413 "a key in a header and a chunked body over max_body: 413"
# Refused for its framing, before routing takes the key out of the path.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST %s/lock/%s HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n' \
    "$K" "$KESTRA_KEY" >&3
framed=$(timeout 5 cat <&3)
exec 3<&-
like "$framed" '^HTTP/1.1 400' "a Kestra key in a request refused for its framing: 400"
printf 'POST /t/%s HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n' \
    "$CAP_TOKEN" > "$T/raw.req"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
cat "$T/raw.req" >&3
framed=$(timeout 5 cat <&3)
exec 3<&-
like "$framed" '^HTTP/1.1 400' "a capability URL refused for its framing: 400"

# ---- nothing secret in any line of the log ----
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced exits 0"
like "$(cat "$T/sluiced.log")" 'refused POST /api/v1/executions/webhook/n/far/\[redacted\]' \
    "the refusal by allow_ips is logged, with the key redacted"
like "$(cat "$T/sluiced.log")" 'refused POST /api/v1/executions/webhook/n/lock/\[redacted\].*429' \
    "the refusal by the failure limit is logged, with the key redacted"
for s in "$KESTRA_KEY" "$QUERY_KEY" "$HEADER_KEY" "$BODY_KEY" "$GH_SECRET" "$ADMIN_TOKEN" \
    "$SW_RAW" "$SW_SECRET" "$CAP_TOKEN" BODY-SECRET; do
    n=$(grep -cF -- "$s" "$T/sluiced.log")
    is "$n" 0 "no log line holds ${s:0:12}..."
    [ "$n" -eq 0 ] || grep -F -- "$s" "$T/sluiced.log" | head -3 | sed 's/^/#   /'
done

done_testing
