#!/usr/bin/env bash
# Flow definitions kept in a git repository (flows.git): loaded from the
# branch's commit, each flow showing its commit; new commits picked up by
# polling and by POST /api/v1/reload; a broken commit rejected as a whole
# (logged with file:line and SHA, reported on /readyz and GET
# /api/v1/flows) while the previous configuration keeps answering.
. "$SRCDIR/tests/integration/lib.sh"

if ! command -v git >/dev/null 2>&1; then
    skip "flows.git" "the git command is needed to make test repositories"
    echo "1..$TAP_N"
    exit 0
fi
export GIT_AUTHOR_NAME=sluice-test GIT_AUTHOR_EMAIL=test@sluice.invalid
export GIT_COMMITTER_NAME=sluice-test GIT_COMMITTER_EMAIL=test@sluice.invalid
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

git init -q --bare -b main "$T/flows.git"
git init -q -b main "$T/flows"
git -C "$T/flows" remote add origin "$T/flows.git"
mkdir -p "$T/flows/flows.d"
# publish MESSAGE: commit the working tree, push it, print the new SHA.
publish() {
    git -C "$T/flows" add -A
    git -C "$T/flows" commit -qm "$1"
    git -C "$T/flows" push -q origin HEAD:main
    git -C "$T/flows" rev-parse HEAD
}
# hello VERSION: the flow file of the repository, answering VERSION.
hello() {
    cat > "$T/flows/flows.d/hello.conf" <<EOF2
flows = ( { id = "hello"; executor = "shell";
            config = { script = "echo version=$1 > \"\$SLUICE_OUTPUT\""; }; } );
triggers = ( { id = "hello"; flows = ["hello"]; mode = "sync"; } );
EOF2
}
# version: what /hooks/hello answers now.
version() {
    req POST /hooks/hello -d x
    jq_get .data.outputs.version
}
version_is() { [ "$(version)" = "$1" ]; }
main_config() { # POLL
    write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 2; shutdown_timeout = "10s"; state_dir = "state"; };
flows: { git = { url = "file://$T/flows.git"; branch = "main"; dir = "flows.d"; poll = "$1"; }; };
EOF2
}

hello 1
C1=$(publish one)
main_config 1s

out=$("$SLUICED" --check-config -c "$T/sluice.conf" 2>&1)
is "$?" 0 "--check-config fetches and validates the repository's flows"
like "$out" "is valid: 1 flows, 1 triggers" "one flow and one trigger from git"

start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
is "$(version)" 1 "the flow from the repository answers"
req GET /api/v1/flows
is "$(jq_get '.data[] | select(.id == "hello") | .commit')" "$C1" "GET /api/v1/flows shows the commit of each flow"
like "$(jq_get '.data[] | select(.id == "hello") | .source')" "/flows-git/flows-[0-9a-f]{12}\.co/$C1/flows.d/hello.conf:1$" \
    "and its source file:line inside that commit's checkout"
is "$(jq_get .error)" null "no rejected commit"
req GET /readyz
is "$(jq_get .data.flows_git.commit)" "$C1" "/readyz reports the commit serving"
is "$(jq_get .data.flows_git.last_rejected)" null "and no rejected commit"
check "the mirror and the checkout live under server.state_dir" \
    test -d "$(ls -d "$T"/state/flows-git/flows-*.co/"$C1")"
like "$(cat "/proc/$SLUICE_PID/maps")" '/gitsync\.so' "flows.git loaded the module gitsync.so"

# ---- a broken commit is rejected; the old configuration keeps answering ----
hello 2
sed -i 's/executor = "shell"/executer = "shell"/' "$T/flows/flows.d/hello.conf"
C2=$(publish broken)
check "polling finds the broken commit" wait_for "rejection" 15 \
    grep -q "flows.git: commit $C2 rejected" "$T/sluiced.log"
like "$(grep "flows.git: commit $C2 rejected" "$T/sluiced.log")" \
    "still serving commit $C1: .*/$C2/flows.d/hello.conf:1: flow: unknown setting \"executer\"" \
    "the rejection is logged with the SHA and file:line"
is "$(version)" 1 "the previous configuration keeps answering"
req GET /readyz
is "$STATUS" 200 "/readyz stays ready"
is "$(jq_get .data.flows_git.last_rejected.commit)" "$C2" "/readyz names the rejected commit"
like "$(jq_get .data.flows_git.last_rejected.error)" 'hello\.conf:1: flow: unknown setting "executer"' \
    "with the file:line error"
is "$(jq_get .data.flows_git.commit)" "$C1" "and the commit still serving"
req GET /api/v1/flows
is "$(jq_get .error.code)" commit_rejected "GET /api/v1/flows reports the rejection"
like "$(jq_get .error.message)" "commit $C2 was rejected \(still serving $C1\): .*hello\.conf:1" \
    "with the SHA and file:line"
is "$(jq_get '.data[] | select(.id == "hello") | .commit')" "$C1" "while listing the flows serving"
sleep 2.5
is "$(grep -c "moved to commit $C2" "$T/sluiced.log")" 1 "a rejected commit is not reloaded again at every poll"

