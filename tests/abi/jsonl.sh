#!/usr/bin/env bash
# The jsonl example executor (sdk/examples/jsonl) in a real sluiced: one
# JSON line per event, next to another flow of the same trigger (fan-out),
# rotation by size, a bad path refused at start with file:line, a SIGHUP
# reload that keeps appending to the same file; and sluice_json_event reads
# every event sluiced builds (a NUL in a text body, numbers jansson cannot
# hold).
. "$SRCDIR/tests/integration/lib.sh"

mkdir -p "$T/audit" "$T/flows.d"
write_config <<EOF2
$SERVER_BLOCK
flows: { include = "flows.d/*.conf"; };
EOF2
cat > "$T/flows.d/audit.conf" <<EOF2
flows = (
  { id = "audit"; executor = "jsonl";
    config = { path = "$T/audit/events.jsonl"; max_size = "1K"; keep = 2;
               fields = ["trigger", "flow", "body", "query.n"]; }; },
  { id = "work"; executor = "c99"; }
);
triggers = (
  { id = "deploy"; flows = ["audit", "work"]; mode = "sync"; }
);
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
is "$?" 0 "a jsonl flow passes --check-config"

cat > "$T/flows.d/bad.conf" <<EOF2
flows = (
  { id = "bad"; executor = "jsonl";
    config = { path = "$T/no-such-dir/x.jsonl"; }; }
);
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
is "$?" 1 "an unwritable path fails --check-config"
like "$out" "flows\\.d/bad\\.conf:2: flow \"bad\": cannot open $T/no-such-dir/x\\.jsonl: No such file or directory" \
    "...naming file:line and the reason"
rm "$T/flows.d/bad.conf"

start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
req POST '/hooks/deploy?n=1' -H 'Content-Type: application/json' -d '{"ref":"main"}'
is "$STATUS" 200 "fan-out to jsonl and another flow"
is "$(jq_get '.data.executions | length')" 2 "two executions"
is "$(jq_get '[.data.executions[] | select(.flow == "audit") | .outputs.rotated][0]')" false \
    "jsonl outputs say where and whether it rotated"
line=$(head -1 "$T/audit/events.jsonl")
is "$line" '{"trigger":"deploy","flow":"audit","body":{"ref":"main"},"query.n":["1"]}' \
    "the selected fields, one compact line"

# Each line is about 100 bytes: 30 events pass 1K several times.
for i in $(seq 2 30); do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"ref\":\"r$i\",\"pad\":\"$(printf '%040d' "$i")\"}" "$BASE/hooks/deploy?n=$i"
done
check "rotated into events.jsonl.1" test -s "$T/audit/events.jsonl.1"
check "and events.jsonl.2" test -s "$T/audit/events.jsonl.2"
check "keep = 2: no events.jsonl.3" test ! -e "$T/audit/events.jsonl.3"
big=0
for f in "$T"/audit/events.jsonl*; do [ "$(stat -c %s "$f")" -le 1024 ] || big=1; done
is "$big" 0 "no file passes max_size"
bad=0
cat "$T"/audit/events.jsonl* | while IFS= read -r l; do
    printf '%s' "$l" | jq -e . >/dev/null 2>&1 || echo bad
done | grep -q bad && bad=1
is "$bad" 0 "every line is a JSON document"
is "$(tail -1 "$T/audit/events.jsonl" | jq -r .body.ref)" r30 "the newest event is last in the current file"
check "rotation is logged" grep -q 'plugin jsonl exec=.*: rotated .*/events\.jsonl' "$T/sluiced.log"

# Reload: the new configuration names the same file while the old one may
# still be running; both share one open file.
before=$(cat "$T"/audit/events.jsonl* | wc -l)
sed -i 's/max_size = "1K"/max_size = "2K"/' "$T/flows.d/audit.conf"
kill -HUP "$SLUICE_PID"
check "reload applied" wait_for "reload" 10 grep -q 'reload: now serving' "$T/sluiced.log"
req POST '/hooks/deploy?n=31' -H 'Content-Type: application/json' -d '{"ref":"after-reload"}'
is "$STATUS" 200 "writes after a reload"
is "$(tail -1 "$T/audit/events.jsonl" | jq -r .body.ref)" after-reload "the line lands in the same file"
is "$(cat "$T"/audit/events.jsonl* | wc -l)" $((before + 1)) "nothing lost or duplicated across the reload"

# Events the SDK's sluice_json_event must read as sluiced built them.
audit_state() { jq_get '[.data.executions[] | select(.flow == "audit") | .state][0]'; }
printf 'x\0y' > "$T/nul.txt"
req POST '/hooks/deploy?n=32' -H 'Content-Type: text/plain' --data-binary @"$T/nul.txt"
is "$(audit_state)" succeeded "a text body with a NUL: sluice_json_event reads the event"
is "$(tail -1 "$T/audit/events.jsonl" | jq -c .body)" '"x\u0000y"' "...with the NUL in the body"
req POST '/hooks/deploy?n=33' -H 'Content-Type: application/json' \
    --data-binary '{"id":18446744073709551615,"x":1.0e400,"k\u0000":1}'
is "$(audit_state)" succeeded "numbers jansson cannot hold: sluice_json_event reads the event"
is "$(tail -1 "$T/audit/events.jsonl" | jq -c .body)" \
    "{\"id\":\"18446744073709551615\",\"x\":\"1.0e400\",\"k$(printf '\357\277\275')\":1}" \
    "...as their exact text, a NUL in a key as U+FFFD"

done_testing
