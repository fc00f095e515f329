package nagios

import (
	"fmt"
	"strconv"

	"github.com/pgha/pgha_exporter/crm/corosync"
)

// CorosyncOptions tune the corosync check.
type CorosyncOptions struct {
	// ExpectedMembers, when > 0, is how many members must be present;
	// otherwise the expected votes reported by the quorum system are used.
	ExpectedMembers int
}

// CheckCorosync evaluates rings, knet links, quorum and membership on the
// corosync (1.x-3.x) or CMAN stack.
func CheckCorosync(s *corosync.Status, o CorosyncOptions) Result {
	r := Result{What: "COROSYNC"}
	if s.Rings != nil {
		ringFindings(&r, s.Rings)
	}
	var quorate *bool
	var expected, total, members int
	switch {
	case s.Cman != nil && s.Cman.Status != nil:
		cs := s.Cman.Status
		if cs.ActivityBlocked != nil {
			q := !*cs.ActivityBlocked
			quorate = &q
		}
		expected, total = deref(cs.ExpectedVotes), deref(cs.TotalVotes)
		for _, n := range s.Cman.Nodes {
			switch n.Membership {
			case corosync.CmanMember:
				members++
			case corosync.CmanDisallowed:
				r.Add(Critical, "cman: node %s disallowed", nameOr(n.Name, n.NodeID))
			default:
				r.Add(Warning, "cman: node %s not a member (%s)", nameOr(n.Name, n.NodeID), n.Membership)
			}
		}
	case s.Quorum != nil:
		q := s.Quorum
		quorate = q.Quorate
		expected, total = deref(q.ExpectedVotes), deref(q.TotalVotes)
		members = len(q.Members) // the qdevice pseudo-node is q.Qdevice, never a member
		for _, m := range q.Members {
			if m.Qdevice != nil && m.Qdevice.Registered && m.Qdevice.Alive != nil && !*m.Qdevice.Alive {
				r.Add(Warning, "qdevice not alive on node %s", nameOr(m.Name, m.NodeID))
			}
		}
	default:
		r.Add(Unknown, "no quorum information")
	}
	switch {
	case quorate == nil:
	case *quorate:
		r.Add(OK, "quorate (%d/%d votes)", total, expected)
	default:
		r.Add(Critical, "NOT quorate: activity blocked (%d/%d votes)", total, expected)
	}
	want := o.ExpectedMembers
	if want <= 0 {
		want = expected
	}
	if want > 0 && members < want {
		r.Add(Warning, "%d of %d expected members present", members, want)
	} else if members > 0 {
		r.Add(OK, "%d members", members)
	}
	r.AddPerf(Perf{Label: "members", Value: float64(members), Min: ptr(0)})
	if expected > 0 {
		r.AddPerf(Perf{Label: "votes", Value: float64(total), Min: ptr(0), Max: ptr(float64(expected))})
	}
	return r
}

func ringFindings(r *Result, rings *corosync.Rings) {
	for _, ring := range rings.Rings {
		if ring.Faulty {
			r.Add(Critical, "ring %d (%s) FAULTY", ring.ID, ring.Address)
		} else {
			r.Add(OK, "ring %d ok", ring.ID)
		}
	}
	down := 0
	for _, l := range rings.Links {
		for _, n := range l.Nodes {
			if n.Local {
				continue
			}
			id := "?"
			switch {
			case n.NodeID != nil:
				id = strconv.FormatUint(uint64(*n.NodeID), 10)
			case n.Index != nil:
				id = "index " + strconv.Itoa(*n.Index)
			}
			switch {
			case n.Enabled != nil && !*n.Enabled:
			case n.Connected != nil && !*n.Connected:
				r.Add(Critical, "knet link %d to node %s disconnected", l.ID, id)
				down++
			}
		}
	}
	if len(rings.Links) > 0 && down == 0 {
		r.Add(OK, "%d knet link(s) connected", len(rings.Links))
	}
	r.AddPerf(Perf{Label: "links_down", Value: float64(down), Crit: MustRange("0"), Min: ptr(0)})
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func nameOr(name string, id uint32) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(id)
}
