package nagios

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// recordedFirstLines is what the first line of "check all" (cluster and
// replication, default policies: the stonith warning included) must name on
// each node's view at the end of each recorded lab episode
// (alerts/testdata/scenarios, `make scenarios`), for the nodes that kept
// quorum and for those that lost it. pgdb1 is PRI, pgdb2 HS:sync and pgdb3
// HS:async at every fault.
var recordedFirstLines = map[int]struct{ quorate, inquorate string }{
	1:  {"failover: new primary pgdb2", "quorum"},
	2:  {"failover: new primary pgdb2", ""},
	3:  {"failover: new primary pgdb2", ""},
	4:  {"vip-rep", ""},
	5:  {"failover: new primary pgdb2", ""},
	6:  {"pgdb2", "quorum"},
	7:  {"pgdb2", ""},
	8:  {"pgdb2", ""},
	9:  {"pgdb3", "quorum"},
	10: {"pgdb3", ""},
	11: {"pgdb3", ""},
	12: {"", "quorum"},
	13: {"", "quorum"},
	14: {"lost: pgdb2, pgdb3", ""},
	15: {"", "quorum"},
	16: {"", "quorum"},
	17: {"NO PRIMARY", ""},
	18: {"", "quorum"},
	19: {"", "quorum"},
	20: {"failover: new primary pgdb2", ""}, // then: sync standby lost (pgdb1, pgdb3)
	21: {"", "quorum"},
	22: {"", ""}, // every node powered off: no node runs a check
	23: {"NO PRIMARY", ""},
	24: {"pgdb2 in standby", ""},
	25: {"maintenance", ""},
}

// TestRecordedScenarioChecks: goldens of "check all" (minus corosync and
// PostgreSQL, which were live) over the crm_mon XML every node printed at
// the end of every recorded episode, and the first line of each checked
// against recordedFirstLines; the standing stonith warning never leads
// while anything else is wrong.
func TestRecordedScenarioChecks(t *testing.T) {
	root := filepath.Join(crmtest.ModuleRoot(t), "alerts", "testdata", "scenarios")
	dirs, err := filepath.Glob(filepath.Join(root, "[0-9][0-9]-*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no recorded scenarios under %s: %v", root, err)
	}
	num := regexp.MustCompile(`^(\d\d)-`)
	seen := map[int]bool{}
	for _, dir := range dirs {
		n, _ := strconv.Atoi(num.FindStringSubmatch(filepath.Base(dir))[1])
		want, ok := recordedFirstLines[n]
		if !ok {
			t.Errorf("%s: recorded, but no expected first line", filepath.Base(dir))
			continue
		}
		seen[n] = true
		mons, _ := filepath.Glob(filepath.Join(dir, "nodes", "*.crm_mon.xml"))
		if len(mons) == 0 && want.quorate+want.inquorate != "" {
			t.Errorf("%s: no crm_mon XML recorded", filepath.Base(dir))
		}
		for _, mon := range mons {
			node := strings.TrimSuffix(filepath.Base(mon), ".crm_mon.xml")
			name := filepath.Base(dir) + "__" + node
			snap, err := (&crm.Source{MonFile: mon, Location: time.UTC, LocalNode: node}).Fetch(context.Background())
			if err != nil {
				// A node whose stack was down at the end printed no view.
				if _, ok := err.(*crm.Error); ok {
					compareGolden(t, "recorded/"+name, "no view: "+err.Error()+"\n")
					continue
				}
				t.Fatalf("%s: %v", name, err)
			}
			r, err := Evaluate("cluster", Inputs{Pacemaker: snap}, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			r.What = "ALL"
			r.Merge(CheckReplication(snap, DefaultReplicationOptions()))
			out := render(r)
			compareGolden(t, "recorded/"+name, out)
			first := strings.SplitN(out, "\n", 3)[1]
			w := want.quorate
			if !quorate(snap) {
				w = want.inquorate
			}
			if w == "" {
				t.Errorf("%s: a %s view was not expected: %q", name, map[bool]string{true: "quorate", false: "inquorate"}[quorate(snap)], first)
			} else if !strings.Contains(first, w) {
				t.Errorf("%s: first line %q does not name %q", name, first, w)
			}
			if strings.Contains(first, "stonith-enabled=false") {
				t.Errorf("%s: the standing stonith warning leads: %q", name, first)
			}
		}
	}
	if missing := crmtest.Missing(recordedFirstLines, seen); len(missing) > 0 {
		t.Errorf("scenarios without a recording: %v", missing)
	}
}

func quorate(snap *crm.Snapshot) bool {
	s := snap.Status.Summary
	return s != nil && s.DC != nil && s.DC.WithQuorum != nil && *s.DC.WithQuorum
}
