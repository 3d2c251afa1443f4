#!/usr/bin/env bash
# The git executor through the daemon, on real repositories made here with
# the git command (a test-only dependency; sluiced uses libgit2) and
# fetched over file://: new commits, fetch policies, pinned refs, the
# commit in outputs and environment, path confinement, precise failures,
# fetch failures, and executions running while the mirror is fetched. The
# commit and the ref are also the execution's meta (issue #8).
. "$SRCDIR/tests/integration/lib.sh"

if ! command -v git >/dev/null 2>&1; then
    skip "git executor" "the git command is needed to make test repositories"
    echo "1..$TAP_N"
    exit 0
fi
export GIT_AUTHOR_NAME=sluice-test GIT_AUTHOR_EMAIL=test@sluice.invalid
export GIT_COMMITTER_NAME=sluice-test GIT_COMMITTER_EMAIL=test@sluice.invalid
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
# The plugin's default cache: $SLUICE_STATE_DIR/git.
export SLUICE_STATE_DIR="$T/state"

# mkrepo NAME: a bare "remote" $T/NAME.git and a working clone $T/NAME.
mkrepo() {
    git init -q --bare -b main "$T/$1.git"
    git init -q -b main "$T/$1"
    git -C "$T/$1" remote add origin "$T/$1.git"
}
# publish NAME MESSAGE: commit everything, push, print the new SHA.
publish() {
    git -C "$T/$1" add -A
    git -C "$T/$1" commit -qm "$2"
    git -C "$T/$1" push -q --tags origin HEAD:main
    git -C "$T/$1" rev-parse HEAD
}
# run TRIGGER [BODY]: a sync request; sets STATUS, BODY; OUT is stdout.
run() {
    local id
    req POST "/hooks/$1" -H 'Content-Type: application/json' -d "${2:-{\}}"
    id=$(jq_get .data.id)
    OUT=$(curl -s "$BASE/api/v1/executions/$id" | jq -r .data.stdout)
}

# ---- the repository: scripts, a tag, links that try to leave ----
mkrepo ops
R="$T/ops"
mkdir -p "$R/bin" "$R/sub"
cat > "$R/bin/run.sh" <<'EOS'
#!/bin/sh
echo "version=$(cat "$SLUICE_GIT_DIR/VERSION") arg=$1 commit=$SLUICE_GIT_COMMIT ref=$SLUICE_GIT_REF"
echo "pwd=$PWD"
echo "version=$(cat "$SLUICE_GIT_DIR/VERSION")" > "$SLUICE_OUTPUT"
EOS
cat > "$R/bin/slow.sh" <<'EOS'
#!/bin/sh
# Reads a file of its checkout, sleeps while newer commits are fetched,
# reads it again: a fetch must never change files under a running script.
a=$(cat "$SLUICE_GIT_DIR/VERSION"); sleep 2; b=$(cat "$SLUICE_GIT_DIR/VERSION")
echo "before=$a after=$b commit=$SLUICE_GIT_COMMIT"
test -f "$0"
EOS
printf '#!/bin/sh\nsleep 30\n' > "$R/bin/sleep.sh"
printf 'echo "plain $SLUICE_GIT_COMMIT"\n' > "$R/plain.sh"
chmod +x "$R/bin/run.sh" "$R/bin/slow.sh" "$R/bin/sleep.sh"
echo 1 > "$R/VERSION"
echo here > "$R/sub/file"
ln -s /etc/passwd "$R/evil.sh"
ln -s /etc "$R/etc"
ln -s ../../../../../../../../../../../../.. "$R/up"
ln -s bin/run.sh "$R/inside.sh"
SHA1=$(publish ops one)
git -C "$R" tag v1
git -C "$R" push -q origin v1
echo 2 > "$R/VERSION"
SHA2=$(publish ops two)

# A second repository for the fetch-failure cases, moved away later.
mkrepo gone
mkdir -p "$T/gone/bin"
cp "$R/bin/run.sh" "$T/gone/bin/run.sh"
echo gone-1 > "$T/gone/VERSION"
GONE1=$(publish gone one)

# A heavy repository, so that fetching it takes a while.
mkrepo big
mkdir -p "$T/big/bin"
cp "$R/bin/run.sh" "$T/big/bin/run.sh"
echo big > "$T/big/VERSION"
head -c 24000000 /dev/urandom > "$T/big/blob"
BIG1=$(publish big one)

