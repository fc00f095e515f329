package crm

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

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
