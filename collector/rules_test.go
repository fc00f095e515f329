package collector

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// The alert rules (alerts/*.yml), their promtool tests (alerts/tests/*.yml),
// the runbooks (docs/runbooks.md) and the Grafana dashboards (dashboards/*.json)
// are checked here against each other and against what the exporter exports:
// the union of the metric names in the golden exposition files.
//
// The YAML files are read without a YAML library, by a line parser that knows
// the layout of the rule files (a rule is a "- alert:" or "- record:" item with
// "expr:", "for:", "labels:" and "annotations:" keys); TestAlertRulesPromtool
// checks that it finds as many rules as promtool does.

// promtoolPath returns promtool's path; without it the test is skipped, except
// under CI (CI set), where it fails.
func promtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not found under CI: %v", err)
		}
		t.Skip("promtool not found (Debian package prometheus); skipping")
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtoolPath(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func relGlob(t *testing.T, root string, pattern string) []string {
	t.Helper()
	files := crmtest.Glob(t, filepath.Join(root, pattern))
	for i, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = rel
	}
	return files
}

func TestAlertRulesPromtool(t *testing.T) {
	root := crmtest.ModuleRoot(t)
	ruleFiles := relGlob(t, root, "alerts/*.yml")
	out := runPromtool(t, root, append([]string{"check", "rules"}, ruleFiles...)...)
	found := 0
	for _, m := range regexp.MustCompile(`SUCCESS: (\d+) rules found`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		found += n
	}
	if got := len(parseRules(t, root)); got != found {
		t.Errorf("the line parser found %d rules, promtool %d: fix parseRules or the layout of alerts/*.yml", got, found)
	}
	runPromtool(t, root, append([]string{"test", "rules"}, relGlob(t, root, "alerts/tests/*.yml")...)...)
}

// promRule is one rule of alerts/*.yml.
type promRule struct {
	file, kind, name, expr, forDur string
	labels, annotations            map[string]string
}

var (
	ruleStartRE = regexp.MustCompile(`^(\s*)-\s+(alert|record):\s*(\S+)\s*$`)
	yamlKeyRE   = regexp.MustCompile(`^(\s*)([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*$`)
)

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

func yamlScalar(s string) string {
	switch {
	case strings.HasPrefix(s, `"`):
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
	case strings.HasPrefix(s, `'`) && strings.HasSuffix(s, `'`) && len(s) >= 2:
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	}
	return s
}

func parseRules(t *testing.T, root string) []promRule {
	t.Helper()
	var rules []promRule
	for _, f := range relGlob(t, root, "alerts/*.yml") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		var cur *promRule
		keyIndent := 0
		for i := 0; i < len(lines); i++ {
			line := lines[i]
			trimmed := strings.TrimSpace(line)
			if m := ruleStartRE.FindStringSubmatch(line); m != nil {
				rules = append(rules, promRule{file: f, kind: m[2], name: m[3], labels: map[string]string{}, annotations: map[string]string{}})
				cur = &rules[len(rules)-1]
				keyIndent = len(m[1]) + 2
				continue
			}
			if cur == nil || trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			if indentOf(line) < keyIndent {
				cur = nil
				continue
			}
			m := yamlKeyRE.FindStringSubmatch(line)
			if m == nil || len(m[1]) != keyIndent {
				continue
			}
			switch key, val := m[2], m[3]; key {
			case "expr":
				if val == "|" || val == "|-" || val == ">" || val == ">-" {
					var block []string
					for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || indentOf(lines[i+1]) > keyIndent) {
						i++
						block = append(block, strings.TrimSpace(lines[i]))
					}
					cur.expr = strings.TrimSpace(strings.Join(block, "\n"))
				} else {
					cur.expr = yamlScalar(val)
				}
			case "for":
				cur.forDur = val
			case "labels", "annotations":
				dst := cur.labels
				if key == "annotations" {
					dst = cur.annotations
				}
				for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || indentOf(lines[i+1]) > keyIndent) {
					i++
					if km := yamlKeyRE.FindStringSubmatch(lines[i]); km != nil {
						dst[km[2]] = yamlScalar(km[3])
					}
				}
			}
		}
	}
	return rules
}

// exportedMetrics is the union of the "# TYPE" names of the golden
// exposition files.
func exportedMetrics(t *testing.T, root string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	files := crmtest.Glob(t, filepath.Join(root, "collector", "testdata", "*", "*.prom"),
		filepath.Join(root, "cmd", "pgha_exporter", "testdata", "*.prom"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) >= 3 && fields[0] == "#" && fields[1] == "TYPE" {
				names[fields[2]] = true
			}
		}
		fh.Close()
	}
	return names
}