U="file://$R.git"
write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; workers = 8; shutdown_timeout = "10s"; };
flows = (
  { id = "always"; executor = "git";
    config = { url = "$U"; ref = "main"; script = "bin/run.sh"; argv = ["{body.name}"];
               cache_dir = "$T/cache-always"; }; },
  { id = "interval"; executor = "git";
    config = { url = "$U"; ref = "main"; script = "bin/run.sh"; fetch = "interval";
               fetch_interval = "2s"; cache_dir = "$T/cache-interval"; }; },
  { id = "never"; executor = "git";
    config = { url = "$U"; ref = "main"; script = "bin/run.sh"; fetch = "never";
               cache_dir = "$T/cache-never"; }; },
  { id = "tag"; executor = "git"; config = { url = "$U"; ref = "v1"; script = "bin/run.sh"; }; },
  { id = "pinned"; executor = "git"; config = { url = "$U"; ref = "$SHA1"; script = "bin/run.sh"; }; },
  { id = "short"; executor = "git";
    config = { url = "$U"; ref = "${SHA1:0:10}"; script = "bin/run.sh"; }; },
  { id = "fullref"; executor = "git";
    config = { url = "$U"; ref = "refs/tags/v1"; script = "bin/run.sh"; }; },
  { id = "interp"; executor = "git";
    config = { url = "$U"; ref = "main"; script = "plain.sh"; interpreter = ["/bin/sh"]; }; },
  { id = "noexec"; executor = "git"; config = { url = "$U"; ref = "main"; script = "plain.sh"; }; },
  { id = "cwd"; executor = "git";
    config = { url = "$U"; ref = "main"; script = "bin/run.sh"; cwd = "sub"; }; },
  { id = "inside"; executor = "git"; config = { url = "$U"; ref = "main"; script = "inside.sh"; }; },
  { id = "evil"; executor = "git"; config = { url = "$U"; ref = "main"; script = "evil.sh"; }; },
  { id = "etcdir"; executor = "git"; config = { url = "$U"; ref = "main"; script = "etc/passwd"; }; },
  { id = "up"; executor = "git"; config = { url = "$U"; ref = "main"; script = "up/etc/passwd"; }; },
  { id = "cwdesc"; executor = "git";
    config = { url = "$U"; ref = "main"; script = "bin/run.sh"; cwd = "etc"; }; },
  { id = "missing"; executor = "git"; config = { url = "$U"; ref = "main"; script = "nope.sh"; }; },
  { id = "noref"; executor = "git";
    config = { url = "$U"; ref = "no-such-branch"; script = "bin/run.sh"; }; },
  { id = "gone"; executor = "git";
    config = { url = "file://$T/gone.git"; ref = "main"; script = "bin/run.sh"; }; },
  { id = "nothing"; executor = "git";
    config = { url = "file://$T/nothing.git"; ref = "main"; script = "bin/run.sh"; }; },
  { id = "slow"; executor = "git"; config = { url = "$U"; ref = "main"; script = "bin/slow.sh"; }; },
  { id = "sleep"; executor = "git"; timeout = "1s";
    config = { url = "$U"; ref = "main"; script = "bin/sleep.sh"; kill_grace = "200ms"; }; },
  { id = "big"; executor = "git";
    config = { url = "file://$T/big.git"; ref = "main"; script = "bin/run.sh"; }; }
);
triggers = (
  { id = "always"; flows = ["always"]; mode = "sync"; }, { id = "interval"; flows = ["interval"]; mode = "sync"; },
  { id = "never"; flows = ["never"]; mode = "sync"; }, { id = "tag"; flows = ["tag"]; mode = "sync"; },
  { id = "pinned"; flows = ["pinned"]; mode = "sync"; }, { id = "short"; flows = ["short"]; mode = "sync"; },
  { id = "fullref"; flows = ["fullref"]; mode = "sync"; }, { id = "interp"; flows = ["interp"]; mode = "sync"; },
  { id = "noexec"; flows = ["noexec"]; mode = "sync"; }, { id = "cwd"; flows = ["cwd"]; mode = "sync"; },
  { id = "inside"; flows = ["inside"]; mode = "sync"; }, { id = "evil"; flows = ["evil"]; mode = "sync"; },
  { id = "etcdir"; flows = ["etcdir"]; mode = "sync"; }, { id = "up"; flows = ["up"]; mode = "sync"; },
  { id = "cwdesc"; flows = ["cwdesc"]; mode = "sync"; }, { id = "missing"; flows = ["missing"]; mode = "sync"; },
  { id = "noref"; flows = ["noref"]; mode = "sync"; }, { id = "gone"; flows = ["gone"]; mode = "sync"; },
  { id = "nothing"; flows = ["nothing"]; mode = "sync"; }, { id = "slow"; flows = ["slow"]; },
  { id = "sleep"; flows = ["sleep"]; mode = "sync"; }, { id = "big"; flows = ["big"]; }
);
EOF2

