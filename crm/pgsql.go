package crm

import (
	"time"

	"slices"
	"strings"
)

// Agents whose node attributes this package decodes.
const (
	AgentPgsql   = "ocf:heartbeat:pgsql"   // the classic pgsql agent (rep_mode=sync)
	AgentPgsqlms = "ocf:heartbeat:pgsqlms" // PAF
)

// PgsqlNode is what the ocf:heartbeat:pgsql agent wrote about one node.
// Empty strings and nil pointers mean the attribute is absent.
type PgsqlNode struct {
	Resource       string  `json:"resource"` // the primitive id (the agent's attribute prefix)
	Node           string  `json:"node"`
	Status         string  `json:"status,omitempty"`      // <rsc>-status: PRI, HS:sync, HS:async, ..., STOP
	DataStatus     string  `json:"data_status,omitempty"` // <rsc>-data-status: LATEST, STREAMING|SYNC, DISCONNECT, ...
	PromotionScore *Score  `json:"promotion_score,omitempty"`
	ReceiverStatus string  `json:"receiver_status,omitempty"` // normal, normal (master), ERROR
	XlogLocation   *uint64 `json:"xlog_location,omitempty"`   // only during an election
	MasterBaseline *uint64 `json:"master_baseline,omitempty"`
	// DataStatusFromCIB is set when the node is offline in crm_mon and its
	// permanent data-status was read from the CIB nodes section instead.
	DataStatusFromCIB bool `json:"data_status_from_cib,omitempty"`
}

// PromotionScore is a master-<rsc> node attribute of a promotable clone.
type PromotionScore struct {
	Resource string `json:"resource"`
	Node     string `json:"node"`
	Score    Score  `json:"score"`
}

// AttributesOf returns one node's crm_mon attributes by name (nil when the
// node has none listed).
func (s *Status) AttributesOf(node string) map[string]string {
	for _, na := range s.NodeAttributes {
		if na.Node == node {
			m := make(map[string]string, len(na.Attributes))
			for _, a := range na.Attributes {
				m[a.Name] = a.Value
			}
			return m
		}
	}
	return nil
}

