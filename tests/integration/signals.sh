#!/usr/bin/env bash
# SIGHUP reload (a bad file keeps the old config) and SIGTERM drain.
. "$SRCDIR/tests/integration/lib.sh"

conf_v1() {
write_config <<EOF2
$SERVER_BLOCK
flows = ( { id = "one"; executor = "shell"; config = { argv = ["/bin/echo", "v1"]; }; },
          { id = "slow"; executor = "shell";
            config = { argv = ["/bin/sh", "-c", "sleep 1; echo done >> $T/drained"]; }; } );
triggers = ( { id = "one"; flows = ["one"]; mode = "sync"; },
             { id = "slow"; flows = ["slow"]; } );
EOF2
}
conf_v1
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

req POST /hooks/one -d x
is "$STATUS" 200 "v1 serves /hooks/one"
req POST /hooks/two -d x
is "$STATUS" 404 "v1 has no /hooks/two"

cat >> "$T/sluice.conf" <<'EOF2'
EOF2
sed -i 's#triggers = ( { id = "one"; flows = \["one"\]; mode = "sync"; },#triggers = ( { id = "one"; flows = ["one"]; mode = "sync"; }, { id = "two"; flows = ["one"]; mode = "sync"; },#' "$T/sluice.conf"
kill -HUP "$SLUICE_PID"
check "SIGHUP reloads" wait_for "reload" 10 grep -q "reload: now serving" "$T/sluiced.log"
req POST /hooks/two -d x
is "$STATUS" 200 "after reload /hooks/two answers"

# Settings read once at start are not silently ignored by a reload.
sed -i 's/workers = 2;/workers = 3;/' "$T/sluice.conf"
kill -HUP "$SLUICE_PID"
check "a reload says what only a restart applies" wait_for "start-only warning" 10 \
    grep -q "reload: server.workers changed; it takes effect when sluiced restarts" "$T/sluiced.log"

# A typo: the reload must be refused and the running config kept.
sed -i 's/executor = "shell"; config = { argv = \["\/bin\/echo"/executer = "shell"; config = { argv = ["\/bin\/echo"/' "$T/sluice.conf"
kill -HUP "$SLUICE_PID"
check "a bad reload is rejected" wait_for "rejected" 10 \
    grep -q "the new configuration is invalid" "$T/sluiced.log"
like "$(grep 'config:' "$T/sluiced.log" | tail -1)" 'sluice\.conf:[0-9]+: flow: unknown setting "executer"' \
    "the rejection names file:line and the setting"
req POST /hooks/two -d x
is "$STATUS" 200 "the old configuration keeps serving"

req POST /hooks/slow -d x
is "$STATUS" 202 "slow flow accepted"
sleep 0.2
stop_sluiced TERM
is "$SLUICE_RC" 0 "SIGTERM exits 0"
check "the running execution finished before exit" grep -q done "$T/drained"
like "$(cat "$T/sluiced.log")" 'SIGTERM: draining' "the drain is logged"
done_testing