# ---- a good commit is picked up by polling ----
hello 3
cat > "$T/flows/flows.d/second.conf" <<'EOF2'
flows = ( { id = "second"; executor = "shell"; config = { argv = ["/bin/true"]; }; } );
triggers = ( { id = "second"; flows = ["second"]; mode = "sync"; } );
EOF2
C3=$(publish three)
check "polling loads the next good commit" wait_for "version 3" 15 version_is 3
req POST /hooks/second -d x
is "$STATUS" 200 "a flow added by the commit answers"
req GET /api/v1/flows
is "$(jq_get '[.data[].commit] | unique | join(",")')" "$C3" "every flow shows the new commit"
is "$(jq_get .error)" null "the rejection is history once a newer commit serves"
req GET /readyz
is "$(jq_get .data.flows_git.last_rejected)" null "/readyz clears it too"
check "the previous checkouts were removed" \
    test "$(ls "$T"/state/flows-git/flows-*.co/)" = "$C3"

# ---- without polling, POST /api/v1/reload fetches ----
main_config 0
kill -HUP "$SLUICE_PID"
check "SIGHUP re-reads the main file (poll = 0)" wait_for "reload" 10 \
    sh -c "[ \$(grep -c 'reload: now serving' '$T/sluiced.log') -ge 2 ]"
hello 4
C4=$(publish four)
sleep 2
is "$(version)" 3 "with poll = 0 a push is not picked up by itself"
req POST /api/v1/reload
is "$STATUS" 200 "POST /api/v1/reload answers once the reload is done"
is "$(version)" 4 "POST /api/v1/reload fetched and loaded the new commit"
req GET /readyz
is "$(jq_get .data.flows_git.commit)" "$C4" "/readyz shows it"

# ---- the git server is down: reloads keep working from the mirror ----
mv "$T/flows.git" "$T/flows-away.git"
n=$(grep -c 'reload: now serving' "$T/sluiced.log")
req POST /api/v1/reload
check "a reload with the repository unreachable still succeeds" wait_for "reload" 10 \
    sh -c "[ \$(grep -c 'reload: now serving' '$T/sluiced.log') -gt $n ]"
like "$(grep 'flows.git: fetching' "$T/sluiced.log" | tail -1)" "warn .*fetching file://$T/flows.git failed" \
    "the failed fetch is logged as a warning"
like "$(grep 'fetched earlier' "$T/sluiced.log" | tail -1)" "using commit $C4" "and the cached commit is used"
is "$(version)" 4 "still serving"
req GET /readyz
like "$(jq_get .data.flows_git.fetch_error)" '.+' "/readyz reports the fetch error"
mv "$T/flows-away.git" "$T/flows.git"

# ---- a commit whose flow an executor refuses (bind) is rejected too ----
cat > "$T/flows/flows.d/second.conf" <<'EOF2'
flows = ( { id = "second"; executor = "shell"; config = { argv = ["{body.program}"]; }; } );
EOF2
C5=$(publish bad-argv)
req POST /api/v1/reload
is "$STATUS" 422 "a rejected commit answers 422"
like "$(jq_get .error.message)" "/$C5/flows.d/second.conf:1: flow \"second\"" \
    "with the file:line of the refused flow"
check "an executor's refusal rejects the commit" wait_for "rejection" 10 \
    grep -q "flows.git: commit $C5 rejected" "$T/sluiced.log"
like "$(grep "flows.git: commit $C5 rejected" "$T/sluiced.log")" "/$C5/flows.d/second.conf:1: flow \"second\": .*argv\[0\]" \
    "naming the file:line of the refused flow"
is "$(version)" 4 "the previous configuration keeps answering"

# ---- a commit without the flow directory is rejected ----
git -C "$T/flows" rm -rq flows.d
C6=$(publish no-dir)
req POST /api/v1/reload
check "a commit without flows.d is rejected" wait_for "rejection" 10 \
    grep -q "flows.git: commit $C6 rejected.*commit $C6 has no directory \"flows.d\"" "$T/sluiced.log"
is "$(version)" 4 "the previous configuration keeps answering"

# ---- starting on a broken commit fails, naming it ----
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced exits 0 on SIGTERM"
out=$("$SLUICED" --check-config -c "$T/sluice.conf" 2>&1)
is "$?" 1 "--check-config refuses the broken branch head"
like "$out" "flows.git: commit $C6 rejected" "naming the commit"
mkdir -p "$T/flows/flows.d"
hello 7
C7=$(publish seven)
start_sluiced || { fail "sluiced restarts"; done_testing; exit 1; }
is "$(version)" 7 "a restart loads the fixed branch"

# ---- the fetch happens before parsing, where the store's state dir is known ----
out=$("$SLUICED" --check-config -c "$T/sluice.conf" --state-dir "$T/other" 2>&1)
is "$?" 0 "--check-config with --state-dir"
check "the mirror lives under --state-dir, which wins over server.state_dir" \
    test -d "$(ls -d "$T"/other/flows-git/flows-*.co/"$C7")"
cat > "$T/nogit.conf" <<EOF2
server: { listen = ["127.0.0.1:0"]; state_dir = "state"; };
flows: { git = { url = "file://$T/nowhere.git"; poll = "0"; }; };
EOF2
out=$("$SLUICED" --check-config -c "$T/nogit.conf" 2>&1)
is "$?" 1 "--check-config refuses a repository never fetched"
like "$out" "$T/nogit.conf:2: flows.git: cannot fetch file://$T/nowhere.git" \
    "naming the file:line of flows.git"
done_testing
