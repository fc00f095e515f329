package pg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pgha/pgha_exporter/pg/pgtest"
)

func loadTestDSN(t testing.TB, dsn string) DSN {
	t.Helper()
	d, err := LoadDSN("", envOf(map[string]string{EnvDSN: dsn}))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestIntegrationClient runs the client against a real primary and sync
// standby of every PostgreSQL major of pgtest.Releases, as a role that has
// nothing but pg_monitor.
//
// Each cluster lives in a subtest, so that afterwards the test can check that
// its cleanup stopped every server and removed the directory.
func TestIntegrationClient(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL")
	}
	for _, rel := range pgtest.Releases {
		t.Run(fmt.Sprintf("pg%d", rel.Major), func(t *testing.T) {
			begin := time.Now()
			var pids []int
			var dir string
			t.Run("live", func(t *testing.T) {
				c := pgtest.Start(t, pgtest.Options{Major: rel.Major, Standbys: []string{"pgdb2"}, SyncStandbyNames: `"pgdb2"`})
				dir = c.Dir
				pids = []int{c.Primary.PID(), c.Standbys["pgdb2"].PID()}
				checkLiveClient(t, c, rel)
			})
			for _, pid := range pids {
				if pid == 0 || pgtest.Running(pid) {
					t.Errorf("postmaster %d not stopped by the cleanup", pid)
				}
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cluster directory %s left behind: %v", dir, err)
			}
			t.Logf("PostgreSQL %s: %v", rel.Version(), time.Since(begin).Round(time.Millisecond))
		})
	}
}

