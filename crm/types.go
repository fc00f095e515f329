// Package crm parses Pacemaker's crm_mon XML (both the legacy <crm_mon> root
// of --as-xml and the <pacemaker-result> root of --output-as=xml, Pacemaker
// 1.1.10 to 3.0) and the constraint and node sections of the CIB into plain Go
// types. It knows nothing of Prometheus or Nagios: the collector and the check
// mode both read these types, so a metric and a check cannot disagree.
//
// Unknown is not false: a field the source did not print is nil (pointers) or
// empty, never a zero that would read as "false" or "none".
package crm

import "time"

// Format names the XML root a Status was parsed from.
type Format string

// XML roots.
const (
	FormatLegacy Format = "legacy" // <crm_mon version="..."> from --as-xml / -X
	FormatAPI    Format = "api"    // <pacemaker-result api-version="..."> from --output-as=xml
)

// Role is a resource role normalised across Pacemaker versions: Master and
// Promoted become RolePromoted, Slave and Unpromoted become RoleUnpromoted.
type Role string

// Normalised roles. The pending roles appear only while an action runs.
const (
	RoleUnknown    Role = "unknown"
	RoleStopped    Role = "stopped"
	RoleStarted    Role = "started"
	RoleUnpromoted Role = "unpromoted"
	RolePromoted   Role = "promoted"
	RoleStarting   Role = "starting"
	RoleStopping   Role = "stopping"
	RoleMigrating  Role = "migrating"
	RolePromoting  Role = "promoting"
	RoleDemoting   Role = "demoting"
)

