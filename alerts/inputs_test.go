package alerts

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// The input series of the rule unit tests must be series the exporter
// really emits: a test fed with a state the exporter cannot produce (for
// example collector success 1 while pgha_postgres_up is 0) proves nothing.

var (
	seriesRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$`)
	labelRE  = regexp.MustCompile(`\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?`)
)

// parseSeries splits a promtool series selector into name and labels.
func parseSeries(s string) (string, map[string]string, error) {
	name, body := s, ""
	if m := seriesRE.FindStringSubmatch(s); m != nil {
		name, body = m[1], m[2]
	}
	labels := map[string]string{}
	rest := labelRE.ReplaceAllStringFunc(body, func(p string) string {
		m := labelRE.FindStringSubmatch(p)
		v, err := strconv.Unquote(`"` + m[2] + `"`)
		if err != nil {
			v = m[2]
		}
		labels[m[1]] = v
		return ""
	})
	if strings.TrimSpace(rest) != "" {
		return "", nil, fmt.Errorf("cannot parse series %q", s)
	}
	return name, labels, nil
}

// expandValues expands promtool's expanding notation ("1x3 _x2 stale 0+1x2")
// into one entry per step; NaN marks a missing sample (blank or stale).
func expandValues(s string) ([]float64, error) {
	missing := math.NaN()
	var out []float64
	for _, tok := range strings.Fields(s) {
		switch {
		case tok == "stale" || tok == "_":
			out = append(out, missing)
			continue
		case strings.HasPrefix(tok, "_x"):
			n, err := strconv.Atoi(tok[2:])
			if err != nil {
				return nil, fmt.Errorf("token %q", tok)
			}
			for range n {
				out = append(out, missing)
			}
			continue
		}
		start, step, times := tok, "0", 0
		if i := strings.LastIndex(tok, "x"); i > 0 {
			n, err := strconv.Atoi(tok[i+1:])
			if err != nil {
				return nil, fmt.Errorf("token %q", tok)
			}
			times, start = n, tok[:i]
			for j := 1; j < len(start); j++ {
				if (start[j] == '+' || start[j] == '-') && start[j-1] != 'e' && start[j-1] != 'E' {
					start, step = tok[:j], tok[j:i]
					break
				}
			}
		}
		a, err := strconv.ParseFloat(start, 64)
		if err != nil {
			return nil, fmt.Errorf("token %q: %v", tok, err)
		}
		b, err := strconv.ParseFloat(step, 64)
		if err != nil {
			return nil, fmt.Errorf("token %q: %v", tok, err)
		}
		for k := 0; k <= times; k++ {
			if b == 0 {
				out = append(out, a)
			} else {
				out = append(out, a+float64(k)*b)
			}
		}
	}
	return out, nil
}

// targetLabels are added by Prometheus, not by the exporter.
var targetLabels = []string{"job", "instance", "cluster"}

// identityLabels name things of a particular cluster (nodes, resources,
// links, addresses, constraint and slot ids, versions): a test may use other
// names than the recorded clusters did. Every other label is an enumeration
// of the exporter (role, status, state, stage, type, collector, flag ...)
// whose value must be one the exporter emitted.
var identityLabels = map[string]bool{
	"node": true, "node_id": true, "name": true, "id": true, "resource": true, "clone": true, "group": true,
	"bundle": true, "link": true, "ring": true, "address": true, "target": true, "ticket": true,
	"application_name": true, "client_addr": true, "slot_name": true, "cluster_name": true,
	"system_identifier": true, "version": true, "server_version_num": true, "dc": true, "dc_version": true,
	"ring_id": true, "branch": true, "goarch": true, "goos": true, "goversion": true, "revision": true, "tags": true,
}

// shape is a series' name and labels with the identity labels' values blanked.
func shape(name string, labels map[string]string) string {
	s := make(map[string]string, len(labels))
	for k, v := range labels {
		if identityLabels[k] {
			v = "*"
		}
		s[k] = v
	}
	return name + crmtest.LabelString(s)
}

// TestRuleTestInputsAreReal: every input series of tests/*.yml is `up` or
// has the shape of a series the exporter emitted in one of the recorded
// expositions (crmtest.ExpositionFiles): the same name and label names, and
// the same values of every label that is not an identity (identityLabels),
// job/instance/cluster aside; and at every step each exporter's series obey
// what the exporter guarantees (exporterInvariants).
func TestRuleTestInputsAreReal(t *testing.T) {
	shapes := map[string]bool{}
	for name, sets := range crmtest.ExportedSeries(t) {
		for ls := range sets {
			_, labels, err := parseSeries(name + ls)
			if err != nil {
				t.Fatal(err)
			}
			shapes[shape(name, labels)] = true
		}
	}
	files := loadRuleTests(t)
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	checked := 0
	for _, f := range names {
		for _, tc := range files[f].Tests {
			inst := map[string]map[string][]float64{} // instance -> series -> values
			for _, in := range tc.InputSeries {
				name, labels, err := parseSeries(in.Series)
				if err != nil {
					t.Fatalf("%s: %q: %v", f, tc.Name, err)
				}
				values, err := expandValues(in.Values)
				if err != nil {
					t.Fatalf("%s: %q: %s: %v", f, tc.Name, in.Series, err)
				}
				instance := labels["instance"]
				for _, l := range targetLabels {
					delete(labels, l)
				}
				key := name + crmtest.LabelString(labels)
				if inst[instance] == nil {
					inst[instance] = map[string][]float64{}
				}
				inst[instance][key] = values
				checked++
				if name != "up" && !shapes[shape(name, labels)] {
					t.Errorf("%s: %q: %s is not a series the exporter emits (no exposition has a series of the shape %s)", f, tc.Name, in.Series, shape(name, labels))
				}
			}
			for instance, series := range inst {
				for _, p := range exporterInvariants(series) {
					t.Errorf("%s: %q: instance %s: %s", f, tc.Name, instance, p)
				}
			}
		}
	}
	if checked < 1000 {
		t.Errorf("only %d input series checked", checked)
	}
}

// exporterInvariants checks one exporter's series step by step against what
// pgha_exporter guarantees in every scrape (collector/collector.go and
// collector/postgres.go; the recorded expositions in testdata/exporter show
// them):
//   - a failed postgres collector exports pgha_postgres_up 0 and no other
//     PostgreSQL series; pgha_postgres_up 0 goes with collector success 0
//     and pgha_postgres_up 1 with success 1;
//   - a failed Pacemaker collector exports only its refresh bookkeeping
//     (no cluster series);
//   - a target that is down (up 0) has no series at all.
//
// It returns one line per violated step (at most one per rule).
func exporterInvariants(series map[string][]float64) []string {
	at := func(key string, i int) (float64, bool) {
		v, ok := series[key]
		if !ok || i >= len(v) || math.IsNaN(v[i]) {
			return 0, false
		}
		return v[i], true
	}
	steps := 0
	for _, v := range series {
		steps = max(steps, len(v))
	}
	const (
		pgUp      = "pgha_postgres_up{}"
		pgOK      = `pgha_scrape_collector_success{collector="postgres"}`
		pcmkOK    = `pgha_scrape_collector_success{collector="pacemaker"}`
		upKey     = "up{}"
		bookPcmk  = "pgha_pacemaker_(snapshot_age_seconds|refresh_.*|crm_mon_stage)"
		pgSeries  = "pgha_(postgres|local)_"
		clusterPM = "pgha_(pacemaker|pgsql)_"
	)
	bookRE := regexp.MustCompile("^" + bookPcmk + `\{`)
	pgRE := regexp.MustCompile("^" + pgSeries)
	pmRE := regexp.MustCompile("^" + clusterPM)
	seen := map[string]bool{}
	var out []string
	report := func(rule string, i int, detail string) {
		if !seen[rule] {
			seen[rule] = true
			out = append(out, fmt.Sprintf("step %d: %s (%s)", i, rule, detail))
		}
	}
	for i := range steps {
		up, hasUp := at(upKey, i)
		pv, hasPg := at(pgUp, i)
		ok, hasOK := at(pgOK, i)
		pm, hasPM := at(pcmkOK, i)
		if hasPg && hasOK && (pv == 0) != (ok == 0) {
			report("pgha_postgres_up and the postgres collector's success disagree", i, fmt.Sprintf("up %v, success %v", pv, ok))
		}
		if hasPg != hasOK && (hasPg || ok == 1) {
			report("pgha_postgres_up and the postgres collector's success come together", i, fmt.Sprintf("pgha_postgres_up present %v, success present %v", hasPg, hasOK))
		}
		for key := range series {
			if _, present := at(key, i); !present {
				continue
			}
			switch {
			case hasUp && up == 0 && key != upKey:
				report("a down target exports nothing", i, key)
			case hasPg && pv == 0 && pgRE.MatchString(key) && key != pgUp:
				report("PostgreSQL down exports only pgha_postgres_up 0", i, key)
			case hasPM && pm == 0 && pmRE.MatchString(key) && !bookRE.MatchString(key):
				report("a failed Pacemaker collector exports only its bookkeeping", i, key)
			}
		}
	}
	return out
}
