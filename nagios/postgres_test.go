package nagios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/pg"
)

func TestPostgresGolden(t *testing.T) {
	files := crmtest.Glob(t, filepath.Join(crmtest.ModuleRoot(t), "collector", "testdata", "postgres", "*.json"))
	states := map[string]State{
		"primary-healthy-pg15":   OK,
		"primary-sync-lost-pg15": Critical,
		"standby-healthy-pg15":   OK,
		"standby-dead-link-pg15": Critical,
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		s := loadSnapshot(t, f)
		o := DefaultPostgresOptions()
		o.PacemakerPromoted, o.PacemakerKnown = !s.InRecovery, true
		r := CheckPostgres(s, o)
		compareGolden(t, "postgres-"+name, render(r))
		if want, ok := states[name]; ok && r.State() != want {
			t.Errorf("%s: %s, want %s\n%s", name, r.State(), want, render(r))
		}
	}
	// Pacemaker says unpromoted while PostgreSQL runs as a primary.
	s := loadSnapshot(t, filepath.Join(crmtest.ModuleRoot(t), "collector", "testdata", "postgres", "primary-healthy-pg15.json"))
	o := DefaultPostgresOptions()
	o.PacemakerKnown = true
	if r := CheckPostgres(s, o); r.State() != Critical || !strings.Contains(render(r), "role mismatch") {
		t.Errorf("mismatch not CRITICAL:\n%s", render(r))
	}
}

func loadSnapshot(t *testing.T, path string) *pg.Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pg.DecodeSnapshot(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}
