package corosync

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const quorumtoolName = "corosync-quorumtool"

var (
	qdeviceColumn = regexp.MustCompile(`^(?:NR|(N?A),(N?V),(N?MW))$`)
	votesSuffix   = regexp.MustCompile(`\s*\(votes\s+(\d+)\)$`)
	extraInfo     = regexp.MustCompile(`\s*\[([^\]]*)\]$`)
)

// ParseQuorumtool parses corosync-quorumtool -s, -s -p, -l or -l -p output of
// corosync 2.x and 3.x (and the same block inside Proxmox's pvecm status):
// quorate, votes, quorum, "Activity blocked", flags, the ring id in any of its
// spellings, node ids in decimal or hex, and the membership with votes, the
// Qdevice column, names and "(local)". It returns an *Error of kind
// ErrNotRunning for "Cannot initialize CMAP service" and ErrParse when the text
// holds neither quorum information nor a membership list.
func ParseQuorumtool(data []byte) (*Quorum, error) {
	if e := knownFailure(quorumtoolName, data); e != nil {
		return nil, e
	}
	q := &Quorum{}
	var (
		inMembers bool
		columns   memberColumns
		found     bool
	)
	for _, raw := range strings.SplitAfter(validText(data), "\n") {
		s := strings.TrimSpace(raw)
		if s == "" {
			inMembers = false
			continue
		}
		if f := strings.Fields(s); len(f) >= 2 && f[0] == "Nodeid" {
			inMembers, found = true, true
			columns = memberColumns{votes: slices.Contains(f, "Votes"), qdevice: slices.Contains(f, "Qdevice")}
			if q.Members == nil {
				q.Members = []Member{}
			}
			continue
		}
		if inMembers {
			if err := q.addMember(s, columns); err != nil {
				return nil, err
			}
			continue
		}
		key, val, ok := splitKV(s, ":")
		if !ok {
			continue
		}
		var err error
		switch key {
		case "Quorum provider":
			q.Provider, found = val, true
		case "Nodes":
			q.Nodes, err = intPtr(val)
		case "Node ID":
			var id uint32
			id, err = parseNodeID(val)
			q.NodeID = &id
		case "Ring ID":
			q.RingID = val
		case "Quorate":
			q.Quorate, found = ptr(val == "Yes"), true
		case "Expected votes":
			q.ExpectedVotes, err = intPtr(val)
		case "Highest expected":
			q.HighestExpected, err = intPtr(val)
		case "Total votes":
			q.TotalVotes, err = intPtr(val)
		case "Quorum":
			n, rest, _ := strings.Cut(val, " ")
			q.Quorum, err = intPtr(n)
			q.ActivityBlocked = ptr(strings.Contains(rest, "Activity blocked"))
		case "Flags":
			q.Flags = strings.Fields(val)
			if q.Flags == nil {
				q.Flags = []string{}
			}
		}
		if err != nil {
			return nil, parseError(quorumtoolName, fmt.Sprintf("%s in %q", key, s))
		}
	}
	if !found {
		return nil, parseError(quorumtoolName, "no quorum or membership information in "+strconv.Quote(firstLine(data)))
	}
	return q, nil
}

// memberColumns says which optional columns the membership header names.
type memberColumns struct{ votes, qdevice bool }

// addMember parses one line of the membership list:
// "Nodeid [Votes [Qdevice]] Name [[extra]] [(local)]", or the qdevice
// pseudo-node "0 Votes Name [(votes N)]" whose Qdevice column is blank.
func (q *Quorum) addMember(s string, cols memberColumns) error {
	local := false
	if rest, ok := strings.CutSuffix(s, "(local)"); ok {
		s, local = strings.TrimSpace(rest), true
	}
	f := strings.Fields(s)
	if len(f) < 2 {
		return parseError(quorumtoolName, fmt.Sprintf("membership line %q", s))
	}
	id, err := parseNodeID(f[0])
	if err != nil {
		return parseError(quorumtoolName, fmt.Sprintf("node id in %q", s))
	}
	if !cols.votes {
		// Without votequorum the list is "Nodeid Name".
		q.Members = append(q.Members, Member{NodeID: id, Name: strings.Join(f[1:], " "), Local: local})
		return nil
	}
	votes, err := strconv.Atoi(f[1])
	if err != nil {
		return parseError(quorumtoolName, fmt.Sprintf("votes in %q", s))
	}
	f = f[2:]
	var qd *QdeviceState
	if cols.qdevice && len(f) > 0 {
		if m := qdeviceColumn.FindStringSubmatch(f[0]); m != nil {
			qd = &QdeviceState{Raw: f[0], Registered: f[0] != "NR"}
			if qd.Registered {
				qd.Alive, qd.CastVote, qd.MasterWins = ptr(m[1] == "A"), ptr(m[2] == "V"), ptr(m[3] == "MW")
			}
			f = f[1:]
		}
	}
	name := strings.Join(f, " ")
	if id == 0 {
		d := &Qdevice{Name: name, Votes: votes}
		if m := votesSuffix.FindStringSubmatch(name); m != nil {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				return parseError(quorumtoolName, fmt.Sprintf("qdevice votes in %q", s))
			}
			d.Name, d.ConfiguredVotes = strings.TrimSpace(strings.TrimSuffix(name, m[0])), &n
		}
		q.Qdevice = d
		return nil
	}
	m := Member{NodeID: id, Votes: &votes, Local: local, Qdevice: qd}
	if x := extraInfo.FindStringSubmatch(name); x != nil {
		name, m.QdeviceInfo = strings.TrimSpace(strings.TrimSuffix(name, x[0])), x[1]
	}
	m.Name = name
	q.Members = append(q.Members, m)
	return nil
}

func intPtr(s string) (*int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	return &n, nil
}
