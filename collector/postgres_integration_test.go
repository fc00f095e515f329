package collector_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgha/pgha_exporter/collector"
	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/nagios"
	"github.com/pgha/pgha_exporter/pg"
	"github.com/pgha/pgha_exporter/pg/pgtest"
)

// recorder keeps the snapshot of the last scrape, so that the check runs on
// exactly what the metrics were made from.
type recorder struct {
	src  collector.PGSource
	last atomic.Pointer[pg.Snapshot]
}

func (r *recorder) Snapshot(ctx context.Context) (*pg.Snapshot, error) {
	s, err := r.src.Snapshot(ctx)
	r.last.Store(s)
	return s, err
}

// postgresLive is the collector of one real node, as the pg_monitor role.
type postgresLive struct {
	name     string
	coll     collector.Collector
	rec      *recorder
	promoted atomic.Bool // what the fake Pacemaker says
	v        *versionRun
}

func newPostgresLive(t testing.TB, n *pgtest.Node, promoted bool, v *versionRun) *postgresLive {
	t.Helper()
	dsn, err := pg.LoadDSN("", func(string) string { return n.MonitorDSN() })
	if err != nil {
		t.Fatal(err)
	}
	client := pg.NewClient(dsn, pg.ClientOptions{ConnectTimeout: 2 * time.Second, QueryTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = client.Close(context.Background()) })
	l := &postgresLive{name: n.Name, rec: &recorder{src: client}, v: v}
	l.promoted.Store(promoted)
	l.coll = collector.NewPostgresCollector(l.rec, collector.PostgresOptions{
		PacemakerRole: func() (bool, bool) { return l.promoted.Load(), true },
	}, log.NewNopLogger())
	return l
}

