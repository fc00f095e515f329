package nagios

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/pg"
)

// loadPG decodes one of the collector's PostgreSQL snapshot fixtures, so
// that the check and the metrics are tested on the same data.
func loadPG(t *testing.T, path string) *pg.Snapshot {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Comment string `json:"_comment"`
		pg.Snapshot
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fx); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	fx.Snapshot.Derive()
	return &fx.Snapshot
}

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
		s := loadPG(t, f)
		o := DefaultPostgresOptions()
		o.PacemakerPromoted, o.PacemakerKnown = !s.InRecovery, true
		r := CheckPostgres(s, o)
		compareGolden(t, "postgres-"+name, render(r))
		if want, ok := states[name]; ok && r.State() != want {
			t.Errorf("%s: %s, want %s\n%s", name, r.State(), want, render(r))
		}
	}
	// Pacemaker says unpromoted while PostgreSQL runs as a primary.
	s := loadPG(t, filepath.Join(crmtest.ModuleRoot(t), "collector", "testdata", "postgres", "primary-healthy-pg15.json"))
	o := DefaultPostgresOptions()
	o.PacemakerKnown = true
	if r := CheckPostgres(s, o); r.State() != Critical || !strings.Contains(render(r), "role mismatch") {
		t.Errorf("mismatch not CRITICAL:\n%s", render(r))
	}
}
