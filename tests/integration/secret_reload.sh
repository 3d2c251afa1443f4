#!/usr/bin/env bash
# The headers triggers read keys from are secret on every trigger of the
# configuration that names them, and only while it serves: a reload that
# drops such a trigger lets the header through again, one that adds it
# redacts it again.
. "$SRCDIR/tests/integration/lib.sh"

KEY=deploy-key-0001-aaaa
# conf WITH_GUARD: the open trigger, and with 1 the guarded one that reads
# its key from X-Deploy-Key.
conf() {
    local guard=""
    [ "$1" = 1 ] && guard='{ id = "guarded"; flows = ["event"]; mode = "sync";
    auth = { keys = ["'"$KEY"'"]; key_in = ["header:X-Deploy-Key"]; }; },'
    write_config <<EOF2
$SERVER_BLOCK
flows = ( { id = "event"; executor = "shell";
            config = { argv = ["/bin/cat"]; stdin = "event"; }; } );
triggers = ( $guard
  { id = "open"; flows = ["event"]; mode = "sync"; } );
EOF2
}
# deploy_header: what the open trigger's flow sees of X-Deploy-Key.
deploy_header() {
    req POST /hooks/open -H "X-Deploy-Key: not-a-key-0002" -d x
    jq_get .data.stdout | jq -r '.headers["x-deploy-key"]'
}
# reload_to WITH_GUARD: rewrite the file and wait for the reload to serve it.
reload_to() {
    local before
    before=$(grep -c "reload: now serving" "$T/sluiced.log")
    conf "$1"
    kill -HUP "$SLUICE_PID"
    wait_for "reload" 10 sh -c "[ \$(grep -c 'reload: now serving' '$T/sluiced.log') -gt $before ]"
}

conf 1
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
req POST /hooks/guarded -H "X-Deploy-Key: $KEY" -d x
is "$STATUS" 200 "the guarded trigger takes its key from X-Deploy-Key"
is "$(jq_get .data.stdout | jq -r '.headers["x-deploy-key"]')" "[redacted]" \
    "the key header is redacted in its event"
is "$(deploy_header)" "[redacted]" "and on every other trigger of the configuration"

check "a reload drops the guarded trigger" reload_to 0
req POST /hooks/guarded -d x
is "$STATUS" 404 "the guarded trigger is gone"
is "$(deploy_header)" "not-a-key-0002" \
    "the header is no longer secret once no trigger reads a key from it"

check "a reload brings the guarded trigger back" reload_to 1
is "$(deploy_header)" "[redacted]" "and the header is secret again"
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced exits 0 on SIGTERM"
done_testing
