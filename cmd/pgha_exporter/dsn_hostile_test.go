package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pgha/pgha_exporter/pg"
	"github.com/pgha/pgha_exporter/pg/pgtest"
)

// hostileDSN is a keyword/value DSN with password pw to a closed port.
func hostileDSN(pw string, port int) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=pgha_monitor dbname=postgres password='%s'",
		port, strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw))
}

// closedPort is a port of 127.0.0.1 that refuses connections for the whole
// test: a socket bound to it that never listens. A port merely closed
// again after finding it free can be taken by another test's listener
// meanwhile (the packages' tests run in parallel), which changes the
// error text that the hostile-password tests compare with a reference run.
func closedPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

const healthyMon = "--crm.mon-file=../../crm/testdata/generated/healthy/crm_mon.xml"

// TestHostilePasswordCheck: check output (stdout and the log on stderr) for
// a PostgreSQL that cannot be reached carries no fragment of the password,
// is the same as with a plain password, and its PostgreSQL error is one line
// of at most pg.MaxErrorLine characters.
func TestHostilePasswordCheck(t *testing.T) {
	port := closedPort(t)
	check := func(pw string) string {
		cmd := exec.Command(binary, "check", "replication", healthyMon)
		cmd.Env = append(os.Environ(), pg.EnvDSN+"="+hostileDSN(pw, port))
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	ref := check(pgtest.ReferencePassword)
	m := regexp.MustCompile(`PostgreSQL: (pg: connect to [^\n|]*)`).FindStringSubmatch(ref)
	if m == nil {
		t.Fatalf("no PostgreSQL connect error in the check output:\n%s", ref)
	}
	if n := utf8.RuneCountInString(m[1]); n > pg.MaxErrorLine || strings.Count(m[1], "dial") > 2 {
		t.Errorf("PostgreSQL error of %d characters (max %d) or repeated:\n%s", n, pg.MaxErrorLine, m[1])
	}
	for _, pw := range pgtest.HostilePasswords {
		if pw == "" {
			continue
		}
		out := check(pw)
		if l := pgtest.Leaks(out, ref, pw); len(l) > 0 {
			t.Errorf("password %q: check output leaks %q:\n%s", pw, l, out)
		}
		if out != ref {
			t.Errorf("password %q: check output differs from a plain password's:\n%s\nwant\n%s", pw, out, ref)
		}
	}
}

// runVolatile are the parts of the exporter's output that change from run to
// run (times, durations, addresses of the test's own listener). RFC 3339
// times are matched whole: their fraction drops trailing zeros, so a time
// like 10:12:27.5Z would otherwise leave "27.5" behind and look like a
// fragment of the password 127.0.0.1.
var runVolatile = regexp.MustCompile(`ts=\S+|duration_seconds=\S+|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)|"age_seconds":[0-9.e+-]+|[0-9.]+e[-+][0-9]+|\b[0-9]+\.[0-9]{3,}\b|127\.0\.0\.1:[0-9]+`)

// sampleValue is the value of an exposition line: a number that changes from
// run to run (process CPU seconds, GC quantiles) and can never carry a
// password, which could only reach a label or a page's text.
var sampleValue = regexp.MustCompile(`(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) \S+$`)

// startFailingPG starts the exporter over the healthy fixture with a DSN
// holding password pw and pointing at a closed port, and waits until the
// postgres collector has logged its error (the message that must not leak).
func startFailingPG(t *testing.T, pw string, port int) *exporter {
	t.Helper()
	t.Setenv(pg.EnvDSN, hostileDSN(pw, port))
	e := start(t, "http", healthyMon, "--no-collector.corosync")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(e.logs.String(), "collector=postgres") {
		_, _ = e.scrape(t, 5*time.Second)
		if time.Now().After(deadline) {
			e.stop(t)
			t.Fatalf("no postgres collector error logged:\n%s", e.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return e
}

// TestHostilePasswordServe: the exporter's log, /metrics, the landing page
// and /api/v1/snapshot after a failed connection carry no fragment of the
// password.
func TestHostilePasswordServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the exporter once per password")
	}
	port := closedPort(t)
	serve := func(pw string) (logs, pages, lastError string) {
		e := startFailingPG(t, pw, port)
		defer e.stop(t)
		var b strings.Builder
		for _, path := range []string{"/", "/metrics", snapshotPath} {
			resp, err := http.Get("http://" + e.addr + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			b.Write(body)
			if path == snapshotPath {
				if m := regexp.MustCompile(`"postgres":\{[^}]*"last_error":"((?:[^"\\]|\\.)*)"`).FindSubmatch(body); m != nil {
					lastError = string(m[1])
				}
			}
		}
		e.stop(t)
		scrubbed := sampleValue.ReplaceAllString(b.String(), "$1 #")
		return runVolatile.ReplaceAllString(e.logs.String(), "#"), runVolatile.ReplaceAllString(scrubbed, "#"), lastError
	}
	refLogs, refPages, refErr := serve(pgtest.ReferencePassword)
	if refErr == "" || !strings.Contains(refErr, "password=xxxxx") {
		t.Fatalf("no postgres last_error in /api/v1/snapshot: %q", refErr)
	}
	for _, pw := range pgtest.HostilePasswords {
		if pw == "" {
			continue
		}
		logs, pages, lastError := serve(pw)
		if l := pgtest.Leaks(logs, refLogs, pw); len(l) > 0 {
			t.Errorf("password %q: the log leaks %q:\n%s", pw, l, logs)
		}
		if l := pgtest.Leaks(pages, refPages, pw); len(l) > 0 {
			t.Errorf("password %q: the pages leak %q", pw, l)
		}
		// The connection summary up to the masked password must read the
		// same; what follows is the network's answer, which another process
		// taking the closed port over can change, so only the leak check
		// above applies to it.
		got, _, ok1 := strings.Cut(lastError, "password=xxxxx")
		want, _, ok2 := strings.Cut(refErr, "password=xxxxx")
		if !ok1 || !ok2 || got != want {
			t.Errorf("password %q: last_error %q, want it to start like %q", pw, lastError, refErr)
		}
	}
}

// TestRunVolatile: the scrubbing removes what changes from run to run and
// leaves a password that would leak in place.
func TestRunVolatile(t *testing.T) {
	for in, want := range map[string]string{
		`"fetched_at":"2026-12-02T10:12:27.5Z"`:    `"fetched_at":"#"`,
		`"fetched_at":"2026-12-02T10:12:27+01:00"`: `"fetched_at":"#"`,
		`"age_seconds":27.5,"x":1`:                 `#,"x":1`,
		`ts=2026-12-02T10:12:27.5Z level=warn`:     `# level=warn`,
		`password=127.0.0.1 at 127.0.0.1:5432`:     `password=127.0.0.1 at #`,
		`password='127.0.0.1'`:                     `password='127.0.0.1'`,
	} {
		if got := runVolatile.ReplaceAllString(in, "#"); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
