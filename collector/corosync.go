package collector

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgha/pgha_exporter/crm/corosync"
)

const corosyncSubsystem = "corosync"

// Quorum flags that a stack prints when set; each gets a 0/1 series when the
// Flags line was read. Other printed flags get a series with value 1.
var (
	corosyncKnownFlags = []string{"two_node", "quorate", "wait_for_all", "last_man_standing", "auto_tie_breaker", "allow_downscale", "qdevice"}
	cmanKnownFlags     = []string{"two_node", "dirty", "error", "shutdown", "disallowed_nodes"}
	cmanMemberships    = []string{corosync.CmanMember, corosync.CmanNotMember, corosync.CmanDisallowed}
)

// corosyncCollector exports the corosync/CMAN snapshot of a Refresher.
type corosyncCollector struct {
	refresher *Refresher[*corosync.Status]
	maxAge    time.Duration
	logger    log.Logger
	now       func() time.Time

	mu        sync.Mutex
	cachedFor *corosync.Status
	cached    *Block

	refresh            refreshDescs
	info               *prometheus.Desc
	localNodeID        *prometheus.Desc
	quorate            *prometheus.Desc
	activityBlocked    *prometheus.Desc
	votes              *prometheus.Desc
	quorumFlag         *prometheus.Desc
	members            *prometheus.Desc
	memberInfo         *prometheus.Desc
	memberVotes        *prometheus.Desc
	memberQdevice      *prometheus.Desc
	qdeviceVotes       *prometheus.Desc
	ringFaulty         *prometheus.Desc
	linkConnected      *prometheus.Desc
	linkEnabled        *prometheus.Desc
	cmanNodeMembership *prometheus.Desc
	clusterInfo        *prometheus.Desc
}

// NewCorosyncCollector serves the corosync/CMAN snapshot kept by r; scrapes
// never run a tool. A snapshot older than maxAge (0: no limit) fails the
// collection with ErrStale and exports only the refresh bookkeeping.
func NewCorosyncCollector(r *Refresher[*corosync.Status], maxAge time.Duration, logger log.Logger) Collector {
	s := corosyncSubsystem
	return &corosyncCollector{
		refresher: r, maxAge: maxAge, logger: logger, now: time.Now,
		refresh:     newRefreshDescs(s, "corosync"),
		info:        newDesc(s, "info", "Cluster stack (corosync or cman) and corosync transport, value 1.", "stack", "transport"),
		localNodeID: newDesc(s, "local_node_id", "Node id of the local node."),
		quorate:     newDesc(s, "quorate", "Whether this node's partition has quorum (1) or not (0)."),
		activityBlocked: newDesc(s, "activity_blocked",
			"Whether the quorum line says 'Activity blocked' (1) or not (0)."),
		votes:      newDesc(s, "votes", "Votes: expected, highest_expected, total and the quorum needed.", "type"),
		quorumFlag: newDesc(s, "quorum_flag", "Quorum flags (votequorum or CMAN), one series per known flag, 0 or 1.", "flag"),
		members:    newDesc(s, "members", "Number of nodes in this node's membership."),
		memberInfo: newDesc(s, "member_info", "A member of this node's membership, value 1.", "node_id", "name"),
		memberVotes: newDesc(s, "member_votes",
			"Votes of a member.", "node_id", "name"),
		memberQdevice: newDesc(s, "member_qdevice",
			"Quorum device state of a member: registered, alive, cast_vote, master_wins (0 or 1).", "node_id", "name", "flag"),
		qdeviceVotes: newDesc(s, "qdevice_votes", "Votes the quorum device contributes now."),
		ringFaulty: newDesc(s, "ring_faulty",
			"Whether a corosync 1.x/2.x redundant ring is FAULTY (1) or not (0).", "ring", "address"),
		linkConnected: newDesc(s, "link_connected",
			"Whether a corosync 3 knet link to a node is connected (1) or not (0); the local node counts as connected.", "link", "node_id"),
		linkEnabled: newDesc(s, "link_enabled",
			"Whether a corosync 3 knet link to a node is enabled (1) or not (0), where corosync-cfgtool says.", "link", "node_id"),
		cmanNodeMembership: newDesc(s, "cman_node_membership",
			"CMAN membership of a configured node, one series per state (member, not_member, disallowed), 0 or 1.", "node_id", "name", "state"),
		clusterInfo: newDesc(s, "cluster_info", "The cluster's name as cman_tool status prints it (CMAN only), value 1.", "cluster_name"),
	}
}

// Update implements Collector.
func (c *corosyncCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return updateBlock(ctx, c, ch)
}

// UpdateLive implements BlockCollector: the refresh bookkeeping is live,
// the status's metrics are its Block.
func (c *corosyncCollector) UpdateLive(ctx context.Context, ch chan<- prometheus.Metric) (*Block, error) {
	st := c.refresher.StateWhenReady(ctx)
	now := c.now()
	collectRefresh(c.refresh, ch, now, st)
	if err := notReady(st, "corosync"); err != nil {
		return nil, err
	}
	if err := Usable(st, now, c.maxAge, "corosync"); err != nil {
		return nil, err
	}
	level.Debug(c.logger).Log("msg", "serving corosync snapshot", "age_seconds", now.Sub(st.LastSuccess).Seconds())
	return c.blockFor(st.Value), nil
}

