package collector

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/crm/runner"
)

// corosyncFixtures returns the corpus of real tool outputs, crm/testdata/corpus
// (provenance and licences in its README).
func corosyncFixtures(t *testing.T) string {
	t.Helper()
	return crmtest.Corpus(t)
}

// corosyncTestCollector adapts a Collector to prometheus.Collector for testutil.
type corosyncTestCollector struct {
	c   Collector
	err error
}

func (u *corosyncTestCollector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(u, ch)
}

func (u *corosyncTestCollector) Collect(ch chan<- prometheus.Metric) {
	u.err = u.c.Update(context.Background(), ch)
}

// corosyncCase is one golden exposition: a snapshot built from fixture files.
type corosyncCase struct {
	name   string
	status func(t *testing.T, fx string) *corosync.Status
}

func readCorosyncFixture(t *testing.T, fx, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fx, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corosyncCases has one case per cfgtool, quorumtool and cman fixture file,
// and whole snapshots of the live recordings.
func corosyncCases(t *testing.T) []corosyncCase {
	fx := corosyncFixtures(t)
	var cases []corosyncCase
	list := func(dir string) []string {
		entries, err := os.ReadDir(filepath.Join(fx, dir))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	for _, name := range list("corosync-cfgtool") {
		rel := "corosync-cfgtool/" + name
		cases = append(cases, corosyncCase{"cfgtool_" + strings.TrimSuffix(name, ".txt"), func(t *testing.T, fx string) *corosync.Status {
			r, err := corosync.ParseCfgtool(readCorosyncFixture(t, fx, rel))
			if err != nil {
				t.Fatal(err)
			}
			return &corosync.Status{Stack: corosync.StackCorosync, Transport: r.Transport, LocalNodeID: r.LocalNodeID, Rings: r}
		}})
	}
	for _, name := range list("corosync-quorumtool") {
		rel := "corosync-quorumtool/" + name
		cases = append(cases, corosyncCase{"quorumtool_" + strings.TrimSuffix(name, ".txt"), func(t *testing.T, fx string) *corosync.Status {
			q, err := corosync.ParseQuorumtool(readCorosyncFixture(t, fx, rel))
			if err != nil {
				t.Fatal(err)
			}
			return &corosync.Status{Stack: corosync.StackCorosync, LocalNodeID: q.NodeID, Quorum: q}
		}})
	}
	for _, name := range list("cman") {
		rel := "cman/" + name
		cases = append(cases, corosyncCase{"cman_" + strings.TrimSuffix(name, ".txt"), func(t *testing.T, fx string) *corosync.Status {
			return corosyncCmanSnapshot(t, readCorosyncFixture(t, fx, rel))
		}})
	}
	for _, scenario := range []string{"01-healthy/pgdb2", "05-primary-postgres-killed-failover/pgdb1"} {
		dir := "live-pcmk-2.1.5-pgsql-4.12-pg15/" + scenario
		cases = append(cases, corosyncCase{"live_" + strings.ReplaceAll(scenario, "/", "_"), func(t *testing.T, fx string) *corosync.Status {
			r, err := corosync.ParseCfgtool(readCorosyncFixture(t, fx, dir+"/corosync-cfgtool-s.txt"))
			if err != nil {
				t.Fatal(err)
			}
			q, err := corosync.ParseQuorumtool(readCorosyncFixture(t, fx, dir+"/corosync-quorumtool-sp.txt"))
			if err != nil {
				t.Fatal(err)
			}
			return &corosync.Status{Stack: corosync.StackCorosync, Transport: r.Transport, LocalNodeID: r.LocalNodeID, Rings: r, Quorum: q}
		}})
	}
	return cases
}

// corosyncCmanSnapshot builds a CMAN snapshot from a cman fixture: cman_tool status
// with the pcs "---Votes---" block of nodes -F id,type,votes,name lines, or a
// cman_tool nodes table alone. The quorum view is built as Source builds it.
func corosyncCmanSnapshot(t *testing.T, in []byte) *corosync.Status {
	status, votes, ok := bytes.Cut(in, []byte("---Votes---"))
	if !ok {
		nodes, err := corosync.ParseCmanNodes(in)
		if err != nil {
			t.Fatal(err)
		}
		return &corosync.Status{Stack: corosync.StackCman, Cman: &corosync.Cman{Status: &corosync.CmanStatus{}, Nodes: nodes}}
	}
	runner := corosyncFakeCmanRunner{"status": status, "nodes": votes,
		"-s": readCorosyncFixture(t, corosyncFixtures(t), "corosync-cfgtool/corosync-2.3-fedora19_cfgtool-s_1ring-ok_auto-nodeid.txt")}
	st, err := (&corosync.Source{Runner: runner, Stack: corosync.StackCman}).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// corosyncFakeCmanRunner answers cman_tool and corosync-cfgtool by their first
// argument.
type corosyncFakeCmanRunner map[string][]byte

func (f corosyncFakeCmanRunner) Run(_ context.Context, c runner.Command) (runner.Result, error) {
	if len(c.Args) > 0 {
		if out, ok := f[c.Args[0]]; ok {
			return runner.Result{Stdout: out}, nil
		}
	}
	return runner.Result{ExitCode: -1}, errors.New("unexpected command " + c.String())
}

func TestCorosyncCollectorGolden(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 17, 22, 7, 0, time.UTC)
	for _, tc := range corosyncCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.status(t, corosyncFixtures(t))
			r := NewRefresher("corosync", time.Minute, time.Second, func(context.Context) (*corosync.Status, error) { return st, nil }, log.NewNopLogger())
			r.now = func() time.Time { return t0 }
			r.RefreshOnce(context.Background())
			c := NewCorosyncCollector(r, time.Minute, log.NewNopLogger()).(*corosyncCollector)
			c.now = func() time.Time { return t0.Add(5 * time.Second) }
			checkCorosyncGolden(t, &corosyncTestCollector{c: c}, tc.name)
		})
	}
}

