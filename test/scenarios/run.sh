#!/usr/bin/env bash
# test/scenarios/run.sh - records the tutorial's 23 failover scenarios (plus two
# planned actions) on the live lab of test/lab and stores each episode under
# alerts/testdata/scenarios/<NN>-<slug>/ (README.md there says what is kept).
#
# Usage (root, Debian 12):  test/scenarios/run.sh [all | N|slug ...]
#   make scenarios [SCENARIOS="1 3 sync-standby-power"]
#
# For every scenario: bring the lab to the reference state (pgdb1 PRI, pgdb2
# HS:sync, pgdb3 HS:async) and wait until it has been so for BASELINE seconds
# (plus VIEW_LAG, the exporters' and Prometheus's delay)
# with no alert firing but PghaStonithDisabled and PghaFailoverRecent (the
# recovery of the previous scenario may switch the primary back), and pgdb1's
# promotion at least PROMOTION_HOLD seconds old; inject the fault; poll the
# cluster's status line until the fault is SETTLE_AFTER seconds old and the
# line has not changed for STABLE seconds (bounded by MAX_WINDOW); then record
# crm_mon XML and `check all` on every running node and, from the lab's
# Prometheus, the raw samples of every exporter series and the ALERTS series
# over the whole episode; then `lab.sh recover`.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(cd "$(dirname "$SELF")/../.." && pwd)
LAB=$REPO/test/lab/lab.sh
OUT=${PGHA_SCENARIOS_DIR:-$REPO/alerts/testdata/scenarios}
BIN=${PGHA_EXPORTER_BIN:-$REPO/bin/pgha_exporter}
PROM=http://10.77.0.20:9090
NODES=(pgdb1 pgdb2 pgdb3)

BASELINE=${PGHA_SCENARIO_BASELINE:-30}     # s of healthy state recorded before the fault
# The exporters see a change up to a crm_mon refresh (5 s) and Prometheus a
# scrape interval (5 s) after the lab's status line does: the status line must
# have been healthy this much longer than BASELINE before the fault, or the
# recorded baseline starts inside the reset (pgdb3's moment in standby).
VIEW_LAG=${PGHA_SCENARIO_VIEW_LAG:-15}
# A recovery that promoted pgdb1 again (after a failover, or a quorum loss
# that stopped it) must be this old at the fault: the check names a promotion
# followed within 2 minutes by a node loss or failure as the failover, and the
# recording would show the recovery's switchback instead of a steady cluster.
PROMOTION_HOLD=${PGHA_SCENARIO_PROMOTION_HOLD:-150}
SETTLE_AFTER=${PGHA_SCENARIO_WINDOW:-150}  # s after the fault: every rule's for: (<= 2m) can elapse
STABLE=${PGHA_SCENARIO_STABLE:-20}         # s without a status change = settled
MAX_WINDOW=${PGHA_SCENARIO_MAX_WINDOW:-240}

export PGHA_EXPORTER_BIN=$BIN
export PGHA_PG_DSN="host=/run/postgresql user=postgres dbname=postgres"

