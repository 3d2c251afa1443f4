#!/usr/bin/env bash
# kill -9 while a retrying flow runs a command that left a child in its
# process group: the command dies with sluiced, the restart ends what is
# left of its group before the retry, and at no moment do processes of two
# attempts of one execution run at once. A recorded pid that now belongs
# to another process is left alone.
. "$SRCDIR/tests/integration/lib.sh"

BOOT=$(cat /proc/sys/kernel/random/boot_id)
RECORDS="$T/state/procs/shell"

# The first attempt fails, the second runs long with a background child
# (sluiced is killed during it), every later one finishes at once.
cat > "$T/kid.sh" <<'EOS'
#!/bin/sh
n=$(wc -l < "$RUNS" 2>/dev/null || echo 0)
echo "$$" >> "$RUNS"
case $n in
0) exit 1 ;;
1) sleep 30 & sleep 30 ;;
*) sleep 0.3 & sleep 0.3 ;;
esac
EOS
chmod 755 "$T/kid.sh"
# run-as (fork, then setuid) needs root: PR_SET_PDEATHSIG must survive the
# change of user.
mkdir -m 1777 "$T/w"
chmod 711 "$T"
FLOWS=kids
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    FLOWS="kids kids-nobody"
fi

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "10s"; };
flows = (
  { id = "kids"; executor = "shell"; retry = { max = 3; backoff = "100ms"; };
    config = { argv = ["$T/kid.sh"]; env = { RUNS = "$T/w/runs-kids"; }; stdin = "none"; }; },
  { id = "kids-nobody"; executor = "shell"; retry = { max = 3; backoff = "100ms"; };
    config = { argv = ["$T/kid.sh"]; env = { RUNS = "$T/w/runs-kids-nobody"; }; stdin = "none";
               user = "nobody"; }; }
);
triggers = ( { id = "kids"; flows = ["kids"]; }, { id = "kids-nobody"; flows = ["kids-nobody"]; } );
EOF2

# procs [FILES...]: "PID STATE PGID START" (fields 1, 3, 5 and 22 of
# /proc/PID/stat) of every process, or of those stat files; one cat, as a
# process may go while the list is read.
procs() {
    [ $# -gt 0 ] || set -- /proc/[0-9]*/stat
    cat "$@" 2>/dev/null |
        awk '{ p = $1; s = $0; sub(/^.*\) /, "", s); split(s, a, " "); print p, a[1], a[3], a[20] }'
}
# stat_field PID 5|22: the process's group or start time; fails when gone.
stat_field() {
    local line
    line=$(procs "/proc/$1/stat") && [ -n "$line" ] || return 1
    set -- $line "$2"
    case $5 in 5) echo "$3" ;; 22) echo "$4" ;; esac
}
# alive PID: running, not a zombie.
alive() { procs "/proc/$1/stat" | awk '$2 != "Z" && $2 != "X" { ok = 1 } END { exit !ok }'; }
# members PGID: the live processes of that group, one pid a line.
members() { procs | awk -v g="$1" '$3 == g && $2 != "Z" && $2 != "X" { print $1 }'; }
n_members() { members "$1" | wc -l; }
# groups_of ID: how many distinct process groups the live processes that
# carry SLUICE_EXECUTION_ID=ID in their environment belong to.
groups_of() {
    local files
    files=$(grep -lsxz "SLUICE_EXECUTION_ID=$1" /proc/[0-9]*/environ 2>/dev/null | sed 's/environ$/stat/')
    [ -n "$files" ] || { echo 0; return; }
    procs $files | awk '$2 != "Z" && $2 != "X" { g[$3] = 1 } END { n = 0; for (k in g) n++; print n }'
}
# monitor ID OUT: until $T/monitor.on goes, write how many groups of ID
# are alive, every 20 ms or so.
monitor() {
    while [ -e "$T/monitor.on" ]; do
        groups_of "$1" >> "$2"
        sleep 0.02
    done
}
final() {
    local s
    s=$(exec_state "$1")
    [ "$s" != queued ] && [ "$s" != running ] && [ -n "$s" ] && [ "$s" != null ]
}

