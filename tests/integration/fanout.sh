#!/usr/bin/env bash
# A trigger fans out to many flows: every execution the request created
# runs, however many there are (70 here, more than any small fixed array).
. "$SRCDIR/tests/integration/lib.sh"

N=70
{
    echo "$SERVER_BLOCK"
    echo "flows = ("
    for i in $(seq "$N"); do
        sep=","; [ "$i" = "$N" ] && sep=""
        echo "  { id = \"f$i\"; executor = \"shell\"; config = { argv = [\"/bin/sh\", \"-c\", \"echo $i >> $T/ran\"]; stdin = \"none\"; }; }$sep"
    done
    echo ");"
    printf 'triggers = ( { id = "all"; flows = ['
    for i in $(seq "$N"); do printf '"f%s"%s' "$i" "$([ "$i" = "$N" ] || echo ,)"; done
    echo ']; } );'
} | write_config
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

req POST /hooks/all -H 'Content-Type: application/json' -d '{}'
is "$STATUS" 202 "accepted"
is "$(jq_get '.data.executions | length')" "$N" "one execution per flow"
ids=$(jq_get '.data.executions[].execution_id')
ran() { [ "$(wc -l < "$T/ran")" -ge "$N" ]; }
check "all $N commands run" wait_for "$N lines in the marker file" 30 ran
is "$(sort -n "$T/ran" | uniq | wc -l | tr -d ' ')" "$N" "each flow's command ran"
done_state() {
    for id in $ids; do
        [ "$(exec_state "$id")" = succeeded ] || return 1
    done
}
# Polled only once every command ran: 70 look-ups a round.
if ran; then
    check "every execution succeeds" wait_for "every execution succeeded" 10 done_state
else
    fail "every execution succeeds"
fi
is "$(wc -l < "$T/ran" | tr -d ' ')" "$N" "...each once"
done_testing
