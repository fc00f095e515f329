package scenarios

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm"
)

// The recordings themselves: every episode loads, starts from the reference
// state, and its grid is complete (each target that answered has a sample in
// the first and the last slot; a half-filled last slot would make the replay
// see series vanish at the end).
func TestRecordings(t *testing.T) {
	eps, err := Load(filepath.Join("..", "..", "alerts", "testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) == 0 {
		t.Fatal("no recording")
	}
	for _, ep := range eps {
		m := ep.Meta
		if want := "pgdb1=PRI pgdb2=HS:sync pgdb3=HS:async"; !strings.Contains(m.StartStatus, want) {
			t.Errorf("%s: started from %q, not %s", m.Slug, m.StartStatus, want)
		}
		if m.EndMS < 150000 || m.BaselineMS < 30000 {
			t.Errorf("%s: episode %d ms before to %d ms after the fault; want 30 s and 150 s", m.Slug, m.BaselineMS, m.EndMS)
		}
		grid := ep.Grid()
		last := len(grid) - 1
		up := map[string][]bool{} // instance -> scraped in the first, last slot
		for _, s := range ep.Series {
			if s.Name() != "up" {
				continue
			}
			v, ok := s.Slots(grid)
			up[s.Labels["instance"]] = []bool{ok[0] && v[0] == 1, ok[last] && v[last] == 1}
			// Scrapes jitter by some ms around the 5 s grid: a target's
			// first sample may fall just before the first slot.
			if s.T[0] > grid[0]+Step/2 || s.T[len(s.T)-1] < grid[last]-Step/2 {
				t.Errorf("%s: %s does not cover the first and the last slot (samples %d..%d ms, grid %d..%d)",
					m.Slug, Selector(s.Labels), s.T[0], s.T[len(s.T)-1], grid[0], grid[last])
			}
		}
		if len(up) != 3 {
			t.Errorf("%s: %d targets, want 3", m.Slug, len(up))
		}
		for _, s := range ep.Series {
			u := up[s.Labels["instance"]]
			if s.Name() == "up" || u == nil {
				continue
			}
			_, ok := s.Slots(grid)
			// A hole, not a series that ended (a pending role seen
			// during the previous recovery) or began later.
			if u[0] && !ok[0] && s.T[0] < grid[0] && s.T[len(s.T)-1] > grid[0] {
				t.Errorf("%s: %s missing from the first slot while its target answered", m.Slug, Selector(s.Labels))
			}
			if u[1] && !ok[last] && s.T[len(s.T)-1] > grid[last] && s.T[0] < grid[last] {
				t.Errorf("%s: %s missing from the last slot while its target answered", m.Slug, Selector(s.Labels))
			}
		}
		// A steady cluster at the fault: no promotion (the previous
		// recovery's switchback) within PromotionHold before it.
		fault := time.UnixMilli(m.FaultEpochMS)
		youngest, on := time.Duration(math.MaxInt64), ""
		for _, n := range ep.Nodes {
			st, err := crm.Parse(n.CrmMonXML, crm.ParseOptions{Location: time.UTC})
			if err != nil {
				continue // a node whose stack was down printed no view
			}
			for _, h := range st.History {
				for _, op := range h.Operations {
					// Successful promotes only, as run.sh and crm's LastPromotion count them.
					ok := op.Task == "promote" && op.RC != nil && *op.RC == 0
					if age := fault.Sub(op.LastRCChange); ok && age > 0 && age < youngest {
						youngest, on = age, h.Node
					}
				}
			}
		}
		if youngest < PromotionHold {
			t.Errorf("%s: promoted on %s %v before the fault (want %v or more)", m.Slug, on, youngest.Round(time.Second), PromotionHold)
		}
		c, ok := ep.FirstChange()
		if !ok || c.MS <= 0 || c.MS > m.EndMS {
			t.Errorf("%s: first metric change %+v, want one after the fault", m.Slug, c)
		}
	}
}

// TestFiredAlertsBefore: an alert firing at the fault is marked Before and
// still listed with its first sample after the fault; one that fires only
// after the fault, or fired and resolved long before it, is not.
func TestFiredAlertsBefore(t *testing.T) {
	ep := Episode{Alerts: []Series{
		{Labels: map[string]string{"alertname": "A", "alertstate": "firing"}, T: []int64{-10000, -5000, 0, 5000}},
		{Labels: map[string]string{"alertname": "B", "alertstate": "firing"}, T: []int64{2000, 7000}},
		{Labels: map[string]string{"alertname": "C", "alertstate": "firing"}, T: []int64{-30000, -25000, 40000}},
		{Labels: map[string]string{"alertname": "D", "alertstate": "pending"}, T: []int64{-5000, 1000}},
	}}
	got := map[string]Firing{}
	for _, f := range ep.FiredAlerts() {
		got[f.Labels["alertname"]] = f
	}
	if len(got) != 3 {
		t.Fatalf("fired %v, want A, B, C", got)
	}
	if f := got["A"]; !f.Before || f.First != 5000 {
		t.Errorf("A = %+v, want Before, first at 5000", f)
	}
	if f := got["B"]; f.Before || f.First != 2000 {
		t.Errorf("B = %+v, want not Before, first at 2000", f)
	}
	if f := got["C"]; f.Before || f.First != 40000 {
		t.Errorf("C = %+v, want not Before, first at 40000", f)
	}
}
