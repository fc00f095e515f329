package alerts

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// The rule tests' input series are checked against expositions the real
// exporter produced (TestRuleTestInputsAreReal). Besides the collector
// goldens, which hold one collector's output each, testdata/exporter keeps
// whole scrapes of the real pgha_exporter binary: the Pacemaker state of the
// generated crm_mon fixtures (crm/testdata/generated, rendered by the real
// crm_mon) as each node's exporter sees it, the lab's recorded corosync tool
// outputs (3 members, quorate), and a PostgreSQL that is down (a closed loopback port), or the
// recorded failures of a stopped cluster stack. This test builds the binary,
// runs it over every state and compares the scrape with the stored file;
// `go test ./alerts/ -run TestExporterExpositions -update` rewrites them
// (read the diff).

var update = flag.Bool("update", false, "rewrite testdata/exporter/*.prom from the real exporter binary")

// exporterState is one input of the real exporter.
type exporterState struct {
	name     string // file name stem
	monFile  string // crm_mon XML, relative to the module root
	cibFile  string // CIB, relative to the module root ("" for none)
	node     string // --crm.node-name
	corosync string // directory of corosync-quorumtool-sp.txt and corosync-cfgtool-s.txt, or "errors" for a stopped stack
}

const (
	generatedDir = "crm/testdata/generated"
	liveDir      = "crm/testdata/corpus/live-pcmk-2.1.5-pgsql-4.12-pg15"
)

func exporterStates() []exporterState {
	var out []exporterState
	for _, fx := range []string{"healthy", "node-standby", "sync-standby-node-lost", "primary-node-lost-failover",
		"no-quorum", "maintenance-mode", "cli-ban", "failcount-at-threshold", "primary-monitor-failed"} {
		for _, node := range []string{"pgdb1", "pgdb2", "pgdb3"} {
			out = append(out, exporterState{
				name:     fx + "__" + node + "__pg-down",
				monFile:  filepath.Join(generatedDir, fx, "crm_mon.xml"),
				cibFile:  filepath.Join(generatedDir, fx, "cib.xml"),
				node:     node,
				corosync: filepath.Join(liveDir, "05-primary-postgres-killed-failover", node),
			})
		}
	}
	// The cluster stack stopped on the node: crm_mon and the corosync tools
	// answer "not running" (recorded in the lab), PostgreSQL is down.
	out = append(out, exporterState{
		name:     "stack-stopped__pgdb1__pg-down",
		monFile:  filepath.Join(liveDir, "errors", "crm_mon.cluster-not-running.xml"),
		node:     "pgdb1",
		corosync: filepath.Join(liveDir, "errors"),
	})
	return out
}

// fakeTool writes a script that prints a recorded tool output and exits
// with its recorded status (a trailing "rc=N" line of the recording).
func fakeTool(t *testing.T, dir, name, recording string) string {
	t.Helper()
	data, err := os.ReadFile(recording)
	if err != nil {
		t.Fatal(err)
	}
	rc := "0"
	if m := regexp.MustCompile(`(?m)^rc=(\d+)\s*\z`).FindSubmatchIndex(data); m != nil {
		rc = string(data[m[2]:m[3]])
		data = data[:m[0]]
	}
	out := filepath.Join(dir, name+".out")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, name)
	body := fmt.Sprintf("#!/bin/sh\ncat '%s'\nexit %s\n", out, rc)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// volatile series change from run to run; their value is stored as 0.
var volatileRE = regexp.MustCompile(`^pgha_(scrape_collector_duration_seconds|pacemaker_refresh_duration_seconds|corosync_refresh_duration_seconds|pacemaker_snapshot_age_seconds|corosync_snapshot_age_seconds)\b`)

// normalise keeps the pgha_* lines of a scrape, sorted by family as the
// exporter printed them, with volatile values set to 0 and the build
// labels blanked.
func normalise(scrape []byte) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(scrape))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	buildRE := regexp.MustCompile(`="[^"]*"`)
	for sc.Scan() {
		line := sc.Text()
		name := line
		if strings.HasPrefix(line, "# ") {
			if f := strings.Fields(line); len(f) >= 3 {
				name = f[2]
			}
		}
		if !strings.HasPrefix(name, "pgha_") {
			continue
		}
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "pgha_exporter_build_info"):
			line = buildRE.ReplaceAllString(line, `=""`)
		case volatileRE.MatchString(line):
			line = line[:strings.LastIndex(line, " ")] + " 0"
		}
		out.WriteString(line + "\n")
	}
	return out.Bytes()
}