var (
	promStringRE  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promCommentRE = regexp.MustCompile(`#[^\n]*`)
	promRangeRE   = regexp.MustCompile(`\[[^\]]*\]`)
	promMatcherRE = regexp.MustCompile(`\{[^}]*\}`)
	promIdentRE   = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// seriesNames returns the pgha_* metric names and the recording rule names
// (level:metric:operation, they contain a colon) a PromQL expression (or a
// Grafana label_values query) selects. Strings, comments, ranges and label
// matchers are removed first, so label names and values never count.
func seriesNames(expr string) []string {
	e := promStringRE.ReplaceAllString(expr, `""`)
	e = promCommentRE.ReplaceAllString(e, "")
	e = promRangeRE.ReplaceAllString(e, "[]")
	e = promMatcherRE.ReplaceAllString(e, "{}")
	var out []string
	for _, id := range promIdentRE.FindAllString(e, -1) {
		if strings.HasPrefix(id, "pgha_") || strings.Contains(id, ":") {
			out = append(out, id)
		}
	}
	return out
}

// TestAlertRuleMetricsExported: every pgha_* name used by a rule expression,
// a dashboard query or a dashboard variable is exported (it appears in a
// golden exposition file) or is a recording rule of alerts/*.yml.
func TestAlertRuleMetricsExported(t *testing.T) {
	root := crmtest.ModuleRoot(t)
	exported := exportedMetrics(t, root)
	rules := parseRules(t, root)
	known := map[string]bool{}
	for n := range exported {
		known[n] = true
	}
	for _, r := range rules {
		if r.kind == "record" {
			known[r.name] = true
		}
	}
	missing := map[string][]string{} // name -> users
	use := func(where, expr string) {
		for _, n := range seriesNames(expr) {
			if !known[n] {
				missing[n] = append(missing[n], where)
			}
		}
	}
	for _, r := range rules {
		if r.expr == "" {
			t.Errorf("%s: %s %s has no expr (parser or file layout)", r.file, r.kind, r.name)
		}
		use(r.file+": "+r.name, r.expr)
	}
	for _, d := range loadDashboards(t, root) {
		for _, q := range d.queries {
			use(d.file+": "+q.where, q.expr)
		}
		for _, v := range d.varQueries {
			use(d.file+": variable "+v.where, v.expr)
		}
	}
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		users := missing[n]
		sort.Strings(users)
		if len(users) > 3 {
			users = append(users[:3], fmt.Sprintf("and %d more", len(users)-3))
		}
		t.Errorf("%s is neither exported (no # TYPE in collector/testdata/*/*.prom or cmd/pgha_exporter/testdata/*.prom) nor a recording rule; used by %s",
			n, strings.Join(users, "; "))
	}
}

// alertTestCases reads alerts/tests/*.yml and reports, per file, which alerts
// have a firing case (exp_alerts non-empty) and a non-firing case (exp_alerts
// empty or absent).
func alertTestCases(t *testing.T, root string) (firing, quiet map[string]bool, quietByFile map[string]map[string]bool) {
	t.Helper()
	firing, quiet, quietByFile = map[string]bool{}, map[string]bool{}, map[string]map[string]bool{}
	nameRE := regexp.MustCompile(`^\s*(?:-\s+)?alertname:\s*(\S+)\s*$`)
	expRE := regexp.MustCompile(`^(\s*)(-\s+)?exp_alerts:\s*(.*?)\s*$`)
	for _, f := range relGlob(t, root, "alerts/tests/*.yml") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		quietByFile[f] = map[string]bool{}
		var name string
		state := ""       // "", "fires", "quiet", "await" (after "exp_alerts:" with no value)
		blockIndent := -1 // the exp_alerts key's indent while inside its list
		flush := func() {
			if name != "" {
				if state == "fires" {
					firing[name] = true
				} else {
					quiet[name] = true
					quietByFile[f][name] = true
				}
			}
			name, state = "", ""
		}
		for _, line := range strings.Split(string(data), "\n") {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			ind := indentOf(line)
			if blockIndent >= 0 {
				if ind > blockIndent || (ind == blockIndent && strings.HasPrefix(trimmed, "-")) {
					if state == "await" {
						state = "fires"
					}
					continue
				}
				blockIndent = -1
			}
			if state == "await" {
				state = "quiet"
			}
			// Every list item (test group, series, alert test case) starts
			// afresh; exp_alerts entries were consumed above.
			if strings.HasPrefix(trimmed, "- ") {
				flush()
			}
			if m := nameRE.FindStringSubmatch(line); m != nil {
				name = m[1]
			}
			if m := expRE.FindStringSubmatch(line); m != nil {
				switch m[3] {
				case "[]":
					state = "quiet"
				case "":
					state = "await"
					blockIndent = len(m[1]) + len(m[2])
				default:
					state = "fires"
				}
			}
		}
		flush()
	}
	return firing, quiet, quietByFile
}

