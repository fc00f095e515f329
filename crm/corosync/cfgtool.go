package corosync

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

const cfgtoolName = "corosync-cfgtool"

var (
	// "node 0: ..." (3.0.0, an index), "nodeid  4: ..." (3.0.2-3.1.0),
	// "nodeid:          1:\tlocalhost" (3.1.1+).
	linkNodeLine = regexp.MustCompile(`^node(id)?\s*:?\s*(\d+)\s*:\s*(.*)$`)
	// "link enabled:1  link connected:0" (3.0.0-3.0.3).
	enabledConnected = regexp.MustCompile(`enabled\s*:\s*(\d+)\s+(?:link\s+)?connected\s*:\s*(\d+)`)
	// -n: "nodeid: 2 reachable remote external   onwire ..." .
	reachableLine = regexp.MustCompile(`^nodeid\s*:?\s*(\d+)\s+reachable\b`)
	// -n: "LINK: 0 udp (10.0.0.2->10.0.0.1) enabled connected mtu: 1446".
	nodesLinkLine = regexp.MustCompile(`^LINK\s*:?\s*(\d+)\s*(\S*)\s*\(([^)]*)\)\s*(.*?)\s*(?:mtu\s*:\s*(-?\d+))?\s*$`)
)

// ParseCfgtool parses corosync-cfgtool -s output of corosync 1.4 to 3.1+:
// RING blocks (1.x/2.x, FAULTY detection), LINK blocks in every knet variant
// (node index, "link enabled:X link connected:Y", "localhost|connected|
// disconnected"), the -bs brief status and the -n node view. It returns an
// *Error of kind ErrNotRunning or ErrPermissionDenied when the text is the
// tool's "Could not initialize corosync configuration API" message (corosync
// 1.x-3.0 print it on stdout), and ErrParse when no status is found.
func ParseCfgtool(data []byte) (*Rings, error) {
	if e := knownFailure(cfgtoolName, data); e != nil {
		return nil, e
	}
	r := &Rings{}
	var (
		ring        *Ring
		link        *Link
		nodeID      *uint32 // current node of -n output
		knownEnable bool    // 3.0.4-3.1.0 print "(not enabled)"
		sawHeader   bool
	)
	for _, raw := range strings.SplitAfter(validText(data), "\n") {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		key, val, isKV := splitKV(s, "=")
		switch {
		case s == "Printing ring status.":
			sawHeader = true
		case s == "Printing link status.":
			sawHeader, knownEnable, r.Transport = true, true, "knet"
		case strings.HasPrefix(s, "Local node ID"):
			sawHeader = true
			id, transport, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(s, "Local node ID")), ",")
			n, err := parseNodeID(strings.TrimSpace(id))
			if err != nil {
				return nil, parseError(cfgtoolName, fmt.Sprintf("local node id %q", id))
			}
			r.LocalNodeID = &n
			if t, ok := strings.CutPrefix(strings.TrimSpace(transport), "transport"); ok {
				r.Transport = strings.TrimSpace(t)
			}
		case strings.HasPrefix(s, "RING ID"):
			id, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(s, "RING ID")))
			if err != nil {
				return nil, parseError(cfgtoolName, fmt.Sprintf("ring id in %q", s))
			}
			r.Rings = append(r.Rings, Ring{ID: id})
			ring, link = &r.Rings[len(r.Rings)-1], nil
			setFormat(r, FormatRing)
		case strings.HasPrefix(s, "LINK ID"):
			f := strings.Fields(strings.TrimPrefix(s, "LINK ID"))
			if len(f) == 0 {
				return nil, parseError(cfgtoolName, fmt.Sprintf("link id in %q", s))
			}
			id, err := strconv.Atoi(f[0])
			if err != nil {
				return nil, parseError(cfgtoolName, fmt.Sprintf("link id in %q", s))
			}
			l := &Link{ID: id}
			if len(f) > 1 {
				l.Transport = f[1]
			}
			r.Links = append(r.Links, *l)
			link, ring = &r.Links[len(r.Links)-1], nil
			setFormat(r, FormatLink)
		case ring != nil && isKV && key == "id":
			ring.Address = val
		case ring != nil && isKV && key == "status":
			ring.Status = val
			ring.Faulty = strings.Contains(val, "FAULTY")
		case link != nil && isKV && key == "addr":
			link.Address = val
		case link != nil && isKV && key == "status":
			link.Brief = val
			link.Nodes = briefNodes(val)
			r.Format = FormatBrief
		case link != nil && linkNodeLine.MatchString(s):
			n, err := parseLinkNode(linkNodeLine.FindStringSubmatch(s), knownEnable)
			if err != nil {
				return nil, err
			}
			link.Nodes = append(link.Nodes, n)
		case reachableLine.MatchString(s):
			n, err := parseNodeID(reachableLine.FindStringSubmatch(s)[1])
			if err != nil {
				return nil, parseError(cfgtoolName, fmt.Sprintf("node id in %q", s))
			}
			nodeID, link, ring = &n, nil, nil
			r.Format = FormatNodes
		case nodeID != nil && nodesLinkLine.MatchString(s):
			if err := addNodesLink(r, *nodeID, nodesLinkLine.FindStringSubmatch(s)); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case r.Format != "":
	case sawHeader && r.LocalNodeID != nil && r.Transport != "":
		// A header alone: no link is enabled towards any node (or, with -n,
		// no peer is reachable).
		r.Format = FormatLink
	case sawHeader && r.LocalNodeID != nil:
		r.Format = FormatRing
	default:
		return nil, parseError(cfgtoolName, "no ring or link status in "+strconv.Quote(firstLine(data)))
	}
	sort.SliceStable(r.Links, func(i, j int) bool { return r.Links[i].ID < r.Links[j].ID })
	for i := range r.Links {
		for j := range r.Links[i].Nodes {
			n := &r.Links[i].Nodes[j]
			if n.NodeID != nil && r.LocalNodeID != nil && *n.NodeID == *r.LocalNodeID {
				n.Local = true
			}
			if n.Local {
				n.Connected = ptr(true)
			}
		}
	}
	return r, nil
}