func checkLiveClient(t *testing.T, c *pgtest.Cluster, rel pgtest.Release) {
	ctx := context.Background()
	primary := NewClient(loadTestDSN(t, c.Primary.MonitorDSN()), ClientOptions{})
	defer primary.Close(ctx)
	standby := NewClient(loadTestDSN(t, c.Standbys["pgdb2"].MonitorDSN()), ClientOptions{})
	defer standby.Close(ctx)

	p, err := primary.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.VersionNum/10000 != rel.Major || !strings.HasPrefix(p.Version, rel.Version()) {
		t.Errorf("version %d %q", p.VersionNum, p.Version)
	}
	if p.InRecovery || p.CurrentWAL == nil || p.ReceiveLSN != nil || p.ReplayPaused != nil {
		t.Errorf("primary fields: %+v", p)
	}
	if p.Timeline == nil || *p.Timeline != 1 || p.SystemIdentifier == "" {
		t.Errorf("timeline %v, system identifier %q", p.Timeline, p.SystemIdentifier)
	}
	if diff := cmp.Diff(SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"pgdb2"}}, p.Sync); diff != "" {
		t.Errorf("Sync (-want +got):\n%s", diff)
	}
	if len(p.Standbys) != 1 {
		t.Fatalf("standbys: %+v", p.Standbys)
	}
	st := p.Standbys[0]
	if st.ApplicationName != "pgdb2" || st.ClientAddr != "127.0.0.1" || st.State != "streaming" || st.SyncState != "sync" ||
		st.SyncPriority == nil || *st.SyncPriority != 1 || len(st.LagBytes) != 4 {
		t.Errorf("pg_monitor does not see the whole walsender row: %+v", st)
	}
	if hasReplyTime := rel.Major >= 12; (st.ReplyTime != nil) != hasReplyTime || (st.ReplyAgeSeconds != nil) != hasReplyTime {
		t.Errorf("reply_time (12+) on %d: %v, age %v", rel.Major, st.ReplyTime, st.ReplyAgeSeconds)
	}
	wantSlot := Slot{Name: "pgdb2", Type: "physical", Active: true}
	if len(p.Slots) == 1 {
		if rel.Major >= 13 { // wal_status and safe_wal_size (max_slot_wal_keep_size is set)
			wantSlot.WALStatus, wantSlot.SafeWALSize = "reserved", p.Slots[0].SafeWALSize
		}
		wantSlot.RestartLSN, wantSlot.RetainedBytes = p.Slots[0].RestartLSN, p.Slots[0].RetainedBytes
	}
	if diff := cmp.Diff([]Slot{wantSlot}, p.Slots); diff != "" || wantSlot.RestartLSN == nil || wantSlot.RetainedBytes == nil ||
		(rel.Major >= 13) != (wantSlot.SafeWALSize != nil) {
		t.Errorf("slots (-want +got):\n%s", diff)
	}
	if n, ok := p.SyncStandbyCount(); n != 1 || !ok {
		t.Errorf("SyncStandbyCount() = %d, %v", n, ok)
	}
	if prot, ok := p.CommitsProtected(); !prot || !ok {
		t.Error("commits not protected")
	}
	// pg_monitor may list archive_status from 12 (pg_ls_archive_statusdir);
	// before, it takes a GRANT (11) or a superuser (10).
	if p.Archiver == nil || p.Archiver.Mode != "on" || (p.Archiver.ReadyCount != nil) != (rel.Major >= 12) {
		t.Errorf("archiver on %d: %+v", rel.Major, p.Archiver)
	}
	if p.Queries != 5 || p.RoundTrips != 1 {
		t.Errorf("first snapshot: %d queries in %d round trips, want 5 in 1", p.Queries, p.RoundTrips)
	}
	if p2, err := primary.Snapshot(ctx); err != nil || p2.RoundTrips != 1 {
		t.Errorf("second snapshot: %v, %d round trips", err, p2.RoundTrips)
	}

	s, err := standby.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.InRecovery || s.CurrentWAL != nil || s.ReceiveLSN == nil || s.ReplayLSN == nil || s.ReplayPaused == nil || *s.ReplayPaused {
		t.Errorf("standby fields: %+v", s)
	}
	if s.SystemIdentifier != p.SystemIdentifier || s.Timeline == nil || *s.Timeline != 1 {
		t.Errorf("standby identifier %q timeline %v", s.SystemIdentifier, s.Timeline)
	}
	r := s.WALReceiver
	if r == nil || r.Status != "streaming" || r.SlotName != "pgdb2" || r.FlushedLSN == nil || r.LastMsgAgeSeconds == nil ||
		(r.WrittenLSN != nil) != (rel.Major >= 13) {
		t.Fatalf("receiver: %+v", r)
	}
	if rel.Major >= 11 && (r.SenderHost != "127.0.0.1" || r.SenderPort == nil || *r.SenderPort != c.Primary.Port) ||
		rel.Major < 11 && (r.SenderHost != "" || r.SenderPort != nil) {
		t.Errorf("receiver's sender (11+) on %d: %q %v", rel.Major, r.SenderHost, r.SenderPort)
	}
	if !s.ReceiverAlive() {
		t.Error("receiver not alive")
	}
	if s.WALReceiverTimeoutSeconds != 60 || s.WALReceiverStatusIntervalSeconds != 1 {
		t.Errorf("receiver settings %v %v", s.WALReceiverTimeoutSeconds, s.WALReceiverStatusIntervalSeconds)
	}
	if s.Queries != 5 || s.RoundTrips != 1 {
		t.Errorf("standby: %d queries in %d round trips", s.Queries, s.RoundTrips)
	}

	// A restart breaks the client's connection; the next call reconnects
	// and retries instead of reporting the server down.
	c.Primary.Stop(t, "fast")
	c.Primary.Start(t)
	if _, err := primary.Snapshot(ctx); err != nil {
		t.Errorf("after a restart: %v", err)
	}
	c.WaitStreaming(t, "pgdb2")

	// Wrong password: the error says so and shows no password.
	wrong := strings.Replace(c.Primary.MonitorDSN(), pgtest.MonitorPassword, "wr0ng-PW-99", 1)
	bad := NewClient(loadTestDSN(t, wrong), ClientOptions{})
	_, err = bad.Snapshot(ctx)
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") || strings.Contains(err.Error(), "wr0ng-PW-99") {
		t.Errorf("wrong password: %v", err)
	}

	// A statement that outlives the query timeout is cut off by
	// statement_timeout / the context, and the client recovers.
	short := NewClient(loadTestDSN(t, c.Primary.MonitorDSN()), ClientOptions{QueryTimeout: time.Nanosecond})
	if _, err := short.Snapshot(ctx); err == nil {
		t.Error("no error with a 1ns query timeout")
	}

	t.Run("catalog", func(t *testing.T) { checkLiveCatalog(t, c, strconv.Itoa(rel.Major*10000)) })
	t.Run("role without pg_monitor", func(t *testing.T) { checkHiddenColumns(t, c) })
}

