#!/bin/bash
# CPU of the exporter at idle with an unchanged cluster: the real crm_mon and
# cibadmin read a generated CIB (CIB_file), refreshed every 5 s (default),
# for DUR seconds (default 600). The exporter's own CPU (utime+stime) and its
# children's (crm_mon, cibadmin: cutime+cstime) are reported per hour.
# Usage: test/perf/idle.sh healthy|large-32n-500r [BINARY]
set -eu
cd "$(dirname "$0")/../.."
CIB=$PWD/crm/testdata/generated/$1/cib.xml
BIN=${2:-bin/pgha_exporter}
DUR=${DUR:-600}
T=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
for tool in crm_mon cibadmin; do
  printf '#!/bin/sh\nCIB_file=%s exec /usr/sbin/%s "$@"\n' "$CIB" $tool > "$T/$tool"; chmod +x "$T/$tool"
done
"$BIN" --web.listen-address=127.0.0.1:0 --crm.mon-path="$T/crm_mon" --crm.cibadmin-path="$T/cibadmin" --crm.node-name=pgdb1 \
  --no-collector.corosync --no-collector.postgres > "$T/log" 2>&1 & EXP=$!
sleep 20
# utime+stime (clock ticks: 10 ms steps) and the exporter's threads' run
# time in ns (schedstat; Go's threads live as long as the process).
stat() { awk '{print $14+$15, $16+$17}' /proc/$EXP/stat; }
ns() { cat /proc/$EXP/task/*/schedstat | awk '{s+=$1} END {printf "%d\n", s}'; }
read s0 c0 <<< "$(stat)"; n0=$(ns); sleep "$DUR"; read s1 c1 <<< "$(stat)"; n1=$(ns)
HZ=$(getconf CLK_TCK)
awk -v s=$((s1-s0)) -v c=$((c1-c0)) -v ns=$((n1-n0)) -v hz=$HZ -v d=$DUR -v n="$1" 'BEGIN {
  printf "%s: exporter %.2f s CPU in %d s = %.2f s/hour (threads run time: %.3f s/hour); crm_mon+cibadmin %.1f s/hour\n",
    n, s/hz, d, s/hz*3600/d, ns/1e9*3600/d, c/hz*3600/d }'
grep -c 'level=error\|refresh failed' "$T/log" | sed 's/^/error or failed-refresh lines: /'
