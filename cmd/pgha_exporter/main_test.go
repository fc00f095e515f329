package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/crmtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "pgha-exporter-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "pgha_exporter")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type exporter struct {
	addr string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// start runs the exporter on a free loopback port and waits until it serves.
func start(t *testing.T, scheme string, args ...string) *exporter {
	t.Helper()
	e := &exporter{addr: crmtest.FreeAddr(t), logs: &bytes.Buffer{}, done: make(chan struct{})}
	e.cmd = exec.Command(binary, append([]string{"--web.listen-address=" + e.addr}, args...)...)
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.cmd.Wait(); close(e.done) }()
	t.Cleanup(func() { e.stop(t) })
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(scheme + "://" + e.addr + "/")
		if err == nil {
			resp.Body.Close()
			return e
		}
		select {
		case <-e.done:
			t.Fatalf("exporter exited: %s", e.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter not serving: %v\n%s", err, e.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *exporter) stop(t *testing.T) {
	select {
	case <-e.done:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		t.Errorf("exporter did not exit on SIGTERM")
	}
}

func (e *exporter) scrape(t *testing.T, timeout time.Duration) (string, error) {
	t.Helper()
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get("http://" + e.addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(body), fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(body), err
}

func metricValue(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[len(series):]), 64)
			return v, err == nil
		}
	}
	return 0, false
}

const healthy = "live-pcmk-2.1.5-pgsql-4.12-pg15/01-healthy/pgdb1/"

// fakeCrmMon writes a crm_mon stand-in that logs each call, answers the first
// `good` calls with the fixture and then hangs (with a grandchild) forever.
func fakeCrmMon(t *testing.T, good int) (script, calls, pids string) {
	t.Helper()
	dir := t.TempDir()
	fixture := filepath.Join(crmtest.Corpus(t), healthy, "crm_mon.xml")
	script, calls, pids = filepath.Join(dir, "crm_mon"), filepath.Join(dir, "calls"), filepath.Join(dir, "pids")
	body := fmt.Sprintf(`#!/bin/sh
echo "$*" >> %[1]s
n=$(wc -l < %[1]s)
if [ "$n" -le %[2]d ]; then cat %[3]s; exit 0; fi
sleep 100000 &
echo $! >> %[4]s
echo $$ >> %[4]s
wait
`, calls, good, fixture, pids)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, calls, pids
}

