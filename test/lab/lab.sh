#!/usr/bin/env bash
# test/lab/lab.sh - a live three-node PostgreSQL HA lab for pgha_exporter (issue 7).
#
# Builds, inside network/mount/UTS namespaces on this one machine:
#   * pgdb1..pgdb3: corosync 3 (knet) + pacemaker 2.1 + PostgreSQL 15 under
#     ocf:heartbeat:pgsql (promotable clone "mspostgresql", rep_mode=sync) and
#     the IPaddr2 group "master-group" (vip-master 10.77.0.100, vip-rep 10.77.0.101);
#   * optionally one pgha_exporter per node and a Prometheus in namespace "pgmon".
# Everything lives under ${PGHA_LAB_DIR:-/tmp/pgha-lab}; every fixed daemon path
# (/etc/corosync, /var/lib/pacemaker, /run, ...) is a bind mount that exists only
# inside the node's private mount namespace. The root namespace gets no address on
# 10.77.0.0/24. Only processes found in the lab's own namespaces are ever killed.
#
# Usage: see `lab.sh help` (and test/lab/README.md).
set -euo pipefail

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------
SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SELF")/../.." && pwd)

LAB=${PGHA_LAB_DIR:-/tmp/pgha-lab}
NODES=(pgdb1 pgdb2 pgdb3)
BR_NS=pgbr                       # namespace holding the bridge br0 (no IP)
MON_NS=pgmon                     # namespace holding Prometheus
NET=10.77.0                      # lab /24, exists only inside the lab namespaces
MON_IP=$NET.20
VIP_MASTER=$NET.100
VIP_REP=$NET.101
PGBIN=/usr/lib/postgresql/15/bin
# Common PostgreSQL path on every node (the pgsql primitive has one pgdata/tmpdir
# for all nodes). Each node bind-mounts its own directory here. The directory must
# already exist on the host (the lab writes nothing outside its own directory);
# /var/lib/postgresql/15 is created by Debian's postgresql-15 package.
PGROOT=${PGHA_LAB_PGROOT:-/var/lib/postgresql/15}
PGDATA=$PGROOT/data
PGTMP=$PGROOT/tmp
PGARCHIVE=$PGROOT/archive
PGLOG=$PGROOT/postgresql.log
REPUSER=replicator
OCF_FUNCS=/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs

# Exporter wiring. {node}, {ip} and {port} are substituted; the string is split
# like a shell command line (quotes are honoured, nothing is expanded).
EXPORTER_BIN=${PGHA_EXPORTER_BIN:-$REPO_ROOT/bin/pgha_exporter}
EXPORTER_PORT=${PGHA_EXPORTER_PORT:-9732}
EXPORTER_ARGS=${PGHA_EXPORTER_ARGS:-'--web.listen-address={ip}:{port} --crm.node-name={node}'}
PROM_PORT=9090
PROMETHEUS=${PGHA_LAB_PROMETHEUS:-auto}   # auto = only when the exporter binary exists; 1 / 0

UP_TIMEOUT=${PGHA_LAB_UP_TIMEOUT:-300}      # seconds, whole `up`
STOP_TIMEOUT=${PGHA_LAB_STOP_TIMEOUT:-60}   # seconds, graceful pacemaker stop in `down`

# ref_re P: regular expression (on the status line) of "P is PRI with the VIPs,
# one other node HS:sync and the last one HS:async, 3 nodes online, quorum".
ref_re() {
    local p=$1 n a="" b="" first=1
    for n in "${NODES[@]}"; do
        if [[ $n == "$p" ]]; then a+=" $n=PRI"; b+=" $n=PRI"
        elif ((first)); then a+=" $n=HS:sync"; b+=" $n=HS:async"; first=0
        else a+=" $n=HS:async"; b+=" $n=HS:sync"; fi
    done
    echo "quorum=yes dc=pgdb[123] online=3/3 promoted=$p vip=$p (${a# }|${b# }) "
}
HEALTHY_RE=$(ref_re pgdb1)   # the reference state: pgdb1 primary

PACKAGES=(corosync pacemaker pacemaker-cli-utils resource-agents postgresql-15
          iproute2 util-linux procps libxml2-utils curl prometheus)

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
log()  { printf '%s [lab] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }
# since T0_MS -> "12.3" seconds
since() { local d=$(( $(now_ms) - $1 )); printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100)); }
node_ip() { echo "$NET.1${1#pgdb}"; }
is_node() { [[ ${1:-} =~ ^pgdb[123]$ ]]; }
ndir() { echo "$LAB/nodes/$1"; }
ns_exists() { [[ -e /run/netns/$1 ]]; }
require_root() { [[ $(id -u) -eq 0 ]] || die "must run as root"; }
need_node() { is_node "${1:-}" || die "expected a node name (pgdb1|pgdb2|pgdb3), got '${1:-}'"; }

# Stage timer for `up` and `recover`.
STAGES=()
stage_begin() { STAGE_NAME=$1; STAGE_T0=$(now_ms); log "stage: $1 ..."; }
stage_end() { local s; s=$(since "$STAGE_T0"); STAGES+=("$(printf '%-44s %6ss' "$STAGE_NAME" "$s")"); log "stage: $STAGE_NAME done in ${s}s"; }

# Namespace registry: every mount and network namespace the lab creates is
# recorded in $LAB/ns.ids as "mnt:[inode]" / "net:[inode]". A process belongs
# to the lab only if BOTH its mount and its network namespace are recorded.
record_ns() { echo "$1" >>"$LAB/ns.ids"; }
netns_id() { echo "net:[$(stat -L -c %i "/run/netns/$1")]"; }

# lab_pids [MNTID]: "pid comm" of every process in the lab's namespaces
# (optionally only those in mount namespace MNTID).
lab_pids() {
    local only=${1:-} d pid m n l
    [[ -s $LAB/ns.ids ]] || return 0
    local -A want=()
    while read -r l; do [[ -n $l ]] && want[$l]=1; done <"$LAB/ns.ids"
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        m=$(readlink "$d/ns/mnt" 2>/dev/null) || continue
        [[ -n ${want[$m]:-} ]] || continue
        [[ -z $only || $m == "$only" ]] || continue
        n=$(readlink "$d/ns/net" 2>/dev/null) || continue
        [[ -n ${want[$n]:-} ]] || continue
        echo "$pid $(cat "$d/comm" 2>/dev/null || echo '?')"
    done
}

