package nagios

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// TestEveryFindingHasARunbookCommand: every WARNING/CRITICAL line of every
// check golden (the generated and corpus fixtures, the recorded lab
// episodes, the PostgreSQL and corosync cases) carries a command, and every
// command of the hint table is the runbook's (docs/runbooks.md), with the
// node and resource names the runbook uses as examples.
func TestEveryFindingHasARunbookCommand(t *testing.T) {
	runbooks, err := os.ReadFile(filepath.Join(crmtest.ModuleRoot(t), "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hints {
		if strings.Contains(h.cmd, "|") {
			t.Errorf("%q: a | would start Nagios performance data", h.cmd)
		}
		pat := regexp.QuoteMeta(h.cmd)
		for _, p := range []string{"<node>", "<resource>"} {
			pat = strings.ReplaceAll(pat, p, `\S+`)
		}
		if !regexp.MustCompile(`(?m)^` + pat).Match(runbooks) {
			t.Errorf("%q is not a command of docs/runbooks.md", h.cmd)
		}
	}
	goldens, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	more, _ := filepath.Glob(filepath.Join("testdata", "*", "*.txt"))
	goldens = append(goldens, more...)
	if len(goldens) < 100 {
		t.Fatalf("only %d check goldens", len(goldens))
	}
	finding := regexp.MustCompile(`^\\_ \[(WARNING|CRITICAL)\] (.*)$`)
	lines := 0
	for _, g := range goldens {
		data, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			m := finding.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			lines++
			if !strings.Contains(m[2], " -- ") && !strings.Contains(m[2], "crm_resource --") {
				t.Errorf("%s: no command: %s", g, line)
			}
		}
	}
	t.Logf("%d findings in %d goldens", lines, len(goldens))
	// The names come from the finding.
	for text, want := range map[string]string{
		"highest fail count 1 (vip-rep on pgdb1)":          "crm_failcount -G -r vip-rep -N pgdb1",
		"node pgdb3 in standby":                            "crm_standby -N pgdb3 -G",
		"failed action postgresql monitor on pgdb2: error": "crm_resource --list-operations -r postgresql -N pgdb2",
		"postgresql banned from pgdb1: fail count 1 >= 1 (crm_resource --cleanup -r mspostgresql -N pgdb1)": "",
	} {
		if got := hintFor(text); got != want {
			t.Errorf("hintFor(%q) = %q, want %q", text, got, want)
		}
	}
}
