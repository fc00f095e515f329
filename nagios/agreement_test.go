package nagios_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgha/pgha_exporter/collector"
	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/nagios"
)

// metricFacts collects the Pacemaker collector's view of a snapshot: promoted
// instances per promotable clone and HS:sync standbys per pgsql resource.
func metricFacts(t *testing.T, snap *crm.Snapshot) (promoted, sync map[string]float64, primaryNodes map[string][]string) {
	t.Helper()
	ctx := context.Background()
	ref := collector.NewRefresher("crm_mon", time.Hour, time.Minute, func(context.Context) (*crm.Snapshot, error) { return snap, nil }, log.NewNopLogger())
	ref.RefreshOnce(ctx)
	ch := make(chan prometheus.Metric, 1<<16)
	if err := collector.NewPacemakerCollector(ref, 0).Update(ctx, ch); err != nil {
		t.Fatalf("collector: %v", err)
	}
	close(ch)
	promoted, sync, primaryNodes = map[string]float64{}, map[string]float64{}, map[string][]string{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{}
		for _, l := range pb.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		desc := m.Desc().String()
		switch {
		case strings.Contains(desc, `fqName: "pgha_pacemaker_clone_instances"`) && labels["role"] == "promoted":
			if _, ok := promoted[labels["clone"]]; !ok {
				promoted[labels["clone"]] = 0 // promotable clones without a primary
			}
		case strings.Contains(desc, `fqName: "pgha_pacemaker_primary"`):
			promoted[labels["clone"]] += pb.GetGauge().GetValue()
			primaryNodes[labels["clone"]] = append(primaryNodes[labels["clone"]], labels["node"])
		case strings.Contains(desc, `fqName: "pgha_pgsql_status"`):
			if _, ok := sync[labels["resource"]]; !ok {
				sync[labels["resource"]] = 0
			}
			if labels["status"] == "HS:sync" {
				sync[labels["resource"]] += pb.GetGauge().GetValue()
			}
		}
	}
	return promoted, sync, primaryNodes
}

// checkFacts reads the same facts from the checks' perfdata.
func checkFacts(snap *crm.Snapshot) (promoted, sync map[string]float64) {
	promoted, sync = map[string]float64{}, map[string]float64{}
	for _, p := range nagios.CheckCluster(snap, nagios.DefaultClusterOptions()).Perf {
		if clone, ok := strings.CutPrefix(p.Label, "promoted_"); ok {
			promoted[clone] = p.Value
		}
	}
	for _, p := range nagios.CheckReplication(snap, nagios.DefaultReplicationOptions()).Perf {
		if rsc, ok := strings.CutSuffix(p.Label, "_sync_standbys"); ok {
			sync[rsc] = p.Value
		}
	}
	return promoted, sync
}

// TestMetricsAndChecksAgree: over every crm_mon fixture, the metrics and the
// checks count the same promoted instances per promotable clone and the same
// HS:sync standbys per pgsql resource.
func TestMetricsAndChecksAgree(t *testing.T) {
	fixtures := crmtest.CrmMonFixtures(t)
	names := make([]string, 0, len(fixtures))
	for n := range fixtures {
		names = append(names, n)
	}
	sort.Strings(names)
	compared, withSync, primariesCompared := 0, 0, 0
	for _, name := range names {
		snap, err := (&crm.Source{MonFile: fixtures[name], Location: time.UTC}).Fetch(context.Background())
		if err != nil {
			continue // error and start-up states carry no cluster facts
		}
		mp, ms, primaries := metricFacts(t, snap)
		cp, cs := checkFacts(snap)
		// The replication check's summary names the same primary as the
		// metrics for every pgsql resource in a clone.
		repl := nagios.CheckReplication(snap, nagios.DefaultReplicationOptions())
		for _, rsc := range snap.Status.PrimitivesByAgent(crm.AgentPgsql) {
			clone := snap.Status.CloneOf(rsc)
			if clone == "" {
				continue
			}
			want := "-"
			if p := primaries[clone]; len(p) > 0 {
				sort.Strings(p)
				want = strings.Join(p, ",")
			}
			found := false
			for _, c := range repl.Context {
				if pri, ok := strings.CutPrefix(strings.TrimPrefix(c, rsc+": "), "PRI "); ok {
					found = true
					if got, _, _ := strings.Cut(pri, ", sync"); got != want {
						t.Errorf("%s: %s primary: metrics %q, replication check %q", name, rsc, want, c)
					}
				}
			}
			if !found && len(cs) > 0 {
				t.Errorf("%s: %s: no replication summary line in %v", name, rsc, repl.Context)
			}
			primariesCompared++
		}
		// clone_instances covers every clone; "exactly one promoted" is
		// a fact of promotable clones only.
		for _, c := range snap.Status.Clones {
			if !c.Promotable {
				delete(mp, c.ID)
			}
		}
		if !equal(mp, cp) {
			t.Errorf("%s: promoted instances: metrics %v, check %v", name, mp, cp)
		}
		// The replication check only speaks of pgsql resources with
		// attributes; the metric family exists only where the agent wrote some.
		for rsc, v := range ms {
			if c, ok := cs[rsc]; !ok || c != v {
				t.Errorf("%s: %s HS:sync standbys: metrics %v, check %v (present %v)", name, rsc, v, c, ok)
			}
		}
		if len(ms) > 0 {
			withSync++
		}
		compared++
	}
	if compared < 60 || withSync < 20 || primariesCompared < 20 {
		t.Errorf("compared only %d fixtures (%d with pgsql attributes, %d primaries)", compared, withSync, primariesCompared)
	}
}

func equal(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
