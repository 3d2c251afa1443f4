#!/usr/bin/env bash
# The SSRF guard: loopback, private and link-local destinations are refused
# unless allow_hosts lists them, at configure time for a literal address
# and at connect time for wherever a name or a redirect leads.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/integration/http_forward_lib.sh"

# The redirect targets are refused before any connection, so their port
# does not matter; 9 (discard) has nobody listening on a test machine.
start_receiver up -r "/escape=302;location=http://127.0.0.2:9/inside" \
    -r "/meta=302;location=http://169.254.169.254/latest/meta-data" ||
    { fail "receiver starts"; done_testing; exit 1; }
P=$(rport up)

check_config() { # NAME URL EXTRA -> sets OUT, RC
    cat > "$T/$1.conf" <<EOF2
server: { listen = ["127.0.0.1:0"]; };
flows = ( { id = "$1"; executor = "http"; config = { url = "$2"; $3 }; } );
triggers = ( { id = "$1"; flows = ["$1"]; } );
EOF2
    OUT=$("$SLUICED" -t -c "$T/$1.conf" 2>&1); RC=$?
}

check_config loop "http://127.0.0.1:$P/x" ""
is "$RC" 1 "configure: 127.0.0.1 without allow_hosts is refused"
like "$OUT" 'flow "loop": http: url: refused by the SSRF guard: 127\.0\.0\.1 is a loopback '\
'address \(list it in allow_hosts' \
    "configure: the error says why and what to do"
check_config lh "http://localhost:$P/x" ""
like "$OUT" 'localhost -> 127\.0\.0\.1 is a loopback address' "configure: localhost is loopback"
check_config meta "http://169.254.169.254/latest/meta-data" ""
like "$OUT" 'is a link-local address' "configure: the metadata address is refused"
check_config v6 "http://[::1]:$P/x" 'allow_hosts = ["127.0.0.1"];'
like "$OUT" '::1 is a loopback address' "configure: allowing 127.0.0.1 does not allow ::1"
check_config ok "http://127.0.0.1:$P/x" 'allow_hosts = ["127.0.0.1"];'
is "$RC" 0 "configure: allow_hosts = [\"127.0.0.1\"] lets it through"
check_config open "http://127.0.0.1:$P/x" 'deny_private = false;'
is "$RC" 0 "configure: deny_private = false turns the guard off"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; };
flows = (
  { id = "escape"; executor = "http";
    config = { url = "http://127.0.0.1:$P/escape"; allow_hosts = ["127.0.0.1"];
               max_redirects = 3; }; },
  { id = "meta"; executor = "http";
    config = { url = "http://127.0.0.1:$P/meta"; allow_hosts = ["127.0.0.1"];
               max_redirects = 3; }; },
  { id = "escape-open"; executor = "http";
    config = { url = "http://127.0.0.1:$P/escape"; deny_private = false; max_redirects = 3;
               connect_timeout = "2s"; }; },
  { id = "cidr"; executor = "http";
    config = { url = "http://127.0.0.1:$P/ok"; allow_hosts = ["127.0.0.0/8"]; }; }
);
triggers = (
  { id = "escape"; flows = ["escape"]; mode = "sync"; },
  { id = "meta"; flows = ["meta"]; mode = "sync"; },
  { id = "escape-open"; flows = ["escape-open"]; mode = "sync"; },
  { id = "cidr"; flows = ["cidr"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

req POST /hooks/escape -d x
is "$STATUS" 500 "redirect: following a redirect to 127.0.0.2 is refused"
like "$(jq_get .data.error)" '^refused by the SSRF guard: 127\.0\.0\.2 is a loopback address' \
    "redirect: by the guard, at connect time"
is "$(rcount up /escape)" 1 "redirect: the allowed first hop was made"
is "$(rcount up /inside)" 0 "redirect: nothing reached the target"

req POST /hooks/meta -d x
is "$STATUS" 500 "redirect: a redirect to the cloud metadata address is refused"
like "$(jq_get .data.error)" '169\.254\.169\.254 is a link-local address' "redirect: link-local"

req POST /hooks/escape-open -d x
unlike "$(jq_get .data.error)" 'SSRF' "deny_private = false: the guard stays out of the way"

req POST /hooks/cidr -d x
is "$STATUS" 200 "allow_hosts: a CIDR block allows what it covers"

done_testing