func lines(path string) []string {
	data, _ := os.ReadFile(path)
	return strings.FieldsFunc(string(data), func(r rune) bool { return r == '\n' })
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// TestHungCrmMon: crm_mon answers once, then hangs. Scrapes keep answering
// within a second, the collector fails once the snapshot is older than
// --crm.max-age, hung runs are killed (with their children), and nothing is
// left once the exporter exits.
func TestHungCrmMon(t *testing.T) {
	script, calls, pids := fakeCrmMon(t, 1)
	e := start(t, "http", "--crm.mon-path="+script, "--crm.cibadmin-path=", "--crm.node-name=pgdb1",
		"--crm.refresh-interval=200ms", "--crm.timeout=2s", "--crm.max-age=3s", "--no-collector.corosync", "--no-collector.postgres")
	// The first snapshot (a scrape waits for it at start-up), then scrapes
	// that must not wait for the hung runs.
	waitState(t, e, `pgha_scrape_collector_success{collector="pacemaker"} 1`)
	sawSuccess, sawStale := true, false
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && !(sawSuccess && sawStale) {
		start := time.Now()
		body, err := e.scrape(t, time.Second)
		if err != nil {
			t.Fatalf("scrape failed or slower than 1s (%s): %v", time.Since(start), err)
		}
		v, ok := metricValue(body, `pgha_scrape_collector_success{collector="pacemaker"}`)
		if ok && v == 1 {
			sawSuccess = true
		}
		if ok && v == 0 && sawSuccess {
			sawStale = true
			if _, ok := metricValue(body, "pgha_pacemaker_quorate"); ok {
				t.Error("stale snapshot still served")
			}
			if v, _ := metricValue(body, `pgha_pacemaker_refresh_failures_total{reason="timeout"}`); v < 1 {
				t.Errorf("timeouts not counted:\n%s", body)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawSuccess || !sawStale {
		t.Fatalf("success seen %v, stale seen %v\n%s", sawSuccess, sawStale, e.logs)
	}
	e.stop(t)
	waitGone(t, pids)
	if n := len(lines(calls)); n < 3 {
		t.Errorf("crm_mon ran %d times; the hung runs were not retried", n)
	}
	if strings.Contains(e.logs.String(), "level=error msg=\"collector failed\"") == false {
		t.Errorf("collector failure not logged:\n%s", e.logs)
	}
}

// waitState scrapes until the body holds want (a stored snapshot, say).
func waitState(t *testing.T, e *exporter, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body, _ := e.scrape(t, 5*time.Second)
		if strings.Contains(body, want) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s:\n%s", want, e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitGone waits for every process listed in the file to be gone.
func waitGone(t *testing.T, pids string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range lines(pids) {
		pid, _ := strconv.Atoi(p)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d survived", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestConcurrentScrapesRunNoCrmMon: 100 parallel scrapes are served from the
// snapshot and start no crm_mon.
func TestConcurrentScrapesRunNoCrmMon(t *testing.T) {
	script, calls, _ := fakeCrmMon(t, 1000)
	e := start(t, "http", "--crm.mon-path="+script, "--crm.cibadmin-path=", "--crm.node-name=pgdb1",
		"--crm.refresh-interval=1h", "--web.max-requests=200", "--no-collector.corosync", "--no-collector.postgres")
	waitState(t, e, `pgha_scrape_collector_success{collector="pacemaker"} 1`)
	before := len(lines(calls))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := e.scrape(t, 5*time.Second)
			if err == nil && !strings.Contains(body, `pgha_scrape_collector_success{collector="pacemaker"} 1`) {
				err = fmt.Errorf("pacemaker collector failed")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if after := len(lines(calls)); before != 1 || after != 1 {
		data, _ := os.ReadFile(calls)
		t.Logf("calls:\n%s\nlogs:\n%s", data, e.logs)
		t.Errorf("crm_mon runs: %d before, %d after 100 scrapes (want 1 and 1)", before, after)
	}
}

// volatile matches the series whose values change from run to run.
var volatile = regexp.MustCompile(`^(go_|process_|promhttp_|pgha_exporter_build_info|pgha_scrape_collector_duration_seconds|pgha_pacemaker_snapshot_age_seconds|pgha_pacemaker_refresh_duration_seconds|# (HELP|TYPE) (go_|process_|promhttp_))`)

// TestMetricsEndToEnd compares the whole /metrics (minus volatile series) of
// a fixture-backed exporter with a golden file and runs promtool over it.
func TestMetricsEndToEnd(t *testing.T) {
	corpus := crmtest.Corpus(t)
	e := start(t, "http", "--crm.mon-file="+filepath.Join(corpus, healthy, "crm_mon.xml"),
		"--crm.cib-file="+filepath.Join(corpus, healthy, "cibadmin-Q.xml"), "--crm.node-name=pgdb1",
		"--no-collector.corosync", "--no-collector.postgres")
	body, err := e.scrape(t, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") != "" {
		t.Error("promtool missing under CI")
	}
	var kept []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if !volatile.MatchString(sc.Text()) {
			kept = append(kept, sc.Text())
		}
	}
	got := strings.Join(kept, "\n") + "\n"
	file := filepath.Join("testdata", "metrics-healthy.prom")
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/pgha_exporter -update)", err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s; rerun with -update and read the diff", file)
	}
	for _, s := range []string{"pgha_exporter_build_info{", `pgha_scrape_collector_success{collector="pacemaker"} 1`, "pgha_pacemaker_snapshot_age_seconds "} {
		if !strings.Contains(body, s) {
			t.Errorf("missing %s", s)
		}
	}
}

// TestTLSAndBasicAuth: with --web.config.file enabling TLS and basic auth, a
// plain-HTTP or unauthenticated scrape is refused and an authenticated TLS
// scrape succeeds.
func TestTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "web.yml")
	yml := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	corpus := crmtest.Corpus(t)
	e := start(t, "https", "--web.config.file="+cfg, "--crm.mon-file="+filepath.Join(corpus, healthy, "crm_mon.xml"),
		"--no-collector.corosync", "--no-collector.postgres")

	if resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + e.addr + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || strings.Contains(string(body), "pgha_") {
			t.Errorf("plain HTTP scrape answered %d", resp.StatusCode)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(user, pass string) (int, string) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", "https://"+e.addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("unauthenticated TLS scrape: %d", code)
	}
	if code, _ := get("prometheus", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code, body := get("prometheus", "s3cret"); code != 200 || !strings.Contains(body, "pgha_pacemaker_quorate 1") {
		t.Errorf("authenticated TLS scrape: %d", code)
	}
}

func writeCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestCLI(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "--crm.max-age") {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"--no-such-flag"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
		t.Errorf("bad flag: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--log.format=xml"}, &out, &errb); code != 2 {
		t.Errorf("bad enum: exit %d", code)
	}
}

// runCheckCLI runs the check command in-process and returns exit code,
// stdout and stderr.
func runCheckCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"check"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestCheckFailurePaths: every internal failure is UNKNOWN (3) with the
// reason on the first line, on stdout, and nothing on stderr.
func TestCheckFailurePaths(t *testing.T) {
	hang := filepath.Join(t.TempDir(), "crm_mon")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nsleep 1000 &\nwait\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		code  int
		first string
	}{
		{"unknown flag", []string{"cluster", "--no-such-flag"}, 3, "PGHA UNKNOWN - unknown long flag '--no-such-flag'"},
		{"missing what", []string{}, 3, "PGHA UNKNOWN - required argument 'what' not provided"},
		{"bad what", []string{"disks"}, 3, "PGHA UNKNOWN - enum value must be one of"},
		{"bad range", []string{"cluster", "-w", "20:10"}, 3, `PGHA UNKNOWN - -w: invalid threshold range "20:10"`},
		{"help", []string{"cluster", "-h"}, 3, "usage: pgha_exporter check"},
		{"crm_mon not found", []string{"cluster", "--crm.mon-path=/nonexistent/crm_mon"}, 3, "PGHA UNKNOWN - /nonexistent/crm_mon not found"},
		{"crm_mon never answers", []string{"cluster", "--crm.mon-path=" + hang, "-t", "2s"}, 3, "PGHA CLUSTER UNKNOWN - timeout after 2s while running crm_mon"},
		{"timeout state", []string{"cluster", "--crm.mon-path=" + hang, "-t", "1s", "--timeout-state=critical"}, 2, "PGHA CLUSTER CRITICAL - timeout after 1s while running crm_mon"},
		{"unreadable file", []string{"cluster", "--crm.mon-file=/nonexistent.xml"}, 3, "PGHA UNKNOWN - reading --crm.mon-file"},
		{"unreadable DSN file", []string{"replication", "--crm.mon-file=" + filepath.Join(crmtest.Generated(t), "healthy", "crm_mon.xml"), "--pg.dsn-file=/nonexistent/dsn"}, 3, "PGHA UNKNOWN - "},
		{"exporter down", []string{"cluster", "--from=http://127.0.0.1:1"}, 3, "PGHA UNKNOWN - --from:"},
		{"cib file without mon file", []string{"cluster", "--crm.cib-file=/nonexistent.xml"}, 3, "PGHA UNKNOWN - --crm.cib-file needs --crm.mon-file"},
		{"bad size unit", []string{"replication", "--lag-bytes-warning=16XB"}, 3, `PGHA UNKNOWN - --lag-bytes-warning: invalid threshold range "16XB"`},
		{"bad duration names the flag", []string{"cluster", "--crm.max-age", "abc"}, 3, `PGHA UNKNOWN - --crm.max-age: time: invalid duration "abc" (want a duration such as 10s`},
		{"disabled collector", []string{"corosync", "--no-collector.corosync"}, 3, "PGHA UNKNOWN - check corosync needs the collector"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			code, out, errOut := runCheckCLI(c.args...)
			if code != c.code || !strings.HasPrefix(out, c.first) {
				t.Errorf("exit %d, stdout:\n%s\nwant exit %d and a first line starting %q", code, out, c.code, c.first)
			}
			if errOut != "" {
				t.Errorf("stderr must stay empty: %q", errOut)
			}
			if time.Since(start) > 6*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
		})
	}
	checkPanicHook = func() { panic("injected") }
	defer func() { checkPanicHook = nil }()
	code, out, _ := runCheckCLI("cluster", "--crm.mon-file=/dev/null")
	if code != 3 || !strings.HasPrefix(out, "PGHA UNKNOWN - internal error: injected") {
		t.Errorf("panic: exit %d\n%s", code, out)
	}
}

