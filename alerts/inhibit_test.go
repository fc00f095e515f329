package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

// amtoolPath returns amtool's path (Debian package prometheus-alertmanager);
// without it the test is skipped, except under CI, where it fails.
func amtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("amtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("amtool not found under CI: %v", err)
		}
		t.Skip("amtool not found (Debian package prometheus-alertmanager); skipping")
	}
	return p
}

// readmeAlertmanagerConfig returns the README's YAML block that holds
// inhibit_rules.
func readmeAlertmanagerConfig(t *testing.T) []byte {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1) {
		if strings.Contains(string(m[1]), "inhibit_rules:") {
			return m[1]
		}
	}
	t.Fatal("alerts/README.md has no ```yaml block with inhibit_rules")
	return nil
}

// TestInhibitRulesExample: the README's Alertmanager configuration passes
// `amtool check-config`; its matchers name existing alerts; every target of
// the PghaNodeOffline inhibition carries `node` (its rule joins it, or it is
// a per-node Pacemaker/pgsql alert), and the rule tests show the source and a
// target firing together with the same node, which is what `equal` needs.
func TestInhibitRulesExample(t *testing.T) {
	conf := readmeAlertmanagerConfig(t)
	path := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(path, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(amtoolPath(t), "check-config", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "inhibit rules") {
		t.Errorf("amtool saw no inhibit rules:\n%s", out)
	}

	var am struct {
		InhibitRules []struct {
			SourceMatchers []string `yaml:"source_matchers"`
			TargetMatchers []string `yaml:"target_matchers"`
			Equal          []string `yaml:"equal"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(conf, &am); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]rule{}
	for _, r := range loadRules(t) {
		if r.Alert != "" {
			alerts[r.Alert] = r
		}
	}
	nameRE := regexp.MustCompile(`alertname\s*=~?\s*"([^"]*)"`)
	names := func(matchers []string) []string {
		var out []string
		for _, m := range matchers {
			if sm := nameRE.FindStringSubmatch(m); sm != nil {
				out = append(out, strings.Split(sm[1], "|")...)
			}
		}
		return out
	}
	var nodeTargets []string
	for i, ir := range am.InhibitRules {
		for _, n := range append(names(ir.SourceMatchers), names(ir.TargetMatchers)...) {
			if _, ok := alerts[n]; !ok {
				t.Errorf("inhibit rule %d names %s, which is not an alert", i, n)
			}
		}
		if strings.Join(names(ir.SourceMatchers), "") == "PghaNodeOffline" {
			if strings.Join(ir.Equal, ",") != "cluster,job,node" {
				t.Errorf("the PghaNodeOffline inhibition matches on %v, want cluster, job, node", ir.Equal)
			}
			nodeTargets = names(ir.TargetMatchers)
		}
	}
	if len(nodeTargets) < 3 {
		t.Fatalf("no PghaNodeOffline inhibition with targets in the README: %v", nodeTargets)
	}
	byNode := regexp.MustCompile(`by \((cluster, job, )?[a-z_, ]*\bnode\b`)
	for _, n := range nodeTargets {
		r := alerts[n]
		if !perHostAlert(r) && !byNode.MatchString(r.Expr) && !strings.Contains(r.Expr, "cluster_resource_node:") {
			t.Errorf("%s is an inhibition target but has no node label", n)
		}
	}
	// Source and target firing together with the same node in a rule test.
	together := 0
	for _, rt := range loadRuleTests(t) {
		for _, tc := range rt.Tests {
			offline := map[string]map[string]bool{} // eval time -> nodes
			for _, a := range tc.AlertRuleTest {
				if a.Alertname == "PghaNodeOffline" {
					for _, e := range a.ExpAlerts {
						if offline[a.EvalTime] == nil {
							offline[a.EvalTime] = map[string]bool{}
						}
						offline[a.EvalTime][e.ExpLabels["node"]] = true
					}
				}
			}
			for _, a := range tc.AlertRuleTest {
				for _, target := range nodeTargets {
					if a.Alertname != target {
						continue
					}
					for _, e := range a.ExpAlerts {
						if offline[a.EvalTime][e.ExpLabels["node"]] && e.ExpLabels["node"] != "" {
							together++
						}
					}
				}
			}
		}
	}
	if together == 0 {
		t.Error("no rule test has PghaNodeOffline and one of its inhibition targets firing with the same node")
	}
}
