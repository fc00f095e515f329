package collector

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgha/pgha_exporter/pg"
	"github.com/pgha/pgha_exporter/pg/pgtest"
)

// postgresLive is the collector of one real node, as the pg_monitor role.
type postgresLive struct {
	name     string
	coll     Collector
	promoted atomic.Bool // what the fake Pacemaker says
}

func newPostgresLive(t testing.TB, n *pgtest.Node, promoted bool) *postgresLive {
	t.Helper()
	dsn, err := pg.LoadDSN("", func(string) string { return n.MonitorDSN() })
	if err != nil {
		t.Fatal(err)
	}
	client := pg.NewClient(dsn, pg.ClientOptions{ConnectTimeout: 2 * time.Second, QueryTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = client.Close(context.Background()) })
	l := &postgresLive{name: n.Name}
	l.promoted.Store(promoted)
	l.coll = NewPostgresCollector(client, PostgresOptions{
		PacemakerRole: func() (bool, bool) { return l.promoted.Load(), true },
	}, log.NewNopLogger())
	return l
}

// scrape runs one Update and returns the series as `name{label="v",...}`
// (labels sorted) -> value, and Update's error.
func (l *postgresLive) scrape(t testing.TB) (map[string]float64, error) {
	t.Helper()
	ch := make(chan prometheus.Metric, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := l.coll.Update(ctx, ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		out[postgresSeriesKey(t, m)] = postgresMetricValue(t, m)
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

const postgresAbsent = "absent"

func pgPositive(v float64) bool { return v > 0 }

func pgStandbySeries(name, app, extra string) string {
	s := name + `{application_name="` + app + `",client_addr="127.0.0.1"`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// TestPostgresIntegration drives a real PostgreSQL 15 replication set (primary
// pgdb1, sync standby pgdb2, async standby pgdb3, synchronous_standby_names
// '"pgdb2"', archiving on) through the scenarios the collector exists for, and
// checks each through the collector's metrics, read as a pg_monitor role with
// a SCRAM password over TCP.
func TestPostgresIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL")
	}
	begin := time.Now()
	c := pgtest.Start(t, pgtest.Options{Standbys: []string{"pgdb2", "pgdb3"}, SyncStandbyNames: `"pgdb2"`})
	t.Logf("replication set up in %v", time.Since(begin).Round(time.Millisecond))
	p := newPostgresLive(t, c.Primary, true)
	s2 := newPostgresLive(t, c.Standbys["pgdb2"], false)
	s3 := newPostgresLive(t, c.Standbys["pgdb3"], false)
	const wait = 20 * time.Second

	t.Run("healthy", func(t *testing.T) {
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
			pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb2", `stage="flush"`):       0,
			pgStandbySeries("pgha_postgres_replication_reply_age_seconds", "pgdb2", ""):            func(v float64) bool { return v >= 0 && v < 5 },
			"pgha_postgres_timeline_id":                        1,
			`pgha_postgres_wal_position_bytes{kind="current"}`: pgPositive,
			"pgha_postgres_archiver_ready_files":               func(v float64) bool { return v >= 0 },
			"pgha_postgres_scrape_queries":                     5,
			"pgha_postgres_scrape_round_trips":                 1,
		})
		var info string
		for k := range got {
			if strings.HasPrefix(k, "pgha_postgres_info{") {
				info = k
			}
		}
		if !strings.Contains(info, `server_version_num="15`) || strings.Contains(info, `system_identifier=""`) {
			t.Errorf("info series %s", info)
		}
		s2.expect(t, "healthy standby", wait, map[string]any{
			"pgha_postgres_up": 1, "pgha_postgres_in_recovery": 1, "pgha_local_role_mismatch": 0,
			"pgha_postgres_wal_receiver_up": 1, `pgha_postgres_wal_receiver_status{status="streaming"}`: 1,
			"pgha_postgres_replay_lag_bytes": 0, "pgha_postgres_replay_lag_seconds": 0, "pgha_postgres_replay_paused": 0,
			"pgha_postgres_timeline_id": 1, "pgha_postgres_sync_standbys": postgresAbsent, "pgha_postgres_commits_protected": postgresAbsent,
			`pgha_postgres_wal_position_bytes{kind="receive"}`: pgPositive, `pgha_postgres_wal_position_bytes{kind="current"}`: postgresAbsent,
			"pgha_postgres_scrape_round_trips": 1,
		})
		if t.Failed() {
			t.FailNow()
		}
	})

	t.Run("lag then catch-up", func(t *testing.T) {
		// A replayed commit first, so that the standby has a timestamp.
		c.Primary.GenerateWAL(t, 1)
		p.expect(t, "pgdb3 caught up", wait, map[string]any{pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb3", `stage="replay"`): 0})
		c.Standbys["pgdb3"].Exec(t, "SELECT pg_wal_replay_pause()")
		c.Primary.GenerateWAL(t, 8)
		p.expect(t, "pgdb3 behind", wait, map[string]any{
			pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb3", `stage="replay"`): pgPositive,
			pgStandbySeries("pgha_postgres_replication_lag_bytes", "pgdb2", `stage="flush"`):  0,
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
	})

	t.Run("archive_command failing", func(t *testing.T) {
		before, _ := p.scrape(t)
		c.SetArchiveFailing(t, true)
		c.Primary.GenerateWAL(t, 1)
		c.Primary.Exec(t, "SELECT pg_switch_wal()")
		p.expect(t, "archiving fails", wait, map[string]any{
			"pgha_postgres_archiver_failed_total": func(v float64) bool { return v > before["pgha_postgres_archiver_failed_total"] },
			"pgha_postgres_archiver_failing":      1,
			"pgha_postgres_archiver_ready_files":  pgPositive,
		})
		c.SetArchiveFailing(t, false)
		c.Primary.GenerateWAL(t, 1)
		c.Primary.Exec(t, "SELECT pg_switch_wal()")
		p.expect(t, "archiving recovers", wait, map[string]any{
			"pgha_postgres_archiver_failing":        0,
			"pgha_postgres_archiver_archived_total": func(v float64) bool { return v > before["pgha_postgres_archiver_archived_total"] },
		})
	})

	t.Run("sync standby stopped", func(t *testing.T) {
		c.Standbys["pgdb2"].Stop(t, "fast")
		p.expect(t, "sync lost", wait, map[string]any{
			"pgha_postgres_sync_standbys": 0, "pgha_postgres_sync_standbys_required": 1,
			"pgha_postgres_writes_blocked_risk": 1, "pgha_postgres_commits_protected": 0,
			pgStandbySeries("pgha_postgres_replication_sync_state", "pgdb3", `sync_state="async"`): 1,
			pgStandbySeries("pgha_postgres_replication_sync_state", "pgdb2", `sync_state="sync"`):  postgresAbsent,
		})
		got, err := s2.scrape(t)
		if err == nil || got["pgha_postgres_up"] != 0 || len(got) != 1 {
			t.Errorf("stopped standby: %v, %v", got, err)
		}
		c.Standbys["pgdb2"].Start(t)
		c.WaitStreaming(t, "pgdb2")
		p.expect(t, "sync back", wait, map[string]any{"pgha_postgres_sync_standbys": 1, "pgha_postgres_writes_blocked_risk": 0})
	})

	t.Run("async standby stopped", func(t *testing.T) {
		c.Standbys["pgdb3"].Stop(t, "fast")
		p.expect(t, "async gone", wait, map[string]any{
			"pgha_postgres_sync_standbys": 1, "pgha_postgres_writes_blocked_risk": 0, "pgha_postgres_commits_protected": 1,
			pgStandbySeries("pgha_postgres_replication_state", "pgdb3", `state="streaming"`): postgresAbsent,
			pgStandbySeries("pgha_postgres_replication_state", "pgdb2", `state="streaming"`): 1,
		})
		c.Standbys["pgdb3"].Start(t)
		c.WaitStreaming(t, "pgdb3")
	})

	t.Run("promoted while Pacemaker says unpromoted", func(t *testing.T) {
		s3.expect(t, "standby agrees", wait, map[string]any{"pgha_local_role_mismatch": 0, "pgha_postgres_in_recovery": 1})
		c.Standbys["pgdb3"].Promote(t)
		s3.expect(t, "role mismatch", wait, map[string]any{
			"pgha_local_role_mismatch": 1, "pgha_postgres_in_recovery": 0, "pgha_postgres_timeline_id": 2,
			`pgha_postgres_wal_position_bytes{kind="current"}`: pgPositive, "pgha_postgres_wal_receiver_up": postgresAbsent,
		})
		s3.promoted.Store(true)
		s3.expect(t, "Pacemaker caught up", wait, map[string]any{"pgha_local_role_mismatch": 0})
	})

	t.Run("primary stopped", func(t *testing.T) {
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
			"pgha_postgres_up": 1, "pgha_postgres_replay_lag_seconds": pgPositive,
		})
	})
	t.Logf("integration scenarios done in %v", time.Since(begin).Round(time.Millisecond))
}

// BenchmarkPostgresScrape measures one collector Update (one pg snapshot over
// a warm connection) against a real primary and standby.
func BenchmarkPostgresScrape(b *testing.B) {
	c := pgtest.Start(b, pgtest.Options{Standbys: []string{"pgdb2"}, SyncStandbyNames: `"pgdb2"`})
	for _, n := range []*pgtest.Node{c.Primary, c.Standbys["pgdb2"]} {
		l := newPostgresLive(b, n, n == c.Primary)
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