// TestCheckFromExporter: 'check --from' reads the running exporter's
// snapshot and agrees with a check that reads the same file directly.
func TestCheckFromExporter(t *testing.T) {
	gen := filepath.Join(crmtest.Generated(t), "node-standby")
	mon, cib := filepath.Join(gen, "crm_mon.xml"), filepath.Join(gen, "cib.xml")
	e := start(t, "http", "--crm.mon-file="+mon, "--crm.cib-file="+cib, "--no-collector.corosync", "--no-collector.postgres")
	deadline := time.Now().Add(5 * time.Second)
	for {
		body, _ := e.scrape(t, time.Second)
		if strings.Contains(body, `pgha_scrape_collector_success{collector="pacemaker"} 1`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, what := range []string{"cluster", "replication"} {
		code1, direct, _ := runCheckCLI(what, "--crm.mon-file="+mon, "--crm.cib-file="+cib, "--stonith-disabled=ok")
		code2, remote, _ := runCheckCLI(what, "--from=http://"+e.addr, "--stonith-disabled=ok")
		if code1 != code2 || direct != remote {
			t.Errorf("%s: direct exit %d\n%s\nfrom exporter exit %d\n%s", what, code1, direct, code2, remote)
		}
		if code1 != 1 {
			t.Errorf("%s: node standby must be WARNING, got %d", what, code1)
		}
	}
	code, out, _ := runCheckCLI("corosync", "--from=http://"+e.addr)
	if code != 3 || !strings.Contains(out, "does not run the corosync collector") {
		t.Errorf("corosync from an exporter without it: %d %s", code, out)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(crmtest.Generated(t), "node-standby")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", fmt.Sprintf("crm:\n  mon-file: %s\n  cib-file: %s\ncheck:\n  stonith-disabled: ok\n  standby: critical\n",
		filepath.Join(gen, "crm_mon.xml"), filepath.Join(gen, "cib.xml")))
	if code, out, _ := runCheckCLI("cluster", "--config.file="+good); code != 2 || !strings.Contains(out, "[CRITICAL] node pgdb3 in standby") {
		t.Errorf("config values not applied: %d\n%s", code, out)
	}
	if code, out, _ := runCheckCLI("cluster", "--config.file="+good, "--standby=ok"); code != 0 {
		t.Errorf("a flag must win over the file: %d\n%s", code, out)
	}
	for _, c := range []struct{ body, want string }{
		{"crm:\n  mon_pth: x\n", `unknown key "crm.mon_pth"`},
		{"crm:\n  timeout: abc\n", `key "crm.timeout": time: invalid duration "abc"`},
		{"collector:\n  pacemaker: maybe\n", `key "collector.pacemaker"`},
		{"log:\n  level: loud\n", `key "log.level"`},
		{"nope: [", "yaml:"},
	} {
		p := write("bad.yml", c.body)
		var out, errb bytes.Buffer
		code := run([]string{"--config.file=" + p}, &out, &errb)
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line with %q", c.body, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--config.file=/nonexistent.yml"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no such file") {
		t.Errorf("missing file: %d %q", code, errb.String())
	}
}

// TestServeUnreadableDSN: an unreadable DSN file stops start-up with exit 1
// and one error line naming it.
func TestServeUnreadableDSN(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"--web.listen-address=127.0.0.1:0", "--pg.dsn-file=/nonexistent/dsn", "--no-collector.corosync",
		"--crm.mon-file=" + filepath.Join(crmtest.Generated(t), "healthy", "crm_mon.xml")}, &out, &errb)
	var errors []string
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, "level=error") {
			errors = append(errors, l)
		}
	}
	if code != 1 || len(errors) != 1 || !strings.Contains(errors[0], "/nonexistent/dsn") {
		t.Errorf("exit %d, error lines %q", code, errors)
	}
}

