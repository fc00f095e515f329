package main

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/version"

	"github.com/pgha/pgha_exporter/collector"
	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
)

// Bounds of the landing page: a cluster of hundreds of nodes or clones
// still gives a short page.
const (
	landingMaxItems = 8   // names in one list, then "+N more"
	landingMaxRows  = 10  // promotable clones or pgsql resources, then "+N more"
	landingMaxError = 200 // characters of a refresh error
)

// landingPage serves "/": a short summary of the cluster from the snapshots
// the refreshers already hold (it never runs crm_mon or queries
// PostgreSQL), and links to the pages that answer.
type landingPage struct {
	metricsPath string
	pacemaker   *collector.Refresher[*crm.Snapshot] // nil: collector disabled
	corosync    *collector.Refresher[*corosync.Status]
	postgres    bool
	crmMaxAge   time.Duration
}

// landingData is what the template renders; every string is escaped by
// html/template.
type landingData struct {
	Version, Revision string
	MetricsPath       string
	SnapshotPath      string
	Pacemaker         *pacemakerSummary
	Collectors        []string
}

type pacemakerSummary struct {
	Problem                    string // no snapshot yet, or stale: why
	Age                        string
	LastError                  string
	ClusterName, LocalNode     string
	Quorum, DC, NodesOnline    string
	Clones                     []cloneSummary
	ClonesMore                 int
	Pgsql                      []pgsqlSummary
	PgsqlMore                  int
	FailedResources, FailedOps int
}

type cloneSummary struct{ ID, Primaries string }

type pgsqlSummary struct{ Resource, Sync, Async string }

