// Package scenarios reads the failover episodes that test/scenarios/run.sh
// records on the live lab (alerts/testdata/scenarios/<NN>-<slug>/) and derives
// from them what the documentation and the rule replay need: the input series
// on Prometheus' evaluation grid and the measured latencies.
package scenarios

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Meta is meta.json of an episode (written by run.sh).
type Meta struct {
	Number            int               `json:"number"`
	Slug              string            `json:"slug"`
	Title             string            `json:"title"`
	Fault             []string          `json:"fault"`
	StartStatus       string            `json:"start_status"`
	FaultEpochMS      int64             `json:"fault_epoch_ms"`
	InjectMS          int64             `json:"inject_ms"`
	BaselineMS        int64             `json:"baseline_ms"`
	EndMS             int64             `json:"end_ms"`
	StatusTimeline    []StatusChange    `json:"status_timeline"`
	RunningNodesAtEnd []string          `json:"running_nodes_at_end"`
	ResetMS           int64             `json:"reset_ms"`
	RecoverMS         int64             `json:"recover_ms"`
	Recovered         bool              `json:"recovered"`
	Commit            string            `json:"commit"`
	Modified          bool              `json:"rules_or_lab_modified"`
	RecordedAt        string            `json:"recorded_at"`
	Versions          map[string]string `json:"versions"`
}

// StatusChange is one line of lab.sh status, ms after the fault.
type StatusChange struct {
	MS   int64
	Line string
}

// UnmarshalJSON reads [ms, "line"].
func (s *StatusChange) UnmarshalJSON(b []byte) error {
	var a []json.RawMessage
	if err := json.Unmarshal(b, &a); err != nil || len(a) != 2 {
		return fmt.Errorf("status change: want [ms, line], got %s", b)
	}
	if err := json.Unmarshal(a[0], &s.MS); err != nil {
		return err
	}
	return json.Unmarshal(a[1], &s.Line)
}

// Value is a sample value; Prometheus' API gives NaN and infinities as strings.
type Value float64

// UnmarshalJSON accepts a number or a string such as "NaN" or "+Inf".
func (v *Value) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*v = Value(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("sample value %q: %w", s, err)
	}
	*v = Value(f)
	return nil
}

// Series is one recorded series: its labels (with __name__) and raw samples,
// timestamps in ms relative to the fault.
type Series struct {
	Labels map[string]string `json:"m"`
	T      []int64           `json:"t"`
	V      []Value           `json:"v"`
}

// Name is the metric name.
func (s Series) Name() string { return s.Labels["__name__"] }

// Node is what run.sh kept of one node that was running at the end.
type Node struct {
	Name      string
	CrmMonXML []byte
	Check     string
	CheckExit int
}

// Episode is one recorded scenario.
type Episode struct {
	Dir    string
	Meta   Meta
	Series []Series // every pgha_* and up series of job pgha
	Alerts []Series // ALERTS as the lab's Prometheus evaluated them
	Nodes  []Node
}

var dirRe = regexp.MustCompile(`^(\d\d)-([a-z0-9-]+)$`)

// Load reads every episode under dir, ordered by number.
func Load(dir string) ([]Episode, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var eps []Episode
	for _, e := range ents {
		if !e.IsDir() || !dirRe.MatchString(e.Name()) {
			continue
		}
		ep, err := LoadEpisode(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].Meta.Number < eps[j].Meta.Number })
	return eps, nil
}

