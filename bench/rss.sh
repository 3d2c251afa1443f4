#!/usr/bin/env bash
# bench/rss.sh PID - where a process's resident memory is.
#
# Reads /proc/PID/smaps and prints one line per mapped file (the
# executable, each shared library, plugins), [heap], [stack], the shared
# memory of SQLite's WAL index, and the anonymous mappings together
# (thread stacks, malloc's thread arenas), largest first:
#
#   rss_kib  dirty_kib  what
#
# dirty is Private_Dirty: pages this process wrote (heap, relocated data
# of a library). The rest of a library's RSS is clean pages of the file,
# shared with every process that maps it, yet counted in VmRSS all the
# same. The last line is the total, which equals VmRSS.
set -euo pipefail
if [[ $# -ne 1 || ! -r /proc/$1/smaps ]]; then
    echo "usage: $0 PID (a running process whose /proc/PID/smaps is readable)" >&2
    exit 2
fi
awk '
    /^[0-9a-f]+-[0-9a-f]+ / { what = $6 == "" ? "[anonymous: thread stacks, arenas]" : $6; next }
    /^Rss:/ { rss[what] += $2; total += $2 }
    /^Private_Dirty:/ { dirty[what] += $2; tdirty += $2 }
    END {
        for (w in rss) if (rss[w] > 0) printf "%8d %8d  %s\n", rss[w], dirty[w], w | "sort -rn"
        close("sort -rn")
        printf "%8d %8d  total (VmRSS)\n", total, tdirty
    }' "/proc/$1/smaps"