// TestStalenessAgreement: for --crm.max-age 0 (no limit), 1s and the default,
// the exporter's pacemaker collector and 'check --from' given the same limit
// call the same snapshot fresh or stale (one rule, crm.Stale).
func TestStalenessAgreement(t *testing.T) {
	mon := filepath.Join(crmtest.Generated(t), "healthy", "crm_mon.xml")
	for _, tc := range []struct {
		name  string
		flag  []string
		stale bool
	}{
		{"no limit", []string{"--crm.max-age=0s"}, false},
		{"1s", []string{"--crm.max-age=1s"}, true},
		{"default", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One crm_mon read at start, then none for an hour: the snapshot ages.
			args := append([]string{"--crm.mon-file=" + mon, "--crm.refresh-interval=1h", "--no-collector.corosync", "--no-collector.postgres"}, tc.flag...)
			e := start(t, "http", args...)
			var body string
			deadline := time.Now().Add(20 * time.Second)
			for {
				body, _ = e.scrape(t, 2*time.Second)
				if age, ok := metricValue(body, "pgha_pacemaker_snapshot_age_seconds"); ok && age >= 1.5 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("snapshot never aged past 1.5s:\n%s", body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			success, ok := metricValue(body, `pgha_scrape_collector_success{collector="pacemaker"}`)
			if !ok {
				t.Fatalf("no pacemaker collector success in:\n%s", body)
			}
			code, out, _ := runCheckCLI(append([]string{"cluster", "--from=http://" + e.addr, "--stonith-disabled=ok"}, tc.flag...)...)
			checkStale := code == 3 && strings.Contains(out, "snapshot is")
			metricStale := success == 0
			if metricStale != checkStale || metricStale != tc.stale {
				t.Errorf("metrics stale=%v (success %v), check stale=%v (exit %d: %s), want stale=%v", metricStale, success, checkStale, code, out, tc.stale)
			}
		})
	}
}

// TestCheckHonoursCollectorFlags: 'check all' leaves out a disabled
// collector's source instead of running its tools; sizes take units.
func TestCheckHonoursCollectorFlags(t *testing.T) {
	mon := filepath.Join(crmtest.Generated(t), "healthy", "crm_mon.xml")
	code, out, _ := runCheckCLI("all", "--crm.mon-file="+mon, "--no-collector.corosync", "--corosync.cfgtool-path=/nonexistent/corosync-cfgtool",
		"--stonith-disabled=ok", "--lag-bytes-warning=16MB", "--lag-bytes-critical=1GiB", "-v")
	if code != 0 || strings.Contains(out, "corosync") || !strings.Contains(out, "PRI pgdb1, sync pgdb2, async pgdb3") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	code, out, _ = runCheckCLI("all", "--crm.mon-file="+mon, "--corosync.cfgtool-path=/nonexistent/corosync-cfgtool", "--stonith-disabled=ok")
	if code != 3 || !strings.Contains(out, "corosync") {
		t.Errorf("with the corosync collector enabled the missing tool must show: exit %d:\n%s", code, out)
	}
	var bad bytes.Buffer
	if code := run([]string{"--web.max-requests=x"}, io.Discard, &bad); code != 2 || !strings.HasPrefix(bad.String(), "pgha_exporter: --web.max-requests: ") || !strings.Contains(bad.String(), "want a whole number") {
		t.Errorf("serve: bad int: exit %d, %q", code, bad.String())
	}
	var errb bytes.Buffer
	if code := run([]string{"--crm.cib-file=/nonexistent.xml"}, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), "--crm.cib-file needs --crm.mon-file") {
		t.Errorf("serve: exit %d, %q", code, errb.String())
	}
}