# ---- configure validates without touching the network or the repository ----
out=$("$SLUICED" --check-config -c "$T/sluice.conf" 2>&1)
is "$?" 0 "--check-config accepts git flows without fetching anything"
check "--check-config created no mirror" [ ! -e "$T/state/git" ]

check_refused() { # DESCRIPTION CONFIG-GROUP REGEX
    local d=$1 group=$2 re=$3
    printf '%s\nflows = ( { id = "x"; executor = "git"; config = { %s }; } );\n' \
        "$SERVER_BLOCK" "$group" > "$T/bad.conf"
    out=$("$SLUICED" --check-config -c "$T/bad.conf" 2>&1)
    local rc=$?
    if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -Eq -- "$re"; then ok "$d"
    else fail "$d"; diag "rc=$rc" "$out"; fi
}
check_refused "a script with .. is refused at configure" \
    "url = \"$U\"; ref = \"main\"; script = \"../outside.sh\";" \
    'bad\.conf:2: flow "x": git: script "\.\./outside\.sh" leads out of the repository'
check_refused "a script hidden behind bin/../.. is refused" \
    "url = \"$U\"; ref = \"main\"; script = \"bin/../../x\";" 'leads out of the repository'
check_refused "an absolute script is refused" \
    "url = \"$U\"; ref = \"main\"; script = \"/etc/passwd\";" 'script "/etc/passwd" is an absolute path'
check_refused "a cwd with .. is refused" \
    "url = \"$U\"; ref = \"main\"; script = \"a.sh\"; cwd = \"..\";" 'cwd "\.\." leads out'
check_refused "plain http:// is refused" \
    "url = \"http://127.0.0.1/x.git\"; ref = \"main\"; script = \"a.sh\";" 'use file://, https:// or ssh://'
check_refused "ssh:// needs known_hosts" \
    "url = \"ssh://git@127.0.0.1/x.git\"; ref = \"main\"; script = \"a.sh\";" 'needs known_hosts'
check_refused "a token over ssh is refused" \
    "url = \"ssh://git@127.0.0.1/x.git\"; ref = \"main\"; script = \"a.sh\"; token = \"t\"; known_hosts = \"x\";" \
    'token is for https:// URLs only'
check_refused "a bad ref is refused" \
    "url = \"$U\"; ref = \"main~1\"; script = \"a.sh\";" 'ref "main~1" is not a valid'
check_refused "unknown settings are refused" \
    "url = \"$U\"; ref = \"main\"; script = \"a.sh\"; fetchh = \"never\";" 'unknown setting "fetchh"'
check_refused "a bad fetch policy is refused" \
    "url = \"$U\"; ref = \"main\"; script = \"a.sh\"; fetch = \"sometimes\";" 'fetch must be "always", "interval" or "never"'
check_refused "shell settings are checked as the shell executor checks them, renumbered" \
    "url = \"$U\"; ref = \"main\"; script = \"a.sh\"; argv = [\"ok\", \"{nosuchroot.x}\"];" \
    'git: argv\[1\]: '
check_refused "SLUICE_ variables stay reserved" \
    "url = \"$U\"; ref = \"main\"; script = \"a.sh\"; env = { SLUICE_GIT_COMMIT = \"x\"; };" 'reserved'

start_sluiced -v || { fail "sluiced starts"; done_testing; exit 1; }

# ---- a new commit changes what runs; the commit is exported and recorded ----
run always '{"name":"world"}'
is "$STATUS" 200 "the git flow runs"
like "$OUT" "^version=2 arg=world commit=$SHA2 ref=main" \
    "the script sees its argument, SLUICE_GIT_COMMIT and SLUICE_GIT_REF"
is "$(jq_get .data.outputs.git.commit)" "$SHA2" "outputs.git.commit is the commit that ran"
is "$(jq_get .data.outputs.git.ref)" main "outputs.git.ref is the configured ref"
is "$(jq_get .data.outputs.git.ref_kind)" branch "outputs.git.ref_kind says it was a branch"
is "$(jq_get '.data.meta["git.commit"]')" "$SHA2" "meta git.commit is the commit that ran"
is "$(jq_get '.data.meta["git.ref"]')" main "meta git.ref is the configured ref"
is "$(jq_get '.data.meta | keys | join(" ")')" "git.commit git.ref" "meta holds just those two"
doc=$(curl -s "$BASE/api/v1/executions/$(jq_get .data.id)")
is "$(printf '%s' "$doc" | jq -c .data.meta)" "{\"git.commit\":\"$SHA2\",\"git.ref\":\"main\"}" \
    "GET /api/v1/executions/{id} shows them, from the store"