// PrimitivesByAgent returns the distinct primitive ids (instance suffix
// removed) running the given normalised agent, in document order.
func (s *Status) PrimitivesByAgent(agent string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range s.Resources {
		id := r.BaseID()
		if r.Agent == agent && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// PromotableChildren returns the distinct primitive ids inside promotable
// clones, in document order.
func (s *Status) PromotableChildren() []string {
	promotable := map[string]bool{}
	for _, c := range s.Clones {
		if c.Promotable {
			promotable[c.ID] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range s.Resources {
		id := r.BaseID()
		if promotable[r.Clone] && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// PromotionScores returns master-<rsc> for every primitive of a promotable
// clone on every node that has it (pgsql and PAF both use this attribute).
func (s *Status) PromotionScores() []PromotionScore {
	var out []PromotionScore
	for _, rsc := range s.PromotableChildren() {
		for _, na := range s.NodeAttributes {
			for _, a := range na.Attributes {
				if a.Name == "master-"+rsc || a.Name == "master-"+rsc+":0" {
					if v, ok := ParseScore(a.Value); ok {
						out = append(out, PromotionScore{Resource: rsc, Node: na.Node, Score: Score(v)})
					}
				}
			}
		}
	}
	return out
}

// PgsqlNodes decodes the pgsql agent's attributes for every node that has at
// least one of them. cibNodes (permanent attributes from the CIB, may be nil)
// supplies <rsc>-data-status for nodes crm_mon shows no attributes for.
func (s *Status) PgsqlNodes(cibNodes map[string][]Attribute) []PgsqlNode {
	var out []PgsqlNode
	for _, rsc := range s.PrimitivesByAgent(AgentPgsql) {
		for _, n := range s.Nodes {
			if n.Type != "" && n.Type != "member" {
				continue
			}
			attrs := s.AttributesOf(n.Name)
			pn := PgsqlNode{Resource: rsc, Node: n.Name}
			found := false
			get := func(suffix string) string {
				v, ok := attrs[rsc+suffix]
				if ok {
					found = true
				}
				return v
			}
			pn.Status = get("-status")
			pn.DataStatus = get("-data-status")
			pn.ReceiverStatus = get("-receiver-status")
			if v, ok := parseHexLSN(get("-xlog-loc")); ok {
				pn.XlogLocation = &v
			}
			if v, ok := parseHexLSN(get("-master-baseline")); ok {
				pn.MasterBaseline = &v
			}
			if v, ok := attrs["master-"+rsc]; ok {
				found = true
				if f, ok := ParseScore(v); ok {
					sc := Score(f)
					pn.PromotionScore = &sc
				}
			}
			if pn.DataStatus == "" {
				for _, a := range cibNodes[n.Name] {
					if a.Name == rsc+"-data-status" {
						pn.DataStatus, pn.DataStatusFromCIB, found = a.Value, true, true
					}
				}
			}
			if found {
				out = append(out, pn)
			}
		}
	}
	return out
}

// IsPgsqlAttribute reports whether name is one of the attributes PgsqlNodes
// decodes for the primitive rsc (so generic exports can skip it).
func IsPgsqlAttribute(rsc, name string) bool {
	if name == "master-"+rsc {
		return true
	}
	if !strings.HasPrefix(name, rsc+"-") {
		return false
	}
	switch strings.TrimPrefix(name, rsc+"-") {
	case "status", "data-status", "receiver-status", "xlog-loc", "master-baseline":
		return true
	}
	return false
}

// LocalRole returns the role of the database resource's instance on node:
// the first primitive of agent pgsql or pgsqlms found there. ok is false when
// no such instance is active on the node.
func (s *Status) LocalRole(node string) (role Role, ok bool) {
	for _, r := range s.Resources {
		if r.Agent != AgentPgsql && r.Agent != AgentPgsqlms {
			continue
		}
		for _, n := range r.Nodes {
			if n == node && r.Active != nil && *r.Active {
				return r.Role, true
			}
		}
	}
	return RoleUnknown, false
}

// LocalPgsqlRole says whether Pacemaker runs the local database instance as
// the promoted one. known is false when the snapshot does not name the local
// node or no active pgsql/pgsqlms instance runs there (then no comparison
// with PostgreSQL's own view is possible).
func (s *Snapshot) LocalPgsqlRole() (promoted, known bool) {
	if s == nil || s.Status == nil || s.LocalNode == "" {
		return false, false
	}
	role, ok := s.Status.LocalRole(s.LocalNode)
	if !ok {
		return false, false
	}
	switch role {
	case RolePromoted:
		return true, true
	case RoleUnpromoted, RoleStarted:
		return false, true
	}
	return false, false
}

// CloneInstance is one instance of a clone: a primitive instance, or one
// instance of a cloned group, whose role is its members' lowest role
// (stopped < started < unpromoted < promoted) and whose nodes are theirs.
type CloneInstance struct {
	ID    string   `json:"id"`
	Role  Role     `json:"role"`
	Nodes []string `json:"nodes,omitempty"`
}

var roleRank = map[Role]int{RoleStopped: 0, RoleStarted: 1, RoleUnpromoted: 2, RolePromoted: 3}

// CloneInstances lists the instances of the clone, in document order.
func (s *Status) CloneInstances(clone string) []CloneInstance {
	var out []CloneInstance
	group := map[string]int{} // cloned group instance id -> index in out
	for _, r := range s.Resources {
		if r.Clone != clone {
			continue
		}
		if r.Group == "" {
			out = append(out, CloneInstance{ID: r.ID, Role: r.Role, Nodes: r.Nodes})
			continue
		}
		i, seen := group[r.Group]
		if !seen {
			group[r.Group] = len(out)
			out = append(out, CloneInstance{ID: r.Group, Role: r.Role, Nodes: append([]string(nil), r.Nodes...)})
			continue
		}
		if roleRank[r.Role] < roleRank[out[i].Role] {
			out[i].Role = r.Role
		}
		for _, n := range r.Nodes {
			if !slices.Contains(out[i].Nodes, n) {
				out[i].Nodes = append(out[i].Nodes, n)
			}
		}
	}
	return out
}

// Primaries answers "who is primary" for a promotable clone; the cluster
// check, the replication check and the metrics all ask it. A primary is a
// node where Pacemaker runs the clone's instance promoted, the instance has
// not failed, and the node is online and clean. An instance still shown
// promoted on an unclean or offline node (awaiting fencing) or a failed one
// is not a primary, and neither are the agent attributes it left behind.
func (s *Status) Primaries(clone string) []string {
	usable := map[string]bool{}
	for _, n := range s.Nodes {
		usable[n.Name] = n.Online != nil && *n.Online && (n.Unclean == nil || !*n.Unclean)
	}
	failedOn := map[string]map[string]bool{} // instance id -> nodes where one of its resources failed
	for _, r := range s.Resources {
		if r.Clone != clone || r.Failed == nil || !*r.Failed {
			continue
		}
		id := r.ID
		if r.Group != "" {
			id = r.Group
		}
		if failedOn[id] == nil {
			failedOn[id] = map[string]bool{}
		}
		for _, n := range r.Nodes {
			failedOn[id][n] = true
		}
	}
	var out []string
	for _, inst := range s.CloneInstances(clone) {
		if inst.Role != RolePromoted {
			continue
		}
		for _, n := range inst.Nodes {
			if usable[n] && !failedOn[inst.ID][n] && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// QuorumMargin counts, among the member nodes crm_mon lists, those lost
// (offline or unclean) and how many more could be lost before the online
// ones fall below a majority (one vote per node; corosync's votes, qdevice
// and two_node are not in crm_mon's view). margin 0 with lost > 0 is a
// cluster at minimum quorum: one more failure stops every resource.
func (s *Status) QuorumMargin() (lost, margin int) {
	members, online := 0, 0
	for _, n := range s.Nodes {
		if n.Type != "" && n.Type != "member" {
			continue
		}
		members++
		switch {
		case n.Unclean != nil && *n.Unclean, n.Online != nil && !*n.Online:
			lost++
		case n.Online != nil && *n.Online:
			online++
		}
	}
	return lost, online - (members/2 + 1)
}

// Promotion is the last successful promote of a clone that Pacemaker's
// operation history shows: on which node and when (last-rc-change).
type Promotion struct {
	Node string
	At   time.Time
}

// LastPromotion returns the most recent successful promote of any instance
// of clone in the operation history of the nodes crm_mon reports (offline
// nodes have none), or ok false when there is none. The failover event of the
// checks and the last-promotion metric both come from it.
func (s *Status) LastPromotion(clone string) (p Promotion, ok bool) {
	members := map[string]bool{}
	for _, r := range s.Resources {
		if r.Clone == clone {
			members[r.BaseID()] = true
		}
	}
	for _, h := range s.History {
		if !members[StripInstance(h.Resource)] {
			continue
		}
		for _, op := range h.Operations {
			if op.Task == "promote" && op.RC != nil && *op.RC == 0 && op.LastRCChange.After(p.At) {
				p, ok = Promotion{Node: h.Node, At: op.LastRCChange}, true
			}
		}
	}
	return p, ok
}

// CloneOf returns the clone a primitive runs in ("" when it is not cloned).
func (s *Status) CloneOf(primitive string) string {
	for _, r := range s.Resources {
		if r.BaseID() == primitive && r.Clone != "" {
			return r.Clone
		}
	}
	return ""
}

// PgsqlStandbys returns the nodes the pgsql agent marks as standbys of the
// primitive rsc, as the replication check reads them: -status HS:sync is a
// sync standby; HS:async and HS:potential are async ones. crm_mon lists the
// attributes of online nodes only, so a lost node is in neither list.
func (s *Snapshot) PgsqlStandbys(rsc string) (sync, async []string) {
	for _, p := range s.PgsqlNodes() {
		if p.Resource != rsc {
			continue
		}
		switch p.Status {
		case "HS:sync":
			sync = append(sync, p.Node)
		case "HS:async", "HS:potential":
			async = append(async, p.Node)
		}
	}
	return sync, async
}