# launcher_pid NODE: PID of the node's launcher (the nsenter handle), if alive
# and still in the mount namespace it recorded.
launcher_pid() {
    local d p
    d=$(ndir "$1")
    [[ -r $d/launcher.pid && -r $d/mntns ]] || return 1
    p=$(<"$d/launcher.pid")
    [[ -n $p && -d /proc/$p ]] || return 1
    [[ $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$(<"$d/mntns")" ]] || return 1
    echo "$p"
}
node_up() { launcher_pid "$1" >/dev/null; }

# on NODE CMD...: run CMD "on" the node (its mount, network and UTS namespaces).
on() {
    local n=$1 p
    shift
    p=$(launcher_pid "$n") || { log "$n is not running"; return 1; }
    nsenter -t "$p" -m -n -u -- "$@"
}
on_pg() { local n=$1; shift; on "$n" runuser -u postgres -- "$@"; }

# quorate_node: a running node that is in the quorate partition (else any running node).
quorate_node() {
    local n any=""
    for n in "${NODES[@]}"; do
        node_up "$n" || continue
        [[ -z $any ]] && any=$n
        if on "$n" timeout 5 corosync-quorumtool -s >/dev/null 2>&1; then echo "$n"; return 0; fi
    done
    [[ -n $any ]] && { echo "$any"; return 0; }
    return 1
}
crm() { local q; q=$(quorate_node) || die "no cluster node is running"; on "$q" "$@"; }

# PostgreSQL running on NODE? (postmaster.pid present and its PID alive in the node)
pg_running() {
    local f p
    f=$(ndir "$1")/pg/data/postmaster.pid
    [[ -s $f ]] || return 1
    read -r p <"$f" || return 1
    [[ -n $p && -d /proc/$p ]] || return 1
    [[ $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$(cat "$(ndir "$1")/mntns" 2>/dev/null)" ]]
}

# ---------------------------------------------------------------------------
# Cluster status (one line)
# ---------------------------------------------------------------------------
# collect_status fills ST_* from one crm_mon XML view: the first node (pgdb1..3)
# whose partition has quorum, else the first node that answers.
xp() { xmllint --xpath "$2" - <<<"$1" 2>/dev/null || true; }
collect_status() {
    local n x q first="" firstn="" expr
    ST_VIEW=none; ST_XML=""
    for n in "${NODES[@]}"; do
        node_up "$n" || continue
        x=$(on "$n" timeout 10 crm_mon -1 --output-as=xml 2>/dev/null) || true
        [[ $x == *"<summary>"* ]] || continue
        q=$(xp "$x" 'string(//current_dc/@with_quorum)')
        if [[ $q == true ]]; then ST_XML=$x; ST_VIEW=$n; break; fi
        [[ -z $first ]] && { first=$x; firstn=$n; }
    done
    [[ -z $ST_XML && -n $first ]] && { ST_XML=$first; ST_VIEW=$firstn; }
    ST_QUORUM=no; ST_DC=-; ST_MAINT=-; ST_FAILED=-; ST_VIPM=-; ST_VIPR=-; ST_PROMOTED=-
    declare -gA ST_ONLINE=() ST_STANDBY=() ST_PG=() ST_ROLE=()
    [[ -n $ST_XML ]] || return 0
    # One xmllint call: every field joined with '|'.
    expr="concat(string(//current_dc/@present),'|',string(//current_dc/@with_quorum),'|',string(//current_dc/@name)"
    expr+=",'|',string(//cluster_options/@maintenance-mode),'|',count(//failures/failure)"
    expr+=",'|',string(//resource[@id=\"vip-master\"][@active=\"true\"]/node/@name)"
    expr+=",'|',string(//resource[@id=\"vip-rep\"][@active=\"true\"]/node/@name)"
    expr+=",'|',string(//clone[@id=\"mspostgresql\"]/resource[@role=\"Promoted\"]/node/@name)"
    for n in "${NODES[@]}"; do
        expr+=",'|',string(//nodes/node[@name=\"$n\"]/@online),'|',string(//nodes/node[@name=\"$n\"]/@standby)"
        expr+=",'|',string(//node_attributes/node[@name=\"$n\"]/attribute[@name=\"postgresql-status\"]/@value)"
        expr+=",'|',string(//clone[@id=\"mspostgresql\"]/resource[node/@name=\"$n\"]/@role)"
    done
    expr+=")"
    local IFS='|' f
    read -r -a f <<<"$(xp "$ST_XML" "$expr")|end"
    [[ ${f[0]:-} == true ]] && ST_DC=${f[2]:--}
    [[ ${f[1]:-} == true ]] && ST_QUORUM=yes
    case ${f[3]:-} in true) ST_MAINT=yes ;; false) ST_MAINT=no ;; esac
    ST_FAILED=${f[4]:--}; ST_VIPM=${f[5]:--}; ST_VIPR=${f[6]:--}; ST_PROMOTED=${f[7]:--}
    local i=8
    for n in "${NODES[@]}"; do
        ST_ONLINE[$n]=${f[i]:-}; ST_STANDBY[$n]=${f[i+1]:-}; ST_PG[$n]=${f[i+2]:-}; ST_ROLE[$n]=${f[i+3]:-}
        i=$((i + 4))
    done
}

# status_line: e.g.
# quorum=yes dc=pgdb3 online=3/3 promoted=pgdb1 vip=pgdb1 pgdb1=PRI pgdb2=HS:sync pgdb3=HS:async standby=- maint=no failed=0 view=pgdb1
status_line() {
    collect_status
    local n online=0 sb="" vip tok=""
    for n in "${NODES[@]}"; do
        if [[ ${ST_ONLINE[$n]:-} == true ]]; then
            online=$((online + 1))
            tok+=" $n=${ST_PG[$n]:--}"
        elif [[ -n ${ST_ONLINE[$n]:-} ]]; then
            tok+=" $n=OFFLINE"
        else
            tok+=" $n=-"
        fi
        [[ ${ST_STANDBY[$n]:-} == true ]] && sb+="${sb:+,}$n"
    done
    if [[ $ST_VIPM == "$ST_VIPR" ]]; then vip=$ST_VIPM; else vip="$ST_VIPM,$ST_VIPR"; fi
    printf 'quorum=%s dc=%s online=%d/3 promoted=%s vip=%s%s standby=%s maint=%s failed=%s view=%s\n' \
        "$ST_QUORUM" "$ST_DC" "$online" "$ST_PROMOTED" "$vip" "$tok" "${sb:--}" "$ST_MAINT" "$ST_FAILED" "$ST_VIEW"
}

# wait_state REGEX TIMEOUT: poll the status line every 0.5 s; print it with the
# elapsed time whenever it changes. 0 when it matches, 1 on timeout.
wait_state() {
    local re=$1 to=$2 t0 line prev=""
    t0=$(now_ms)
    while :; do
        line=$(status_line)
        if [[ $line != "$prev" ]]; then printf '  +%5ss %s\n' "$(since "$t0")" "$line"; prev=$line; fi
        if [[ $line =~ $re ]]; then printf 'matched after %ss\n' "$(since "$t0")"; return 0; fi
        if (( $(now_ms) - t0 > to * 1000 )); then
            printf 'TIMEOUT after %ss waiting for /%s/\n' "$(since "$t0")" "$re"
            return 1
        fi
        sleep 0.5
    done
}

# ---------------------------------------------------------------------------
# Packages and pre-flight checks
# ---------------------------------------------------------------------------
ensure_packages() {
    local p missing=()
    for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]} == 0)); then log "packages: all present"; return 0; fi
    log "packages: installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    if [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]]; then
        # The packages start the stock services where systemd is PID 1.
        log "systemd is PID 1: disabling the stock corosync/pacemaker/prometheus services"
        systemctl disable --now pacemaker corosync prometheus 2>/dev/null || true
    fi
}

