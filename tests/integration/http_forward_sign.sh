#!/usr/bin/env bash
# Signed forwards, verified two ways. First by a second sluiced (B) whose
# triggers check Standard Webhooks, GitHub and generic signatures the way
# they check any sender's: sluiced A forwards to B, and B answers 2xx only
# when the signature is right. Then by the test itself, which recomputes
# every signature with the openssl CLI from what a receiver recorded (the
# headers and the exact body bytes). Secrets reach A and B through @env and
# @file. A retry is signed again with a fresh timestamp and the same id.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/integration/http_forward_lib.sh"

start_receiver up -r '/sw-retry=503,200' || { fail "receiver starts"; done_testing; exit 1; }
U="http://127.0.0.1:$(rport up)"
A='allow_hosts = ["127.0.0.1"];'

KEY_HEX=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SW_SECRET="whsec_$(printf '%s' "$KEY_HEX" | xxd -r -p | base64 -w0)"
export GH_SECRET="gh-$$-It's a secret"
printf 'generic secret %s\n' "$$" > "$T/generic.secret"   # @file trims the newline
GEN_SECRET="generic secret $$"

# ---- sluiced B: verifies, then runs a trivial flow ----
cat > "$T/b.conf" <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; };
flows = ( { id = "ok"; executor = "shell";
            config = { argv = ["/bin/true"]; stdin = "none"; }; } );
triggers = (
  { id = "sw-in"; flows = ["ok"]; mode = "sync";
    auth = { hmac = { preset = "standard-webhooks"; secrets = ["@env:SW_SECRET"]; }; }; },
  { id = "gh-in"; flows = ["ok"]; mode = "sync";
    auth = { hmac = { preset = "github"; secrets = ["@env:GH_SECRET"]; }; }; },
  { id = "gen-in"; flows = ["ok"]; mode = "sync";
    auth = { hmac = { header = "X-Signature"; prefix = "v1="; encoding = "base64";
                      algorithm = "sha512"; template = "{timestamp}.{body}";
                      timestamp_header = "X-Timestamp"; secrets = ["@file:generic.secret"]; }; }; }
);
EOF2
: > "$T/b.log"
# Its own state directory: the default one may be held by any other sluiced
# on this machine (its lock refuses a second one).
"$SLUICED" -c "$T/b.conf" --store "$T/b.db" --state-dir "$T/b-state" 2>>"$T/b.log" &
B_PID=$!
RECEIVER_PIDS="$RECEIVER_PIDS $B_PID"   # stopped by PID at exit like the receivers
B_PORT=
for _ in $(seq 200); do
    B_PORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\)$/\1/p' "$T/b.log" | tail -1)
    [ -n "$B_PORT" ] && grep -q "ready:" "$T/b.log" && break
    B_PORT=
    kill -0 "$B_PID" 2>/dev/null || break
    sleep 0.05
