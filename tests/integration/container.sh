#!/usr/bin/env bash
# The container executor against a real engine: Podman's Docker-compatible
# service, started here on a private socket with private storage (so it
# neither sees nor touches any other container on the machine), and an
# image imported from a tar of busybox-static (no registry, no network).
# When no engine can run here, one clear skip line says why.
. "$SRCDIR/tests/integration/lib.sh"

PODMAN_PID=
SOCK="$T/podman.sock"
IMAGE=localhost/sluice-test:latest
ENGINE_FILTER='%7B%22label%22%3A%5B%22sluice.execution%22%5D%7D'

stop_podman() {
    if [ -n "$PODMAN_PID" ] && kill -0 "$PODMAN_PID" 2>/dev/null; then
        kill -TERM "$PODMAN_PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$PODMAN_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PODMAN_PID" 2>/dev/null
        wait "$PODMAN_PID" 2>/dev/null
    fi
    PODMAN_PID=
}
trap 'stop_podman; cleanup' EXIT

skip_all() {
    echo "1..0 # SKIP container executor: $1"
    exit 0
}

# api METHOD PATH [CURL ARGS...]: talk to the engine directly; sets STATUS, BODY.
api() {
    local method=$1 path=$2; shift 2
    STATUS=$(curl -sS --unix-socket "$SOCK" -o "$T/api-body" -w '%{http_code}' -X "$method" \
        --max-time 60 "$@" "http://localhost/v1.41$path") || STATUS=000
    BODY=$(cat "$T/api-body" 2>/dev/null)
}

# containers_of EXEC_ID: how many containers carry sluice.execution=EXEC_ID.
containers_of() {
    api GET "/containers/json?all=1&filters=$ENGINE_FILTER"
    printf '%s' "$BODY" | jq --arg id "$1" '[.[] | select(.Labels["sluice.execution"] == $id)] | length'
}
no_container_of() { [ "$(containers_of "$1")" = 0 ]; }
sluice_containers() {
    api GET "/containers/json?all=1&filters=$ENGINE_FILTER"
    printf '%s' "$BODY" | jq 'length'
}

# wait_exec ID [SECONDS]: poll until the execution is finished; sets BODY.
wait_exec() {
    local id=$1 secs=${2:-30} s
    for _ in $(seq $((secs * 10))); do
        req GET "/api/v1/executions/$id"
        s=$(jq_get .data.state)
        case $s in queued | running) sleep 0.1 ;; *) return 0 ;; esac
    done
    return 1
}

# ---- the engine -------------------------------------------------------------

command -v podman >/dev/null 2>&1 || skip_all "podman is not installed (apt-get install podman runc busybox-static)"
command -v runc >/dev/null 2>&1 || skip_all "runc is not installed (Debian's crun fails on this kind of host; apt-get install runc)"
BUSYBOX=$(command -v busybox 2>/dev/null || echo /bin/busybox)
[ -x "$BUSYBOX" ] || skip_all "busybox is not installed (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    skip_all "$BUSYBOX is dynamically linked; the test image needs busybox-static"
fi

# In its own directory: conmon writes files (oom) into its working
# directory, which under make is the build tree (distcheck then finds them).
mkdir -p "$T/podman/cwd"
(cd "$T/podman/cwd" &&
    exec podman --root "$T/podman/root" --runroot "$T/podman/run" --tmpdir "$T/podman/tmp" \
        --storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file \
        system service --time=0 "unix://$SOCK") >"$T/podman.log" 2>&1 &
PODMAN_PID=$!
for _ in $(seq 200); do
    [ -S "$SOCK" ] && curl -s --unix-socket "$SOCK" --max-time 2 http://localhost/_ping 2>/dev/null |
        grep -q OK && break
    kill -0 "$PODMAN_PID" 2>/dev/null || break
    sleep 0.1
done
if ! curl -s --unix-socket "$SOCK" --max-time 2 http://localhost/_ping 2>/dev/null | grep -q OK; then
    why=$(tail -3 "$T/podman.log" | tr '\n' ' ')
    stop_podman
    skip_all "podman system service did not come up: ${why:-no output}"
fi

