package crm

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// TestLastPromotion reads the promote operations the real crm_mon printed
// for the generated fixtures (operation_history, last-rc-change in UTC).
func TestLastPromotion(t *testing.T) {
	for _, c := range []struct {
		rel, node, at string
	}{
		{"healthy/crm_mon.xml", "pgdb1", "2026-11-25T11:21:49Z"},
		{"healthy/crm_mon.legacy.xml", "pgdb1", "2026-11-25T11:21:49Z"},
		{"primary-node-lost-failover/crm_mon.xml", "pgdb2", "2026-11-25T11:55:00Z"},
	} {
		snap, err := (&Source{MonFile: filepath.Join(crmtest.Generated(t), c.rel), Location: time.UTC}).Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p, ok := snap.Status.LastPromotion("mspostgresql")
		if !ok || p.Node != c.node || p.At.Format(time.RFC3339) != c.at {
			t.Errorf("%s: %+v %v, want %s at %s", c.rel, p, ok, c.node, c.at)
		}
		if _, ok := snap.Status.LastPromotion("no-such-clone"); ok {
			t.Errorf("%s: a promotion for an unknown clone", c.rel)
		}
		// Without the operation history (offline nodes, or a failed
		// promote): none.
		st := *snap.Status
		st.History = nil
		if _, ok := st.LastPromotion("mspostgresql"); ok {
			t.Errorf("%s: a promotion without history", c.rel)
		}
	}
}

// TestQuorumMargin: one vote per member node, from the generated fixtures.
func TestQuorumMargin(t *testing.T) {
	for rel, want := range map[string][2]int{
		"healthy/crm_mon.xml":                    {0, 1},
		"sync-standby-node-lost/crm_mon.xml":     {1, 0},
		"primary-node-lost-failover/crm_mon.xml": {1, 0},
		"node-standby/crm_mon.xml":               {0, 1}, // standby is no loss
	} {
		snap, err := (&Source{MonFile: filepath.Join(crmtest.Generated(t), rel), Location: time.UTC}).Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if lost, margin := snap.Status.QuorumMargin(); lost != want[0] || margin != want[1] {
			t.Errorf("%s: lost %d margin %d, want %v", rel, lost, margin, want)
		}
	}
}
