package crm

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

func TestStale(t *testing.T) {
	for _, tc := range []struct {
		age    float64
		maxAge time.Duration
		want   bool
	}{
		{0, 30 * time.Second, false},
		{30, 30 * time.Second, false},
		{30.001, 30 * time.Second, true},
		{1.5, time.Second, true},
		{0.5, time.Second, false},
		{1e9, 0, false}, // 0: no limit
		{1e9, -time.Second, false},
		{1e300, 30 * time.Second, true}, // would overflow a time.Duration
		{1e300, 0, false},               // no limit: any real age
		{math.Inf(1), 0, true},
		{math.NaN(), time.Hour, true},
		{-1, time.Hour, true},
	} {
		if got := Stale(tc.age, tc.maxAge); got != tc.want {
			t.Errorf("Stale(%v, %s) = %v, want %v", tc.age, tc.maxAge, got, tc.want)
		}
	}
}

func TestPrimaries(t *testing.T) {
	load := func(rel string) *Status {
		t.Helper()
		snap, err := (&Source{MonFile: filepath.Join(crmtest.Generated(t), rel), Location: time.UTC}).Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return snap.Status
	}
	for rel, want := range map[string]string{
		"healthy/crm_mon.xml":                       "pgdb1",
		"primary-node-lost-failover/crm_mon.xml":    "pgdb2",
		"primary-monitor-failed/crm_mon.xml":        "", // promoted but failed: no primary
		"primary-monitor-failed/crm_mon.legacy.xml": "",
	} {
		st := load(rel)
		if got := strings.Join(st.Primaries("mspostgresql"), ","); got != want {
			t.Errorf("%s: primaries %q, want %q", rel, got, want)
		}
		if c := st.CloneOf("postgresql"); c != "mspostgresql" {
			t.Errorf("%s: CloneOf(postgresql) = %q", rel, c)
		}
	}
	// The same snapshot with the primary's node unclean: no primary either.
	st := load("healthy/crm_mon.xml")
	for i := range st.Nodes {
		if st.Nodes[i].Name == "pgdb1" {
			st.Nodes[i].Unclean = new(true)
		}
	}
	if got := st.Primaries("mspostgresql"); len(got) != 0 {
		t.Errorf("unclean primary node still primary: %v", got)
	}
}
