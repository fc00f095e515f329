// Package corosync reads the state of the cluster communication layer under
// Pacemaker: corosync rings (1.x/2.x) or knet links (3.x), votequorum and
// membership, or the CMAN stack of EL6. The parsers take the text printed by
// corosync-cfgtool, corosync-quorumtool and cman_tool and return plain
// structs; Source runs those tools through a runner.Runner.
//
// Fields that a tool may not print are pointers (or nil slices): nil means
// "the source did not say", never false or zero.
package corosync

// Stack names.
const (
	StackAuto     = "auto"
	StackCorosync = "corosync"
	StackCman     = "cman"
)

// Status is one snapshot of the cluster stack as seen from the local node.
// The collector and the Nagios check both read it.
type Status struct {
	// Stack is StackCorosync or StackCman.
	Stack string `json:"stack"`
	// Transport is "knet" on corosync 3; empty when the tools do not say
	// (corosync 1.x/2.x, CMAN).
	Transport string `json:"transport,omitempty"`
	// LocalNodeID is the local node's id, from cfgtool, quorumtool or cman_tool.
	LocalNodeID *uint32 `json:"local_node_id,omitempty"`
	// Rings is the parsed corosync-cfgtool -s output.
	Rings *Rings `json:"rings,omitempty"`
	// Quorum is votequorum's view, or the same view built from cman_tool.
	Quorum *Quorum `json:"quorum,omitempty"`
	// Cman holds what cman_tool printed, on the CMAN stack only.
	Cman *Cman `json:"cman,omitempty"`
}

// Output formats of corosync-cfgtool recognised by ParseCfgtool.
const (
	// FormatRing is corosync 1.x/2.x "RING ID n" blocks.
	FormatRing = "ring"
	// FormatLink is corosync 3.x "LINK ID n" blocks with one line per node.
	FormatLink = "link"
	// FormatBrief is corosync 3.x -bs: "status = n33", one character per node.
	FormatBrief = "brief"
	// FormatNodes is corosync 3.1+ -n: "nodeid: N reachable" and "LINK:" lines.
	FormatNodes = "nodes"
)

// Rings is the output of corosync-cfgtool -s (or -bs, or -n).
type Rings struct {
	// Format is one of FormatRing, FormatLink, FormatBrief, FormatNodes.
	Format string `json:"format"`
	// LocalNodeID is from "Local node ID N".
	LocalNodeID *uint32 `json:"local_node_id,omitempty"`
	// Transport is "knet" (printed by 3.1+, implied by LINK blocks in 3.0).
	Transport string `json:"transport,omitempty"`
	// Rings are the RRP rings of corosync 1.x/2.x.
	Rings []Ring `json:"rings,omitempty"`
	// Links are the knet links of corosync 3.x.
	Links []Link `json:"links,omitempty"`
}

// Ring is one redundant ring of corosync 1.x/2.x.
type Ring struct {
	ID      int    `json:"id"`
	Address string `json:"address"`
	// Status is the text after "status =", e.g. "ring 0 active with no faults".
	Status string `json:"status"`
	// Faulty is true when the status says FAULTY.
	Faulty bool `json:"faulty"`
}

// Link is one knet link of corosync 3.x.
type Link struct {
	ID int `json:"id"`
	// Transport is the knet transport printed after the id by 3.1.5+ ("udp",
	// "sctp"), or on the -n "LINK:" lines.
	Transport string `json:"transport,omitempty"`
	// Address is the local address of the link.
	Address string `json:"address,omitempty"`
	// Brief is the -b status string, one character per node in nodeid order.
	Brief string `json:"brief,omitempty"`
	// Nodes are the per-node states of the link, in printed order.
	Nodes []LinkNode `json:"nodes,omitempty"`
}

// LinkNode is the state of one link towards one node.
type LinkNode struct {
	// NodeID is nil where only a position is printed (3.0.0-3.0.1, -b).
	NodeID *uint32 `json:"node_id,omitempty"`
	// Index is the position printed by 3.0.0-3.0.1 or implied by -b.
	Index *int `json:"index,omitempty"`
	// Local is true for the local node ("localhost", "n", or NodeID equal to
	// the local node id). The local node is reported connected.
	Local bool `json:"local"`
	// Enabled is nil when the format does not say.
	Enabled *bool `json:"enabled,omitempty"`
	// Connected is nil when the format does not say (knet or config error).
	Connected *bool `json:"connected,omitempty"`
	// Dynconnected is only printed by -n.
	Dynconnected *bool `json:"dynconnected,omitempty"`
	// State is the printed state: "localhost", "connected", "disconnected",
	// "knet error", "config error", "enabled:1 connected:0", a -b character,
	// or the words after the addresses in -n.
	State string `json:"state"`
	// RemoteAddress is the peer address from -n "(local->remote)".
	RemoteAddress string `json:"remote_address,omitempty"`
	// MTU is from -n.
	MTU *int `json:"mtu,omitempty"`
}

