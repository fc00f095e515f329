package nagios

import (
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// firstLine evaluates "check all" minus corosync (cluster + replication with
// the default policies, stonith warning included) and returns its first line.
func firstLine(t *testing.T, sc scenario) string {
	t.Helper()
	snap := load(t, sc)
	in := Inputs{Pacemaker: snap}
	r, err := Evaluate("cluster", in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	r.What = "ALL"
	r.Merge(CheckReplication(snap, DefaultReplicationOptions()))
	out := render(r)
	lines := strings.SplitN(out, "\n", 3)
	return lines[1]
}

// TestFirstLineNamesTheChange: for each scenario the first line a phone
// shows names what happened, and the standing stonith warning never leads
// while anything else is wrong.
func TestFirstLineNamesTheChange(t *testing.T) {
	want := map[string]string{
		"generated-primary-node-lost-failover":     "failover: new primary pgdb2",
		"live-05-primary-postgres-killed-failover": "failover: new primary pgdb3",
		"generated-sync-standby-node-lost":         "node pgdb2 OFFLINE: node lost",
		"generated-no-quorum":                      "quorum lost",
		"generated-node-standby":                   "node pgdb3 in standby",
		"generated-healthy":                        "stonith-enabled=false",
		"live-01-healthy":                          "stonith-enabled=false",
	}
	seen := map[string]bool{}
	for _, sc := range scenarios(t) {
		first := firstLine(t, sc)
		if w, ok := want[sc.name]; ok {
			seen[sc.name] = true
			if !strings.Contains(first, w) {
				t.Errorf("%s: first line %q, want it to name %q", sc.name, first, w)
			}
		}
		if strings.Contains(first, "stonith-enabled=false") && !strings.HasPrefix(first, "PGHA ALL WARNING - stonith-enabled=false: no fencing\n") && strings.Contains(first, "(+") {
			t.Errorf("%s: the standing stonith warning leads over other problems: %q", sc.name, first)
		}
	}
	if missing := crmtest.Missing(want, seen); len(missing) > 0 {
		t.Errorf("scenarios not found: %v", missing)
	}
}

// TestProblemOrder: events, then problems, then standing findings; worst
// first inside each class.
func TestProblemOrder(t *testing.T) {
	var r Result
	r.Policy(Warning, "stonith")
	r.Add(Critical, "banned")
	r.Add(Warning, "failcount")
	r.Event(Warning, "failover")
	r.Event(Critical, "no primary")
	var got []string
	for _, it := range r.problems() {
		got = append(got, it.Text)
	}
	if strings.Join(got, ",") != "no primary,failover,banned,failcount,stonith" {
		t.Errorf("order %v", got)
	}
}

// TestFirstLineBounded: a long finding (a PostgreSQL error) keeps the first
// line within MaxFirstLine; the long output keeps it whole.
func TestFirstLineBounded(t *testing.T) {
	long := "PostgreSQL: pg: connect to host=localhost port=1 user=pgha_monitor dbname=postgres password=xxxxx: " + strings.Repeat("dial error: connection refused, ", 10)
	for _, n := range []int{1, 3} {
		r := Result{What: "REPLICATION"}
		for i := 0; i < n; i++ {
			r.Add(Critical, "%s", long)
		}
		var b strings.Builder
		r.Render(&b, 0)
		lines := strings.Split(b.String(), "\n")
		if len(lines[0]) > MaxFirstLine || !strings.Contains(b.String(), long) {
			t.Errorf("%d findings: first line %d bytes:\n%s", n, len(lines[0]), b.String())
		}
	}
}