// TestCorosyncCollectorFailures checks the failure paths: no snapshot yet (a
// missing binary) and a stale snapshot.
func TestCorosyncCollectorFailures(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 17, 22, 7, 0, time.UTC)
	missing := &corosync.Error{Tool: "/usr/sbin/corosync-cfgtool", Kind: corosync.ErrMissingBinary, Detail: "no such file or directory"}
	fail := true
	r := NewRefresher("corosync", time.Minute, time.Second, func(context.Context) (*corosync.Status, error) {
		if fail {
			return nil, missing
		}
		return &corosync.Status{Stack: corosync.StackCorosync, Quorum: &corosync.Quorum{Quorate: new(true)}}, nil
	}, log.NewNopLogger())
	r.now = func() time.Time { return t0 }
	r.RefreshOnce(context.Background())
	c := NewCorosyncCollector(r, time.Minute, log.NewNopLogger()).(*corosyncCollector)
	c.now = func() time.Time { return t0 }
	u := &corosyncTestCollector{c: c}
	checkCorosyncGolden(t, u, "failure_missing_binary")
	if !errors.Is(u.err, corosync.ErrMissingBinary) || !strings.Contains(u.err.Error(), "corosync-cfgtool: binary is missing") {
		t.Errorf("missing binary: got %v", u.err)
	}

	fail = false
	r.RefreshOnce(context.Background())
	fail = true
	r.now = func() time.Time { return t0.Add(2 * time.Minute) }
	r.RefreshOnce(context.Background())
	c.now = func() time.Time { return t0.Add(2 * time.Minute) }
	checkCorosyncGolden(t, u, "failure_stale")
	if !errors.Is(u.err, ErrStale) {
		t.Errorf("stale: got %v, want ErrStale", u.err)
	}
}

// checkCorosyncGolden compares the collector's exposition with
// testdata/corosync/<name>.prom (go test -update rewrites it) and lints it.
func checkCorosyncGolden(t *testing.T, u *corosyncTestCollector, name string) {
	t.Helper()
	got := exposition(t, u)
	want := golden(t, filepath.Join("testdata", "corosync", name+".prom"), got)
	if err := testutil.CollectAndCompare(u, bytes.NewReader(want)); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
