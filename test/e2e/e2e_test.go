// Package e2e runs the exporter, the check command and the alert rules
// against the real three-node cluster of test/lab: for each fault it asserts
// what the exporters export, what `pgha_exporter check` says on the affected
// nodes and which alerts Prometheus fires, and it prints detection latencies.
//
// It needs root and a Debian 12 machine; it runs when CI is set or
// PGHA_E2E=1 (it builds network namespaces and starts daemons).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var (
	root  string // the repository
	labSh string
	bin   string
	nodes = []string{"pgdb1", "pgdb2", "pgdb3"}
	ips   = map[string]string{"pgdb1": "10.77.0.11", "pgdb2": "10.77.0.12", "pgdb3": "10.77.0.13"}
)

const promURL = "http://10.77.0.20:9090"

func TestMain(m *testing.M) {
	if os.Getuid() != 0 || (os.Getenv("CI") == "" && os.Getenv("PGHA_E2E") == "") {
		fmt.Println("e2e: skipped (needs root, and CI=true or PGHA_E2E=1: it builds a 3-node cluster in network namespaces)")
		os.Exit(0)
	}
	wd, _ := os.Getwd()
	root = filepath.Clean(filepath.Join(wd, "..", ".."))
	labSh = filepath.Join(root, "test", "lab", "lab.sh")
	bin = filepath.Join(root, "bin", "pgha_exporter")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pgha_exporter")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Printf("e2e: go build: %v\n%s", err, out)
		os.Exit(1)
	}
	os.Setenv("PGHA_EXPORTER_BIN", bin)
	// The exporters read the node's PostgreSQL over its Unix socket.
	os.Setenv("PGHA_PG_DSN", "host=/run/postgresql user=postgres dbname=postgres")
	os.Setenv("PGHA_EXPORTER_ARGS", "--web.listen-address={ip}:{port} --crm.node-name={node} --crm.refresh-interval=2s --corosync.refresh-interval=3s")
	os.Exit(m.Run())
}

// lab runs test/lab/lab.sh with a deadline.
func lab(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{labSh}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lab.sh %s: %v\n%s", strings.Join(args, " "), err, tail(out, 40))
	}
	return string(out)
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// monCurl fetches a URL from inside the lab's monitoring namespace.
func monCurl(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ip", "netns", "exec", "pgmon", "curl", "-sf", "--max-time", "5", url).Output()
}

// scrape returns one exporter's metric families, or nil when it is down.
func scrape(node string) map[string]*dto.MetricFamily {
	body, err := monCurl("http://" + ips[node] + ":9732/metrics")
	if err != nil {
		return nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	return mfs
}

// is reports whether some series of name whose labels include want
// ("k=v" pairs) has value v.
func is(mfs map[string]*dto.MetricFamily, v float64, name string, want ...string) bool {
	for _, m := range mfs[name].GetMetric() {
		if matches(m, want) && m.GetGauge().GetValue() == v {
			return true
		}
	}
	return false
}

func matches(m *dto.Metric, want []string) bool {
	labels := map[string]string{}
	for _, lp := range m.GetLabel() {
		labels[lp.GetName()] = lp.GetValue()
	}
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if labels[k] != v {
			return false
		}
	}
	return true
}

// firing returns the alerts Prometheus reports, by name, with their state.
func alerts() map[string]string {
	list, err := alertList()
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, a := range list {
		if out[a.Labels["alertname"]] != "firing" {
			out[a.Labels["alertname"]] = a.State
		}
	}
	return out
}

type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

// alertList returns every alert of the lab's Prometheus.
func alertList() ([]alert, error) {
	body, err := monCurl(promURL + "/api/v1/alerts")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Data struct {
			Alerts []alert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	return doc.Data.Alerts, nil
}

// check runs `pgha_exporter check` on a node against the real tools.
func check(t *testing.T, node, what string, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"exec", node, bin, "check", what, "--crm.node-name=" + node, "--stonith-disabled=ok", "-t", "15s"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{labSh}, args...)...)
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("check %s on %s: %v", what, node, err)
	}
	return code, string(out)
}

