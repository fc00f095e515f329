package nagios

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// State is a plugin state; its value is the exit code.
type State int

// Plugin states.
const (
	OK       State = 0
	Warning  State = 1
	Critical State = 2
	Unknown  State = 3
)

func (s State) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// ParseState reads ok|warning|critical|unknown (for policy flags).
func ParseState(s string) (State, error) {
	switch strings.ToLower(s) {
	case "ok":
		return OK, nil
	case "warning":
		return Warning, nil
	case "critical":
		return Critical, nil
	case "unknown":
		return Unknown, nil
	}
	return Unknown, fmt.Errorf("invalid state %q (want ok, warning, critical or unknown)", s)
}

// Worse returns the more severe state; UNKNOWN ranks between WARNING and
// CRITICAL as the Monitoring Plugins guidelines order them.
func Worse(a, b State) State {
	rank := map[State]int{OK: 0, Warning: 1, Unknown: 2, Critical: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Class orders findings for a reader on call: what just changed first, then
// other problems, then standing conditions an operator chose.
type Class int

// Finding classes, in the order problems are listed.
const (
	// ClassLead is the change that explains the others: a failover and
	// its new primary (the sync standby or node lost with it follow).
	ClassLead Class = iota
	// ClassEvent is a change of the cluster's shape: no primary, a lost
	// sync standby, a lost node, quorum lost.
	ClassEvent
	// ClassProblem is any other finding.
	ClassProblem
	// ClassStanding is a condition set on purpose (policy findings: fencing
	// disabled, maintenance, a node in standby): it never hides a new problem.
	ClassStanding
)

// Item is one finding of a check.
type Item struct {
	State State
	Text  string
	Class Class
	// Ignored marks a finding a policy flag set to OK: it is listed with
	// -v but never makes the summary.
	Ignored bool
}

// Perf is one perfdata value.
type Perf struct {
	Label    string
	Value    float64
	UOM      string
	Warn     Range
	Crit     Range
	Min, Max *float64
}

// Result is the outcome of one check.
type Result struct {
	What  string // CLUSTER, REPLICATION, COROSYNC, ALL
	Items []Item
	Perf  []Perf
	// Context lines are printed right after the first line whatever the
	// state (the replication summary "PRI pgdb2, sync pgdb3, async -").
	Context []string
}

// Add records a finding.
func (r *Result) Add(s State, format string, args ...any) {
	r.Items = append(r.Items, Item{State: s, Text: fmt.Sprintf(format, args...), Class: ClassProblem})
}

// Event records a change of the cluster's shape, listed before any other
// finding of its state or milder.
func (r *Result) Event(s State, format string, args ...any) {
	r.Items = append(r.Items, Item{State: s, Text: fmt.Sprintf(format, args...), Class: ClassEvent})
}

// Lead records the event that leads every other finding (a failover).
func (r *Result) Lead(s State, format string, args ...any) {
	r.Items = append(r.Items, Item{State: s, Text: fmt.Sprintf(format, args...), Class: ClassLead})
}

// Policy records a standing finding whose state an operator chose
// (--standby=ok ...); it comes after every other problem.
func (r *Result) Policy(s State, format string, args ...any) {
	r.Items = append(r.Items, Item{State: s, Text: fmt.Sprintf(format, args...), Class: ClassStanding, Ignored: s == OK})
}

// PolicyEvent is a policy finding that is also a change of shape (a node
// lost): its state is the operator's, its place is an event's.
func (r *Result) PolicyEvent(s State, format string, args ...any) {
	r.Items = append(r.Items, Item{State: s, Text: fmt.Sprintf(format, args...), Class: ClassEvent, Ignored: s == OK})
}

// AddPerf records a perfdata value.
func (r *Result) AddPerf(p Perf) { r.Perf = append(r.Perf, p) }

// State is the worst item state (OK without items).
func (r *Result) State() State {
	s := OK
	for _, it := range r.Items {
		s = Worse(s, it.State)
	}
	return s
}

// Merge appends another result's items and perfdata (for "all").
func (r *Result) Merge(o Result) {
	r.Items = append(r.Items, o.Items...)
	r.Perf = append(r.Perf, o.Perf...)
	r.Context = append(r.Context, o.Context...)
}

// problems returns the non-OK items in reading order: events, then other
// problems, then standing findings; worst first within a class, stable
// otherwise. A standing finding is never first while anything else is wrong.
func (r *Result) problems() []Item {
	var out []Item
	for _, it := range r.Items {
		if it.State != OK {
			out = append(out, it)
		}
	}
	rank := map[State]int{Critical: 0, Unknown: 1, Warning: 2}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Class != out[j].Class {
			return out[i].Class < out[j].Class
		}
		return rank[out[i].State] < rank[out[j].State]
	})
	return out
}

