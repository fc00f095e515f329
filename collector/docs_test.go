package collector

import (
	"bufio"
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
	files := crmtest.Glob(t, filepath.Join(root, "collector", "testdata", "*", "*.prom"),
		filepath.Join(root, "cmd", "pgha_exporter", "testdata", "*.prom"))
	seen := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 3 && fields[0] == "#" && fields[1] == "TYPE" && strings.HasPrefix(fields[2], "pgha_") && !seen[fields[2]] {
				seen[fields[2]] = true
				if !strings.Contains(string(doc), "`"+fields[2]+"`") {
					t.Errorf("%s (in %s) is not documented in docs/metrics.md", fields[2], f)
				}
			}
		}
		fh.Close()
	}
	if len(seen) < 40 {
		t.Errorf("only %d metric names found", len(seen))
	}
}
