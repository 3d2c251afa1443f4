#!/usr/bin/env bash
# bench/container.sh - per-execution overhead of the container executor
# against the shell executor running the same command, in the same run.
#
#   bench/container.sh [BUILDDIR]        (BENCH_RUNS=N, default 30)
#
# Starts a private Podman service (runc, private storage, its own socket in
# a temp dir) and imports a busybox-static image, then one sluiced with two
# sync flows that run `/bin/sh -c 'echo hi'`: one with executor "shell" on
# the host, one with executor "container" in a fresh container (network
# none, the default ulimits). Requests alternate between the two so drift
# on a shared machine hits both alike. Reports the median and mean latency
# of each and the difference: what a container costs per execution. Prints
# one table, also written to bench/results/container-latest.txt. Loopback
# and unix sockets only; everything started here is stopped by PID.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
BUILDDIR=${1:-${BUILDDIR:-$repo/build}}
BUILDDIR=$(cd "$BUILDDIR" && pwd)
RUNS=${BENCH_RUNS:-30}
RESULTS=${BENCH_RESULTS:-$here/results/container-latest.txt}
SLUICED=${SLUICED:-$BUILDDIR/sluiced}
PLUGIN_PATH=${SLUICE_PLUGIN_PATH:-$BUILDDIR/plugins/shell/.libs:$BUILDDIR/plugins/container/.libs}

die() { echo "bench/container: $*" >&2; exit 1; }
for c in podman runc curl jq; do command -v "$c" >/dev/null || die "$c is not installed"; done
[ -x "$SLUICED" ] || die "no sluiced in $BUILDDIR (build first)"
[ -f "$BUILDDIR/plugins/container/.libs/container.so" ] || die "the container plugin is not built"
BUSYBOX=$(command -v busybox || echo /bin/busybox)
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "needs busybox-static (apt-get install busybox-static)"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-ctr.XXXXXX")
PODMAN_PID= SLUICE_PID=
stop() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() { stop "$SLUICE_PID"; stop "$PODMAN_PID"; rm -rf "$T"; }
trap cleanup EXIT

SOCK=$T/podman.sock
podman --root "$T/root" --runroot "$T/run" --tmpdir "$T/tmp" --storage-driver vfs \
    --runtime runc --cgroup-manager cgroupfs --events-backend file \
    system service --time=0 "unix://$SOCK" >"$T/podman.log" 2>&1 &
PODMAN_PID=$!
for _ in $(seq 200); do
    curl -s --unix-socket "$SOCK" --max-time 2 http://localhost/_ping 2>/dev/null | grep -q OK && break
    sleep 0.1
done
curl -s --unix-socket "$SOCK" --max-time 2 http://localhost/_ping | grep -q OK ||
    die "podman system service did not start: $(tail -3 "$T/podman.log")"

mkdir -p "$T/rootfs/bin" "$T/rootfs/tmp"
cp "$BUSYBOX" "$T/rootfs/bin/busybox"
for a in sh echo true cat; do ln -s busybox "$T/rootfs/bin/$a"; done
tar -C "$T/rootfs" -cf "$T/rootfs.tar" .
curl -sf --unix-socket "$SOCK" -X POST -H 'Content-Type: application/x-tar' \
    --data-binary "@$T/rootfs.tar" \
    'http://localhost/v1.41/images/create?fromSrc=-&repo=localhost/sluice-bench:latest' >/dev/null ||
    die "importing the image failed"

write_conf() {
    cat >"$T/sluice.conf" <<EOF
server: { listen = ["127.0.0.1:0"]; workers = 2; };
$1
flows = (
  { id = "shell"; executor = "shell"; config = { argv = ["/bin/sh", "-c", "echo hi"]; stdin = "none"; }; },
  { id = "container"; executor = "container";
    config = { socket = "$SOCK"; image = "localhost/sluice-bench:latest"; pull = "never";
               command = ["/bin/sh", "-c", "echo hi"]; }; }
);
triggers = (
  { id = "shell"; flows = ["shell"]; mode = "sync"; },
  { id = "container"; flows = ["container"]; mode = "sync"; }
);
EOF
}

PORT=
start_sluiced() {
    : >"$T/sluiced.log"
    SLUICE_PLUGIN_PATH=$PLUGIN_PATH "$SLUICED" -c "$T/sluice.conf" 2>>"$T/sluiced.log" &
    SLUICE_PID=$!
    for _ in $(seq 100); do
        if grep -q 'ready:' "$T/sluiced.log"; then
            PORT=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9]*\)$/\1/p' "$T/sluiced.log" | tail -1)
            return 0
        fi
        kill -0 "$SLUICE_PID" 2>/dev/null || break
        sleep 0.1
    done
    SLUICE_PID=
    return 1
}
write_conf "store: { path = \"$T/sluice.db\"; };"
if ! start_sluiced; then
    write_conf ""      # a build without the SQLite store refuses the group
    start_sluiced || die "sluiced did not start: $(tail -5 "$T/sluiced.log")"
fi

one() {
    curl -s -o "$T/out" -w '%{http_code} %{time_total}\n' -X POST -d x \
        "http://127.0.0.1:$PORT/hooks/$1"
}
# Warm up both (first container start loads the image layers).
for _ in 1 2 3; do one shell >/dev/null; one container >/dev/null; done
: >"$T/shell.t"; : >"$T/container.t"
for _ in $(seq "$RUNS"); do
    for f in shell container; do
        read -r code secs < <(one "$f")
        [ "$code" = 200 ] || die "$f answered $code: $(cat "$T/out")"
        echo "$secs" >>"$T/$f.t"
    done
done

stats() { # file -> "median mean" in ms
    sort -n "$1" | awk '{v[NR]=$1; s+=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2;
        printf "%.1f %.1f\n", m*1000, s/NR*1000}'
}
read -r sh_med sh_mean < <(stats "$T/shell.t")
read -r ct_med ct_mean < <(stats "$T/container.t")
mkdir -p "$(dirname "$RESULTS")"
{
    echo "# container vs shell executor, same command (/bin/sh -c 'echo hi'), sync, $RUNS runs each"
    echo "# $(date -u +%FT%TZ)  $(podman --version)  runc $(runc --version | head -1 | awk '{print $3}')  load $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-10s %10s %10s\n' executor median_ms mean_ms
    printf '%-10s %10s %10s\n' shell "$sh_med" "$sh_mean"
    printf '%-10s %10s %10s\n' container "$ct_med" "$ct_mean"
    awk -v c="$ct_med" -v s="$sh_med" \
        'BEGIN { printf "overhead per execution (container - shell, median): %.0f ms\n", c - s }'
} | tee "$RESULTS"
