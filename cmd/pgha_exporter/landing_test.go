package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/collector"
	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/pg/pgtest"
)

var (
	factRE = regexp.MustCompile(`data-fact="([^"]+)">([^<]*)<`)
	hrefRE = regexp.MustCompile(`href="([^"]*)"`)
)

// get fetches a page of the exporter and returns its status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// landingFacts polls "/" until the page shows the cluster (the first
// snapshot arrived) and returns the page and its data-fact values.
func landingFacts(t *testing.T, e *exporter) (string, map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, "http://"+e.addr+"/")
		facts := map[string]string{}
		for _, m := range factRE.FindAllStringSubmatch(body, -1) {
			facts[m[1]] = m[2]
		}
		if code == http.StatusOK && facts["snapshot-age"] != "" {
			return body, facts
		}
		if time.Now().After(deadline) {
			t.Fatalf("the landing page shows no cluster summary (status %d):\n%s\n%s", code, body, e.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLandingPage: the real binary over generated fixtures shows the facts
// the fixtures' README states (primary per promotable clone, sync and async
// standbys from the pgsql attributes, quorum, DC, failed resources), and
// every link on the page answers 200; paths it does not link answer 404.
func TestLandingPage(t *testing.T) {
	gen := crmtest.Generated(t)
	for _, tc := range []struct {
		scenario, node string
		want           map[string]string
	}{
		{"healthy", "pgdb1", map[string]string{
			"cluster-name": "pgcluster", "local-node": "pgdb1", "quorum": "yes", "dc": "pgdb3", "nodes-online": "3 of 3",
			"primary:mspostgresql": "pgdb1", "sync:postgresql": "pgdb2", "async:postgresql": "pgdb3",
			"failed-resources": "0", "failed-actions": "0", "collectors": "pacemaker"}},
		// Failover done: the new primary, the remaining standby now sync.
		{"primary-node-lost-failover", "pgdb2", map[string]string{
			"cluster-name": "pgcluster", "local-node": "pgdb2", "quorum": "yes", "dc": "pgdb3", "nodes-online": "2 of 3",
			"primary:mspostgresql": "pgdb2", "sync:postgresql": "pgdb3", "async:postgresql": "-",
			"failed-resources": "0"}},
		// Before the cluster reacted: pgdb1 still shows Promoted but failed,
		// so it is no primary (crm.Status.Primaries).
		{"primary-monitor-failed", "pgdb1", map[string]string{
			"primary:mspostgresql": "none", "sync:postgresql": "pgdb2", "async:postgresql": "pgdb3",
			"failed-resources": "1", "failed-actions": "1"}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			dir := filepath.Join(gen, tc.scenario)
			e := start(t, "http", "--crm.mon-file="+filepath.Join(dir, "crm_mon.xml"), "--crm.cib-file="+filepath.Join(dir, "cib.xml"),
				"--crm.node-name="+tc.node, "--no-collector.corosync", "--no-collector.postgres")
			body, facts := landingFacts(t, e)
			for k, v := range tc.want {
				if facts[k] != v {
					t.Errorf("%s = %q, want %q", k, facts[k], v)
				}
			}
			if facts["version"] == "" {
				t.Errorf("no version on the page")
			}
			if p := facts["problem"]; p != "" {
				t.Errorf("problem shown for a fresh snapshot: %q", p)
			}
			base, _ := url.Parse("http://" + e.addr + "/")
			links := hrefRE.FindAllStringSubmatch(body, -1)
			seen := map[string]bool{}
			for _, m := range links {
				ref, err := url.Parse(m[1])
				if err != nil {
					t.Errorf("bad link %q: %v", m[1], err)
					continue
				}
				u := base.ResolveReference(ref)
				seen[u.Path] = true
				if code, _ := get(t, u.String()); code != http.StatusOK {
					t.Errorf("link %q answers %d", m[1], code)
				}
			}
			for _, p := range []string{"/metrics", snapshotPath} {
				if !seen[p] {
					t.Errorf("no link to %s among %q", p, links)
				}
			}
			for _, p := range []string{"/debug/pprof/", "/favicon.ico", "/metricsx"} {
				if code, _ := get(t, "http://"+e.addr+p); code != http.StatusNotFound {
					t.Errorf("%s answers %d, want 404", p, code)
				}
			}
		})
	}
}

// TestLandingPageBounded: with 32 nodes and 500 resources the page stays
// short, and a long list is cut with "+N more".
func TestLandingPageBounded(t *testing.T) {
	dir := filepath.Join(crmtest.Generated(t), "large-32n-500r")
	data, err := os.ReadFile(filepath.Join(dir, "crm_mon.xml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := crm.Parse(data, crm.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	state := collector.RefreshState[*crm.Snapshot]{Value: &crm.Snapshot{Status: st, LocalNode: "node01"}, Have: true, LastSuccess: now}
	s := summarizePacemaker(state, now, 30*time.Second)
	if len(s.Clones) != 1 || s.Clones[0].Primaries != "node01" || s.NodesOnline != "32 of 32" {
		t.Errorf("summary of large-32n-500r: %+v", s)
	}
	var names []string
	for _, n := range st.Nodes {
		names = append(names, n.Name)
	}
	if got, want := capList(names, "-"), "node01, node02, node03, node04, node05, node06, node07, node08 +24 more"; got != want {
		t.Errorf("capList of 32 nodes = %q, want %q", got, want)
	}
	var b strings.Builder
	if err := landingTemplate.Execute(&b, landingData{Version: "v", MetricsPath: "/metrics", SnapshotPath: snapshotPath, Pacemaker: s}); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 4096 {
		t.Errorf("landing page of %d bytes for large-32n-500r, want at most 4096", b.Len())
	}
}

// TestLandingPageHidesPassword: with each hostile password in a DSN that
// fails to connect, the landing page (fetched after the postgres collector
// failed) is the same as with a plain password and carries no fragment of
// the password nor any part of the DSN.
func TestLandingPageHidesPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the exporter once per password")
	}
	port := closedPort(t)
	age := regexp.MustCompile(`data-fact="snapshot-age">[^<]*<`)
	page := func(pw string) string {
		e := startFailingPG(t, pw, port)
		defer e.stop(t)
		body, _ := landingFacts(t, e)
		return age.ReplaceAllString(body, `data-fact="snapshot-age">#<`)
	}
	ref := page(pgtest.ReferencePassword)
	for _, pw := range append([]string{pgtest.ReferencePassword}, pgtest.HostilePasswords...) {
		if pw == "" {
			continue
		}
		out := ref
		if pw != pgtest.ReferencePassword {
			out = page(pw)
			if l := pgtest.Leaks(out, ref, pw); len(l) > 0 {
				t.Errorf("password %q: the landing page leaks %q", pw, l)
			}
			if out != ref {
				t.Errorf("password %q: the landing page differs from a plain password's:\n%s\nwant\n%s", pw, out, ref)
			}
		}
		// The DSN's own words: the page has no reason to carry any of them
		// (a password that is an ordinary word is checked by Leaks above).
		for _, s := range []string{"password", "dbname=", "user=", "host=", "port=", "127.0.0.1"} {
			if strings.Contains(strings.ToLower(out), strings.ToLower(s)) {
				t.Errorf("password %q: the landing page contains %q", pw, s)
			}
		}
	}
}
