package crm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/pgha/pgha_exporter/crm/runner"
)

// Stage says how far the cluster stack answered on the last crm_mon run.
type Stage string

// Stages, from nothing to a usable cluster view.
const (
	StageNotConnected Stage = "not_connected"           // stack not running (crm_mon code 102)
	StageNoPrivileges Stage = "insufficient_privileges" // not root/haclient (code 4)
	StageNoCIB        Stage = "no_cib"                  // pacemakerd up, CIB not yet
	StageNoDC         Stage = "no_dc"                   // CIB up, no DC elected yet
	StageOK           Stage = "ok"
	StageError        Stage = "error" // anything else: missing binary, timeout, bad output
)

// Stages lists every stage in a stable order (for one-series-per-state metrics).
var Stages = []Stage{StageOK, StageNoDC, StageNoCIB, StageNotConnected, StageNoPrivileges, StageError}

// FailureReasons are every Reason an *Error of this package can give, in
// the order the refresh failure counters list them (each starts at 0).
var FailureReasons = []string{"error", string(StageNoPrivileges), "missing_binary", string(StageNoCIB),
	"no_summary", string(StageNotConnected), "output_too_large", "parse_error", "read_error", "timeout"}

// Error is a failed crm_mon/cibadmin run; Reason classifies it.
type Error struct {
	Stage  Stage
	reason string
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Reason implements the collector's failure classification.
func (e *Error) Reason() string { return e.reason }

// Snapshot is everything one refresh learned about the cluster.
type Snapshot struct {
	Status *Status `json:"status"`
	Stage  Stage   `json:"stage"`
	// Constraints are the CIB's rsc_location constraints; nil when the CIB
	// could not be read (then CIBError says why).
	Constraints []LocationConstraint `json:"constraints"`
	// Colocations are the CIB's two-resource rsc_colocation constraints.
	Colocations []Colocation `json:"colocations,omitempty"`
	// CIBNodeAttributes are the permanent node attributes from the CIB.
	CIBNodeAttributes map[string][]Attribute `json:"cib_node_attributes,omitempty"`
	// ClusterName is the CIB's cluster-name property ("" when unset or when
	// the CIB could not be read).
	ClusterName string `json:"cluster_name,omitempty"`
	CIBError    string `json:"cib_error,omitempty"`
	LocalNode   string `json:"local_node,omitempty"`
	Command     string `json:"command"`
	// FetchedAt is when this content was first fetched: later refreshes
	// that print the same thing return this very snapshot.
	FetchedAt time.Time `json:"fetched_at"`
}

// PgsqlNodes decodes the pgsql agent's attributes, with the CIB's permanent
// attributes for offline nodes.
func (s *Snapshot) PgsqlNodes() []PgsqlNode { return s.Status.PgsqlNodes(s.CIBNodeAttributes) }

// DefaultInclude are the crm_mon --include sections the exporter needs.
const DefaultInclude = "summary,nodes,resources,attributes,failcounts,failures,bans,tickets,fencing"

// Source runs crm_mon (and cibadmin for constraints and permanent node
// attributes) or reads recorded XML, and produces Snapshots.
type Source struct {
	Runner       runner.Runner
	MonPath      string        // crm_mon binary
	MonFile      string        // read crm_mon XML from this file instead of running crm_mon
	CibadminPath string        // cibadmin binary; "" disables the CIB queries
	CIBFile      string        // with MonFile: read constraints and nodes from this CIB XML file
	Include      string        // crm_mon --include list for --output-as=xml
	Timeout      time.Duration // per command
	Location     *time.Location
	LocalNode    string

	mu     sync.Mutex
	legacy bool // crm_mon rejected --output-as: use --as-xml from now on
	// The last snapshot built and the digests of the outputs it came from.
	last      *Snapshot
	lastMon   [sha256.Size]byte
	lastCIB   [sha256.Size]byte
	lastCIBAt time.Time // when the CIB behind lastCIB was queried
	lastHave  bool
}

// cibQuiet is how long after the CIB's last change (crm_mon's last_change,
// one-second resolution, stamped by the DC's clock) a CIB query must have
// run for its answer to stand while crm_mon prints the same thing: any
// later change to the configuration moves last_change. It covers changes
// within the same second and clocks a few seconds apart.
const cibQuiet = 10 * time.Second

// RefreshTimeout is the longest one Fetch can take: crm_mon, its legacy
// fallback and the three cibadmin queries, each under its own Timeout, plus
// a second of slack. A refresh deadline shorter than that would turn a slow
// crm_mon into a failed CIB query.
func (s *Source) RefreshTimeout() time.Duration {
	runs := 2
	if s.MonFile == "" && s.CibadminPath != "" {
		runs += 3
	}
	return time.Duration(runs)*s.Timeout + time.Second
}

// Fetch produces one snapshot. A cluster that answered with an error state
// (not connected, no privileges, no CIB yet) gives an *Error with that Stage,
// never an empty cluster. When crm_mon and cibadmin print what they printed
// for the previous snapshot (crm_mon's own clock aside), Fetch returns that
// snapshot itself without parsing anything, so that what was built from it
// (metrics, their encoding) is reused.
func (s *Source) Fetch(ctx context.Context) (*Snapshot, error) {
	data, cmd, err := s.monXML(ctx)
	if err != nil {
		return nil, err
	}
	monSum := monDigest(cmd, data)
	s.mu.Lock()
	last, same := s.last, s.lastHave && s.lastMon == monSum
	lastCIB, lastCIBAt := s.lastCIB, s.lastCIBAt
	s.mu.Unlock()
	var cib *cibOutput
	cibAt := time.Now()
	if same {
		// The same crm_mon output with a last_change well before the last
		// CIB query: the configuration has not been written since, and the
		// cibadmin runs are not needed.
		if s.MonFile == "" && cibSettled(last, lastCIBAt) {
			return last, nil
		}
		cib = s.fetchCIB(ctx)
		if cib.digest() == lastCIB {
			s.mu.Lock()
			s.lastCIBAt = cibAt
			s.mu.Unlock()
			return last, nil
		}
	}
	st, err := Parse(data, ParseOptions{Location: s.Location})
	if err != nil {
		return nil, &Error{Stage: StageError, reason: "parse_error", Msg: "parsing " + cmd, Err: err}
	}
	stage, err := Classify(st)
	if err != nil {
		return nil, err
	}
	if cib == nil {
		cib = s.fetchCIB(ctx)
	}
	snap := &Snapshot{Status: st, Stage: stage, LocalNode: s.LocalNode, Command: cmd, FetchedAt: time.Now()}
	cib.fill(snap)
	s.mu.Lock()
	s.last, s.lastMon, s.lastCIB, s.lastCIBAt, s.lastHave = snap, monSum, cib.digest(), cibAt, true
	s.mu.Unlock()
	return snap, nil
}

// cibSettled says that the CIB query made at queriedAt saw every change up
// to the last_change of snap's crm_mon output.
func cibSettled(snap *Snapshot, queriedAt time.Time) bool {
	if snap == nil || snap.Status == nil || snap.Status.Summary == nil || snap.Status.Summary.LastChange.IsZero() {
		return false
	}
	return queriedAt.Sub(snap.Status.Summary.LastChange) > cibQuiet
}

// monDigest hashes crm_mon's output without what changes on every run of an
// unchanged cluster: the <last_update> element (crm_mon's clock) and
// pacemakerd's last_updated attribute, wherever each comes in the output
// (Pacemaker 2.1 prints pacemakerd's element first).
func monDigest(cmd string, data []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(cmd))
	h.Write([]byte{0})
	rest := data
	for {
		// The earliest of the spans still ahead.
		at, end := -1, -1
		for _, span := range [][2]string{{"<last_update ", ">"}, {` last_updated="`, `"`}} {
			i := bytes.Index(rest, []byte(span[0]))
			if i < 0 || at >= 0 && i >= at {
				continue
			}
			j := bytes.Index(rest[i+len(span[0]):], []byte(span[1]))
			if j < 0 {
				continue
			}
			at, end = i, i+len(span[0])+j+len(span[1])
		}
		if at < 0 {
			break
		}
		h.Write(rest[:at])
		rest = rest[end:]
	}
	h.Write(rest)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// monXML returns crm_mon's XML and the command that produced it.
func (s *Source) monXML(ctx context.Context) ([]byte, string, error) {
	if s.MonFile != "" {
		data, err := os.ReadFile(s.MonFile)
		if err != nil {
			return nil, s.MonFile, &Error{Stage: StageError, reason: "read_error", Msg: "reading --crm.mon-file", Err: err}
		}
		return data, s.MonFile, nil
	}
	s.mu.Lock()
	legacy := s.legacy
	s.mu.Unlock()
	if !legacy {
		args := []string{"--one-shot", "--inactive", "--output-as=xml"}
		if s.Include != "" {
			args = append(args, "--include="+s.Include)
		}
		cmd := runner.Command{Path: s.MonPath, Args: args, Timeout: s.Timeout}
		res, err := s.Runner.Run(ctx, cmd)
		if err != nil {
			return nil, cmd.String(), runError(cmd, err)
		}
		if !usageError(res) {
			return s.checkOutput(cmd, res)
		}
		s.mu.Lock()
		s.legacy = true
		s.mu.Unlock()
	}
	cmd := runner.Command{Path: s.MonPath, Args: []string{"--one-shot", "--inactive", "--as-xml"}, Timeout: s.Timeout}
	res, err := s.Runner.Run(ctx, cmd)
	if err != nil {
		return nil, cmd.String(), runError(cmd, err)
	}
	return s.checkOutput(cmd, res)
}

// checkOutput turns a crm_mon run without XML into a classified error.
func (s *Source) checkOutput(cmd runner.Command, res runner.Result) ([]byte, string, error) {
	out := bytes.TrimSpace(res.Stdout)
	if len(out) > 0 && out[0] == '<' {
		// The legacy root prints an empty <crm_mon/> on failure, with the
		// reason only on stderr.
		if !bytes.Contains(out, []byte("<summary")) && res.ExitCode != 0 && !bytes.Contains(out, []byte("<status")) {
			return nil, cmd.String(), stderrError(cmd, res)
		}
		return res.Stdout, cmd.String(), nil
	}
	return nil, cmd.String(), stderrError(cmd, res)
}

func stderrError(cmd runner.Command, res runner.Result) error {
	out := bytes.TrimSpace(res.Stderr)
	if len(out) == 0 {
		out = bytes.TrimSpace(res.Stdout)
	}
	text := Excerpt(out)
	msg := fmt.Sprintf("%s exited %d: %s", cmd.Path, res.ExitCode, text)
	lower := strings.ToLower(text)
	switch {
	case res.ExitCode == 4 || strings.Contains(lower, "insufficient privileges") || strings.Contains(lower, "permission denied"):
		return &Error{Stage: StageNoPrivileges, reason: string(StageNoPrivileges), Msg: msg}
	case res.ExitCode == 102 || strings.Contains(lower, "not connected") || strings.Contains(lower, "connection to cluster failed") ||
		strings.Contains(lower, "connection refused"):
		return &Error{Stage: StageNotConnected, reason: string(StageNotConnected), Msg: msg}
	}
	return &Error{Stage: StageError, reason: "error", Msg: msg}
}

// maxExcerpt bounds how much of a tool's output an error message quotes.
const maxExcerpt = 512

// Excerpt renders a tool's output for an error message: whitespace runs
// collapsed, invalid UTF-8 replaced, and at most maxExcerpt bytes, so that
// no error, log line, last_error or check output grows with what a broken
// tool printed.
func Excerpt(out []byte) string {
	cut := out
	if len(cut) > 2*maxExcerpt {
		cut = cut[:2*maxExcerpt]
	}
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(cut), "\uFFFD")), " ")
	if len(text) > maxExcerpt || len(cut) < len(out) {
		text = strings.ToValidUTF8(text[:min(len(text), maxExcerpt)], "") + fmt.Sprintf("... (%d bytes)", len(out))
	}
	return text
}

