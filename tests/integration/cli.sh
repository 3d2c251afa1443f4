#!/usr/bin/env bash
# The command line: help, version, check-config, errors with file:line.
. "$SRCDIR/tests/integration/lib.sh"

out=$("$SLUICED" --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" '--check-config' "--help documents --check-config"
like "$out" 'SLUICE_PLUGIN_PATH' "--help documents the environment"
out=$("$SLUICED" --version); rc=$?
is "$rc" 0 "--version exits 0"
like "$out" '^sluiced [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI 1\.1\)$' "--version names the ABI"
"$SLUICED" --frobnicate >/dev/null 2>&1; rc=$?
is "$rc" 2 "an unknown option exits 2"

write_config <<EOF2
$SERVER_BLOCK
flows: { include = "flows.d/*.conf"; };
EOF2
mkdir -p "$T/flows.d"
cat > "$T/flows.d/a.conf" <<'EOF2'
flows = ( { id = "a"; executor = "shell"; config = { argv = ["/bin/true"]; }; } );
EOF2
cat > "$T/flows.d/b.conf" <<'EOF2'
triggers = ( { id = "a"; flows = ["a"]; } );
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1); rc=$?
is "$rc" 0 "--check-config: a valid config exits 0"
like "$out" 'is valid: 1 flows, 1 triggers' "--check-config counts flows and triggers"

cat > "$T/flows.d/c.conf" <<'EOF2'
flows = (
  { id = "c"; executor = "nosuch"; }
);
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1); rc=$?
is "$rc" 1 "--check-config: unknown executor exits 1"
like "$out" 'flows\.d/c\.conf:2: flow "c": executor "nosuch": unknown executor' \
    "unknown executor names file:line"
rm "$T/flows.d/c.conf"

cat > "$T/flows.d/d.conf" <<'EOF2'
triggers = ( { id = "d"; flows = ["ghost"]; } );
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
like "$out" 'flows\.d/d\.conf:1: trigger "d": flows: unknown flow "ghost"' \
    "a trigger naming an unknown flow names file:line"
rm "$T/flows.d/d.conf"

cat > "$T/flows.d/e.conf" <<'EOF2'
triggers = ( { id = "e"; flows = ["a"]; path = "/hooks/a"; } );
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
like "$out" 'duplicate route.*trigger "a"' "a duplicate route names both triggers"
rm "$T/flows.d/e.conf"

cat > "$T/flows.d/f.conf" <<'EOF2'
flows = ( { id = "f"; executor = "shell"; timeout = "5 minutes"; config = { argv = ["/bin/true"]; }; } );
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
like "$out" 'flows\.d/f\.conf:1: flow "f"\.timeout: bad duration' "a bad duration names file:line"
rm "$T/flows.d/f.conf"

cat > "$T/flows.d/g.conf" <<'EOF2'
flows = ( { id = "g"; executor = "shell"; config = { argv = ["/bin/true"]; argvv = 1; }; } );
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
like "$out" 'flows\.d/g\.conf:1: flow "g".*argvv' "the executor rejects an unknown setting with file:line"
rm "$T/flows.d/g.conf"

cat > "$T/flows.d/h.conf" <<'EOF2'
flows = ( { id = "h"; executor = ; } );
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
like "$out" 'flows\.d/h\.conf:1: syntax error' "a syntax error names file:line"
rm "$T/flows.d/h.conf"

cat > "$T/flows.d/i.conf" <<'EOF2'
flows = ( { id = "i"; executor = "shell"; config = { argv = ["/bin/true"]; env = { K = "@env:SLUICE_TEST_UNSET_VAR"; }; }; } );
EOF2
out=$("$SLUICED" -c "$T/sluice.conf" --check-config 2>&1)
like "$out" 'flows\.d/i\.conf:1: .*SLUICE_TEST_UNSET_VAR is not set' "a missing @env secret names file:line"
rm "$T/flows.d/i.conf"

out=$("$SLUICED" -c "$T/missing.conf" --check-config 2>&1); rc=$?
is "$rc" 1 "a missing config file exits 1"
like "$out" 'missing\.conf: cannot read' "a missing config file is named"

"$SLUICED" -c "$SRCDIR/flows/sluice.conf" --check-config >/dev/null 2>&1; rc=$?
is "$rc" 0 "the shipped sample configuration is valid"

done_testing
