package collector

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// snapshotCollector renders one snapshot the way PacemakerCollector does.
type snapshotCollector struct {
	d    *pacemakerDescs
	snap *crm.Snapshot
	skip map[*prometheus.Desc]bool
}

func (s snapshotCollector) Describe(chan<- *prometheus.Desc) {}
func (s snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range pacemakerMetrics(s.d, s.snap) {
		if !s.skip[m.Desc()] {
			ch <- m
		}
	}
}

func loadSnapshot(t *testing.T, monFile, cibFile string) *crm.Snapshot {
	t.Helper()
	src := &crm.Source{MonFile: monFile, CIBFile: cibFile, Location: time.UTC, LocalNode: "pgdb1"}
	snap, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", monFile, err)
	}
	return snap
}

// TestPacemakerGolden renders every usable crm_mon fixture and compares the
// exposition with collector/testdata/pacemaker/*.prom (-update rewrites).
func TestPacemakerGolden(t *testing.T) {
	fixtures := crmtest.CrmMonFixtures(t)
	names := make([]string, 0, len(fixtures))
	for n := range fixtures {
		names = append(names, n)
	}
	sort.Strings(names)
	d := newPacemakerDescs()
	rendered := 0
	for _, name := range names {
		path := fixtures[name]
		data, _ := os.ReadFile(path)
		st, err := crm.Parse(data, crm.ParseOptions{Location: time.UTC})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := crm.Classify(st); err != nil {
			continue // error states are not snapshots; covered in crm
		}
		t.Run(name, func(t *testing.T) {
			cib := ""
			if c := filepath.Join(filepath.Dir(path), "cib.xml"); strings.HasPrefix(name, "generated/") && exists(c) {
				cib = c
			}
			c := snapshotCollector{d: d, snap: loadSnapshot(t, path, cib)}
			got := exposition(t, c)
			file := filepath.Join("testdata", "pacemaker", strings.ReplaceAll(strings.TrimSuffix(name, ".xml"), "/", "__")+".prom")
			want := golden(t, file, got)
			if err := testutil.CollectAndCompare(c, bytes.NewReader(want)); err != nil {
				t.Errorf("%s: %v", file, err)
			}
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
			rendered++
		})
	}
	if rendered < 50 {
		t.Errorf("only %d fixtures rendered", rendered)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestPromtoolCheckMetrics runs promtool once over every golden file: their
// families are merged into one exposition, each series labelled with its
// golden file, so one process lints them all.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool missing under CI (install Debian's prometheus package)")
		}
		t.Skip("promtool not installed")
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.prom"))
	if len(files) < 50 {
		t.Fatalf("only %d golden files", len(files))
	}
	merged := map[string]*dto.MetricFamily{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, fam := range fams {
			for _, m := range fam.Metric {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String("golden"), Value: proto.String(filepath.ToSlash(f))})
			}
			if have, ok := merged[name]; ok {
				if have.GetHelp() != fam.GetHelp() || have.GetType() != fam.GetType() {
					t.Errorf("%s: %s has HELP/TYPE %q/%s, elsewhere %q/%s", f, name, fam.GetHelp(), fam.GetType(), have.GetHelp(), have.GetType())
				}
				have.Metric = append(have.Metric, fam.Metric...)
				continue
			}
			merged[name] = fam
		}
	}
	var all bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(merged)) {
		if _, err := expfmt.MetricFamilyToText(&all, merged[name]); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &all
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics over %d golden files: %v\n%s", len(files), err, out)
	}
}

// TestRootsGiveSameMetrics: the same cluster rendered by --as-xml and by
// --output-as=xml gives the same metrics (crm_mon_info, which names the root,
// aside).
func TestRootsGiveSameMetrics(t *testing.T) {
	d := newPacemakerDescs()
	skip := map[*prometheus.Desc]bool{d.monInfo: true}
	dirs := crmtest.Glob(t, filepath.Join(crmtest.Corpus(t), "live-*", "0*", "pgdb*"))
	gen, _ := filepath.Glob(filepath.Join(crmtest.Generated(t), "*"))
	pairs := 0
	for _, dir := range append(dirs, gen...) {
		legacy, api := filepath.Join(dir, "crm_mon.legacy.xml"), filepath.Join(dir, "crm_mon.xml")
		if !exists(legacy) || !exists(api) {
			continue
		}
		a := exposition(t, snapshotCollector{d: d, snap: loadSnapshot(t, api, ""), skip: skip})
		b := exposition(t, snapshotCollector{d: d, snap: loadSnapshot(t, legacy, ""), skip: skip})
		if diff := cmp.Diff(string(a), string(b)); diff != "" {
			t.Errorf("%s: metrics differ between roots (-api +legacy):\n%s", dir, diff)
		}
		pairs++
	}
	if pairs < 12 {
		t.Errorf("only %d pairs compared", pairs)
	}
}