// Quorum is the output of corosync-quorumtool -s [-p] (or -l), or the same view
// built from cman_tool status and nodes.
type Quorum struct {
	// Provider is "corosync_votequorum", "Not configured", or "cman".
	Provider string `json:"provider,omitempty"`
	Quorate  *bool  `json:"quorate,omitempty"`
	// NodeID is the local node id (printed in decimal or, with -H, hex).
	NodeID *uint32 `json:"node_id,omitempty"`
	// Nodes is the "Nodes:" count of the membership.
	Nodes *int `json:"nodes,omitempty"`
	// RingID is opaque: "19860" (2.3), "1084783375/40" (2.4), "1.1a8" (3.x).
	RingID          string `json:"ring_id,omitempty"`
	ExpectedVotes   *int   `json:"expected_votes,omitempty"`
	HighestExpected *int   `json:"highest_expected,omitempty"`
	TotalVotes      *int   `json:"total_votes,omitempty"`
	Quorum          *int   `json:"quorum,omitempty"`
	ActivityBlocked *bool  `json:"activity_blocked,omitempty"`
	// Flags as printed ("2Node", "Quorate", "WaitForAll", ...). nil: no Flags
	// line; empty: the line was empty.
	Flags []string `json:"flags"`
	// Members of the membership. nil: no membership list was printed.
	Members []Member `json:"members"`
	// Qdevice is the quorum device pseudo-node (nodeid 0), when listed.
	Qdevice *Qdevice `json:"qdevice,omitempty"`
}

// Member is one node in the membership.
type Member struct {
	NodeID uint32 `json:"node_id"`
	// Votes is nil when votequorum is not the provider.
	Votes *int   `json:"votes,omitempty"`
	Name  string `json:"name"`
	Local bool   `json:"local"`
	// Qdevice is the node's quorum device state, when the column is printed.
	Qdevice *QdeviceState `json:"qdevice,omitempty"`
	// QdeviceInfo is the "[...]" extra information printed by some qdevice
	// models.
	QdeviceInfo string `json:"qdevice_info,omitempty"`
}

// QdeviceState is a node's Qdevice column: "NR", or "A|NA,V|NV,MW|NMW".
type QdeviceState struct {
	Raw        string `json:"raw"`
	Registered bool   `json:"registered"`
	// Alive, CastVote and MasterWins are nil when not registered.
	Alive      *bool `json:"alive,omitempty"`
	CastVote   *bool `json:"cast_vote,omitempty"`
	MasterWins *bool `json:"master_wins,omitempty"`
}

// Qdevice is the quorum device line of the membership list.
type Qdevice struct {
	Name string `json:"name"`
	// Votes is what the device contributes now (0 when it does not vote).
	Votes int `json:"votes"`
	// ConfiguredVotes is printed as "(votes N)" when the device does not vote.
	ConfiguredVotes *int `json:"configured_votes,omitempty"`
}

// Cman is what cman_tool printed on the CMAN stack.
type Cman struct {
	Status *CmanStatus `json:"status"`
	// Nodes is from cman_tool nodes; nil when it was not read.
	Nodes []CmanNode `json:"nodes"`
}

// CmanStatus is the output of cman_tool status.
type CmanStatus struct {
	Version            string   `json:"version,omitempty"`
	ConfigVersion      *int     `json:"config_version,omitempty"`
	ClusterName        string   `json:"cluster_name,omitempty"`
	ClusterID          *int     `json:"cluster_id,omitempty"`
	ClusterMember      *bool    `json:"cluster_member,omitempty"`
	ClusterGeneration  *int     `json:"cluster_generation,omitempty"`
	MembershipState    string   `json:"membership_state,omitempty"`
	Nodes              *int     `json:"nodes,omitempty"`
	ExpectedVotes      *int     `json:"expected_votes,omitempty"`
	QuorumDeviceVotes  *int     `json:"quorum_device_votes,omitempty"`
	TotalVotes         *int     `json:"total_votes,omitempty"`
	NodeVotes          *int     `json:"node_votes,omitempty"`
	Quorum             *int     `json:"quorum,omitempty"`
	ActivityBlocked    *bool    `json:"activity_blocked,omitempty"`
	Flags              []string `json:"flags"`
	NodeName           string   `json:"node_name,omitempty"`
	NodeID             *uint32  `json:"node_id,omitempty"`
	MulticastAddresses []string `json:"multicast_addresses,omitempty"`
	NodeAddresses      []string `json:"node_addresses,omitempty"`
}

// Membership states of a CMAN node (the Sts / type column).
const (
	CmanMember     = "member"
	CmanNotMember  = "not_member"
	CmanDisallowed = "disallowed"
)

// CmanNode is one line of cman_tool nodes.
type CmanNode struct {
	NodeID uint32 `json:"node_id"`
	Name   string `json:"name,omitempty"`
	// Membership is CmanMember, CmanNotMember or CmanDisallowed (from "M",
	// "X", "d"); empty when not printed.
	Membership string `json:"membership,omitempty"`
	// State is the -F state word: Joining, Member, Dead, Leaving, Disallowed.
	State         string   `json:"state,omitempty"`
	Votes         *int     `json:"votes,omitempty"`
	ExpectedVotes *int     `json:"expected_votes,omitempty"`
	Incarnation   *int     `json:"incarnation,omitempty"`
	Joined        string   `json:"joined,omitempty"`
	Addresses     []string `json:"addresses,omitempty"`
}