first=1
for flow in $FLOWS; do
    RUNS="$T/w/runs-$flow"
    start_sluiced || { fail "$flow: sluiced starts"; done_testing; exit 1; }
    req POST "/hooks/$flow" -H 'Content-Type: application/json' -d '{}'
    ID=$(jq_get .data.execution_id)
    is "$STATUS" 202 "$flow: accepted"
    : > "$T/monitor.on"; : > "$T/groups-$flow"
    monitor "$ID" "$T/groups-$flow" &
    MON=$!
    second() { [ "$(wc -l < "$RUNS" 2>/dev/null)" -ge 2 ]; }
    wait_for "$flow: the second attempt starts" 20 second
    LEADER=$(sed -n 2p "$RUNS")
    three() { [ "$(n_members "$LEADER")" -ge 3 ]; }
    check "$flow: the second attempt runs with its background child (3 processes in its group)" \
        wait_for "group $LEADER" 10 three
    like "$(cat "$RECORDS/$ID" 2>/dev/null)" "^sluice-group 1 $BOOT $SLUICE_PID [0-9]+ $LEADER [0-9]+ $LEADER\$" \
        "$flow: the group is on record before the command runs"

    if [ "$first" = 1 ]; then
        # A second sluiced on the same state (the check a deploy runs
        # beside the daemon) loads the plugin too: the daemon is alive,
        # so its commands are its own.
        "$SLUICED" --check-config -c "$T/sluice.conf" --state-dir "$T/state" >/dev/null 2>"$T/check.log"
        is "$(n_members "$LEADER")" 3 "--check-config beside the daemon leaves its running command alone"
        like "$(cat "$RECORDS/$ID" 2>/dev/null)" "^sluice-group 1 $BOOT $SLUICE_PID " \
            "--check-config beside the daemon leaves its record"
    fi

    kill -KILL "$SLUICE_PID"
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=
    mv "$T/sluiced.log" "$T/sluiced-$flow-1.log"
    leader_gone() { ! alive "$LEADER"; }
    check "$flow: the command died with sluiced (PR_SET_PDEATHSIG)" \
        wait_for "pid $LEADER gone" 10 leader_gone
    # Only the command itself gets the signal: what it started runs on,
    # which is what the restart is for.
    is "$(n_members "$LEADER")" 2 "$flow: its background children outlive sluiced"

    start_sluiced || { fail "$flow: sluiced restarts"; done_testing; exit 1; }
    is "$(n_members "$LEADER")" 0 "$flow: the interrupted attempt's group is gone once sluiced is ready"
    like "$(cat "$T/sluiced.log")" "execution $ID: killed process group $LEADER \\(leader pid $LEADER, already gone\\)" \
        "$flow: the restart says what it killed"
    check "$flow: the retry finishes" wait_for "$ID final" 30 final "$ID"
    req GET "/api/v1/executions/$ID"
    is "$(jq_get .data.state)/$(jq_get .data.attempt)" "succeeded/3" \
        "$flow: the third attempt succeeded"
    is "$(wc -l < "$RUNS")" 3 "$flow: three attempts ran"
    rm -f "$T/monitor.on"
    wait "$MON"
    is "$(sort -n "$T/groups-$flow" | tail -1)" 1 \
        "$flow: never two attempts' processes alive at once ($(wc -l < "$T/groups-$flow") looks)"
    is "$(grep -c . "$T/groups-$flow" | tr -d ' ')" "$(wc -l < "$T/groups-$flow" | tr -d ' ')" \
        "$flow: every look was taken"
    is "$(ls "$RECORDS" | wc -l)" 0 "$flow: no record is left once the execution finished"
    stop_sluiced TERM
    is "$SLUICE_RC" 0 "$flow: sluiced exits 0 on SIGTERM"
    mv "$T/sluiced.log" "$T/sluiced-$flow-2.log"
    first=0
done

# done_testing reads only the last log; the earlier runs' count as well.
unlike "$(cat "$T"/sluiced-*.log)" 'AddressSanitizer|LeakSanitizer|runtime error:' \
    "no sanitizer report in the logs of the killed and restarted runs"

# ---- what a record names is checked before anything is killed ----------------

# own_group VAR: a group leader of our own (pgid = pid), started where
# nothing else signals it; its pid goes into VAR.
own_group() {
    setsid sleep 60 </dev/null >/dev/null 2>&1 &
    local p=$!
    ready() { [ "$(stat_field "$p" 5)" = "$p" ]; }
    wait_for "setsid $p" 5 ready
    printf -v "$1" '%s' "$p"
}
start_of() { stat_field "$1" 22; }
sh -c 'exit 0' & DEAD=$!
wait "$DEAD"

own_group REUSED
own_group OURS
own_group LIVE
mkdir -p "$RECORDS"
# The leader's pid runs, but with another start time: not that process.
echo "sluice-group 1 $BOOT $DEAD 1 $REUSED $(( $(start_of "$REUSED") + 1 )) $REUSED" > "$RECORDS/reused"
# Same pid, same start time: the group left by a sluiced that died.
echo "sluice-group 1 $BOOT $DEAD 1 $OURS $(start_of "$OURS") $OURS" > "$RECORDS/ours"
# Its sluiced still runs (this script stands for it): not ours to end.
echo "sluice-group 1 $BOOT $$ $(start_of $$) $LIVE $(start_of "$LIVE") $LIVE" > "$RECORDS/live"
# Made before the last reboot: nothing of it can be left.
echo "sluice-group 1 00000000-0000-0000-0000-000000000000 $DEAD 1 $LIVE $(start_of "$LIVE") $LIVE" > "$RECORDS/oldboot"
# The child had not written it when its sluiced died, a minute ago.
: > "$RECORDS/empty"
touch -d '-1 minute' "$RECORDS/empty"
# Just made: a child may be about to write its line into it.
: > "$RECORDS/fresh"

# A check acts on no state: not beside a dead daemon's orphans either.
"$SLUICED" --check-config -c "$T/sluice.conf" --state-dir "$T/state" >/dev/null 2>"$T/check.log"
is "$?" 0 "--check-config on the fabricated records succeeds"
check "--check-config does not kill the group a dead sluiced left" alive "$OURS"
is "$(cd "$RECORDS" && ls | sort | tr '\n' ' ')" "empty fresh live oldboot ours reused " \
    "--check-config removes no record"
# Inherited by a daemon, the check's variable changes nothing.
SLUICE_CHECK_CONFIG=1 start_sluiced || { fail "sluiced starts on fabricated records"; done_testing; exit 1; }
check "a recorded pid that now belongs to another process is left alone" alive "$REUSED"
like "$(cat "$T/sluiced.log")" "execution reused: pid $REUSED now belongs to another process" \
    "and the log says why"
ours_gone() { ! alive "$OURS"; }
check "a group whose leader still has its recorded start time is killed" wait_for "$OURS" 5 ours_gone
check "a group of a sluiced that still runs is left alone" alive "$LIVE"
is "$(cd "$RECORDS" && ls | sort | tr '\n' ' ')" "fresh live " \
    "records of ended, reused, old empty and pre-boot groups are removed; the live owner's and the fresh one stay"
kill -KILL "$REUSED" "$LIVE" 2>/dev/null
wait "$REUSED" "$LIVE" "$OURS" 2>/dev/null

done_testing
