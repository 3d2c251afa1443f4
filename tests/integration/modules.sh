#!/usr/bin/env bash
# sluiced does not link libgit2: the libgit2 half of flows.git is the
# module gitsync.so, loaded only by a configuration with flows.git
# (core/conf/gitmod.h). Structural checks (what the binary needs, what a
# running sluiced maps), not sizes; and the errors when the module is
# missing or from another build.
. "$SRCDIR/tests/integration/lib.sh"

# ---- the binary ----
if command -v readelf >/dev/null 2>&1; then
    needed=$(readelf -d "$SLUICED" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    like "$needed" 'libmicrohttpd' "readelf -d lists sluiced's libraries"
    unlike "$needed" 'libgit2' "sluiced does not link libgit2 (readelf -d: $needed)"
else
    skip "readelf -d sluiced" "readelf is not installed"
fi
if command -v ldd >/dev/null 2>&1; then
    unlike "$(ldd "$SLUICED")" 'libgit2|libssh2|libmbedtls|libhttp_parser' \
        "nothing sluiced links pulls in libgit2 or its libraries (ldd)"
else
    skip "ldd sluiced" "ldd is not installed"
fi

# ---- a running sluiced without flows.git maps neither ----
write_config <<EOF2
$SERVER_BLOCK
flows = ( { id = "t"; executor = "shell"; config = { argv = ["/bin/true"]; }; } );
triggers = ( { id = "t"; flows = ["t"]; mode = "sync"; } );
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
req POST /hooks/t -d x
is "$STATUS" 200 "a shell flow runs"
maps=$(cat "/proc/$SLUICE_PID/maps")
like "$maps" '/libsqlite3\.so' "/proc/PID/maps lists what sluiced mapped"
unlike "$maps" 'libgit2|/gitsync\.so' "without flows.git, neither gitsync.so nor libgit2 is mapped"
kill -HUP "$SLUICE_PID"
check "a reload without flows.git" wait_for "reload" 10 grep -q 'reload: now serving' "$T/sluiced.log"
unlike "$(cat "/proc/$SLUICE_PID/maps")" 'libgit2|/gitsync\.so' "nor after a reload"
stop_sluiced TERM
is "$SLUICE_RC" 0 "sluiced exits 0 on SIGTERM"

# ---- flows.git: the module, or a clear error ----
write_config <<EOF2
$SERVER_BLOCK
flows: { git = { url = "file://$T/nowhere.git"; poll = "0"; }; };
EOF2
mkdir -p "$T/empty"
if [ -e "$SLUICE_TEST_MODULEDIR/gitsync.so" ]; then
    skip "a missing module is named" "a gitsync.so is installed in $SLUICE_TEST_MODULEDIR"
    skip "and --check-config fails" "a gitsync.so is installed in $SLUICE_TEST_MODULEDIR"
else
    out=$(SLUICE_MODULE_PATH=$T/empty "$SLUICED" -c "$T/sluice.conf" --state-dir "$T/state" \
        --check-config 2>&1); rc=$?
    is "$rc" 1 "--check-config fails when the flows.git module is missing"
    like "$out" "sluice\.conf:2: flows\.git: module gitsync\.so not found \(tried $T/empty/gitsync\.so, $SLUICE_TEST_MODULEDIR/gitsync\.so\)" \
        "naming every path where it looked, the installed one last"
fi
out=$(SLUICE_MODULE_PATH=$BUILDDIR/tests/modules/.libs "$SLUICED" -c "$T/sluice.conf" \
    --state-dir "$T/state" --check-config 2>&1); rc=$?
is "$rc" 1 "a module from another build is refused"
like "$out" "flows\.git: module $BUILDDIR/tests/modules/\.libs/gitsync\.so is from another build \(sluice 0\.0\.0-stale" \
    "naming the file and both versions"
out=$("$SLUICED" -c "$T/sluice.conf" --state-dir "$T/state" --check-config 2>&1); rc=$?
is "$rc" 1 "with the module, an unreachable repository fails --check-config"
like "$out" "flows\.git: cannot fetch file://$T/nowhere\.git: " \
    "with libgit2's error: the module was loaded and fetched"
done_testing