// Status is one parsed crm_mon run.
type Status struct {
	Format     Format `json:"format"`
	Version    string `json:"version,omitempty"`     // local crm_mon version (legacy root)
	APIVersion string `json:"api_version,omitempty"` // highest API schema of the local release (api root)
	Request    string `json:"request,omitempty"`

	// Code and Message come from the trailing <status> of the api root
	// (the crm_mon exit code); nil on the legacy root.
	Code    *int     `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	Errors  []string `json:"errors,omitempty"`

	Pacemakerd *Pacemakerd `json:"pacemakerd,omitempty"`
	Summary    *Summary    `json:"summary,omitempty"`
	Nodes      []Node      `json:"nodes"`
	Resources  []Resource  `json:"resources"` // primitive instances, flattened
	Clones     []Clone     `json:"clones,omitempty"`
	Groups     []Group     `json:"groups,omitempty"`
	Bundles    []Bundle    `json:"bundles,omitempty"`

	// Sections says which optional sections were printed at all, so that
	// "none" can be told from "not reported" (1.1.10-1.1.13 print neither
	// node_attributes nor node_history).
	Sections Sections `json:"sections"`

	NodeAttributes []NodeAttributes  `json:"node_attributes,omitempty"`
	History        []ResourceHistory `json:"history,omitempty"`
	Failures       []Failure         `json:"failures,omitempty"`
	Bans           []Ban             `json:"bans,omitempty"`
	Tickets        []Ticket          `json:"tickets,omitempty"`
	FenceHistory   *FenceHistory     `json:"fence_history,omitempty"`
}

// Sections records which optional sections the output contained.
type Sections struct {
	NodeAttributes bool `json:"node_attributes"`
	NodeHistory    bool `json:"node_history"`
	Failures       bool `json:"failures"`
	Bans           bool `json:"bans"`
	Tickets        bool `json:"tickets"`
}

// Pacemakerd is the <pacemakerd> element (2.1.5+, live clusters only).
type Pacemakerd struct {
	State       string    `json:"state"`
	LastUpdated time.Time `json:"last_updated,omitzero"`
}

// Summary is the <summary> section.
type Summary struct {
	Stack     string `json:"stack,omitempty"` // corosync, cman, heartbeat, classic openais (with plugin), unknown
	DCPresent *bool  `json:"dc_present,omitempty"`
	DC        *DC    `json:"dc,omitempty"`

	LastUpdate       time.Time `json:"last_update,omitzero"`
	LastChange       time.Time `json:"last_change,omitzero"`
	LastChangeUser   string    `json:"last_change_user,omitempty"`
	LastChangeClient string    `json:"last_change_client,omitempty"`
	LastChangeOrigin string    `json:"last_change_origin,omitempty"`

	NodesConfigured     *int   `json:"nodes_configured,omitempty"`
	ExpectedVotes       string `json:"expected_votes,omitempty"` // 1.1.x only; an integer or "unknown"
	ResourcesConfigured *int   `json:"resources_configured,omitempty"`
	ResourcesDisabled   *int   `json:"resources_disabled,omitempty"` // 1.1.16+
	ResourcesBlocked    *int   `json:"resources_blocked,omitempty"`  // 1.1.16+

	Options *ClusterOptions `json:"options,omitempty"` // 1.1.14+
}

// DC describes the designated controller when one is present.
type DC struct {
	Name         string `json:"name,omitempty"`
	ID           string `json:"id,omitempty"`
	Version      string `json:"version,omitempty"`
	WithQuorum   *bool  `json:"with_quorum,omitempty"`
	MixedVersion *bool  `json:"mixed_version,omitempty"`
}

// ClusterOptions is <cluster_options>; each field is nil when the running
// version does not print it.
type ClusterOptions struct {
	StonithEnabled         *bool  `json:"stonith_enabled,omitempty"`
	SymmetricCluster       *bool  `json:"symmetric_cluster,omitempty"`
	NoQuorumPolicy         string `json:"no_quorum_policy,omitempty"`
	MaintenanceMode        *bool  `json:"maintenance_mode,omitempty"`
	StopAllResources       *bool  `json:"stop_all_resources,omitempty"`
	StonithTimeoutMs       *int64 `json:"stonith_timeout_ms,omitempty"`
	PriorityFencingDelayMs *int64 `json:"priority_fencing_delay_ms,omitempty"`
}

// Node is one <nodes>/<node>. IDs are opaque strings: numeric on corosync 2/3,
// equal to the name on CMAN.
type Node struct {
	Name             string `json:"name"`
	ID               string `json:"id,omitempty"`
	Type             string `json:"type,omitempty"` // member, remote, ping, unknown
	Online           *bool  `json:"online,omitempty"`
	Standby          *bool  `json:"standby,omitempty"`
	StandbyOnFail    *bool  `json:"standby_onfail,omitempty"`
	Maintenance      *bool  `json:"maintenance,omitempty"`
	Pending          *bool  `json:"pending,omitempty"`
	Unclean          *bool  `json:"unclean,omitempty"`
	Shutdown         *bool  `json:"shutdown,omitempty"`
	ExpectedUp       *bool  `json:"expected_up,omitempty"`
	IsDC             *bool  `json:"is_dc,omitempty"`
	ResourcesRunning *int   `json:"resources_running,omitempty"`
	Health           string `json:"health,omitempty"` // green, yellow, red (2.1.3+)
	FeatureSet       string `json:"feature_set,omitempty"`
	IDAsResource     string `json:"id_as_resource,omitempty"`
}

// Resource is one primitive instance. An anonymous clone's instances share
// the primitive's ID; key an instance by (ID, node).
type Resource struct {
	ID             string   `json:"id"`
	Agent          string   `json:"agent,omitempty"` // normalised: ocf:heartbeat:pgsql
	Role           Role     `json:"role"`
	TargetRole     Role     `json:"target_role,omitempty"` // only when the meta attribute is set
	Pending        string   `json:"pending,omitempty"`
	Active         *bool    `json:"active,omitempty"`
	Orphaned       *bool    `json:"orphaned,omitempty"`
	Blocked        *bool    `json:"blocked,omitempty"` // 1.1.16+
	Managed        *bool    `json:"managed,omitempty"`
	Failed         *bool    `json:"failed,omitempty"`
	FailureIgnored *bool    `json:"failure_ignored,omitempty"`
	Maintenance    *bool    `json:"maintenance,omitempty"` // 2.1.6+
	NodesRunningOn *int     `json:"nodes_running_on,omitempty"`
	Nodes          []string `json:"nodes,omitempty"`

	Group   string `json:"group,omitempty"`   // enclosing group (a cloned group's instance id, e.g. grp:1)
	Clone   string `json:"clone,omitempty"`   // enclosing clone
	Bundle  string `json:"bundle,omitempty"`  // enclosing bundle
	Replica string `json:"replica,omitempty"` // bundle replica id
}

// BaseID is the primitive id without a clone instance suffix (rsc:2 -> rsc).
func (r Resource) BaseID() string { return StripInstance(r.ID) }

// Clone is a clone or promotable (master/slave) clone.
type Clone struct {
	ID             string `json:"id"`
	Promotable     bool   `json:"promotable"`
	Unique         *bool  `json:"unique,omitempty"`
	Managed        *bool  `json:"managed,omitempty"`
	Disabled       *bool  `json:"disabled,omitempty"`
	Failed         *bool  `json:"failed,omitempty"`
	FailureIgnored *bool  `json:"failure_ignored,omitempty"`
	Maintenance    *bool  `json:"maintenance,omitempty"`
	TargetRole     Role   `json:"target_role,omitempty"`
}

// Group is a resource group; a cloned group appears once per instance with
// ids grp:0, grp:1, ... and Clone set.
type Group struct {
	ID              string `json:"id"`
	NumberResources *int   `json:"number_resources,omitempty"`
	Managed         *bool  `json:"managed,omitempty"`
	Disabled        *bool  `json:"disabled,omitempty"`
	Clone           string `json:"clone,omitempty"`
}

// Bundle is a container bundle.
type Bundle struct {
	ID          string `json:"id"`
	Type        string `json:"type,omitempty"`
	Image       string `json:"image,omitempty"`
	Unique      *bool  `json:"unique,omitempty"`
	Managed     *bool  `json:"managed,omitempty"`
	Failed      *bool  `json:"failed,omitempty"`
	Maintenance *bool  `json:"maintenance,omitempty"`
}

// Attribute is a node attribute as crm_mon or the CIB prints it.
type Attribute struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Expected string `json:"expected,omitempty"`
}

// NodeAttributes are one node's attributes. crm_mon lists online nodes only.
type NodeAttributes struct {
	Node       string      `json:"node"`
	Attributes []Attribute `json:"attributes"`
}

// ResourceHistory is one <resource_history> of <node_history>.
type ResourceHistory struct {
	Node               string      `json:"node"`
	Resource           string      `json:"resource"`
	Orphan             *bool       `json:"orphan,omitempty"`
	MigrationThreshold *Score      `json:"migration_threshold,omitempty"` // +Inf for INFINITY; 0 disables banning
	FailCount          Score       `json:"fail_count"`                    // 0 when crm_mon omits it
	LastFailure        time.Time   `json:"last_failure,omitzero"`
	Operations         []Operation `json:"operations,omitempty"`
}

// Operation is one <operation_history> row (de-duplicated by call id).
type Operation struct {
	Call         string        `json:"call,omitempty"`
	Task         string        `json:"task"`
	RC           *int          `json:"rc,omitempty"`
	RCText       string        `json:"rc_text,omitempty"`
	Interval     time.Duration `json:"interval,omitzero"`
	LastRCChange time.Time     `json:"last_rc_change,omitzero"`
	ExecTime     time.Duration `json:"exec_time,omitzero"`
	QueueTime    time.Duration `json:"queue_time,omitzero"`
}

// Failure is one <failures>/<failure> (a failed action).
type Failure struct {
	OpKey        string        `json:"op_key"`
	Resource     string        `json:"resource"`
	Task         string        `json:"task"`
	Interval     time.Duration `json:"interval"`
	Node         string        `json:"node"`
	ExitStatus   string        `json:"exit_status,omitempty"`
	ExitReason   string        `json:"exit_reason,omitempty"`
	ExitCode     *int          `json:"exit_code,omitempty"`
	Call         string        `json:"call,omitempty"`
	Status       string        `json:"status,omitempty"`
	LastRCChange time.Time     `json:"last_rc_change,omitzero"`
}

// Ban is one <bans>/<ban>: a negative location constraint.
type Ban struct {
	ID           string `json:"id"`
	Resource     string `json:"resource"`
	Node         string `json:"node"`
	Weight       Score  `json:"weight"`
	PromotedOnly bool   `json:"promoted_only"`
}

// Ticket is one <tickets>/<ticket>.
type Ticket struct {
	ID          string    `json:"id"`
	Granted     *bool     `json:"granted,omitempty"`
	Standby     *bool     `json:"standby,omitempty"`
	LastGranted time.Time `json:"last_granted,omitzero"`
}

// FenceHistory is <fence_history>; Code is set when the fencer did not answer.
type FenceHistory struct {
	Code   *int         `json:"code,omitempty"`
	Events []FenceEvent `json:"events,omitempty"`
}

// FenceEvent is one fencing action.
type FenceEvent struct {
	Target     string    `json:"target"`
	Action     string    `json:"action"`
	Status     string    `json:"status"` // success, failed, pending
	Origin     string    `json:"origin,omitempty"`
	Client     string    `json:"client,omitempty"`
	Delegate   string    `json:"delegate,omitempty"`
	Completed  time.Time `json:"completed,omitzero"`
	ExitReason string    `json:"exit_reason,omitempty"`
}

// LocationConstraint is an rsc_location from the CIB constraints section.
// Constraints with rules or resource patterns keep Node empty.
type LocationConstraint struct {
	ID       string `json:"id"`
	Resource string `json:"resource"`
	Node     string `json:"node,omitempty"`
	Role     Role   `json:"role,omitempty"`
	Score    Score  `json:"score"`
	HasRule  bool   `json:"has_rule,omitempty"`
}

// IsCLI reports whether the constraint was left by crm_resource --move/--ban
// (pcs resource move/ban).
func (l LocationConstraint) IsCLI() bool {
	return len(l.ID) > 4 && l.ID[:4] == "cli-"
}