// TestAlertsTestedAndDocumented: every alert has a firing and a non-firing
// promtool test case, the healthy-cluster tests assert that it stays quiet,
// it has a "## <AlertName>" runbook section that its runbook_url points to,
// and it has for:, a severity and the three annotations. Alert names in the
// runbooks and the failover scenarios must exist.
func TestAlertsTestedAndDocumented(t *testing.T) {
	root := crmtest.ModuleRoot(t)
	rules := parseRules(t, root)
	firing, quiet, quietByFile := alertTestCases(t, root)
	runbooks, err := os.ReadFile(filepath.Join(root, "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^##\s+(\S+)\s*$`).FindAllStringSubmatch(string(runbooks), -1) {
		sections[m[1]] = true
	}
	healthy := quietByFile[filepath.Join("alerts", "tests", "healthy.yml")]
	alerts := map[string]bool{}
	for _, r := range rules {
		if r.kind != "alert" {
			continue
		}
		if alerts[r.name] {
			t.Errorf("%s: alert %s is defined twice", r.file, r.name)
		}
		alerts[r.name] = true
		if !firing[r.name] {
			t.Errorf("%s: alert %s has no firing test case (exp_alerts non-empty) in alerts/tests", r.file, r.name)
		}
		if !quiet[r.name] {
			t.Errorf("%s: alert %s has no non-firing test case (exp_alerts: []) in alerts/tests", r.file, r.name)
		}
		if !healthy[r.name] {
			t.Errorf("%s: alert %s is not asserted quiet in alerts/tests/healthy.yml", r.file, r.name)
		}
		if !sections[r.name] {
			t.Errorf("%s: alert %s has no \"## %s\" section in docs/runbooks.md", r.file, r.name, r.name)
		}
		if r.forDur == "" {
			t.Errorf("%s: alert %s has no for:", r.file, r.name)
		}
		if s := r.labels["severity"]; s != "critical" && s != "warning" && s != "info" {
			t.Errorf("%s: alert %s has severity %q, want critical, warning or info", r.file, r.name, s)
		}
		for _, a := range []string{"summary", "description", "runbook_url"} {
			if r.annotations[a] == "" {
				t.Errorf("%s: alert %s has no %s annotation", r.file, r.name, a)
			}
		}
		if u := r.annotations["runbook_url"]; !strings.HasSuffix(u, "docs/runbooks.md#"+strings.ToLower(r.name)) {
			t.Errorf("%s: alert %s: runbook_url %q does not end in docs/runbooks.md#%s", r.file, r.name, u, strings.ToLower(r.name))
		}
	}
	if len(alerts) == 0 {
		t.Fatal("no alert found in alerts/*.yml")
	}
	scenarios, err := os.ReadFile(filepath.Join(root, "docs", "failover-scenarios.md"))
	if err != nil {
		t.Fatal(err)
	}
	for doc, text := range map[string][]byte{"docs/runbooks.md": runbooks, "docs/failover-scenarios.md": scenarios} {
		for _, n := range regexp.MustCompile(`\bPgha[A-Z][A-Za-z]+\b`).FindAllString(string(text), -1) {
			if !alerts[n] {
				t.Errorf("%s names %s, which is not an alert of alerts/*.yml", doc, n)
			}
		}
	}
}

// grafanaDashboard is what the tests need of a dashboard file.
type grafanaDashboard struct {
	file       string
	uid        string
	schema     float64
	queries    []dashQuery // panel target expressions
	varQueries []dashQuery // query variables
	vars       map[string]string
	problems   []string
}

type dashQuery struct{ where, expr string }

func dsUID(v any) string {
	switch ds := v.(type) {
	case map[string]any:
		s, _ := ds["uid"].(string)
		return s
	case string:
		return ds
	}
	return ""
}

func loadDashboards(t *testing.T, root string) []grafanaDashboard {
	t.Helper()
	var out []grafanaDashboard
	for _, f := range relGlob(t, root, "dashboards/*.json") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: invalid JSON: %v", f, err)
		}
		d := grafanaDashboard{file: f, vars: map[string]string{}}
		d.uid, _ = doc["uid"].(string)
		d.schema, _ = doc["schemaVersion"].(float64)
		if tmpl, ok := doc["templating"].(map[string]any); ok {
			list, _ := tmpl["list"].([]any)
			for _, v := range list {
				vm, _ := v.(map[string]any)
				name, _ := vm["name"].(string)
				typ, _ := vm["type"].(string)
				d.vars[name] = typ
				if typ == "query" {
					q := vm["query"]
					if qm, ok := q.(map[string]any); ok {
						q = qm["query"]
					}
					qs, _ := q.(string)
					d.varQueries = append(d.varQueries, dashQuery{name, qs})
					if u := dsUID(vm["datasource"]); u != "${datasource}" && u != "$datasource" {
						d.problems = append(d.problems, fmt.Sprintf("variable %s: datasource %q, want ${datasource}", name, u))
					}
				}
			}
		}
		var walk func(panels []any)
		walk = func(panels []any) {
			for _, p := range panels {
				pm, _ := p.(map[string]any)
				title, _ := pm["title"].(string)
				if sub, ok := pm["panels"].([]any); ok {
					walk(sub)
				}
				targets, _ := pm["targets"].([]any)
				if len(targets) == 0 {
					continue
				}
				if u := dsUID(pm["datasource"]); u != "${datasource}" && u != "$datasource" {
					d.problems = append(d.problems, fmt.Sprintf("panel %q: datasource %q, want ${datasource}", title, u))
				}
				for _, tg := range targets {
					tm, _ := tg.(map[string]any)
					ref, _ := tm["refId"].(string)
					expr, _ := tm["expr"].(string)
					if ds, ok := tm["datasource"]; ok {
						if u := dsUID(ds); u != "${datasource}" && u != "$datasource" {
							d.problems = append(d.problems, fmt.Sprintf("panel %q target %s: datasource %q, want ${datasource}", title, ref, u))
						}
					}
					if strings.TrimSpace(expr) == "" {
						d.problems = append(d.problems, fmt.Sprintf("panel %q target %s: empty expr", title, ref))
						continue
					}
					d.queries = append(d.queries, dashQuery{fmt.Sprintf("panel %q target %s", title, ref), expr})
				}
			}
		}
		panels, _ := doc["panels"].([]any)
		walk(panels)
		out = append(out, d)
	}
	return out
}

