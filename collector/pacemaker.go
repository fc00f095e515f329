package collector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgha/pgha_exporter/crm"
)

// Known enumeration values: each gets a series (0 or 1) so that alerts can
// compare with == 1; values outside these lists get a series when seen.
var (
	pgsqlStatuses     = []string{"PRI", "HS:sync", "HS:async", "HS:potential", "HS:connected", "HS:alone", "STOP", "UNKNOWN"}
	pgsqlDataStatuses = []string{"LATEST", "STREAMING|SYNC", "STREAMING|ASYNC", "STREAMING|POTENTIAL", "DISCONNECT"}
	noQuorumPolicies  = []string{"stop", "freeze", "ignore", "suicide", "demote", "fence"}
	nodeHealths       = []string{"green", "yellow", "red"}
	cloneRoles        = []crm.Role{crm.RolePromoted, crm.RoleUnpromoted, crm.RoleStarted, crm.RoleStopped}
)

type pacemakerDescs struct {
	refresh refreshDescs
	stage   *prometheus.Desc
	monInfo *prometheus.Desc

	info, quorate, dcPresent, nodesConfigured, resourcesConfigured, resourcesDisabled, resourcesBlocked *prometheus.Desc
	stonithEnabled, maintenanceMode, symmetricCluster, stopAllResources, noQuorumPolicy, lastChange     *prometheus.Desc

	nodeInfo, nodeOnline, nodeStandby, nodeStandbyOnFail, nodeMaintenance, nodePending, nodeUnclean *prometheus.Desc
	nodeShutdown, nodeExpectedUp, nodeIsDC, nodeResourcesRunning, nodeHealth, localNode             *prometheus.Desc

	resourceInfo, resourceRole, resourceTargetRole, resourceActive, resourceFailed, resourceManaged              *prometheus.Desc
	resourceBlocked, resourceFailureIgnored, resourceOrphaned, cloneInfo, cloneInstances, primary, lastPromotion *prometheus.Desc

	failCount, migrationThreshold, lastFailure, failedActions, locationConstraint, cibQuery, clusterInfo *prometheus.Desc
	ticketGranted, ticketStandby, fenceEvents                                                            *prometheus.Desc

	promotionScore, nodeAttribute                                                   *prometheus.Desc
	pgsqlStatus, pgsqlDataStatus, pgsqlReceiverOK, pgsqlXlogLocation, pgsqlBaseline *prometheus.Desc
}