preflight() {
    local b
    for b in corosync corosync-cfgtool pacemakerd crm_mon cibadmin crm_attribute crm_resource \
             crm_standby xmllint nsenter unshare setsid ip runuser curl; do
        command -v "$b" >/dev/null || die "missing command: $b"
    done
    [[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] || die "PostgreSQL 15 binaries not found in $PGBIN"
    [[ -f $OCF_FUNCS && -x /usr/lib/ocf/resource.d/heartbeat/pgsql ]] || die "resource-agents (pgsql) not installed"
    [[ -d $PGROOT ]] || die "$PGROOT must exist on the host (mount point for the node's PostgreSQL directory); set PGHA_LAB_PGROOT"
    case $LAB in
        /run/*|/var/run/*|/etc/corosync*|/var/lib/pacemaker*|/var/log/pacemaker*|/var/lib/corosync*|/var/log/corosync*|/dev/shm*|"$PGROOT"*)
            die "PGHA_LAB_DIR=$LAB would be hidden by the lab's own bind mounts" ;;
    esac
}

# ---------------------------------------------------------------------------
# State directory (configuration files for every node)
# ---------------------------------------------------------------------------
write_corosync_conf() {
    local f=$1 n
    {
        cat <<'EOF'
# Generated by test/lab/lab.sh (lab only: no crypto)
totem {
    version: 2
    cluster_name: pgcluster
    transport: knet
    token: 3000
    crypto_cipher: none
    crypto_hash: none
}
nodelist {
EOF
        for n in "${NODES[@]}"; do
            printf '    node {\n        ring0_addr: %s\n        name: %s\n        nodeid: %s\n    }\n' "$(node_ip "$n")" "$n" "${n#pgdb}"
        done
        cat <<'EOF'
}
quorum {
    provider: corosync_votequorum
}
logging {
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_stderr: no
    to_syslog: no
    timestamp: on
}
EOF
    } >"$f"
}

# Seed CIB: cluster properties and rsc_defaults only; resources come later.
write_seed_cib() {
    cat >"$1" <<'EOF'
<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" value="5s"/>
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="cib-bootstrap-options-no-quorum-policy" name="no-quorum-policy" value="stop"/>
        <nvpair id="cib-bootstrap-options-cluster-recheck-interval" name="cluster-recheck-interval" value="60s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
    <rsc_defaults>
      <meta_attributes id="rsc_defaults-options">
        <nvpair id="rsc_defaults-options-resource-stickiness" name="resource-stickiness" value="INFINITY"/>
        <nvpair id="rsc_defaults-options-migration-threshold" name="migration-threshold" value="1"/>
      </meta_attributes>
    </rsc_defaults>
  </configuration>
  <status/>
</cib>
EOF
}

# The Debian 12 bug: Pacemaker 2.1.5 parses `crm_attribute -p -v -INFINITY` as
# `-I -N FINITY` (CLBZ#5509, fixed in 2.1.6), so every pgsql start hangs until its
# timeout. The lab bind-mounts (inside its own mount namespaces only) a copy of
# ocf-shellfuncs whose ocf_promotion_score puts -p AFTER the passed arguments.
write_patched_ocf_shellfuncs() {
    local dst=$LAB/ocf-shellfuncs
    if grep -q 'crm_attribute -p \$@' "$OCF_FUNCS"; then
        sed 's|crm_attribute -p \$@|crm_attribute "$@" -p|' "$OCF_FUNCS" >"$dst"
        chmod 0644 "$dst"
        grep -q 'crm_attribute "\$@" -p' "$dst" || die "could not patch ocf-shellfuncs"
        log "ocf-shellfuncs: -INFINITY workaround prepared ($dst)"
    else
        rm -f "$dst"
        log "ocf-shellfuncs: 'crm_attribute -p \$@' not found, no workaround needed/applied"
    fi
}

prepare_state() {
    local n d
    rm -rf "$LAB/nodes" "$LAB/mon" "$LAB/ns.ids" "$LAB/cib"
    mkdir -p "$LAB" "$LAB/cib"
    chmod 0755 "$LAB"
    : >"$LAB/ns.ids"
    write_patched_ocf_shellfuncs
    for n in "${NODES[@]}"; do
        d=$(ndir "$n")
        mkdir -p "$d"/{etc-corosync,lib-corosync,log-corosync,run,log}
        mkdir -p "$d"/lib-pacemaker/{cib,pengine,blackbox,cores} "$d/log-pacemaker"
        chmod 0755 "$LAB/nodes" "$d"
        chmod 0700 "$d/lib-corosync"
        write_corosync_conf "$d/etc-corosync/corosync.conf"
        write_seed_cib "$d/lib-pacemaker/cib/cib.xml"
        chown -R hacluster:haclient "$d/lib-pacemaker" "$d/log-pacemaker"
        chmod 0750 "$d"/lib-pacemaker/{cib,pengine,blackbox,cores}
        chmod 0600 "$d/lib-pacemaker/cib/cib.xml"
        chmod 0770 "$d/log-pacemaker"
        install -d -o postgres -g postgres -m 0755 "$d/pg"
        install -d -o postgres -g postgres -m 0700 "$d/pg/data"
        install -d -o postgres -g postgres -m 0755 "$d/pg/tmp" "$d/pg/archive"
    done
}

# ---------------------------------------------------------------------------
# Network namespaces
# ---------------------------------------------------------------------------
add_port() {  # add_port NS IP: netns NS with eth0=IP/24, veth peer v-NS on br0
    local ns=$1 ip=$2
    ip netns add "$ns"
    record_ns "$(netns_id "$ns")"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 type veth peer name "v-$ns" netns "$BR_NS"
    ip -n "$BR_NS" link set "v-$ns" master br0
    ip -n "$BR_NS" link set "v-$ns" up
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up
}

net_create() {
    local n
    # Remember whether /run/netns existed / was mounted, so `down` can undo iproute2's mount.
    [[ -d /run/netns ]] || touch "$LAB/.created-run-netns-dir"
    grep -q ' /run/netns ' /proc/self/mountinfo || touch "$LAB/.created-run-netns-mount"
    for n in "$BR_NS" "${NODES[@]}" "$MON_NS"; do
        ns_exists "$n" && die "network namespace $n already exists (another lab?); run 'lab.sh down' first"
    done
    ip netns add "$BR_NS"
    record_ns "$(netns_id "$BR_NS")"
    ip -n "$BR_NS" link set lo up
    ip -n "$BR_NS" link add br0 type bridge
    ip -n "$BR_NS" link set br0 up
    for n in "${NODES[@]}"; do add_port "$n" "$(node_ip "$n")"; done
    add_port "$MON_NS" "$MON_IP"
}

# ---------------------------------------------------------------------------
# Node launcher (runs INSIDE the node's new mount+UTS namespace)
# ---------------------------------------------------------------------------
node_launcher() {
    local n=$1 d cpid ppid i
    d=$(ndir "$n")
    set +e
    hostname "$n"
    # A "boot": /run and /dev/shm start empty.
    find "$d/run" -mindepth 1 -delete
    set -e
    mount --bind "$d/etc-corosync" /etc/corosync
    mount --bind "$d/lib-corosync" /var/lib/corosync
    mount --bind "$d/log-corosync" /var/log/corosync
    mount --bind "$d/lib-pacemaker" /var/lib/pacemaker
    mount --bind "$d/log-pacemaker" /var/log/pacemaker
    mount --bind "$d/run" /run
    mount -t tmpfs -o mode=1777,size=256m,nosuid,nodev lab-shm /dev/shm
    mount --bind "$d/pg" "$PGROOT"
    [[ -f $LAB/ocf-shellfuncs ]] && mount --bind "$LAB/ocf-shellfuncs" "$OCF_FUNCS"
    install -d -o hacluster -g haclient -m 0750 /run/crm
    install -d -o postgres -g postgres -m 2775 /run/postgresql
    install -d -m 1777 /run/lock
    install -d -m 0755 /run/resource-agents
    readlink /proc/self/ns/mnt >"$d/mntns"
    readlink /proc/self/ns/mnt >>"$LAB/ns.ids"
    echo $$ >"$d/launcher.pid"
    touch "$d/mounts.ready"
    echo "$(date '+%F %T') launcher $$ for $n: mounts done, starting corosync"

    corosync -f &
    cpid=$!
    for ((i = 0; i < 60; i++)); do
        corosync-cfgtool -s >/dev/null 2>&1 && break
        kill -0 "$cpid" 2>/dev/null || { echo "corosync exited"; exit 1; }
        sleep 0.5
    done
    corosync-cfgtool -s >/dev/null 2>&1 || { echo "corosync did not come up"; kill -KILL "$cpid"; exit 1; }
    echo "$(date '+%F %T') corosync $cpid up, starting pacemakerd"

    PCMK_logfile=/var/log/pacemaker/pacemaker.log PCMK_logfacility=none \
        HA_LOGFACILITY=none pacemakerd &
    ppid=$!
    echo "$ppid" >"$d/pacemakerd.pid"

    # SIGTERM to the launcher = graceful node shutdown: pacemaker (stops the
    # resources), then corosync. Bounded; `down` kills leftovers afterwards.
    launcher_stop() {
        echo "$(date '+%F %T') stop requested"
        kill -TERM "$ppid" 2>/dev/null || true
        for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do kill -0 "$ppid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$ppid" 2>/dev/null || true
        wait "$ppid" 2>/dev/null || true
        kill -TERM "$cpid" 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$cpid" 2>/dev/null || true
        echo "$(date '+%F %T') launcher done"
        exit 0
    }
    trap launcher_stop TERM INT
    wait "$ppid" || true
    echo "$(date '+%F %T') pacemakerd exited by itself"
    launcher_stop
}

# Prometheus launcher (runs inside pgmon + a private mount namespace, then execs).
mon_launcher() {
    readlink /proc/self/ns/mnt >"$LAB/mon/mntns"
    readlink /proc/self/ns/mnt >>"$LAB/ns.ids"
    echo $$ >"$LAB/mon/launcher.pid"
    exec prometheus --config.file="$LAB/mon/prometheus.yml" \
        --storage.tsdb.path="$LAB/mon/data" --storage.tsdb.retention.time=2d \
        --web.listen-address="$MON_IP:$PROM_PORT" --web.enable-lifecycle
}

# start_node NODE: start the launcher and wait until its mounts are in place.
start_node() {
    local n=$1 d i
    d=$(ndir "$n")
    node_up "$n" && return 0
    rm -f "$d/launcher.pid" "$d/mntns" "$d/mounts.ready" "$d/pacemakerd.pid"
    PGHA_LAB_DIR=$LAB PGHA_LAB_PGROOT=$PGROOT PGHA_LAB_STOP_TIMEOUT=$STOP_TIMEOUT \
        setsid ip netns exec "$n" unshare -m -u --propagation private "$SELF" __node "$n" \
        </dev/null >>"$d/log/launcher.log" 2>&1 &
    for ((i = 0; i < 40; i++)); do
        [[ -e $d/mounts.ready ]] && node_up "$n" && return 0
        sleep 0.25
    done
    die "$n: launcher did not finish its mounts in 10 s (see $d/log/launcher.log)"
}

# ---------------------------------------------------------------------------
# PostgreSQL data
# ---------------------------------------------------------------------------
pg_conf_append() {
    cat <<EOF

# ---- pgha lab (test/lab/lab.sh) ----
listen_addresses = '*'
port = 5432
wal_level = replica
max_wal_senders = 10
wal_keep_size = 256MB
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 2s
wal_sender_timeout = 10s
wal_receiver_timeout = 10s
restart_after_crash = off
synchronous_commit = on
shared_buffers = 32MB
max_connections = 50
archive_mode = on
archive_command = 'test ! -f $PGARCHIVE/%f && cp %p $PGARCHIVE/%f'
EOF
}

# pg_prepare: initdb on pgdb1, replication role, pg_basebackup to pgdb2/3, stop.
pg_prepare() {
    local n d pids=() rc=0
    for n in "${NODES[@]}"; do
        d=$(ndir "$n")/pg
        rm -rf "$d/data" "$d/tmp" "$d/archive" "$d/postgresql.log"
        install -d -o postgres -g postgres -m 0755 "$d/tmp" "$d/archive"
    done
    d=$(ndir pgdb1)
    # --no-sync (initdb, pg_basebackup): fsync of fresh data is 10+ s on a busy
    # disk and buys nothing in a throw-away lab. PostgreSQL itself keeps fsync=on.
    on_pg pgdb1 "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 --no-sync >"$d/log/initdb.log" 2>&1 || die "initdb failed (see $d/log/initdb.log)"
    pg_conf_append >>"$d/pg/data/postgresql.conf"
    cat >>"$d/pg/data/pg_hba.conf" <<EOF
# pgha lab: trust on the private lab network only
host    all             all             $NET.0/24            trust
host    replication     all             $NET.0/24            trust
EOF
    on_pg pgdb1 "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/prepare.log" -w -t 60 start \
        >>"$d/log/initdb.log" 2>&1 || die "PostgreSQL did not start on pgdb1 (see $d/pg/prepare.log)"
    on_pg pgdb1 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE ROLE $REPUSER REPLICATION LOGIN" \
        >>"$d/log/initdb.log" 2>&1 || die "CREATE ROLE failed"
    for n in pgdb2 pgdb3; do
        rm -rf "$(ndir "$n")/pg/data"
        on_pg "$n" timeout 120 "$PGBIN/pg_basebackup" -h "$(node_ip pgdb1)" -U "$REPUSER" -D "$PGDATA" \
            -X stream -c fast --no-sync >"$(ndir "$n")/log/basebackup.log" 2>&1 &
        pids+=($!)
    done
    for n in "${pids[@]}"; do wait "$n" || rc=1; done
    on_pg pgdb1 "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >>"$d/log/initdb.log" 2>&1 || rc=1
    ((rc == 0)) || die "pg_basebackup / stop failed (see $LAB/nodes/*/log/basebackup.log)"
}

