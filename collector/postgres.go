package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgha/pgha_exporter/pg"
)

// PGSource yields one snapshot of the local PostgreSQL per call; *pg.Client
// implements it.
type PGSource interface {
	Snapshot(ctx context.Context) (*pg.Snapshot, error)
}

// PostgresOptions configure the postgres collector.
type PostgresOptions struct {
	// PacemakerRole says what Pacemaker believes the local instance is:
	// promoted, or started/unpromoted (promoted false). known is false when
	// Pacemaker's view is not available (no snapshot yet, resource not on
	// this node). nil means never known. It feeds pgha_local_role_mismatch.
	PacemakerRole func() (promoted, known bool)
}

// The enumerations exported as one 0/1 series per value. A value outside
// the list (a future server version) is exported too, with value 1.
var (
	pgReplicationStates = []string{"startup", "catchup", "streaming", "backup", "stopping"}
	pgSyncStates        = []string{"async", "potential", "sync", "quorum"}
	pgReceiverStatuses  = []string{"starting", "streaming", "waiting", "restarting", "stopping", "stopped"}
	pgSlotWALStatuses   = []string{"reserved", "extended", "unreserved", "lost"}
)

type postgresCollector struct {
	src    PGSource
	opts   PostgresOptions
	logger log.Logger

	up, inRecovery, info, timeline, walPosition                                            *prometheus.Desc
	replState, replSyncState, replSyncPriority, replLagBytes, replLagSeconds, replReplyAge *prometheus.Desc
	syncStandbys, syncRequired, syncNamesSet, commitsProtected, writesBlockedRisk          *prometheus.Desc
	receiverUp, receiverStatus, receiverLastMsgAge                                         *prometheus.Desc
	replayLagBytes, replayLagSeconds, lastReplayTimestamp, replayPaused                    *prometheus.Desc
	archived, failed, lastArchived, lastFailed, archiverFailing, archiverReady             *prometheus.Desc
	slotActive, slotRetained, slotSafeWALSize, slotWALStatus                               *prometheus.Desc
	queries, roundTrips, roleMismatch                                                      *prometheus.Desc
}