// waitFor polls cond until it holds and returns how long that took.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		time.Sleep(time.Second)
	}
	t.Fatalf("timed out after %s waiting for %s (last: %s)\nlab: %s", timeout, what, last, labStatus())
	return 0
}

func labStatus() string {
	out, _ := exec.Command("bash", labSh, "status").CombinedOutput()
	return strings.TrimSpace(string(out))
}

// all reports whether cond holds on every listed exporter.
func all(on []string, cond func(map[string]*dto.MetricFamily) bool) (bool, string) {
	for _, n := range on {
		mfs := scrape(n)
		if mfs == nil {
			return false, n + " exporter not answering"
		}
		if !cond(mfs) {
			return false, "not yet on " + n
		}
	}
	return true, ""
}

func others(n string) []string {
	var out []string
	for _, x := range nodes {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}

// pgsqlStatusOf reads a node's pgsql status as exported by an exporter.
func pgsqlStatusOf(mfs map[string]*dto.MetricFamily, node string) string {
	for _, s := range []string{"PRI", "HS:sync", "HS:async", "HS:potential", "HS:connected", "HS:alone", "STOP", "UNKNOWN"} {
		if is(mfs, 1, "pgha_pgsql_status", "node="+node, "status="+s) {
			return s
		}
	}
	return ""
}

type latency struct {
	scenario, metric, alert string
}

var report []latency

func record(t *testing.T, scenario string, metric, alert time.Duration, alertName string) {
	report = append(report, latency{scenario, metric.Round(100 * time.Millisecond).String(), alertName + " " + alert.Round(time.Second).String()})
	t.Logf("%s: metric change after %s, %s firing after %s", scenario, metric.Round(100*time.Millisecond), alertName, alert.Round(time.Second))
}

func waitAlert(t *testing.T, name, state string, timeout time.Duration) {
	t.Helper()
	waitFor(t, "alert "+name+" "+state, timeout, func() (bool, string) {
		a := alerts()
		return a[name] == state, fmt.Sprint(a)
	})
}

func recoverLab(t *testing.T) {
	t.Helper()
	lab(t, 6*time.Minute, "recover")
	lab(t, 4*time.Minute, "wait-state", "healthy", "180")
	waitFor(t, "exporters to see the healthy cluster", 90*time.Second, healthyMetrics)
}

// healthyMetrics: every exporter sees pgdb1 promoted, PRI/HS:sync/HS:async.
func healthyMetrics() (bool, string) {
	return all(nodes, func(m map[string]*dto.MetricFamily) bool {
		return is(m, 1, "pgha_pacemaker_resource_role", "resource=postgresql", "node=pgdb1", "role=promoted") &&
			pgsqlStatusOf(m, "pgdb1") == "PRI" && is(m, 1, "pgha_pgsql_status", "status=HS:sync") &&
			is(m, 1, "pgha_pgsql_status", "status=HS:async") && is(m, 1, "pgha_postgres_up")
	})
}

func TestCluster(t *testing.T) {
	start := time.Now()
	lab(t, 3*time.Minute, "down", "--hard") // never rely on a lab left running
	t.Cleanup(func() {
		out, _ := exec.Command("bash", labSh, "down").CombinedOutput()
		t.Logf("lab down:\n%s", tail(out, 5))
		t.Logf("detection latencies:")
		for _, l := range report {
			t.Logf("  %-36s metric %-8s alert %s", l.scenario, l.metric, l.alert)
		}
		t.Logf("e2e suite took %s", time.Since(start).Round(time.Second))
	})
	lab(t, 8*time.Minute, "up")
	t.Logf("lab up after %s: %s", time.Since(start).Round(time.Second), labStatus())
	waitFor(t, "exporters to see the healthy cluster", 90*time.Second, healthyMetrics)

	for _, sc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"healthy", healthy},
		{"unprivileged-exporter", unprivileged},
		{"sync-standby-postgres-killed", syncStandbyKilled},
		{"primary-postgres-killed", primaryKilled},
		{"primary-power-loss", primaryPowerLoss},
		{"async-standby-network-loss", asyncNetworkLoss},
		{"node-standby", nodeStandby},
		{"primary-vip-rep-failure", vipRepFailure},
		{"both-standbys-power-loss", standbysPowerLoss},
		{"all-postgres-killed", allPostgresKilled},
	} {
		if !t.Run(sc.name, sc.run) {
			// Bring the cluster back (links up, nodes powered on, standby
			// off, re-seeded) so that the next scenario starts healthy.
			t.Logf("%s failed; recovering the lab: %s", sc.name, labStatus())
			recoverLab(t)
		}
	}
}