func newPacemakerDescs() *pacemakerDescs {
	const p = "pacemaker"
	rn := []string{"resource", "node"}
	return &pacemakerDescs{
		refresh: newRefreshDescs(p, "crm_mon"),
		stage:   newDesc(p, "crm_mon_stage", "How far the cluster stack answered on the last crm_mon run (one series per stage; 1 marks the current one).", "stage"),
		monInfo: newDesc(p, "crm_mon_info", "The crm_mon output the snapshot came from: XML root format, local crm_mon version (legacy root) and API schema version (new root).", "format", "version", "api_version"),

		info:                newDesc(p, "info", "Cluster metadata: stack, DC node name and the DC's Pacemaker version.", "stack", "dc", "dc_version"),
		quorate:             newDesc(p, "quorate", "Whether the partition this node sees has quorum (from current_dc with_quorum; absent without a DC)."),
		dcPresent:           newDesc(p, "dc_present", "Whether a designated controller (DC) is elected."),
		nodesConfigured:     newDesc(p, "nodes_configured", "Nodes configured, remote and guest nodes included."),
		resourcesConfigured: newDesc(p, "resources_configured", "Resource instances configured."),
		resourcesDisabled:   newDesc(p, "resources_disabled", "Resource instances disabled (target-role Stopped); Pacemaker 1.1.16+."),
		resourcesBlocked:    newDesc(p, "resources_blocked", "Resource instances blocked; Pacemaker 1.1.16+."),
		stonithEnabled:      newDesc(p, "stonith_enabled", "Cluster option stonith-enabled (absent before Pacemaker 1.1.14, never guessed)."),
		maintenanceMode:     newDesc(p, "maintenance_mode", "Cluster option maintenance-mode (absent before Pacemaker 1.1.16)."),
		symmetricCluster:    newDesc(p, "symmetric_cluster", "Cluster option symmetric-cluster."),
		stopAllResources:    newDesc(p, "stop_all_resources", "Cluster option stop-all-resources (2.0.5+)."),
		noQuorumPolicy:      newDesc(p, "no_quorum_policy", "Cluster option no-quorum-policy (one series per policy; 1 marks the current one).", "policy"),
		lastChange:          newDesc(p, "last_change_timestamp_seconds", "Time of the last CIB change."),

		nodeInfo:             newDesc(p, "node_info", "Node metadata: id and type (member, remote, ping).", "node", "id", "type"),
		nodeOnline:           newDesc(p, "node_online", "Whether the node is online.", "node"),
		nodeStandby:          newDesc(p, "node_standby", "Whether the node is in standby.", "node"),
		nodeStandbyOnFail:    newDesc(p, "node_standby_onfail", "Whether the node was put in standby by on-fail=standby.", "node"),
		nodeMaintenance:      newDesc(p, "node_maintenance", "Whether the node is in maintenance.", "node"),
		nodePending:          newDesc(p, "node_pending", "Whether the node is pending (joining).", "node"),
		nodeUnclean:          newDesc(p, "node_unclean", "Whether the node is unclean (needs fencing).", "node"),
		nodeShutdown:         newDesc(p, "node_shutdown", "Whether the node is shutting down.", "node"),
		nodeExpectedUp:       newDesc(p, "node_expected_up", "Whether the cluster expects the node to be up.", "node"),
		nodeIsDC:             newDesc(p, "node_is_dc", "Whether the node is the DC.", "node"),
		nodeResourcesRunning: newDesc(p, "node_resources_running", "Resource instances running on the node.", "node"),
		nodeHealth:           newDesc(p, "node_health", "Node health (Pacemaker 2.1.3+; one series per state; 1 marks the current one).", "node", "health"),
		localNode:            newDesc(p, "local_node_info", "The cluster node this exporter runs on.", "node"),

		resourceInfo:           newDesc(p, "resource_info", "Resource metadata: agent and enclosing group, clone and bundle.", "resource", "agent", "group", "clone", "bundle"),
		resourceRole:           newDesc(p, "resource_role", "Role of each resource instance (1 per instance and node; stopped primitives outside clones have node=\"\").", "resource", "node", "role"),
		resourceTargetRole:     newDesc(p, "resource_target_role", "The target-role meta attribute, when set.", "resource", "role"),
		resourceActive:         newDesc(p, "resource_active", "Whether the resource instance is active.", "resource", "node"),
		resourceFailed:         newDesc(p, "resource_failed", "Whether the resource instance is failed.", "resource", "node"),
		resourceManaged:        newDesc(p, "resource_managed", "Whether the resource instance is managed by the cluster.", "resource", "node"),
		resourceBlocked:        newDesc(p, "resource_blocked", "Whether the resource instance is blocked (Pacemaker 1.1.16+).", "resource", "node"),
		resourceFailureIgnored: newDesc(p, "resource_failure_ignored", "Whether failures of the resource instance are ignored (on-fail=ignore).", "resource", "node"),
		resourceOrphaned:       newDesc(p, "resource_orphaned", "Whether the resource instance is orphaned (removed from the configuration but still active).", "resource", "node"),
		cloneInfo:              newDesc(p, "clone_info", "Clone metadata: promotable (master/slave) or not, unique or anonymous.", "clone", "promotable", "unique"),
		cloneInstances:         newDesc(p, "clone_instances", "Instances of a clone by role (promoted, unpromoted, started, stopped always present).", "clone", "role"),
		lastPromotion:          newDesc(p, "last_promotion_timestamp_seconds", "Unix time of the clone's last successful promote in Pacemaker's operation history (last-rc-change), on the node named; absent while no reported node has one (offline nodes report no history). A change of value is a promotion: failover or switchover.", "clone", "node"),
		primary:                newDesc(p, "primary", "1 for each node that is primary of a promotable clone: promoted there, the instance not failed, the node online and clean (the checks' rule).", "clone", "node"),

		failCount:          newDesc(p, "failcount", "Fail count of the resource on the node, as crm_failcount reports it (summed over operations; +Inf for INFINITY). Named without the _count suffix Prometheus reserves for summaries and histograms.", rn...),
		migrationThreshold: newDesc(p, "migration_threshold", "migration-threshold of the resource on the node (+Inf for INFINITY, 0 disables banning).", rn...),
		lastFailure:        newDesc(p, "last_failure_timestamp_seconds", "Time of the resource's last failure on the node.", rn...),
		failedActions:      newDesc(p, "failed_actions", "Failed actions recorded for the resource on the node, by operation.", "resource", "node", "operation"),
		locationConstraint: newDesc(p, "location_constraint", "Score of each node-specific rsc_location constraint (cli-ban-/cli-prefer- included; +Inf/-Inf for INFINITY).", "id", "resource", "node", "role"),
		cibQuery:           newDesc(p, "cib_query_success", "Whether the last constraints/nodes/crm_config query of the CIB succeeded."),
		clusterInfo:        newDesc(p, "cluster_info", "The cluster's identity: the CIB's cluster-name property (absent when unset or when the CIB was not read).", "cluster_name"),
		ticketGranted:      newDesc(p, "ticket_granted", "Whether the ticket is granted.", "ticket"),
		ticketStandby:      newDesc(p, "ticket_standby", "Whether the ticket is in standby.", "ticket"),
		fenceEvents:        newDesc(p, "fence_events", "Fencing actions in crm_mon's fence history, by target, action and status.", "target", "action", "status"),

		promotionScore: newDesc(p, "promotion_score", "Promotion score master-<resource> of a promotable clone's primitive on the node (+Inf/-Inf for INFINITY).", rn...),
		nodeAttribute:  newDesc(p, "node_attribute", "Numeric node attributes not decoded elsewhere (online nodes only, as crm_mon lists them).", "node", "name"),

		pgsqlStatus:       newDesc("pgsql", "status", "The pgsql agent's <resource>-status attribute (one series per value; 1 marks the current one).", "resource", "node", "status"),
		pgsqlDataStatus:   newDesc("pgsql", "data_status", "The pgsql agent's <resource>-data-status attribute (permanent; read from the CIB for offline nodes).", "resource", "node", "data_status"),
		pgsqlReceiverOK:   newDesc("pgsql", "receiver_ok", "The pgsql agent's <resource>-receiver-status: 1 for normal / normal (master), 0 for ERROR.", rn...),
		pgsqlXlogLocation: newDesc("pgsql", "xlog_location_bytes", "The pgsql agent's <resource>-xlog-loc (present only during an election).", rn...),
		pgsqlBaseline:     newDesc("pgsql", "master_baseline_bytes", "The pgsql agent's <resource>-master-baseline WAL position.", rn...),
	}
}

