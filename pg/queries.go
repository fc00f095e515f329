package pg

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// minVersion is the oldest server the SQL is written for.
const minVersion = 90300

// query is one statement of a snapshot and how to read its rows into it.
type query struct {
	name string
	sql  string
	read func(rows pgx.Rows, s *Snapshot) error
}

// walNames are the functions and column suffixes renamed in PostgreSQL 10
// (xlog -> wal, location -> lsn).
type walNames struct {
	currentLSN, receiveLSN, replayLSN, walfileName, replayPaused, lsnColumn, walDir string
}

func walNamesFor(version int) walNames {
	if version >= 100000 {
		return walNames{"pg_current_wal_lsn()", "pg_last_wal_receive_lsn()", "pg_last_wal_replay_lsn()",
			"pg_walfile_name", "pg_is_wal_replay_paused()", "_lsn", "pg_wal"}
	}
	return walNames{"pg_current_xlog_location()", "pg_last_xlog_receive_location()", "pg_last_xlog_replay_location()",
		"pg_xlogfile_name", "pg_is_xlog_replay_paused()", "_location", "pg_xlog"}
}

// privileges are what the connected role may call. Whether a function may
// be executed is checked when a statement is planned, even inside a CASE
// branch that never runs, so the SQL must leave out what is not permitted.
// They are read once per connection (privilegesSQL); after a GRANT or REVOKE,
// the next failing snapshot closes the connection and the following one reads
// them again.
type privileges struct {
	// ControlFunctions: pg_control_system() and pg_control_checkpoint()
	// (9.6+; executable by everyone unless revoked).
	ControlFunctions bool `db:"control_functions"`
	// ArchiveStatus: the archive_status directory may be listed:
	// pg_ls_archive_statusdir() (12+, pg_monitor), pg_ls_dir(text) (11,
	// needs a GRANT), superuser (9.4-10, a check inside the function).
	ArchiveStatus bool `db:"archive_status"`
}

// privilegesSQL reads privileges for a server version.
func privilegesSQL(version int) string {
	cols := []string{}
	if version >= 90600 {
		cols = append(cols, "has_function_privilege('pg_control_system()', 'EXECUTE') AND "+
			"has_function_privilege('pg_control_checkpoint()', 'EXECUTE') AS control_functions")
	}
	switch {
	case version >= 120000:
		cols = append(cols, "has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') AS archive_status")
	case version >= 110000:
		cols = append(cols, "has_function_privilege('pg_ls_dir(text)', 'EXECUTE') AS archive_status")
	default:
		cols = append(cols, "current_setting('is_superuser') = 'on' AS archive_status")
	}
	return selectList(cols)
}

// queriesFor returns the statements of a snapshot for a server version and
// the role's privileges. All are sent in one pipeline (one round trip).
// Role-specific functions are guarded with CASE WHEN pg_is_in_recovery(),
// so none raises "recovery is (not) in progress"; LSNs are selected as text
// (pg_lsn does not exist on 9.3) and timestamps and intervals as epoch
// seconds, which keeps the result independent of DateStyle and IntervalStyle.
func queriesFor(version int, p privileges) []query {
	qs := []query{
		{name: "node", sql: nodeSQL(version, p), read: readNode},
		{name: "replication", sql: replicationSQL(version), read: readReplication},
	}
	if version >= 90600 {
		qs = append(qs, query{name: "wal_receiver", sql: receiverSQL(version), read: readReceiver})
	}
	if version >= 90400 {
		qs = append(qs,
			query{name: "archiver", sql: archiverSQL(version, p), read: readArchiver},
			query{name: "slots", sql: slotsSQL(version), read: readSlots})
	}
	return qs
}

func selectList(cols []string) string { return "SELECT " + strings.Join(cols, ",\n       ") }

func nodeSQL(version int, p privileges) string {
	n := walNamesFor(version)
	cols := []string{
		"pg_is_in_recovery() AS in_recovery",
		"extract(epoch FROM now())::float8 AS server_time",
		"current_setting('synchronous_standby_names') AS synchronous_standby_names",
		"current_setting('synchronous_commit') AS synchronous_commit",
		"current_setting('wal_receiver_timeout') AS wal_receiver_timeout",
		"current_setting('wal_receiver_status_interval') AS wal_receiver_status_interval",
		"CASE WHEN pg_is_in_recovery() THEN NULL ELSE " + n.currentLSN + "::text END AS current_lsn",
		"CASE WHEN pg_is_in_recovery() THEN NULL ELSE " + n.walfileName + "(" + n.currentLSN + ") END AS current_walfile",
		"CASE WHEN pg_is_in_recovery() THEN " + n.receiveLSN + "::text END AS receive_lsn",
		"CASE WHEN pg_is_in_recovery() THEN " + n.replayLSN + "::text END AS replay_lsn",
		"CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM pg_last_xact_replay_timestamp())::float8 END AS last_replay",
		"CASE WHEN pg_is_in_recovery() THEN " + n.replayPaused + " END AS replay_paused",
	}
	if version >= 90600 && p.ControlFunctions {
		cols = append(cols,
			"(SELECT system_identifier::text FROM pg_control_system()) AS system_identifier",
			"(SELECT timeline_id FROM pg_control_checkpoint()) AS checkpoint_timeline")
	}
	return selectList(cols)
}

