package crm

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrNotCrmMon is returned for a well-formed document that is neither root.
var ErrNotCrmMon = errors.New("not crm_mon XML: root is neither <crm_mon> nor <pacemaker-result>")

// ParseOptions tune parsing.
type ParseOptions struct {
	// Location is the zone crm_mon's ctime timestamps are read in; nil means
	// time.Local (crm_mon prints the host's local time).
	Location *time.Location
}

// Parse reads crm_mon XML of either root. It never panics; malformed input
// gives an error.
func Parse(data []byte, opts ParseOptions) (*Status, error) {
	root, err := parseDOM(data)
	if err != nil {
		return nil, err
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	p := parser{loc: loc}
	st := &Status{Nodes: []Node{}, Resources: []Resource{}}
	switch root.name {
	case "crm_mon":
		st.Format = FormatLegacy
		st.Version = root.str("version")
	case "pacemaker-result":
		st.Format = FormatAPI
		st.APIVersion = root.str("api-version")
		st.Request = root.str("request")
	default:
		return nil, ErrNotCrmMon
	}
	p.status(root, st)
	return st, nil
}

type parser struct {
	loc *time.Location
}

func (p parser) status(root *element, st *Status) {
	if s := root.child("status"); s != nil {
		st.Code = s.intp("code")
		st.Message = s.str("message")
		if errs := s.child("errors"); errs != nil {
			errs.each("error", func(e *element) { st.Errors = append(st.Errors, e.str("#text")) })
		}
	}
	if pd := root.child("pacemakerd"); pd != nil {
		st.Pacemakerd = &Pacemakerd{State: pd.str("state"), LastUpdated: ParseTime(pd.str("last_updated"), p.loc)}
	}
	if s := root.child("summary"); s != nil {
		st.Summary = p.summary(s)
	}
	seen := map[string]bool{} // resource instance keys already taken from --group-by-node nodes
	if ns := root.child("nodes"); ns != nil {
		ns.each("node", func(n *element) {
			st.Nodes = append(st.Nodes, p.node(n))
			// --group-by-node nests the active resources inside each node.
			for _, c := range n.children {
				p.resourceTree(c, container{node: n.str("name")}, st, seen)
			}
		})
	}
	if rs := root.child("resources"); rs != nil {
		for _, c := range rs.children {
			p.resourceTree(c, container{}, st, seen)
		}
	}
	if na := root.child("node_attributes"); na != nil {
		st.Sections.NodeAttributes = true
		na.each("node", func(n *element) {
			attrs := NodeAttributes{Node: n.str("name"), Attributes: []Attribute{}}
			n.each("attribute", func(a *element) {
				attrs.Attributes = append(attrs.Attributes, Attribute{Name: a.str("name"), Value: a.str("value"), Expected: a.str("expected")})
			})
			st.NodeAttributes = append(st.NodeAttributes, attrs)
		})
	}
	if nh := root.child("node_history"); nh != nil {
		st.Sections.NodeHistory = true
		nh.each("node", func(n *element) {
			n.each("resource_history", func(rh *element) {
				st.History = append(st.History, p.history(n.str("name"), rh))
			})
		})
	}
	if fs := root.child("failures"); fs != nil {
		st.Sections.Failures = true
		fs.each("failure", func(f *element) { st.Failures = append(st.Failures, p.failure(f)) })
	}
	if bs := root.child("bans"); bs != nil {
		st.Sections.Bans = true
		bs.each("ban", func(b *element) {
			w, _ := ParseScore(b.str("weight"))
			promoted := b.boolp("promoted-only")
			if promoted == nil {
				promoted = b.boolp("master_only")
			}
			st.Bans = append(st.Bans, Ban{ID: b.str("id"), Resource: b.str("resource"), Node: b.str("node"),
				Weight: Score(w), PromotedOnly: promoted != nil && *promoted})
		})
	}
	if ts := root.child("tickets"); ts != nil {
		st.Sections.Tickets = true
		ts.each("ticket", func(t *element) {
			tk := Ticket{ID: t.str("id"), Standby: t.boolp("standby"), LastGranted: ParseTime(t.str("last-granted"), p.loc)}
			switch t.str("status") {
			case "granted":
				tk.Granted = ptr(true)
			case "revoked":
				tk.Granted = ptr(false)
			}
			st.Tickets = append(st.Tickets, tk)
		})
	}
	if fh := root.child("fence_history"); fh != nil {
		h := &FenceHistory{Code: fh.intp("status")}
		fh.each("fence_event", func(f *element) {
			status := f.str("status")
			if status == "" {
				status = f.str("state")
			}
			h.Events = append(h.Events, FenceEvent{Target: f.str("target"), Action: f.str("action"), Status: status,
				Origin: f.str("origin"), Client: f.str("client"), Delegate: f.str("delegate"),
				Completed: ParseTime(f.str("completed"), p.loc), ExitReason: f.str("exit-reason")})
		})
		st.FenceHistory = h
	}
}

func (p parser) summary(s *element) *Summary {
	sum := &Summary{}
	if e := s.child("stack"); e != nil {
		sum.Stack = e.str("type")
	}
	if e := s.child("current_dc"); e != nil {
		sum.DCPresent = e.boolp("present")
		if sum.DCPresent != nil && *sum.DCPresent {
			sum.DC = &DC{Name: e.str("name"), ID: e.str("id"), Version: e.str("version"),
				WithQuorum: e.boolp("with_quorum"), MixedVersion: e.boolp("mixed_version")}
		}
	}
	if e := s.child("last_update"); e != nil {
		sum.LastUpdate = ParseTime(e.str("time"), p.loc)
	}
	if e := s.child("last_change"); e != nil {
		sum.LastChange = ParseTime(e.str("time"), p.loc)
		sum.LastChangeUser, sum.LastChangeClient, sum.LastChangeOrigin = e.str("user"), e.str("client"), e.str("origin")
	}
	if e := s.child("nodes_configured"); e != nil {
		sum.NodesConfigured = e.intp("number")
		sum.ExpectedVotes = e.str("expected_votes")
	}
	if e := s.child("resources_configured"); e != nil {
		sum.ResourcesConfigured = e.intp("number")
		sum.ResourcesDisabled = e.intp("disabled")
		sum.ResourcesBlocked = e.intp("blocked")
	}
	if e := s.child("cluster_options"); e != nil {
		o := &ClusterOptions{
			StonithEnabled:   e.boolp("stonith-enabled"),
			SymmetricCluster: e.boolp("symmetric-cluster"),
			NoQuorumPolicy:   e.str("no-quorum-policy"),
			MaintenanceMode:  e.boolp("maintenance-mode"),
			StopAllResources: e.boolp("stop-all-resources"),
			StonithTimeoutMs: e.int64p("stonith-timeout-ms"),

			PriorityFencingDelayMs: e.int64p("priority-fencing-delay-ms"),
		}
		if o.StonithEnabled == nil { // 3.0.2 also prints the new name
			o.StonithEnabled = e.boolp("fencing-enabled")
		}
		if o.StonithTimeoutMs == nil {
			o.StonithTimeoutMs = e.int64p("fencing-timeout-ms")
		}
		sum.Options = o
	}
	return sum
}

func (p parser) node(n *element) Node {
	return Node{
		Name: n.str("name"), ID: n.str("id"), Type: n.str("type"),
		Online: n.boolp("online"), Standby: n.boolp("standby"), StandbyOnFail: n.boolp("standby_onfail"),
		Maintenance: n.boolp("maintenance"), Pending: n.boolp("pending"), Unclean: n.boolp("unclean"),
		Shutdown: n.boolp("shutdown"), ExpectedUp: n.boolp("expected_up"), IsDC: n.boolp("is_dc"),
		ResourcesRunning: n.intp("resources_running"), Health: n.str("health"),
		FeatureSet: n.str("feature_set"), IDAsResource: n.str("id_as_resource"),
	}
}

// container carries the enclosing group/clone/bundle down the resource tree.
type container struct {
	group, clone, bundle, replica string
	node                          string // the <nodes>/<node> a --group-by-node resource sits in
}

func (p parser) resourceTree(e *element, c container, st *Status, seen map[string]bool) {
	switch e.name {
	case "resource":
		r := p.resource(e, c)
		if c.node != "" {
			if len(r.Nodes) == 0 {
				r.Nodes = []string{c.node}
			}
			seen[r.ID+"\x00"+c.node] = true
		} else if len(r.Nodes) == 1 && seen[r.ID+"\x00"+r.Nodes[0]] {
			return // already listed under its node (--group-by-node)
		}
		st.Resources = append(st.Resources, r)
	case "group":
		g := Group{ID: e.str("id"), NumberResources: e.intp("number_resources"), Managed: e.boolp("managed"),
			Disabled: e.boolp("disabled"), Clone: c.clone}
		if c.node == "" {
			st.Groups = append(st.Groups, g)
		}
		c.group = g.ID
		for _, ch := range e.children {
			p.resourceTree(ch, c, st, seen)
		}
	case "clone":
		cl := Clone{ID: e.str("id"), Unique: e.boolp("unique"), Managed: e.boolp("managed"), Disabled: e.boolp("disabled"),
			Failed: e.boolp("failed"), FailureIgnored: e.boolp("failure_ignored"), Maintenance: e.boolp("maintenance")}
		if ms := e.boolp("multi_state"); ms != nil {
			cl.Promotable = *ms
		}
		if tr, ok := e.attr("target_role"); ok {
			cl.TargetRole = NormaliseRole(tr)
		}
		if c.node == "" {
			st.Clones = append(st.Clones, cl)
		}
		c.clone = cl.ID
		for _, ch := range e.children {
			p.resourceTree(ch, c, st, seen)
		}
	case "bundle":
		b := Bundle{ID: e.str("id"), Type: e.str("type"), Image: e.str("image"), Unique: e.boolp("unique"),
			Managed: e.boolp("managed"), Failed: e.boolp("failed"), Maintenance: e.boolp("maintenance")}
		if c.node == "" {
			st.Bundles = append(st.Bundles, b)
		}
		c.bundle = b.ID
		e.each("replica", func(rep *element) {
			rc := c
			rc.replica = rep.str("id")
			for _, ch := range rep.children {
				p.resourceTree(ch, rc, st, seen)
			}
		})
	}
}

func (p parser) resource(e *element, c container) Resource {
	r := Resource{
		ID: e.str("id"), Agent: NormaliseAgent(e.str("resource_agent")), Role: NormaliseRole(e.str("role")),
		Pending: e.str("pending"), Active: e.boolp("active"), Orphaned: e.boolp("orphaned"), Blocked: e.boolp("blocked"),
		Managed: e.boolp("managed"), Failed: e.boolp("failed"), FailureIgnored: e.boolp("failure_ignored"),
		Maintenance: e.boolp("maintenance"), NodesRunningOn: e.intp("nodes_running_on"),
		Group: c.group, Clone: c.clone, Bundle: c.bundle, Replica: c.replica,
	}
	if r.Orphaned == nil { // 3.0.2 renamed orphaned to removed
		r.Orphaned = e.boolp("removed")
	}
	if tr, ok := e.attr("target_role"); ok {
		r.TargetRole = NormaliseRole(tr)
	}
	e.each("node", func(n *element) {
		if name := n.str("name"); name != "" {
			r.Nodes = append(r.Nodes, name)
		}
	})
	return r
}

func (p parser) history(node string, rh *element) ResourceHistory {
	h := ResourceHistory{Node: node, Resource: rh.str("id"), Orphan: rh.boolp("orphan"),
		LastFailure: ParseTime(rh.str("last-failure"), p.loc)}
	if v, ok := ParseScore(rh.str("migration-threshold")); ok {
		sc := Score(v)
		h.MigrationThreshold = &sc
	}
	if v, ok := ParseScore(rh.str("fail-count")); ok {
		h.FailCount = Score(v)
	}
	calls := map[string]bool{}
	rh.each("operation_history", func(o *element) {
		op := Operation{Call: o.str("call"), Task: o.str("task"), RC: o.intp("rc"), RCText: o.str("rc_text"),
			LastRCChange: ParseTime(o.str("last-rc-change"), p.loc)}
		key := op.Call + "\x00" + op.Task + "\x00" + o.str("interval")
		if op.Call != "" && calls[key] {
			return // crm_mon repeats rows with the same call id
		}
		calls[key] = true
		op.Interval, _ = parseMillis(o.str("interval"))
		op.ExecTime, _ = parseMillis(o.str("exec-time"))
		op.QueueTime, _ = parseMillis(o.str("queue-time"))
		h.Operations = append(h.Operations, op)
	})
	return h
}

func (p parser) failure(f *element) Failure {
	fl := Failure{OpKey: f.str("op_key"), Node: f.str("node"), Task: f.str("task"), ExitStatus: f.str("exitstatus"),
		ExitReason: f.str("exitreason"), ExitCode: f.intp("exitcode"), Call: f.str("call"), Status: f.str("status"),
		LastRCChange: ParseTime(f.str("last-rc-change"), p.loc)}
	if fl.OpKey == "" {
		fl.OpKey = f.str("id") // 1.1.x before op_key
	}
	rsc, task, interval := SplitOpKey(fl.OpKey)
	fl.Resource = rsc
	if fl.Task == "" {
		fl.Task = task
	}
	if d, ok := parseMillis(f.str("interval")); ok {
		fl.Interval = d
	} else {
		fl.Interval = interval
	}
	return fl
}

// SplitOpKey splits "<rsc>_<task>_<interval-ms>" from the right, since
// resource ids may contain underscores.
func SplitOpKey(key string) (rsc, task string, interval time.Duration) {
	i := strings.LastIndexByte(key, '_')
	if i <= 0 {
		return key, "", 0
	}
	ms, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil {
		return key, "", 0
	}
	rest := key[:i]
	j := strings.LastIndexByte(rest, '_')
	if j <= 0 {
		return rest, "", time.Duration(ms) * time.Millisecond
	}
	task = rest[j+1:]
	rsc = rest[:j]
	// Notify and migrate operations have two-word tasks.
	for _, two := range []string{"pre_notify", "post_notify", "migrate_to", "migrate_from", "confirmed-pre_notify", "confirmed-post_notify"} {
		prefix := strings.TrimSuffix(two, "_"+task)
		if prefix != two && strings.HasSuffix(rsc, "_"+prefix) {
			rsc = strings.TrimSuffix(rsc, "_"+prefix)
			task = two
			break
		}
	}
	return rsc, task, time.Duration(ms) * time.Millisecond
}

func ptr[T any](v T) *T { return &v }
