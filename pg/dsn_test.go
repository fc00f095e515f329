package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// testPassword is the secret no output may contain.
const testPassword = "s3cr3t-PW-42"

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDSN(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "dsn")
	if err := os.WriteFile(file, []byte("  host=db1 port=5433 user=mon dbname=postgres password="+testPassword+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
		source     string
		wantErr    bool
	}{
		{name: "file wins over env", file: file, env: map[string]string{EnvDSN: "host=other"},
			want: "host=db1 port=5433 user=mon dbname=postgres password=xxxxx", source: "file " + file},
		{name: "env URI", env: map[string]string{EnvDSN: "postgres://mon:" + testPassword + "@db2:5434/app?sslmode=disable"},
			want: "host=db2 port=5434 user=mon dbname=app password=xxxxx", source: "environment variable PGHA_PG_DSN"},
		{name: "env without password", env: map[string]string{EnvDSN: "host=/run/postgresql port=5432 user=mon dbname=postgres"},
			want: "host=/run/postgresql port=5432 user=mon dbname=postgres", source: "environment variable PGHA_PG_DSN"},
		{name: "missing file", file: filepath.Join(dir, "nope"), wantErr: true},
		{name: "bad DSN", env: map[string]string{EnvDSN: "host=db port=notaport password=" + testPassword}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := LoadDSN(tt.file, envOf(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadDSN error %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), testPassword) {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if d.Redacted() != tt.want || d.Source() != tt.source {
				t.Errorf("got %q from %q, want %q from %q", d.Redacted(), d.Source(), tt.want, tt.source)
			}
		})
	}
}

// TestLoadDSNFromLibpqEnvironment: with neither file nor PGHA_PG_DSN, the
// libpq variables decide, and PGPASSWORD is redacted too.
func TestLoadDSNFromLibpqEnvironment(t *testing.T) {
	t.Setenv("PGHOST", "envhost")
	t.Setenv("PGPORT", "6543")
	t.Setenv("PGUSER", "envuser")
	t.Setenv("PGDATABASE", "envdb")
	t.Setenv("PGPASSWORD", testPassword)
	d, err := LoadDSN("", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := "host=envhost port=6543 user=envuser dbname=envdb password=xxxxx"; d.String() != want {
		t.Errorf("String() = %q, want %q", d, want)
	}
	if d.Source() != "libpq environment variables" {
		t.Errorf("Source() = %q", d.Source())
	}
}

// TestDSNNeverPrintsPassword covers every way a DSN can be printed.
func TestDSNNeverPrintsPassword(t *testing.T) {
	for _, raw := range []string{
		"host=db user=mon password=" + testPassword,
		"host=db user=mon password='" + testPassword + "'",
		"postgres://mon:" + testPassword + "@db/postgres",
		"postgres://mon@db/postgres?password=" + testPassword,
	} {
		d, err := LoadDSN("", envOf(map[string]string{EnvDSN: raw}))
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		var buf bytes.Buffer
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%T"} {
			fmt.Fprintf(&buf, verb+"\n", d)
		}
		fmt.Fprintf(&buf, "%v\n", struct{ D DSN }{d})
		fmt.Fprintf(&buf, "%+v\n", &struct{ D *DSN }{&d})
		j, _ := json.Marshal(map[string]any{"dsn": d})
		buf.Write(j)
		_ = log.NewLogfmtLogger(&buf).Log("dsn", d)
		_ = log.NewJSONLogger(&buf).Log("dsn", d)
		if strings.Contains(buf.String(), testPassword) || strings.Contains(buf.String(), strings.ToUpper(testPassword[:6])) {
			t.Errorf("%q printed its password:\n%s", raw, buf.String())
		}
		if !strings.Contains(buf.String(), "password=xxxxx") {
			t.Errorf("%q: no redaction marker in:\n%s", raw, buf.String())
		}
	}
}

// TestParseErrorsAreRedacted: a malformed DSN fails to parse, and the
// error must not quote the password.
func TestParseErrorsAreRedacted(t *testing.T) {
	for _, raw := range []string{
		"postgres://mon:" + testPassword + "@db:notaport/postgres",
		"postgres://mon:" + testPassword + "@db:5432/postgres?connect_timeout=x",
		"host=db port=x password=" + testPassword,
		"host=db password='" + testPassword,
		"host=db password = '" + testPassword + "' sslmode=bogus",
		"postgres://mon@db:notaport/postgres?password=" + testPassword,
	} {
		_, err := LoadDSN("", envOf(map[string]string{EnvDSN: raw}))
		if err == nil {
			t.Errorf("%q parsed", raw)
			continue
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("%q: error shows the password: %v", raw, err)
		}
		var target interface{ Unwrap() error }
		if errors.As(err, &target) {
			t.Errorf("%q: the redacted error unwraps to the raw one", raw)
		}
	}
}

func TestSealKeepsIs(t *testing.T) {
	err := seal(fmt.Errorf("query: %w", context.DeadlineExceeded))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is lost the deadline")
	}
	var target interface{ Unwrap() error }
	if errors.As(err, &target) {
		t.Error("a sealed error unwraps")
	}
	if seal(nil) != nil {
		t.Error("nil error became non-nil")
	}
}

// TestClientErrorsAreRedacted: refused connections come back quickly and
// without the password.
func TestClientErrorsAreRedacted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, raw := range []string{
		fmt.Sprintf("host=127.0.0.1 port=%d user=mon dbname=postgres password=%s", port, testPassword),
		fmt.Sprintf("postgres://mon:%s@127.0.0.1:%d/postgres", testPassword, port),
	} {
		d, err := LoadDSN("", envOf(map[string]string{EnvDSN: raw}))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(d.String(), testPassword) {
			t.Errorf("DSN summary shows the password: %s", d)
		}
		c := NewClient(d, ClientOptions{ConnectTimeout: 2 * time.Second})
		start := time.Now()
		_, err = c.Snapshot(context.Background())
		if err == nil {
			t.Fatalf("%s: no error from a closed port", d)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("took %v", time.Since(start))
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "pg: connect to host=") {
			t.Errorf("unexpected error text: %v", err)
		}
		if err := c.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}
}
