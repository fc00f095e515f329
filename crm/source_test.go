package crm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/crm/runner"
)

// fakeRunner answers by command line; unknown commands are "not found".
type fakeRunner struct {
	mu    sync.Mutex
	calls []string
	reply map[string]func() (runner.Result, error)
}

func (f *fakeRunner) Run(_ context.Context, c runner.Command) (runner.Result, error) {
	line := c.String()
	f.mu.Lock()
	f.calls = append(f.calls, line)
	f.mu.Unlock()
	for prefix, r := range f.reply {
		if strings.HasPrefix(line, prefix) {
			return r()
		}
	}
	return runner.Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, exec.ErrNotFound)
}

func ok(data []byte) func() (runner.Result, error) {
	return func() (runner.Result, error) { return runner.Result{Stdout: data}, nil }
}

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(crmtest.Corpus(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

const live = "live-pcmk-2.1.5-pgsql-4.12-pg15/"

func TestSourceFetch(t *testing.T) {
	cib := readShared(t, live+"01-healthy/pgdb1/cibadmin-Q.xml")
	f := &fakeRunner{reply: map[string]func() (runner.Result, error){
		"crm_mon --one-shot --inactive --output-as=xml": ok(readShared(t, live+"01-healthy/pgdb1/crm_mon.xml")),
		"cibadmin --query --scope constraints":          ok(cib),
		"cibadmin --query --scope nodes":                ok(cib),
		"cibadmin --query --scope crm_config":           ok(cib),
	}}
	src := &Source{Runner: f, MonPath: "crm_mon", CibadminPath: "cibadmin", Include: DefaultInclude, LocalNode: "pgdb1"}
	snap, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Stage != StageOK || snap.CIBError != "" || snap.Constraints == nil || len(snap.CIBNodeAttributes) != 3 {
		t.Errorf("snapshot: stage %s, cib error %q, constraints %v, nodes %d", snap.Stage, snap.CIBError, snap.Constraints, len(snap.CIBNodeAttributes))
	}
	if want := "crm_mon --one-shot --inactive --output-as=xml --include=" + DefaultInclude; f.calls[0] != want {
		t.Errorf("first call %q, want %q", f.calls[0], want)
	}
	if snap.ClusterName != "pgcluster" {
		t.Errorf("cluster name %q, want pgcluster (the lab's cluster-name property)", snap.ClusterName)
	}
	if len(f.calls) != 4 {
		t.Errorf("calls: %q", f.calls)
	}
}

// TestSourceLegacyFallback: Pacemaker before 2.0.3 rejects --output-as with
// a usage error; the source switches to --as-xml and stays there.
func TestSourceLegacyFallback(t *testing.T) {
	f := &fakeRunner{reply: map[string]func() (runner.Result, error){
		"crm_mon --one-shot --inactive --output-as=xml": func() (runner.Result, error) {
			return runner.Result{Stderr: []byte("crm_mon: unrecognized option '--output-as=xml'\nusage..."), ExitCode: 64}, nil
		},
		"crm_mon --one-shot --inactive --as-xml": ok(readShared(t, "crm_mon-xml-legacy/pcmk-1.1.15-el7_pgsql-paf-like-3nodes.xml")),
	}}
	src := &Source{Runner: f, MonPath: "crm_mon"}
	for i := 0; i < 2; i++ {
		snap, err := src.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if snap.Status.Format != FormatLegacy || snap.Status.Version != "1.1.15" {
			t.Errorf("got %s %s", snap.Status.Format, snap.Status.Version)
		}
	}
	if len(f.calls) != 3 {
		t.Errorf("the rejected form must be tried once only: %q", f.calls)
	}
}

func TestSourceErrors(t *testing.T) {
	cases := []struct {
		name   string
		reply  func() (runner.Result, error)
		stage  Stage
		reason string
	}{
		{"not connected (api)", func() (runner.Result, error) {
			return runner.Result{Stdout: readShared(t, live+"errors/crm_mon.cluster-not-running.xml"), ExitCode: 102}, nil
		}, StageNotConnected, "not_connected"},
		{"no privileges (api)", func() (runner.Result, error) {
			return runner.Result{Stdout: readShared(t, live+"errors/crm_mon.permission-denied.xml"), ExitCode: 4}, nil
		}, StageNoPrivileges, "insufficient_privileges"},
		{"no CIB yet", ok(readShared(t, live+"single-node-startup/05-pacemakerd-running-no-cib-yet.xml")), StageNoCIB, "no_cib"},
		{"legacy empty root, stack down", func() (runner.Result, error) {
			return runner.Result{Stdout: readShared(t, live+"errors/crm_mon.legacy.cluster-not-running.xml"),
				Stderr: readShared(t, live+"errors/crm_mon.legacy.cluster-not-running.stderr"), ExitCode: 102}, nil
		}, StageNotConnected, "not_connected"},
		{"1.1 connection failure on stderr", func() (runner.Result, error) {
			return runner.Result{Stderr: []byte("Connection to cluster failed: Transport endpoint is not connected\n"), ExitCode: 107}, nil
		}, StageNotConnected, "not_connected"},
		{"garbage", ok([]byte("<crm_mon><summary>")), StageError, "parse_error"},
		{"timeout", func() (runner.Result, error) {
			return runner.Result{ExitCode: -1}, fmt.Errorf("crm_mon: %w after 10s", runner.ErrTimeout)
		}, StageError, "timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeRunner{reply: map[string]func() (runner.Result, error){"crm_mon": c.reply}}
			_, err := (&Source{Runner: f, MonPath: "crm_mon"}).Fetch(context.Background())
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *crm.Error", err)
			}
			if ce.Stage != c.stage || ce.Reason() != c.reason {
				t.Errorf("stage %s reason %s, want %s %s (%v)", ce.Stage, ce.Reason(), c.stage, c.reason, err)
			}
		})
	}
}

