#!/bin/bash
# CPU of the exporter at idle with an unchanged cluster, default refresh
# intervals (crm_mon every 5 s, corosync every 15 s), for DUR seconds
# (default 600): the real crm_mon and cibadmin read a generated CIB
# (CIB_file); corosync-cfgtool and corosync-quorumtool are stand-ins printing
# the live lab's recorded answers (knet, 3 nodes), and the corosync stack is
# left on auto, so cman_tool is looked for on every corosync refresh as on a
# node without CMAN. No PostgreSQL: its collector queries only when scraped.
# The exporter's own CPU (utime+stime, and its threads' run time in ns) and
# its children's (the tools: cutime+cstime) are reported per hour.
# CRM_ONLY=1 leaves the corosync collector out (crm_mon alone).
# Usage: test/perf/idle.sh healthy|large-32n-500r [BINARY]
set -eu
cd "$(dirname "$0")/../.."
CIB=$PWD/crm/testdata/generated/$1/cib.xml
COROSYNC=$PWD/crm/testdata/corpus/live-pcmk-2.1.5-pgsql-4.12-pg15/05-primary-postgres-killed-failover/pgdb1
BIN=${2:-bin/pgha_exporter}
DUR=${DUR:-600}
T=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
for tool in crm_mon cibadmin; do
  printf '#!/bin/sh\nCIB_file=%s exec /usr/sbin/%s "$@"\n' "$CIB" $tool > "$T/$tool"; chmod +x "$T/$tool"
done
printf '#!/bin/sh\nexec cat %s\n' "$COROSYNC/corosync-cfgtool-s.txt" > "$T/corosync-cfgtool"
printf '#!/bin/sh\nexec cat %s\n' "$COROSYNC/corosync-quorumtool-sp.txt" > "$T/corosync-quorumtool"
chmod +x "$T/corosync-cfgtool" "$T/corosync-quorumtool"
corosync=(--corosync.cfgtool-path="$T/corosync-cfgtool" --corosync.quorumtool-path="$T/corosync-quorumtool")
[ "${CRM_ONLY:-}" = 1 ] && corosync=(--no-collector.corosync)
"$BIN" --web.listen-address=127.0.0.1:0 --crm.mon-path="$T/crm_mon" --crm.cibadmin-path="$T/cibadmin" --crm.node-name=pgdb1 \
  "${corosync[@]}" --no-collector.postgres > "$T/log" 2>&1 & EXP=$!
sleep 20
# utime+stime (clock ticks: 10 ms steps) and the exporter's threads' run
# time in ns (schedstat; Go's threads live as long as the process).
stat() { awk '{print $14+$15, $16+$17}' /proc/$EXP/stat; }
ns() { cat /proc/$EXP/task/*/schedstat | awk '{s+=$1} END {printf "%d\n", s}'; }
read s0 c0 <<< "$(stat)"; n0=$(ns); sleep "$DUR"; read s1 c1 <<< "$(stat)"; n1=$(ns)
HZ=$(getconf CLK_TCK)
awk -v s=$((s1-s0)) -v c=$((c1-c0)) -v ns=$((n1-n0)) -v hz=$HZ -v d=$DUR -v n="$1" 'BEGIN {
  printf "%s: exporter %.2f s CPU in %d s = %.2f s/hour (threads run time: %.3f s/hour); tools (crm_mon, cibadmin, corosync stand-ins) %.1f s/hour\n",
    n, s/hz, d, s/hz*3600/d, ns/1e9*3600/d, c/hz*3600/d }'
grep -c 'level=error\|refresh failed' "$T/log" | sed 's/^/error or failed-refresh lines: /'