// TestCheckHelpListsItsFlags: check --help shows the check's own flags and the
// source flags it shares with serve, not the serve-only ones.
func TestCheckHelpListsItsFlags(t *testing.T) {
	code, out, _ := runCheckCLI("--help")
	if code != 3 {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"--crm.mon-file", "--pg.dsn-file", "--lag-bytes-warning", "--crm.max-age", "collector.corosync", "--from"} {
		if !strings.Contains(out, want) {
			t.Errorf("check --help lacks %s", want)
		}
	}
	for _, name := range serveOnly {
		if strings.Contains(out, "--"+name) {
			t.Errorf("check --help lists the serve-only flag --%s", name)
		}
	}
	var serveHelp bytes.Buffer
	run([]string{"--help"}, &serveHelp, io.Discard)
	if !strings.Contains(serveHelp.String(), "--web.listen-address") {
		t.Errorf("serve --help lost --web.listen-address:\n%s", serveHelp.String())
	}
}

// TestRefreshFailureCountersStartAtZero: every failure reason of both
// refreshed sources is exported at 0 before any failure, so that increase()
// sees the first one (a counter that appears at 1 has no increase).
func TestRefreshFailureCountersStartAtZero(t *testing.T) {
	corpus := crmtest.Corpus(t)
	e := start(t, "http", "--crm.mon-file="+filepath.Join(corpus, healthy, "crm_mon.xml"),
		"--crm.cib-file="+filepath.Join(corpus, healthy, "cibadmin-Q.xml"), "--crm.node-name=pgdb1",
		"--corosync.stack=corosync", "--corosync.cfgtool-path=/nonexistent/corosync-cfgtool",
		"--corosync.quorumtool-path=/nonexistent/corosync-quorumtool", "--no-collector.postgres")
	body := waitState(t, e, `pgha_corosync_refresh_failures_total{reason="missing_binary"} 1`)
	for _, r := range crm.FailureReasons {
		if v, ok := metricValue(body, `pgha_pacemaker_refresh_failures_total{reason="`+r+`"}`); !ok || v != 0 {
			t.Errorf("pacemaker reason %s: %v (present %v), want 0", r, v, ok)
		}
	}
	for _, r := range corosync.FailureReasons {
		want := 0.0
		if r == "missing_binary" {
			want = 1
		}
		if v, ok := metricValue(body, `pgha_corosync_refresh_failures_total{reason="`+r+`"}`); !ok || v != want {
			t.Errorf("corosync reason %s: %v (present %v), want %v", r, v, ok, want)
		}
	}
}
