package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// silentPostgres accepts TCP connections and never answers, like a
// PostgreSQL whose host is hung. It counts the connections.
func silentPostgres(t *testing.T) (port string, conns *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int32{}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	_, port, _ = net.SplitHostPort(l.Addr().String())
	return port, conns
}

func large(t *testing.T) []string {
	dir := filepath.Join(crmtest.Generated(t), "large-32n-500r")
	return []string{"--crm.mon-file=" + filepath.Join(dir, "crm_mon.xml"), "--crm.cib-file=" + filepath.Join(dir, "constraints.xml"), "--crm.node-name=node01"}
}

func scrapeWith(addr string, timeout time.Duration, hdr map[string]string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
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

// TestHungPostgresConcurrentScrapes: with a PostgreSQL that accepts TCP
// and never answers, 10 concurrent scrapes with Prometheus's 3 s scrape
// timeout all answer within it, with the Pacemaker families, sharing one
// connection attempt.
func TestHungPostgresConcurrentScrapes(t *testing.T) {
	port, conns := silentPostgres(t)
	t.Setenv("PGHA_PG_DSN", "host=127.0.0.1 port="+port+" user=mon dbname=postgres sslmode=disable")
	e := start(t, "http", append(large(t), "--no-collector.corosync", "--pg.connect-timeout=60s", "--pg.query-timeout=60s")...)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			body, err := scrapeWith(e.addr, 10*time.Second, map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "3"})
			// Bounded by the scrape timeout, not by PostgreSQL's 60 s; the
			// slack covers a loaded machine (the time is measured in the
			// note, not asserted here).
			if d := time.Since(start); err != nil || d > 6*time.Second {
				t.Errorf("scrape took %s: %v", d, err)
				return
			}
			if !strings.Contains(body, `pgha_scrape_collector_success{collector="pacemaker"} 1`) || !strings.Contains(body, "pgha_pacemaker_resource_role{") {
				t.Error("scrape without the Pacemaker families")
			}
		}()
	}
	wg.Wait()
	if n := conns.Load(); n > 1 {
		t.Errorf("%d connections to PostgreSQL for 10 concurrent scrapes", n)
	}
}

// TestNonReadingClients: 41 clients that send GET /metrics and never read
// (4 KB receive buffer) do not take the slots from a good scraper.
func TestNonReadingClients(t *testing.T) {
	e := start(t, "http", append(large(t), "--no-collector.corosync", "--no-collector.postgres", "--web.max-requests=40")...)
	waitState(t, e, `pgha_scrape_collector_success{collector="pacemaker"} 1`)
	d := smallBufferDialer()
	for range 41 {
		c, err := d.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	// Their collections run at once and may still hold the slots for a
	// moment (503 is right then); once they only stall in writing, they
	// must hold none: poll for that state, then every scrape succeeds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := scrapeWith(e.addr, 10*time.Second, nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the non-reading clients still hold the slots after 10s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range 20 {
		if _, err := scrapeWith(e.addr, 10*time.Second, nil); err != nil {
			t.Fatalf("good scrape %d: %v", i, err)
		}
	}
}

// smallBufferDialer dials with a 4 KB receive buffer: a client that does
// not read stalls the server's writes soon.
func smallBufferDialer() *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
}

// TestServerTimeouts: the server closes idle and stalled connections.
func TestServerTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), log.NewNopLogger(), time.Minute)
	if srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.ReadHeaderTimeout <= 0 {
		t.Errorf("timeouts: read %s, write %s, idle %s, header %s", srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.ReadHeaderTimeout)
	}
}

