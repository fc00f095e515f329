// The failover episodes recorded on the live lab (testdata/scenarios, made by
// test/scenarios/run.sh) are replayed through the shipped rule files with
// `promtool test rules`, and what an on-call engineer needs from each is
// asserted from ONE table (expectations below).
package alerts

import (
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
	"github.com/pgha/pgha_exporter/test/scenarios"
)

// sel is an alert selector: the alert name and the labels that matter.
type sel struct {
	name   string
	labels map[string]string
}

func (s sel) promql() string {
	m := []string{`alertstate="firing"`}
	if s.name != "" {
		m = append(m, fmt.Sprintf("alertname=%q", s.name))
	}
	var keys []string
	for k := range s.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m = append(m, fmt.Sprintf("%s=%q", k, s.labels[k]))
	}
	return "ALERTS{" + strings.Join(m, ",") + "}"
}

func a(name string, kv ...string) sel {
	s := sel{name: name, labels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.labels[kv[i]] = kv[i+1]
	}
	return s
}

// expectation is what the on-call engineer must (not) receive in one scenario.
type expectation struct {
	// page: some severity="critical" alert fires within pageWithin of the
	// fault, and one is still firing at the end of the episode. Every
	// scenario that leaves the cluster at minimum quorum (a node of three
	// lost), without a primary, without a sync standby or unmonitored pages.
	page bool
	// planned: nobody is paged at all (no critical alert in the episode).
	planned bool
	// named: at the end, for each of these nodes some firing alert carries
	// node="<node>", so that the page says which host is gone and
	// Alertmanager can route and inhibit per host.
	named []string
	// fire: alerts that must be firing at the end of the episode.
	fire []sel
	// quiet: alerts that must not fire at any time of the episode.
	quiet []sel
	// failover: the primary moved from failover[0] to failover[1]:
	// PghaFailoverRecent names both at the end. Without it PghaFailoverRecent
	// must never fire.
	failover [2]string
}

const pageWithin = 90 // seconds after the fault

// Alerts that no scenario may fire: a clean failover is no split brain and
// no role mismatch, and a PostgreSQL that Pacemaker stopped on purpose (a
// banned, standby, isolated or inquorate node) is no collector failure.
var alwaysQuiet = []sel{
	a("PghaPostgresSplitBrain"),
	a("PghaPostgresRoleMismatch"),
	a("PghaCollectorFailed", "collector", "postgres"),
}

// The primary's loss moves it to the sync standby.
var moved = [2]string{"pgdb1", "pgdb2"}

// A primary is running at the end: no "no primary" alert.
var primaryKept = []sel{a("PghaPgsqlNoPrimary"), a("PghaPromotableCloneNotOnePromoted")}