// waitAlertGone waits until an alert left over from an earlier scenario
// has resolved, so that a "firing" seen later belongs to this fault.
func waitAlertGone(t *testing.T, name string) {
	t.Helper()
	waitFor(t, "alert "+name+" to resolve", 3*time.Minute, func() (bool, string) {
		a := alerts()
		return a != nil && a[name] == "", fmt.Sprint(a)
	})
}

func healthy(t *testing.T) {
	for _, n := range nodes {
		m := scrape(n)
		for _, s := range []string{"pacemaker", "corosync", "postgres"} {
			if !is(m, 1, "pgha_scrape_collector_success", "collector="+s) {
				t.Errorf("%s: collector %s failing", n, s)
			}
		}
		if !is(m, 0, "pgha_local_role_mismatch") {
			t.Errorf("%s: role mismatch", n)
		}
		if !is(m, 1, "pgha_corosync_quorate") {
			t.Errorf("%s: corosync not quorate", n)
		}
	}
	if m := scrape("pgdb1"); !is(m, 1, "pgha_postgres_sync_standbys") || !is(m, 0, "pgha_postgres_in_recovery") {
		t.Error("pgdb1: not a primary with one sync standby")
	}
	for _, what := range []string{"cluster", "replication", "corosync"} {
		if code, out := check(t, "pgdb1", what); code != 0 {
			t.Errorf("check %s on pgdb1: exit %d\n%s", what, code, out)
		}
	}
	// Every rule group evaluated four more times on the healthy cluster.
	evals := func() float64 {
		body, err := monCurl(promURL + "/api/v1/query?query=min(prometheus_rule_group_iterations_total)")
		if err != nil {
			return -1
		}
		var doc struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &doc) != nil || len(doc.Data.Result) == 0 {
			return -1
		}
		v, _ := strconv.ParseFloat(fmt.Sprint(doc.Data.Result[0].Value[1]), 64)
		return v
	}
	from := evals()
	waitFor(t, "four evaluations of every rule group", 60*time.Second, func() (bool, string) {
		n := evals()
		return from >= 0 && n >= from+4, fmt.Sprintf("%v -> %v", from, n)
	})
	for name, state := range alerts() {
		if name != "PghaStonithDisabled" {
			t.Errorf("healthy cluster: alert %s is %s", name, state)
		}
	}
}