// blockFor returns the status's Block, built once per status.
func (c *corosyncCollector) blockFor(s *corosync.Status) *Block {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cachedFor != s {
		ch := make(chan prometheus.Metric)
		var metrics []prometheus.Metric
		done := make(chan struct{})
		go func() {
			for m := range ch {
				metrics = append(metrics, m)
			}
			close(done)
		}()
		c.collectStatus(ch, s)
		close(ch)
		<-done
		c.cached, c.cachedFor = NewBlock(metrics), s
	}
	return c.cached
}

func (c *corosyncCollector) collectStatus(ch chan<- prometheus.Metric, s *corosync.Status) {
	gauge(ch, c.info, 1, s.Stack, s.Transport)
	if s.LocalNodeID != nil {
		gauge(ch, c.localNodeID, float64(*s.LocalNodeID))
	}
	if s.Rings != nil {
		c.collectRings(ch, s.Rings)
	}
	if s.Quorum != nil {
		c.collectQuorum(ch, s.Stack, s.Quorum)
	}
	if s.Cman != nil {
		if s.Cman.Status != nil && s.Cman.Status.ClusterName != "" {
			gauge(ch, c.clusterInfo, 1, s.Cman.Status.ClusterName)
		}
		seen := map[string]bool{}
		for _, n := range s.Cman.Nodes {
			id := nodeID(n.NodeID)
			if n.Membership == "" || seen[id] {
				continue
			}
			seen[id] = true
			for _, m := range cmanMemberships {
				gauge(ch, c.cmanNodeMembership, boolFloat(n.Membership == m), id, n.Name, m)
			}
		}
	}
}

func (c *corosyncCollector) collectRings(ch chan<- prometheus.Metric, r *corosync.Rings) {
	seen := map[string]bool{}
	for _, ring := range r.Rings {
		id := strconv.Itoa(ring.ID)
		if seen[id] {
			continue
		}
		seen[id] = true
		gauge(ch, c.ringFaulty, boolFloat(ring.Faulty), id, ring.Address)
	}
	for _, l := range r.Links {
		link := strconv.Itoa(l.ID)
		for _, n := range l.Nodes {
			// 3.0.0-3.0.1 and -b print positions, not node ids.
			if n.NodeID == nil {
				continue
			}
			id := nodeID(*n.NodeID)
			key := link + "/" + id
			if seen[key] {
				continue
			}
			seen[key] = true
			if n.Connected != nil {
				gauge(ch, c.linkConnected, boolFloat(*n.Connected), link, id)
			}
			if n.Enabled != nil {
				gauge(ch, c.linkEnabled, boolFloat(*n.Enabled), link, id)
			}
		}
	}
}

func (c *corosyncCollector) collectQuorum(ch chan<- prometheus.Metric, stack string, q *corosync.Quorum) {
	if q.Quorate != nil {
		gauge(ch, c.quorate, boolFloat(*q.Quorate))
	}
	if q.ActivityBlocked != nil {
		gauge(ch, c.activityBlocked, boolFloat(*q.ActivityBlocked))
	}
	for _, v := range []struct {
		typ string
		n   *int
	}{{"expected", q.ExpectedVotes}, {"highest_expected", q.HighestExpected}, {"total", q.TotalVotes}, {"quorum", q.Quorum}} {
		if v.n != nil {
			gauge(ch, c.votes, float64(*v.n), v.typ)
		}
	}
	if q.Flags != nil {
		known := corosyncKnownFlags
		if stack == corosync.StackCman {
			known = cmanKnownFlags
		}
		set := map[string]bool{}
		for _, f := range q.Flags {
			set[flagName(f)] = true
		}
		for _, f := range known {
			gauge(ch, c.quorumFlag, boolFloat(set[f]), f)
			delete(set, f)
		}
		for f := range set {
			gauge(ch, c.quorumFlag, 1, f)
		}
	}
	switch {
	case q.Members != nil:
		gauge(ch, c.members, float64(len(q.Members)))
	case q.Nodes != nil:
		gauge(ch, c.members, float64(*q.Nodes))
	}
	seen := map[string]bool{}
	for _, m := range q.Members {
		id := nodeID(m.NodeID)
		if seen[id] {
			continue
		}
		seen[id] = true
		gauge(ch, c.memberInfo, 1, id, m.Name)
		if m.Votes != nil {
			gauge(ch, c.memberVotes, float64(*m.Votes), id, m.Name)
		}
		if qd := m.Qdevice; qd != nil {
			gauge(ch, c.memberQdevice, boolFloat(qd.Registered), id, m.Name, "registered")
			for _, f := range []struct {
				name string
				v    *bool
			}{{"alive", qd.Alive}, {"cast_vote", qd.CastVote}, {"master_wins", qd.MasterWins}} {
				if f.v != nil {
					gauge(ch, c.memberQdevice, boolFloat(*f.v), id, m.Name, f.name)
				}
			}
		}
	}
	if q.Qdevice != nil {
		gauge(ch, c.qdeviceVotes, float64(q.Qdevice.Votes))
	}
}

func nodeID(id uint32) string { return strconv.FormatUint(uint64(id), 10) }

// flagName turns a printed quorum flag into a label value: "2Node" and
// "2node" become two_node, CamelCase becomes snake_case.
func flagName(f string) string {
	if strings.EqualFold(f, "2node") {
		return "two_node"
	}
	var b strings.Builder
	for i, r := range f {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