// The expectations, by scenario number (the tutorial's 1-23, then the planned
// actions 24 node standby and 25 maintenance mode). pgdb1 is PRI, pgdb2
// HS:sync and pgdb3 HS:async at every fault.
var expectations = map[int]expectation{
	// A node of three lost: minimum quorum, one more failure stops PostgreSQL.
	1: {page: true, named: []string{"pgdb1"}, fire: []sel{a("PghaNodeOffline", "node", "pgdb1")}, quiet: primaryKept, failover: moved},
	2: {page: true, named: []string{"pgdb1"}, fire: []sel{a("PghaResourceBannedByFailCount", "node", "pgdb1", "resource", "postgresql", "severity", "critical")}, quiet: primaryKept, failover: moved},
	3: {page: true, named: []string{"pgdb1"}, fire: []sel{a("PghaNodeOffline", "node", "pgdb1")}, quiet: primaryKept, failover: moved},
	// vip-rep is restarted in place (migration-threshold=0): a warning, no page.
	4: {fire: []sel{a("PghaResourceFailCountRising", "resource", "vip-rep", "node", "pgdb1")}, quiet: append([]sel{a("", "severity", "critical")}, primaryKept...)},
	// vip-master banned from the primary: clients lose the database address.
	5:  {page: true, named: []string{"pgdb1"}, fire: []sel{a("PghaResourceBannedByFailCount", "node", "pgdb1", "resource", "vip-master")}, failover: moved},
	6:  {page: true, named: []string{"pgdb2"}, fire: []sel{a("PghaNodeOffline", "node", "pgdb2")}, quiet: primaryKept},
	7:  {page: true, named: []string{"pgdb2"}, fire: []sel{a("PghaResourceBannedByFailCount", "node", "pgdb2", "resource", "postgresql", "severity", "critical")}, quiet: primaryKept},
	8:  {page: true, named: []string{"pgdb2"}, fire: []sel{a("PghaNodeOffline", "node", "pgdb2")}, quiet: primaryKept},
	9:  {page: true, named: []string{"pgdb3"}, fire: []sel{a("PghaNodeOffline", "node", "pgdb3")}, quiet: primaryKept},
	10: {page: true, named: []string{"pgdb3"}, fire: []sel{a("PghaResourceBannedByFailCount", "node", "pgdb3", "resource", "postgresql", "severity", "critical")}, quiet: primaryKept},
	11: {page: true, named: []string{"pgdb3"}, fire: []sel{a("PghaNodeOffline", "node", "pgdb3")}, quiet: primaryKept},
	// Two nodes lost: no quorum anywhere, PostgreSQL stopped everywhere.
	12: {page: true, named: []string{"pgdb2", "pgdb3"}},
	13: {page: true, named: []string{"pgdb2", "pgdb3"}},
	// Both standbys crashed: a primary without sync standby or failover candidate.
	14: {page: true, named: []string{"pgdb2", "pgdb3"}, fire: []sel{
		a("PghaResourceBannedByFailCount", "node", "pgdb2", "resource", "postgresql"),
		a("PghaResourceBannedByFailCount", "node", "pgdb3", "resource", "postgresql"),
		a("PghaPgsqlNoSyncStandby", "severity", "critical"),
	}, quiet: primaryKept},
	15: {page: true, named: []string{"pgdb1", "pgdb2"}},
	16: {page: true, named: []string{"pgdb1", "pgdb2"}},
	// Primary and sync standby crashed: nobody may be promoted.
	17: {page: true, named: []string{"pgdb1", "pgdb2"}, fire: []sel{
		a("PghaResourceBannedByFailCount", "node", "pgdb1", "resource", "postgresql"),
		a("PghaResourceBannedByFailCount", "node", "pgdb2", "resource", "postgresql"),
		a("PghaPgsqlNoPrimary", "severity", "critical"),
	}},
	18: {page: true, named: []string{"pgdb1", "pgdb3"}},
	19: {page: true, named: []string{"pgdb1", "pgdb3"}},
	// pgdb2 is promoted, alone: no sync standby, no failover candidate.
	20: {page: true, named: []string{"pgdb1", "pgdb3"}, failover: moved, fire: []sel{
		a("PghaResourceBannedByFailCount", "node", "pgdb1", "resource", "postgresql"),
		a("PghaResourceBannedByFailCount", "node", "pgdb3", "resource", "postgresql"),
	}},
	// All three lost: no exporter answers, so no node can be named; one
	// cluster-wide page says that nothing is known (PghaExporterDown is
	// folded into it, not sent three times).
	21: {page: true, fire: []sel{a("PghaClusterUnmonitored", "severity", "critical")}},
	22: {page: true, fire: []sel{a("PghaClusterUnmonitored", "severity", "critical")}},
	// pgdb1 and pgdb3 are banned at once; pgdb2 is promoted, its promote
	// fails ~110 s after the fault and its ban's for: ends after the
	// episode: the page names the two, and that no primary is left.
	23: {page: true, named: []string{"pgdb1", "pgdb3"}, fire: []sel{
		a("PghaPgsqlNoPrimary", "severity", "critical"),
	}},
	// Planned actions page nobody.
	24: {planned: true, quiet: primaryKept},
	25: {planned: true, quiet: primaryKept},
}

