package crm

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// TestPgsqlStandbys: the sync and async standbys the pgsql agent reports in
// the generated scenarios, as testdata/generated/README.md describes them.
func TestPgsqlStandbys(t *testing.T) {
	for scenario, want := range map[string][2]string{
		"healthy":                    {"pgdb2", "pgdb3"},
		"primary-node-lost-failover": {"pgdb3", ""}, // the remaining standby became sync
		"sync-standby-node-lost":     {"pgdb3", ""},
		"node-standby":               {"pgdb2", ""}, // pgdb3 STOP
		"cli-ban":                    {"pgdb2", ""}, // pgdb3 STOP
		"no-quorum":                  {"", ""},      // pgdb3 alone, STOP
	} {
		dir := filepath.Join(crmtest.Generated(t), scenario)
		snap, err := (&Source{MonFile: filepath.Join(dir, "crm_mon.xml"), CIBFile: filepath.Join(dir, "cib.xml"), Location: time.UTC}).Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sync, async := snap.PgsqlStandbys("postgresql")
		if got := [2]string{strings.Join(sync, ","), strings.Join(async, ",")}; got != want {
			t.Errorf("%s: sync %q async %q, want %q %q", scenario, got[0], got[1], want[0], want[1])
		}
	}
}