func TestSourceMissingBinary(t *testing.T) {
	src := &Source{Runner: runner.Exec{}, MonPath: "/nonexistent/crm_mon", Timeout: time.Second}
	_, err := src.Fetch(context.Background())
	var ce *Error
	if !errors.As(err, &ce) || ce.Reason() != "missing_binary" || !strings.Contains(err.Error(), "/nonexistent/crm_mon not found") {
		t.Errorf("err = %v", err)
	}
}

// TestSourceCIBFailureIsNotFatal: crm_mon's view stands when cibadmin fails.
func TestSourceCIBFailureIsNotFatal(t *testing.T) {
	f := &fakeRunner{reply: map[string]func() (runner.Result, error){
		"crm_mon": ok(readShared(t, live+"01-healthy/pgdb1/crm_mon.xml")),
		"cibadmin": func() (runner.Result, error) {
			return runner.Result{Stderr: []byte("Could not connect to the CIB: Permission denied"), ExitCode: 13}, nil
		},
	}}
	snap, err := (&Source{Runner: f, MonPath: "crm_mon", CibadminPath: "cibadmin"}).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Constraints != nil || !strings.Contains(snap.CIBError, "Permission denied") {
		t.Errorf("constraints %v, CIB error %q", snap.Constraints, snap.CIBError)
	}
}

func TestSourceMonFile(t *testing.T) {
	dir := filepath.Join(crmtest.Corpus(t), live+"05-primary-postgres-killed-failover/pgdb1")
	src := &Source{MonFile: filepath.Join(dir, "crm_mon.xml"), CIBFile: filepath.Join(crmtest.Corpus(t), live+"01-healthy/pgdb1/cibadmin-Q.xml")}
	snap, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Constraints == nil || snap.CIBNodeAttributes["pgdb1"] == nil {
		t.Errorf("CIB file not read: %+v", snap.Constraints)
	}
	if _, err := (&Source{MonFile: "/nonexistent"}).Fetch(context.Background()); err == nil {
		t.Error("missing file accepted")
	}
}