func syncStandbyKilled(t *testing.T) {
	m := scrape("pgdb1")
	victim := ""
	for _, n := range []string{"pgdb2", "pgdb3"} {
		if pgsqlStatusOf(m, n) == "HS:sync" {
			victim = n
		}
	}
	if victim == "" {
		t.Fatalf("no HS:sync node: %s", labStatus())
	}
	waitAlertGone(t, "PghaResourceBannedByFailCount")
	t0 := time.Now()
	lab(t, time.Minute, "fault", "kill-postgres", victim)
	metric := waitFor(t, victim+" no longer HS:sync", 120*time.Second, func() (bool, string) {
		return all([]string{"pgdb1"}, func(m map[string]*dto.MetricFamily) bool {
			return pgsqlStatusOf(m, victim) != "HS:sync"
		})
	})
	other := others(victim)
	if other[0] == "pgdb1" {
		other[0] = other[1]
	}
	waitFor(t, other[0]+" HS:sync", 90*time.Second, func() (bool, string) {
		return all([]string{"pgdb1"}, func(m map[string]*dto.MetricFamily) bool {
			return pgsqlStatusOf(m, other[0]) == "HS:sync" && is(m, 1, "pgha_postgres_sync_standbys")
		})
	})
	waitAlert(t, "PghaResourceBannedByFailCount", "firing", 150*time.Second)
	record(t, "sync standby postgres killed", metric, time.Since(t0), "PghaResourceBannedByFailCount")
	if code, out := check(t, "pgdb1", "cluster"); code != 2 || !strings.Contains(out, "banned from "+victim) {
		t.Errorf("check cluster on pgdb1: exit %d\n%s", code, out)
	}
	if code, out := check(t, "pgdb1", "replication"); code != 1 || !strings.Contains(out, victim) {
		t.Errorf("check replication on pgdb1: exit %d\n%s", code, out)
	}
	if code, out := check(t, victim, "replication"); code != 2 {
		t.Errorf("check replication on %s (postgres dead): exit %d\n%s", victim, code, out)
	}
	recoverLab(t)
}

func primaryKilled(t *testing.T) {
	waitAlertGone(t, "PghaResourceBannedByFailCount")
	t0 := time.Now()
	lab(t, time.Minute, "fault", "kill-postgres", "pgdb1")
	newPrimary := ""
	metric := waitFor(t, "a new promoted node", 120*time.Second, func() (bool, string) {
		for _, n := range []string{"pgdb2", "pgdb3"} {
			m := scrape(n)
			if is(m, 1, "pgha_pacemaker_resource_role", "resource=postgresql", "node="+n, "role=promoted") && pgsqlStatusOf(m, n) == "PRI" {
				newPrimary = n
				return true, ""
			}
		}
		return false, labStatus()
	})
	waitFor(t, "the new primary to run PostgreSQL as primary", 60*time.Second, func() (bool, string) {
		return all([]string{newPrimary}, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 0, "pgha_postgres_in_recovery") && is(m, 0, "pgha_local_role_mismatch")
		})
	})
	waitAlert(t, "PghaResourceBannedByFailCount", "firing", 150*time.Second)
	record(t, "primary postgres killed (failover)", metric, time.Since(t0), "PghaResourceBannedByFailCount")
	if code, out := check(t, newPrimary, "cluster"); code != 2 || !strings.Contains(out, "banned from pgdb1") {
		t.Errorf("check cluster on %s: exit %d\n%s", newPrimary, code, out)
	}
	if code, out := check(t, "pgdb1", "replication"); code != 2 {
		t.Errorf("check replication on the dead old primary: exit %d\n%s", code, out)
	}
	if a := alerts(); a["PghaPostgresSplitBrain"] != "" || a["PghaPgsqlNoPrimary"] == "firing" {
		t.Errorf("unexpected alerts after a clean failover: %v", a)
	}
	recoverLab(t)
}

func primaryPowerLoss(t *testing.T) {
	waitAlertGone(t, "PghaNodeOffline")
	t0 := time.Now()
	lab(t, time.Minute, "fault", "power-off", "pgdb1")
	metric := waitFor(t, "pgdb1 offline", 90*time.Second, func() (bool, string) {
		return all([]string{"pgdb2", "pgdb3"}, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 0, "pgha_pacemaker_node_online", "node=pgdb1")
		})
	})
	waitFor(t, "failover away from pgdb1", 120*time.Second, func() (bool, string) {
		return all([]string{"pgdb2", "pgdb3"}, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 1, "pgha_pacemaker_clone_instances", "clone=mspostgresql", "role=promoted") &&
				!is(m, 1, "pgha_pacemaker_resource_role", "resource=postgresql", "node=pgdb1", "role=promoted")
		})
	})
	waitFor(t, "corosync links to node 1 down", 60*time.Second, func() (bool, string) {
		return all([]string{"pgdb2"}, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 0, "pgha_corosync_link_connected", "node_id=1")
		})
	})
	waitAlert(t, "PghaNodeOffline", "firing", 150*time.Second)
	record(t, "primary node power loss", metric, time.Since(t0), "PghaNodeOffline")
	if code, out := check(t, "pgdb2", "corosync"); code != 2 || !strings.Contains(out, "disconnected") {
		t.Errorf("check corosync on pgdb2: exit %d\n%s", code, out)
	}
	if code, out := check(t, "pgdb2", "cluster"); code == 0 || !strings.Contains(out, "pgdb1 OFFLINE") {
		t.Errorf("check cluster on pgdb2: exit %d\n%s", code, out)
	}
	lab(t, 3*time.Minute, "fault", "power-on", "pgdb1")
	recoverLab(t)
}

