#!/usr/bin/env bash
# Regenerates crm/testdata/generated/ with the real Pacemaker command-line tools.
#
#   bash crm/testdata/generate.sh            (from the repository root)
#
# Needs: pacemaker-cli-utils (crm_simulate, crm_mon, crm_attribute, crm_standby,
# crm_resource, cibadmin; written against Debian 12's 2.1.5), faketime, perl.
# Optional: libxml2-utils (xmllint) to validate the output against Pacemaker's schemas.
# No root, no running cluster, no daemon. All work happens in a mktemp directory.
#
# Every scenario starts from a live `cibadmin -Q` of the 3-node lab cluster
# (crm/testdata/corpus/live-pcmk-2.1.5-pgsql-4.12-pg15/01-healthy/pgdb1/cibadmin-Q.xml,
# recorded by test/lab). The cluster's reaction
# is computed by crm_simulate; the attributes the pgsql resource agent would write
# (crm_simulate never runs agents) are set with crm_attribute to the values the live lab
# recorded in the same situation. crm_mon output is never written by hand.
#
# Times: the live base history (17:21 UTC) is shifted back by 6 h so that every event happens
# before the render time; scenario events happen between 11:30 and 11:59:58 and everything is
# rendered at 2026-11-25 12:00:00 UTC under faketime, so the output is byte-identical across
# runs.
set -euo pipefail
export TZ=UTC LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASE_SRC=$HERE/corpus/live-pcmk-2.1.5-pgsql-4.12-pg15/01-healthy/pgdb1/cibadmin-Q.xml
OUT=$HERE/generated
RENDER_TIME='2026-11-25 12:00:00'
BASE_SHIFT=21600 # seconds the live base history is moved back (17:21 -> 11:21)

die() { echo "generate.sh: $*" >&2; exit 1; }
log() { echo "generate.sh: $*" >&2; }

need() { # need <command> <debian package>
	command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package '$2' (apt-get install $2)"
}
for t in crm_simulate crm_mon crm_attribute crm_standby crm_resource cibadmin; do
	need "$t" pacemaker-cli-utils
done
need faketime faketime
need perl perl
HAVE_XMLLINT=1
command -v xmllint >/dev/null 2>&1 || {
	HAVE_XMLLINT=0
	log "xmllint not found (Debian package libxml2-utils): schema validation skipped"
}
[ -r "$BASE_SRC" ] || die "base CIB not found: $BASE_SRC"
case "$(crm_mon --version | head -n1)" in
*" 2.1.5"*) ;;
*) log "warning: written for Pacemaker 2.1.5, found '$(crm_mon --version | head -n1)'; output will differ" ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pgha-crm-fixtures.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STAGE=$WORK/out
mkdir -p "$STAGE"