func replicationSQL(version int) string {
	n := walNamesFor(version)
	cols := []string{"pid", "application_name", "host(client_addr) AS client_addr", "state", "sync_state", "sync_priority"}
	for _, st := range []Stage{StageSent, StageWrite, StageFlush, StageReplay} {
		cols = append(cols, fmt.Sprintf("%s%s::text AS %s_lsn", st, n.lsnColumn, st))
	}
	if version >= 100000 {
		for _, st := range []Stage{StageWrite, StageFlush, StageReplay} {
			cols = append(cols, fmt.Sprintf("extract(epoch FROM %s_lag)::float8 AS %s_lag", st, st))
		}
	}
	if version >= 120000 {
		cols = append(cols, "extract(epoch FROM reply_time)::float8 AS reply_time")
	}
	return selectList(cols) + "\nFROM pg_stat_replication\nORDER BY application_name, client_addr, pid"
}

func receiverSQL(version int) string {
	cols := []string{"pid", "status", "received_tli"}
	if version >= 130000 {
		cols = append(cols, "written_lsn::text AS written_lsn", "flushed_lsn::text AS flushed_lsn")
	} else {
		cols = append(cols, "received_lsn::text AS flushed_lsn")
	}
	cols = append(cols,
		"latest_end_lsn::text AS latest_end_lsn",
		"extract(epoch FROM last_msg_send_time)::float8 AS last_msg_send_time",
		"extract(epoch FROM last_msg_receipt_time)::float8 AS last_msg_receipt_time",
		"slot_name")
	if version >= 110000 {
		cols = append(cols, "sender_host", "sender_port")
	}
	return selectList(cols) + "\nFROM pg_stat_wal_receiver"
}

// readyCountSQL counts archive_status/*.ready files.
func readyCountSQL(version int) string {
	if version >= 120000 {
		return "(SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')"
	}
	return "(SELECT count(*) FROM pg_ls_dir('" + walNamesFor(version).walDir + "/archive_status') AS f WHERE f LIKE '%.ready')"
}

func archiverSQL(version int, p privileges) string {
	cols := []string{
		"archived_count",
		"failed_count",
		"last_archived_wal",
		"extract(epoch FROM last_archived_time)::float8 AS last_archived_time",
		"last_failed_wal",
		"extract(epoch FROM last_failed_time)::float8 AS last_failed_time",
		"current_setting('archive_mode') AS archive_mode",
	}
	if p.ArchiveStatus {
		cols = append(cols, readyCountSQL(version)+" AS ready_count")
	}
	return selectList(cols) + "\nFROM pg_stat_archiver"
}

func slotsSQL(version int) string {
	cols := []string{"slot_name", "slot_type", "active", "restart_lsn::text AS restart_lsn"}
	if version >= 130000 {
		cols = append(cols, "wal_status", "safe_wal_size")
	}
	return selectList(cols) + "\nFROM pg_replication_slots\nORDER BY slot_name"
}

type nodeRow struct {
	InRecovery       bool     `db:"in_recovery"`
	ServerTime       float64  `db:"server_time"`
	SyncNames        string   `db:"synchronous_standby_names"`
	SyncCommit       string   `db:"synchronous_commit"`
	ReceiverTimeout  string   `db:"wal_receiver_timeout"`
	StatusInterval   string   `db:"wal_receiver_status_interval"`
	CurrentLSN       *string  `db:"current_lsn"`
	CurrentWALFile   *string  `db:"current_walfile"`
	ReceiveLSN       *string  `db:"receive_lsn"`
	ReplayLSN        *string  `db:"replay_lsn"`
	LastReplay       *float64 `db:"last_replay"`
	ReplayPaused     *bool    `db:"replay_paused"`
	SystemIdentifier *string  `db:"system_identifier"`
	CheckpointTLI    *int64   `db:"checkpoint_timeline"`
}