// usageError reports crm_mon rejecting --output-as or --include (Pacemaker
// before 2.0.3, or a section name an older 2.0 does not know).
func usageError(res runner.Result) bool {
	if bytes.HasPrefix(bytes.TrimSpace(res.Stdout), []byte("<")) && !bytes.Contains(res.Stdout, []byte(`code="64"`)) {
		return false
	}
	if res.ExitCode == 64 {
		return true
	}
	e := strings.ToLower(string(res.Stderr))
	return strings.Contains(e, "unrecognized option") || strings.Contains(e, "unknown option") ||
		strings.Contains(e, "invalid option") || strings.Contains(e, "invalid argument")
}

func runError(cmd runner.Command, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return &Error{Stage: StageError, reason: "missing_binary", Msg: fmt.Sprintf("%s not found (install pacemaker-cli-utils or set the path)", cmd.Path), Err: err}
	case errors.Is(err, fs.ErrPermission):
		return &Error{Stage: StageNoPrivileges, reason: string(StageNoPrivileges), Msg: fmt.Sprintf("%s: permission denied", cmd.Path), Err: err}
	case errors.Is(err, runner.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return &Error{Stage: StageError, reason: "timeout", Msg: cmd.Path + " timed out and was killed", Err: err}
	case errors.Is(err, runner.ErrOutputTooLarge):
		return &Error{Stage: StageError, reason: "output_too_large", Msg: cmd.Path + " printed more than the output cap and was killed", Err: err}
	}
	return &Error{Stage: StageError, reason: "error", Msg: "running " + cmd.String(), Err: err}
}