is "$(jq_get .data.outputs.version)" 2 "the script's own outputs are kept"
like "$OUT" "pwd=$T/cache-always/ops-[0-9a-f]{12}\.wt/$SHA2" "the script runs in the checkout of its commit"
wt=$(ls -d "$T"/cache-always/ops-*.wt/"$SHA2")
# No write bit anywhere; the read and execute bits follow the umask.
is "$(find "$wt/VERSION" "$wt/bin/run.sh" -perm /222 | wc -l)/$(find "$wt/bin/run.sh" -perm -100 | wc -l)" \
    0/1 "the checkout is read-only (the script still executable)"
check "the mirror is a bare repository in cache_dir" test -f "$(ls -d "$T"/cache-always/ops-*.git)/HEAD"

echo 3 > "$R/VERSION"
SHA3=$(publish ops three)
run always '{"name":"again"}'
like "$OUT" "^version=3 arg=again commit=$SHA3" "after a push the next execution runs the new commit"
is "$(jq_get .data.outputs.git.commit)" "$SHA3" "and records it"
is "$(ls "$T"/cache-always/ops-*.wt/ | tr '\n' ' ')" "$SHA3 " \
    "the checkout of the old commit was collected"

# ---- fetch policies ----
run interval
like "$OUT" "^version=3 " "interval: the first execution fetches"
echo 4 > "$R/VERSION"
SHA4=$(publish ops four)
run interval
like "$OUT" "^version=3 commit=|^version=3 " "interval: within fetch_interval the mirror is not fetched"
sleep 2.2
run interval
like "$OUT" "^version=4 .*commit=$SHA4" "interval: past fetch_interval the new commit runs"

run never
like "$OUT" "^version=4 " "never: the first execution creates the mirror"
echo 5 > "$R/VERSION"
SHA5=$(publish ops five)
run never
like "$OUT" "^version=4 .*commit=$SHA4" "never: a new commit is not fetched"
run always
like "$OUT" "^version=5 .*commit=$SHA5" "always: the same push is seen at once"

# ---- pinned refs ----
run tag
like "$OUT" "^version=1 .*commit=$SHA1 ref=v1" "a tag runs its commit"
is "$(jq_get .data.outputs.git.ref_kind)" tag "ref_kind: tag"
is "$(jq_get '.data.meta["git.ref"]') $(jq_get '.data.meta["git.commit"]')" "v1 $SHA1" \
    "meta: the tag and the commit it names"
run pinned
like "$OUT" "^version=1 .*commit=$SHA1" "a pinned commit runs that commit after newer pushes"
is "$(jq_get .data.outputs.git.ref_kind)" commit "ref_kind: commit"
run short
like "$OUT" "^version=1 .*commit=$SHA1" "an abbreviated commit resolves"
run fullref
like "$OUT" "^version=1 .*commit=$SHA1" "a full ref name (refs/tags/v1) resolves"

# ---- how the script runs ----
run interp
like "$OUT" "^plain $SHA5" "interpreter runs a script that is not executable"
run noexec
is "$(jq_get .data.state)" failed "without interpreter a non-executable script fails"
like "$(jq_get .data.error)" 'script "plain.sh" is not executable at commit [0-9a-f]{40}' \
    "and says so"
run cwd
like "$OUT" "pwd=.*/$SHA5/sub$" "cwd is a directory inside the checkout"
run inside
like "$OUT" "^version=5 " "a symbolic link that stays inside the repository is followed"
start=$(date +%s)
run sleep
is "$(jq_get .data.state)" timed_out "the flow timeout stops the script (process group killed)"
check "promptly" [ $(($(date +%s) - start)) -lt 10 ]

# ---- escapes, missing scripts and refs: failed executions, precise messages ----
run evil
is "$(jq_get .data.state)" failed "a script that is a link to /etc/passwd fails"
like "$(jq_get .data.error)" 'script "evil.sh" resolves to /etc/passwd, outside the repository' \
    "the link out of the repository is refused by name"
is "$(jq_get .data.exit_code)" null "and nothing was run"
run etcdir
like "$(jq_get .data.error)" 'script "etc/passwd" resolves to /etc/passwd, outside the repository' \
    "a path through a directory link to /etc is refused"
