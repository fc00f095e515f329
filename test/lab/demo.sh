#!/usr/bin/env bash
# make demo: the live three-node lab when this machine can run it (root,
# network namespaces), else the exporter on a rendered healthy cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=test/lab/lab.sh

fallback() {
  echo "demo: $1"
  echo "demo: falling back to a fixture: the exporter serves a healthy 3-node cluster rendered by the real crm_mon"
  echo "demo: open http://${DEMO_ADDR:-127.0.0.1:9732}/metrics (Ctrl-C stops); try: bin/pgha_exporter check cluster --from=http://${DEMO_ADDR:-127.0.0.1:9732}"
  exec bin/pgha_exporter --web.listen-address="${DEMO_ADDR:-127.0.0.1:9732}" \
    --crm.mon-file=crm/testdata/generated/healthy/crm_mon.xml --crm.cib-file=crm/testdata/generated/healthy/cib.xml \
    --crm.node-name=pgdb1 --no-collector.corosync --no-collector.postgres
}

[[ ${PGHA_DEMO:-lab} == fixture ]] && fallback "PGHA_DEMO=fixture"
[[ $(id -u) -eq 0 ]] || fallback "the live lab needs root (network namespaces, daemons)"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || fallback "network namespaces are not available here"
unshare -m true 2>/dev/null || fallback "mount namespaces are not available here"

export PGHA_EXPORTER_BIN=$PWD/bin/pgha_exporter
export PGHA_PG_DSN="host=/run/postgresql user=postgres dbname=postgres"
start=$(date +%s)
bash "$lab" up
echo
echo "demo: live cluster up in $(( $(date +%s) - start ))s: $(bash "$lab" status)"
# The lab's addresses exist only inside its namespaces: nsforward listens on
# the host's loopback and connects from inside pgmon (stopped by make demo-down).
lab_dir=${PGHA_LAB_DIR:-/tmp/pgha-lab}
host=${DEMO_HOST:-127.0.0.1}
fwd=("$host:19090=10.77.0.20:9090")
for n in 1 2 3; do fwd+=("$host:1973$n=10.77.0.1$n:9732"); done
if [[ -f $lab_dir/nsforward.pid ]]; then kill "$(cat "$lab_dir/nsforward.pid")" 2>/dev/null || true; fi
nohup bin/nsforward -netns pgmon "${fwd[@]}" >"$lab_dir/nsforward.log" 2>&1 &
echo $! >"$lab_dir/nsforward.pid"
for _ in $(seq 50); do curl -sf -o /dev/null "http://$host:19090/-/ready" && break; sleep 0.2; done
echo "demo: open in a browser on this machine (or through ssh -L 19090:127.0.0.1:19090 from yours):"
echo "  Prometheus alerts:   http://$host:19090/classic/alerts"
echo "  Prometheus graph:    http://$host:19090/classic/graph?g0.expr=pgha_pacemaker_primary&g0.tab=1"
for n in 1 2 3; do
  echo "  exporter pgdb$n:      http://$host:1973$n/   (metrics: http://$host:1973$n/metrics)"
done
echo "  checks:          sudo $lab exec pgdb1 $PGHA_EXPORTER_BIN check all --crm.node-name=pgdb1"
echo "demo: trigger a failover:  sudo $lab fault kill-postgres pgdb1   (then: sudo $lab status; sudo $lab recover)"
echo "demo: other faults:        sudo $lab fault standby|power-off|net-down <node>, fault vip-fail, fault maintenance on"
echo "demo: tear down:           make demo-down   (stops the forwarder, then sudo $lab down)"
