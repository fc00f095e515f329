package corosync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/pgha/pgha_exporter/crm/runner"
)

// Default tool paths (Debian, RHEL and SUSE all install them in /usr/sbin).
const (
	DefaultCfgtoolPath    = "/usr/sbin/corosync-cfgtool"
	DefaultQuorumtoolPath = "/usr/sbin/corosync-quorumtool"
	DefaultCmanToolPath   = "/usr/sbin/cman_tool"
)

// Source reads the cluster stack's state by running its tools.
type Source struct {
	// Runner runs the tools; runner.Exec{} in production.
	Runner runner.Runner
	// Stack is StackAuto (or empty), StackCorosync or StackCman. Auto means
	// CMAN when cman_tool exists and cman_tool status answers, corosync
	// otherwise.
	Stack string
	// Tool paths; empty means the Default*Path.
	CfgtoolPath, QuorumtoolPath, CmanToolPath string
	// Timeout bounds each command (0: only the context's deadline). A
	// command past it is killed with its process group.
	Timeout time.Duration

	mu      sync.Mutex // one Fetch at a time
	digest  hash.Hash  // of the outputs of the Fetch in progress
	last    *Status
	lastSum []byte
}

// Fetch runs the tools once and returns the parsed state. Errors are *Error
// values (see Reason) wrapped at most once with context. When every tool
// printed what it printed for the previous state, Fetch returns that state
// itself, so that what was built from it is reused.
func (s *Source) Fetch(ctx context.Context) (*Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.digest = sha256.New()
	st, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	sum := s.digest.Sum(nil)
	if s.last != nil && bytes.Equal(sum, s.lastSum) {
		return s.last, nil
	}
	s.last, s.lastSum = st, sum
	return st, nil
}

func (s *Source) fetch(ctx context.Context) (*Status, error) {
	switch s.Stack {
	case StackCorosync:
		return s.fetchCorosync(ctx)
	case StackCman:
		return s.fetchCman(ctx, nil)
	case StackAuto, "":
	default:
		return nil, fmt.Errorf("corosync: unknown stack %q (want %s, %s or %s)", s.Stack, StackAuto, StackCorosync, StackCman)
	}
	res, cmanErr := s.cmanStatus(ctx)
	if cmanErr == nil {
		return s.fetchCman(ctx, res)
	}
	st, err := s.fetchCorosync(ctx)
	if err == nil {
		return st, nil
	}
	// cman_tool exists but did not answer, and neither did corosync: report
	// both, classified by the error that does not merely say "missing".
	switch {
	case errors.Is(cmanErr, ErrMissingBinary):
		return nil, err
	case errors.Is(err, ErrMissingBinary):
		return nil, fmt.Errorf("%w (also tried: %v)", cmanErr, err)
	default:
		return nil, fmt.Errorf("%w (also tried: %v)", err, cmanErr)
	}
}

func (s *Source) fetchCorosync(ctx context.Context) (*Status, error) {
	rings, err := s.rings(ctx)
	if err != nil {
		return nil, err
	}
	q, err := s.quorum(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{Stack: StackCorosync, Transport: rings.Transport, Rings: rings, Quorum: q}
	st.LocalNodeID = firstNonNil(rings.LocalNodeID, q.NodeID)
	return st, nil
}

// fetchCman reads the CMAN stack; status is a cman_tool status run already
// done by auto-detection, or nil.
func (s *Source) fetchCman(ctx context.Context, status *CmanStatus) (*Status, error) {
	var err error
	if status == nil {
		if status, err = s.cmanStatus(ctx); err != nil {
			return nil, err
		}
	}
	tool := pathOr(s.CmanToolPath, DefaultCmanToolPath)
	args := []string{"nodes", "-F", strings.Join(DefaultCmanNodeFields, ",")}
	res, err := s.run(ctx, tool, args...)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, toolFailure(tool, res)
	}
	nodes, err := ParseCmanNodes(res.Stdout, DefaultCmanNodeFields...)
	if err != nil {
		return nil, retag(err, tool)
	}
	rings, err := s.rings(ctx)
	if err != nil {
		return nil, err
	}
	c := &Cman{Status: status, Nodes: nodes}
	st := &Status{Stack: StackCman, Transport: rings.Transport, Rings: rings, Quorum: cmanQuorum(c), Cman: c}
	st.LocalNodeID = firstNonNil(status.NodeID, rings.LocalNodeID)
	return st, nil
}