func TestPacemakerContract(t *testing.T) {
	live := filepath.Join(crmtest.Corpus(t), "live-pcmk-2.1.5-pgsql-4.12-pg15")
	snap := loadSnapshot(t, filepath.Join(live, "05-primary-postgres-killed-failover/pgdb1/crm_mon.xml"),
		filepath.Join(live, "01-healthy/pgdb1/cibadmin-Q.xml"))
	c := snapshotCollector{d: newPacemakerDescs(), snap: snap}
	want := `
# HELP pgha_pacemaker_clone_instances Instances of a clone by role (promoted, unpromoted, started, stopped always present).
# TYPE pgha_pacemaker_clone_instances gauge
pgha_pacemaker_clone_instances{clone="mspostgresql",role="promoted"} 1
pgha_pacemaker_clone_instances{clone="mspostgresql",role="started"} 0
pgha_pacemaker_clone_instances{clone="mspostgresql",role="stopped"} 1
pgha_pacemaker_clone_instances{clone="mspostgresql",role="unpromoted"} 1
# HELP pgha_pacemaker_resource_role Role of each resource instance (1 per instance and node; stopped primitives outside clones have node="").
# TYPE pgha_pacemaker_resource_role gauge
pgha_pacemaker_resource_role{node="pgdb2",resource="postgresql",role="unpromoted"} 1
pgha_pacemaker_resource_role{node="pgdb3",resource="postgresql",role="promoted"} 1
pgha_pacemaker_resource_role{node="pgdb3",resource="vip-master",role="started"} 1
pgha_pacemaker_resource_role{node="pgdb3",resource="vip-rep",role="started"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "pgha_pacemaker_clone_instances", "pgha_pacemaker_resource_role"); err != nil {
		t.Error(err)
	}
}

// TestPacemakerClusterInfo: the CIB's cluster-name property is the
// cluster_info series; without a CIB there is none (unknown, not empty).
func TestPacemakerClusterInfo(t *testing.T) {
	dir := filepath.Join(crmtest.ModuleRoot(t), "crm", "testdata", "generated")
	for _, tc := range []struct{ fixture, cib, want string }{
		{"healthy", "cib.xml", "pgha_pacemaker_cluster_info{cluster_name=\"pgcluster\"} 1\n"},
		{"large-32n-500r", "cib.xml", "pgha_pacemaker_cluster_info{cluster_name=\"bigcluster\"} 1\n"},
		{"healthy", "", ""},
	} {
		cib := ""
		if tc.cib != "" {
			cib = filepath.Join(dir, tc.fixture, tc.cib)
		}
		c := snapshotCollector{d: newPacemakerDescs(), snap: loadSnapshot(t, filepath.Join(dir, tc.fixture, "crm_mon.xml"), cib)}
		want := ""
		if tc.want != "" {
			want = "# HELP pgha_pacemaker_cluster_info The cluster's identity: the CIB's cluster-name property (absent when unset or when the CIB was not read).\n# TYPE pgha_pacemaker_cluster_info gauge\n" + tc.want
		}
		if err := testutil.CollectAndCompare(c, strings.NewReader(want), "pgha_pacemaker_cluster_info"); err != nil {
			t.Errorf("%s (CIB %q): %v", tc.fixture, tc.cib, err)
		}
	}
}

// TestPacemakerCollectorStaleness: the collector serves the refresher's
// snapshot, and fails once it is older than max-age.
func TestPacemakerCollectorStaleness(t *testing.T) {
	live := filepath.Join(crmtest.Corpus(t), "live-pcmk-2.1.5-pgsql-4.12-pg15/01-healthy/pgdb1/crm_mon.xml")
	fail := false
	src := &crm.Source{MonFile: live}
	fetch := func(ctx context.Context) (*crm.Snapshot, error) {
		if fail {
			return nil, errors.New("crm_mon hung")
		}
		return src.Fetch(ctx)
	}
	r := NewRefresher("crm_mon", time.Hour, time.Second, fetch, log.NewNopLogger())
	c := NewPacemakerCollector(r, 30*time.Second)
	if err := c.Update(context.Background(), make(chan prometheus.Metric, 10000)); err == nil {
		t.Error("no snapshot yet must fail")
	}
	r.RefreshOnce(context.Background())
	now := time.Now()
	c.now = func() time.Time { return now }
	ch := make(chan prometheus.Metric, 10000)
	if err := c.Update(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	if len(ch) < 50 {
		t.Errorf("only %d metrics", len(ch))
	}
	fail = true
	r.RefreshOnce(context.Background())
	c.now = func() time.Time { return now.Add(31 * time.Second) }
	ch = make(chan prometheus.Metric, 10000)
	err := c.Update(context.Background(), ch)
	if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "crm_mon hung") {
		t.Errorf("err = %v", err)
	}
	close(ch)
	for m := range ch {
		if name := m.Desc().String(); !strings.Contains(name, "snapshot_age") && !strings.Contains(name, "refresh_") && !strings.Contains(name, "crm_mon_stage") {
			t.Errorf("stale snapshot still served: %s", name)
		}
	}
}