# ---------------------------------------------------------------------------------------------
# Helpers. Every tool runs under faketime with the time in $T (set before each step).
# faketime -f: a frozen clock (plain `faketime DATE` lets the clock run from DATE, so a slow
# run could print 12:00:01)
T=$RENDER_TIME
at() { faketime -f "$T" env TZ=UTC "$@"; }
# cib <file> <tool> <args...>: run a CIB tool against a CIB file
cib() {
	local f=$1
	shift
	at env CIB_file="$f" "$@"
}
# sim <in> <out> <crm_simulate args...>: schedule and "execute" the cluster's reaction
sim() {
	local in=$1 out=$2
	shift 2
	at crm_simulate --xml-file "$in" "$@" --simulate --save-output "$out" >"$out.log" 2>&1 ||
		die "crm_simulate failed: $(cat "$out.log")"
	renumber "$out" "$out.log"
}
# renumber <cib> <crm_simulate log>: crm_simulate uses the transition's action numbers as
# call-ids, so they repeat between resources on one node and fall below the node's earlier
# calls. Give its operations the call-ids the node's executor would have given: continuing the
# node's highest call-id, in the order crm_simulate executed them (its log), notifications
# included (the controller runs but does not record them). Marks them do_update_resource.
RENUMBER_PL='
use strict; use warnings;
my ($cibf, $logf) = @ARGV;
my (%logpos, $n);
open(my $lf, "<", $logf) or die; $n = 0;
while (<$lf>) {
	next unless /Resource action:\s+(\S+)\s+(\w+)(?:=(\d+))?\s+on\s+(\S+)/;
	my ($rsc, $task, $iv, $node) = ($1, $2, $3 // 0, $4);
	$rsc =~ s/:\d+$//;
	push @{$logpos{"$rsc $task $iv $node"}}, $n++;
}
local $/; open(my $cf, "<", $cibf) or die; my $cib = <$cf>; close $cf;
sub renum {
	my $blk = shift;
	my ($node) = $blk =~ /^<node_state\b[^>]*\buname="([^"]*)"/;
	my ($max, @sim, %bykey) = (0);
	my $i = 0;
	while ($blk =~ /<lrm_rsc_op\b[^>]*>/g) {
		my $op = $&;
		my ($call) = $op =~ / call-id="(-?\d+)"/;
		if ($op =~ / crm-debug-origin="crm_simulate"/) {
			my ($key) = $op =~ / operation_key="([^"]*)"/;
			my ($lrc) = $op =~ / last-rc-change="(\d+)"/;
			my ($rsc, $task, $iv) = $key =~ /^(.*)_([a-z]+(?:_[a-z]+)?)_(\d+)$/;
			my $s = { i => $i, call => $call, lrc => $lrc, key => "$rsc $task $iv $node" };
			push @sim, $s; push @{$bykey{$s->{key}}}, $s;
		} elsif ($call > $max) { $max = $call; }
		$i++;
	}
	for my $k (keys %bykey) {
		my @pos = @{$logpos{$k} // []};
		for my $s (sort { $a->{call} <=> $b->{call} || $a->{i} <=> $b->{i} } @{$bykey{$k}}) {
			$s->{pos} = @pos ? shift(@pos) : 1e9 + $s->{call};
		}
	}
	my %new;
	for my $s (sort { $a->{lrc} <=> $b->{lrc} || $a->{pos} <=> $b->{pos} || $a->{i} <=> $b->{i} } @sim) {
		$new{$s->{i}} = ++$max;
	}
	$i = 0;
	$blk =~ s{<lrm_rsc_op\b[^>]*>}{
		my $op = $&;
		if (exists $new{$i}) {
			$op =~ s/ call-id="-?\d+"/ call-id="$new{$i}"/;
			$op =~ s/ crm-debug-origin="crm_simulate"/ crm-debug-origin="do_update_resource"/;
		}
		$i++; $op
	}ge;
	return $blk;
}
$cib =~ s{(<node_state\b[^>]*/>)|(<node_state\b.*?</node_state>)}{defined $1 ? $1 : renum($2)}gse;
open($cf, ">", $cibf) or die; print $cf $cib; close $cf;
'
renumber() { perl -e "$RENUMBER_PL" "$1" "$2" || die "renumbering call-ids in $1 failed"; }
# inject <in> <out> <opspec>: a result that already happened, saved before the cluster reacts
inject() {
	at crm_simulate --xml-file "$1" --op-inject "$3" --run --save-input "$2" >"$2.log" 2>&1 ||
		die "crm_simulate failed, see $2.log"
}
# plan <file>: print crm_simulate's transition summary (empty when the cluster is settled)
plan() {
	at crm_simulate --xml-file "$1" --run 2>&1 |
		awk '/^Transition Summary:/{p=1;next} /^Executing|^Revised|^$/{if(p)exit} p'
}
# ra_set <cib> <node> <name> <value> <reboot|forever>: what the resource agent writes
ra_set() { cib "$1" crm_attribute --quiet --node "$2" --name "$3" --lifetime "$5" --update="$4" >/dev/null; }
ra_del() { cib "$1" crm_attribute --quiet --node "$2" --name "$3" --lifetime "$4" --delete >/dev/null 2>&1 || true; }
xdel() { cib "$1" cibadmin --delete-all --force --xpath "$2" >/dev/null 2>&1 || true; }
# last_change <cib> <origin> <client>: the CIB header a daemon writes for a config change at $T
last_change() {
	cib "$1" cibadmin --modify --xml-text \
		"<cib cib-last-written=\"$(date -u -d "$T" '+%a %b %e %H:%M:%S %Y')\" update-origin=\"$2\" update-client=\"$3\" update-user=\"root\"/>"
}
node_id() { cib "$1" cibadmin --query --xpath "/cib/configuration/nodes/node[@uname='$2']" | sed -n 's/.* id="\([^"]*\)".*/\1/p' | head -n1; }
attrval() { sed -n "s/.* $1=\"\\([^\"]*\\)\".*/\\1/p" | head -n1; }