var landingTemplate = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pgha_exporter</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 60em; }
th { text-align: left; padding-right: 1.5em; font-weight: normal; color: #555; }
td { font-weight: bold; }
.problem { color: #b00; }
</style>
</head>
<body>
<h1>pgha_exporter</h1>
<p>Prometheus exporter for PostgreSQL HA clusters on Pacemaker/Corosync.
Version <span data-fact="version">{{.Version}}</span>{{with .Revision}} (revision {{.}}){{end}}.</p>
<h2>Cluster</h2>
{{with .Pacemaker}}{{if .Problem}}<p class="problem" data-fact="problem">{{.Problem}}</p>{{end}}
{{if .Age}}<table>
<tr><th>Cluster name</th><td data-fact="cluster-name">{{.ClusterName}}</td></tr>
<tr><th>This node</th><td data-fact="local-node">{{.LocalNode}}</td></tr>
<tr><th>Quorum</th><td data-fact="quorum">{{.Quorum}}</td></tr>
<tr><th>DC</th><td data-fact="dc">{{.DC}}</td></tr>
<tr><th>Nodes online</th><td data-fact="nodes-online">{{.NodesOnline}}</td></tr>
{{range .Clones}}<tr><th>Primary of {{.ID}}</th><td data-fact="primary:{{.ID}}">{{.Primaries}}</td></tr>
{{end}}{{with .ClonesMore}}<tr><th>Other promotable clones</th><td>+{{.}} more</td></tr>
{{end}}{{range .Pgsql}}<tr><th>Standbys of {{.Resource}} (pgsql)</th><td>sync <span data-fact="sync:{{.Resource}}">{{.Sync}}</span>, async <span data-fact="async:{{.Resource}}">{{.Async}}</span></td></tr>
{{end}}{{with .PgsqlMore}}<tr><th>Other pgsql resources</th><td>+{{.}} more</td></tr>
{{end}}<tr><th>Failed resources</th><td data-fact="failed-resources">{{.FailedResources}}</td></tr>
<tr><th>Failed actions</th><td data-fact="failed-actions">{{.FailedOps}}</td></tr>
<tr><th>Snapshot age</th><td data-fact="snapshot-age">{{.Age}}</td></tr>
{{with .LastError}}<tr><th>Last refresh failed</th><td class="problem" data-fact="last-error">{{.}}</td></tr>
{{end}}</table>{{end}}
{{else}}<p data-fact="problem">The Pacemaker collector is disabled.</p>
{{end}}<p>Collectors: <span data-fact="collectors">{{range $i, $c := .Collectors}}{{if $i}}, {{end}}{{$c}}{{end}}</span>.
The full state is in the metrics; <code>pgha_exporter check --from</code> reads the snapshot.</p>
<h2>Links</h2>
<ul>
<li><a href="{{.MetricsPath}}">Metrics</a></li>
<li><a href="{{.SnapshotPath}}">Snapshot (JSON)</a>: the parsed cluster state that <code>pgha_exporter check --from</code> reads</li>
</ul>
</body>
</html>
`))

func (l *landingPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	d := landingData{Version: version.Version, Revision: version.Revision, MetricsPath: l.metricsPath, SnapshotPath: snapshotPath}
	if l.pacemaker != nil {
		d.Collectors = append(d.Collectors, "pacemaker")
		d.Pacemaker = summarizePacemaker(l.pacemaker.State(), time.Now(), l.crmMaxAge)
	}
	if l.corosync != nil {
		d.Collectors = append(d.Collectors, "corosync")
	}
	if l.postgres {
		d.Collectors = append(d.Collectors, "postgres")
	}
	if len(d.Collectors) == 0 {
		d.Collectors = []string{"none"}
	}
	var b bytes.Buffer
	if err := landingTemplate.Execute(&b, d); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// summarizePacemaker reads the facts of the landing page from one refresher
// state. The primary is crm.Status.Primaries, as for the metrics and checks.
func summarizePacemaker(st collector.RefreshState[*crm.Snapshot], now time.Time, maxAge time.Duration) *pacemakerSummary {
	s := &pacemakerSummary{}
	if st.LastErr != nil {
		s.LastError = cut(st.LastErr.Error(), landingMaxError)
	}
	if err := collector.Usable(st, now, maxAge, "pacemaker"); err != nil {
		s.Problem = cut(err.Error(), landingMaxError)
	}
	if !st.Have || st.Value == nil || st.Value.Status == nil {
		return s
	}
	snap := st.Value
	status := snap.Status
	s.Age = strconv.Itoa(int(now.Sub(st.LastSuccess).Seconds())) + " s"
	s.ClusterName = orUnknown(snap.ClusterName, "unknown (no cluster-name in the CIB, or the CIB was not read)")
	s.LocalNode = orUnknown(snap.LocalNode, "unknown")
	s.Quorum, s.DC = "unknown", "none"
	if sum := status.Summary; sum != nil && sum.DC != nil {
		if sum.DC.Name != "" {
			s.DC = sum.DC.Name
		}
		if q := sum.DC.WithQuorum; q != nil {
			s.Quorum = map[bool]string{true: "yes", false: "NO"}[*q]
		}
	}
	online := 0
	for _, n := range status.Nodes {
		if n.Online != nil && *n.Online {
			online++
		}
	}
	s.NodesOnline = fmt.Sprintf("%d of %d", online, len(status.Nodes))
	for _, c := range status.Clones {
		if !c.Promotable {
			continue
		}
		if len(s.Clones) == landingMaxRows {
			s.ClonesMore++
			continue
		}
		s.Clones = append(s.Clones, cloneSummary{ID: c.ID, Primaries: capList(status.Primaries(c.ID), "none")})
	}
	for _, rsc := range status.PrimitivesByAgent(crm.AgentPgsql) {
		if len(s.Pgsql) == landingMaxRows {
			s.PgsqlMore++
			continue
		}
		sync, async := snap.PgsqlStandbys(rsc)
		s.Pgsql = append(s.Pgsql, pgsqlSummary{Resource: rsc, Sync: capList(sync, "-"), Async: capList(async, "-")})
	}
	for _, r := range status.Resources {
		if r.Failed != nil && *r.Failed {
			s.FailedResources++
		}
	}
	s.FailedOps = len(status.Failures)
	return s
}

// capList joins at most landingMaxItems names, then says how many more.
func capList(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	if len(items) <= landingMaxItems {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s +%d more", strings.Join(items[:landingMaxItems], ", "), len(items)-landingMaxItems)
}

func orUnknown(s, unknown string) string {
	if s == "" {
		return unknown
	}
	return s
}

// cut shortens s to at most n characters (runes), marking the cut.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