func readNode(rows pgx.Rows, s *Snapshot) error {
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByNameLax[nodeRow])
	if err != nil {
		return err
	}
	s.InRecovery = r.InRecovery
	s.ServerTime = epochTime(r.ServerTime)
	s.SynchronousStandbyNames, s.SynchronousCommit = r.SyncNames, r.SyncCommit
	if s.WALReceiverTimeoutSeconds, err = gucSeconds(r.ReceiverTimeout, time.Millisecond); err != nil {
		return err
	}
	if s.WALReceiverStatusIntervalSeconds, err = gucSeconds(r.StatusInterval, time.Second); err != nil {
		return err
	}
	if s.CurrentWAL, err = lsnPtr(r.CurrentLSN); err != nil {
		return err
	}
	if s.ReceiveLSN, err = lsnPtr(r.ReceiveLSN); err != nil {
		return err
	}
	if s.ReplayLSN, err = lsnPtr(r.ReplayLSN); err != nil {
		return err
	}
	s.LastReplayTimestamp = epochPtr(r.LastReplay)
	s.ReplayPaused = r.ReplayPaused
	if r.SystemIdentifier != nil {
		s.SystemIdentifier = *r.SystemIdentifier
	}
	switch {
	case r.CurrentWALFile != nil: // primary
		if len(*r.CurrentWALFile) < 8 {
			return fmt.Errorf("unexpected WAL file name %q", *r.CurrentWALFile)
		}
		tli, err := strconv.ParseUint((*r.CurrentWALFile)[:8], 16, 32)
		if err != nil {
			return fmt.Errorf("timeline of WAL file %q: %w", *r.CurrentWALFile, err)
		}
		s.Timeline = uint32Ptr(int64(tli))
	case r.InRecovery && r.CheckpointTLI != nil: // standby; readReceiver prefers received_tli
		s.Timeline = uint32Ptr(*r.CheckpointTLI)
	}
	return nil
}

type replicationRow struct {
	PID             int      `db:"pid"`
	ApplicationName *string  `db:"application_name"`
	ClientAddr      *string  `db:"client_addr"`
	State           *string  `db:"state"`
	SyncState       *string  `db:"sync_state"`
	SyncPriority    *int     `db:"sync_priority"`
	SentLSN         *string  `db:"sent_lsn"`
	WriteLSN        *string  `db:"write_lsn"`
	FlushLSN        *string  `db:"flush_lsn"`
	ReplayLSN       *string  `db:"replay_lsn"`
	WriteLag        *float64 `db:"write_lag"`
	FlushLag        *float64 `db:"flush_lag"`
	ReplayLag       *float64 `db:"replay_lag"`
	ReplyTime       *float64 `db:"reply_time"`
}

func readReplication(rows pgx.Rows, s *Snapshot) error {
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByNameLax[replicationRow])
	if err != nil {
		return err
	}
	s.Standbys = make([]Standby, 0, len(rs))
	for _, r := range rs {
		st := Standby{
			PID: r.PID, ApplicationName: deref(r.ApplicationName), ClientAddr: deref(r.ClientAddr),
			State: deref(r.State), SyncState: deref(r.SyncState), SyncPriority: r.SyncPriority,
			ReplyTime: epochPtr(r.ReplyTime),
		}
		for _, p := range []struct {
			dst **LSN
			src *string
		}{{&st.SentLSN, r.SentLSN}, {&st.WriteLSN, r.WriteLSN}, {&st.FlushLSN, r.FlushLSN}, {&st.ReplayLSN, r.ReplayLSN}} {
			if *p.dst, err = lsnPtr(p.src); err != nil {
				return err
			}
		}
		for stage, lag := range map[Stage]*float64{StageWrite: r.WriteLag, StageFlush: r.FlushLag, StageReplay: r.ReplayLag} {
			if lag != nil {
				if st.LagSeconds == nil {
					st.LagSeconds = map[Stage]float64{}
				}
				st.LagSeconds[stage] = *lag
			}
		}
		s.Standbys = append(s.Standbys, st)
	}
	return nil
}

type receiverRow struct {
	PID                int      `db:"pid"`
	Status             *string  `db:"status"`
	ReceivedTLI        *int64   `db:"received_tli"`
	WrittenLSN         *string  `db:"written_lsn"`
	FlushedLSN         *string  `db:"flushed_lsn"`
	LatestEndLSN       *string  `db:"latest_end_lsn"`
	LastMsgSendTime    *float64 `db:"last_msg_send_time"`
	LastMsgReceiptTime *float64 `db:"last_msg_receipt_time"`
	SlotName           *string  `db:"slot_name"`
	SenderHost         *string  `db:"sender_host"`
	SenderPort         *int     `db:"sender_port"`
}