// check is one promql_expr_test and what it means.
type check struct {
	what   string
	expr   string
	at     int64 // ms after the grid start
	expect bool  // true: exactly {} 1; false: no sample
}

func TestScenarioReplay(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not found under CI: %v", err)
		}
		t.Skip("promtool not found (Debian package prometheus); skipping")
	}
	eps, err := scenarios.Load(filepath.Join("testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) == 0 {
		t.Fatal("no recorded scenario in testdata/scenarios")
	}
	rules, err := filepath.Glob("*.rules.yml")
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	var ruleText strings.Builder
	for i := range rules {
		b, err := os.ReadFile(rules[i])
		if err != nil {
			t.Fatal(err)
		}
		ruleText.Write(b)
		rules[i], _ = filepath.Abs(rules[i])
	}
	// Only the series the rules read are fed to promtool (half of them; the
	// replay takes half the time). A name counts as read when it appears as a
	// word in a rule file.
	words := map[string]bool{}
	for _, w := range regexp.MustCompile(`[a-zA-Z_][a-zA-Z0-9_]*`).FindAllString(ruleText.String(), -1) {
		words[w] = true
	}
	used := func(name string) bool { return words[name] }
	seen := map[int]bool{}
	for _, ep := range eps {
		ep := ep
		seen[ep.Meta.Number] = true
		exp, ok := expectations[ep.Meta.Number]
		if !ok {
			t.Errorf("%s: recorded, but no expectation in the table", ep.Meta.Slug)
			continue
		}
		t.Run(fmt.Sprintf("%02d-%s", ep.Meta.Number, ep.Meta.Slug), func(t *testing.T) {
			t.Parallel()
			replay(t, promtool, rules, used, ep, exp)
		})
	}
	// Every scenario of the table (the tutorial's 23 and the two planned
	// actions) is recorded and replayed: a missing recording is a failure.
	if missing := crmtest.Missing(expectations, seen); len(missing) > 0 {
		t.Errorf("scenarios with expectations but no recording: %v (make scenarios SCENARIOS=...)", missing)
	}
}