# ---------------------------------------------------------------------------
# Resources (tutorial shape, as in the recorded live CIB)
# ---------------------------------------------------------------------------
resources_xml() {
    local vip
    echo '<resources>'
    echo '  <group id="master-group">'
    for vip in vip-master vip-rep; do
        local ip=$VIP_MASTER on_start=restart on_stop=block
        [[ $vip == vip-rep ]] && { ip=$VIP_REP; on_start=stop; on_stop=ignore; }
        cat <<EOF
    <primitive id="$vip" class="ocf" provider="heartbeat" type="IPaddr2">
      <instance_attributes id="$vip-ia">
        <nvpair id="$vip-ia-ip" name="ip" value="$ip"/>
        <nvpair id="$vip-ia-nic" name="nic" value="eth0"/>
        <nvpair id="$vip-ia-cidr_netmask" name="cidr_netmask" value="24"/>
      </instance_attributes>
EOF
        [[ $vip == vip-rep ]] && cat <<EOF
      <meta_attributes id="vip-rep-meta">
        <nvpair id="vip-rep-meta-migration-threshold" name="migration-threshold" value="0"/>
      </meta_attributes>
EOF
        cat <<EOF
      <operations>
        <op id="$vip-start-0s" name="start" interval="0s" timeout="60s" on-fail="$on_start"/>
        <op id="$vip-monitor-10s" name="monitor" interval="10s" timeout="60s" on-fail="restart"/>
        <op id="$vip-stop-0s" name="stop" interval="0s" timeout="60s" on-fail="$on_stop"/>
      </operations>
    </primitive>
EOF
    done
    echo '  </group>'
    cat <<EOF
  <clone id="mspostgresql">
    <meta_attributes id="mspostgresql-meta">
      <nvpair id="mspostgresql-meta-promotable" name="promotable" value="true"/>
      <nvpair id="mspostgresql-meta-promoted-max" name="promoted-max" value="1"/>
      <nvpair id="mspostgresql-meta-promoted-node-max" name="promoted-node-max" value="1"/>
      <nvpair id="mspostgresql-meta-clone-max" name="clone-max" value="3"/>
      <nvpair id="mspostgresql-meta-clone-node-max" name="clone-node-max" value="1"/>
      <nvpair id="mspostgresql-meta-notify" name="notify" value="true"/>
    </meta_attributes>
    <primitive id="postgresql" class="ocf" provider="heartbeat" type="pgsql">
      <instance_attributes id="postgresql-ia">
        <nvpair id="postgresql-ia-pgctl" name="pgctl" value="$PGBIN/pg_ctl"/>
        <nvpair id="postgresql-ia-psql" name="psql" value="$PGBIN/psql"/>
        <nvpair id="postgresql-ia-pgdata" name="pgdata" value="$PGDATA"/>
        <nvpair id="postgresql-ia-config" name="config" value="$PGDATA/postgresql.conf"/>
        <nvpair id="postgresql-ia-logfile" name="logfile" value="$PGLOG"/>
        <nvpair id="postgresql-ia-tmpdir" name="tmpdir" value="$PGTMP"/>
        <nvpair id="postgresql-ia-rep_mode" name="rep_mode" value="sync"/>
        <nvpair id="postgresql-ia-node_list" name="node_list" value="${NODES[*]}"/>
        <nvpair id="postgresql-ia-master_ip" name="master_ip" value="$VIP_REP"/>
        <nvpair id="postgresql-ia-repuser" name="repuser" value="$REPUSER"/>
        <nvpair id="postgresql-ia-primary_conninfo_opt" name="primary_conninfo_opt" value="keepalives_idle=60 keepalives_interval=5 keepalives_count=5"/>
        <nvpair id="postgresql-ia-restart_on_promote" name="restart_on_promote" value="true"/>
        <nvpair id="postgresql-ia-stop_escalate" name="stop_escalate" value="10"/>
        <nvpair id="postgresql-ia-check_wal_receiver" name="check_wal_receiver" value="true"/>
      </instance_attributes>
      <operations>
        <op id="postgresql-start-0s" name="start" interval="0s" timeout="60s" on-fail="restart"/>
        <op id="postgresql-monitor-4s" name="monitor" interval="4s" timeout="60s" on-fail="restart"/>
        <op id="postgresql-monitor-3s" name="monitor" interval="3s" timeout="60s" on-fail="restart" role="Promoted"/>
        <op id="postgresql-promote-0s" name="promote" interval="0s" timeout="60s" on-fail="restart"/>
        <op id="postgresql-demote-0s" name="demote" interval="0s" timeout="60s" on-fail="stop"/>
        <op id="postgresql-stop-0s" name="stop" interval="0s" timeout="60s" on-fail="block"/>
        <op id="postgresql-notify-0s" name="notify" interval="0s" timeout="60s"/>
      </operations>
    </primitive>
  </clone>
</resources>
EOF
}

