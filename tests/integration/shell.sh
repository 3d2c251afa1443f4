#!/usr/bin/env bash
# The shell executor through the daemon: no shell injection, timeouts that
# kill the whole process group, bounded output, exit codes, outputs.
. "$SRCDIR/tests/integration/lib.sh"

cat > "$T/args.sh" <<'EOS'
#!/bin/sh
# One line per argument, so splitting or interpretation would show.
for a in "$@"; do printf '[%s]\n' "$a"; done
EOS
chmod +x "$T/args.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 4; };
flows = (
  { id = "args"; executor = "shell";
    config = { argv = ["$T/args.sh", "{body.a}", "{query.q}", "--x={body.a}"]; stdin = "none"; }; },
  { id = "script"; executor = "shell";
    config = { script = "printf '%s' \"\$VALUE\" > $T/script-out; cat > $T/script-stdin";
               env = { VALUE = "{body.a}"; }; stdin = "body"; }; },
  { id = "env"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "echo fn=\$SLUICE_FUNCTION; echo id=\$SLUICE_EXECUTION_ID; cat \$SLUICE_EVENT > $T/event.json"]; }; },
  { id = "timeout"; executor = "shell"; timeout = "1s";
    config = { argv = ["/bin/sh", "-c", "sleep 30 & echo \$! > $T/grandchild; wait"]; kill_grace = "500ms"; }; },
  { id = "loud"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "head -c 3000000 /dev/zero | tr '\\\\0' x; echo; echo END"]; }; },
  { id = "exit"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "exit \$CODE"]; env = { CODE = "{body.code}"; }; }; },
  { id = "kv"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "printf 'a=1\\\\nb=two words\\\\n' > \$SLUICE_OUTPUT"]; }; },
  { id = "json"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "echo '{{\"n\": 42, \"list\": [1,2]}}' > \$SLUICE_OUTPUT"]; }; }
);
triggers = (
  { id = "args"; flows = ["args"]; mode = "sync"; },
  { id = "script"; flows = ["script"]; mode = "sync"; },
  { id = "env"; flows = ["env"]; mode = "sync"; },
  { id = "timeout"; flows = ["timeout"]; mode = "sync"; },
  { id = "loud"; flows = ["loud"]; mode = "sync"; },
  { id = "exit"; flows = ["exit"]; mode = "sync"; },
  { id = "kv"; flows = ["kv"]; mode = "sync"; },
  { id = "json"; flows = ["json"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

rm -f /tmp/sluice-pwned-$$
hostile="\$(touch /tmp/sluice-pwned-$$); rm -rf / \`touch /tmp/sluice-pwned-$$\` | & > * ' \""
body=$(jq -cn --arg a "$hostile" '{a: $a}')
req POST "/hooks/args?q=%3Becho%20hi%20%26%26%20id" -H 'Content-Type: application/json' -d "$body"
is "$STATUS" 200 "argv flow ran"
id=$(jq_get .data.id)
req GET "/api/v1/executions/$id"
out=$(jq_get .data.stdout)
is "$(printf '%s\n' "$out" | sed -n 1p)" "[$hostile]" "a hostile body value arrives as one literal argument"
is "$(printf '%s\n' "$out" | sed -n 2p)" "[;echo hi && id]" "a hostile query value arrives as one literal argument"
is "$(printf '%s\n' "$out" | sed -n 3p)" "[--x=$hostile]" "an embedded placeholder stays one argument"
is "$(printf '%s\n' "$out" | wc -l)" 3 "exactly three arguments, nothing split"
check "nothing was executed by a shell" [ ! -e /tmp/sluice-pwned-$$ ]

req POST /hooks/script -H 'Content-Type: application/json' -d "$body"
is "$STATUS" 200 "script flow ran"
is "$(cat "$T/script-out")" "$hostile" "script: the value arrives through the environment, verbatim"
is "$(cat "$T/script-stdin")" "$body" "script: stdin = body gives the raw body"
check "script: nothing was executed by a shell" [ ! -e /tmp/sluice-pwned-$$ ]

req POST '/hooks/env?function=main' -d x
id=$(jq_get .data.id)
req GET "/api/v1/executions/$id"
like "$(jq_get .data.stdout)" 'fn=main' "SLUICE_FUNCTION carries the function"
like "$(jq_get .data.stdout)" "id=$id" "SLUICE_EXECUTION_ID is the execution id"
is "$(jq -r .execution_id "$T/event.json")" "$id" "\$SLUICE_EVENT holds the event"
is "$(jq -r .function "$T/event.json")" main "the event names the function"

start=$(date +%s)
req POST /hooks/timeout -d x
end=$(date +%s)
is "$STATUS" 500 "a timed-out sync flow answers 500"
is "$(jq_get .data.state)" timed_out "state timed_out"
check "the timeout fired promptly ($((end - start)) s)" [ $((end - start)) -lt 10 ]
gc=$(cat "$T/grandchild")
check "the backgrounded grandchild ($gc) was killed with its group" \
    wait_for "grandchild gone" 5 sh -c "! kill -0 $gc 2>/dev/null"

req POST /hooks/loud -d x
is "$STATUS" 200 "a loud flow succeeds"
id=$(jq_get .data.id)
req GET "/api/v1/executions/$id"
stdout=$(jq_get .data.stdout)
like "$stdout" '\[\.\.\. [0-9]+ bytes dropped \.\.\.\]' "3 MB of output is truncated with a marker"
like "$stdout" 'END$' "the tail of the output is kept"
check "kept output is bounded (${#stdout} bytes)" [ "${#stdout}" -lt 80000 ]

req POST /hooks/exit -H 'Content-Type: application/json' -d '{"code": 7}'
is "$STATUS" 500 "a nonzero exit fails the flow"
is "$(jq_get .data.exit_code)" 7 "the exit code is recorded"
like "$(jq_get .data.error)" 'exit code 7' "the error names the exit code"
req POST /hooks/exit -H 'Content-Type: application/json' -d '{"code": 0}'
is "$(jq_get .data.exit_code)" 0 "exit 0 succeeds"

req POST /hooks/kv -d x
is "$(jq_get .data.outputs.a)" 1 "key=value outputs"
is "$(jq_get .data.outputs.b)" "two words" "key=value values keep spaces"
req POST /hooks/json -d x
is "$(jq_get .data.outputs.n)" 42 "JSON outputs"
is "$(jq_get '.data.outputs.list | length')" 2 "JSON outputs keep structure"

done_testing