// Classify tells whether a parsed crm_mon output is a usable cluster view.
// Outputs without a <summary> (stack down, no privileges, no CIB yet) are
// errors with their Stage; a summary without a DC is StageNoDC, which is a
// real (if young) cluster view.
func Classify(st *Status) (Stage, error) {
	if st.Code != nil && *st.Code != 0 {
		msg := fmt.Sprintf("crm_mon status %d %q", *st.Code, st.Message)
		if len(st.Errors) > 0 {
			msg += ": " + strings.Join(st.Errors, "; ")
		}
		switch *st.Code {
		case 102:
			return StageNotConnected, &Error{Stage: StageNotConnected, reason: string(StageNotConnected), Msg: msg}
		case 4:
			return StageNoPrivileges, &Error{Stage: StageNoPrivileges, reason: string(StageNoPrivileges), Msg: msg}
		}
		return StageError, &Error{Stage: StageError, reason: "error", Msg: msg}
	}
	if st.Summary == nil {
		if st.Pacemakerd != nil || len(st.Errors) > 0 {
			msg := "crm_mon: pacemakerd is " + pacemakerdState(st) + " but the CIB did not answer"
			if len(st.Errors) > 0 {
				msg += ": " + strings.Join(st.Errors, "; ")
			}
			return StageNoCIB, &Error{Stage: StageNoCIB, reason: string(StageNoCIB), Msg: msg}
		}
		return StageError, &Error{Stage: StageError, reason: "no_summary", Msg: "crm_mon printed no <summary> section"}
	}
	if st.Summary.DCPresent == nil || !*st.Summary.DCPresent {
		return StageNoDC, nil
	}
	return StageOK, nil
}