// Render writes plugin output: "PGHA <WHAT> <STATE> - summary", then
// long-output lines (problems first; OK items too from -v 1), then one
// perfdata line. No '|' ever appears in text. It returns the exit code.
func (r *Result) Render(w io.Writer, verbose int) int {
	state := r.State()
	summary := ""
	probs := r.problems()
	switch len(probs) {
	case 0:
		// As many findings as fit an 80-column pager line.
		room := 80 - len(fmt.Sprintf("PGHA %s %s - ", r.What, state))
		for _, it := range r.Items {
			if it.Ignored {
				continue
			}
			next := it.Text
			if summary != "" {
				next = summary + ", " + it.Text
			}
			if len(next) > room && summary != "" {
				break
			}
			summary = next
		}
	case 1:
		summary = shorten(probs[0].Text, MaxFirstLine-len(fmt.Sprintf("PGHA %s %s - ", r.What, state)))
	default:
		more := fmt.Sprintf(" (+%d more)", len(probs)-1)
		summary = shorten(probs[0].Text, MaxFirstLine-len(fmt.Sprintf("PGHA %s %s - ", r.What, state))-len(more)) + more
	}
	fmt.Fprintf(w, "PGHA %s %s - %s\n", r.What, state, clean(summary))
	for _, c := range r.Context {
		fmt.Fprintf(w, "%s\n", clean(c))
	}
	for _, it := range probs {
		if cmd := hintFor(it.Text); cmd != "" {
			fmt.Fprintf(w, "\\_ [%s] %s -- %s\n", it.State, clean(it.Text), clean(cmd))
		} else {
			fmt.Fprintf(w, "\\_ [%s] %s\n", it.State, clean(it.Text))
		}
	}
	if verbose >= 1 {
		for _, it := range r.Items {
			switch {
			case it.Ignored:
				fmt.Fprintf(w, "\\_ [OK] %s (ignored by policy)\n", clean(it.Text))
			case it.State == OK:
				fmt.Fprintf(w, "\\_ [OK] %s\n", clean(it.Text))
			}
		}
	}
	if len(r.Perf) > 0 {
		parts := make([]string, 0, len(r.Perf))
		for _, p := range r.Perf {
			if s := p.String(); s != "" {
				parts = append(parts, s)
			}
		}
		fmt.Fprintf(w, "| %s\n", strings.Join(parts, " "))
	}
	return int(state)
}

// clean keeps text free of the perfdata separator and of line breaks.
func clean(s string) string {
	return strings.NewReplacer("|", "/", "\n", " ", "\r", " ").Replace(s)
}

// String renders 'label'=value[UOM];warn;crit;min;max, or "" for a value
// perfdata cannot carry (NaN, ±Inf).
func (p Perf) String() string {
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		return ""
	}
	label := strings.NewReplacer("'", "", "=", "_").Replace(p.Label)
	if strings.ContainsAny(label, " ") {
		label = "'" + label + "'"
	}
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return num(*v)
	}
	s := fmt.Sprintf("%s=%s%s;%s;%s;%s;%s", label, num(p.Value), p.UOM, p.Warn, p.Crit, f(p.Min), f(p.Max))
	return strings.TrimRight(s, ";")
}

// num renders a value for text; Pacemaker's INFINITY reads as such.
func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "INFINITY"
	case math.IsInf(v, -1):
		return "-INFINITY"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ptr returns a pointer to v (for Perf.Min/Max).
func ptr(v float64) *float64 { return &v }

// MaxFirstLine bounds the first line, the one a pager shows: the whole
// finding stays in the long output below it.
const MaxFirstLine = 200

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n || n < 4 {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
