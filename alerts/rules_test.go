// Package alerts holds the Prometheus alert and recording rules (the YAML
// files beside this test) and their tests: promtool over the rules and their
// unit tests (tests/*.yml), the contract between the rules, the runbooks and
// what the exporter exports, and the Alertmanager example of README.md.
package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// rule is one rule of alerts/*.rules.yml.
type rule struct {
	file        string
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleFiles are the rule files, relative to alerts/.
func ruleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.rules.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no alerts/*.rules.yml: %v", err)
	}
	sort.Strings(files)
	return files
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var out []rule
	for _, f := range ruleFiles(t) {
		var rf ruleFile
		readYAML(t, f, &rf)
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				r.file = f
				out = append(out, r)
			}
		}
	}
	return out
}

// ruleTest is what the tests need of a promtool test file.
type ruleTest struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval string   `yaml:"evaluation_interval"`
	Tests              []struct {
		Name        string `yaml:"name"`
		Interval    string `yaml:"interval"`
		InputSeries []struct {
			Series string `yaml:"series"`
			Values string `yaml:"values"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromqlExprTest []struct {
			Expr       string `yaml:"expr"`
			EvalTime   string `yaml:"eval_time"`
			ExpSamples []struct {
				Labels string  `yaml:"labels"`
				Value  float64 `yaml:"value"`
			} `yaml:"exp_samples"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func testFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no alerts/tests/*.yml: %v", err)
	}
	sort.Strings(files)
	return files
}

func loadRuleTests(t *testing.T) map[string]ruleTest {
	t.Helper()
	out := map[string]ruleTest{}
	for _, f := range testFiles(t) {
		var rt ruleTest
		readYAML(t, f, &rt)
		out[f] = rt
	}
	return out
}

func runPromtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(crmtest.PromtoolPath(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRulesPromtool: promtool accepts the rule files, finds as many rules
// as the YAML holds, and every unit test of tests/*.yml passes.
func TestRulesPromtool(t *testing.T) {
	out := runPromtool(t, append([]string{"check", "rules"}, ruleFiles(t)...)...)
	found := 0
	for _, m := range regexp.MustCompile(`SUCCESS: (\d+) rules found`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		found += n
	}
	if got := len(loadRules(t)); got != found || got == 0 {
		t.Errorf("the YAML holds %d rules, promtool found %d", got, found)
	}
	runPromtool(t, append([]string{"test", "rules"}, testFiles(t)...)...)
}

// TestRuleMetricsExported: every pgha_* name a rule reads is exported (it is
// in an exposition the exporter produced) or is a recording rule.
func TestRuleMetricsExported(t *testing.T) {
	exported := crmtest.ExportedSeries(t)
	rules := loadRules(t)
	recorded := map[string]bool{}
	for _, r := range rules {
		if r.Record != "" {
			recorded[r.Record] = true
		}
	}
	missing := map[string][]string{}
	for _, r := range rules {
		if strings.TrimSpace(r.Expr) == "" {
			t.Errorf("%s: rule %s%s has no expr", r.file, r.Alert, r.Record)
		}
		for _, n := range crmtest.SeriesNames(r.Expr) {
			if exported[n] == nil && !recorded[n] {
				missing[n] = append(missing[n], r.file+": "+r.Alert+r.Record)
			}
		}
	}
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Errorf("%s is neither exported (in no exposition of crmtest.ExpositionFiles) nor a recording rule; used by %s", n, strings.Join(missing[n], "; "))
	}
}

// TestAlertsTestedAndDocumented: every alert has a firing and a non-firing
// promtool test case, the healthy-cluster tests assert that it stays quiet,
// it has a "## <AlertName>" runbook section that its runbook_url points to,
// and it has for:, a severity and the three annotations. Alert names in the
// runbooks, the failover scenarios and README.md must exist.
func TestAlertsTestedAndDocumented(t *testing.T) {
	root := crmtest.ModuleRoot(t)
	firing, quiet := map[string]bool{}, map[string]bool{}
	healthy := map[string]bool{}
	for f, rt := range loadRuleTests(t) {
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					firing[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
					if filepath.Base(f) == "healthy.yml" {
						healthy[a.Alertname] = true
					}
				}
			}
		}
	}
	runbooks, err := os.ReadFile(filepath.Join(root, "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^##\s+(\S+)\s*$`).FindAllStringSubmatch(string(runbooks), -1) {
		sections[m[1]] = true
	}
	alerts := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		name := r.Alert
		if alerts[name] {
			t.Errorf("%s: alert %s is defined twice", r.file, name)
		}
		alerts[name] = true
		if !firing[name] {
			t.Errorf("%s: alert %s has no firing test case (exp_alerts non-empty) in alerts/tests", r.file, name)
		}
		if !quiet[name] {
			t.Errorf("%s: alert %s has no non-firing test case (exp_alerts: []) in alerts/tests", r.file, name)
		}
		if !healthy[name] {
			t.Errorf("%s: alert %s is not asserted quiet in alerts/tests/healthy.yml", r.file, name)
		}
		if !sections[name] {
			t.Errorf("%s: alert %s has no \"## %s\" section in docs/runbooks.md", r.file, name, name)
		}
		if r.For == "" {
			t.Errorf("%s: alert %s has no for:", r.file, name)
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: alert %s has severity %q, want critical or warning", r.file, name, s)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if r.Annotations[a] == "" {
				t.Errorf("%s: alert %s has no %s annotation", r.file, name, a)
			}
		}
		if u := r.Annotations["runbook_url"]; !strings.HasSuffix(u, "docs/runbooks.md#"+strings.ToLower(name)) {
			t.Errorf("%s: alert %s: runbook_url %q does not end in docs/runbooks.md#%s", r.file, name, u, strings.ToLower(name))
		}
	}
	if len(alerts) == 0 {
		t.Fatal("no alert found in alerts/*.rules.yml")
	}
	for _, doc := range []string{"docs/runbooks.md", "docs/failover-scenarios.md", "alerts/README.md"} {
		text, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range regexp.MustCompile(`\bPgha[A-Z][A-Za-z]+\b`).FindAllString(string(text), -1) {
			if !alerts[n] {
				t.Errorf("%s names %s, which is not an alert of alerts/*.rules.yml", doc, n)
			}
		}
	}
}

// perHostAlerts are the alerts about one exporter's host; they must carry
// `node` for Alertmanager's inhibition (README.md).
func perHostAlert(r rule) bool {
	return strings.Contains(r.Expr, "group_left (node) instance:pgha_node:info")
}

// TestPerHostAlertsHaveNode: every alert that keeps `instance` (a per-host
// alert) joins `node`, and every alert that fires in a unit test with an
// `instance` label has a `node` label there too (unless the test's exporter
// never reported its node).
func TestPerHostAlertsHaveNode(t *testing.T) {
	perHost := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert != "" && perHostAlert(r) {
			perHost[r.Alert] = true
		}
	}
	if len(perHost) < 10 {
		t.Errorf("only %d alerts join node: %v", len(perHost), perHost)
	}
	checked := 0
	for f, rt := range loadRuleTests(t) {
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				for _, e := range a.ExpAlerts {
					if _, ok := e.ExpLabels["instance"]; !ok {
						continue
					}
					if !perHost[a.Alertname] {
						t.Errorf("%s: %q: %s fires with instance but its rule does not join node", f, tc.Name, a.Alertname)
					}
					if e.ExpLabels["node"] != "" {
						checked++
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no test asserts a per-host alert with its node label")
	}
}