// LoadEpisode reads one episode directory.
func LoadEpisode(dir string) (Episode, error) {
	ep := Episode{Dir: dir}
	if err := readJSON(filepath.Join(dir, "meta.json"), &ep.Meta); err != nil {
		return ep, err
	}
	f, err := os.Open(filepath.Join(dir, "series.json.gz"))
	if err != nil {
		return ep, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return ep, err
	}
	if err := json.NewDecoder(zr).Decode(&ep.Series); err != nil {
		return ep, fmt.Errorf("series.json.gz: %w", err)
	}
	if err := readJSON(filepath.Join(dir, "alerts.json"), &ep.Alerts); err != nil {
		return ep, err
	}
	for _, s := range append(append([]Series{}, ep.Series...), ep.Alerts...) {
		if len(s.T) != len(s.V) {
			return ep, fmt.Errorf("series %v: %d timestamps, %d values", s.Labels, len(s.T), len(s.V))
		}
	}
	for _, n := range ep.Meta.RunningNodesAtEnd {
		nd := Node{Name: n}
		nd.CrmMonXML, _ = os.ReadFile(filepath.Join(dir, "nodes", n+".crm_mon.xml"))
		b, _ := os.ReadFile(filepath.Join(dir, "nodes", n+".check.txt"))
		nd.Check = string(b)
		if b, err := os.ReadFile(filepath.Join(dir, "nodes", n+".check.exit")); err == nil {
			nd.CheckExit, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		} else {
			nd.CheckExit = -1
		}
		ep.Nodes = append(ep.Nodes, nd)
	}
	return ep, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// Step is the lab's scrape and rule evaluation interval.
const Step = 5000 // ms

// PromotionHold is how long before the fault the last promotion (a
// recovery's switchback) must lie: run.sh's PGHA_SCENARIO_PROMOTION_HOLD.
// The check names a promotion followed within two minutes by a node loss or
// failure as the failover, so a younger one records the recovery, not the
// scenario.
const PromotionHold = 150 * time.Second

// Grid returns the evaluation grid of the episode: the slot times (ms after
// the fault) from the start of the baseline to the end of the recording. A
// slot holds each target's scrape within half a step of it. The last slot
// ends a scrape timeout (one step) before the recording's end (the query
// time, EndMS): the scrape of an unreachable target is written, stamped with
// its start, only when its timeout expires, so the slot just before the
// query can lack it.
func (ep Episode) Grid() []int64 {
	start := -ep.Meta.BaselineMS
	var g []int64
	for t := start; t+Step/2 <= ep.Meta.EndMS-Step; t += Step {
		g = append(g, t)
	}
	return g
}

// Slots puts a series on the grid: for each slot the sample scraped within
// half a step of it, or ok=false when the scrape had no such sample.
func (s Series) Slots(grid []int64) (vals []float64, ok []bool) {
	vals = make([]float64, len(grid))
	ok = make([]bool, len(grid))
	j := 0
	for i, g := range grid {
		for j < len(s.T) && s.T[j] < g-Step/2 {
			j++
		}
		if j < len(s.T) && s.T[j] < g+Step/2 {
			vals[i], ok[i] = float64(s.V[j]), true
		}
	}
	return vals, ok
}

// volatile series change on every scrape by nature (durations, positions,
// ages, counters); they do not count as "the metrics saw the fault".
var volatile = regexp.MustCompile(`_seconds$|_seconds_total$|_bytes$|_total$|_timestamp|_lsn|_lag|_age|_duration|_count$|_xlog_location|_last_`)

// Change is the first change of the exporters' view after the fault.
type Change struct {
	MS     int64
	Series string // the series that changed, in PromQL notation
	From   string
	To     string
}

// FirstChange returns the first sample after the fault at which a
// non-volatile series differs from its value at the fault (appearing,
// changing or, when its target is still scraped, disappearing).
func (ep Episode) FirstChange() (Change, bool) {
	best := Change{MS: math.MaxInt64}
	upAt := map[string][]int64{} // instance -> times of successful scrapes
	for _, s := range ep.Series {
		if s.Name() == "up" {
			for i, t := range s.T {
				if s.V[i] == 1 {
					upAt[s.Labels["instance"]] = append(upAt[s.Labels["instance"]], t)
				}
			}
		}
	}
	for _, s := range ep.Series {
		if volatile.MatchString(s.Name()) || len(s.T) == 0 {
			continue
		}
		before, have := "absent", false
		var v0 Value
		last := -1
		for i, t := range s.T {
			if t <= 0 {
				v0, have, last = s.V[i], true, i
			}
		}
		if have {
			before = fmtV(v0)
		}
		for i := last + 1; i < len(s.T); i++ {
			if !have || s.V[i] != v0 {
				if s.T[i] < best.MS {
					best = Change{s.T[i], Selector(s.Labels), before, fmtV(s.V[i])}
				}
				break
			}
		}
		// Disappeared while its exporter still answered.
		if have {
			lt := s.T[len(s.T)-1]
			for _, t := range upAt[s.Labels["instance"]] {
				if t > lt+Step/2 && t > 0 {
					if t < best.MS {
						best = Change{t, Selector(s.Labels), before, "absent"}
					}
					break
				}
			}
		}
	}
	return best, best.MS != math.MaxInt64
}

// Firing is an alert the lab's Prometheus fired: labels, the first and
// last time (ms after the fault) it was firing, and whether it was already
// firing in the 15 s before the fault (Before: a PghaFailoverRecent of the
// previous scenario's recovery, which may switch the primary back).
type Firing struct {
	Labels      map[string]string
	First, Last int64
	Before      bool
}

// FiredAlerts lists the alerts that were firing after the fault, ordered by
// when they first fired.
func (ep Episode) FiredAlerts() []Firing {
	var out []Firing
	for _, s := range ep.Alerts {
		if s.Labels["alertstate"] != "firing" {
			continue
		}
		f := Firing{Labels: map[string]string{}, First: math.MaxInt64, Last: math.MinInt64}
		for k, v := range s.Labels {
			if k != "__name__" && k != "alertstate" {
				f.Labels[k] = v
			}
		}
		for _, t := range s.T {
			if t <= 0 && t > -3*Step { // three rule evaluations
				f.Before = true
			}
			if t > 0 && t < f.First {
				f.First = t
			}
			if t > f.Last {
				f.Last = t
			}
		}
		if f.First != math.MaxInt64 {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].First != out[j].First {
			return out[i].First < out[j].First
		}
		return Selector(out[i].Labels) < Selector(out[j].Labels)
	})
	return out
}

// Selector renders labels as name{k="v",...} (keys sorted, __name__ first).
func Selector(l map[string]string) string {
	var keys []string
	for k := range l {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(l["__name__"])
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, l[k])
	}
	b.WriteByte('}')
	return b.String()
}

func fmtV(v Value) string { return strconv.FormatFloat(float64(v), 'g', -1, 64) }

// Settled returns the time of the last status change and the final status line.
func (ep Episode) Settled() (int64, string) {
	tl := ep.Meta.StatusTimeline
	if len(tl) == 0 {
		return 0, ""
	}
	return tl[len(tl)-1].MS, tl[len(tl)-1].Line
}