// TestHugeToolOutput: crm_mon printing 10 MB of non-XML, or 200 MB, keeps
// every log line, last_error and check output to a few KB, counts the cap
// as output_too_large and keeps the exporter's memory under 100 MB.
func TestHugeToolOutput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, body, reason string }{
		{"10MB-text", "head -c 10485760 /dev/zero | tr '\\0' x; exit 1", "error"},
		{"200MB", "head -c 209715200 /dev/zero | tr '\\0' x", "output_too_large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			script := filepath.Join(dir, c.name)
			if err := os.WriteFile(script, []byte("#!/bin/sh\n"+c.body+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			e := start(t, "http", "--crm.mon-path="+script, "--crm.cibadmin-path=", "--crm.node-name=pgdb1", "--crm.refresh-interval=1h",
				"--no-collector.corosync", "--no-collector.postgres")
			body := waitState(t, e, `pgha_pacemaker_refresh_failures_total{reason="`+c.reason+`"} 1`)
			_ = body
			resp, err := http.Get("http://" + e.addr + "/api/v1/snapshot")
			if err != nil {
				t.Fatal(err)
			}
			api, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(api) > 4096 {
				t.Errorf("/api/v1/snapshot is %d bytes", len(api))
			}
			if hwm := vmHWM(t, e.cmd.Process.Pid); hwm > 100<<20 {
				t.Errorf("exporter RSS high-water mark %d MB", hwm>>20)
			}
			code, out, _ := runCheckCLI("cluster", "--crm.mon-path="+script, "--crm.cibadmin-path=")
			if code != 3 || len(out) > 4096 {
				t.Errorf("check: exit %d, %d bytes of output", code, len(out))
			}
			e.stop(t)
			for _, l := range strings.Split(e.logs.String(), "\n") {
				if len(l) > 4096 {
					t.Errorf("log line of %d bytes", len(l))
				}
			}
		})
	}
}

