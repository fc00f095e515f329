#!/bin/bash
# Scrape latency against the limit, in one run: p50 of 60 curl scrapes of the
# exporter (32 nodes / 500 resources from the generated fixture) and of a
# static Go server serving the same body from memory, plain and gzip, taken in
# turns; then the RSS high-water mark of a fresh exporter through bursts of 40
# and 100 concurrent scrapes. Usage: test/perf/scrape.sh [BINARY]  (default bin/pgha_exporter)
set -eu
cd "$(dirname "$0")/../.."
BIN=${1:-bin/pgha_exporter}
G=crm/testdata/generated/large-32n-500r
T=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
go build -o "$T/static" test/perf/static.go
args=(--crm.mon-file=$G/crm_mon.xml --crm.cib-file=$G/constraints.xml --crm.node-name=node01 --no-collector.corosync --no-collector.postgres)
wait_up() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return; sleep 0.1; done; echo "not up: $1"; exit 1; }
"$BIN" --web.listen-address=127.0.0.1:19801 "${args[@]}" >/dev/null 2>&1 & EXP=$!
wait_up http://127.0.0.1:19801/metrics
curl -s 127.0.0.1:19801/metrics -o "$T/body.txt"
curl -s -H 'Accept-Encoding: gzip' 127.0.0.1:19801/metrics -o "$T/body.gz"
"$T/static" 127.0.0.1:19802 "$T/body.txt" "$T/body.gz" & ST=$!
wait_up http://127.0.0.1:19802/
p50() { sort -n | awk '{a[NR]=$1} END {printf "%.2f ms\n", a[int((NR+1)/2)]*1000}'; }
# Exporter and static server alternate, request by request, so that both
# see the same machine.
for enc in identity gzip; do
  for i in $(seq 60); do
    for port in 19801 19802; do
      echo "$port $(curl -s -o /dev/null -H "Accept-Encoding: $enc" -w '%{time_total}' 127.0.0.1:$port/metrics)"
    done
  done > "$T/times"
  e=$(awk '$1 == 19801 {print $2}' "$T/times" | p50)
  s=$(awk '$1 == 19802 {print $2}' "$T/times" | p50)
  echo "p50 $enc: exporter $e, static $s, ratio $(awk -v e="${e% ms}" -v s="${s% ms}" 'BEGIN {printf "%.2f", e/s}')"
done
echo "body: $(wc -c < "$T/body.txt") bytes plain, $(wc -c < "$T/body.gz") bytes gzip"
kill $ST $EXP; wait $EXP 2>/dev/null || true
for N in 40 100; do
  for enc in identity gzip; do
    "$BIN" --web.listen-address=127.0.0.1:19811 "${args[@]}" >/dev/null 2>&1 & EXP=$!
    wait_up http://127.0.0.1:19811/metrics
    curl -s -o /dev/null -H "Accept-Encoding: $enc" 127.0.0.1:19811/metrics
    before=$(awk '/VmRSS/{print $2}' /proc/$EXP/status)
    codes=$(seq $N | xargs -P $N -I{} curl -s -o /dev/null -H "Accept-Encoding: $enc" -w '%{http_code}\n' 127.0.0.1:19811/metrics | sort | uniq -c | tr -s ' \n' ' ')
    echo "burst $N $enc: RSS before ${before} kB, VmHWM $(awk '/VmHWM/{print $2}' /proc/$EXP/status) kB, HTTP codes:$codes"
    kill $EXP; wait $EXP 2>/dev/null || true
  done
done