func readReceiver(rows pgx.Rows, s *Snapshot) error {
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByNameLax[receiverRow])
	if err != nil || len(rs) == 0 {
		return err
	}
	r := rs[0]
	rcv := &Receiver{
		PID: r.PID, Status: deref(r.Status), SlotName: deref(r.SlotName), SenderHost: deref(r.SenderHost), SenderPort: r.SenderPort,
		LastMsgSendTime: epochPtr(r.LastMsgSendTime), LastMsgReceiptTime: epochPtr(r.LastMsgReceiptTime),
	}
	if r.ReceivedTLI != nil {
		rcv.ReceivedTLI = uint32Ptr(*r.ReceivedTLI)
	}
	for _, p := range []struct {
		dst **LSN
		src *string
	}{{&rcv.WrittenLSN, r.WrittenLSN}, {&rcv.FlushedLSN, r.FlushedLSN}, {&rcv.LatestEndLSN, r.LatestEndLSN}} {
		if *p.dst, err = lsnPtr(p.src); err != nil {
			return err
		}
	}
	s.WALReceiver = rcv
	// The timeline being received is newer than the last checkpoint's.
	if s.InRecovery && rcv.ReceivedTLI != nil {
		s.Timeline = rcv.ReceivedTLI
	}
	return nil
}

type archiverRow struct {
	ArchivedCount    int64    `db:"archived_count"`
	FailedCount      int64    `db:"failed_count"`
	LastArchivedWAL  *string  `db:"last_archived_wal"`
	LastArchivedTime *float64 `db:"last_archived_time"`
	LastFailedWAL    *string  `db:"last_failed_wal"`
	LastFailedTime   *float64 `db:"last_failed_time"`
	Mode             string   `db:"archive_mode"`
	ReadyCount       *int     `db:"ready_count"`
}

func readArchiver(rows pgx.Rows, s *Snapshot) error {
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByNameLax[archiverRow])
	if err != nil {
		return err
	}
	s.Archiver = &Archiver{
		Mode: r.Mode, ArchivedCount: r.ArchivedCount, FailedCount: r.FailedCount,
		LastArchivedWAL: deref(r.LastArchivedWAL), LastArchivedTime: epochPtr(r.LastArchivedTime),
		LastFailedWAL: deref(r.LastFailedWAL), LastFailedTime: epochPtr(r.LastFailedTime),
		ReadyCount: r.ReadyCount,
	}
	return nil
}

type slotRow struct {
	Name        string  `db:"slot_name"`
	Type        string  `db:"slot_type"`
	Active      bool    `db:"active"`
	RestartLSN  *string `db:"restart_lsn"`
	WALStatus   *string `db:"wal_status"`
	SafeWALSize *int64  `db:"safe_wal_size"`
}

func readSlots(rows pgx.Rows, s *Snapshot) error {
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByNameLax[slotRow])
	if err != nil {
		return err
	}
	s.Slots = make([]Slot, 0, len(rs))
	for _, r := range rs {
		sl := Slot{Name: r.Name, Type: r.Type, Active: r.Active, WALStatus: deref(r.WALStatus), SafeWALSize: r.SafeWALSize}
		if sl.RestartLSN, err = lsnPtr(r.RestartLSN); err != nil {
			return err
		}
		s.Slots = append(s.Slots, sl)
	}
	return nil
}

// gucSeconds converts a time setting as current_setting() shows it ("1min",
// "10s", "500ms", "0"; no unit means the setting's base unit) to seconds.
// Reading pg_settings instead would cost a scan of every setting.
func gucSeconds(v string, base time.Duration) (float64, error) {
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '-' })
	if i < 0 {
		i = len(v)
	}
	n, err := strconv.ParseInt(v[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time setting %q: %w", v, err)
	}
	unit, ok := map[string]time.Duration{"": base, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"min": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[strings.TrimSpace(v[i:])]
	if !ok {
		return 0, fmt.Errorf("time setting %q: unknown unit", v)
	}
	return (time.Duration(n) * unit).Seconds(), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func lsnPtr(s *string) (*LSN, error) {
	if s == nil {
		return nil, nil
	}
	l, err := ParseLSN(*s)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

func uint32Ptr(v int64) *uint32 {
	u := uint32(v)
	return &u
}

// epochTime converts epoch seconds (as extract(epoch ...)::float8 gives them)
// to a UTC time, rounded to PostgreSQL's microsecond resolution.
func epochTime(sec float64) time.Time {
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9)).Round(time.Microsecond).UTC()
}

func epochPtr(sec *float64) *time.Time {
	if sec == nil {
		return nil
	}
	t := epochTime(*sec)
	return &t
}
