package nagios

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/crmtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func render(r Result) string {
	var b strings.Builder
	code := r.Render(&b, 1)
	return fmt.Sprintf("exit %d\n%s", code, b.String())
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".txt")
	if *update {
		_ = os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./nagios -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// labOptions: the tutorial's cluster runs without fencing; every other
// default stays.
func labOptions() ClusterOptions {
	o := DefaultClusterOptions()
	o.StonithDisabled = OK
	return o
}

type scenario struct {
	name, mon, cib string
}

func scenarios(t *testing.T) []scenario {
	var out []scenario
	for _, mon := range crmtest.Glob(t, filepath.Join(crmtest.Generated(t), "*", "crm_mon.xml")) {
		dir := filepath.Dir(mon)
		if filepath.Base(dir) == "large-32n-500r" {
			continue
		}
		out = append(out, scenario{"generated-" + filepath.Base(dir), filepath.Join(dir, "crm_mon.xml"), filepath.Join(dir, "cib.xml")})
	}
	live := filepath.Join(crmtest.Corpus(t), "live-pcmk-2.1.5-pgsql-4.12-pg15")
	for _, dir := range crmtest.Glob(t, filepath.Join(live, "0*", "pgdb1")) {
		out = append(out, scenario{"live-" + filepath.Base(filepath.Dir(dir)), filepath.Join(dir, "crm_mon.xml"), ""})
	}
	return out
}

func load(t *testing.T, sc scenario) *crm.Snapshot {
	t.Helper()
	snap, err := (&crm.Source{MonFile: sc.mon, CIBFile: sc.cib, Location: time.UTC}).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestScenarioGolden: stdout and exit code of cluster and replication for
// every scenario fixture.
func TestScenarioGolden(t *testing.T) {
	for _, sc := range scenarios(t) {
		snap := load(t, sc)
		compareGolden(t, "cluster-"+sc.name, render(CheckCluster(snap, labOptions())))
		compareGolden(t, "replication-"+sc.name, render(CheckReplication(snap, DefaultReplicationOptions())))
	}
}

// TestScenarioStates pins the documented state of each scenario.
func TestScenarioStates(t *testing.T) {
	want := map[string][2]State{ // cluster, replication
		"generated-healthy":                           {OK, OK},
		"generated-node-standby":                      {Warning, Warning},
		"generated-maintenance-mode":                  {Warning, OK},
		"generated-no-quorum":                         {Critical, Critical},
		"generated-cli-ban":                           {Warning, Warning},
		"generated-failcount-at-threshold":            {Critical, OK},
		"generated-primary-monitor-failed":            {Critical, Critical}, // the failed primary is no primary (crm.Status.Primaries)
		"generated-primary-node-lost-failover":        {Critical, Warning},  // 2 of 3 online: at minimum quorum
		"generated-sync-standby-node-lost":            {Critical, Warning},
		"live-01-healthy":                             {OK, OK},
		"live-03-sync-standby-node-standby":           {Warning, Warning},
		"live-05-primary-postgres-killed-failover":    {Critical, Warning},
		"live-06-old-primary-start-failed-pgsql-lock": {Critical, Warning},
	}
	seen := 0
	for _, sc := range scenarios(t) {
		w, ok := want[sc.name]
		if !ok {
			t.Errorf("no expected states for %s", sc.name)
			continue
		}
		seen++
		snap := load(t, sc)
		if got := CheckCluster(snap, labOptions()); got.State() != w[0] {
			t.Errorf("%s: cluster %s, want %s\n%s", sc.name, got.State(), w[0], render(got))
		}
		if got := CheckReplication(snap, DefaultReplicationOptions()); got.State() != w[1] {
			t.Errorf("%s: replication %s, want %s\n%s", sc.name, got.State(), w[1], render(got))
		}
	}
	if seen != len(want) {
		t.Errorf("%d scenarios checked, %d expected", seen, len(want))
	}
}

// TestSyncStandbyLost: the moment the sync standby is gone and no other
// standby has been made sync yet is CRITICAL on replication.
func TestSyncStandbyLost(t *testing.T) {
	snap := load(t, scenarios(t)[0])
	for _, sc := range scenarios(t) {
		if sc.name == "generated-healthy" {
			snap = load(t, sc)
		}
	}
	for i, na := range snap.Status.NodeAttributes {
		if na.Node != "pgdb2" {
			continue
		}
		for j, a := range na.Attributes {
			switch a.Name {
			case "postgresql-status":
				snap.Status.NodeAttributes[i].Attributes[j].Value = "HS:alone"
			case "postgresql-data-status":
				snap.Status.NodeAttributes[i].Attributes[j].Value = "DISCONNECT"
			case "master-postgresql":
				snap.Status.NodeAttributes[i].Attributes[j].Value = "-INFINITY"
			}
		}
	}
	r := CheckReplication(snap, DefaultReplicationOptions())
	out := render(r)
	if r.State() != Critical || !strings.Contains(out, "no HS:sync standby") || !strings.Contains(out, "no failover candidate") {
		t.Errorf("got\n%s", out)
	}
	if r := CheckReplication(snap, ReplicationOptions{SyncMode: false}); strings.Contains(render(r), "no HS:sync") {
		t.Error("async mode must not require HS:sync")
	}
}

func TestDefaultsFlagStonith(t *testing.T) {
	for _, sc := range scenarios(t) {
		if sc.name == "generated-healthy" {
			r := CheckCluster(load(t, sc), DefaultClusterOptions())
			if r.State() != Warning || !strings.Contains(render(r), "stonith-enabled=false") {
				t.Errorf("default options must warn about disabled fencing:\n%s", render(r))
			}
		}
	}
}

// TestCorosyncGolden: the corosync check over every cfgtool, quorumtool and
// cman fixture.
func TestCorosyncGolden(t *testing.T) {
	corpus := crmtest.Corpus(t)
	var names []string
	results := map[string]Result{}
	for _, f := range crmtest.Glob(t, filepath.Join(corpus, "corosync-cfgtool", "*.txt")) {
		data, _ := os.ReadFile(f)
		rings, err := corosync.ParseCfgtool(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n := "corosync-" + strings.TrimSuffix(filepath.Base(f), ".txt")
		names, results[n] = append(names, n), CheckCorosync(&corosync.Status{Stack: "corosync", Rings: rings}, CorosyncOptions{})
	}
	for _, f := range crmtest.Glob(t, filepath.Join(corpus, "corosync-quorumtool", "*.txt")) {
		data, _ := os.ReadFile(f)
		q, err := corosync.ParseQuorumtool(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n := "corosync-" + strings.TrimSuffix(filepath.Base(f), ".txt")
		names, results[n] = append(names, n), CheckCorosync(&corosync.Status{Stack: "corosync", Quorum: q}, CorosyncOptions{})
	}
	for _, f := range crmtest.Glob(t, filepath.Join(corpus, "cman", "cman_tool-status*.txt")) {
		data, _ := os.ReadFile(f)
		cs, err := corosync.ParseCmanStatus(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var nodes []corosync.CmanNode
		if _, votes, ok := strings.Cut(string(data), "---Votes---"); ok { // pcs appended cman_tool nodes -F id,type,votes,name
			if nodes, err = corosync.ParseCmanNodes([]byte(votes), "id", "type", "votes", "name"); err != nil {
				t.Fatal(err)
			}
		}
		n := "corosync-" + strings.TrimSuffix(filepath.Base(f), ".txt")
		names, results[n] = append(names, n), CheckCorosync(&corosync.Status{Stack: "cman", Cman: &corosync.Cman{Status: cs, Nodes: nodes}}, CorosyncOptions{})
	}
	live := filepath.Join(corpus, "live-pcmk-2.1.5-pgsql-4.12-pg15")
	for _, dir := range crmtest.Glob(t, filepath.Join(live, "0*", "pgdb*")) {
		cfg, err1 := os.ReadFile(filepath.Join(dir, "corosync-cfgtool-s.txt"))
		qt, err2 := os.ReadFile(filepath.Join(dir, "corosync-quorumtool-sp.txt"))
		if err1 != nil || err2 != nil {
			continue
		}
		rings, err := corosync.ParseCfgtool(cfg)
		if err != nil {
			t.Fatal(err)
		}
		q, err := corosync.ParseQuorumtool(qt)
		if err != nil {
			t.Fatal(err)
		}
		n := "corosync-live-" + filepath.Base(filepath.Dir(dir)) + "-" + filepath.Base(dir)
		names, results[n] = append(names, n), CheckCorosync(&corosync.Status{Stack: "corosync", Rings: rings, Quorum: q}, CorosyncOptions{})
	}
	sort.Strings(names)
	for _, n := range names {
		compareGolden(t, n, render(results[n]))
	}
	if len(names) < 15 {
		t.Errorf("only %d corosync fixtures", len(names))
	}
	checks := map[string]State{
		"corosync-corosync-2.x_rrp_cfgtool-s_ring0-FAULTY_hand-made":      Critical,
		"corosync-corosync-3.0.3_knet_cfgtool-s_2links_peer-disconnected": Critical,
		"corosync-corosync-2.3_rhel7.0_quorumtool-p-s_inquorate":          Critical,
		"corosync-corosync-2.3_rhel7.0_quorumtool-p-s_quorate":            OK,
		"corosync-cman_tool-status_plus-nodes-F_rhel6.6_inquorate":        Critical,
		"corosync-cman_tool-status_plus-nodes-F_rhel6.6_quorate":          OK,
		"corosync-live-01-healthy-pgdb2":                                  OK,
	}
	for n, want := range checks {
		r, ok := results[n]
		if !ok {
			t.Errorf("missing %s", n)
			continue
		}
		if r.State() != want {
			t.Errorf("%s: %s, want %s\n%s", n, r.State(), want, render(r))
		}
	}
}

// TestEveryCrmMonFixture: the cluster check over every crm_mon fixture the
// parser and collector tests use (all versions and roots); error and
// start-up states go through the same classification as the command.
func TestEveryCrmMonFixture(t *testing.T) {
	fixtures := crmtest.CrmMonFixtures(t)
	names := make([]string, 0, len(fixtures))
	for n := range fixtures {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		snap, err := (&crm.Source{MonFile: fixtures[name], Location: time.UTC}).Fetch(context.Background())
		var got string
		if err != nil {
			got = "source error: " + err.Error() + "\n"
		} else {
			got = render(CheckCluster(snap, DefaultClusterOptions()))
		}
		file := "all/" + strings.ReplaceAll(strings.TrimSuffix(name, ".xml"), "/", "__")
		compareGolden(t, file, got)
	}
}