# node_lost <cib> <node>: a node that left without fencing (stonith-enabled=false). attrd drops
# its transient attributes, the DC its operation history; the controller marks it offline.
node_lost() {
	local id
	id=$(node_id "$1" "$2")
	xdel "$1" "/cib/status/node_state[@uname='$2']/transient_attributes"
	xdel "$1" "/cib/status/node_state[@uname='$2']/lrm"
	cib "$1" cibadmin --modify --xml-text "<node_state id=\"$id\" uname=\"$2\" in_ccm=\"false\" crmd=\"offline\" crm-debug-origin=\"peer_update_callback\" join=\"down\"/>"
}

# scrub <cib>: remove what crm_simulate writes but a real controller does not.
#  - notify results (the controller never records notifications);
#  - "cancel" records and the recurring op they cancelled (the controller deletes the history
#    entry of an op the scheduler cancels: maintenance mode, role change);
#  - recurring ops of *stopped* resources are kept: the live 2.1.5 recordings keep them too.
scrub() {
	local p
	xdel "$1" "//lrm_rsc_op[@operation='notify']"
	while read -r p; do
		[ -n "$p" ] || continue
		xdel "$1" "$(echo "$p" | sed 's/_cancel_\([0-9]*\)'"'"']$/_monitor_\1'"'"']/')"
		xdel "$1" "$p"
	done < <(cib "$1" cibadmin --query --node-path --xpath "//lrm_rsc_op[@operation='cancel']" 2>/dev/null || true)
	if cib "$1" cibadmin --query --xpath "//lrm_rsc_op[@exit-reason='Simulated action result' or @exit-reason='User-injected result']" >/dev/null 2>&1; then
		die "unfixed injected result left in $1"
	fi
}

# fix_failure <cib> <node> <rsc> <op-id>: make crm_simulate's injected failure record look like
# the controller's: same call-id and transition key as the failed recurring op, its op-digest
# (without one the scheduler plans clear_failcount), on_node, no "Simulated action result",
# and no uname/rsc-id attributes.
fix_failure() {
	local f=$1 node=$2 rsc=$3 ref=$4 xp old refop call key digest rc new
	xp="/cib/status/node_state[@uname='$node']/lrm/lrm_resources/lrm_resource[@id='$rsc']/lrm_rsc_op"
	old=$(cib "$f" cibadmin --query --xpath "$xp[@id='${rsc}_last_failure_0']")
	refop=$(cib "$f" cibadmin --query --xpath "$xp[@id='$ref']")
	call=$(attrval call-id <<<"$refop")
	key=$(attrval transition-key <<<"$refop")
	digest=$(attrval op-digest <<<"$refop")
	rc=$(attrval rc-code <<<"$old")
	new=$(sed -e 's/ exit-reason="[^"]*"/ exit-reason=""/' \
		-e 's/ uname="[^"]*"//; s/ rsc-id="[^"]*"//; s/ on_node="[^"]*"//' \
		-e 's/ crm-debug-origin="[^"]*"/ crm-debug-origin="do_update_resource"/' \
		-e "s/ transition-key=\"[^\"]*\"/ transition-key=\"$key\"/" \
		-e "s/ transition-magic=\"[^\"]*\"/ transition-magic=\"0:$rc;$key\"/" \
		-e "s/ call-id=\"[^\"]*\"/ on_node=\"$node\" call-id=\"$call\"/" \
		-e "s|/>\$| op-digest=\"$digest\"/>|" <<<"$old")
	cib "$f" cibadmin --replace --xpath "$xp[@id='${rsc}_last_failure_0']" --xml-text "$new"
}