// PacemakerCollector serves the Pacemaker snapshot kept by a Refresher. The
// metrics of a snapshot are built once and reused by every scrape of it.
type PacemakerCollector struct {
	refresher *Refresher[*crm.Snapshot]
	maxAge    time.Duration
	now       func() time.Time
	d         *pacemakerDescs

	mu        sync.Mutex
	cachedFor *crm.Snapshot
	cached    *Block
}

// NewPacemakerCollector serves r's snapshots; a snapshot older than maxAge
// makes the collector fail rather than serve stale state.
func NewPacemakerCollector(r *Refresher[*crm.Snapshot], maxAge time.Duration) *PacemakerCollector {
	return &PacemakerCollector{refresher: r, maxAge: maxAge, now: time.Now, d: newPacemakerDescs()}
}

// Update implements Collector.
func (c *PacemakerCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	return updateBlock(ctx, c, ch)
}

// UpdateLive implements BlockCollector: the refresh bookkeeping and the
// crm_mon stage are live, the snapshot's metrics are its Block.
func (c *PacemakerCollector) UpdateLive(ctx context.Context, ch chan<- prometheus.Metric) (*Block, error) {
	st := c.refresher.StateWhenReady(ctx)
	now := c.now()
	collectRefresh(c.d.refresh, ch, now, st)
	if !st.LastAttempt.IsZero() {
		current := crm.StageError
		var ce *crm.Error
		switch {
		case st.LastErr == nil && st.Value != nil:
			current = st.Value.Stage
		case errors.As(st.LastErr, &ce):
			current = ce.Stage
		}
		for _, s := range crm.Stages {
			gauge(ch, c.d.stage, boolFloat(s == current), string(s))
		}
	}
	if err := notReady(st, "crm_mon"); err != nil {
		return nil, err
	}
	if err := Usable(st, now, c.maxAge, "crm_mon"); err != nil {
		return nil, err
	}
	return c.blockFor(st.Value), nil
}