done
[ -n "$B_PORT" ] || { fail "sluiced B starts"; sed 's/^/#   /' "$T/b.log"; done_testing; exit 1; }
B="http://127.0.0.1:$B_PORT/hooks"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; };
flows = (
  { id = "sw"; executor = "http";
    config = { url = "$U/sw"; $A
               sign = { preset = "standard-webhooks"; secret = "@env:SW_SECRET"; }; }; },
  { id = "sw-retry"; executor = "http";
    config = { url = "$U/sw-retry"; $A retry = { max = 2; backoff = "1100ms"; };
               sign = { preset = "standard-webhooks"; secret = "@env:SW_SECRET"; }; }; },
  { id = "gh"; executor = "http";
    config = { url = "$U/gh"; $A body = "body";
               sign = { preset = "github"; secret = "@env:GH_SECRET"; }; }; },
  { id = "gen"; executor = "http";
    config = { url = "$U/gen"; $A body = { msg = "{body.msg}"; };
               sign = { preset = "generic"; secret = "@file:generic.secret";
                        header = "X-Signature";
                        prefix = "v1="; encoding = "base64"; algorithm = "sha512";
                        template = "{timestamp}.{body}"; timestamp_header = "X-Timestamp"; }; }; },
  { id = "to-b-sw"; executor = "http";
    config = { url = "$B/sw-in"; $A
               sign = { preset = "standard-webhooks"; secret = "@env:SW_SECRET"; }; }; },
  { id = "to-b-gh"; executor = "http";
    config = { url = "$B/gh-in"; $A
               sign = { preset = "github"; secret = "@env:GH_SECRET"; }; }; },
  { id = "to-b-gen"; executor = "http";
    config = { url = "$B/gen-in"; $A
               sign = { preset = "generic"; secret = "@file:generic.secret";
                        header = "X-Signature";
                        prefix = "v1="; encoding = "base64"; algorithm = "sha512";
                        template = "{timestamp}.{body}"; timestamp_header = "X-Timestamp";
               }; }; },
  { id = "to-b-wrong"; executor = "http";
    config = { url = "$B/gh-in"; $A
               sign = { preset = "github"; secret = "not the secret"; }; }; },
  { id = "to-b-unsigned"; executor = "http"; config = { url = "$B/sw-in"; $A }; }
);
triggers = (
  { id = "to-b-sw"; flows = ["to-b-sw"]; mode = "sync"; },
  { id = "to-b-gh"; flows = ["to-b-gh"]; mode = "sync"; },
  { id = "to-b-gen"; flows = ["to-b-gen"]; mode = "sync"; },
  { id = "to-b-wrong"; flows = ["to-b-wrong"]; mode = "sync"; },
  { id = "to-b-unsigned"; flows = ["to-b-unsigned"]; mode = "sync"; },
  { id = "sw"; flows = ["sw"]; mode = "sync"; },
  { id = "sw-retry"; flows = ["sw-retry"]; mode = "sync"; },
  { id = "gh"; flows = ["gh"]; mode = "sync"; },
  { id = "gen"; flows = ["gen"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

hdr() { printf '%s' "$1" | jq -r --arg h "$2" '.headers[$h] // empty'; }

# ---- A -> B: B checks the signatures as it checks any sender's ----
for scheme in sw gh gen; do
    req POST "/hooks/to-b-$scheme" -H 'Content-Type: application/json' -d '{"n":1,"s":"é \"q\""}'
    is "$STATUS" 200 "round trip $scheme: A's forward succeeds"
    is "$(jq_get .data.outputs.status)" 200 "round trip $scheme: B verified the signature (200)"
    is "$(jq_get .data.outputs.body.data.state)" succeeded "round trip $scheme: B ran its flow"
done
req POST /hooks/to-b-wrong -d '{}'
is "$(jq_get .data.outputs.status)" 403 "round trip: a wrong secret is refused by B (403)"
like "$(jq_get .data.error)" 'answered 403' "round trip: and A's execution fails"
req POST /hooks/to-b-unsigned -d '{}'
is "$(jq_get .data.outputs.status)" 401 "round trip: no signature at all is refused by B (401)"

# Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" with the decoded key.
sw_expected() { # RECORDED-REQUEST
    { printf '%s.%s.' "$(hdr "$1" webhook-id)" "$(hdr "$1" webhook-timestamp)"; rbody "$1"; } |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY_HEX" -binary | base64 -w0
}

body=$(jq -cn '{event: "push", text: "sign me \"exactly\" é"}')
req POST /hooks/sw -H 'Content-Type: application/json' -d "$body"
is "$STATUS" 200 "standard-webhooks: the forward succeeds"
id=$(jq_get .data.id)
got=$(rlast up /sw)
is "$(hdr "$got" webhook-id)" "$id" "standard-webhooks: webhook-id is the execution id"
ts=$(hdr "$got" webhook-timestamp)
now=$(date +%s)
check "standard-webhooks: webhook-timestamp is now ($ts)" \
    [ "$ts" -ge $((now - 60)) -a "$ts" -le $((now + 5)) ]
is "$(hdr "$got" webhook-signature)" "v1,$(sw_expected "$got")" \
    "standard-webhooks: v1 signature verifies (openssl)"
is "$(rbody "$got" | jq -r .execution_id)" "$id" "standard-webhooks: over the bytes that were sent"

req POST /hooks/sw-retry -d x
is "$STATUS" 200 "standard-webhooks retry: 503 then 200"
r1=$(rnth up /sw-retry 1); r2=$(rnth up /sw-retry 2)
is "$(hdr "$r1" webhook-id)" "$(hdr "$r2" webhook-id)" "retry: the same webhook-id both times"
check "retry: a fresh timestamp" \
    [ "$(hdr "$r2" webhook-timestamp)" -gt "$(hdr "$r1" webhook-timestamp)" ]
is "$(hdr "$r1" webhook-signature)" "v1,$(sw_expected "$r1")" "retry: the first attempt verifies"
is "$(hdr "$r2" webhook-signature)" "v1,$(sw_expected "$r2")" "retry: the second attempt verifies"

# GitHub: X-Hub-Signature-256 = sha256=hex(HMAC-SHA256(secret, body)).
req POST /hooks/gh -H 'Content-Type: application/json' -d '{"ref":"refs/heads/main", "n": 1}'
is "$STATUS" 200 "github: the forward succeeds"
got=$(rlast up /gh)
want=$(rbody "$got" | openssl dgst -sha256 -hmac "$GH_SECRET" -r | cut -d' ' -f1)
is "$(hdr "$got" x-hub-signature-256)" "sha256=$want" "github: X-Hub-Signature-256 verifies"
is "$(rbody "$got")" '{"ref":"refs/heads/main", "n": 1}' \
    "github: over the body as the sender sent it"

# Generic: X-Signature = v1=base64(HMAC-SHA512(secret, "timestamp.body")).
req POST /hooks/gen -H 'Content-Type: application/json' -d '{"msg":"hi"}'
is "$STATUS" 200 "generic: the forward succeeds"
got=$(rlast up /gen)
want=$({ printf '%s.' "$(hdr "$got" x-timestamp)"; rbody "$got"; } |
    openssl dgst -sha512 -hmac "$GEN_SECRET" -binary | base64 -w0)
is "$(hdr "$got" x-signature)" "v1=$want" "generic: the signature verifies (@file secret)"
is "$(rbody "$got")" '{"msg":"hi"}' "generic: over the templated body"
check "generic: a wrong secret would not verify" [ "$(hdr "$got" x-signature)" != "v1=$({
    printf '%s.' "$(hdr "$got" x-timestamp)"; rbody "$got"; } |
    openssl dgst -sha512 -hmac "wrong" -binary | base64 -w0)" ]

kill -TERM "$B_PID"; wait "$B_PID"; b_rc=$?
is "$b_rc" 0 "sluiced B exits 0 on SIGTERM"
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/b.log"; then
    fail "sluiced B ran clean under the sanitizers"
    grep -E -A20 'Sanitizer|runtime error' "$T/b.log" | head -40 | sed 's/^/#   /'
else
    ok "no sanitizer report in sluiced B's log"
fi
done_testing