// scrape runs one Update and returns the series as `name{label="v",...}`
// (labels sorted) -> value, and Update's error. The metric names seen are
// added to the version's tally.
func (l *postgresLive) scrape(t testing.TB) (map[string]float64, error) {
	t.Helper()
	ch := make(chan prometheus.Metric, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.coll.Update(ctx, ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		key := postgresSeriesKey(t, m)
		out[key] = postgresMetricValue(t, m)
		if l.v != nil {
			name, _, _ := strings.Cut(key, "{")
			l.v.seen.Store(name, true)
		}
	}
	return out, err
}

// expect polls until every series in want has its value ("absent" for a
// missing series; a func for a condition) or the timeout ends.
func (l *postgresLive) expect(t testing.TB, what string, timeout time.Duration, want map[string]any) map[string]float64 {
	t.Helper()
	var got map[string]float64
	pgtest.Eventually(t, timeout, l.name+": "+what, func() error {
		var err error
		got, err = l.scrape(t)
		var bad []string
		for k, w := range want {
			v, ok := got[k]
			switch w := w.(type) {
			case string: // "absent"
				if ok {
					bad = append(bad, fmt.Sprintf("%s = %v, want absent", k, v))
				}
			case func(float64) bool:
				if !ok || !w(v) {
					bad = append(bad, fmt.Sprintf("%s = %v (present %v) fails its condition", k, v, ok))
				}
			case int:
				if !ok || v != float64(w) {
					bad = append(bad, fmt.Sprintf("%s = %v (present %v), want %d", k, v, ok, w))
				}
			default:
				t.Fatalf("bad expectation %T for %s", w, k)
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			return fmt.Errorf("%s (scrape error: %v)", strings.Join(bad, "; "), err)
		}
		return nil
	})
	return got
}

// check runs the replication check's PostgreSQL part on the snapshot of the
// last scrape, asserts its state and findings, and adds its normalised
// output to the version's transcript (the golden file).
func (l *postgresLive) check(t testing.TB, what string, want nagios.State, findings ...string) {
	t.Helper()
	s := l.rec.last.Load()
	if s == nil {
		t.Fatalf("%s: no snapshot to check", l.name)
	}
	o := nagios.DefaultPostgresOptions()
	o.PacemakerPromoted, o.PacemakerKnown = l.promoted.Load(), true
	r := nagios.CheckPostgres(s, o)
	var b strings.Builder
	code := r.Render(&b, 1)
	out := normaliseCheck(fmt.Sprintf("exit %d\n%s", code, b.String()), !s.InRecovery)
	if r.State() != want {
		t.Errorf("%s: check %s, want %s\n%s", l.name, r.State(), want, out)
	}
	for _, f := range findings {
		if !strings.Contains(out, f) {
			t.Errorf("%s: check output lacks %q\n%s", l.name, f, out)
		}
	}
	role := "unpromoted"
	if l.promoted.Load() {
		role = "promoted"
	}
	fmt.Fprintf(&l.v.transcript, "== %s: %s (Pacemaker: %s)\n%s\n", what, l.name, role, out)
}

var (
	walFileRE      = regexp.MustCompile(`\b[0-9A-F]{24}\b`)
	failuresRE     = regexp.MustCompile(`\(\d+ failures,`)
	lagFindRE      = regexp.MustCompile(`(lag|backlog) [0-9.]+(s| bytes)`)
	lagPerfRE      = regexp.MustCompile(`\b(pg_replay_lag_(?:bytes|seconds))=[0-9.e+-]+`)
	lagSecondsPerf = regexp.MustCompile(` pg_replay_lag_seconds=N[^ \n]*`)
)

// normaliseCheck replaces what differs between runs: WAL file names,
// failure counts and lag values. On a primary it drops the lag seconds
// perfdata, which PostgreSQL reports only until an idle standby has caught
// up.
func normaliseCheck(s string, primary bool) string {
	s = walFileRE.ReplaceAllString(s, "<walfile>")
	s = failuresRE.ReplaceAllString(s, "(N failures,")
	s = lagFindRE.ReplaceAllString(s, "$1 N$2")
	s = lagPerfRE.ReplaceAllString(s, "$1=N")
	if primary {
		s = lagSecondsPerf.ReplaceAllString(s, "")
	}
	return s
}

const postgresAbsent = "absent"

func pgPositive(v float64) bool { return v > 0 }

func pgStandbySeries(name, app, extra string) string {
	s := name + `{application_name="` + app + `",client_addr="127.0.0.1"`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func pgSlotSeries(name, slot, extra string) string {
	s := name + `{slot_name="` + slot + `",slot_type="physical"`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// versionRun is one major's run: which metric names its scrapes exported,
// what docs/metrics.md says it exports, and the check transcript.
type versionRun struct {
	rel        pgtest.Release
	row        versionRow
	documented []string
	seen       sync.Map
	transcript strings.Builder
}

// want is cond when docs/metrics.md says the version exports the metric,
// and "absent" when it says it does not.
func (v *versionRun) want(name string, cond any) any {
	if !slices.Contains(v.documented, name) {
		panic(name + " is not documented in docs/metrics.md")
	}
	if slices.Contains(v.row.absent, name) {
		return postgresAbsent
	}
	return cond
}

// versionRow is a row of the version table of docs/metrics.md.
type versionRow struct {
	version, verified, server string
	absent                    []string
}

var (
	docMetricRE = regexp.MustCompile("(?m)^\\| `(pgha_postgres_[a-z_]+|pgha_local_role_mismatch)` \\|")
	docNameRE   = regexp.MustCompile("`(pgha_[a-z_]+)`")
)

// postgresDocs reads docs/metrics.md: the PostgreSQL metric names of its
// tables and its version table.
func postgresDocs(t testing.TB) ([]string, map[string]versionRow) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(crmtest.ModuleRoot(t), "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range docMetricRE.FindAllStringSubmatch(string(b), -1) {
		names = append(names, m[1])
	}
	rows := map[string]versionRow{}
	inTable := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "| Version | Verified | Server | Not exported") {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("docs/metrics.md version table: %q", line)
		}
		r := versionRow{version: strings.TrimSpace(cells[0]), verified: strings.TrimSpace(cells[1]), server: strings.TrimSpace(cells[2])}
		for _, m := range docNameRE.FindAllStringSubmatch(cells[3], -1) {
			if !slices.Contains(names, m[1]) {
				t.Errorf("docs/metrics.md version table, %s: %s is not a documented metric", r.version, m[1])
			}
			r.absent = append(r.absent, m[1])
		}
		rows[r.version] = r
	}
	if len(names) < 30 || len(rows) == 0 {
		t.Fatalf("docs/metrics.md: %d PostgreSQL metrics, %d version rows", len(names), len(rows))
	}
	return names, rows
}

// TestPostgresVersionTable: the version table of docs/metrics.md has a row
// per version from 9.3, "live" with the server version for every release
// the live tests run and "recorded columns" for the rest.
func TestPostgresVersionTable(t *testing.T) {
	_, rows := postgresDocs(t)
	live := map[string]string{}
	for _, rel := range pgtest.Releases {
		live[fmt.Sprint(rel.Major)] = rel.Version()
	}
	for _, v := range []string{"9.3", "9.4", "9.5", "9.6", "10", "11", "12", "13", "14", "15", "16", "17", "18"} {
		r, ok := rows[v]
		switch {
		case !ok:
			t.Errorf("no row for %s", v)
		case live[v] != "" && (r.verified != "live" || r.server != live[v]):
			t.Errorf("row %s: %q %q, want live %s", v, r.verified, r.server, live[v])
		case live[v] == "" && (r.verified != "recorded columns" || r.server != ""):
			t.Errorf("row %s: %q %q, want recorded columns", v, r.verified, r.server)
		}
	}
	if len(rows) != 13 {
		t.Errorf("%d rows, want 13", len(rows))
	}
}

// TestPostgresIntegration drives a real replication set of every
// PostgreSQL major of pgtest.Releases (primary pgdb1, sync standby pgdb2,
// async standby pgdb3, synchronous_standby_names '"pgdb2"', archiving on, a
// replication slot per standby) through the scenarios the collector exists
// for. It checks each through the collector's metrics, read as a pg_monitor
// role with a SCRAM password over TCP, and through the replication check's
// findings on the same snapshots (nagios/testdata/postgres-live/pgN.txt).
// At the end of a version, every PostgreSQL metric docs/metrics.md says the
// version exports must have appeared, and none it says it does not.
func TestPostgresIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL")
	}
	names, rows := postgresDocs(t)
	begin := time.Now()
	for _, rel := range pgtest.Releases {
		row, ok := rows[fmt.Sprint(rel.Major)]
		if !ok {
			t.Fatalf("docs/metrics.md has no version row for %d", rel.Major)
		}
		v := &versionRun{rel: rel, row: row, documented: names}
		fmt.Fprintf(&v.transcript, "# The PostgreSQL findings of check replication on PostgreSQL %s, scenario by scenario\n"+
			"# (collector.TestPostgresIntegration; WAL file names, failure counts and lag values normalised,\n"+
			"# a primary's pg_replay_lag_seconds left out).\n\n", rel.Version())
		t.Run(fmt.Sprintf("pg%d", rel.Major), func(t *testing.T) {
			start := time.Now()
			postgresScenarios(t, v)
			t.Logf("PostgreSQL %s: %v", rel.Version(), time.Since(start).Round(time.Millisecond))
		})
	}
	t.Logf("all versions: %v", time.Since(begin).Round(time.Millisecond))
}