// checkHiddenColumns connects as a role without pg_monitor, which sees NULL
// walsender details (as every non-superuser does on 9.x), then installs the
// SECURITY DEFINER wrappers of docs/metrics.md for it.
func checkHiddenColumns(t *testing.T, c *pgtest.Cluster) {
	ctx := context.Background()
	c.Primary.Exec(t, "CREATE ROLE pgha_plain LOGIN")
	snap := func() *Snapshot {
		t.Helper()
		cl := NewClient(loadTestDSN(t, c.Primary.LocalDSN("pgha_plain")), ClientOptions{})
		defer cl.Close(ctx)
		s, err := cl.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := snap()
	if len(s.Standbys) != 1 || s.Standbys[0].ApplicationName != "pgdb2" || s.Standbys[0].SyncState != "" || s.Standbys[0].SentLSN != nil {
		t.Errorf("unprivileged walsender row: %+v", s.Standbys)
	}
	if _, ok := s.SyncStandbyCount(); ok {
		t.Error("SyncStandbyCount claims to know with hidden sync_state")
	}
	if s.Archiver == nil || s.Archiver.ReadyCount != nil {
		t.Errorf("ready count without the privilege: %+v", s.Archiver)
	}

	doc, err := os.ReadFile(filepath.Join("..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	var wrappers string
	for _, block := range strings.Split(string(doc), "```sql\n")[1:] {
		if body, _, _ := strings.Cut(block, "```"); strings.Contains(body, "SECURITY DEFINER") {
			wrappers = body
		}
	}
	if wrappers == "" {
		t.Fatal("no SECURITY DEFINER block in docs/metrics.md")
	}
	c.Primary.Exec(t, strings.ReplaceAll(wrappers, "pgha_monitor", "pgha_plain"))
	s = snap()
	if len(s.Standbys) != 1 || s.Standbys[0].SyncState != "sync" || s.Standbys[0].FlushLSN == nil {
		t.Errorf("walsender row through the wrapper: %+v", s.Standbys)
	}
	if n, ok := s.SyncStandbyCount(); n != 1 || !ok {
		t.Errorf("SyncStandbyCount() through the wrapper = %d, %v", n, ok)
	}
}

// checkLiveCatalog compares testdata/catalog.json's entry of the server's
// major with the live server, which is how the recorded entries are kept
// honest.
func checkLiveCatalog(t *testing.T, c *pgtest.Cluster, key string) {
	conn := c.Primary.Admin(t)
	defer conn.Close(context.Background())
	ctx := context.Background()
	cat := loadCatalog(t)
	v, ok := cat.Versions[key]
	if !ok {
		t.Fatalf("testdata/catalog.json has no entry %s", key)
	}
	for rel, want := range v.Relations {
		from := rel
		switch rel {
		case "pg_ls_dir()":
			from = "pg_ls_dir('pg_wal') AS pg_ls_dir"
		}
		rows, err := conn.Query(ctx, fmt.Sprintf("SELECT * FROM %s LIMIT 0", from))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		var got []string
		for _, fd := range rows.FieldDescriptions() {
			got = append(got, fd.Name)
		}
		rows.Close()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s columns (-catalog +live):\n%s", rel, diff)
		}
	}
	funcs := append(slices.Clone(cat.AllVersions.Functions), v.Functions...)
	var missing []string
	if err := conn.QueryRow(ctx, "SELECT coalesce(array_agg(f), '{}') FROM unnest($1::text[]) f WHERE NOT EXISTS (SELECT FROM pg_proc WHERE proname = f)", funcs).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("functions missing on the live server: %v", missing)
	}
	var missingSettings []string
	if err := conn.QueryRow(ctx, "SELECT coalesce(array_agg(s), '{}') FROM unnest($1::text[]) s WHERE current_setting(s, true) IS NULL", cat.AllVersions.Settings).Scan(&missingSettings); err != nil {
		t.Fatal(err)
	}
	if len(missingSettings) > 0 {
		t.Errorf("settings missing on the live server: %v", missingSettings)
	}
}

// TestIntegrationCleanupOnFailure runs a test that starts a server and then
// fails, in a child process, and checks that the server is gone afterwards.
func TestIntegrationCleanupOnFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL")
	}
	if pidFile := os.Getenv("PGHA_PGTEST_FAILING_CHILD"); pidFile != "" {
		c := pgtest.Start(t, pgtest.Options{})
		if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d %s", c.Primary.PID(), c.Dir)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Fatal("failing on purpose")
	}
	pgtest.BinDir(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command(os.Args[0], "-test.run=^TestIntegrationCleanupOnFailure$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PGHA_PGTEST_FAILING_CHILD="+pidFile)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "failing on purpose") {
		t.Fatalf("child did not fail as planned: %v\n%s", err, out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("child wrote no pid: %v\n%s", err, out)
	}
	var pid int
	var dir string
	if _, err := fmt.Sscan(string(b), &pid, &dir); err != nil || pid == 0 {
		t.Fatalf("pid file %q: %v", b, err)
	}
	if pgtest.Running(pid) {
		t.Errorf("postmaster %d survived the failed test", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind after the failed test", dir)
	}
}
