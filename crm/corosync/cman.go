package corosync

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const cmanToolName = "cman_tool"

// DefaultCmanNodeFields are the columns Source asks cman_tool nodes -F for,
// in this order (the set pcs uses on RHEL 6).
var DefaultCmanNodeFields = []string{"id", "type", "votes", "name"}

var (
	isDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	isTime = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}$`)
)

// ParseCmanStatus parses cman_tool status (EL6). It ignores lines that are not
// "Key: value", such as a "---Votes---" block appended by pcs. CMAN prints no
// Quorate line: the node is quorate unless Quorum reads "Activity blocked".
func ParseCmanStatus(data []byte) (*CmanStatus, error) {
	if e := knownFailure(cmanToolName, data); e != nil {
		return nil, e
	}
	st := &CmanStatus{}
	found := false
	for _, raw := range strings.SplitAfter(validText(data), "\n") {
		key, val, ok := splitKV(strings.TrimSpace(raw), ":")
		if !ok {
			continue
		}
		var err error
		switch key {
		case "Version":
			st.Version = val
		case "Config Version":
			st.ConfigVersion, err = intPtr(val)
		case "Cluster Name":
			st.ClusterName, found = val, true
		case "Cluster Id":
			st.ClusterID, err = intPtr(val)
		case "Cluster Member":
			st.ClusterMember = ptr(val == "Yes")
		case "Cluster Generation":
			st.ClusterGeneration, err = intPtr(val)
		case "Membership state":
			st.MembershipState = val
		case "Nodes":
			st.Nodes, err = intPtr(val)
		case "Expected votes":
			st.ExpectedVotes, err = intPtr(val)
		case "Quorum device votes":
			st.QuorumDeviceVotes, err = intPtr(val)
		case "Total votes":
			st.TotalVotes, err = intPtr(val)
		case "Node votes":
			st.NodeVotes, err = intPtr(val)
		case "Quorum":
			n, rest, _ := strings.Cut(val, " ")
			st.Quorum, err = intPtr(n)
			st.ActivityBlocked = ptr(strings.Contains(rest, "Activity blocked"))
			found = true
		case "Flags":
			st.Flags = strings.Fields(val)
			if st.Flags == nil {
				st.Flags = []string{}
			}
		case "Node name":
			st.NodeName = val
		case "Node ID":
			var id uint32
			id, err = parseNodeID(val)
			st.NodeID, found = &id, true
		case "Multicast addresses":
			st.MulticastAddresses = strings.Fields(val)
		case "Node addresses":
			st.NodeAddresses = strings.Fields(val)
		}
		if err != nil {
			return nil, parseError(cmanToolName, fmt.Sprintf("%s: %q", key, val))
		}
	}
	if !found {
		return nil, parseError(cmanToolName, "no cluster status in "+strconv.Quote(firstLine(data)))
	}
	return st, nil
}

// ParseCmanNodes parses cman_tool nodes. With the header table
// ("Node  Sts   Inc   Joined               Name", optionally with -a
// "Addresses:" lines) fields are not needed. Otherwise the text is
// cman_tool nodes -F output whose columns are fields (id, name, type, votes,
// exp, state, addr), DefaultCmanNodeFields when none are given. "NOTE:"
// banners and "---" separators are skipped.
func ParseCmanNodes(data []byte, fields ...string) ([]CmanNode, error) {
	if e := knownFailure(cmanToolName, data); e != nil {
		return nil, e
	}
	if len(fields) == 0 {
		fields = DefaultCmanNodeFields
	}
	for _, f := range fields {
		switch f {
		case "id", "name", "type", "votes", "exp", "state", "addr":
		default:
			return nil, parseError(cmanToolName, fmt.Sprintf("unknown nodes -F field %q", f))
		}
	}
	nodes := []CmanNode{}
	table := false
	for _, raw := range strings.SplitAfter(validText(data), "\n") {
		s := strings.TrimSpace(raw)
		if s == "" || strings.HasPrefix(s, "NOTE:") || strings.HasPrefix(s, "---") {
			continue
		}
		f := strings.Fields(s)
		switch {
		case f[0] == "Node" && slices.Contains(f, "Sts"):
			table = true
		case table && f[0] == "Addresses:":
			if len(nodes) > 0 {
				last := &nodes[len(nodes)-1]
				last.Addresses = append(last.Addresses, f[1:]...)
			}
		case table:
			n, err := cmanTableRow(f)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
		default:
			n, err := cmanFormatRow(f, fields)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
		}
	}
	return nodes, nil
}

// cmanTableRow reads "id Sts Inc [YYYY-MM-DD HH:MM:SS] name".
func cmanTableRow(f []string) (CmanNode, error) {
	var n CmanNode
	if len(f) < 3 {
		return n, parseError(cmanToolName, fmt.Sprintf("nodes line %q", strings.Join(f, " ")))
	}
	id, err := parseNodeID(f[0])
	if err != nil {
		return n, parseError(cmanToolName, fmt.Sprintf("node id %q", f[0]))
	}
	n.NodeID = id
	n.Membership = cmanMembership(f[1])
	if n.Incarnation, err = intPtr(f[2]); err != nil {
		return n, parseError(cmanToolName, fmt.Sprintf("incarnation %q", f[2]))
	}
	f = f[3:]
	if len(f) >= 2 && isDate.MatchString(f[0]) && isTime.MatchString(f[1]) {
		n.Joined, f = f[0]+" "+f[1], f[2:]
	}
	n.Name = strings.Join(f, " ")
	return n, nil
}

// cmanFormatRow reads one line of cman_tool nodes -F fields. The last column
// takes the rest of the line.
func cmanFormatRow(f, fields []string) (CmanNode, error) {
	var n CmanNode
	if len(f) < len(fields) {
		return n, parseError(cmanToolName, fmt.Sprintf("nodes line %q has fewer than %d columns", strings.Join(f, " "), len(fields)))
	}
	for i, field := range fields {
		v := f[i]
		if i == len(fields)-1 {
			v = strings.Join(f[i:], " ")
		}
		var err error
		switch field {
		case "id":
			n.NodeID, err = parseNodeID(v)
		case "name":
			n.Name = v
		case "type":
			n.Membership = cmanMembership(v)
		case "votes":
			n.Votes, err = intPtr(v)
		case "exp":
			n.ExpectedVotes, err = intPtr(v)
		case "state":
			n.State = v
			if n.Membership == "" {
				n.Membership = cmanStateMembership(v)
			}
		case "addr":
			n.Addresses = strings.Fields(v)
		}
		if err != nil {
			return n, parseError(cmanToolName, fmt.Sprintf("%s %q", field, v))
		}
	}
	return n, nil
}

// cmanMembership maps the Sts/type column.
func cmanMembership(sts string) string {
	switch sts {
	case "M":
		return CmanMember
	case "X":
		return CmanNotMember
	case "d":
		return CmanDisallowed
	}
	return ""
}

// cmanStateMembership maps the -F state word.
func cmanStateMembership(state string) string {
	switch state {
	case "Member":
		return CmanMember
	case "Dead", "Joining", "Leaving":
		return CmanNotMember
	case "Disallowed":
		return CmanDisallowed
	}
	return ""
}

// cmanQuorum builds the votequorum-like view of a CMAN cluster.
func cmanQuorum(c *Cman) *Quorum {
	st := c.Status
	q := &Quorum{
		Provider:        StackCman,
		NodeID:          st.NodeID,
		Nodes:           st.Nodes,
		ExpectedVotes:   st.ExpectedVotes,
		TotalVotes:      st.TotalVotes,
		Quorum:          st.Quorum,
		ActivityBlocked: st.ActivityBlocked,
		Flags:           st.Flags,
	}
	if st.ActivityBlocked != nil {
		q.Quorate = ptr(!*st.ActivityBlocked)
	}
	if c.Nodes != nil {
		q.Members = []Member{}
		for _, n := range c.Nodes {
			if n.Membership != CmanMember {
				continue
			}
			local := st.NodeID != nil && *st.NodeID == n.NodeID
			q.Members = append(q.Members, Member{NodeID: n.NodeID, Votes: n.Votes, Name: n.Name, Local: local})
		}
	}
	if st.QuorumDeviceVotes != nil {
		q.Qdevice = &Qdevice{Votes: *st.QuorumDeviceVotes}
	}
	return q
}
