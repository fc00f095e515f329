package collector

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pgha/pgha_exporter/pg"
)

// postgresFake is a PGSource that returns a fixed snapshot or error.
type postgresFake struct {
	snap *pg.Snapshot
	err  error
}

func (f postgresFake) Snapshot(context.Context) (*pg.Snapshot, error) { return f.snap, f.err }

// postgresTestCollector adapts a Collector to prometheus.Collector (unchecked)
// and keeps the error of the last Update.
type postgresTestCollector struct {
	c   Collector
	err *error
}

func (p postgresTestCollector) Describe(chan<- *prometheus.Desc) {}

func (p postgresTestCollector) Collect(ch chan<- prometheus.Metric) {
	*p.err = p.c.Update(context.Background(), ch)
}

func newPostgresTestCollector(c Collector) postgresTestCollector {
	return postgresTestCollector{c: c, err: new(error)}
}

// loadPostgresFixture decodes testdata/postgres/<name>.json.
func loadPostgresFixture(t *testing.T, name string) *pg.Snapshot {
	return loadPGSnapshot(t, filepath.Join("testdata", "postgres", name+".json"))
}

func pgPacemakerSays(promoted bool) func() (bool, bool) {
	return func() (bool, bool) { return promoted, true }
}

func TestPostgresGolden(t *testing.T) {
	tests := []struct {
		fixture string
		role    func() (bool, bool)
		golden  string
	}{
		{"primary-healthy-pg15", pgPacemakerSays(true), ""},
		{"standby-healthy-pg15", pgPacemakerSays(false), ""},
		{"primary-idle-after-sync-move-pg15", pgPacemakerSays(true), ""},
		{"primary-sync-lost-pg15", nil, ""},
		{"primary-after-failover-pg15", pgPacemakerSays(false), ""},
		{"primary-after-failover-pg15", pgPacemakerSays(true), "primary-after-failover-pg15-pacemaker-agrees"},
		{"standby-dead-link-pg15", func() (bool, bool) { return false, false }, ""},
		{"primary-pg13-quorum-slots-archive-failing", nil, ""},
		{"primary-pg96", nil, ""},
		{"standby-pg93-hidden", pgPacemakerSays(true), ""},
	}
	for _, tt := range tests {
		name := tt.golden
		if name == "" {
			name = tt.fixture
		}
		t.Run(name, func(t *testing.T) {
			snap := loadPostgresFixture(t, tt.fixture)
			c := newPostgresTestCollector(NewPostgresCollector(postgresFake{snap: snap}, PostgresOptions{PacemakerRole: tt.role}, log.NewNopLogger()))
			want := golden(t, filepath.Join("testdata", "postgres", name+".prom"), exposition(t, c))
			if err := testutil.CollectAndCompare(c, bytes.NewReader(want)); err != nil {
				t.Error(err)
			}
			if *c.err != nil {
				t.Errorf("Update: %v", *c.err)
			}
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

// TestPostgresDown: a failed snapshot exports up 0 and nothing else, and the
// error reaches the wrapper, which reports the collector as failed.
func TestPostgresDown(t *testing.T) {
	boom := errors.New("pg: connect to host=db port=5432 user=mon dbname=postgres password=xxxxx: connection refused")
	c := newPostgresTestCollector(NewPostgresCollector(postgresFake{err: boom}, PostgresOptions{PacemakerRole: pgPacemakerSays(true)}, log.NewNopLogger()))
	want := golden(t, filepath.Join("testdata", "postgres", "down.prom"), exposition(t, c))
	if err := testutil.CollectAndCompare(c, bytes.NewReader(want)); err != nil {
		t.Error(err)
	}
	if !errors.Is(*c.err, boom) {
		t.Errorf("Update returned %v", *c.err)
	}

	var logs bytes.Buffer
	e := NewExporter(map[string]Collector{"postgres": c.c}, log.NewLogfmtLogger(&logs))
	if err := testutil.CollectAndCompare(e, strings.NewReader(`
# HELP pgha_scrape_collector_success Whether the collector succeeded on this scrape (1) or failed (0).
# TYPE pgha_scrape_collector_success gauge
pgha_scrape_collector_success{collector="postgres"} 0
`), "pgha_scrape_collector_success"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the wrapper did not log the error: %s", logs.String())
	}

	nilSnap := newPostgresTestCollector(NewPostgresCollector(postgresFake{}, PostgresOptions{}, log.NewNopLogger()))
	exposition(t, nilSnap)
	if *nilSnap.err == nil {
		t.Error("a nil snapshot without error was accepted")
	}
}

// TestPostgresPasswordNeverExported drives a real pg.Client with a password
// DSN against a closed port through the exporter wrapper, and searches the
// log, the error and the exposition for the password.
func TestPostgresPasswordNeverExported(t *testing.T) {
	const password = "s3cr3t-PW-42"
	dsn, err := pg.LoadDSN("", func(string) string {
		return "postgres://mon:" + password + "@127.0.0.1:1/postgres?sslmode=disable" // the database name is not a secret; masking is by structure
	})
	if err != nil {
		t.Fatal(err)
	}
	client := pg.NewClient(dsn, pg.ClientOptions{ConnectTimeout: time.Second})
	var logs bytes.Buffer
	logger := log.NewLogfmtLogger(&logs)
	pc := NewPostgresCollector(client, PostgresOptions{}, logger)
	logger.Log("msg", "using DSN", "dsn", dsn)
	exp := NewExporter(map[string]Collector{"postgres": pc}, logger)
	text := exposition(t, exp)
	updErr := pc.Update(context.Background(), make(chan prometheus.Metric, 10))
	if updErr == nil {
		t.Fatal("no error from a closed port")
	}
	all := string(text) + logs.String() + updErr.Error()
	if strings.Contains(all, password) {
		t.Errorf("password leaked:\n%s", all)
	}
	if !strings.Contains(string(text), "pgha_postgres_up 0") || !strings.Contains(logs.String(), "password=xxxxx") {
		t.Errorf("unexpected output:\n%s", all)
	}
}

func loadPGSnapshot(t *testing.T, path string) *pg.Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pg.DecodeSnapshot(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}