func asyncNetworkLoss(t *testing.T) {
	victim := ""
	m := scrape("pgdb1")
	for _, n := range []string{"pgdb2", "pgdb3"} {
		if pgsqlStatusOf(m, n) == "HS:async" {
			victim = n
		}
	}
	if victim == "" {
		t.Fatalf("no HS:async node: %s", labStatus())
	}
	waitAlertGone(t, "PghaNodeOffline")
	t0 := time.Now()
	lab(t, time.Minute, "fault", "net-down", victim)
	metric := waitFor(t, victim+" offline for the majority", 90*time.Second, func() (bool, string) {
		return all([]string{"pgdb1"}, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 0, "pgha_pacemaker_node_online", "node="+victim)
		})
	})
	id := strings.TrimPrefix(victim, "pgdb")
	waitFor(t, "pgdb1's link to "+victim+" disconnected", 60*time.Second, func() (bool, string) {
		return all([]string{"pgdb1"}, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 0, "pgha_corosync_link_connected", "node_id="+id)
		})
	})
	// With one knet link a cut-off peer leaves the membership: that is
	// PghaNodeOffline (PghaCorosyncLinkDisconnected is for lost link
	// redundancy while the peer stays a member).
	waitAlert(t, "PghaNodeOffline", "firing", 150*time.Second)
	record(t, "async standby network loss", metric, time.Since(t0), "PghaNodeOffline")
	if m := scrape("pgdb1"); !is(m, 1, "pgha_postgres_sync_standbys") || pgsqlStatusOf(m, "pgdb1") != "PRI" {
		t.Errorf("the primary and its sync standby must be untouched: %s", labStatus())
	}
	if code, out := check(t, "pgdb1", "corosync"); code != 2 {
		t.Errorf("check corosync on pgdb1: exit %d\n%s", code, out)
	}
	if code, out := check(t, "pgdb1", "replication"); code != 0 && code != 1 {
		t.Errorf("check replication on pgdb1: exit %d\n%s", code, out)
	}
	lab(t, time.Minute, "fault", "net-up", victim)
	recoverLab(t)
}

func nodeStandby(t *testing.T) {
	waitAlertGone(t, "PghaNodeStandby")
	t0 := time.Now()
	lab(t, time.Minute, "fault", "standby", "pgdb3")
	metric := waitFor(t, "pgdb3 standby", 60*time.Second, func() (bool, string) {
		return all(nodes, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 1, "pgha_pacemaker_node_standby", "node=pgdb3")
		})
	})
	// PghaNodeStandby waits 30 minutes before firing: pending is what we can see.
	waitAlert(t, "PghaNodeStandby", "pending", 60*time.Second)
	record(t, "node standby", metric, time.Since(t0), "PghaNodeStandby(pending)")
	if code, out := check(t, "pgdb1", "cluster"); code != 1 || !regexp.MustCompile(`node pgdb3 in standby`).MatchString(out) {
		t.Errorf("check cluster: exit %d\n%s", code, out)
	}
	lab(t, time.Minute, "fault", "unstandby", "pgdb3")
	recoverLab(t)
}