# number|slug|title|fault steps (";"-separated lab.sh fault arguments, run at once)
SCENARIOS=(
  "1|primary-network|Primary (pgdb1) loses its network|net-down pgdb1"
  "2|primary-postgres|Primary's PostgreSQL is killed (kill -9)|kill-postgres pgdb1"
  "3|primary-power|Primary loses power|power-off pgdb1"
  "4|primary-vip-rep|Primary's vip-rep (pgdbrepvip) fails|vip-rep-fail"
  "5|primary-vip-master|Primary's vip-master (pgdbclivip) fails|vip-fail"
  "6|sync-network|Sync standby (pgdb2) loses its network|net-down pgdb2"
  "7|sync-postgres|Sync standby's PostgreSQL is killed|kill-postgres pgdb2"
  "8|sync-power|Sync standby loses power|power-off pgdb2"
  "9|async-network|Async standby (pgdb3) loses its network|net-down pgdb3"
  "10|async-postgres|Async standby's PostgreSQL is killed|kill-postgres pgdb3"
  "11|async-power|Async standby loses power|power-off pgdb3"
  "12|standbys-network|Sync and async standbys lose their network|net-down pgdb2;net-down pgdb3"
  "13|standbys-power|Sync and async standbys lose power|power-off pgdb2;power-off pgdb3"
  "14|standbys-postgres|Sync and async standbys' PostgreSQL is killed|kill-postgres pgdb2;kill-postgres pgdb3"
  "15|primary-sync-network|Primary and sync standby lose their network|net-down pgdb1;net-down pgdb2"
  "16|primary-sync-power|Primary and sync standby lose power|power-off pgdb1;power-off pgdb2"
  "17|primary-sync-postgres|Primary's and sync standby's PostgreSQL is killed|kill-postgres pgdb1;kill-postgres pgdb2"
  "18|primary-async-network|Primary and async standby lose their network|net-down pgdb1;net-down pgdb3"
  "19|primary-async-power|Primary and async standby lose power|power-off pgdb1;power-off pgdb3"
  "20|primary-async-postgres|Primary's and async standby's PostgreSQL is killed|kill-postgres pgdb1;kill-postgres pgdb3"
  "21|all-network|All three nodes lose their network|net-down pgdb1;net-down pgdb2;net-down pgdb3"
  "22|all-power|All three nodes lose power|power-off pgdb1;power-off pgdb2;power-off pgdb3"
  "23|all-postgres|All three PostgreSQL instances are killed|kill-postgres pgdb1;kill-postgres pgdb2;kill-postgres pgdb3"
  "24|planned-standby|Planned: the sync standby (pgdb2) is put in node standby|standby pgdb2"
  "25|planned-maintenance|Planned: the cluster is put in maintenance mode|maintenance on"
)

log() { printf '%s [scenarios] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now_ms() { date +%s%3N; }
lab() { bash "$LAB" "$@"; }
prom() { ip netns exec pgmon curl -sf --max-time 20 "$PROM/api/v1/$1" "${@:2}"; }
status() { lab status 2>/dev/null || echo "status-failed"; }
# The reference state exactly: pgdb1 PRI, pgdb2 HS:sync, pgdb3 HS:async.
HEALTHY_RE='quorum=yes dc=pgdb[123] online=3/3 promoted=pgdb1 vip=pgdb1 pgdb1=PRI pgdb2=HS:sync pgdb3=HS:async standby=- maint=no failed=0 '
ANY_HEALTHY_RE=$(lab help | sed -n 's/^Healthy regex: //p')

# healthy_for SECS TIMEOUT: poll until the reference state has held SECS seconds,
# the exporters answer and Prometheus shows no firing alert but
# PghaStonithDisabled and PghaFailoverRecent. 0 on success, 1 on timeout.
healthy_for() {
  local want=$1 to=$2 t0 since="" line a
  t0=$(now_ms)
  while (( $(now_ms) - t0 < to * 1000 )); do
    line=$(status)
    a=$(prom query --data-urlencode 'query=count(ALERTS{alertstate="firing",alertname!~"PghaStonithDisabled|PghaFailoverRecent"}) or count(up{job="pgha"} == 0)' 2>/dev/null \
        | jq -r '.data.result | length' 2>/dev/null || echo err)
    if [[ $line =~ $HEALTHY_RE && $a == 0 ]]; then
      [[ -z $since ]] && since=$(now_ms)
      (( $(now_ms) - since >= want * 1000 )) && return 0
    else
      since=""
    fi
    sleep 1
  done
  return 1
}

# promotion_age: seconds since the newest successful promote in pgdb1's
# crm_mon operation history (crm_mon prints the host's local time; the lab's
# nodes share the host's zone); nothing when there is none.
promotion_age() {
  local last
  last=$(lab exec pgdb1 timeout 20 crm_mon -1 --output-as=xml 2>/dev/null \
    | grep -o 'task="promote" rc="0"[^>]*' | sed -n 's/.*last-rc-change="\([^"]*\)".*/\1/p' \
    | while read -r d; do date -d "$d" +%s; done | sort -n | tail -1) || true
  [[ -n $last ]] && echo $(( $(date +%s) - last ))
  return 0
}

ensure_lab() {
  if ! lab status >/dev/null 2>&1 || [[ $(status) == *view=none* ]]; then
    log "lab not running: lab.sh up"
    lab up >&2
  fi
}

reset_lab() {
  # recover is idempotent: it does nothing but wait when the lab is healthy.
  if [[ ! $(status) =~ $HEALTHY_RE ]]; then
    log "reset: $(status)"
    if ! lab recover >&2; then
      log "recover failed; rebuilding the lab (down + up)"
      lab down >&2 || lab down --hard >&2 || true
      lab up >&2
    fi
  fi
  # recover accepts either standby as the sync one; the scenarios need pgdb2.
  if [[ $(status) =~ $ANY_HEALTHY_RE && ! $(status) =~ $HEALTHY_RE ]]; then
    log "reset: making pgdb2 the sync standby (pgdb3 in standby for a moment)"
    lab fault standby pgdb3 >&2
    lab wait-state 'pgdb2=HS:sync' 180 >&2 || true
    lab fault unstandby pgdb3 >&2
    lab wait-state "$HEALTHY_RE" 180 >&2 || true
  fi
  if ! healthy_for $((BASELINE + VIEW_LAG)) 300; then
    log "not healthy for $((BASELINE + VIEW_LAG))s within 300s ($(status)); recover once more"
    lab recover >&2 || { lab down --hard >&2 || true; lab up >&2; }
    healthy_for $((BASELINE + VIEW_LAG)) 300 || return 1
  fi
  local age
  age=$(promotion_age)
  if [[ -n $age ]] && (( age < PROMOTION_HOLD )); then
    log "pgdb1 promoted ${age}s ago: holding the reference state $((PROMOTION_HOLD - age))s more"
    healthy_for $((PROMOTION_HOLD - age)) 600 || return 1
  fi
}

# compact JSON of a Prometheus matrix with timestamps in ms relative to the fault.
compact() {
  local t0=$1
  jq -c --argjson t0 "$t0" '[.data.result[] | {m: .metric,
      t: [.values[] | ((.[0] * 1000 | round) - $t0)],
      v: [.values[] | (.[1] as $s | try ($s | tonumber) catch $s)]}] | sort_by(.m | tostring)'
}