# The image: busybox-static and its applets, imported as a tar (no registry).
# Modes as an image has them whatever the caller's umask: a rootfs made
# under umask 077 would be closed to the unprivileged user below.
(
    umask 022
    mkdir -p "$T/rootfs/bin" "$T/rootfs/etc" "$T/rootfs/tmp" "$T/rootfs/root"
    cp "$BUSYBOX" "$T/rootfs/bin/busybox"
    for a in $("$BUSYBOX" --list); do
        [ "$a" = busybox ] || ln -s busybox "$T/rootfs/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$T/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$T/rootfs/etc/group"
    chmod 1777 "$T/rootfs/tmp"
    tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
)
api POST "/images/create?fromSrc=-&repo=$IMAGE" -H 'Content-Type: application/x-tar' \
    --data-binary "@$T/rootfs.tar"
if [ "$STATUS" != 200 ]; then
    # The whole reason, on the one line a skip has: the engine's message
    # when it sent JSON, else all it sent.
    why=$(printf '%s' "$BODY" | jq -r '.message // empty' 2>/dev/null)
    skip_all "importing the busybox image failed (HTTP $STATUS): $(printf '%s' "${why:-$BODY}" | tr '\n' ' ')"
fi

# A stale container from a "crashed" sluiced (its pid is not running) and
# one of a sluiced that runs (this shell, with its real start time): the
# first must be swept at start, the second left alone.
BOOT=$(cat /proc/sys/kernel/random/boot_id)
MYSTART=$(sed 's/.*) //' "/proc/$$/stat" | cut -d' ' -f20)
orphan_body() {
    jq -cn --arg img "$IMAGE" --arg id "$1" --arg owner "$2" '{Image: $img, Cmd: ["/bin/true"],
      Labels: {"sluice.execution": $id, "sluice.owner": $owner},
      HostConfig: {NetworkMode: "none", Ulimits: [{Name: "nofile", Soft: 1024, Hard: 1024}]}}'
}
api POST /containers/create -H 'Content-Type: application/json' \
    -d "$(orphan_body orphan-dead "$BOOT/4194303/12345")"
is "$STATUS" 201 "a stale container of a dead sluiced is created for the sweep"
api POST /containers/create -H 'Content-Type: application/json' \
    -d "$(orphan_body orphan-alive "$BOOT/$$/$MYSTART")"
alive_id=$(printf '%s' "$BODY" | jq -r .Id)

# ---- sluiced ----------------------------------------------------------------