func (s *Source) cmanStatus(ctx context.Context) (*CmanStatus, error) {
	tool := pathOr(s.CmanToolPath, DefaultCmanToolPath)
	res, err := s.run(ctx, tool, "status")
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, toolFailure(tool, res)
	}
	st, err := ParseCmanStatus(res.Stdout)
	if err != nil {
		return nil, retag(err, tool)
	}
	return st, nil
}

// rings runs corosync-cfgtool -s. corosync 2.x exits 1 on a FAULTY ring and
// 3.0.4-3.1.0 on a disconnected link, so the output is parsed whatever the
// exit code, and the exit code only explains a failure to parse.
func (s *Source) rings(ctx context.Context) (*Rings, error) {
	tool := pathOr(s.CfgtoolPath, DefaultCfgtoolPath)
	res, err := s.run(ctx, tool, "-s")
	if err != nil {
		return nil, err
	}
	if e := knownFailure(tool, res.Stderr, res.Stdout); e != nil {
		return nil, e
	}
	r, err := ParseCfgtool(res.Stdout)
	if err != nil {
		if res.ExitCode != 0 {
			return nil, toolFailure(tool, res)
		}
		return nil, retag(err, tool)
	}
	return r, nil
}

// quorum runs corosync-quorumtool -s -p, which exits 0 when quorate, 2 when
// not, and 1 on errors. Tools without -p (corosync 1.x) are retried with -s.
func (s *Source) quorum(ctx context.Context) (*Quorum, error) {
	tool := pathOr(s.QuorumtoolPath, DefaultQuorumtoolPath)
	res, err := s.run(ctx, tool, "-s", "-p")
	if err != nil {
		return nil, err
	}
	if res.ExitCode == 1 && bytes.Contains(res.Stderr, []byte("invalid option")) {
		if res, err = s.run(ctx, tool, "-s"); err != nil {
			return nil, err
		}
	}
	if res.ExitCode != 0 && res.ExitCode != 2 {
		return nil, toolFailure(tool, res)
	}
	q, err := ParseQuorumtool(res.Stdout)
	if err != nil {
		return nil, retag(err, tool)
	}
	if q.Quorate == nil {
		q.Quorate = ptr(res.ExitCode == 0)
	}
	return q, nil
}

// run runs one tool; a non-zero exit is not an error.
func (s *Source) run(ctx context.Context, tool string, args ...string) (runner.Result, error) {
	cmd := runner.Command{Path: tool, Args: args, Timeout: s.Timeout}
	res, err := s.Runner.Run(ctx, cmd)
	if err != nil {
		return res, runError(tool, err)
	}
	if s.digest != nil {
		fmt.Fprintf(s.digest, "%s\x00%d\x00%d\x00", cmd, res.ExitCode, len(res.Stdout))
		s.digest.Write(res.Stdout)
		s.digest.Write(res.Stderr)
		s.digest.Write([]byte{0})
	}
	return res, nil
}

// toolFailure explains a non-zero exit: a known message, or the tool's words.
func toolFailure(tool string, res runner.Result) error {
	if e := knownFailure(tool, res.Stderr, res.Stdout); e != nil {
		return e
	}
	return &Error{Tool: tool, Kind: ErrToolFailed, Detail: exitDetail(res)}
}

// retag names the configured tool path in a parser's error.
func retag(err error, tool string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Tool = tool
		return &c
	}
	return err
}

func pathOr(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

func firstNonNil[T any](vs ...*T) *T {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}
