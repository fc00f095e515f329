package corosync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/runner"
)

// fakeRunner answers commands by their command line. A command it does not
// know fails the way runner.Exec fails for a missing binary.
type fakeRunner map[string]runner.Result

func (f fakeRunner) Run(_ context.Context, c runner.Command) (runner.Result, error) {
	if r, ok := f[c.String()]; ok {
		return r, nil
	}
	return runner.Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, &fs.PathError{Op: "fork/exec", Path: c.Path, Err: syscall.ENOENT})
}

const (
	cfgtool    = DefaultCfgtoolPath + " -s"
	quorumtool = DefaultQuorumtoolPath + " -s -p"
	cmanStatus = DefaultCmanToolPath + " status"
	cmanNodes  = DefaultCmanToolPath + " nodes -F id,type,votes,name"
)

func TestSourceFetch(t *testing.T) {
	live := func(name string) []byte { return readFixture(t, liveSet+"/01-healthy/pgdb2/"+name) }
	ok := func(b []byte) runner.Result { return runner.Result{Stdout: b} }
	exit := func(code int, stdout, stderr string) runner.Result {
		return runner.Result{Stdout: []byte(stdout), Stderr: []byte(stderr), ExitCode: code}
	}
	cmanFile := readFixture(t, "cman/cman_tool-status_plus-nodes-F_rhel6.6_quorate.txt")
	cmanStatusOut, cmanNodesOut, _ := strings.Cut(string(cmanFile), "---Votes---\n")

	tests := []struct {
		name   string
		stack  string
		fake   fakeRunner
		check  func(*testing.T, *Status)
		reason string // expected Reason of the error
		msg    []string
	}{
		{
			name: "auto picks corosync when cman_tool is missing",
			fake: fakeRunner{cfgtool: ok(live("corosync-cfgtool-s.txt")), quorumtool: ok(live("corosync-quorumtool-sp.txt"))},
			check: func(t *testing.T, s *Status) {
				if s.Stack != StackCorosync || s.Transport != "knet" || *s.LocalNodeID != 2 || !*s.Quorum.Quorate || len(s.Rings.Links[0].Nodes) != 3 || s.Cman != nil {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "auto picks cman when cman_tool status answers",
			fake: fakeRunner{
				cmanStatus: ok([]byte(cmanStatusOut)), cmanNodes: ok([]byte(cmanNodesOut)),
				cfgtool: ok(readFixture(t, "corosync-cfgtool/corosync-2.3-fedora19_cfgtool-s_1ring-ok_auto-nodeid.txt")),
			},
			check: func(t *testing.T, s *Status) {
				q := s.Quorum
				if s.Stack != StackCman || *s.LocalNodeID != 2 || !*q.Quorate || len(q.Members) != 3 || !q.Members[1].Local || *q.Members[0].Votes != 3 || len(s.Rings.Rings) != 1 {
					t.Errorf("got %+v / %+v", s, q)
				}
			},
		},
		{
			name: "inquorate quorumtool exit 2 is data",
			fake: fakeRunner{
				cfgtool:    ok(live("corosync-cfgtool-s.txt")),
				quorumtool: exit(2, string(readFixture(t, "corosync-quorumtool/corosync-2.3_rhel7.0_quorumtool-p-s_inquorate.txt")), ""),
			},
			check: func(t *testing.T, s *Status) {
				if *s.Quorum.Quorate || !*s.Quorum.ActivityBlocked {
					t.Errorf("got %+v", s.Quorum)
				}
			},
		},
		{
			name:  "faulty ring cfgtool exit 1 is data",
			stack: StackCorosync,
			fake: fakeRunner{
				cfgtool:    exit(1, string(readFixture(t, "corosync-cfgtool/corosync-2.x_rrp_cfgtool-s_ring0-FAULTY_hand-made.txt")), ""),
				quorumtool: ok(live("corosync-quorumtool-sp.txt")),
			},
			check: func(t *testing.T, s *Status) {
				if !s.Rings.Rings[0].Faulty || s.Rings.Rings[1].Faulty || s.Transport != "" {
					t.Errorf("got %+v", s.Rings)
				}
			},
		},
		{
			name: "quorumtool without -p is retried with -s",
			fake: fakeRunner{
				cfgtool:                       ok(live("corosync-cfgtool-s.txt")),
				quorumtool:                    exit(1, "", "corosync-quorumtool: invalid option -- 'p'\n"),
				DefaultQuorumtoolPath + " -s": exit(0, string(live("corosync-quorumtool-s.txt")), ""),
			},
			check: func(t *testing.T, s *Status) {
				if len(s.Quorum.Members) != 3 || s.Quorum.Members[0].Qdevice != nil {
					t.Errorf("got %+v", s.Quorum)
				}
			},
		},
		{
			name:   "missing binaries",
			fake:   fakeRunner{},
			reason: "missing_binary",
			msg:    []string{DefaultCfgtoolPath, "missing"},
		},
		{
			name:   "missing quorumtool",
			stack:  StackCorosync,
			fake:   fakeRunner{cfgtool: ok(live("corosync-cfgtool-s.txt"))},
			reason: "missing_binary",
			msg:    []string{DefaultQuorumtoolPath, "missing"},
		},
		{
			name:   "cfgtool: not running",
			fake:   fakeRunner{cfgtool: exit(1, "", "Could not initialize corosync configuration API error 2\n")},
			reason: "not_running",
			msg:    []string{"not running", "error 2"},
		},
		{
			name:   "cfgtool: access denied",
			fake:   fakeRunner{cfgtool: exit(1, "", "Could not initialize corosync configuration API error 11\n")},
			reason: "permission_denied",
			msg:    []string{"permission denied", "error 11"},
		},
		{
			name: "quorumtool: CMAP unavailable",
			fake: fakeRunner{
				cfgtool:    ok(live("corosync-cfgtool-s.txt")),
				quorumtool: exit(1, "", "Cannot initialize CMAP service\n"),
			},
			reason: "not_running",
			msg:    []string{"Cannot initialize CMAP service"},
		},
		{
			name: "quorumtool: other failure",
			fake: fakeRunner{
				cfgtool:    ok(live("corosync-cfgtool-s.txt")),
				quorumtool: exit(1, "", "Unable to get cluster quorate status: CS_ERR_TRY_AGAIN\n"),
			},
			reason: "tool_error",
			msg:    []string{"exit status 1", "CS_ERR_TRY_AGAIN"},
		},
		{
			name:   "cman present but down, corosync tools missing",
			fake:   fakeRunner{cmanStatus: exit(1, "", "cman_tool: Cannot open connection to cman, is it running ?\n")},
			reason: "not_running",
			msg:    []string{DefaultCmanToolPath, "is it running", "also tried"},
		},
		{
			name:   "forced cman stack without cman_tool",
			stack:  StackCman,
			fake:   fakeRunner{cfgtool: ok(live("corosync-cfgtool-s.txt")), quorumtool: ok(live("corosync-quorumtool-sp.txt"))},
			reason: "missing_binary",
			msg:    []string{DefaultCmanToolPath, "missing"},
		},
		{
			name:   "unparsable output",
			fake:   fakeRunner{cfgtool: ok([]byte("hello\n"))},
			reason: "parse_error",
			msg:    []string{DefaultCfgtoolPath, `"hello"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &Source{Runner: tt.fake, Stack: tt.stack, Timeout: time.Second}
			st, err := src.Fetch(context.Background())
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, st)
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error", err, err)
			}
			if e.Reason() != tt.reason {
				t.Errorf("reason %q, want %q (%v)", e.Reason(), tt.reason, err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not contain %q", err, m)
				}
			}
		})
	}
	if _, err := (&Source{Runner: fakeRunner{}, Stack: "heartbeat"}).Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "heartbeat") {
		t.Errorf("unknown stack: got %v", err)
	}
}

// TestSourceRealRunner runs the real runner against a missing path and a
// tool that hangs: the hung tool and its child must be killed at the timeout
// (long enough for the shell to start and record its child under load).
func TestSourceRealRunner(t *testing.T) {
	dir := t.TempDir()
	src := &Source{Runner: runner.Exec{}, Stack: StackAuto, Timeout: 2 * time.Second,
		CfgtoolPath:    filepath.Join(dir, "corosync-cfgtool"),
		QuorumtoolPath: filepath.Join(dir, "corosync-quorumtool"),
		CmanToolPath:   filepath.Join(dir, "cman_tool"),
	}
	_, err := src.Fetch(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Reason() != "missing_binary" || !strings.Contains(err.Error(), src.CfgtoolPath+": binary is missing") {
		t.Fatalf("missing: got %v", err)
	}
	t.Logf("missing binary: %v", err)

	child := filepath.Join(dir, "child.pid")
	script := "#!/bin/sh\nsleep 60 &\necho $! > " + child + "\nwait\n"
	if err := os.WriteFile(src.CfgtoolPath, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.Fetch(context.Background())
	elapsed := time.Since(start)
	if !errors.As(err, &e) || e.Reason() != "timeout" || !errors.Is(err, runner.ErrTimeout) {
		t.Fatalf("hung tool: got %v", err)
	}
	if elapsed > 6*time.Second {
		t.Errorf("hung tool returned after %s, want about %s", elapsed, src.Timeout)
	}
	t.Logf("hung tool: %v (after %s)", err, elapsed.Round(time.Millisecond))
	b, err := os.ReadFile(child)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !waitGone(pid, 2*time.Second) {
		t.Errorf("child %d of the hung tool is still running", pid)
	}
}

// waitGone reports whether pid exits (or is a zombie) within d.
func waitGone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; {
		if !alive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// TestSourceUnchangedOutputKeepsStatus: tools printing the same thing again
// give back the previous Status itself; a changed output gives a new one.
func TestSourceUnchangedOutputKeepsStatus(t *testing.T) {
	live := func(name string) []byte { return readFixture(t, liveSet+"/01-healthy/pgdb2/"+name) }
	fake := fakeRunner{cfgtool: {Stdout: live("corosync-cfgtool-s.txt")}, quorumtool: {Stdout: live("corosync-quorumtool-sp.txt")}}
	src := &Source{Runner: fake, Stack: StackCorosync}
	first, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	second, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Error("unchanged output built a new status")
	}
	fake[quorumtool] = runner.Result{Stdout: live("corosync-quorumtool-sp.txt"), ExitCode: 2}
	third, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if third == first {
		t.Error("a changed exit code kept the old status")
	}
}