// blockFor returns the snapshot's Block, built once per snapshot.
func (c *PacemakerCollector) blockFor(s *crm.Snapshot) *Block {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cachedFor != s {
		c.cached, c.cachedFor = NewBlock(pacemakerMetrics(c.d, s)), s
	}
	return c.cached
}

// metricSet drops a second series with the same name and labels, which the
// registry would reject and fail the whole scrape for.
type metricSet struct {
	seen map[seriesKey]bool
	out  []prometheus.Metric
}

type seriesKey struct {
	desc   *prometheus.Desc
	labels string
}

func (m *metricSet) add(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	key := seriesKey{d, strings.Join(labels, "\x00")}
	if m.seen[key] {
		return
	}
	m.seen[key] = true
	m.out = append(m.out, prometheus.MustNewConstMetric(d, t, v, labels...))
}

func (m *metricSet) gauge(d *prometheus.Desc, v float64, labels ...string) {
	m.add(d, prometheus.GaugeValue, v, labels...)
}

func (m *metricSet) optBool(d *prometheus.Desc, b *bool, labels ...string) {
	if b != nil {
		m.gauge(d, boolFloat(*b), labels...)
	}
}

func (m *metricSet) enum(d *prometheus.Desc, known []string, current string, labels ...string) {
	found := false
	for _, k := range known {
		m.gauge(d, boolFloat(k == current), append(labels, k)...)
		found = found || k == current
	}
	if !found && current != "" {
		m.gauge(d, 1, append(labels, current)...)
	}
}

// pacemakerMetrics renders one snapshot. It is pure: tests feed it fixtures.
func pacemakerMetrics(d *pacemakerDescs, snap *crm.Snapshot) []prometheus.Metric {
	m := &metricSet{seen: map[seriesKey]bool{}}
	st := snap.Status
	m.gauge(d.monInfo, 1, string(st.Format), st.Version, st.APIVersion)
	if snap.LocalNode != "" {
		m.gauge(d.localNode, 1, snap.LocalNode)
	}
	summaryMetrics(d, m, st.Summary)
	for _, n := range st.Nodes {
		nodeMetrics(d, m, n)
	}
	resourceMetrics(d, m, st)
	historyMetrics(d, m, st)
	constraintMetrics(d, m, snap)
	attributeMetrics(d, m, snap)
	return m.out
}

func summaryMetrics(d *pacemakerDescs, m *metricSet, s *crm.Summary) {
	if s == nil {
		return
	}
	dc := s.DC
	if dc == nil {
		dc = &crm.DC{}
	}
	m.gauge(d.info, 1, s.Stack, dc.Name, dc.Version)
	m.optBool(d.dcPresent, s.DCPresent)
	m.optBool(d.quorate, dc.WithQuorum)
	optInt(m, d.nodesConfigured, s.NodesConfigured)
	optInt(m, d.resourcesConfigured, s.ResourcesConfigured)
	optInt(m, d.resourcesDisabled, s.ResourcesDisabled)
	optInt(m, d.resourcesBlocked, s.ResourcesBlocked)
	if !s.LastChange.IsZero() {
		m.gauge(d.lastChange, unixSeconds(s.LastChange))
	}
	if o := s.Options; o != nil {
		m.optBool(d.stonithEnabled, o.StonithEnabled)
		m.optBool(d.maintenanceMode, o.MaintenanceMode)
		m.optBool(d.symmetricCluster, o.SymmetricCluster)
		m.optBool(d.stopAllResources, o.StopAllResources)
		if o.NoQuorumPolicy != "" {
			m.enum(d.noQuorumPolicy, noQuorumPolicies, o.NoQuorumPolicy)
		}
	}
}

func nodeMetrics(d *pacemakerDescs, m *metricSet, n crm.Node) {
	m.gauge(d.nodeInfo, 1, n.Name, n.ID, n.Type)
	m.optBool(d.nodeOnline, n.Online, n.Name)
	m.optBool(d.nodeStandby, n.Standby, n.Name)
	m.optBool(d.nodeStandbyOnFail, n.StandbyOnFail, n.Name)
	m.optBool(d.nodeMaintenance, n.Maintenance, n.Name)
	m.optBool(d.nodePending, n.Pending, n.Name)
	m.optBool(d.nodeUnclean, n.Unclean, n.Name)
	m.optBool(d.nodeShutdown, n.Shutdown, n.Name)
	m.optBool(d.nodeExpectedUp, n.ExpectedUp, n.Name)
	m.optBool(d.nodeIsDC, n.IsDC, n.Name)
	optInt(m, d.nodeResourcesRunning, n.ResourcesRunning, n.Name)
	if n.Health != "" {
		m.enum(d.nodeHealth, nodeHealths, n.Health, n.Name)
	}
}