func postgresScenarios(t *testing.T, v *versionRun) {
	begin := time.Now()
	c := pgtest.Start(t, pgtest.Options{Major: v.rel.Major, Standbys: []string{"pgdb2", "pgdb3"}, SyncStandbyNames: `"pgdb2"`})
	t.Logf("replication set up in %v", time.Since(begin).Round(time.Millisecond))
	if c.Major == 11 {
		// What docs/metrics.md says 11 needs for archiver_ready_files.
		c.Primary.Exec(t, "GRANT EXECUTE ON FUNCTION pg_ls_dir(text) TO "+pgtest.MonitorUser)
	}
	p := newPostgresLive(t, c.Primary, true, v)
	s2 := newPostgresLive(t, c.Standbys["pgdb2"], false, v)
	s3 := newPostgresLive(t, c.Standbys["pgdb3"], false, v)
	const wait = 20 * time.Second
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"healthy", func(t *testing.T) {
			got := p.expect(t, "healthy primary", wait, map[string]any{
				"pgha_postgres_up": 1, "pgha_postgres_in_recovery": 0, "pgha_local_role_mismatch": 0,
				"pgha_postgres_sync_standbys": 1, "pgha_postgres_sync_standbys_required": 1,
				"pgha_postgres_synchronous_standby_names_set": 1,
				"pgha_postgres_commits_protected":             1, "pgha_postgres_writes_blocked_risk": 0,
				pgStandbySeries("pgha_postgres_replication_sync_state", "pgdb2", `sync_state="sync"`):  1,
				pgStandbySeries("pgha_postgres_replication_sync_state", "pgdb3", `sync_state="async"`): 1,
				pgStandbySeries("pgha_postgres_replication_state", "pgdb2", `state="streaming"`):       1,
				pgStandbySeries("pgha_postgres_replication_state", "pgdb3", `state="streaming"`):       1,
				pgStandbySeries("pgha_postgres_replication_sync_priority", "pgdb2", ""):                1,
				pgStandbySeries("pgha_postgres_replication_sync_priority", "pgdb3", ""):                0,
				pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb2", `stage="flush"`):       0,
				pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb3", `stage="replay"`):      0,
				pgStandbySeries("pgha_postgres_replication_reply_age_seconds", "pgdb2", ""):            v.want("pgha_postgres_replication_reply_age_seconds", func(v float64) bool { return v >= 0 && v < 5 }),
				"pgha_postgres_timeline_id":                                                     1,
				`pgha_postgres_wal_position_bytes{kind="current"}`:                              pgPositive,
				"pgha_postgres_archiver_ready_files":                                            v.want("pgha_postgres_archiver_ready_files", func(v float64) bool { return v >= 0 }),
				"pgha_postgres_archiver_failing":                                                0,
				pgSlotSeries("pgha_postgres_slot_active", "pgdb2", ""):                          1,
				pgSlotSeries("pgha_postgres_slot_active", "pgdb3", ""):                          1,
				pgSlotSeries("pgha_postgres_slot_retained_bytes", "pgdb2", ""):                  func(v float64) bool { return v >= 0 },
				pgSlotSeries("pgha_postgres_slot_wal_status", "pgdb2", `wal_status="reserved"`): v.want("pgha_postgres_slot_wal_status", 1),
				pgSlotSeries("pgha_postgres_slot_safe_wal_size_bytes", "pgdb2", ""):             v.want("pgha_postgres_slot_safe_wal_size_bytes", pgPositive),
				"pgha_postgres_scrape_queries":                                                  5,
				"pgha_postgres_scrape_round_trips":                                              1,
			})
			var info string
			for k := range got {
				if strings.HasPrefix(k, "pgha_postgres_info{") {
					info = k
				}
			}
			if !strings.Contains(info, fmt.Sprintf(`server_version_num="%d`, v.rel.Major)) || strings.Contains(info, `system_identifier=""`) ||
				!strings.Contains(info, `version="`+v.rel.Version()) {
				t.Errorf("info series %s", info)
			}
			p.check(t, "healthy", nagios.OK, "2 standby(s) streaming", "1 sync standby(s)")
			if sb := p.rec.last.Load().Standbys; len(sb) != 2 || sb[0].ApplicationName != "pgdb2" || sb[0].SyncState != "sync" ||
				sb[1].ApplicationName != "pgdb3" || sb[1].SyncState != "async" {
				t.Errorf("standbys the check saw: %+v", sb)
			}
			for _, s := range []*postgresLive{s2, s3} {
				s.expect(t, "healthy standby", wait, map[string]any{
					"pgha_postgres_up": 1, "pgha_postgres_in_recovery": 1, "pgha_local_role_mismatch": 0,
					"pgha_postgres_wal_receiver_up": 1, `pgha_postgres_wal_receiver_status{status="streaming"}`: 1,
					"pgha_postgres_wal_receiver_last_message_age_seconds": func(v float64) bool { return v >= 0 && v < 60 },
					"pgha_postgres_replay_lag_bytes":                      0, "pgha_postgres_replay_lag_seconds": 0, "pgha_postgres_replay_paused": 0,
					"pgha_postgres_timeline_id": 1, "pgha_postgres_sync_standbys": postgresAbsent, "pgha_postgres_commits_protected": postgresAbsent,
					"pgha_postgres_synchronous_standby_names_set":      0,
					`pgha_postgres_wal_position_bytes{kind="receive"}`: pgPositive, `pgha_postgres_wal_position_bytes{kind="replay"}`: pgPositive,
					`pgha_postgres_wal_position_bytes{kind="current"}`: postgresAbsent,
					"pgha_postgres_scrape_round_trips":                 1,
				})
				s.check(t, "healthy", nagios.OK, "WAL receiver streaming")
			}
		}},

		{"replay paused", func(t *testing.T) {
			// A replayed commit first, so that the standby has a timestamp.
			c.Primary.GenerateWAL(t, 1)
			p.expect(t, "pgdb3 caught up", wait, map[string]any{pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb3", `stage="replay"`): 0})
			c.Standbys["pgdb3"].Exec(t, "SELECT pg_wal_replay_pause()")
			s3.expect(t, "paused", wait, map[string]any{"pgha_postgres_replay_paused": 1, "pgha_postgres_last_replay_timestamp_seconds": pgPositive})
			s3.check(t, "replay paused", nagios.Warning, "WAL replay paused")
		}},

		{"lag then catch-up", func(t *testing.T) {
			c.Primary.GenerateWAL(t, 2)
			p.expect(t, "pgdb3 behind", wait, map[string]any{
				pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb3", `stage="replay"`):   pgPositive,
				pgStandbySeries("pgha_postgres_replication_lag_seconds", "pgdb3", `stage="replay"`): pgPositive,
				pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb2", `stage="flush"`):    0,
			})
			s3.expect(t, "paused standby lags", wait, map[string]any{
				"pgha_postgres_replay_paused": 1, "pgha_postgres_replay_lag_bytes": pgPositive,
				"pgha_postgres_replay_lag_seconds": pgPositive, "pgha_postgres_last_replay_timestamp_seconds": pgPositive,
			})
			c.Standbys["pgdb3"].Exec(t, "SELECT pg_wal_replay_resume()")
			p.expect(t, "pgdb3 caught up again", wait, map[string]any{
				pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb3", `stage="replay"`): 0,
			})
			s3.expect(t, "idle-safe zero", wait, map[string]any{
				"pgha_postgres_replay_paused": 0, "pgha_postgres_replay_lag_bytes": 0, "pgha_postgres_replay_lag_seconds": 0,
			})
			s3.check(t, "caught up", nagios.OK)
		}},

		{"archive_command failing", func(t *testing.T) {
			before, _ := p.scrape(t)
			c.SetArchiveFailing(t, true)
			c.Primary.GenerateWAL(t, 1)
			c.Primary.Exec(t, "SELECT pg_switch_wal()")
			p.expect(t, "archiving fails", wait, map[string]any{
				"pgha_postgres_archiver_failed_total":                  func(v float64) bool { return v > before["pgha_postgres_archiver_failed_total"] },
				"pgha_postgres_archiver_failing":                       1,
				"pgha_postgres_archiver_last_failed_timestamp_seconds": pgPositive,
				"pgha_postgres_archiver_ready_files":                   v.want("pgha_postgres_archiver_ready_files", pgPositive),
			})
			p.check(t, "archive_command failing", nagios.Warning, "WAL archiving failing")
			c.SetArchiveFailing(t, false)
			c.Primary.GenerateWAL(t, 1)
			c.Primary.Exec(t, "SELECT pg_switch_wal()")
			p.expect(t, "archiving recovers", wait, map[string]any{
				"pgha_postgres_archiver_failing":                         0,
				"pgha_postgres_archiver_archived_total":                  func(v float64) bool { return v > before["pgha_postgres_archiver_archived_total"] },
				"pgha_postgres_archiver_last_archived_timestamp_seconds": pgPositive,
			})
		}},

		{"sync standby stopped", func(t *testing.T) {
			c.Standbys["pgdb2"].Stop(t, "fast")
			p.expect(t, "sync lost", wait, map[string]any{
				"pgha_postgres_sync_standbys": 0, "pgha_postgres_sync_standbys_required": 1,
				"pgha_postgres_writes_blocked_risk": 1, "pgha_postgres_commits_protected": 0,
				pgStandbySeries("pgha_postgres_replication_sync_state", "pgdb3", `sync_state="async"`): 1,
				pgStandbySeries("pgha_postgres_replication_sync_state", "pgdb2", `sync_state="sync"`):  postgresAbsent,
				pgSlotSeries("pgha_postgres_slot_active", "pgdb2", ""):                                 0,
			})
			p.check(t, "sync standby stopped", nagios.Critical, "writes are blocked: synchronous_standby_names wants 1 sync standby(s), 0 connected")
			got, err := s2.scrape(t)
			if err == nil || got["pgha_postgres_up"] != 0 || len(got) != 1 {
				t.Errorf("stopped standby: %v, %v", got, err)
			}
			c.Standbys["pgdb2"].Start(t)
			c.WaitStreaming(t, "pgdb2")
			p.expect(t, "sync back", wait, map[string]any{"pgha_postgres_sync_standbys": 1, "pgha_postgres_writes_blocked_risk": 0})
		}},

		{"async standby stopped", func(t *testing.T) {
			c.Standbys["pgdb3"].Stop(t, "fast")
			p.expect(t, "async gone", wait, map[string]any{
				"pgha_postgres_sync_standbys": 1, "pgha_postgres_writes_blocked_risk": 0, "pgha_postgres_commits_protected": 1,
				pgStandbySeries("pgha_postgres_replication_state", "pgdb3", `state="streaming"`): postgresAbsent,
				pgStandbySeries("pgha_postgres_replication_state", "pgdb2", `state="streaming"`): 1,
				pgSlotSeries("pgha_postgres_slot_active", "pgdb3", ""):                           0,
			})
			p.check(t, "async standby stopped", nagios.OK, "1 standby(s) streaming", "1 sync standby(s)")
			c.Standbys["pgdb3"].Start(t)
			c.WaitStreaming(t, "pgdb3")
		}},

		{"promoted while Pacemaker says unpromoted", func(t *testing.T) {
			s3.expect(t, "standby agrees", wait, map[string]any{"pgha_local_role_mismatch": 0, "pgha_postgres_in_recovery": 1})
			c.Standbys["pgdb3"].Promote(t)
			s3.expect(t, "role mismatch", wait, map[string]any{
				"pgha_local_role_mismatch": 1, "pgha_postgres_in_recovery": 0, "pgha_postgres_timeline_id": 2,
				`pgha_postgres_wal_position_bytes{kind="current"}`: pgPositive, "pgha_postgres_wal_receiver_up": postgresAbsent,
			})
			s3.check(t, "promoted outside Pacemaker", nagios.Critical, "role mismatch: PostgreSQL is a primary but Pacemaker does not run it promoted")
			s3.promoted.Store(true)
			s3.expect(t, "Pacemaker caught up", wait, map[string]any{"pgha_local_role_mismatch": 0})
			s3.check(t, "promoted outside Pacemaker, Pacemaker agrees", nagios.Critical, "PostgreSQL primary agrees with Pacemaker", "no synchronous standby")
		}},

		{"primary stopped", func(t *testing.T) {
			c.Primary.Stop(t, "immediate")
			start := time.Now()
			got, err := p.scrape(t)
			took := time.Since(start)
			t.Logf("scrape of the stopped primary: %v", took)
			if err == nil || got["pgha_postgres_up"] != 0 || len(got) != 1 {
				t.Errorf("stopped primary: %v, %v", got, err)
			}
			if took > 2*time.Second {
				t.Errorf("scrape of a stopped primary took %v", took)
			}
			// The standby's frozen receive == replay must not read as "no lag".
			s2.expect(t, "dead link shows", wait, map[string]any{
				"pgha_postgres_up": 1, "pgha_postgres_replay_lag_seconds": pgPositive, "pgha_postgres_wal_receiver_up": 0,
			})
			s2.check(t, "primary stopped", nagios.Critical, "no WAL receiver")
		}},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			t.FailNow() // later steps start from the state this one leaves
		}
	}
	var missing, unexpected []string
	for _, name := range v.documented {
		_, seen := v.seen.Load(name)
		absent := slices.Contains(v.row.absent, name)
		switch {
		case !seen && !absent:
			missing = append(missing, name)
		case seen && absent:
			unexpected = append(unexpected, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("PostgreSQL %s: docs/metrics.md documents these for %d, no scenario exported them: %s",
			v.rel.Version(), v.rel.Major, strings.Join(missing, " "))
	}
	if len(unexpected) > 0 {
		t.Errorf("PostgreSQL %s exported what docs/metrics.md says %d does not: %s", v.rel.Version(), v.rel.Major, strings.Join(unexpected, " "))
	}
	v.seen.Range(func(k, _ any) bool {
		if name := k.(string); !slices.Contains(v.documented, name) {
			t.Errorf("%s is exported but not in the PostgreSQL tables of docs/metrics.md", name)
		}
		return true
	})
	compareCheckGolden(t, v)
}

// compareCheckGolden compares a version's check transcript with
// nagios/testdata/postgres-live/pgN.txt (rewritten with -update).
func compareCheckGolden(t *testing.T, v *versionRun) {
	t.Helper()
	path := filepath.Join(crmtest.ModuleRoot(t), "nagios", "testdata", "postgres-live", fmt.Sprintf("pg%d.txt", v.rel.Major))
	got := v.transcript.String()
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./collector -run TestPostgresIntegration -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// BenchmarkPostgresScrape measures one collector Update (one pg snapshot over
// a warm connection) against a real primary and standby.
func BenchmarkPostgresScrape(b *testing.B) {
	c := pgtest.Start(b, pgtest.Options{Standbys: []string{"pgdb2"}, SyncStandbyNames: `"pgdb2"`})
	for _, n := range []*pgtest.Node{c.Primary, c.Standbys["pgdb2"]} {
		l := newPostgresLive(b, n, n == c.Primary, nil)
		b.Run(n.Name, func(b *testing.B) {
			ch := make(chan prometheus.Metric, 1000)
			for b.Loop() {
				if err := l.coll.Update(context.Background(), ch); err != nil {
					b.Fatal(err)
				}
				for len(ch) > 0 {
					<-ch
				}
			}
		})
	}
}

var postgresFQName = regexp.MustCompile(`fqName: "([^"]+)"`)

func postgresSeriesKey(t testing.TB, m prometheus.Metric) string {
	t.Helper()
	name := postgresFQName.FindStringSubmatch(m.Desc().String())
	if name == nil {
		t.Fatalf("no name in %s", m.Desc())
	}
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if len(d.Label) == 0 {
		return name[1]
	}
	var pairs []string
	for _, l := range d.Label {
		pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return name[1] + "{" + strings.Join(pairs, ",") + "}"
}

func postgresMetricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
