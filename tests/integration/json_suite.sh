#!/usr/bin/env bash
# Every parsing case of JSONTestSuite (tests/data/JSONTestSuite) as the body
# of a request to a JSON trigger: each y_ file (valid RFC 8259 JSON) is
# accepted, each n_ file is a 400 in the error envelope, each i_ file (the
# RFC leaves it open) gets an answer below 500; and the daemon serves on.
# Duplicate keys are valid JSON, so the suite runs with
# json_duplicate_keys = "accept"; the default refuses exactly those y_ cases.
. "$SRCDIR/tests/integration/lib.sh"

SUITE=$SRCDIR/tests/data/JSONTestSuite/test_parsing
write_config <<EOF2
$SERVER_BLOCK
flows = ( { id = "none"; executor = "shell"; config = { argv = ["/bin/true"]; stdin = "none"; }; } );
triggers = ( { id = "j"; flows = ["none"]; json_duplicate_keys = "accept"; },
             { id = "strict"; flows = ["none"]; } );
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

n=$(ls "$SUITE" | wc -l)
check "the suite is there ($n cases)" test "$n" -ge 300

# post FILE: STATUS and BODY of a JSON request with FILE as its body.
post() { req POST /hooks/j -H 'Content-Type: application/json' --data-binary @"$1"; }

for f in "$SUITE"/y_*.json; do
    post "$f"
    is "$STATUS" 202 "$(basename "$f"): accepted"
done
for f in "$SUITE"/n_*.json; do
    post "$f"
    if [ "$STATUS" = 400 ] && [ "$(jq_get .error.code)" = bad_request ]; then
        ok "$(basename "$f"): 400 bad_request"
    else
        fail "$(basename "$f"): 400 bad_request"
        diag "got $STATUS: $BODY"
    fi
done
for f in "$SUITE"/i_*.json; do
    post "$f"
    if [ "$STATUS" -ge 200 ] 2>/dev/null && [ "$STATUS" -lt 500 ]; then
        ok "$(basename "$f"): answered $STATUS"
    else
        fail "$(basename "$f"): answered below 500"
        diag "got $STATUS: $BODY"
    fi
done

# The default: a repeated key is refused, saying why; nothing else is.
for f in "$SUITE"/y_*.json; do
    req POST /hooks/strict -H 'Content-Type: application/json' --data-binary @"$f"
    case $(basename "$f") in
    y_object_duplicated_key*)
        if [ "$STATUS" = 400 ] && jq_get .error.message | grep -q 'duplicate key'; then
            ok "default trigger: $(basename "$f"): 400, a duplicate key"
        else
            fail "default trigger: $(basename "$f"): 400, a duplicate key"
            diag "got $STATUS: $BODY"
        fi ;;
    *) [ "$STATUS" = 202 ] || { fail "default trigger: $(basename "$f") accepted"; diag "$BODY"; } ;;
    esac
done

req GET /healthz
is "$STATUS" 200 "the daemon still serves"
check "and is still running" kill -0 "$SLUICE_PID"

done_testing