// unprivileged: the exporter run as the packages' unprivileged user "pgha"
// (member of haclient, allowed in corosync by a uidgid entry, no root)
// serves the Pacemaker and corosync collectors without errors, and so does
// the check command.
func unprivileged(t *testing.T) {
	created := false
	if _, err := exec.Command("id", "pgha").Output(); err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", "--groups", "haclient", "pgha").CombinedOutput()
		if err != nil {
			t.Fatalf("useradd pgha: %v\n%s", err, out)
		}
		created = true
	} else if out, err := exec.Command("usermod", "-aG", "haclient", "pgha").CombinedOutput(); err != nil {
		t.Fatalf("usermod: %v\n%s", err, out)
	}
	if created {
		t.Cleanup(func() { _ = exec.Command("userdel", "pgha").Run() })
	}
	// A copy of the binary that pgha may execute wherever the checkout is.
	dir, err := os.MkdirTemp("", "pgha-e2e-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "pgha_exporter")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// corosync admits IPC clients by uid or primary group: allow pgha. The
	// entry goes before the user does (cleanups run last-in first-out): a
	// uidgid entry naming an unknown user stops corosync from starting.
	lab(t, time.Minute, "exec", "pgdb1", "sh", "-c",
		"mkdir -p /etc/corosync/uidgid.d && printf 'uidgid {\\n    uid: pgha\\n}\\n' > /etc/corosync/uidgid.d/pgha && corosync-cfgtool -R")
	t.Cleanup(func() {
		lab(t, time.Minute, "exec", "pgdb1", "sh", "-c", "rm -f /etc/corosync/uidgid.d/pgha && corosync-cfgtool -R")
	})

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "bash", labSh, "exec", "pgdb1", "runuser", "-u", "pgha", "--", exe,
		"--web.listen-address=10.77.0.11:9733", "--crm.node-name=pgdb1", "--crm.refresh-interval=2s",
		"--corosync.refresh-interval=2s", "--no-collector.postgres")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // lab.sh, nsenter, runuser and the exporter
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cancel()
			<-done
		}
		cancel()
	})
	var body []byte
	waitFor(t, "the unprivileged exporter to serve both collectors", 60*time.Second, func() (bool, string) {
		body, _ = monCurl("http://10.77.0.11:9733/metrics")
		s := string(body)
		return strings.Contains(s, `pgha_scrape_collector_success{collector="pacemaker"} 1`) &&
			strings.Contains(s, `pgha_scrape_collector_success{collector="corosync"} 1`), tail(logs.Bytes(), 5)
	})
	for _, want := range []string{`pgha_pacemaker_crm_mon_stage{stage="ok"} 1`, "pgha_corosync_quorate 1", `pgha_pgsql_status{node="pgdb1",resource="postgresql",status="PRI"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("unprivileged exporter lacks %s", want)
		}
	}
	if strings.Contains(logs.String(), "level=error") {
		t.Errorf("unprivileged exporter logged errors:\n%s", logs.String())
	}
	out, err := exec.Command("bash", labSh, "exec", "pgdb1", "runuser", "-u", "pgha", "--", exe, "check", "all",
		"--crm.node-name=pgdb1", "--stonith-disabled=ok").Output()
	if err != nil {
		t.Errorf("check all as pgha: %v\n%s", err, out)
	}
}

// criticalFiring reports whether some severity="critical" alert fires.
func criticalFiring() (bool, string) {
	list, err := alertList()
	if err != nil {
		return false, err.Error()
	}
	var seen []string
	for _, a := range list {
		if a.State == "firing" && a.Labels["severity"] == "critical" {
			return true, a.Labels["alertname"]
		}
		seen = append(seen, a.Labels["alertname"]+"/"+a.State)
	}
	return false, strings.Join(seen, " ")
}

// vipRepFailure (scenario 4): vip-rep's address is removed from the primary;
// Pacemaker restarts it in place (migration-threshold=0 for vip-rep) and
// its fail count rises: a warning that names the resource, no page.
func vipRepFailure(t *testing.T) {
	waitAlertGone(t, "PghaResourceFailCountRising")
	t0 := time.Now()
	lab(t, time.Minute, "fault", "vip-rep-fail")
	metric := waitFor(t, "a vip-rep fail count on pgdb1", 90*time.Second, func() (bool, string) {
		return all(nodes, func(m map[string]*dto.MetricFamily) bool {
			return !is(m, 0, "pgha_pacemaker_failcount", "resource=vip-rep", "node=pgdb1") &&
				hasSeries(m, "pgha_pacemaker_failcount", "resource=vip-rep", "node=pgdb1")
		})
	})
	waitAlert(t, "PghaResourceFailCountRising", "firing", 150*time.Second)
	record(t, "primary vip-rep failure", metric, time.Since(t0), "PghaResourceFailCountRising")
	if ok, which := criticalFiring(); ok {
		t.Errorf("a vip-rep restarted in place pages: %s", which)
	}
	if code, out := check(t, "pgdb1", "cluster"); code != 1 || !strings.Contains(out, "vip-rep on pgdb1") {
		t.Errorf("check cluster on pgdb1: exit %d\n%s", code, out)
	}
	recoverLab(t)
}

// standbysPowerLoss (scenario 13): both standbys lose power; pgdb1 is alone
// without quorum and stops PostgreSQL: a page within 90 s, and the
// survivor's exporter says quorum is lost.
func standbysPowerLoss(t *testing.T) {
	waitAlertGone(t, "PghaPacemakerNoQuorum")
	t0 := time.Now()
	lab(t, time.Minute, "fault", "power-off", "pgdb2")
	lab(t, time.Minute, "fault", "power-off", "pgdb3")
	metric := waitFor(t, "pgdb1 without quorum", 90*time.Second, func() (bool, string) {
		return all([]string{"pgdb1"}, func(m map[string]*dto.MetricFamily) bool {
			return is(m, 0, "pgha_pacemaker_quorate") && is(m, 0, "pgha_corosync_quorate")
		})
	})
	waitFor(t, "a critical alert", 150*time.Second, criticalFiring)
	paged := time.Since(t0)
	record(t, "both standbys power loss", metric, paged, "critical")
	if paged > 90*time.Second {
		t.Errorf("first page %s after the fault, want within 90s", paged.Round(time.Second))
	}
	if code, out := check(t, "pgdb1", "cluster"); code != 2 || !strings.Contains(out, "quorum") {
		t.Errorf("check cluster on pgdb1: exit %d\n%s", code, out)
	}
	lab(t, 3*time.Minute, "fault", "power-on", "pgdb2")
	lab(t, 3*time.Minute, "fault", "power-on", "pgdb3")
	recoverLab(t)
}

// allPostgresKilled (scenario 23): PostgreSQL killed on all three nodes;
// with migration-threshold=1 every instance is banned: no primary anywhere,
// PghaPgsqlNoPrimary pages.
func allPostgresKilled(t *testing.T) {
	waitAlertGone(t, "PghaPgsqlNoPrimary")
	t0 := time.Now()
	for _, n := range nodes {
		lab(t, time.Minute, "fault", "kill-postgres", n)
	}
	metric := waitFor(t, "no PRI anywhere", 120*time.Second, func() (bool, string) {
		return all(nodes, func(m map[string]*dto.MetricFamily) bool {
			return pgsqlStatusOf(m, "pgdb1") != "PRI" && pgsqlStatusOf(m, "pgdb2") != "PRI" && pgsqlStatusOf(m, "pgdb3") != "PRI"
		})
	})
	waitAlert(t, "PghaPgsqlNoPrimary", "firing", 180*time.Second)
	record(t, "all postgres killed", metric, time.Since(t0), "PghaPgsqlNoPrimary")
	if code, out := check(t, "pgdb2", "cluster"); code != 2 || !strings.Contains(out, "NO PRIMARY") {
		t.Errorf("check cluster on pgdb2: exit %d\n%s", code, out)
	}
	recoverLab(t)
}

// hasSeries reports whether a series with these labels exists.
func hasSeries(mfs map[string]*dto.MetricFamily, name string, want ...string) bool {
	mf := mfs[name]
	if mf == nil {
		return false
	}
	for _, m := range mf.GetMetric() {
		if matches(m, want) {
			return true
		}
	}
	return false
}