// instanceFlags merges the flags of instances that share (resource, node),
// as the stopped instances of an anonymous clone do.
type instanceFlags struct {
	active, failed, managed, blocked, ignored, orphaned *bool
}

func or(a, b *bool) *bool {
	if a == nil || b == nil {
		if a == nil {
			return b
		}
		return a
	}
	v := *a || *b
	return &v
}

func and(a, b *bool) *bool {
	if a == nil || b == nil {
		if a == nil {
			return b
		}
		return a
	}
	v := *a && *b
	return &v
}

func resourceMetrics(d *pacemakerDescs, m *metricSet, st *crm.Status) {
	for _, c := range st.Clones {
		unique := ""
		if c.Unique != nil {
			unique = fmt.Sprint(*c.Unique)
		}
		m.gauge(d.cloneInfo, 1, c.ID, fmt.Sprint(c.Promotable), unique)
		if c.TargetRole != "" {
			m.gauge(d.resourceTargetRole, 1, c.ID, string(c.TargetRole))
		}
	}
	flags := map[[2]string]*instanceFlags{}
	var flagOrder [][2]string
	for _, r := range st.Resources {
		m.gauge(d.resourceInfo, 1, r.ID, r.Agent, r.Group, r.Clone, r.Bundle)
		if r.TargetRole != "" {
			m.gauge(d.resourceTargetRole, 1, r.ID, string(r.TargetRole))
		}
		nodes := r.Nodes
		if len(nodes) == 0 {
			nodes = []string{""}
		}
		for _, n := range nodes {
			if n != "" || r.Clone == "" {
				m.gauge(d.resourceRole, 1, r.ID, n, string(r.Role))
			}
			key := [2]string{r.ID, n}
			f, ok := flags[key]
			if !ok {
				f = &instanceFlags{}
				flags[key] = f
				flagOrder = append(flagOrder, key)
			}
			f.active, f.failed, f.blocked = or(f.active, r.Active), or(f.failed, r.Failed), or(f.blocked, r.Blocked)
			f.ignored, f.orphaned, f.managed = or(f.ignored, r.FailureIgnored), or(f.orphaned, r.Orphaned), and(f.managed, r.Managed)
		}
	}
	for _, key := range flagOrder {
		f := flags[key]
		m.optBool(d.resourceActive, f.active, key[0], key[1])
		m.optBool(d.resourceFailed, f.failed, key[0], key[1])
		m.optBool(d.resourceManaged, f.managed, key[0], key[1])
		m.optBool(d.resourceBlocked, f.blocked, key[0], key[1])
		m.optBool(d.resourceFailureIgnored, f.ignored, key[0], key[1])
		m.optBool(d.resourceOrphaned, f.orphaned, key[0], key[1])
	}
	for _, c := range st.Clones {
		counts := map[crm.Role]float64{}
		for _, inst := range st.CloneInstances(c.ID) {
			counts[inst.Role]++
		}
		for _, role := range cloneRoles {
			m.gauge(d.cloneInstances, counts[role], c.ID, string(role))
			delete(counts, role)
		}
		for _, role := range slices.Sorted(maps.Keys(counts)) { // pending roles, when seen
			m.gauge(d.cloneInstances, counts[role], c.ID, string(role))
		}
		if c.Promotable {
			for _, n := range st.Primaries(c.ID) {
				m.gauge(d.primary, 1, c.ID, n)
			}
			if p, ok := st.LastPromotion(c.ID); ok {
				m.gauge(d.lastPromotion, unixSeconds(p.At), c.ID, p.Node)
			}
		}
	}
}