export SLUICE_TEST_TOKEN='s3cr{e}t-{body.x}-$HOME'
C="socket = \"$SOCK\"; image = \"$IMAGE\"; pull = \"never\";"
write_config <<EOF
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 4; shutdown_timeout = "1s"; };
flows = (
  { id = "stdin"; executor = "container";
    config = { $C stdin = true; command = ["/bin/sh", "-c", "cat"]; }; },
  { id = "file"; executor = "container";
    config = { $C command = ["/bin/sh", "-c", "cat \$SLUICE_EVENT; ls -l /sluice/event.json >&2"]; }; },
  { id = "args"; executor = "container";
    config = { $C command = ["/bin/echo", "{body.a}", "--x={query.q}"]; }; },
  { id = "outputs"; executor = "container";
    config = { $C command = ["/bin/sh", "-c", "printf 'a=1\\\\nb=two words\\\\n' > \$SLUICE_OUTPUT"]; }; },
  { id = "json-out"; executor = "container";
    config = { $C user = "65534:65534";
               command = ["/bin/sh", "-c", "echo '{{\"n\": 42, \"who\": \"'\$(id -u)'\"}}' > /sluice/out/outputs"]; }; },
  { id = "secrets"; executor = "container";
    config = { $C env = { REF = "{body.ref}"; }; secrets = { TOKEN = "@env:SLUICE_TEST_TOKEN"; };
               command = ["/bin/sh", "-c", "printf 'ref=%s\\\\ntoken=%s\\\\n' \"\$REF\" \"\$TOKEN\""]; }; },
  { id = "net-none"; executor = "container";
    config = { $C env = { URL = "{body.url}"; }; command = ["/bin/sh", "-c", "wget -q -O- \"\$URL\""]; }; },
  { id = "net-host"; executor = "container";
    config = { $C network = "host"; env = { URL = "{body.url}"; };
               command = ["/bin/sh", "-c", "wget -q -O- \"\$URL\""]; }; },
  { id = "memory"; executor = "container";
    config = { $C memory = "16M"; command = ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=96M", "count=1"]; }; },
  { id = "limits"; executor = "container";
    config = { $C cpus = 0.5; pids_limit = 32; ulimits = { nofile = [256, 512]; }; read_only_rootfs = true;
               command = ["/bin/sh", "-c", "ulimit -n; ulimit -Hn; touch /x 2>&1; echo w > /sluice/out/outputs; exit 3"]; }; },
  { id = "timeout"; executor = "container"; timeout = "1s";
    config = { $C command = ["/bin/sleep", "30"]; }; },
  { id = "own-timeout"; executor = "container";
    config = { $C timeout = "1s"; command = ["/bin/sh", "-c", "echo started; sleep 30"]; }; },
  { id = "slow"; executor = "container";
    config = { $C command = ["/bin/sleep", "1"]; }; },
  { id = "quick"; executor = "container";
    config = { $C command = ["/bin/true"]; }; },
  { id = "cancel"; executor = "container";
    config = { $C command = ["/bin/sleep", "60"]; }; },
  { id = "missing"; executor = "container";
    config = { socket = "$SOCK"; image = "localhost/sluice-missing:1"; pull = "never"; }; },
  { id = "down"; executor = "container";
    config = { socket = "$T/nothing.sock"; image = "$IMAGE"; }; },
  { id = "mount"; executor = "container";
    config = { $C mounts = ["$T/share:/share"]; command = ["/bin/sh", "-c", "cat /share/f; echo x > /share/g"]; }; }
);
triggers = (
  { id = "stdin"; flows = ["stdin"]; mode = "sync"; },
  { id = "file"; flows = ["file"]; mode = "sync"; },
  { id = "args"; flows = ["args"]; mode = "sync"; },
  { id = "outputs"; flows = ["outputs"]; mode = "sync"; },
  { id = "json-out"; flows = ["json-out"]; mode = "sync"; },
  { id = "secrets"; flows = ["secrets"]; mode = "sync"; },
  { id = "net-none"; flows = ["net-none"]; mode = "sync"; },
  { id = "net-host"; flows = ["net-host"]; mode = "sync"; },
  { id = "memory"; flows = ["memory"]; mode = "sync"; },
  { id = "limits"; flows = ["limits"]; mode = "sync"; },
  { id = "timeout"; flows = ["timeout"]; mode = "sync"; },
  { id = "own-timeout"; flows = ["own-timeout"]; mode = "sync"; },
  { id = "slow"; flows = ["slow"]; mode = "async"; },
  { id = "quick"; flows = ["quick"]; mode = "async"; },
  { id = "cancel"; flows = ["cancel"]; mode = "async"; },
  { id = "missing"; flows = ["missing"]; mode = "sync"; },
  { id = "down"; flows = ["down"]; mode = "sync"; },
  { id = "mount"; flows = ["mount"]; mode = "sync"; }
);
EOF
mkdir -p "$T/share" && echo shared >"$T/share/f"
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

like "$(cat "$T/sluiced.log")" "nothing.sock: no such socket" \
    "an unreachable engine is a warning at start, not a failure"
like "$(cat "$T/sluiced.log")" "localhost/sluice-missing:1 is not on the engine" \
    "a missing image with pull = never is a warning at start"
like "$(cat "$T/sluiced.log")" "removed orphan container.*orphan-dead" \
    "the orphan of a dead sluiced was removed at start (and logged)"
check "the orphan is gone" no_container_of orphan-dead
is "$(containers_of orphan-alive)" 1 "a container of a running sluiced is left alone"
api DELETE "/containers/$alive_id?force=1"

# stdin: the event, attached, then EOF.
body='{"name":"world","n":[1,2]}'
req POST /hooks/stdin -H 'Content-Type: application/json' -d "$body"
is "$STATUS" 200 "stdin: the flow succeeds (cat saw EOF)"
is "$(jq_get .data.stdout | jq -c .body)" "$body" "stdin: the container read the event on stdin"
is "$(jq_get .data.exit_code)" 0 "stdin: exit code 0"

# The event file.
req POST /hooks/file -H 'Content-Type: application/json' -d '{"x":"file"}'
is "$STATUS" 200 "event file: the flow succeeds"
is "$(jq_get .data.stdout | jq -r .body.x)" file "event file: /sluice/event.json holds the event"
like "$(jq_get .data.stderr)" '^-r' "event file: it is mounted read-only, and stderr is kept apart"

# Placeholders fill whole elements: no shell ever sees the payload.
hostile='$(touch /pwned); `id` | & > * '"'"' "'
req POST "/hooks/args?q=%3Bid" -H 'Content-Type: application/json' \
    -d "$(jq -cn --arg a "$hostile" '{a: $a}')"
is "$(jq_get .data.stdout)" "$hostile --x=;id" "command placeholders arrive as literal arguments"

# Outputs.
req POST /hooks/outputs -d x
is "$(jq_get .data.outputs.a)/$(jq_get .data.outputs.b)" "1/two words" "key=value outputs from /sluice/out"
req POST /hooks/json-out -d x
is "$(jq_get .data.outputs.n)" 42 "JSON outputs from /sluice/out"
is "$(jq_get .data.outputs.who)" 65534 "user: the container ran as 65534 and could still write its outputs"

# Env from the event and from secrets.
req POST /hooks/secrets -H 'Content-Type: application/json' -d '{"ref":"main"}'
is "$STATUS" 200 "secrets: the flow succeeds"
like "$(jq_get .data.stdout)" '^ref=main' "env from an event path"
is "$(jq_get .data.stdout | sed -n 's/^token=//p')" "$SLUICE_TEST_TOKEN" \
    "a secret from @env arrives verbatim (braces and \$ not interpreted)"
unlike "$(cat "$T/sluiced.log")" 's3cr\{e\}t' "the secret is never logged"

# Network: none by default.
req POST /hooks/net-host -H 'Content-Type: application/json' -d "{\"url\":\"$BASE/healthz\"}"
is "$STATUS" 200 "network = host: wget reaches sluiced on 127.0.0.1 (the control case)"
req POST /hooks/net-none -H 'Content-Type: application/json' -d "{\"url\":\"$BASE/healthz\"}"
is "$STATUS" 500 "network none (default): wget to the host's 127.0.0.1 fails"
like "$(jq_get .data.stderr)" "can't connect|refused|unreachable" "network none: wget says it could not connect"

# Memory.
req POST /hooks/memory -d x
is "$(jq_get .data.exit_code)" 137 "memory: over the limit, the process is killed (137)"
like "$(jq_get .data.error)" 'killed \((likely|the engine says) out of memory; the memory limit is 16 MiB\)' \
    "memory: the error says likely out of memory"

# CPU, pids, ulimits, read-only root, a non-zero exit.
req POST /hooks/limits -d x
is "$(jq_get .data.exit_code)" 3 "a non-zero exit code is recorded"
like "$(jq_get .data.error)" '^exit code 3$' "the error names the exit code"
is "$(jq_get .data.stdout | sed -n 1,2p | tr '\n' ' ')" "256 512 " "ulimits are applied (soft, hard)"
like "$(jq_get .data.stdout)" 'Read-only file system' "read_only_rootfs: / is read-only"
is "$(jq_get '.data.outputs | length')" 0 "outputs that are not key=value are not taken from a failed run"

# Mounts: read-only unless said otherwise.
req POST /hooks/mount -d x
like "$(jq_get .data.stdout)" '^shared' "mounts: the host directory is visible"
like "$(jq_get .data.stderr)" 'Read-only file system' "mounts: read-only by default"

# The flow's timeout: killed and removed.
start=$(date +%s)
req POST /hooks/timeout -d x
end=$(date +%s)
is "$(jq_get .data.state)" timed_out "timeout: state timed_out"
like "$(jq_get .data.error)" 'timed out; container killed and removed' "timeout: the error says killed and removed"
check "timeout: it fired promptly ($((end - start)) s)" [ $((end - start)) -lt 8 ]
id=$(jq_get .data.id)
check "timeout: the container is gone" no_container_of "$id"

req POST /hooks/own-timeout -d x
is "$(jq_get .data.state)" failed "the executor's own timeout fails the execution"
like "$(jq_get .data.error)" 'timed out after 1000 ms \(timeout\)' "own timeout: the error says so"
like "$(jq_get .data.stdout)" started "own timeout: what it printed before is kept"
check "own timeout: the container is gone" no_container_of "$(jq_get .data.id)"

# A missing image, a daemon that is not there.
req POST /hooks/missing -d x
is "$STATUS" 500 "image missing: the flow fails"
like "$(jq_get .data.error)" 'localhost/sluice-missing:1 is not on the engine and pull = "never"' \
    "image missing: a clear error"
req POST /hooks/down -d x
is "$STATUS" 500 "daemon down: the flow fails"
like "$(jq_get .data.error)" "cannot reach the container engine at $T/nothing.sock: no such socket" \
    "daemon down: a clear error naming the socket"

# Concurrent executions overlap.
ids=()
for i in 1 2 3 4; do
    req POST /hooks/slow -d x
    ids+=("$(jq_get .data.execution_id)")
done
starts=() ends=() states=
for id in "${ids[@]}"; do
    wait_exec "$id" 60
    states="$states$(jq_get .data.state) "
    starts+=("$(jq_get .data.started_at)")
    ends+=("$(jq_get .data.finished_at)")
done
is "$states" "succeeded succeeded succeeded succeeded " "concurrent: four executions succeed"
latest_start=$(printf '%s\n' "${starts[@]}" | sort | tail -1)
earliest_end=$(printf '%s\n' "${ends[@]}" | sort | head -1)
check "concurrent: they ran at the same time (last start $latest_start < first end $earliest_end)" \
    [ "$latest_start" \< "$earliest_end" ]

# Fifty runs leave no container behind.
ids=()
for i in $(seq 50); do
    req POST /hooks/quick -d x
    ids+=("$(jq_get .data.execution_id)")
done
ok50=0
for id in "${ids[@]}"; do
    wait_exec "$id" 120 && [ "$(jq_get .data.state)" = succeeded ] && ok50=$((ok50 + 1))
done
is "$ok50" 50 "50 runs: all succeed"
is "$(sluice_containers)" 0 "50 runs: no container is left behind"

# Cancel: shutdown cancels a running execution; its container is killed and removed.
req POST /hooks/cancel -d x
cid=$(jq_get .data.execution_id)
check "cancel: the container is running" wait_for "container of $cid" 20 \
    sh -c "[ \"\$(curl -s --unix-socket '$SOCK' 'http://localhost/v1.41/containers/json?filters=$ENGINE_FILTER' |
            jq '[.[] | select(.Labels[\"sluice.execution\"] == \"$cid\")] | length')\" = 1 ]"
stop_sluiced TERM
is "$SLUICE_RC" 0 "cancel: sluiced exits 0 after cancelling at shutdown"
like "$(grep "exec=$cid" "$T/sluiced.log")" "killed container sluice-$cid.*: sluiced is shutting down" \
    "cancel: the executor killed the container when shutdown cancelled the execution"
# Killed mid-way by shutdown, its flow without retry: unknown, as after a
# crash, with the executor's reason.
like "$(grep "exec=$cid" "$T/sluiced.log")" \
    'state=unknown.*whether it finished is not known; .*shutting down; container killed and removed' \
    "cancel: the execution ends as unknown, saying the container was killed"
check "cancel: the container is gone" no_container_of "$cid"
is "$(sluice_containers)" 0 "no sluice container is left at the end"

# ---- kill -9 while a retrying flow's container runs --------------------------
# The first attempt runs long and sluiced is killed during it (the retry
# runs 2 s, time for the look below to see two at once); the engine
# keeps the container running. The restart must end it before the retry
# starts a container of its own. The start's sweep removes what a dead
# sluiced left, but leaves kept containers alone (keep = true): for those
# the retry's own check is what ends the earlier attempt.
running_of() {
    curl -s --unix-socket "$SOCK" --max-time 10 \
        "http://localhost/v1.41/containers/json?all=1&filters=$ENGINE_FILTER" |
        jq --arg id "$1" '[.[] | select(.Labels["sluice.execution"] == $id and .State == "running")] | length'
}
# cmonitor ID OUT: until $T/cmon.on goes, how many containers of ID run.
cmonitor() {
    while [ -e "$T/cmon.on" ]; do
        running_of "$1" >> "$2"
        sleep 0.1
    done
}
mkdir -p "$T/crash"
write_config <<EOF
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "1s"; };
flows = (
  { id = "crash"; executor = "container"; retry = { max = 2; backoff = "100ms"; };
    config = { $C mounts = ["$T/crash:/crash:rw"];
               command = ["/bin/sh", "-c", "echo run >> /crash/crash; if [ \$(wc -l < /crash/crash) -gt 1 ]; then sleep 2; else sleep 60; fi"]; }; },
  { id = "crash-keep"; executor = "container"; retry = { max = 2; backoff = "100ms"; };
    config = { $C keep = true; mounts = ["$T/crash:/crash:rw"];
               command = ["/bin/sh", "-c", "echo run >> /crash/crash-keep; if [ \$(wc -l < /crash/crash-keep) -gt 1 ]; then sleep 2; else sleep 60; fi"]; }; }
);
triggers = ( { id = "crash"; flows = ["crash"]; }, { id = "crash-keep"; flows = ["crash-keep"]; } );
EOF
for flow in crash crash-keep; do
    start_sluiced || { fail "$flow: sluiced starts"; done_testing; exit 1; }
    req POST "/hooks/$flow" -d x
    cid=$(jq_get .data.execution_id)
    : > "$T/cmon.on"; : > "$T/cmon-$flow"
    cmonitor "$cid" "$T/cmon-$flow" &
    cmon=$!
    one_running() { [ "$(running_of "$cid")" = 1 ]; }
    check "$flow: the first attempt's container runs" wait_for "container of $cid" 30 one_running
    kill -KILL "$SLUICE_PID"
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=
    is "$(running_of "$cid")" 1 "$flow: the container runs on after kill -9 of sluiced"
    start_sluiced || { fail "$flow: sluiced restarts"; done_testing; exit 1; }
    wait_exec "$cid" 60
    is "$(jq_get .data.state)/$(jq_get .data.attempt)" "succeeded/2" "$flow: the retry succeeded"
    is "$(wc -l < "$T/crash/$flow")" 2 "$flow: two attempts ran"
    rm -f "$T/cmon.on"
    wait "$cmon"
    is "$(sort -n "$T/cmon-$flow" | tail -1)" 1 \
        "$flow: never two containers of the execution running at once ($(wc -l < "$T/cmon-$flow") looks)"
    is "$(running_of "$cid")" 0 "$flow: nothing of it runs at the end"
    if [ "$flow" = crash ]; then
        like "$(cat "$T/sluiced.log")" "removed orphan container [0-9a-f]{12} \\(execution $cid," \
            "crash: the start's sweep removed the interrupted attempt's container"
        check "crash: no container of it is left" no_container_of "$cid"
    else
        like "$(cat "$T/sluiced.log")" "execution $cid: killed the kept container [0-9a-f]{12} \\(state running\\) of an earlier attempt before retrying" \
            "crash-keep: the retry killed the kept container of the interrupted attempt first"
        is "$(containers_of "$cid")" 2 "crash-keep: both attempts' containers are kept"
    fi
    stop_sluiced TERM
    is "$SLUICE_RC" 0 "$flow: sluiced exits 0 on SIGTERM"
done
api GET "/containers/json?all=1&filters=$ENGINE_FILTER"
for kept in $(printf '%s' "$BODY" | jq -r '.[].Id'); do api DELETE "/containers/$kept?force=1"; done

# The sample flow is valid even where no engine runs ($DOCKER_HOST names the socket).
printf 'server: { listen = ["127.0.0.1:0"]; };\nflows: { include = "%s"; };\n' \
    "$SRCDIR/flows/flows.d/container.conf" >"$T/check.conf"
DOCKER_HOST="unix://$T/nothing.sock" "$SLUICED" --check-config -c "$T/check.conf" >"$T/check.out" 2>&1
is "$?" 0 "sluiced --check-config accepts flows.d/container.conf without an engine"
like "$(cat "$T/check.out")" "container.conf:[0-9]+: container: cannot reach the container engine at $T/nothing.sock" \
    "... and warns that the engine (from \$DOCKER_HOST) is not there"

done_testing