// NewPostgresCollector returns the "postgres" collector. It takes one
// snapshot from client per scrape, bounded by the scrape's context. When the
// snapshot fails it exports pgha_postgres_up 0 and returns the error, so that
// pgha_scrape_collector_success{collector="postgres"} is 0 as well.
func NewPostgresCollector(client PGSource, opts PostgresOptions, logger log.Logger) Collector {
	const s = "postgres"
	standby := []string{"application_name", "client_addr"}
	with := func(extra string) []string { return append(slices.Clone(standby), extra) }
	slot := []string{"slot_name", "slot_type"}
	return &postgresCollector{
		src: client, opts: opts, logger: logger,

		up:          newDesc(s, "up", "Whether the local PostgreSQL answered the exporter's queries (1) or not (0)."),
		inRecovery:  newDesc(s, "in_recovery", "Whether the local PostgreSQL is a standby: pg_is_in_recovery()."),
		info:        newDesc(s, "info", "PostgreSQL version and system identifier (9.6+, else empty); value 1.", "version", "server_version_num", "system_identifier"),
		timeline:    newDesc(s, "timeline_id", "Timeline: of the current WAL file on a primary, received_tli or the last checkpoint's on a standby (9.6+)."),
		walPosition: newDesc(s, "wal_position_bytes", "WAL position as a byte offset: current (primary), receive and replay (standby).", "kind"),

		replState:        newDesc(s, "replication_state", "Walsender state of a standby streaming from this server, one series per state.", with("state")...),
		replSyncState:    newDesc(s, "replication_sync_state", "Synchronous state of a standby streaming from this server, one series per state.", with("sync_state")...),
		replSyncPriority: newDesc(s, "replication_sync_priority", "Priority of the standby in synchronous_standby_names (0: asynchronous).", standby...),
		replLagBytes:     newDesc(s, "replication_lag_bytes", "How far the standby's sent/write/flush/replay position is behind this server's end of WAL.", with("stage")...),
		replLagSeconds:   newDesc(s, "replication_lag_seconds", "write_lag/flush_lag/replay_lag of pg_stat_replication (10+); absent while PostgreSQL reports NULL (idle and caught up).", with("stage")...),
		replReplyAge:     newDesc(s, "replication_reply_age_seconds", "Time since the standby's last reply (12+): liveness even on an idle link.", standby...),

		syncStandbys:      newDesc(s, "sync_standbys", "Standbys confirming commits now (sync_state sync or quorum); primary only."),
		syncRequired:      newDesc(s, "sync_standbys_required", "Synchronous standbys synchronous_standby_names requires (0 when empty); primary only."),
		syncNamesSet:      newDesc(s, "synchronous_standby_names_set", "Whether synchronous_standby_names is not empty."),
		commitsProtected:  newDesc(s, "commits_protected", "Whether an acknowledged commit is also on a standby: a sync/quorum standby, synchronous_standby_names set, synchronous_commit not off/local; primary only."),
		writesBlockedRisk: newDesc(s, "writes_blocked_risk", "Whether commits wait for missing synchronous standbys: synchronous_standby_names set and fewer sync/quorum standbys than required; primary only."),

		receiverUp:         newDesc(s, "wal_receiver_up", "Whether a walreceiver runs (a pg_stat_wal_receiver row exists); standby, 9.6+."),
		receiverStatus:     newDesc(s, "wal_receiver_status", "Status of the walreceiver, one series per status.", "status"),
		receiverLastMsgAge: newDesc(s, "wal_receiver_last_message_age_seconds", "Time since the walreceiver last heard from its upstream."),

		replayLagBytes:      newDesc(s, "replay_lag_bytes", "Standby apply backlog: receive minus replay position."),
		replayLagSeconds:    newDesc(s, "replay_lag_seconds", "Idle-safe standby replay delay: 0 when all received WAL is replayed and the walreceiver is alive, else the age of the last replayed commit."),
		lastReplayTimestamp: newDesc(s, "last_replay_timestamp_seconds", "Commit time of the last transaction replayed by the standby: pg_last_xact_replay_timestamp()."),
		replayPaused:        newDesc(s, "replay_paused", "Whether WAL replay is paused on the standby."),

		archived:        newDesc(s, "archiver_archived_total", "WAL files archived successfully (pg_stat_archiver, 9.4+)."),
		failed:          newDesc(s, "archiver_failed_total", "Failed attempts to archive WAL files (pg_stat_archiver, 9.4+)."),
		lastArchived:    newDesc(s, "archiver_last_archived_timestamp_seconds", "Time of the last successful archive_command."),
		lastFailed:      newDesc(s, "archiver_last_failed_timestamp_seconds", "Time of the last failed archive_command."),
		archiverFailing: newDesc(s, "archiver_failing", "Whether archiving is failing now: the last failure is newer than the last success."),
		archiverReady:   newDesc(s, "archiver_ready_files", "WAL files waiting for archive_command (archive_status/*.ready); absent when the role may not list the directory."),

		slotActive:      newDesc(s, "slot_active", "Whether a replication slot is in use (9.4+).", slot...),
		slotRetained:    newDesc(s, "slot_retained_bytes", "WAL held back by the slot: end of WAL minus restart_lsn.", slot...),
		slotSafeWALSize: newDesc(s, "slot_safe_wal_size_bytes", "WAL that can still be written before the slot may lose WAL (13+; absent when unlimited).", slot...),
		slotWALStatus:   newDesc(s, "slot_wal_status", "WAL availability of the slot (13+), one series per status.", append(slices.Clone(slot), "wal_status")...),

		queries:      newDesc(s, "scrape_queries", "SQL statements the last snapshot sent."),
		roundTrips:   newDesc(s, "scrape_round_trips", "Network round trips the last snapshot's statements took (1 when pipelined)."),
		roleMismatch: newDesc("local", "role_mismatch", "Whether Pacemaker and PostgreSQL disagree about the local role: promoted but in recovery, or unpromoted but not in recovery."),
	}
}

// errNoSnapshot reports a source that returned neither snapshot nor error.
var errNoSnapshot = errors.New("postgres: no snapshot")

