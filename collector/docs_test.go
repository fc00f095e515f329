package collector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// TestMetricsDocumented: every metric name in any golden exposition file is
// documented in docs/metrics.md.
func TestMetricsDocumented(t *testing.T) {
	root := crmtest.ModuleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := crmtest.ExportedSeries(t)
	for name := range names {
		if strings.HasPrefix(name, "pgha_") && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("%s is exported but not documented in docs/metrics.md", name)
		}
	}
	if len(names) < 40 {
		t.Errorf("only %d metric names found", len(names))
	}
}
