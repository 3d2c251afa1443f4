#!/usr/bin/env bash
# The http executor over TLS: a receiver with a self-signed certificate the
# test makes with the openssl CLI. Verification is on by default, so only a
# flow whose ca_file holds that certificate (or that says insecure = true)
# gets through; a wrong CA and a name mismatch are refused.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/integration/http_forward_lib.sh"

if ! command -v openssl >/dev/null 2>&1; then
    skip "TLS forwarding" "no openssl CLI"; echo "1..$TAP_N"; exit 0
fi
mkcert() { # NAME SAN
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout "$T/$1.key" -out "$T/$1.pem" -subj "/CN=sluice test $1" \
        -addext "subjectAltName=$2" 2>"$T/openssl.err"
}
mkcert good IP:127.0.0.1 && mkcert other IP:127.0.0.1 && mkcert wrongname DNS:other.example ||
    { fail "openssl makes certificates"; sed 's/^/#   /' "$T/openssl.err"; done_testing; exit 1; }

start_receiver tls -c "$T/good.pem" -k "$T/good.key"; rc=$?
if [ "$rc" = 77 ]; then
    skip "TLS forwarding" "libmicrohttpd was built without TLS"; echo "1..$TAP_N"; exit 0
fi
[ "$rc" = 0 ] || { fail "TLS receiver starts"; done_testing; exit 1; }
start_receiver misnamed -c "$T/wrongname.pem" -k "$T/wrongname.key" ||
    { fail "second TLS receiver starts"; done_testing; exit 1; }
U="https://127.0.0.1:$(rport tls)"
M="https://127.0.0.1:$(rport misnamed)"
A='allow_hosts = ["127.0.0.1"];'

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; };
flows = (
  { id = "ca"; executor = "http"; config = { url = "$U/ca"; $A ca_file = "$T/good.pem"; }; },
  { id = "default"; executor = "http"; config = { url = "$U/default"; $A }; },
  { id = "wrongca"; executor = "http";
    config = { url = "$U/wrongca"; $A ca_file = "$T/other.pem"; }; },
  { id = "insecure"; executor = "http"; config = { url = "$U/insecure"; $A insecure = true; }; },
  { id = "misnamed"; executor = "http";
    config = { url = "$M/x"; $A ca_file = "$T/wrongname.pem"; }; },
  { id = "misnamed-insecure"; executor = "http"; config = { url = "$M/y"; $A insecure = true; }; }
);
triggers = (
  { id = "ca"; flows = ["ca"]; mode = "sync"; },
  { id = "default"; flows = ["default"]; mode = "sync"; },
  { id = "wrongca"; flows = ["wrongca"]; mode = "sync"; },
  { id = "insecure"; flows = ["insecure"]; mode = "sync"; },
  { id = "misnamed"; flows = ["misnamed"]; mode = "sync"; },
  { id = "misnamed-insecure"; flows = ["misnamed-insecure"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

req POST /hooks/ca -H 'Content-Type: application/json' -d '{"over":"tls"}'
is "$STATUS" 200 "ca_file: the self-signed certificate is trusted"
is "$(rbody "$(rlast tls /ca)" | jq -r .body.over)" tls "ca_file: the event arrived over TLS"

req POST /hooks/default -d x
is "$STATUS" 500 "default: verification is on, an unknown CA fails"
like "$(jq_get .data.error)" 'certificate' "default: the error is about the certificate"
like "$(jq_get .data.error)" 'set ca_file' "default: and says what to do"
is "$(rcount tls /default)" 0 "default: no request was sent"

req POST /hooks/wrongca -d x
is "$STATUS" 500 "wrong CA: another self-signed certificate does not vouch for this one"
is "$(rcount tls /wrongca)" 0 "wrong CA: no request was sent"

req POST /hooks/insecure -d x
is "$STATUS" 200 "insecure = true: verification off, the forward succeeds"
is "$(rcount tls /insecure)" 1 "insecure: the request arrived"

req POST /hooks/misnamed -d x
is "$STATUS" 500 "name check: a trusted certificate for another name is refused"
like "$(jq_get .data.error)" '127\.0\.0\.1|name|subject' "name check: the error names the mismatch"
req POST /hooks/misnamed-insecure -d x
is "$STATUS" 200 "name check: insecure also skips the name"

done_testing