// Update implements Collector.
func (c *postgresCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	s, err := c.src.Snapshot(ctx)
	if err == nil && s == nil {
		err = errNoSnapshot
	}
	if err != nil {
		gauge(ch, c.up, 0)
		return err
	}
	gauge(ch, c.up, 1)
	gauge(ch, c.inRecovery, boolFloat(s.InRecovery))
	gauge(ch, c.info, 1, s.Version, strconv.Itoa(s.VersionNum), s.SystemIdentifier)
	if s.Timeline != nil {
		gauge(ch, c.timeline, float64(*s.Timeline))
	}
	for kind, l := range map[string]*pg.LSN{"current": s.CurrentWAL, "receive": s.ReceiveLSN, "replay": s.ReplayLSN} {
		if l != nil {
			gauge(ch, c.walPosition, float64(*l), kind)
		}
	}
	c.collectStandbys(ch, s)
	c.collectSync(ch, s)
	if s.InRecovery {
		c.collectRecovery(ch, s)
	}
	if a := s.Archiver; a != nil {
		counter(ch, c.archived, float64(a.ArchivedCount))
		counter(ch, c.failed, float64(a.FailedCount))
		if a.LastArchivedTime != nil {
			gauge(ch, c.lastArchived, unixSeconds(*a.LastArchivedTime))
		}
		if a.LastFailedTime != nil {
			gauge(ch, c.lastFailed, unixSeconds(*a.LastFailedTime))
		}
		gauge(ch, c.archiverFailing, boolFloat(a.Failing()))
		if a.ReadyCount != nil {
			gauge(ch, c.archiverReady, float64(*a.ReadyCount))
		}
	}
	for _, sl := range s.Slots {
		gauge(ch, c.slotActive, boolFloat(sl.Active), sl.Name, sl.Type)
		if sl.RetainedBytes != nil {
			gauge(ch, c.slotRetained, float64(*sl.RetainedBytes), sl.Name, sl.Type)
		}
		if sl.SafeWALSize != nil {
			gauge(ch, c.slotSafeWALSize, float64(*sl.SafeWALSize), sl.Name, sl.Type)
		}
		pgEnum(ch, c.slotWALStatus, pgSlotWALStatuses, sl.WALStatus, sl.Name, sl.Type)
	}
	gauge(ch, c.queries, float64(s.Queries))
	gauge(ch, c.roundTrips, float64(s.RoundTrips))
	if c.opts.PacemakerRole != nil {
		if promoted, known := c.opts.PacemakerRole(); known {
			gauge(ch, c.roleMismatch, boolFloat(promoted == s.InRecovery))
		}
	}
	return nil
}

func (c *postgresCollector) collectStandbys(ch chan<- prometheus.Metric, s *pg.Snapshot) {
	seen := map[[2]string]bool{}
	for _, st := range s.Standbys {
		key := [2]string{st.ApplicationName, st.ClientAddr}
		if seen[key] {
			// Two walsenders with one name from one address (say a
			// pg_basebackup next to a standby): the first, in
			// application_name/client_addr/pid order, stands for both.
			level.Debug(c.logger).Log("msg", "skipping walsender with duplicate labels", "application_name", st.ApplicationName, "client_addr", st.ClientAddr, "pid", st.PID)
			continue
		}
		seen[key] = true
		pgEnum(ch, c.replState, pgReplicationStates, st.State, key[0], key[1])
		pgEnum(ch, c.replSyncState, pgSyncStates, st.SyncState, key[0], key[1])
		if st.SyncPriority != nil {
			gauge(ch, c.replSyncPriority, float64(*st.SyncPriority), key[0], key[1])
		}
		for stage, b := range st.LagBytes {
			gauge(ch, c.replLagBytes, float64(b), key[0], key[1], string(stage))
		}
		for stage, sec := range st.LagSeconds {
			gauge(ch, c.replLagSeconds, sec, key[0], key[1], string(stage))
		}
		if st.ReplyAgeSeconds != nil {
			gauge(ch, c.replReplyAge, *st.ReplyAgeSeconds, key[0], key[1])
		}
	}
}

func (c *postgresCollector) collectSync(ch chan<- prometheus.Metric, s *pg.Snapshot) {
	gauge(ch, c.syncNamesSet, boolFloat(s.Sync.Method != pg.SyncNone))
	n, ok := s.SyncStandbyCount()
	if !ok {
		return
	}
	gauge(ch, c.syncStandbys, float64(n))
	gauge(ch, c.syncRequired, float64(s.Sync.Num))
	if p, ok := s.CommitsProtected(); ok {
		gauge(ch, c.commitsProtected, boolFloat(p))
	}
	if r, ok := s.WritesBlockedRisk(); ok {
		gauge(ch, c.writesBlockedRisk, boolFloat(r))
	}
}