// scrapeReady polls /metrics until both background refreshers have run once
// (their refresh_success series appear), with a deadline.
func scrapeReady(t *testing.T, url string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte("\npgha_pacemaker_refresh_success ")) && bytes.Contains(body, []byte("\npgha_corosync_refresh_success ")) {
				return body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: refreshers did not report within 30 s (last error %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func buildExporter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pgha_exporter")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/pgha_exporter")
	cmd.Dir = crmtest.ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runExporter starts the binary on one state and returns its normalised scrape.
func runExporter(t *testing.T, bin string, st exporterState) []byte {
	t.Helper()
	root := crmtest.ModuleRoot(t)
	dir := t.TempDir()
	// PostgreSQL is down: nothing listens on the port of a closed listener.
	pgAddr := crmtest.FreeAddr(t)
	host, port, _ := net.SplitHostPort(pgAddr)
	dsn := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsn, []byte(fmt.Sprintf("host=%s port=%s user=pgha dbname=postgres sslmode=disable", host, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	quorum, cfg := "corosync-quorumtool-sp.txt", "corosync-cfgtool-s.txt"
	if filepath.Base(st.corosync) == "errors" {
		quorum, cfg = "corosync-quorumtool.not-running.txt", "corosync-cfgtool.not-running.txt"
	}
	addr := crmtest.FreeAddr(t)
	args := []string{
		"--web.listen-address=" + addr,
		"--crm.mon-file=" + filepath.Join(root, st.monFile),
		"--crm.node-name=" + st.node,
		"--corosync.stack=corosync",
		"--corosync.quorumtool-path=" + fakeTool(t, dir, "corosync-quorumtool", filepath.Join(root, st.corosync, quorum)),
		"--corosync.cfgtool-path=" + fakeTool(t, dir, "corosync-cfgtool", filepath.Join(root, st.corosync, cfg)),
		"--pg.dsn-file=" + dsn,
		"--pg.connect-timeout=2s",
	}
	if st.cibFile != "" {
		args = append(args, "--crm.cib-file="+filepath.Join(root, st.cibFile))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter log:\n%s", logs.String())
		}
	}()
	return normalise(scrapeReady(t, "http://"+addr+"/metrics"))
}

// TestExporterExpositions: the stored scrapes are what the real exporter
// binary emits today, and they show the facts the rules rely on.
func TestExporterExpositions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the exporter binary")
	}
	bin := buildExporter(t)
	states := exporterStates()
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			got := runExporter(t, bin, st)
			file := filepath.Join("testdata", "exporter", st.name+".prom")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test ./alerts/ -run TestExporterExpositions -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the exporter's scrape differs from %s; rerun with -update and read the diff", file)
			}
			checkExpositionFacts(t, st, string(got))
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "exporter", "*.prom"))
	if len(files) != len(states) {
		t.Errorf("%d files in testdata/exporter, %d states: remove the stale ones", len(files), len(states))
	}
}

// checkExpositionFacts asserts, independently of the stored file, what the
// rules depend on.
func checkExpositionFacts(t *testing.T, st exporterState, expo string) {
	t.Helper()
	has := func(s string) bool { return strings.Contains(expo, "\n"+s+"\n") || strings.HasPrefix(expo, s+"\n") }
	// PostgreSQL down: up 0 with collector success 0, and nothing else of it.
	for _, s := range []string{"pgha_postgres_up 0", `pgha_scrape_collector_success{collector="postgres"} 0`} {
		if !has(s) {
			t.Errorf("missing %q", s)
		}
	}
	if regexp.MustCompile(`(?m)^pgha_(postgres_[a-tv-z]|local_)`).MatchString(expo) {
		t.Error("PostgreSQL down but other pgha_postgres_*/pgha_local_* series exported")
	}
	if st.corosync == filepath.Join(liveDir, "errors") {
		for _, s := range []string{`pgha_scrape_collector_success{collector="pacemaker"} 0`, `pgha_scrape_collector_success{collector="corosync"} 0`} {
			if !has(s) {
				t.Errorf("missing %q", s)
			}
		}
		if regexp.MustCompile(`(?m)^pgha_(pacemaker_(node|resource|local|quorate|dc)|pgsql_|corosync_quorate)`).MatchString(expo) {
			t.Error("a failed collector exported cluster series")
		}
		return
	}
	for _, s := range []string{
		`pgha_scrape_collector_success{collector="pacemaker"} 1`,
		`pgha_scrape_collector_success{collector="corosync"} 1`,
		`pgha_pacemaker_local_node_info{node="` + st.node + `"} 1`,
		`pgha_pacemaker_cluster_info{cluster_name="pgcluster"} 1`,
		`pgha_corosync_votes{type="total"} 3`,
		`pgha_corosync_votes{type="quorum"} 2`,
	} {
		if !has(s) {
			t.Errorf("missing %q", s)
		}
	}
}