func replay(t *testing.T, promtool string, rules []string, used func(string) bool, ep scenarios.Episode, exp expectation) {
	grid := ep.Grid()
	if len(grid) < 2 {
		t.Fatalf("episode too short: %d grid points", len(grid))
	}
	fault := -grid[0] // the fault, ms after the grid start
	end := grid[len(grid)-1] - grid[0]
	if end-fault < (pageWithin+30)*1000 {
		t.Fatalf("episode ends %ds after the fault; need at least %ds", (end-fault)/1000, pageWithin+30)
	}
	win := func(from, to int64) string { return fmt.Sprintf("[%ds]", (to-from)/1000) }
	var checks []check
	if exp.page {
		checks = append(checks,
			check{fmt.Sprintf("a critical alert fires within %ds of the fault", pageWithin),
				`max(max_over_time(ALERTS{alertstate="firing",severity="critical"}` + win(fault, fault+pageWithin*1000) + `))`, fault + pageWithin*1000, true},
			check{"a critical alert is still firing at the end",
				`max(ALERTS{alertstate="firing",severity="critical"})`, end, true})
	}
	if exp.planned {
		checks = append(checks, check{"a planned action pages nobody (no critical alert)",
			`max_over_time(ALERTS{alertstate="firing",severity="critical"}` + win(0, end) + `)`, end, false})
	}
	for _, n := range exp.named {
		checks = append(checks, check{"an alert names " + n + " in its node label at the end",
			fmt.Sprintf(`max(ALERTS{alertstate="firing",node=%q})`, n), end, true})
	}
	if exp.failover[0] != "" {
		checks = append(checks, check{"firing at the end: the failover event names the old and the new primary",
			"max(" + a("PghaFailoverRecent", "old_primary", exp.failover[0], "node", exp.failover[1]).promql() + ")", end, true})
	} else {
		checks = append(checks, check{"no failover event: the primary never moved",
			"max_over_time(" + a("PghaFailoverRecent").promql() + win(0, end) + ")", end, false})
	}
	for _, s := range exp.fire {
		checks = append(checks, check{"firing at the end: " + s.promql(), "max(" + s.promql() + ")", end, true})
	}
	for _, s := range append(append([]sel{}, alwaysQuiet...), exp.quiet...) {
		checks = append(checks, check{"never firing: " + s.promql(), "max_over_time(" + s.promql() + win(0, end) + ")", end, false})
	}
	// Two firing alerts identical but for instance are one fact reported once
	// per exporter, or a per-host alert without the node label that routing
	// and inhibition need: either way not what the on-call engineer needs.
	checks = append(checks, check{"no two firing alerts identical but for instance (one fact once per exporter, or a per-host alert without node label)",
		fmt.Sprintf(`max_over_time((count without (instance) (ALERTS{alertstate="firing"}) > 1)[%ds:5s])`, end/1000), end, false})

	// PGHA_REPLAY_DIR keeps the generated promtool files (to rerun or read them).
	dir := os.Getenv("PGHA_REPLAY_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	f := filepath.Join(dir, filepath.Base(ep.Dir)+".replay.yml")
	if err := os.WriteFile(f, []byte(promtoolTest(ep, grid, rules, used, checks)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", f).CombinedOutput()
	if err == nil {
		return
	}
	if !strings.Contains(string(out), "FAILED") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	// Name every failed expectation; promtool prints the expression and what it got.
	failed := 0
	for _, c := range checks {
		i := strings.Index(string(out), "expr: "+strconv.Quote(c.expr))
		if i < 0 {
			continue
		}
		failed++
		detail := string(out[i:])
		if j := strings.Index(detail[1:], "expr: "); j >= 0 {
			detail = detail[:j+1]
		}
		t.Errorf("%s\n%s", c.what, indent(strings.TrimSpace(detail)))
	}
	if failed == 0 {
		t.Errorf("promtool test rules failed:\n%s", out)
	}
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

// promtoolTest writes the episode as one promtool test: every recorded series
// the rules read on the 5 s grid ("_" where a scrape had no sample, "stale" where a series
// ended, as Prometheus marks it), then the checks.
func promtoolTest(ep scenarios.Episode, grid []int64, rules []string, used func(string) bool, checks []check) string {
	var b strings.Builder
	b.WriteString("# generated from " + ep.Dir + "\nrule_files:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "  - %q\n", r)
	}
	b.WriteString("evaluation_interval: 5s\ntests:\n  - interval: 5s\n    input_series:\n")
	for _, s := range ep.Series {
		if !used(s.Name()) {
			continue
		}
		vals, ok := s.Slots(grid)
		var v []string
		for i := range grid {
			switch {
			case ok[i]:
				v = append(v, strconv.FormatFloat(vals[i], 'g', -1, 64))
			case i > 0 && ok[i-1]:
				v = append(v, "stale")
			default:
				v = append(v, "_")
			}
		}
		fmt.Fprintf(&b, "      - series: %q\n        values: %q\n", scenarios.Selector(s.Labels), strings.Join(v, " "))
	}
	b.WriteString("    promql_expr_test:\n")
	for _, c := range checks {
		fmt.Fprintf(&b, "      - expr: %q\n        eval_time: %dms\n", c.expr, c.at)
		if c.expect {
			b.WriteString("        exp_samples: [{labels: '{}', value: 1}]\n")
		} else {
			b.WriteString("        exp_samples: []\n")
		}
	}
	return b.String()
}