record_one() {
  local spec=$1 num slug title steps dir t_fault t_end line prev last_change tl=() i recovered rec_ms
  IFS='|' read -r num slug title steps <<<"$spec"
  dir=$OUT/$(printf '%02d' "$num")-$slug
  log "=== $num $slug: $title"
  ensure_lab
  local r0; r0=$(now_ms)
  reset_lab || { log "$slug: could not reach the reference state; skipped"; return 1; }
  local reset_ms=$(( $(now_ms) - r0 ))
  local start_line; start_line=$(status)
  log "start: $start_line"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp/nodes"

  # Inject every step at once.
  local pids=() s
  t_fault=$(now_ms)
  IFS=';' read -r -a st <<<"$steps"
  for s in "${st[@]}"; do
    # shellcheck disable=SC2086
    lab fault $s >>"$dir.tmp/fault.log" 2>&1 &
    pids+=($!)
  done
  local frc=0
  for s in "${pids[@]}"; do wait "$s" || frc=1; done
  local inject_ms=$(( $(now_ms) - t_fault ))
  ((frc == 0)) || log "WARNING: a fault step failed (see fault.log)"

  # Poll the status line until settled (bounded).
  prev=$start_line; last_change=0
  tl+=("$(jq -cn --arg l "$start_line" '[0, $l]')")
  while :; do
    line=$(status)
    i=$(( $(now_ms) - t_fault ))
    if [[ $line != "$prev" ]]; then
      tl+=("$(jq -cn --argjson t "$i" --arg l "$line" '[$t, $l]')")
      prev=$line; last_change=$i
      log "  +$((i / 1000))s $line"
    fi
    (( i >= SETTLE_AFTER * 1000 && i - last_change >= STABLE * 1000 )) && break
    (( i >= MAX_WINDOW * 1000 )) && break
    sleep 1
  done
  t_end=$(now_ms)

  # crm_mon and check on every running node.
  local n code running=()
  for n in "${NODES[@]}"; do
    if lab exec "$n" true >/dev/null 2>&1; then
      running+=("$n")
      lab exec "$n" timeout 20 crm_mon -1 --output-as=xml >"$dir.tmp/nodes/$n.crm_mon.xml" 2>/dev/null || true
      code=0
      lab exec "$n" timeout 60 "$BIN" check all --crm.node-name="$n" --stonith-disabled=ok -t 15s \
        >"$dir.tmp/nodes/$n.check.txt" 2>/dev/null || code=$?
      echo "$code" >"$dir.tmp/nodes/$n.check.exit"
    fi
  done

  # Raw samples from fault-BASELINE to the end, and the alerts Prometheus fired.
  local win=$(( (t_end - t_fault) / 1000 + BASELINE + 5 ))
  local at; at=$(awk -v t="$t_end" 'BEGIN{printf "%.3f", t / 1000}')
  prom query --data-urlencode "query={job=\"pgha\",__name__=~\"pgha_.*|up\"}[${win}s]" --data-urlencode "time=$at" \
    | compact "$t_fault" | gzip -9n >"$dir.tmp/series.json.gz"
  prom query --data-urlencode "query=ALERTS[${win}s]" --data-urlencode "time=$at" \
    | compact "$t_fault" >"$dir.tmp/alerts.json"

  # Back to the reference state (timed); the next scenario checks it again.
  local rc=0
  r0=$(now_ms)
  lab recover >"$dir.tmp/recover.log" 2>&1 || rc=$?
  rec_ms=$(( $(now_ms) - r0 ))
  recovered=$([[ $rc == 0 ]] && echo true || echo false)

  local commit dirty
  commit=$(git -C "$REPO" rev-parse HEAD)
  dirty=$([[ -n $(git -C "$REPO" status --porcelain -- alerts/*.yml test/lab cmd collector crm pg nagios 2>/dev/null) ]] && echo true || echo false)
  jq -n --argjson num "$num" --arg slug "$slug" --arg title "$title" --arg steps "$steps" \
     --arg start "$start_line" --argjson fault_epoch_ms "$t_fault" --argjson inject_ms "$inject_ms" \
     --argjson end_ms "$((t_end - t_fault))" --argjson baseline_ms "$((BASELINE * 1000))" \
     --argjson tl "[$(IFS=,; echo "${tl[*]}")]" --argjson reset_ms "$reset_ms" \
     --argjson recover_ms "$rec_ms" --argjson recovered "$recovered" \
     --arg running "${running[*]}" --arg commit "$commit" --argjson dirty "$dirty" \
     --arg recorded "$(date -u +%FT%TZ)" \
     --arg exporter "$("$BIN" --version 2>&1 | head -1)" \
     --arg pacemaker "$(dpkg-query -W -f='${Version}' pacemaker)" \
     --arg corosync "$(dpkg-query -W -f='${Version}' corosync)" \
     --arg ra "$(dpkg-query -W -f='${Version}' resource-agents)" \
     --arg pg "$(dpkg-query -W -f='${Version}' postgresql-15)" \
     --arg prometheus "$(dpkg-query -W -f='${Version}' prometheus)" \
     '{number: $num, slug: $slug, title: $title, fault: ($steps | split(";")), start_status: $start,
       fault_epoch_ms: $fault_epoch_ms, inject_ms: $inject_ms, baseline_ms: $baseline_ms, end_ms: $end_ms,
       status_timeline: $tl, running_nodes_at_end: ($running | split(" ") | map(select(. != ""))),
       reset_ms: $reset_ms, recover_ms: $recover_ms, recovered: $recovered,
       commit: $commit, rules_or_lab_modified: $dirty, recorded_at: $recorded,
       versions: {exporter: $exporter, pacemaker: $pacemaker, corosync: $corosync,
                  resource_agents: $ra, postgresql: $pg, prometheus: $prometheus}}' >"$dir.tmp/meta.json"
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  log "$slug: recorded ($(du -sh "$dir" | cut -f1)); recover ${recovered} in $((rec_ms / 1000))s"
}

main() {
  [[ $(id -u) -eq 0 ]] || { echo "run.sh: needs root (the lab)" >&2; exit 1; }
  [[ -x $BIN ]] || { echo "run.sh: $BIN missing (make build)" >&2; exit 1; }
  local want=("$@") spec num slug sel=() w ok=0 fail=0 t0
  ((${#want[@]})) || want=(all)
  # In the order asked for ("all" = by number).
  for w in "${want[@]}"; do
    for spec in "${SCENARIOS[@]}"; do
      IFS='|' read -r num slug _ <<<"$spec"
      if [[ $w == all || $w == "$num" || $w == "$slug" ]]; then sel+=("$spec"); fi
    done
  done
  ((${#sel[@]})) || { echo "run.sh: no scenario matches: ${want[*]}" >&2; exit 2; }
  mkdir -p "$OUT"
  t0=$(now_ms)
  for spec in "${sel[@]}"; do
    if record_one "$spec"; then ok=$((ok + 1)); else fail=$((fail + 1)); fi
  done
  log "done: $ok recorded, $fail failed, in $(( ($(now_ms) - t0) / 1000 ))s"
  ((fail == 0))
}

main "$@"
