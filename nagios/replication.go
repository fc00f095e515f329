package nagios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgha/pgha_exporter/crm"
)

// ReplicationOptions tune the replication check.
type ReplicationOptions struct {
	// SyncMode: the pgsql resource runs rep_mode=sync, so an HS:sync
	// standby must exist while two or more nodes are online.
	SyncMode bool
}

// DefaultReplicationOptions are the documented defaults.
func DefaultReplicationOptions() ReplicationOptions { return ReplicationOptions{SyncMode: true} }

// CheckReplication evaluates what the pgsql agent wrote in the CIB.
func CheckReplication(snap *crm.Snapshot, o ReplicationOptions) Result {
	r := Result{What: "REPLICATION"}
	st := snap.Status
	rscs := st.PrimitivesByAgent(crm.AgentPgsql)
	if len(rscs) == 0 {
		r.Add(Unknown, "no ocf:heartbeat:pgsql resource in the cluster")
		return r
	}
	online, planned := map[string]bool{}, map[string]bool{}
	onlineCount := 0
	for _, n := range st.Nodes {
		if isTrue(n.Standby) || isTrue(n.Maintenance) {
			planned[n.Name] = true // an operator's choice: standing, not an event
		}
		if isTrue(n.Online) && (n.Type == "" || n.Type == "member") {
			online[n.Name] = true
			onlineCount++
		}
	}
	active := map[string]bool{} // node -> pgsql instance active there
	for _, res := range st.Resources {
		if res.Agent == crm.AgentPgsql && isTrue(res.Active) {
			for _, n := range res.Nodes {
				active[n] = true
			}
		}
	}
	byRsc := map[string][]crm.PgsqlNode{}
	for _, p := range snap.PgsqlNodes() {
		byRsc[p.Resource] = append(byRsc[p.Resource], p)
	}
	for _, rsc := range rscs {
		var pri, streaming, candidates, lost []string
		sync, async := snap.PgsqlStandbys(rsc) // the landing page reads the same
		// Who is primary is Pacemaker's promoted instance on a clean node
		// (crm.Status.Primaries); a PRI attribute elsewhere is left over.
		clone := st.CloneOf(rsc)
		primaries := st.Primaries(clone)
		if clone == "" {
			primaries = nil
		}
		for _, p := range byRsc[rsc] {
			if p.Status == "PRI" {
				if clone == "" || slices.Contains(primaries, p.Node) {
					pri = append(pri, p.Node)
				} else {
					r.Add(Warning, "%s on %s: stale PRI attribute (the instance there is not promoted, failed, or the node is lost)", rsc, p.Node)
				}
			}
			if strings.HasPrefix(p.DataStatus, "STREAMING|") && online[p.Node] {
				streaming = append(streaming, p.Node)
			}
			if p.Status != "PRI" && p.PromotionScore != nil && *p.PromotionScore >= 100 && online[p.Node] {
				candidates = append(candidates, p.Node)
			}
			dataStatus := strings.ReplaceAll(p.DataStatus, "|", "/")
			switch {
			case p.DataStatus == "DISCONNECT" && planned[p.Node]:
				r.Policy(Warning, "%s on %s: data DISCONNECT (node in standby or maintenance)", rsc, p.Node)
			case p.DataStatus == "DISCONNECT" && online[p.Node]:
				r.Event(Warning, "standby %s lost: %s data DISCONNECT, will not be promoted", p.Node, rsc)
				lost = append(lost, p.Node)
			case p.DataStatus == "DISCONNECT":
				r.Event(Warning, "standby %s lost: %s data DISCONNECT (node offline)", p.Node, rsc)
				lost = append(lost, p.Node)
			}
			if online[p.Node] {
				switch p.Status {
				case "STOP", "UNKNOWN", "HS:alone", "HS:connected":
					if planned[p.Node] {
						r.Policy(Warning, "%s on %s: status %s (data %s)", rsc, p.Node, p.Status, orDefault(dataStatus, "none"))
					} else {
						r.Add(Warning, "%s on %s: status %s (data %s)", rsc, p.Node, p.Status, orDefault(dataStatus, "none"))
					}
				}
			}
			if p.ReceiverStatus == "ERROR" && active[p.Node] {
				r.Add(Warning, "%s on %s: no WAL receiver (receiver-status ERROR)", rsc, p.Node)
			}
			if p.XlogLocation != nil {
				r.Add(Warning, "%s: election in progress (%s reports xlog-loc)", rsc, p.Node)
			}
		}
		summary := fmt.Sprintf("PRI %s, sync %s, async %s", list(pri), list(sync), list(async))
		if len(rscs) > 1 {
			summary = rsc + ": " + summary
		}
		r.Context = append(r.Context, summary)
		switch {
		case len(pri) == 0:
			r.Event(Critical, "NO PRIMARY: no %s node is PRI", rsc)
		case len(pri) > 1:
			r.Event(Critical, "%s: PRI on %s (split brain or stale attributes)", rsc, strings.Join(pri, " and "))
		default:
			r.Add(OK, "%s: PRI on %s", rsc, pri[0])
		}
		switch {
		case len(sync) > 0:
			r.Add(OK, "%s: HS:sync on %s", rsc, strings.Join(sync, ","))
		case o.SyncMode && onlineCount >= 2:
			if len(lost) > 0 {
				r.Event(Critical, "sync standby lost: no HS:sync standby of %s (commits unprotected or blocked); lost: %s", rsc, strings.Join(lost, ", "))
			} else {
				r.Event(Critical, "sync standby lost: no HS:sync standby of %s (commits unprotected or blocked)", rsc)
			}
		}
		if len(candidates) == 0 {
			r.Add(Critical, "%s: no failover candidate (no standby with promotion score >= 100)", rsc)
		}
		r.AddPerf(Perf{Label: rsc + "_sync_standbys", Value: float64(len(sync)), Crit: crit(o.SyncMode), Min: ptr(0)})
		r.AddPerf(Perf{Label: rsc + "_streaming_standbys", Value: float64(len(streaming)), Min: ptr(0)})
		r.AddPerf(Perf{Label: rsc + "_failover_candidates", Value: float64(len(candidates)), Crit: MustRange("1:"), Min: ptr(0)})
	}
	return r
}

// list renders node names for the summary line, "-" for none.
func list(nodes []string) string {
	if len(nodes) == 0 {
		return "-"
	}
	return strings.Join(nodes, ",")
}

func crit(sync bool) Range {
	if sync {
		return MustRange("1:")
	}
	return Range{}
}