constraints_xml() {
    cat <<'EOF'
<constraints>
  <rsc_colocation id="rsc_colocation-1" rsc="master-group" with-rsc="mspostgresql" with-rsc-role="Promoted" score="INFINITY"/>
  <rsc_order id="rsc_order-1" first="mspostgresql" first-action="promote" then="master-group" then-action="start" symmetrical="false" kind="Optional"/>
  <rsc_order id="rsc_order-2" first="mspostgresql" first-action="demote" then="master-group" then-action="stop" symmetrical="false" kind="Optional"/>
</constraints>
EOF
}

load_resources() {
    resources_xml >"$LAB/cib/resources.xml"
    constraints_xml >"$LAB/cib/constraints.xml"
    # The files are read from the root side and passed as text (the node sees $LAB too).
    crm cibadmin --replace -o resources --xml-text "$(<"$LAB/cib/resources.xml")"
    crm cibadmin --replace -o constraints --xml-text "$(<"$LAB/cib/constraints.xml")"
}

# ---------------------------------------------------------------------------
# Exporters and Prometheus
# ---------------------------------------------------------------------------
exporter_pid() {
    local f p
    f=$(ndir "$1")/exporter.pid
    [[ -r $f ]] || return 1
    p=$(<"$f")
    [[ -n $p && -d /proc/$p ]] || return 1
    [[ $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$(cat "$(ndir "$1")/mntns" 2>/dev/null)" ]] || return 1
    echo "$p"
}

# The exact exporter command line of NODE (one argument per line).
exporter_argv() {
    local n=$1 a
    a=${EXPORTER_ARGS//\{node\}/$n}
    a=${a//\{ip\}/$(node_ip "$n")}
    a=${a//\{port\}/$EXPORTER_PORT}
    printf '%s\n' "$EXPORTER_BIN"
    [[ -n ${a//[[:space:]]/} ]] && printf '%s' "$a" | xargs printf '%s\n'
    return 0
}

start_exporter() {
    local n=$1 p d argv=()
    [[ -x $EXPORTER_BIN ]] || return 0
    exporter_pid "$n" >/dev/null && return 0
    p=$(launcher_pid "$n") || return 0
    d=$(ndir "$n")
    mapfile -t argv < <(exporter_argv "$n")
    echo "$(date '+%F %T') nsenter -t $p -m -n -u -- ${argv[*]}" >>"$d/log/exporter.log"
    setsid nsenter -t "$p" -m -n -u -- "${argv[@]}" </dev/null >>"$d/log/exporter.log" 2>&1 &
    echo $! >"$d/exporter.pid"
    sleep 0.5
    if exporter_pid "$n" >/dev/null; then
        log "$n: exporter pid $(<"$d/exporter.pid") on $(node_ip "$n"):$EXPORTER_PORT"
    else
        log "WARNING: $n: exporter exited at once; last lines of $d/log/exporter.log:"
        tail -n 5 "$d/log/exporter.log" >&2 || true
    fi
}

want_prometheus() {
    case $PROMETHEUS in
        1|yes|true) return 0 ;;
        0|no|false) return 1 ;;
        *) [[ -x $EXPORTER_BIN ]] ;;
    esac
}

mon_pid() {
    local p
    [[ -r $LAB/mon/launcher.pid && -r $LAB/mon/mntns ]] || return 1
    p=$(<"$LAB/mon/launcher.pid")
    [[ -n $p && -d /proc/$p && $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$(<"$LAB/mon/mntns")" ]] || return 1
    echo "$p"
}

write_prometheus_yml() {
    local f n rules=()
    shopt -s nullglob
    for f in "$REPO_ROOT"/alerts/*.yml "$REPO_ROOT"/alerts/*.yaml; do
        if promtool check rules "$f" >/dev/null 2>&1; then rules+=("$f"); else log "WARNING: skipping invalid rule file $f"; fi
    done
    shopt -u nullglob
    {
        echo "# Generated by test/lab/lab.sh"
        echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
        if ((${#rules[@]})); then
            echo "rule_files:"
            for f in "${rules[@]}"; do echo "  - '$f'"; done
        fi
        # No "node" target label: the exporter's own metrics carry node="..."
        # (a target label would overwrite it and rename it exported_node).
        # "cluster" is what the recording/alert rules group by.
        echo "scrape_configs:"
        echo "  - job_name: pgha"
        echo "    static_configs:"
        printf "      - targets: ["
        local sep=""
        for n in "${NODES[@]}"; do printf "%s'%s:%s'" "$sep" "$(node_ip "$n")" "$EXPORTER_PORT"; sep=", "; done
        echo "]"
        echo "        labels: {cluster: pgcluster}"
        echo "  - job_name: prometheus"
        echo "    static_configs:"
        echo "      - targets: ['$MON_IP:$PROM_PORT']"
    } >"$LAB/mon/prometheus.yml"
    log "prometheus: ${#rules[@]} rule file(s) from $REPO_ROOT/alerts"
}

start_prometheus() {
    local i
    want_prometheus || return 0
    mon_pid >/dev/null && return 0
    command -v prometheus >/dev/null || { log "WARNING: prometheus not installed"; return 0; }
    mkdir -p "$LAB/mon/data"
    rm -f "$LAB/mon/launcher.pid" "$LAB/mon/mntns"
    write_prometheus_yml
    PGHA_LAB_DIR=$LAB setsid ip netns exec "$MON_NS" unshare -m --propagation private "$SELF" __mon \
        </dev/null >>"$LAB/mon/prometheus.log" 2>&1 &
    for ((i = 0; i < 60; i++)); do
        if ip netns exec "$MON_NS" curl -sf -m 2 "http://$MON_IP:$PROM_PORT/-/ready" >/dev/null 2>&1; then
            log "prometheus ready on $MON_IP:$PROM_PORT (ip netns exec $MON_NS curl http://$MON_IP:$PROM_PORT/...)"
            return 0
        fi
        sleep 0.5
    done
    log "WARNING: prometheus not ready after 30 s (see $LAB/mon/prometheus.log)"
}

# ---------------------------------------------------------------------------
# up / down / status
# ---------------------------------------------------------------------------
lab_running() {
    local n
    for n in "$BR_NS" "${NODES[@]}"; do ns_exists "$n" || return 1; done
    for n in "${NODES[@]}"; do node_up "$n" || return 1; done
}

cluster_formed() {
    collect_status
    [[ $ST_QUORUM == yes && $ST_DC != - ]] || return 1
    local n
    for n in "${NODES[@]}"; do [[ ${ST_ONLINE[$n]:-} == true ]] || return 1; done
}

cmd_up() {
    require_root
    local t0 n i left
    t0=$(now_ms)
    if lab_running; then
        log "lab already up in $LAB"
        for n in "${NODES[@]}"; do start_exporter "$n"; done
        start_prometheus
        status_line
        return 0
    fi
    if [[ -n $(lab_pids) ]] || ns_exists "$BR_NS" || ns_exists pgdb1 || ns_exists pgdb2 || ns_exists pgdb3 || ns_exists "$MON_NS"; then
        log "stale/partial lab found: tearing it down first"
        cmd_down
    fi
    stage_begin packages; ensure_packages; preflight; stage_end
    stage_begin "state directory"; prepare_state; stage_end
    stage_begin namespaces; net_create; stage_end
    stage_begin "node launchers"
    for n in "${NODES[@]}"; do start_node "$n"; done
    stage_end
    # PostgreSQL data is prepared while corosync/pacemaker form the cluster.
    stage_begin "postgresql data"; pg_prepare; stage_end
    stage_begin "cluster formed (3 online)"
    for ((i = 0; ; i++)); do
        cluster_formed && break
        left=$((UP_TIMEOUT * 1000 - ($(now_ms) - t0)))
        ((left > 0)) || die "timeout: cluster did not form (3 nodes online, DC, quorum) within ${UP_TIMEOUT}s; last: $(status_line); logs: $LAB/nodes/*/log-*"
        sleep 0.5
    done
    stage_end
    stage_begin "resources loaded"; load_resources; stage_end
    stage_begin "exporters + prometheus"
    for n in "${NODES[@]}"; do start_exporter "$n"; done
    start_prometheus
    stage_end
    stage_begin "PRI / HS:sync / HS:async"
    left=$(((UP_TIMEOUT * 1000 - ($(now_ms) - t0)) / 1000))
    ((left < 5)) && left=5
    if ! wait_state "$HEALTHY_RE" "$left"; then
        die "timeout: pgdb1 not PRI with HS:sync/HS:async within ${UP_TIMEOUT}s. Check: lab.sh exec pgdb1 crm_mon -1 -A -f; $LAB/nodes/*/log-pacemaker/*.log"
    fi
    stage_end
    echo "---- up: stage timings ----"
    printf '  %s\n' "${STAGES[@]}"
    printf '  %-44s %6ss\n' total "$(since "$t0")"
}

cmd_down() {
    require_root
    local t0 n p i pids removed=() mnt
    t0=$(now_ms)
    local hard=0
    [[ ${1:-} == --hard ]] && hard=1
    # 1) exporters and prometheus: SIGTERM by PID
    for n in "${NODES[@]}"; do
        if p=$(exporter_pid "$n"); then kill -TERM "$p" 2>/dev/null && removed+=("exporter $n pid $p (TERM)"); fi
    done
    if p=$(mon_pid); then kill -TERM "$p" 2>/dev/null && removed+=("prometheus pid $p (TERM)"); fi
    # 2) graceful node stop: SIGTERM to each launcher (pacemaker, then corosync)
    pids=()
    for n in "${NODES[@]}"; do
        if p=$(launcher_pid "$n"); then
            if ((hard)); then break; fi
            kill -TERM "$p" 2>/dev/null && { pids+=("$p"); removed+=("node $n launcher pid $p (graceful)"); }
        fi
    done
    if ((${#pids[@]})); then
        log "down: waiting (max $((STOP_TIMEOUT + 20))s) for ${#pids[@]} node(s) to stop gracefully"
        for ((i = 0; i < (STOP_TIMEOUT + 20) * 2; i++)); do
            local alive=0
            for p in "${pids[@]}"; do [[ -d /proc/$p ]] && alive=1; done
            ((alive)) || break
            sleep 0.5
        done
        log "down: graceful phase took $(since "$t0")s"
    fi
    # 3) hard: SIGKILL whatever is left in the lab's namespaces (bounded)
    for ((i = 0; i < 20; i++)); do
        pids=()
        while read -r p c; do [[ -n $p ]] && pids+=("$p") && removed+=("pid $p ($c) SIGKILL"); done < <(lab_pids)
        ((${#pids[@]})) || break
        kill -KILL "${pids[@]}" 2>/dev/null || true
        sleep 0.5
    done
    [[ -z $(lab_pids) ]] || log "WARNING: lab processes still present: $(lab_pids | tr '\n' ' ')"
    # 4) network namespaces (their veths go with them)
    for n in "${NODES[@]}" "$MON_NS" "$BR_NS"; do
        if ns_exists "$n"; then ip netns del "$n" && removed+=("netns $n"); fi
    done
    if [[ -e $LAB/.created-run-netns-mount ]] && [[ -z $(ls -A /run/netns 2>/dev/null) ]] \
        && grep -q ' /run/netns ' /proc/self/mountinfo; then
        umount /run/netns 2>/dev/null && removed+=("mount /run/netns (made by iproute2 for the lab)")
        rm -f "$LAB/.created-run-netns-mount"
    fi
    if [[ -e $LAB/.created-run-netns-dir ]] && [[ -d /run/netns ]] && [[ -z $(ls -A /run/netns) ]]; then
        rmdir /run/netns 2>/dev/null && removed+=("dir /run/netns")
        rm -f "$LAB/.created-run-netns-dir"
    fi
    for n in "${NODES[@]}"; do
        rm -f "$(ndir "$n")"/{launcher.pid,exporter.pid,pacemakerd.pid,mounts.ready} 2>/dev/null || true
    done
    rm -f "$LAB/mon/launcher.pid" 2>/dev/null || true
    # 5) verification
    local ok=1
    if [[ -n $(lab_pids) ]]; then ok=0; log "LEFT: processes $(lab_pids | tr '\n' ' ')"; fi
    for n in "${NODES[@]}" "$MON_NS" "$BR_NS"; do ns_exists "$n" && { ok=0; log "LEFT: netns $n"; }; done
    if grep -qE "$LAB|/run/netns/(pgdb[123]|$MON_NS|$BR_NS)" /proc/self/mountinfo; then ok=0; log "LEFT: mounts"; fi
    if ip -br link 2>/dev/null | grep -qE '^v-(pgdb|pgmon)'; then ok=0; log "LEFT: veth in root ns"; fi
    echo "---- down: removed ----"
    ((${#removed[@]})) && printf '  %s\n' "${removed[@]}" || echo "  (nothing was running)"
    if ((ok)); then
        echo "down: clean (no lab process, namespace, mount or veth left) in $(since "$t0")s"
    else
        echo "down: INCOMPLETE after $(since "$t0")s"
        return 1
    fi
}

cmd_purge() { cmd_down; rm -rf "$LAB"; echo "purged $LAB"; }

# ---------------------------------------------------------------------------
# Fault injection
# ---------------------------------------------------------------------------
fault_power_off() {
    local n=$1 d mnt ip4 i pids cnt=0 p c
    d=$(ndir "$n")
    [[ -r $d/mntns ]] || die "$n has never run"
    mnt=$(<"$d/mntns")
    # The NIC goes dark first (no ICMP "port unreachable" from a dead corosync,
    # which would let the peers notice faster than a real power loss).
    ip -n "$BR_NS" link set "v-$n" down
    for ((i = 0; i < 10; i++)); do
        pids=()
        while read -r p c; do [[ -n $p ]] && pids+=("$p"); done < <(lab_pids "$mnt")
        ((${#pids[@]})) || break
        cnt=$((cnt + ${#pids[@]}))
        kill -KILL "${pids[@]}" 2>/dev/null || true
        sleep 0.2
    done
    # RAM is gone too: drop the VIPs the node held (everything but its own address).
    for ip4 in $(ip -n "$n" -4 -o addr show dev eth0 | awk '{print $4}'); do
        [[ $ip4 == "$(node_ip "$n")/24" ]] && continue
        ip -n "$n" addr del "$ip4" dev eth0 && log "$n: dropped address $ip4"
    done
    log "$n powered off: SIGKILLed $cnt process(es) of its mount namespace"
}

fault_power_on() {
    local n=$1 i
    node_up "$n" && { log "$n is already running"; return 0; }
    ip -n "$BR_NS" link set "v-$n" up
    start_node "$n"
    start_exporter "$n"
    log "$n powered on (launcher $(launcher_pid "$n"))"
}

fault_kill_postgres() {
    local n=$1 f p
    f=$(ndir "$n")/pg/data/postmaster.pid
    pg_running "$n" || die "PostgreSQL is not running on $n"
    read -r p <"$f"
    kill -KILL "$p"
    log "$n: kill -9 postmaster $p"
}

fault_vip_fail() {
    collect_status
    [[ $ST_VIPM != - ]] || die "vip-master is not running"
    ip -n "$ST_VIPM" addr del "$VIP_MASTER/24" dev eth0
    log "$ST_VIPM: removed $VIP_MASTER from eth0 (vip-master monitor will fail within 10 s)"
}

# fault_vip_rep_fail: the primary's vip-rep address disappears (its monitor fails
# within 10 s; vip-rep has migration-threshold=0 and is restarted in place).
fault_vip_rep_fail() {
    collect_status
    [[ $ST_VIPR != - ]] || die "vip-rep is not running"
    ip -n "$ST_VIPR" addr del "$VIP_REP/24" dev eth0
    log "$ST_VIPR: removed $VIP_REP from eth0 (vip-rep monitor will fail within 10 s)"
}

fault_maintenance() {
    case ${1:-} in
        on) crm crm_attribute -t crm_config -n maintenance-mode -v true ;;
        off) crm crm_attribute -t crm_config -n maintenance-mode -v false ;;
        *) die "usage: fault maintenance on|off" ;;
    esac
    log "maintenance-mode $1"
}

# The PGSQL.lock refused-restart case: a node holding PGSQL.lock whose PostgreSQL
# died is cleaned up; the RA refuses the start ("My data may be inconsistent").
# On the primary: kill -9 its postmaster (the promote created the lock), wait for
# the failover, then cleanup. On a standby: create the lock first (a stale lock
# of a former primary), kill -9, wait until stopped, then cleanup.
fault_pgsql_lock() {
    local n=$1 i t0
    t0=$(now_ms)
    collect_status
    if [[ $ST_PROMOTED == "$n" ]]; then
        fault_kill_postgres "$n"
        local others="" o
        for o in "${NODES[@]}"; do [[ $o != "$n" ]] && others+="${others:+|}$o"; done
        wait_state "promoted=($others) " 90 >/dev/null || true
        collect_status
        [[ $ST_PROMOTED != "$n" && $ST_PROMOTED != - ]] || log "WARNING: no new primary yet"
    else
        runuser -u postgres -- touch "$(ndir "$n")/pg/tmp/PGSQL.lock"
        log "$n: created $PGTMP/PGSQL.lock"
        pg_running "$n" && fault_kill_postgres "$n"
    fi
    # Wait until Pacemaker has noticed and stopped the instance, then clean up.
    for ((i = 0; i < 120; i++)); do
        collect_status
        [[ -z ${ST_ROLE[$n]} || ${ST_ROLE[$n]} == Stopped ]] && ! pg_running "$n" && break
        sleep 0.5
    done
    crm crm_resource --wait --timeout=60s >/dev/null 2>&1 || true
    crm crm_resource --cleanup -r mspostgresql -N "$n" >/dev/null
    log "$n: crm_resource --cleanup issued; waiting for the refused start"
    for ((i = 0; i < 120; i++)); do
        if crm crm_mon -1 --output-as=xml 2>/dev/null | grep -q "op_key=\"postgresql_start_0\" node=\"$n\""; then
            log "$n: start refused after $(since "$t0")s:"
            crm crm_mon -1 --output-as=xml 2>/dev/null | grep "<failure .*node=\"$n\"" | sed 's/^ */  /' >&2 || true
            return 0
        fi
        sleep 0.5
    done
    log "WARNING: no failed start seen on $n within 60 s"
}

cmd_fault() {
    require_root
    local what=${1:-} n=${2:-}
    case $what in
        standby) need_node "$n"; crm crm_standby -N "$n" -v on; log "$n standby on" ;;
        unstandby) need_node "$n"; crm crm_standby -N "$n" -v off; log "$n standby off" ;;
        kill-postgres) need_node "$n"; fault_kill_postgres "$n" ;;
        power-off) need_node "$n"; fault_power_off "$n" ;;
        power-on) need_node "$n"; fault_power_on "$n" ;;
        net-down) need_node "$n"; ip -n "$BR_NS" link set "v-$n" down; log "$n: bridge port v-$n down" ;;
        net-up) need_node "$n"; ip -n "$BR_NS" link set "v-$n" up; log "$n: bridge port v-$n up" ;;
        vip-fail) fault_vip_fail ;;
        vip-rep-fail) fault_vip_rep_fail ;;
        maintenance) fault_maintenance "$n" ;;
        pgsql-lock) need_node "$n"; fault_pgsql_lock "$n" ;;
        *) die "unknown fault '$what' (see lab.sh help)" ;;
    esac
}

# ---------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------
# reseed NODE: re-create a standby from the current primary (through vip-rep).
reseed() {
    local n=$1 d i
    d=$(ndir "$n")
    log "$n: re-seeding from $VIP_REP"
    # Keep Pacemaker away from the node while its data is replaced, and let any
    # operation in flight finish first: pgdata must never be missing while the
    # agent runs (RA 4.12: a stop whose validation fails, e.g. "pgdata missing",
    # retries crm_attribute with an unset path until the stop times out and the
    # on-fail=block leaves the resource blocked).
    crm crm_resource --ban -r mspostgresql -N "$n" -Q >/dev/null 2>&1 || true
    for ((i = 0; i < 120; i++)); do
        collect_status
        [[ -z ${ST_ROLE[$n]} || ${ST_ROLE[$n]} == Stopped ]] && ! pg_running "$n" && break
        sleep 0.5
    done
    crm crm_resource --wait --timeout=60s >/dev/null 2>&1 || log "$n: cluster still busy, continuing"
    pg_running "$n" && { log "$n: PostgreSQL still running, cannot re-seed"; return 1; }
    rm -rf "$d/pg/data.reseed"
    if ! on_pg "$n" timeout 120 "$PGBIN/pg_basebackup" -h "$VIP_REP" -U "$REPUSER" -D "$PGDATA.reseed" \
        -X stream -c fast --no-sync >"$d/log/basebackup.log" 2>&1; then
        log "$n: pg_basebackup failed (see $d/log/basebackup.log)"
        return 1
    fi
    mv "$d/pg/data" "$d/pg/data.old" && mv "$d/pg/data.reseed" "$d/pg/data" && rm -rf "$d/pg/data.old"
    rm -f "$d/pg/tmp/PGSQL.lock"
    crm crm_resource --clear -r mspostgresql -N "$n" -Q >/dev/null 2>&1 || true
    crm crm_resource --cleanup -r mspostgresql -N "$n" >/dev/null
}

# switchover TARGET: make TARGET (a streaming standby) the primary.
cmd_switchover() {
    local t=$1 p o n
    collect_status
    p=$ST_PROMOTED
    [[ $p != - ]] || { log "switchover: no primary"; return 1; }
    [[ $p == "$t" ]] && return 0
    for n in "${NODES[@]}"; do [[ $n != "$t" && $n != "$p" ]] && o=$n; done
    if [[ ${ST_PG[$t]} != HS:sync ]]; then
        # Only the sync standby may be promoted (rep_mode=sync): make the other
        # standby go away for a moment so the RA picks TARGET as sync.
        log "switchover: making $t the sync standby (standby $o for a moment)"
        crm crm_standby -N "$o" -v on
        local rc=0
        wait_state "$t=HS:sync" 180 || rc=1
        crm crm_standby -N "$o" -v off
        ((rc == 0)) || return 1
    fi
    log "switchover: demoting $p, promoting $t"
    crm crm_resource --ban --promoted -r mspostgresql -N "$p" -Q >/dev/null
    wait_state "promoted=$t .*$t=PRI" 180 || return 1
    # The old primary kept PGSQL.lock and is on the old timeline: re-seed it.
    reseed "$p" || return 1
    crm crm_resource --clear -r mspostgresql -Q >/dev/null 2>&1 || true
}

# reset: re-create all PostgreSQL data from scratch (initdb on pgdb1) and restart
# the resources; the election makes pgdb1 primary again.
cmd_reset() {
    local n i
    log "reset: stopping mspostgresql"
    crm crm_resource --meta -r mspostgresql -p target-role -v Stopped >/dev/null
    for ((i = 0; i < 180; i++)); do
        local any=0
        for n in "${NODES[@]}"; do pg_running "$n" && any=1; done
        ((any)) || break
        sleep 0.5
    done
    for n in "${NODES[@]}"; do pg_running "$n" && die "reset: PostgreSQL still running on $n"; done
    for n in "${NODES[@]}"; do
        crm crm_attribute -N "$n" -l forever -n postgresql-data-status -D >/dev/null 2>&1 || true
    done
    pg_prepare
    for r in mspostgresql postgresql master-group; do crm crm_resource --clear -r "$r" -Q >/dev/null 2>&1 || true; done
    crm crm_resource --cleanup >/dev/null
    crm crm_resource --meta -r mspostgresql -d target-role >/dev/null
    log "reset: resources restarted, waiting for the election"
}

# pg_cluster_state NODE: "Database cluster state" of NODE's pg_control
# ("shut down" or "in production" = it last ran as a primary).
pg_cluster_state() {
    runuser -u postgres -- "$PGBIN/pg_controldata" -D "$(ndir "$1")/pg/data" 2>/dev/null \
        | sed -n 's/^Database cluster state: *//p'
}

healthy_now() { [[ $(status_line) =~ $HEALTHY_RE ]]; }

cmd_recover() {
    require_root
    local t0 n p r
    t0=$(now_ms)
    STAGES=()
    stage_begin "nodes and links up"
    for n in "${NODES[@]}"; do ip -n "$BR_NS" link set "v-$n" up; done
    for n in "${NODES[@]}"; do node_up "$n" || fault_power_on "$n"; done
    wait_state 'quorum=yes dc=pgdb[123] online=3/3 ' 120 || die "recover: nodes did not come back"
    stage_end
    stage_begin "maintenance/standby/bans/failures cleared"
    collect_status
    [[ $ST_MAINT == yes ]] && crm crm_attribute -t crm_config -n maintenance-mode -v false
    for n in "${NODES[@]}"; do [[ ${ST_STANDBY[$n]} == true ]] && crm crm_standby -N "$n" -v off; done
    for r in mspostgresql postgresql master-group; do crm crm_resource --clear -r "$r" -Q >/dev/null 2>&1 || true; done
    crm crm_resource --cleanup -r master-group >/dev/null 2>&1 || true
    stage_end
    stage_begin "primary present"
    if ! wait_state 'promoted=pgdb[123] ' 120; then
        log "recover: no primary, falling back to a full reset"
        cmd_reset
        wait_state "$HEALTHY_RE" 240 || die "recover: reset did not reach the reference state"
        stage_end
        crm crm_resource --cleanup >/dev/null
        echo "recover: done (reset) in $(since "$t0")s"
        return 0
    fi
    stage_end
    collect_status
    p=$ST_PROMOTED
    stage_begin "standbys rejoined"
    # A standby holding PGSQL.lock (a former primary) is re-seeded at once; one
    # that merely failed (killed standby, ...) first gets a plain cleanup; any
    # standby still not streaming after 150 s is re-seeded from vip-rep.
    local okre
    okre=$(ref_re "$p")
    for n in "${NODES[@]}"; do
        [[ $n == "$p" || ${ST_PG[$n]} =~ ^HS:(sync|async)$ ]] && continue
        if [[ -e $(ndir "$n")/pg/tmp/PGSQL.lock ]]; then
            reseed "$n" || die "recover: re-seeding $n failed"
        elif [[ $(pg_cluster_state "$n") =~ ^(shut\ down|in\ production)$ ]]; then
            # It last ran as a primary (the old one): its WAL went past the new
            # primary's fork point, it cannot follow; the cleanup would only
            # leave it at HS:alone.
            log "$n: last ran as a primary ($(pg_cluster_state "$n")): re-seed"
            reseed "$n" || die "recover: re-seeding $n failed"
        else
            log "$n: ${ST_PG[$n]:-no status}, role ${ST_ROLE[$n]:-none}: cleanup"
            crm crm_resource --cleanup -r mspostgresql -N "$n" >/dev/null 2>&1 || true
        fi
    done
    if ! wait_state "$okre" 150; then
        collect_status
        for n in "${NODES[@]}"; do
            [[ $n == "$p" || ${ST_PG[$n]} =~ ^HS:(sync|async)$ ]] && continue
            reseed "$n" || die "recover: re-seeding $n failed"
        done
        wait_state "$okre" 180 || die "recover: standbys did not rejoin"
    fi
    stage_end
    if [[ $p != pgdb1 ]]; then
        stage_begin "switchover to pgdb1"
        cmd_switchover pgdb1 || die "recover: switchover to pgdb1 failed"
        stage_end
    fi
    stage_begin "reference state"
    crm crm_resource --cleanup >/dev/null 2>&1 || true
    wait_state "$HEALTHY_RE" 180 || die "recover: reference state not reached"
    stage_end
    printf '  %s\n' "${STAGES[@]}"
    echo "recover: done in $(since "$t0")s"
}

# ---------------------------------------------------------------------------
# Resource usage of the lab
# ---------------------------------------------------------------------------
cmd_stats() {
    local secs=${1:-10} p c rss=0 n=0 t1=0 t2=0 hz
    hz=$(getconf CLK_TCK)
    cpu_ticks() {  # utime+stime+cutime+cstime of every lab process
        local sum=0 p c f
        while read -r p c; do
            f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
            f=${f##*) }
            read -r -a a <<<"$f"
            sum=$((sum + a[11] + a[12] + a[13] + a[14]))
        done < <(lab_pids)
        echo "$sum"
    }
    while read -r p c; do
        n=$((n + 1))
        rss=$((rss + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done < <(lab_pids)
    local s1 s2
    s1=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat)
    t1=$(cpu_ticks); sleep "$secs"; t2=$(cpu_ticks)
    s2=$(awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat)
    echo "processes=$n rss_sum=$((rss / 1024))MB"
    awk -v a="$t1" -v b="$t2" -v hz="$hz" -v s="$secs" 'BEGIN{printf "lab cpu=%.1f%% of one core over %ss (incl. reaped children)\n", (b-a)/hz/s*100, s}'
    awk -v x="$s1" -v y="$s2" -v s="$secs" 'BEGIN{split(x,A," ");split(y,B," ");bu=B[1]-A[1];id=B[2]-A[2];printf "system busy=%.1f%% of all cores\n", bu/(bu+id)*100}'
    free -m | awk 'NR==2{print "system used=" $3 "MB"}'
}

# ---------------------------------------------------------------------------
usage() {
    cat <<EOF
Usage: lab.sh COMMAND [args]          (root; state in \$PGHA_LAB_DIR, default /tmp/pgha-lab)
  up                       build and start the lab; waits for PRI / HS:sync / HS:async on pgdb1
  down [--hard]            stop everything (graceful, then SIGKILL) and delete the namespaces
  purge                    down, then delete \$PGHA_LAB_DIR
  status                   one-line cluster state
  wait-state REGEX SECS    poll the status line until REGEX matches (exit 1 on timeout);
                           REGEX "healthy" = the reference state (regex below)
  exec NODE CMD...         run CMD on NODE (nsenter -m -n -u into the launcher)
  stats [SECS]             process count, summed RSS and CPU of the lab
  fault standby|unstandby NODE
  fault kill-postgres NODE
  fault power-off|power-on NODE
  fault net-down|net-up NODE
  fault vip-fail           remove vip-master's address from the primary
  fault vip-rep-fail       remove vip-rep's address from the primary
  fault maintenance on|off
  fault pgsql-lock NODE    PGSQL.lock refused-restart case
  recover                  back to PRI/HS:sync/HS:async on pgdb1 (re-seed, cleanup, switchover)
  switchover NODE          make NODE primary (NODE must be a streaming standby)
  reset                    re-create all PostgreSQL data (initdb on pgdb1) and restart resources
  exporter-cmd NODE        print the exporter command line used for NODE
Environment: PGHA_LAB_DIR PGHA_EXPORTER_BIN PGHA_EXPORTER_ARGS PGHA_EXPORTER_PORT
             PGHA_LAB_PROMETHEUS(auto|1|0) PGHA_LAB_UP_TIMEOUT PGHA_LAB_STOP_TIMEOUT PGHA_LAB_PGROOT
Healthy regex: $HEALTHY_RE
EOF
}

main() {
    local cmd=${1:-help}
    shift || true
    case $cmd in
        __node) node_launcher "$@" ;;
        __mon) mon_launcher ;;
        up) cmd_up ;;
        down) cmd_down "$@" ;;
        purge) require_root; cmd_purge ;;
        status) require_root; status_line ;;
        wait-state)
            require_root
            [[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || die "usage: wait-state REGEX|healthy TIMEOUT_SECONDS"
            if [[ $1 == healthy ]]; then wait_state "$HEALTHY_RE" "$2"; else wait_state "$1" "$2"; fi ;;
        exec) require_root; need_node "${1:-}"; local n=$1; shift; [[ $# -gt 0 ]] || die "usage: exec NODE CMD..."; on "$n" "$@" ;;
        stats) require_root; cmd_stats "$@" ;;
        fault) cmd_fault "$@" ;;
        recover) cmd_recover ;;
        switchover) require_root; need_node "${1:-}"; cmd_switchover "$1" ;;
        reset) require_root; cmd_reset; wait_state "$HEALTHY_RE" 240 ;;
        exporter-cmd) need_node "${1:-}"; local p; p=$(launcher_pid "$1" || echo '<launcher pid>')
            printf 'nsenter -t %s -m -n -u --' "$p"; exporter_argv "$1" | while read -r a; do printf ' %q' "$a"; done; echo ;;
        help|-h|--help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