func historyMetrics(d *pacemakerDescs, m *metricSet, st *crm.Status) {
	for _, h := range st.History {
		m.gauge(d.failCount, float64(h.FailCount), h.Resource, h.Node)
		if h.MigrationThreshold != nil {
			m.gauge(d.migrationThreshold, float64(*h.MigrationThreshold), h.Resource, h.Node)
		}
		if !h.LastFailure.IsZero() {
			m.gauge(d.lastFailure, unixSeconds(h.LastFailure), h.Resource, h.Node)
		}
	}
	type key struct{ rsc, node, task string }
	failed := map[key]float64{}
	var order []key
	for _, f := range st.Failures {
		k := key{f.Resource, f.Node, f.Task}
		if _, ok := failed[k]; !ok {
			order = append(order, k)
		}
		failed[k]++
	}
	for _, k := range order {
		m.gauge(d.failedActions, failed[k], k.rsc, k.node, k.task)
	}
	for _, t := range st.Tickets {
		m.optBool(d.ticketGranted, t.Granted, t.ID)
		m.optBool(d.ticketStandby, t.Standby, t.ID)
	}
	if st.FenceHistory != nil {
		type fk struct{ target, action, status string }
		n := map[fk]float64{}
		var fo []fk
		for _, e := range st.FenceHistory.Events {
			k := fk{e.Target, e.Action, e.Status}
			if _, ok := n[k]; !ok {
				fo = append(fo, k)
			}
			n[k]++
		}
		for _, k := range fo {
			m.gauge(d.fenceEvents, n[k], k.target, k.action, k.status)
		}
	}
}

func constraintMetrics(d *pacemakerDescs, m *metricSet, snap *crm.Snapshot) {
	switch {
	case snap.CIBError != "":
		m.gauge(d.cibQuery, 0)
	case snap.Constraints != nil:
		m.gauge(d.cibQuery, 1)
	}
	if snap.ClusterName != "" {
		m.gauge(d.clusterInfo, 1, snap.ClusterName)
	}
	if snap.Constraints != nil {
		for _, c := range snap.Constraints {
			if c.Node != "" {
				m.gauge(d.locationConstraint, float64(c.Score), c.ID, c.Resource, c.Node, roleLabel(c.Role))
			}
		}
		return
	}
	// Without the CIB, crm_mon's <bans> still list the negative ones.
	for _, b := range snap.Status.Bans {
		role := ""
		if b.PromotedOnly {
			role = string(crm.RolePromoted)
		}
		m.gauge(d.locationConstraint, float64(b.Weight), b.ID, b.Resource, b.Node, role)
	}
}

// roleLabel renders a constraint role; Started (the default) reads as "".
func roleLabel(r crm.Role) string {
	if r == crm.RoleStarted || r == crm.RoleUnknown {
		return ""
	}
	return string(r)
}

func attributeMetrics(d *pacemakerDescs, m *metricSet, snap *crm.Snapshot) {
	st := snap.Status
	for _, ps := range st.PromotionScores() {
		m.gauge(d.promotionScore, float64(ps.Score), ps.Resource, ps.Node)
	}
	promotable, pgsql := st.PromotableChildren(), st.PrimitivesByAgent(crm.AgentPgsql)
	decoded := func(name string) bool {
		for _, rsc := range promotable {
			if name == "master-"+rsc {
				return true
			}
		}
		for _, rsc := range pgsql {
			if crm.IsPgsqlAttribute(rsc, name) {
				return true
			}
		}
		return false
	}
	for _, na := range st.NodeAttributes {
		for _, a := range na.Attributes {
			if decoded(a.Name) {
				continue
			}
			if v, ok := crm.ParseScore(a.Value); ok {
				m.gauge(d.nodeAttribute, v, na.Node, a.Name)
			}
		}
	}
	for _, p := range snap.PgsqlNodes() {
		if p.Status != "" {
			m.enum(d.pgsqlStatus, pgsqlStatuses, p.Status, p.Resource, p.Node)
		}
		if p.DataStatus != "" {
			m.enum(d.pgsqlDataStatus, pgsqlDataStatuses, p.DataStatus, p.Resource, p.Node)
		}
		if p.ReceiverStatus != "" {
			m.gauge(d.pgsqlReceiverOK, boolFloat(strings.HasPrefix(p.ReceiverStatus, "normal")), p.Resource, p.Node)
		}
		if p.XlogLocation != nil {
			m.gauge(d.pgsqlXlogLocation, float64(*p.XlogLocation), p.Resource, p.Node)
		}
		if p.MasterBaseline != nil {
			m.gauge(d.pgsqlBaseline, float64(*p.MasterBaseline), p.Resource, p.Node)
		}
	}
}

func optInt(m *metricSet, d *prometheus.Desc, v *int, labels ...string) {
	if v != nil {
		m.gauge(d, float64(*v), labels...)
	}
}