var (
	grafanaIntervalRE = regexp.MustCompile(`\$\{?__(rate_interval|interval|range)(_s|_ms)?\}?`)
	grafanaVarRE      = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]`)
	hardcodedRE       = regexp.MustCompile(`\b(job|instance)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')`)
)

// TestDashboards: valid JSON with unique uids, a datasource variable used by
// every panel and query variable, a job or instance variable, no hard-coded
// job/instance values, and every query parses as PromQL (promtool check rules
// on a temporary file holding each query as a recording rule).
func TestDashboards(t *testing.T) {
	root := crmtest.ModuleRoot(t)
	dashboards := loadDashboards(t, root)
	uids := map[string]string{}
	var rules bytes.Buffer
	rules.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	var where []string
	for _, d := range dashboards {
		for _, p := range d.problems {
			t.Errorf("%s: %s", d.file, p)
		}
		if d.uid == "" {
			t.Errorf("%s: no uid", d.file)
		} else if other, ok := uids[d.uid]; ok {
			t.Errorf("%s: uid %q already used by %s", d.file, d.uid, other)
		}
		uids[d.uid] = d.file
		if d.schema < 36 {
			t.Errorf("%s: schemaVersion %v, want Grafana 10/11 (>= 36)", d.file, d.schema)
		}
		if d.vars["datasource"] != "datasource" {
			t.Errorf("%s: no variable \"datasource\" of type datasource", d.file)
		}
		if d.vars["job"] != "query" && d.vars["instance"] != "query" {
			t.Errorf("%s: no job or instance query variable", d.file)
		}
		if len(d.queries) == 0 {
			t.Errorf("%s: no panel queries", d.file)
		}
		for _, q := range append(append([]dashQuery{}, d.queries...), d.varQueries...) {
			for _, m := range hardcodedRE.FindAllStringSubmatch(q.expr, -1) {
				if !strings.Contains(m[3], "$") {
					t.Errorf("%s: %s: hard-coded %s%s%s; use the template variable", d.file, q.where, m[1], m[2], m[3])
				}
			}
		}
		for _, q := range d.queries {
			e := grafanaIntervalRE.ReplaceAllString(q.expr, "5m")
			e = grafanaVarRE.ReplaceAllString(e, "x")
			quoted, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			where = append(where, d.file+": "+q.where)
			fmt.Fprintf(&rules, "      - record: dashboard_query_%d\n        expr: %s\n", len(where), quoted)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "dashboard-queries.yml")
	if err := os.WriteFile(path, rules.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtoolPath(t), "check", "rules", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		var legend strings.Builder
		for i, w := range where {
			fmt.Fprintf(&legend, "dashboard_query_%d = %s\n", i+1, w)
		}
		t.Errorf("a dashboard query does not parse as PromQL: %v\n%s\n%s", err, out, legend.String())
	}
}