# render <cib> <scenario> [full]: crm_mon in both XML roots, constraints, nodes (and the CIB)
render() {
	local f=$1 d=$STAGE/$2 rc
	mkdir -p "$d"
	T=$RENDER_TIME
	if grep -q -e 'Simulated action result' -e 'User-injected result' -e 'operation="cancel"' \
		-e 'operation="notify"' -e 'crm-debug-origin="crm_simulate"' "$f"; then
		die "$2: crm_simulate artefacts left in the CIB"
	fi
	[ "${3:-full}" = full ] && cp "$f" "$d/cib.xml"
	rc=0
	faketime -f "$RENDER_TIME" env TZ=UTC CIB_file="$f" crm_mon --one-shot --inactive --output-as=xml --include=all >"$d/crm_mon.xml" || rc=$?
	[ "$rc" = 0 ] || die "$2: crm_mon --output-as=xml exited $rc"
	faketime -f "$RENDER_TIME" env TZ=UTC CIB_file="$f" crm_mon --one-shot --inactive --as-xml >"$d/crm_mon.legacy.xml" || rc=$?
	[ "$rc" = 0 ] || die "$2: crm_mon --as-xml exited $rc"
	cib "$f" cibadmin --query --scope constraints >"$d/constraints.xml"
	if [ "${3:-full}" = full ]; then
		cib "$f" cibadmin --query --scope nodes >"$d/nodes.xml"
	fi
	chmod 0644 "$d"/*
	log "rendered $2"
}

settled() { # settled <cib> <scenario>: the scenario must be a state the scheduler accepts as is
	local p
	p=$(plan "$1" | grep -v '(blocked)$' || true) # blocked: wanted but not possible (no quorum)
	[ -z "$p" ] || die "$2: cluster not settled, crm_simulate plans:
$p"
}

# ---------------------------------------------------------------------------------------------
# Base: the live CIB, its history moved 6 h back, pgsql op digests made to match this
# scheduler. The live controller's digests for the pgsql ops differ from what crm_simulate
# computes (IPaddr2's match), so let crm_simulate bootstrap a copy without operation history
# and copy its digests back by operation_key (one-shot ops of a resource share the start digest).
BASE=$WORK/base.xml
cp "$BASE_SRC" "$WORK/live.xml"
cp "$WORK/live.xml" "$WORK/boot.xml"
T='2026-11-25 11:00:00'
xdel "$WORK/boot.xml" "/cib/status/node_state/lrm"
sim "$WORK/boot.xml" "$WORK/boot.out.xml"
opdigest() { grep -o "<lrm_rsc_op [^>]*operation_key=\"$2\"[^>]*>" "$1" | attrval op-digest; }
: >"$WORK/digests.sed"
while read -r key; do
	new=$(opdigest "$WORK/boot.out.xml" "$key")
	if [ -z "$new" ]; then
		case "$key" in
		*_0) new=$(opdigest "$WORK/boot.out.xml" "${key%_*_0}_start_0") ;;
		esac
	fi
	[ -n "$new" ] || die "no bootstrap digest for $key"
	echo "/operation_key=\"$key\"/s/ op-digest=\"[0-9a-f]*\"/ op-digest=\"$new\"/" >>"$WORK/digests.sed"
done < <(grep -o '<lrm_rsc_op [^>]*>' "$WORK/live.xml" | sed -n 's/.* operation_key="\([^"]*\)".*/\1/p' | sort -u)
sed -f "$WORK/digests.sed" "$WORK/live.xml" |
	perl -pe 's/last-rc-change="(\d+)"/"last-rc-change=\"".($1-'"$BASE_SHIFT"')."\""/ge' >"$BASE"
written=$(sed -n '1s/.* cib-last-written="\([^"]*\)".*/\1/p' "$BASE")
T=$(date -u -d "@$(($(date -u -d "$written" +%s) - BASE_SHIFT))" '+%Y-%m-%d %H:%M:%S')
last_change "$BASE" pgdb1 crm_attribute # same origin/client as live, time shifted
settled "$BASE" base

# ---------------------------------------------------------------------------------------------
# healthy: the live state as recorded (pgdb1 PRI, pgdb2 HS:sync, pgdb3 HS:async, DC pgdb3)
cp "$BASE" "$WORK/healthy.xml"
render "$WORK/healthy.xml" healthy

# ---------------------------------------------------------------------------------------------
# sync-standby-node-lost: pgdb2 (HS:sync) loses power at 11:55:00; no fencing configured.
S=$WORK/sync-standby-node-lost.xml
T='2026-11-25 11:55:00'
sim "$BASE" "$S" --node-fail pgdb2
scrub "$S"
node_lost "$S" pgdb2
T='2026-11-25 11:55:06' # the primary's next monitors: pgdb3 becomes the sync standby
ra_set "$S" pgdb2 postgresql-data-status DISCONNECT forever
ra_set "$S" pgdb3 postgresql-data-status 'STREAMING|SYNC' forever
ra_set "$S" pgdb3 postgresql-status HS:sync reboot
ra_set "$S" pgdb3 master-postgresql 100 reboot
last_change "$S" pgdb1 crm_attribute
settled "$S" sync-standby-node-lost
render "$S" sync-standby-node-lost

# ---------------------------------------------------------------------------------------------
# primary-node-lost-failover: pgdb1 (PRI) loses power at 11:55:00. The DC is pgdb3 (live
# dc-uuid=3), so no DC move. crm_simulate promotes pgdb2 (score 100) and moves the VIPs.
S=$WORK/primary-node-lost-failover.xml
T='2026-11-25 11:55:00'
sim "$BASE" "$S" --node-fail pgdb1
scrub "$S"
node_lost "$S" pgdb1
T='2026-11-25 11:55:01' # pgdb2's promote: the agent sets itself PRI/LATEST/1000, others DISCONNECT
ra_set "$S" pgdb2 postgresql-master-baseline 0000000004043C68 reboot # live 05's baseline
ra_set "$S" pgdb2 postgresql-status PRI reboot
ra_set "$S" pgdb2 master-postgresql 1000 reboot
ra_set "$S" pgdb2 postgresql-data-status LATEST forever
ra_set "$S" pgdb1 postgresql-data-status DISCONNECT forever
ra_set "$S" pgdb3 postgresql-data-status DISCONNECT forever
ra_set "$S" pgdb2 postgresql-receiver-status 'normal (master)' reboot
T='2026-11-25 11:55:08' # pgdb3 reconnects through vip-rep and becomes the sync standby
ra_set "$S" pgdb3 postgresql-data-status 'STREAMING|SYNC' forever
ra_set "$S" pgdb3 postgresql-status HS:sync reboot
ra_set "$S" pgdb3 master-postgresql 100 reboot
last_change "$S" pgdb2 crm_attribute
settled "$S" primary-node-lost-failover
render "$S" primary-node-lost-failover

# ---------------------------------------------------------------------------------------------
# primary-monitor-failed: the Promoted monitor on pgdb1 returned 1 (error; what the live lab saw
# after kill -9 of the primary postmaster) at 11:59:58, saved before the cluster reacts.
S=$WORK/primary-monitor-failed.xml
T='2026-11-25 11:59:58'
inject "$BASE" "$S" postgresql_monitor_3000@pgdb1=1
fix_failure "$S" pgdb1 postgresql postgresql_monitor_3000
[ -n "$(plan "$S")" ] || die "primary-monitor-failed: the scheduler should plan a recovery"
render "$S" primary-monitor-failed

# ---------------------------------------------------------------------------------------------
# node-standby: an operator puts pgdb3 in standby at 11:55:00; its postgresql stops.
S=$WORK/node-standby.xml
cp "$BASE" "$S"
T='2026-11-25 11:55:00'
cib "$S" crm_standby --node pgdb3 --update on
last_change "$S" pgdb1 crm_attribute
T='2026-11-25 11:55:01'
sim "$S" "$S.sim" && mv "$S.sim" "$S"
scrub "$S"
T='2026-11-25 11:55:02' # the agent's stop on pgdb3, then the primary's monitor
ra_set "$S" pgdb3 postgresql-status STOP reboot
ra_set "$S" pgdb3 master-postgresql -INFINITY reboot
ra_del "$S" pgdb3 postgresql-receiver-status reboot
T='2026-11-25 11:55:04'
ra_set "$S" pgdb3 postgresql-data-status DISCONNECT forever
last_change "$S" pgdb1 crm_attribute
settled "$S" node-standby
render "$S" node-standby

# ---------------------------------------------------------------------------------------------
# maintenance-mode: maintenance-mode=true at 11:55:00; the scheduler cancels every recurring
# monitor (and the controller deletes their history), resources are unmanaged.
S=$WORK/maintenance-mode.xml
cp "$BASE" "$S"
T='2026-11-25 11:55:00'
cib "$S" crm_attribute --quiet --type crm_config --name maintenance-mode --update true
last_change "$S" pgdb1 crm_attribute
T='2026-11-25 11:55:01'
sim "$S" "$S.sim" && mv "$S.sim" "$S"
scrub "$S"
settled "$S" maintenance-mode
render "$S" maintenance-mode

# ---------------------------------------------------------------------------------------------
# no-quorum: the view of pgdb3 (the DC), cut off from pgdb1 and pgdb2 at 11:55:00.
# no-quorum-policy=stop stops its postgresql. Its stale data-status stays STREAMING|ASYNC
# (lab: an isolated standby kept it; only the majority marks it DISCONNECT).
S=$WORK/no-quorum.xml
T='2026-11-25 11:55:00'
sim "$BASE" "$S" --node-fail pgdb1 --node-fail pgdb2 --quorum false
scrub "$S"
node_lost "$S" pgdb1
node_lost "$S" pgdb2
cib "$S" cibadmin --modify --xml-text '<cib have-quorum="0"/>'
T='2026-11-25 11:55:02'
ra_set "$S" pgdb3 postgresql-status STOP reboot
ra_set "$S" pgdb3 master-postgresql -INFINITY reboot
ra_del "$S" pgdb3 postgresql-receiver-status reboot
settled "$S" no-quorum
render "$S" no-quorum

# ---------------------------------------------------------------------------------------------
# failcount-at-threshold: migration-threshold=3 on mspostgresql (11:30). pgdb3's standby
# monitor failed (rc 7) at 11:40 and 11:50 and was recovered in place each time: 2 of 3.
# vip-master's monitor on pgdb1 failed (rc 7) at 11:59:58: 1 of 1 (rsc_defaults), saved
# before the cluster reacts. (Letting it react bans vip-master from pgdb1, which pulls the
# Promoted role to pgdb2: a switchover whose pgsql side cannot be simulated faithfully.)
S=$WORK/failcount-at-threshold.xml
cp "$BASE" "$S"
T='2026-11-25 11:30:00'
cib "$S" crm_resource --quiet --resource mspostgresql --meta --set-parameter migration-threshold --parameter-value 3 >/dev/null
last_change "$S" pgdb1 crm_resource
for t in 11:40:00 11:50:00; do
	T="2026-11-25 $t"
	inject "$S" "$S.inj" postgresql_monitor_4000@pgdb3=7
	fix_failure "$S.inj" pgdb3 postgresql postgresql_monitor_4000
	T="2026-11-25 ${t%:00}:01"
	sim "$S.inj" "$S"
	scrub "$S"
	# the agent's stop/start on pgdb3 ends where it began: HS:async, STREAMING|ASYNC, -INFINITY
	T="2026-11-25 ${t%:00}:05"
	ra_set "$S" pgdb3 postgresql-data-status 'STREAMING|ASYNC' forever
	last_change "$S" pgdb1 crm_attribute
done
settled "$S" failcount-at-threshold
T='2026-11-25 11:59:58'
inject "$S" "$S.inj" vip-master_monitor_10000@pgdb1=7
fix_failure "$S.inj" pgdb1 vip-master vip-master_monitor_10000
mv "$S.inj" "$S"
render "$S" failcount-at-threshold

# ---------------------------------------------------------------------------------------------
# cli-ban: `crm_resource --ban mspostgresql --node pgdb3` at 11:55:00, then
# `crm_resource --move master-group --node pgdb2` at 11:55:10. The ban stops pgdb3's standby;
# the cli-prefer has no effect (master-group is colocated with the Promoted instance, which
# stays on pgdb1: stickiness INFINITY), as on a real cluster.
S=$WORK/cli-ban.xml
cp "$BASE" "$S"
T='2026-11-25 11:55:00'
cib "$S" crm_resource --quiet --ban --resource mspostgresql --node pgdb3 >/dev/null 2>&1
last_change "$S" pgdb1 crm_resource
T='2026-11-25 11:55:10'
cib "$S" crm_resource --quiet --move --resource master-group --node pgdb2 >/dev/null 2>&1
last_change "$S" pgdb1 crm_resource
T='2026-11-25 11:55:11'
sim "$S" "$S.sim" && mv "$S.sim" "$S"
scrub "$S"
T='2026-11-25 11:55:12'
ra_set "$S" pgdb3 postgresql-status STOP reboot
ra_set "$S" pgdb3 master-postgresql -INFINITY reboot
ra_del "$S" pgdb3 postgresql-receiver-status reboot
T='2026-11-25 11:55:14'
ra_set "$S" pgdb3 postgresql-data-status DISCONNECT forever
last_change "$S" pgdb1 crm_attribute
settled "$S" cli-ban
render "$S" cli-ban

# ---------------------------------------------------------------------------------------------
# large-32n-500r: synthetic 32-node cluster, 500 resource instances, for benchmarks.
#   promotable clone of ocf:pacemaker:Stateful (32), clone of ocf:pacemaker:ping (32),
#   clone of Dummy (32), clone of a 2-Dummy group (64), 40 groups of IPaddr2+2 Dummy (120),
#   220 Dummy primitives (220).
# Configuration generated below; the status section is produced by crm_simulate from an empty
# history (starts, promote, monitors). enable-startup-probes=false: crm_simulate records its
# ~11,000 probes one by one into a growing CIB, which took over 30 minutes (crm_mon does not list
# "not running" probe results anyway). cib.xml is kept only if it is under 3 MB.
gen_large() {
	local i n r
	nn() { printf 'node%02d' "$1"; }
	mon() { # mon <id> <interval> [role]
		echo "            <op id=\"$1-monitor-$2\" name=\"monitor\" interval=\"$2\" timeout=\"20s\"${3:+ role=\"$3\"}/>"
	}
	dummy() { # dummy <id>
		echo "          <primitive id=\"$1\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\">"
		echo "            <operations>"
		mon "$1" 10s
		echo "            </operations>"
		echo "          </primitive>"
	}
	cat <<EOF
<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="512" num_updates="0" admin_epoch="0" cib-last-written="Wed Nov 25 11:10:00 2026" update-origin="node01" update-client="cibadmin" update-user="root" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-have-watchdog" name="have-watchdog" value="false"/>
        <nvpair id="cib-bootstrap-options-dc-version" name="dc-version" value="2.1.5-a3f44794f94"/>
        <nvpair id="cib-bootstrap-options-cluster-infrastructure" name="cluster-infrastructure" value="corosync"/>
        <nvpair id="cib-bootstrap-options-cluster-name" name="cluster-name" value="bigcluster"/>
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="cib-bootstrap-options-no-quorum-policy" name="no-quorum-policy" value="stop"/>
        <nvpair id="cib-bootstrap-options-enable-startup-probes" name="enable-startup-probes" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
EOF
	for i in $(seq 1 32); do
		r=$(((i - 1) / 8 + 1))
		cat <<EOF
      <node id="$i" uname="$(nn "$i")">
        <instance_attributes id="nodes-$i">
          <nvpair id="nodes-$i-rack" name="rack" value="rack$r"/>
        </instance_attributes>
      </node>
EOF
	done
	cat <<EOF
    </nodes>
    <resources>
      <clone id="stateful-clone">
        <meta_attributes id="stateful-clone-meta">
          <nvpair id="stateful-clone-meta-promotable" name="promotable" value="true"/>
          <nvpair id="stateful-clone-meta-promoted-max" name="promoted-max" value="1"/>
          <nvpair id="stateful-clone-meta-promoted-node-max" name="promoted-node-max" value="1"/>
        </meta_attributes>
        <primitive id="stateful" class="ocf" provider="pacemaker" type="Stateful">
          <operations>
            <op id="stateful-monitor-10s" name="monitor" interval="10s" timeout="20s" role="Unpromoted"/>
            <op id="stateful-monitor-11s" name="monitor" interval="11s" timeout="20s" role="Promoted"/>
          </operations>
        </primitive>
      </clone>
      <clone id="ping-clone">
        <primitive id="ping" class="ocf" provider="pacemaker" type="ping">
          <instance_attributes id="ping-ia">
            <nvpair id="ping-ia-host_list" name="host_list" value="192.0.2.1"/>
            <nvpair id="ping-ia-multiplier" name="multiplier" value="1000"/>
            <nvpair id="ping-ia-dampen" name="dampen" value="5s"/>
          </instance_attributes>
          <operations>
            <op id="ping-monitor-10s" name="monitor" interval="10s" timeout="60s"/>
          </operations>
        </primitive>
      </clone>
      <clone id="health-clone">
$(dummy health | sed 's/^/  /')
      </clone>
      <clone id="svc-clone">
        <group id="svc-group">
$(dummy svc-a | sed 's/^/    /')
$(dummy svc-b | sed 's/^/    /')
        </group>
      </clone>
EOF
	for i in $(seq -w 1 40); do
		n=$((10#$i))
		cat <<EOF
      <group id="app-$i">
        <primitive id="app-$i-ip" class="ocf" provider="heartbeat" type="IPaddr2">
          <instance_attributes id="app-$i-ip-ia">
            <nvpair id="app-$i-ip-ia-ip" name="ip" value="198.51.100.$((100 + n))"/>
            <nvpair id="app-$i-ip-ia-cidr_netmask" name="cidr_netmask" value="24"/>
          </instance_attributes>
          <operations>
            <op id="app-$i-ip-monitor-30s" name="monitor" interval="30s" timeout="20s"/>
          </operations>
        </primitive>
$(dummy "app-$i-fs" | sed 's/^  //')
$(dummy "app-$i-daemon" | sed 's/^  //')
      </group>
EOF
	done
	for i in $(seq -f '%03g' 1 220); do
		dummy "dummy-$i" | sed 's/^    /      /'
	done
	cat <<EOF
    </resources>
    <constraints>
      <rsc_colocation id="col-app-01-with-stateful-promoted" rsc="app-01" with-rsc="stateful-clone" with-rsc-role="Promoted" score="INFINITY"/>
      <rsc_order id="ord-stateful-promote-then-app-01" first="stateful-clone" first-action="promote" then="app-01" then-action="start"/>
      <rsc_order id="ord-ping-then-svc" first="ping-clone" then="svc-clone" kind="Optional"/>
EOF
	for i in $(seq -w 1 40); do
		n=$((10#$i))
		cat <<EOF
      <rsc_location id="loc-app-$i-connectivity" rsc="app-$i">
        <rule id="loc-app-$i-connectivity-rule" score="-INFINITY" boolean-op="or">
          <expression id="loc-app-$i-connectivity-rule-expr" attribute="pingd" operation="not_defined"/>
          <expression id="loc-app-$i-connectivity-rule-expr-0" attribute="pingd" operation="lte" value="0" type="number"/>
        </rule>
      </rsc_location>
EOF
		[ "$n" = 1 ] || echo "      <rsc_location id=\"loc-app-$i-prefers\" rsc=\"app-$i\" node=\"$(nn $(((n - 1) % 32 + 1)))\" score=\"100\"/>"
	done
	cat <<EOF
      <rsc_location id="cli-ban-dummy-220-on-node32" rsc="dummy-220" role="Started" node="node32" score="-INFINITY"/>
    </constraints>
    <rsc_defaults>
      <meta_attributes id="rsc_defaults-options">
        <nvpair id="rsc_defaults-options-resource-stickiness" name="resource-stickiness" value="100"/>
        <nvpair id="rsc_defaults-options-migration-threshold" name="migration-threshold" value="3"/>
      </meta_attributes>
    </rsc_defaults>
  </configuration>
  <status>
EOF
	for i in $(seq 1 32); do
		cat <<EOF
    <node_state id="$i" uname="$(nn "$i")" in_ccm="true" crmd="online" crm-debug-origin="do_state_transition" join="member" expected="member">
      <transient_attributes id="$i">
        <instance_attributes id="status-$i">
          <nvpair id="status-$i-.feature-set" name="#feature-set" value="3.16.1"/>
          <nvpair id="status-$i-pingd" name="pingd" value="1000"/>
          <nvpair id="status-$i-master-stateful" name="master-stateful" value="5"/>
        </instance_attributes>
      </transient_attributes>
    </node_state>
EOF
	done
	cat <<EOF
  </status>
</cib>
EOF
}
S=$WORK/large-32n-500r.xml
gen_large >"$WORK/large.in.xml"
T='2026-11-25 11:10:05'
sim "$WORK/large.in.xml" "$S"
scrub "$S"
# Stateful sets its own promotion score to 10 once promoted (5 while unpromoted)
promoted=$(cib "$S" cibadmin --query --no-children --xpath "//node_state[lrm//lrm_rsc_op[@operation='promote']]" | attrval uname)
[ -n "$promoted" ] || die "large-32n-500r: nothing promoted"
T='2026-11-25 11:10:07'
ra_set "$S" "$promoted" master-stateful 10 reboot
settled "$S" large-32n-500r
if [ "$(wc -c <"$S")" -lt 3000000 ]; then render "$S" large-32n-500r; else render "$S" large-32n-500r light; fi

# ---------------------------------------------------------------------------------------------
# Validation against Pacemaker's own schemas
if [ "$HAVE_XMLLINT" = 1 ]; then
	for d in "$STAGE"/*/; do
		s=$(basename "$d")
		v=$(sed -n '1s/.*api-version="\([^"]*\)".*/\1/p' "$d/crm_mon.xml")
		rng=/usr/share/pacemaker/api/api-result-$v.rng
		[ -r "$rng" ] || die "$s: no schema $rng"
		xmllint --noout --relaxng "$rng" "$d/crm_mon.xml" 2>"$WORK/xmllint.log" || die "$s/crm_mon.xml: $(cat "$WORK/xmllint.log")"
		if [ -r /usr/share/pacemaker/crm_mon.rng ]; then
			xmllint --noout --relaxng /usr/share/pacemaker/crm_mon.rng "$d/crm_mon.legacy.xml" 2>"$WORK/xmllint.log" ||
				die "$s/crm_mon.legacy.xml: $(cat "$WORK/xmllint.log")"
		fi
	done
	log "all crm_mon outputs validate against api-result-$v.rng / crm_mon.rng"
fi

# Replace the generated scenarios (README.md is kept)
mkdir -p "$OUT"
for d in "$STAGE"/*/; do
	s=$(basename "$d")
	rm -rf "${OUT:?}/$s"
	cp -r "$d" "$OUT/$s"
done
log "done: $(ls "$STAGE" | wc -l) scenarios in $OUT"
