package nagios

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pgha/pgha_exporter/crm"
)

// ClusterOptions tune the cluster check. Policies are the state a finding
// gets (OK silences it).
type ClusterOptions struct {
	FailCount       Thresholds // on the highest fail count of any resource on any node
	WithPromoted    []string   // resources that must run where the promoted instance runs; nil: derive from colocations
	Offline         State
	Standby         State
	Maintenance     State // node maintenance
	MaintenanceMode State // cluster-wide maintenance-mode
	StonithDisabled State
	Unmanaged       State
	CLIConstraints  State
}

// DefaultClusterOptions are the documented defaults.
func DefaultClusterOptions() ClusterOptions {
	return ClusterOptions{
		FailCount: Thresholds{Warn: MustRange("0")},
		Offline:   Warning, Standby: Warning, Maintenance: Warning, MaintenanceMode: Warning,
		StonithDisabled: Warning, Unmanaged: Warning, CLIConstraints: Warning,
	}
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

// CheckCluster evaluates a Pacemaker snapshot.
func CheckCluster(snap *crm.Snapshot, o ClusterOptions) Result {
	r := Result{What: "CLUSTER"}
	st := snap.Status
	sum := st.Summary
	if sum == nil {
		r.Add(Unknown, "crm_mon printed no summary")
		return r
	}
	if sum.DC == nil {
		r.Add(Critical, "no DC elected")
	} else {
		r.Add(OK, "DC %s", orDefault(sum.DC.Name, "elected (name not reported)"))
		switch {
		case isFalse(sum.DC.WithQuorum):
			r.Event(Critical, "quorum lost: this partition has no quorum")
		case isTrue(sum.DC.WithQuorum):
			r.Add(OK, "quorate")
		}
	}
	maintenanceMode := sum.Options != nil && isTrue(sum.Options.MaintenanceMode)

	promoted := promotedNodes(st)
	failoverFindings(&r, st, promoted) // a failover leads: it names the new primary
	online, members := nodeFindings(&r, st, o)
	if sum.DC != nil && isTrue(sum.DC.WithQuorum) {
		// The lost node's own finding is the event (its state the
		// operator's policy); the risk it leaves is a problem of its own.
		if lost, margin := st.QuorumMargin(); lost > 0 && margin <= 0 {
			r.Add(Critical, "at minimum quorum: %d of %d nodes online, one more failure stops every resource", online, members)
		}
	}
	resourceFindings(&r, st, o, maintenanceMode)
	promotableFindings(&r, st, promoted)
	withPromotedFindings(&r, snap, o, promoted)
	maxFail := failCountFindings(&r, st, o)
	constraintFindings(&r, snap, o)
	// Cluster-wide settings come last: they stand until someone changes them.
	if maintenanceMode {
		r.Policy(o.MaintenanceMode, "cluster in maintenance-mode: resources unmanaged, monitors stopped")
	}
	if opt := sum.Options; opt != nil && isFalse(opt.StonithEnabled) {
		r.Policy(o.StonithDisabled, "stonith-enabled=false: no fencing")
	}

	r.AddPerf(Perf{Label: "nodes_online", Value: float64(online), Min: ptr(0), Max: ptr(float64(members))})
	// Perfdata cannot carry INFINITY: report Pacemaker's own 1000000.
	r.AddPerf(Perf{Label: "max_failcount", Value: math.Min(maxFail, crm.Infinity), Warn: o.FailCount.Warn, Crit: o.FailCount.Crit, Min: ptr(0)})
	var failed int
	for _, res := range st.Resources {
		if isTrue(res.Failed) {
			failed++
		}
	}
	r.AddPerf(Perf{Label: "resources_failed", Value: float64(failed), Min: ptr(0)})
	for _, clone := range slices.Sorted(maps.Keys(promoted)) {
		r.AddPerf(Perf{Label: "promoted_" + clone, Value: float64(len(promoted[clone])), Crit: MustRange("1:1"), Min: ptr(0)})
	}
	return r
}

func nodeFindings(r *Result, st *crm.Status, o ClusterOptions) (online, members int) {
	for _, n := range st.Nodes {
		if n.Type != "" && n.Type != "member" {
			continue
		}
		members++
		switch {
		case isTrue(n.Unclean):
			r.Event(Critical, "node %s UNCLEAN: node lost, needs fencing", n.Name)
		case isFalse(n.Online):
			r.PolicyEvent(o.Offline, "node %s OFFLINE: node lost", n.Name)
		}
		if isTrue(n.Online) {
			online++
		}
		if isTrue(n.Standby) {
			r.Policy(o.Standby, "node %s in standby", n.Name)
		}
		if isTrue(n.StandbyOnFail) {
			r.Add(Critical, "node %s in standby after a failure (on-fail=standby)", n.Name)
		}
		if isTrue(n.Maintenance) {
			r.Policy(o.Maintenance, "node %s in maintenance", n.Name)
		}
		if isTrue(n.Pending) {
			r.Add(Warning, "node %s pending", n.Name)
		}
	}
	r.Add(OK, "%d/%d nodes online", online, members)
	return online, members
}

func resourceFindings(r *Result, st *crm.Status, o ClusterOptions, maintenanceMode bool) {
	nodeMaint := map[string]bool{}
	for _, n := range st.Nodes {
		nodeMaint[n.Name] = isTrue(n.Maintenance)
	}
	seen := map[string]bool{}
	once := func(s State, text string) {
		if !seen[text] {
			seen[text] = true
			r.Add(s, "%s", text)
		}
	}
	policyOnce := func(s State, text string) {
		if !seen[text] {
			seen[text] = true
			r.Policy(s, "%s", text)
		}
	}
	for _, res := range st.Resources {
		where := strings.Join(res.Nodes, ",")
		if where == "" {
			where = "no node"
		}
		if isTrue(res.Failed) {
			once(Critical, fmt.Sprintf("resource %s FAILED on %s", res.ID, where))
		}
		if isTrue(res.Blocked) {
			once(Critical, fmt.Sprintf("resource %s BLOCKED on %s", res.ID, where))
		}
		if isTrue(res.Orphaned) {
			once(Warning, fmt.Sprintf("resource %s orphaned on %s", res.ID, where))
		}
		inMaint := maintenanceMode || isTrue(res.Maintenance)
		for _, n := range res.Nodes {
			inMaint = inMaint || nodeMaint[n]
		}
		if isFalse(res.Managed) && !inMaint {
			policyOnce(o.Unmanaged, fmt.Sprintf("resource %s unmanaged on %s", res.ID, where))
		}
		if res.Clone == "" && res.Bundle == "" && res.Role == crm.RoleStopped && res.TargetRole != crm.RoleStopped && !inMaint {
			once(Critical, fmt.Sprintf("resource %s stopped (target role %s)", res.ID, orDefault(string(res.TargetRole), "started")))
		}
	}
}

// promotedNodes returns the primaries (crm.Status.Primaries) of every
// promotable clone, an empty list for a clone without one.
func promotedNodes(st *crm.Status) map[string][]string {
	promoted := map[string][]string{}
	for _, c := range st.Clones {
		if !c.Promotable {
			continue
		}
		promoted[c.ID] = append([]string{}, st.Primaries(c.ID)...)
	}
	return promoted
}

// promotableFindings checks "exactly one promoted instance".
func promotableFindings(r *Result, st *crm.Status, promoted map[string][]string) {
	for _, c := range st.Clones {
		if !c.Promotable {
			continue
		}
		switch n := len(promoted[c.ID]); {
		case c.TargetRole == crm.RoleStopped || c.TargetRole == crm.RoleUnpromoted:
			r.Add(OK, "%s disabled (target role %s)", c.ID, c.TargetRole)
		case n == 0:
			r.Event(Critical, "NO PRIMARY: no promoted instance of %s on a clean, online node", c.ID)
		case n > 1:
			r.Event(Critical, "%d promoted instances of %s (%s)", n, c.ID, strings.Join(promoted[c.ID], ", "))
		default:
			r.Add(OK, "%s promoted on %s", c.ID, promoted[c.ID][0])
		}
	}
}

// FailoverWindow is how long after a promotion the checks lead with it.
const FailoverWindow = 15 * time.Minute

// failoverSettle is how long after a failover's promotion the agents may
// still change the CIB (the new primary's attributes, the async standby made
// sync): 27-94 s in the lab's recorded failovers (scenarios 1, 2, 3, 5);
// a standby lost 2.6 and 7.7 minutes after a switchover (scenarios 6 and 8
// right after the previous recovery) moved it 158 and 463 s past.
const failoverSettle = 2 * time.Minute

// failoverFindings names the new primary for FailoverWindow after a promote
// operation on the node that is promoted now (as of crm_mon's last update).
func failoverFindings(r *Result, st *crm.Status, promoted map[string][]string) {
	if st.Summary == nil || st.Summary.LastUpdate.IsZero() {
		return
	}
	now := st.Summary.LastUpdate
	for _, clone := range slices.Sorted(maps.Keys(promoted)) {
		nodes := promoted[clone]
		if len(nodes) != 1 {
			continue
		}
		members := map[string]bool{}
		for _, res := range st.Resources {
			if res.Clone == clone {
				members[res.BaseID()] = true
			}
		}
		// A promotion is a failover when the previous primary is gone:
		// another member node lost, or an instance failed elsewhere. A
		// cluster start or a planned switchover promotes without either.
		lost := false
		for _, n := range st.Nodes {
			if n.Name != nodes[0] && (n.Type == "" || n.Type == "member") && (isTrue(n.Unclean) || isFalse(n.Online)) {
				lost = true
			}
		}
		for _, h := range st.History {
			if h.Node != nodes[0] && members[crm.StripInstance(h.Resource)] && h.FailCount > 0 {
				lost = true
			}
		}
		if !lost {
			continue
		}
		p, ok := st.LastPromotion(clone)
		if !ok || p.Node != nodes[0] {
			continue
		}
		last := p.At
		// The promotion must be the latest change. A node lost after it (a
		// standby lost minutes after a switchover) makes the survivors'
		// pgsql agents write attributes, which moves the CIB's last change
		// well past the promotion; then the loss, not a failover, is news.
		if lc := st.Summary.LastChange; !lc.IsZero() && lc.Sub(last) > failoverSettle {
			continue
		}
		if age := now.Sub(last); !last.IsZero() && age >= 0 && age <= FailoverWindow {
			r.Lead(Warning, "failover: new primary %s (%s promoted %s ago, at %s)", nodes[0], clone, age.Round(time.Second), last.Format("15:04:05"))
		}
	}
}

// withPromotedFindings checks that the resources colocated with the promoted
// role (the VIPs) run on the promoted node.
func withPromotedFindings(r *Result, snap *crm.Snapshot, o ClusterOptions, promoted map[string][]string) {
	st := snap.Status
	type want struct{ rsc, clone string }
	var wants []want
	if o.WithPromoted != nil {
		for _, rsc := range o.WithPromoted {
			for clone := range promoted {
				wants = append(wants, want{rsc, clone})
			}
		}
	} else {
		for _, c := range snap.Colocations {
			if _, ok := promoted[c.WithRsc]; ok && c.WithRole == crm.RolePromoted && c.Score > 0 {
				wants = append(wants, want{c.Resource, c.WithRsc})
			}
		}
	}
	for _, w := range wants {
		nodes := promoted[w.clone]
		if len(nodes) != 1 {
			continue // reported by promotableFindings
		}
		primary := nodes[0]
		members := groupMembers(st, w.rsc)
		if len(members) == 0 {
			r.Add(Warning, "%s must run with the promoted %s but is not in the cluster", w.rsc, w.clone)
			continue
		}
		for _, m := range members {
			var on []string
			for _, res := range st.Resources {
				if res.ID == m && isTrue(res.Active) {
					on = append(on, res.Nodes...)
				}
			}
			switch {
			case len(on) == 0:
				r.Add(Critical, "%s not running (must run with the primary on %s)", m, primary)
			case len(on) > 1 || on[0] != primary:
				r.Add(Critical, "%s on %s, not with the primary on %s", m, strings.Join(on, ","), primary)
			default:
				r.Add(OK, "%s with the primary on %s", m, primary)
			}
		}
	}
}

// groupMembers resolves a group id to its primitives (or a primitive to itself).
func groupMembers(st *crm.Status, id string) []string {
	var out []string
	seen := map[string]bool{}
	for _, res := range st.Resources {
		if (res.Group == id || res.ID == id) && !seen[res.ID] {
			seen[res.ID] = true
			out = append(out, res.ID)
		}
	}
	return out
}

func failCountFindings(r *Result, st *crm.Status, o ClusterOptions) float64 {
	maxFail, maxAt := 0.0, ""
	for _, h := range st.History {
		fc := float64(h.FailCount)
		if fc > maxFail {
			maxFail, maxAt = fc, h.Resource+" on "+h.Node
		}
		if fc <= 0 || h.MigrationThreshold == nil {
			continue
		}
		mt := float64(*h.MigrationThreshold)
		switch {
		case mt <= 0 || math.IsInf(mt, 1):
		case fc >= mt:
			r.Add(Critical, "%s banned from %s: fail count %s >= migration-threshold %s (%s)", h.Resource, h.Node, num(fc), num(mt), cleanupHint(st, h))
		case fc >= mt-1:
			r.Add(Warning, "%s on %s: one more failure bans it (fail count %s, migration-threshold %s)", h.Resource, h.Node, num(fc), num(mt))
		}
	}
	if s := o.FailCount.State(maxFail); s != OK {
		r.Add(s, "highest fail count %s (%s)", num(maxFail), maxAt)
	}
	for _, f := range st.Failures {
		reason := f.ExitReason
		if reason == "" {
			reason = f.ExitStatus
		}
		r.Add(Warning, "failed action %s %s on %s: %s", f.Resource, f.Task, f.Node, orDefault(reason, "failed"))
	}
	return maxFail
}

// cleanupHint is the runbook's command for a banned resource: a pgsql
// instance may keep PGSQL.lock (a crashed primary), which a plain cleanup
// turns into a failed start, so it is re-seeded first.
func cleanupHint(st *crm.Status, h crm.ResourceHistory) string {
	target, agent := h.Resource, ""
	for _, res := range st.Resources {
		if res.BaseID() == crm.StripInstance(h.Resource) {
			agent = res.Agent
			if res.Clone != "" {
				target = res.Clone
			}
		}
	}
	cmd := fmt.Sprintf("crm_resource --cleanup -r %s -N %s", target, h.Node)
	if agent == crm.AgentPgsql {
		return "if PGSQL.lock exists on " + h.Node + " re-seed it first, runbook PghaResourceBannedByFailCount; then " + cmd
	}
	return cmd
}

func constraintFindings(r *Result, snap *crm.Snapshot, o ClusterOptions) {
	if snap.Constraints != nil {
		for _, c := range snap.Constraints {
			if c.IsCLI() {
				r.Policy(o.CLIConstraints, "leftover constraint %s (crm_resource --clear -r %s)", c.ID, c.Resource)
			}
		}
		return
	}
	for _, b := range snap.Status.Bans {
		if strings.HasPrefix(b.ID, "cli-") {
			r.Policy(o.CLIConstraints, "leftover constraint %s (crm_resource --clear -r %s)", b.ID, b.Resource)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