func (c *postgresCollector) collectRecovery(ch chan<- prometheus.Metric, s *pg.Snapshot) {
	if s.HasWALReceiverView() {
		gauge(ch, c.receiverUp, boolFloat(s.WALReceiver != nil))
	}
	if r := s.WALReceiver; r != nil {
		pgEnum(ch, c.receiverStatus, pgReceiverStatuses, r.Status)
		if r.LastMsgAgeSeconds != nil {
			gauge(ch, c.receiverLastMsgAge, *r.LastMsgAgeSeconds)
		}
	}
	if b, ok := s.ReplayLagBytes(); ok {
		gauge(ch, c.replayLagBytes, float64(b))
	}
	if sec, ok := s.ReplayLagSeconds(); ok {
		gauge(ch, c.replayLagSeconds, sec)
	}
	if s.LastReplayTimestamp != nil {
		gauge(ch, c.lastReplayTimestamp, unixSeconds(*s.LastReplayTimestamp))
	}
	if s.ReplayPaused != nil {
		gauge(ch, c.replayPaused, boolFloat(*s.ReplayPaused))
	}
}

// pgEnum exports value as one 0/1 series per known value, plus value itself
// when it is unknown. An empty value (hidden from the role) exports nothing.
func pgEnum(ch chan<- prometheus.Metric, d *prometheus.Desc, known []string, value string, labels ...string) {
	if value == "" {
		return
	}
	for _, k := range known {
		gauge(ch, d, boolFloat(k == value), append(slices.Clone(labels), k)...)
	}
	if !slices.Contains(known, value) {
		gauge(ch, d, 1, append(slices.Clone(labels), value)...)
	}
}

// SharedPGSource puts one PGSource in front of any number of concurrent
// callers: a call that arrives while a snapshot is being taken waits for
// that one (single flight) instead of queueing behind it, each caller waits
// no longer than its own context allows, the snapshot in flight is
// cancelled when every caller has given up, and a snapshot younger than
// Reuse is handed out again without a query.
type SharedPGSource struct {
	base    context.Context
	src     PGSource
	timeout time.Duration
	reuse   time.Duration

	mu       sync.Mutex
	call     *pgCall
	last     *pgCall
	lastDone time.Time
}

type pgCall struct {
	done    chan struct{}
	snap    *pg.Snapshot
	err     error
	waiters int
	cancel  context.CancelFunc
}

// NewSharedPGSource shares src. timeout bounds one snapshot whoever waits
// for it (connect plus query deadlines); reuse is how long a finished
// snapshot is served again (0: never); ending base cancels any snapshot in
// flight (the exporter is stopping).
func NewSharedPGSource(base context.Context, src PGSource, timeout, reuse time.Duration) *SharedPGSource {
	return &SharedPGSource{base: base, src: src, timeout: timeout, reuse: reuse}
}

// Snapshot implements PGSource.
func (s *SharedPGSource) Snapshot(ctx context.Context) (*pg.Snapshot, error) {
	s.mu.Lock()
	if s.last != nil && s.reuse > 0 && time.Since(s.lastDone) < s.reuse {
		c := s.last
		s.mu.Unlock()
		return c.snap, c.err
	}
	c := s.call
	if c == nil {
		cctx, cancel := context.WithTimeout(s.base, s.timeout)
		c = &pgCall{done: make(chan struct{}), cancel: cancel}
		s.call = c
		go s.run(cctx, c)
	}
	c.waiters++
	s.mu.Unlock()

	select {
	case <-c.done:
		return c.snap, c.err
	case <-ctx.Done():
		s.mu.Lock()
		c.waiters--
		if c.waiters == 0 && s.call == c {
			// Nobody waits any more: stop the query, and let the next
			// caller start afresh rather than wait for this one.
			s.call = nil
			c.cancel()
		}
		s.mu.Unlock()
		return nil, fmt.Errorf("postgres: gave up waiting for the snapshot: %w", context.Cause(ctx))
	}
}

func (s *SharedPGSource) run(ctx context.Context, c *pgCall) {
	snap, err := s.src.Snapshot(ctx)
	c.cancel()
	s.mu.Lock()
	c.snap, c.err = snap, err
	if s.call == c {
		s.call = nil
		s.last, s.lastDone = c, time.Now()
	}
	s.mu.Unlock()
	close(c.done)
}