func pacemakerdState(st *Status) string {
	if st.Pacemakerd != nil && st.Pacemakerd.State != "" {
		return st.Pacemakerd.State
	}
	return "unknown"
}

// cibOutput is what the CIB queries printed, or why they failed.
type cibOutput struct {
	cons, nodes, config []byte
	err                 string
}

func (c *cibOutput) digest() [sha256.Size]byte {
	h := sha256.New()
	for _, b := range [][]byte{c.cons, {0}, c.nodes, {0}, c.config, {0}, []byte(c.err)} {
		h.Write(b)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// fetchCIB reads the constraints, permanent node attributes and cluster
// properties: from the CIB file with --crm.mon-file, else with three
// cibadmin queries, else nothing.
func (s *Source) fetchCIB(ctx context.Context) *cibOutput {
	out := &cibOutput{}
	switch {
	case s.MonFile != "" && s.CIBFile != "":
		data, err := os.ReadFile(s.CIBFile)
		if err != nil {
			out.err = "reading CIB file: " + err.Error()
		}
		out.cons, out.nodes, out.config = data, data, data
	case s.MonFile == "" && s.CibadminPath != "":
		var err error
		if out.cons, err = s.cibadmin(ctx, "constraints"); err != nil {
			out.err = err.Error()
		} else if out.nodes, err = s.cibadmin(ctx, "nodes"); err != nil {
			out.err = err.Error()
		} else if out.config, err = s.cibadmin(ctx, "crm_config"); err != nil {
			out.err = err.Error()
		}
	}
	return out
}

// fill parses the CIB outputs into the snapshot. Failures are recorded in
// the snapshot, not fatal: crm_mon's view stands on its own.
func (c *cibOutput) fill(snap *Snapshot) {
	if c.err != "" {
		snap.CIBError = c.err
		return
	}
	if c.cons == nil {
		return
	}
	sec, err := parseCIB(c.cons, c.nodes, c.config)
	if err != nil {
		snap.CIBError = err.Error()
		return
	}
	snap.Constraints, snap.Colocations, snap.CIBNodeAttributes, snap.ClusterName = sec.locations, sec.colocations, sec.nodes, sec.clusterName
}

func (s *Source) cibadmin(ctx context.Context, scope string) ([]byte, error) {
	cmd := runner.Command{Path: s.CibadminPath, Args: []string{"--query", "--scope", scope}, Timeout: s.Timeout}
	res, err := s.Runner.Run(ctx, cmd)
	if err != nil {
		return nil, runError(cmd, err)
	}
	if res.ExitCode != 0 {
		return nil, stderrError(cmd, res)
	}
	return res.Stdout, nil
}

// LocalNodeName asks `crm_node -n` for this node's cluster name, falling back
// to the host name (crm_node answers even when the stack is down on 2.x).
func LocalNodeName(ctx context.Context, r runner.Runner, crmNodePath string, timeout time.Duration) (string, error) {
	if crmNodePath != "" {
		res, err := r.Run(ctx, runner.Command{Path: crmNodePath, Args: []string{"-n"}, Timeout: timeout})
		if err == nil && res.ExitCode == 0 {
			if name := strings.TrimSpace(string(res.Stdout)); name != "" && !strings.ContainsAny(name, " \n") {
				return name, nil
			}
		}
	}
	h, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return h, nil
}