func vmHWM(t *testing.T, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		var kb int
		if n, _ := fmt.Sscanf(sc.Text(), "VmHWM: %d kB", &kb); n == 1 {
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestSIGHUP: SIGHUP neither kills the exporter nor leaves a hung crm_mon
// behind; SIGTERM then stops it and kills the crm_mon run in progress.
func TestSIGHUP(t *testing.T) {
	// Catch SIGHUP here so that the exporter starts with the default
	// action even under nohup (an ignored signal stays ignored across exec).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	script, calls, pids := fakeCrmMon(t, 1)
	e := start(t, "http", "--crm.mon-path="+script, "--crm.cibadmin-path=", "--crm.node-name=pgdb1", "--crm.refresh-interval=100ms",
		"--no-collector.corosync", "--no-collector.postgres")
	deadline := time.Now().Add(10 * time.Second)
	for len(lines(pids)) < 2 { // the second run hangs, with a child
		if time.Now().After(deadline) {
			t.Fatalf("crm_mon did not hang: %v", lines(calls))
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = e.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, e, "SIGHUP")
	if _, err := e.scrape(t, 5*time.Second); err != nil {
		t.Fatalf("no scrape after SIGHUP: %v\n%s", err, e.logs)
	}
	e.stop(t)
	if code := e.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	waitGone(t, pids)
}

func waitLog(t *testing.T, e *exporter, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", want, e.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSnapshotAPIWithinMaxRequests: /api/v1/snapshot shares the scrapes'
// slots; with the only slot held by a scrape waiting for a hung
// PostgreSQL, it answers 503 at once.
func TestSnapshotAPIWithinMaxRequests(t *testing.T) {
	port, _ := silentPostgres(t)
	t.Setenv("PGHA_PG_DSN", "host=127.0.0.1 port="+port+" user=mon dbname=postgres sslmode=disable")
	e := start(t, "http", append(large(t), "--no-collector.corosync", "--web.max-requests=1", "--pg.connect-timeout=30s")...)
	// One slot, one scrape that hangs on PostgreSQL. Whichever of the scrape
	// and a snapshot request gets the slot first, the other must be refused:
	// a 503 on either side shows that they share the slots.
	scraped := make(chan error, 1)
	go func() { _, err := scrapeWith(e.addr, 20*time.Second, nil); scraped <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + e.addr + "/api/v1/snapshot")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				return
			}
		}
		select {
		case serr := <-scraped:
			if serr != nil && strings.Contains(serr.Error(), "503") {
				return // a snapshot request held the slot
			}
			t.Fatalf("the scrape ended (%v) while the snapshot API was never refused", serr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the snapshot API is not limited by --web.max-requests: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFlagValidation: values that parse but make no sense are refused with
// a message naming the flag.
func TestFlagValidation(t *testing.T) {
	for _, arg := range []string{"--crm.refresh-interval=0s", "--corosync.refresh-interval=0s", "--crm.timeout=-1s", "--pg.query-timeout=-5s",
		"--pg.connect-timeout=0s", "--corosync.timeout=-1s", "--crm.max-age=-1s", "--web.max-requests=1e99", "--web.max-requests=-1", "--runtime.gomaxprocs=0",
		"--runtime.timer-slack=-1ms", "--runtime.timer-slack=2s"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, binary, "--web.listen-address=127.0.0.1:0", "--crm.mon-file=/nonexistent", arg)
		out, err := cmd.CombinedOutput()
		cancel()
		flag, _, _ := strings.Cut(arg, "=")
		if err == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), flag) {
			t.Errorf("%s: exit %d: %s", arg, cmd.ProcessState.ExitCode(), out)
		}
	}
}

// TestCheckFromAbsurdAge: an age_seconds past any duration is stale.
func TestCheckFromAbsurdAge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"pacemaker":{"snapshot":{"status":{},"stage":"ok"},"age_seconds":1e300}}`)
	}))
	defer srv.Close()
	code, out, _ := runCheckCLI("cluster", "--from="+srv.URL)
	if code != 3 || !strings.Contains(out, "old") {
		t.Errorf("exit %d: %s", code, out)
	}
}

// TestCheckAllHungCrmMon: the timeout message names crm_mon, the stage
// that hung.
func TestCheckAllHungCrmMon(t *testing.T) {
	script, _, pids := fakeCrmMon(t, 0)
	code, out, _ := runCheckCLI("all", "--crm.mon-path="+script, "--crm.cibadmin-path=", "-t", "1s")
	if code != 3 || !strings.Contains(out, "while running crm_mon") {
		t.Errorf("exit %d: %s", code, out)
	}
	waitGone(t, pids)
}

// TestNetHTTPLogsInJSON: net/http's own messages (a TLS handshake error)
// come in the configured log format.
func TestNetHTTPLogsInJSON(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	cfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, "https", append(large(t), "--web.config.file="+cfg, "--log.format=json", "--no-collector.corosync", "--no-collector.postgres")...)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
	_, _ = io.ReadAll(c)
	c.Close()
	waitLog(t, e, "handshake")
	e.stop(t)
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Errorf("not a JSON line: %s", l)
		}
	}
}

// TestAbortedScrapeLogsOneLine: a client that goes away in the middle of a
// large response costs one log line, not one per family.
func TestAbortedScrapeLogsOneLine(t *testing.T) {
	e := start(t, "http", append(large(t), "--log.level=debug", "--no-collector.corosync", "--no-collector.postgres")...)
	waitState(t, e, `pgha_scrape_collector_success{collector="pacemaker"} 1`)
	// A response that still fits in the server's socket buffer ends
	// without an error: abort until one does not.
	attempts := 0
	for !strings.Contains(e.logs.String(), "aborted") && attempts < 20 {
		attempts++
		c, err := smallBufferDialer().Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
		buf := make([]byte, 1024)
		_, _ = io.ReadFull(c, buf)
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
		deadline := time.Now().Add(2 * time.Second)
		for !strings.Contains(e.logs.String(), "aborted") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitLog(t, e, "aborted")
	e.stop(t)
	n := 0
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "aborted") || strings.Contains(l, "encoding and sending") {
			n++
		}
	}
	if n < 1 || n > attempts {
		t.Errorf("%d log lines for %d aborted scrapes:\n%s", n, attempts, e.logs)
	}
}

// TestUnreadStderrNeverBlocksScrapes: with stderr on a pipe nobody reads,
// scrapes that log (a failing collector logs every scrape) keep answering
// after the pipe is full.
func TestUnreadStderrNeverBlocksScrapes(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addr := crmtest.FreeAddr(t)
	cmd := exec.Command(binary, "--web.listen-address="+addr, "--crm.mon-path=/bin/false", "--crm.cibadmin-path=", "--crm.node-name=pgdb1",
		"--no-collector.corosync", "--no-collector.postgres")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := scrapeWith(addr, time.Second, nil); err == nil || strings.Contains(err.Error(), "status") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("exporter not serving")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Each scrape logs about 350 bytes: 400 of them overflow a 64 KB pipe.
	for i := range 400 {
		if _, err := scrapeWith(addr, 2*time.Second, nil); err != nil {
			t.Fatalf("scrape %d with stderr full: %v", i, err)
		}
	}
}
