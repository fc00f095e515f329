package nagios

import (
	"regexp"
	"strings"
)

// A hint is the command that inspects or fixes one kind of finding, as its
// runbook in docs/runbooks.md gives it, with <node> and <resource> filled in
// from the finding. The check's detail lines carry it after the finding, so
// that the engineer paged at 3 a.m. types what the runbook would have told
// them. TestEveryFindingHasARunbookCommand keeps the table complete and
// each command verbatim in the runbooks. No command holds a "|": Nagios
// reads it as the start of the performance data.
type hint struct {
	re  *regexp.Regexp
	cmd string
}

var hints = []hint{
	{regexp.MustCompile(`^stonith-enabled=false`), `crm_attribute -t crm_config -n stonith-enabled -G -q`},
	{regexp.MustCompile(`^node (?P<node>\S+) UNCLEAN`), `stonith_admin --history '*'`},
	{regexp.MustCompile(`^node (?P<node>\S+) OFFLINE`), `corosync-quorumtool -s`},
	{regexp.MustCompile(`^node (?P<node>\S+) in standby`), `crm_standby -N <node> -G`},
	{regexp.MustCompile(`^node (?P<node>\S+) in maintenance`), `crm_attribute -N <node> -n maintenance -G -q`},
	{regexp.MustCompile(`^(partition WITHOUT quorum|quorum lost|at minimum quorum|NOT quorate|no quorum information|\d+ of \d+ expected members)`), `corosync-quorumtool -s`},
	{regexp.MustCompile(`^(knet link|ring) `), `corosync-cfgtool -s`},
	{regexp.MustCompile(`^cman: node`), `cman_tool nodes -a`},
	{regexp.MustCompile(`^no DC`), `corosync-quorumtool -s`},
	{regexp.MustCompile(`^cluster in maintenance-mode`), `crm_attribute -t crm_config -n maintenance-mode -G -q`},
	{regexp.MustCompile(`^failover: new primary`), `crm_mon -1 -A -f -r`},
	{regexp.MustCompile(`^NO PRIMARY`), `crm_mon -1 -A -f`},
	{regexp.MustCompile(`^\S+: no failover candidate`), `crm_mon -1 -A`},
	{regexp.MustCompile(`^standby (?P<node>\S+) lost: \S+ data`), `crm_attribute -N <node> -n postgresql-data-status -l forever -G -q`},
	{regexp.MustCompile(`^\S+ on (?P<node>\S+): (status|stale PRI)`), `crm_attribute -N <node> -n postgresql-status -l reboot -G -q`},
	{regexp.MustCompile(`^\S+ on (?P<node>\S+): data `), `crm_attribute -N <node> -n postgresql-data-status -l forever -G -q`},
	{regexp.MustCompile(`^(?P<resource>\S+) on (?P<node>\S+): one more failure`), `crm_failcount -G -r <resource> -N <node>`},
	{regexp.MustCompile(`^highest fail count \S+ \((?P<resource>\S+) on (?P<node>\S+)\)`), `crm_failcount -G -r <resource> -N <node>`},
	{regexp.MustCompile(`^failed action (?P<resource>\S+) \S+ on (?P<node>\S+):`), `crm_resource --list-operations -r <resource> -N <node>`},
	{regexp.MustCompile(`^resource (?P<resource>\S+) FAILED on (?P<node>\S+)`), `crm_resource --list-operations -r <resource> -N <node>`},
	{regexp.MustCompile(`^resource (?P<resource>\S+) stopped`), `crm_resource --locate -r <resource>`},
	{regexp.MustCompile(`^resource \S+ unmanaged`), `crm_mon -1 -r`},
	{regexp.MustCompile(`^(?P<resource>\S+) (not )?with the primary`), `crm_resource --locate -r <resource>`},
	{regexp.MustCompile(`^sync standby lost`), `crm_mon -1 -A`},
	{regexp.MustCompile(`^writes are blocked`), `runuser -u postgres -- psql -X -c "show synchronous_standby_names" -c "select application_name, state, sync_state from pg_stat_replication"`},
	{regexp.MustCompile(`^standby \S+ is `), `runuser -u postgres -- psql -X -c "select application_name, state, sync_state from pg_stat_replication"`},
	{regexp.MustCompile(`^\S+ on (?P<node>\S+): no WAL receiver`), `attrd_updater -Q -n postgresql-receiver-status -N <node>`},
	{regexp.MustCompile(`^no WAL receiver`), `runuser -u postgres -- psql -X -c "select * from pg_stat_wal_receiver"`},
	{regexp.MustCompile(`(replay lag|WAL replay paused)`), `runuser -u postgres -- psql -X -c "select status, now() - last_msg_receipt_time from pg_stat_wal_receiver"`},
	{regexp.MustCompile(`^WAL archiving failing`), `grep 'archive command failed' <postgresql log>`},
	{regexp.MustCompile(`^role mismatch`), `runuser -u postgres -- psql -XAtc 'select pg_is_in_recovery()'`},
}

// hintFor returns the runbook command for a finding's text, or "" when the
// text carries its command already (banned resources, leftover
// constraints: "(crm_resource ...)") or no hint matches.
func hintFor(text string) string {
	if strings.Contains(text, "(crm_resource ") || strings.Contains(text, "; then crm_resource ") {
		return ""
	}
	for _, h := range hints {
		m := h.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		cmd := h.cmd
		for i, name := range h.re.SubexpNames() {
			if name != "" {
				cmd = strings.ReplaceAll(cmd, "<"+name+">", m[i])
			}
		}
		return cmd
	}
	return ""
}