func setFormat(r *Rings, f string) {
	if r.Format == "" {
		r.Format = f
	}
}

// parseLinkNode reads one per-node line of a LINK block; m is the match of
// linkNodeLine.
func parseLinkNode(m []string, knownEnable bool) (LinkNode, error) {
	var n LinkNode
	if m[1] == "" { // "node <index>:" in 3.0.0-3.0.1
		i, err := strconv.Atoi(m[2])
		if err != nil {
			return n, parseError(cfgtoolName, fmt.Sprintf("node index %q", m[2]))
		}
		n.Index = &i
	} else {
		id, err := parseNodeID(m[2])
		if err != nil {
			return n, parseError(cfgtoolName, fmt.Sprintf("node id %q", m[2]))
		}
		n.NodeID = &id
	}
	state := strings.Join(strings.Fields(m[3]), " ")
	n.State = state
	if ec := enabledConnected.FindStringSubmatch(state); ec != nil {
		n.Enabled = ptr(ec[1] != "0")
		n.Connected = ptr(ec[2] != "0")
		return n, nil
	}
	word, rest, _ := strings.Cut(state, " ")
	switch word {
	case "localhost":
		n.Local = true
	case "connected", "disconnected":
		n.Connected = ptr(word == "connected")
		switch {
		case strings.Contains(rest, "not enabled"):
			n.Enabled = ptr(false)
		case knownEnable:
			n.Enabled = ptr(true)
		}
	}
	return n, nil
}

// briefNodes decodes a -b status string: 'n' the local node, a digit with
// bit 0 enabled and bit 1 connected, '?' knet error, 'd' config error.
func briefNodes(status string) []LinkNode {
	var nodes []LinkNode
	for i, c := range status {
		n := LinkNode{Index: ptr(i), State: string(c)}
		switch {
		case c == 'n':
			n.Local = true
		case c >= '0' && c <= '9':
			v := c - '0'
			n.Enabled = ptr(v&1 != 0)
			n.Connected = ptr(v&2 != 0)
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// addNodesLink adds one -n "LINK:" line for node id to r; m is the match of
// nodesLinkLine.
func addNodesLink(r *Rings, id uint32, m []string) error {
	linkID, err := strconv.Atoi(m[1])
	if err != nil {
		return parseError(cfgtoolName, fmt.Sprintf("link id %q", m[1]))
	}
	var l *Link
	for i := range r.Links {
		if r.Links[i].ID == linkID {
			l = &r.Links[i]
		}
	}
	if l == nil {
		r.Links = append(r.Links, Link{ID: linkID, Transport: m[2]})
		l = &r.Links[len(r.Links)-1]
	}
	src, dst, _ := strings.Cut(m[3], "->")
	if l.Address == "" {
		l.Address = strings.TrimSpace(src)
	}
	words := strings.Fields(m[4])
	n := LinkNode{
		NodeID:        ptr(id),
		Enabled:       ptr(slices.Contains(words, "enabled")),
		Connected:     ptr(slices.Contains(words, "connected")),
		Dynconnected:  ptr(slices.Contains(words, "dynconnected")),
		State:         strings.Join(words, " "),
		RemoteAddress: strings.TrimSpace(dst),
	}
	if m[5] != "" {
		mtu, err := strconv.Atoi(m[5])
		if err != nil {
			return parseError(cfgtoolName, fmt.Sprintf("mtu %q", m[5]))
		}
		n.MTU = &mtu
	}
	l.Nodes = append(l.Nodes, n)
	return nil
}

// splitKV splits "key <sep> value" and trims both sides.
func splitKV(s, sep string) (key, val string, ok bool) {
	k, v, ok := strings.Cut(s, sep)
	if !ok {
		return "", "", false
	}
	return strings.TrimSpace(k), strings.TrimSpace(v), true
}

// parseNodeID reads a node id printed in decimal or, with -H, as 0x%08x.
func parseNodeID(s string) (uint32, error) {
	var (
		v   uint64
		err error
	)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		v, err = strconv.ParseUint(h, 16, 32)
	} else {
		v, err = strconv.ParseUint(s, 10, 32)
	}
	return uint32(v), err
}

// ptr returns a pointer to a copy of v. (Go 1.26's new(expr) does the same,
// but the EL6 build uses Go 1.23: packaging/README.md.)
func ptr[T any](v T) *T { return &v }