run up
like "$(jq_get .data.error)" 'script "up/etc/passwd" resolves to /etc/passwd, outside' \
    "a relative link climbing out with ../.. is refused"
run cwdesc
like "$(jq_get .data.error)" 'cwd "etc" resolves to /etc, outside the repository' \
    "a cwd through a link out of the repository is refused"
run missing
is "$(jq_get .data.state)" failed "a missing script fails the execution"
like "$(jq_get .data.error)" "script \"nope.sh\" does not exist at commit $SHA5 \(branch \"main\"\) of file://$R.git" \
    "naming the script, the commit, the ref and the repository"
is "$(jq_get .data.outputs.git.commit)" "$SHA5" "a failed execution still records its commit"
is "$(jq_get '.data.meta["git.commit"]')" "$SHA5" "...also as meta"
run noref
is "$(jq_get .data.state)" failed "a missing ref fails the execution"
like "$(jq_get .data.error)" "ref \"no-such-branch\" not found in file://$R.git .*branches: main" \
    "naming the ref and the branches there are"
is "$(jq_get '.data.meta | length')" 0 "an unresolved ref records no commit"
check "sluiced is still up" kill -0 "$SLUICE_PID"

# ---- fetch failures ----
run gone
like "$OUT" "^version=gone-1 .*commit=$GONE1" "a second repository runs"
mv "$T/gone.git" "$T/gone-moved.git"
run gone
is "$(jq_get .data.state)" succeeded "when the fetch fails the last good commit runs"
like "$OUT" "commit=$GONE1" "the last good commit"
like "$(jq_get .data.outputs.git.warning)" "the fetch from file://$T/gone.git failed \(.+\); running commit $GONE1" \
    "a warning is recorded in the outputs"
like "$(grep 'fetch from file://.*gone.git failed' "$T/sluiced.log" | tail -1)" 'warn' \
    "and logged as a warning"
run nothing
is "$(jq_get .data.state)" failed "a repository never fetched fails the execution"
like "$(jq_get .data.error)" "no commit was ever fetched from file://$T/nothing.git: .+" \
    "with libgit2's error text"

# ---- executions running while the mirror is fetched ----
req POST /hooks/slow -d '{}'
slow=$(jq_get .data.execution_id)
sleep 0.7
echo 6 > "$R/VERSION"
SHA6=$(publish ops six)
run always
like "$OUT" "^version=6 .*commit=$SHA6" "a new commit is fetched and runs while an older one runs"
check "the slow execution finished" wait_for slow 20 sh -c "[ \"\$(curl -s $BASE/api/v1/executions/$slow | jq -r .data.state)\" = succeeded ]"
out=$(curl -s "$BASE/api/v1/executions/$slow" | jq -r .data.stdout)
like "$out" "^before=5 after=5 commit=$SHA5" "the running script's files did not change under it"

# Many executions of one flow arrive while its (slow, 24 MB) first fetch
# runs; meanwhile another repository's flow must not wait for it.
ids=
for i in 1 2 3 4 5 6; do
    req POST /hooks/big -d '{}'
    ids="$ids $(jq_get .data.execution_id)"
done
run always
always_end=$(jq_get .data.finished_at)
is "$STATUS" 200 "another repository's flow runs while the big one is fetched"
for id in $ids; do
    wait_for "big $id" 60 sh -c "curl -s $BASE/api/v1/executions/$id | jq -e '.data.state == \"succeeded\" or .data.state == \"failed\"' >/dev/null"
done
states=$(for id in $ids; do curl -s "$BASE/api/v1/executions/$id" | jq -r .data.state; done | sort -u | tr '\n' ' ')
is "$states" "succeeded " "all six executions of the big flow succeed"
commits=$(for id in $ids; do curl -s "$BASE/api/v1/executions/$id" | jq -r .data.outputs.git.commit; done | sort -u | tr '\n' ' ')
is "$commits" "$BIG1 " "all of them ran the same commit"
fetches=$(grep -c "fetch from file://$T/big.git done" "$T/sluiced.log")
check "they shared fetches instead of fetching one mirror at once ($fetches fetches for 6)" \
    test "$fetches" -ge 1 -a "$fetches" -lt 6
big_first=$(for id in $ids; do curl -s "$BASE/api/v1/executions/$id" | jq -r .data.finished_at; done | sort | head -1)
check "the other flow finished first ($always_end < $big_first): a slow fetch blocks no other repository" \
    test "$always_end" "<" "$big_first"
is "$(ls "$T"/state/git/ | grep -c '^big-.*\.wt$')" 1 "the default cache is \$SLUICE_STATE_DIR/git"

done_testing
