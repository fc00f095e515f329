package pg

import (
	"bytes"
	"encoding/json"
	"time"
)

// Stage is a step of a standby's progress as pg_stat_replication reports it.
type Stage string

// The stages, in the order WAL passes them.
const (
	StageSent   Stage = "sent"   // sent by the walsender
	StageWrite  Stage = "write"  // written by the standby (not yet flushed)
	StageFlush  Stage = "flush"  // flushed to the standby's disk
	StageReplay Stage = "replay" // replayed (visible to queries on the standby)
)

// Snapshot is one reading of the local PostgreSQL server, taken in a single
// round trip. Fields that the server's version does not provide, or that the
// connected role may not see, are nil or empty: unknown is not false.
//
// Fields marked "derived" are computed by Derive from the others.
type Snapshot struct {
	VersionNum int    `json:"version_num"` // server_version_num, e.g. 150018
	Version    string `json:"version"`     // server_version, e.g. "15.18 (Debian 15.18-0+deb12u1)"
	// ServerTime is the server's now() for this snapshot; every age is
	// measured against it, so the exporter's clock does not matter.
	ServerTime time.Time `json:"server_time"`
	InRecovery bool      `json:"in_recovery"` // pg_is_in_recovery(): a standby
	// SystemIdentifier from pg_control_system() (9.6+). Every node of a
	// replication set shares it.
	SystemIdentifier string `json:"system_identifier,omitempty"`
	// Timeline: on a primary from the current WAL file name; on a standby
	// the walreceiver's received_tli, else the last checkpoint's (9.6+).
	// nil on a 9.3-9.5 standby.
	Timeline *uint32 `json:"timeline,omitempty"`

	CurrentWAL *LSN `json:"current_wal,omitempty"` // primary: pg_current_wal_lsn()
	ReceiveLSN *LSN `json:"receive_lsn,omitempty"` // standby: pg_last_wal_receive_lsn(), NULL in archive-only recovery
	ReplayLSN  *LSN `json:"replay_lsn,omitempty"`  // standby: pg_last_wal_replay_lsn()
	// LastReplayTimestamp is pg_last_xact_replay_timestamp() on a standby:
	// the commit time of the last replayed transaction (nil before the
	// first one).
	LastReplayTimestamp *time.Time `json:"last_replay_timestamp,omitempty"`
	ReplayPaused        *bool      `json:"replay_paused,omitempty"` // standby: pg_is_wal_replay_paused()

	SynchronousStandbyNames string `json:"synchronous_standby_names"` // raw setting
	// Sync is SynchronousStandbyNames parsed (derived). A value that this
	// parser cannot read, but the server accepted, counts as one required
	// synchronous standby with no names.
	Sync              SyncSpec `json:"sync"`
	SynchronousCommit string   `json:"synchronous_commit"`
	// The standby's walreceiver settings, used to decide whether its link
	// is alive (see ReceiverAlive).
	WALReceiverTimeoutSeconds        float64 `json:"wal_receiver_timeout_seconds"`
	WALReceiverStatusIntervalSeconds float64 `json:"wal_receiver_status_interval_seconds"`

	// Standbys are the rows of pg_stat_replication: the standbys streaming
	// from this server (cascading ones when this is a standby).
	Standbys []Standby `json:"standbys"`
	// WALReceiver is the row of pg_stat_wal_receiver, nil when there is
	// none: no walreceiver runs. The view exists from 9.6, so before that
	// it is always nil and means nothing (see HasWALReceiverView).
	WALReceiver *Receiver `json:"wal_receiver,omitempty"`
	// Archiver is pg_stat_archiver (9.4+; nil on 9.3).
	Archiver *Archiver `json:"archiver,omitempty"`
	// Slots are the rows of pg_replication_slots (9.4+; nil on 9.3).
	Slots []Slot `json:"slots"`

	Queries    int `json:"queries"`     // statements sent for this snapshot
	RoundTrips int `json:"round_trips"` // network round trips they took (measured on the socket)
}

// Standby is one row of pg_stat_replication. On 9.x a role that is neither
// superuser nor the replication user sees State, SyncState, SyncPriority and
// the LSNs as NULL (empty/nil here).
type Standby struct {
	PID             int    `json:"pid"`
	ApplicationName string `json:"application_name"`
	ClientAddr      string `json:"client_addr"` // empty for a Unix-socket connection
	State           string `json:"state,omitempty"`
	SyncState       string `json:"sync_state,omitempty"`
	SyncPriority    *int   `json:"sync_priority,omitempty"`
	SentLSN         *LSN   `json:"sent_lsn,omitempty"`
	WriteLSN        *LSN   `json:"write_lsn,omitempty"`
	FlushLSN        *LSN   `json:"flush_lsn,omitempty"`
	ReplayLSN       *LSN   `json:"replay_lsn,omitempty"`
	// LagSeconds holds write_lag, flush_lag and replay_lag (10+). A stage
	// is missing when PostgreSQL reports NULL, which it does on an idle
	// link once the standby has caught up.
	LagSeconds map[Stage]float64 `json:"lag_seconds,omitempty"`
	ReplyTime  *time.Time        `json:"reply_time,omitempty"` // 12+: last reply from the standby
	// LagBytes is, per stage, how far the standby's position is behind this
	// server's end of WAL (derived; see Snapshot.Derive).
	LagBytes map[Stage]int64 `json:"lag_bytes,omitempty"`
	// ReplyAgeSeconds is ServerTime - ReplyTime (derived, 12+): a liveness
	// signal that keeps working on an idle link.
	ReplyAgeSeconds *float64 `json:"reply_age_seconds,omitempty"`
}

// Receiver is the row of pg_stat_wal_receiver (9.6+).
type Receiver struct {
	PID         int     `json:"pid"`
	Status      string  `json:"status"` // streaming, starting, waiting, restarting, stopping, stopped
	ReceivedTLI *uint32 `json:"received_tli,omitempty"`
	WrittenLSN  *LSN    `json:"written_lsn,omitempty"` // 13+
	// FlushedLSN is flushed_lsn (13+) or received_lsn (9.6-12), which
	// meant the same: received and flushed to disk.
	FlushedLSN         *LSN       `json:"flushed_lsn,omitempty"`
	LatestEndLSN       *LSN       `json:"latest_end_lsn,omitempty"`
	LastMsgSendTime    *time.Time `json:"last_msg_send_time,omitempty"`
	LastMsgReceiptTime *time.Time `json:"last_msg_receipt_time,omitempty"`
	SlotName           string     `json:"slot_name,omitempty"`
	SenderHost         string     `json:"sender_host,omitempty"` // 11+
	SenderPort         *int       `json:"sender_port,omitempty"` // 11+
	// LastMsgAgeSeconds is ServerTime - LastMsgReceiptTime (derived).
	LastMsgAgeSeconds *float64 `json:"last_msg_age_seconds,omitempty"`
}

// Archiver is the row of pg_stat_archiver (9.4+) plus the archive_status
// backlog.
type Archiver struct {
	Mode             string     `json:"archive_mode"` // current_setting('archive_mode')
	ArchivedCount    int64      `json:"archived_count"`
	FailedCount      int64      `json:"failed_count"`
	LastArchivedWAL  string     `json:"last_archived_wal,omitempty"`
	LastArchivedTime *time.Time `json:"last_archived_time,omitempty"`
	LastFailedWAL    string     `json:"last_failed_wal,omitempty"`
	LastFailedTime   *time.Time `json:"last_failed_time,omitempty"`
	// ReadyCount is the number of *.ready files in archive_status: WAL
	// segments waiting for archive_command. nil when the role may not list
	// the directory (12+: pg_ls_archive_statusdir, granted to pg_monitor;
	// 11: pg_ls_dir needs a GRANT; 9.4-10: superuser only).
	ReadyCount *int `json:"ready_count,omitempty"`
}

// Failing reports whether archiving is failing now: the last failure is more
// recent than the last success (or there was never a success).
func (a *Archiver) Failing() bool {
	return a.LastFailedTime != nil && (a.LastArchivedTime == nil || a.LastFailedTime.After(*a.LastArchivedTime))
}

// Slot is one row of pg_replication_slots (9.4+).
type Slot struct {
	Name       string `json:"slot_name"`
	Type       string `json:"slot_type"` // physical or logical
	Active     bool   `json:"active"`
	RestartLSN *LSN   `json:"restart_lsn,omitempty"`
	WALStatus  string `json:"wal_status,omitempty"` // 13+: reserved, extended, unreserved, lost
	// SafeWALSize is safe_wal_size (13+): bytes that can still be written
	// before the slot is in danger of losing WAL. nil when
	// max_slot_wal_keep_size is -1 (unlimited) or the slot is lost.
	SafeWALSize *int64 `json:"safe_wal_size,omitempty"`
	// RetainedBytes is how much WAL the slot holds back: end of WAL minus
	// restart_lsn (derived).
	RetainedBytes *int64 `json:"retained_bytes,omitempty"`
}

// Derive computes the derived fields from the raw ones and ServerTime.
// Client.Snapshot calls it; call it yourself after building a Snapshot by hand
// or decoding one from JSON.
//
// Byte lags are measured against this server's end of WAL: CurrentWAL on a
// primary, the larger of ReceiveLSN and ReplayLSN on a standby (the most a
// cascading walsender can have sent). They are never negative: positions
// read a moment later than the end of WAL count as caught up.
func (s *Snapshot) Derive() {
	s.Sync = parseSyncLenient(s.SynchronousStandbyNames)
	end, haveEnd := s.walEnd()
	for i := range s.Standbys {
		st := &s.Standbys[i]
		st.LagBytes = nil
		for _, p := range []struct {
			stage Stage
			lsn   *LSN
		}{{StageSent, st.SentLSN}, {StageWrite, st.WriteLSN}, {StageFlush, st.FlushLSN}, {StageReplay, st.ReplayLSN}} {
			if haveEnd && p.lsn != nil {
				if st.LagBytes == nil {
					st.LagBytes = map[Stage]int64{}
				}
				st.LagBytes[p.stage] = end.Sub(*p.lsn)
			}
		}
		st.ReplyAgeSeconds = s.age(st.ReplyTime)
	}
	if r := s.WALReceiver; r != nil {
		r.LastMsgAgeSeconds = s.age(r.LastMsgReceiptTime)
	}
	for i := range s.Slots {
		sl := &s.Slots[i]
		sl.RetainedBytes = nil
		if haveEnd && sl.RestartLSN != nil {
			b := end.Sub(*sl.RestartLSN)
			sl.RetainedBytes = &b
		}
	}
}

func parseSyncLenient(names string) SyncSpec {
	spec, err := ParseSyncStandbyNames(names)
	if err != nil {
		return SyncSpec{Method: SyncPriority, Num: 1}
	}
	return spec
}

func (s *Snapshot) walEnd() (LSN, bool) {
	if !s.InRecovery {
		if s.CurrentWAL == nil {
			return 0, false
		}
		return *s.CurrentWAL, true
	}
	switch {
	case s.ReceiveLSN != nil && s.ReplayLSN != nil:
		return max(*s.ReceiveLSN, *s.ReplayLSN), true
	case s.ReceiveLSN != nil:
		return *s.ReceiveLSN, true
	case s.ReplayLSN != nil:
		return *s.ReplayLSN, true
	}
	return 0, false
}

// age returns ServerTime - t in seconds, at least 0, or nil for a nil t.
func (s *Snapshot) age(t *time.Time) *float64 {
	if t == nil {
		return nil
	}
	a := max(s.ServerTime.Sub(*t).Seconds(), 0)
	return &a
}

// HasWALReceiverView reports whether the server has pg_stat_wal_receiver
// (9.6+), that is whether a nil WALReceiver means "no walreceiver".
func (s *Snapshot) HasWALReceiverView() bool { return s.VersionNum >= 90600 }

// SyncStandbyCount returns the number of walsenders whose sync_state is
// "sync" or "quorum": the standbys that confirm commits now. ok is false on a
// standby (synchronous replication is the primary's business) and when a
// walsender's sync_state is hidden from the connected role (9.x without
// superuser), because the count would then be too low.
func (s *Snapshot) SyncStandbyCount() (n int, ok bool) {
	if s.InRecovery {
		return 0, false
	}
	for _, st := range s.Standbys {
		switch st.SyncState {
		case "sync", "quorum":
			n++
		case "":
			return 0, false
		}
	}
	return n, true
}

// WritesBlockedRisk reports whether commits on this primary wait, or will wait,
// for a synchronous standby that is not there: synchronous_standby_names is
// set and fewer walsenders are sync/quorum than it requires (Sync.Num: 1 for
// the resource agent's single quoted name, n for 'FIRST n (...)' and
// 'ANY n (...)'). Reads continue; every commit hangs until a standby
// (re)connects or the setting is cleared. ok as for SyncStandbyCount.
//
// synchronous_commit is not consulted: it can be changed per session and
// transaction, so some writers may still block when the server default is
// "local" or "off".
func (s *Snapshot) WritesBlockedRisk() (risk, ok bool) {
	n, ok := s.SyncStandbyCount()
	if !ok {
		return false, false
	}
	return s.Sync.Method != SyncNone && n < s.Sync.Num, true
}

// CommitsProtected reports whether a commit acknowledged by this primary is
// also on at least one standby: at least one walsender is sync/quorum,
// synchronous_standby_names is set, and synchronous_commit (this session's
// value, which is the server default unless the role or database overrides
// it) is neither "off" nor "local". It does not require Sync.Num standbys;
// with fewer, WritesBlockedRisk is true as well. ok as for SyncStandbyCount.
func (s *Snapshot) CommitsProtected() (protected, ok bool) {
	n, ok := s.SyncStandbyCount()
	if !ok {
		return false, false
	}
	return n >= 1 && s.Sync.Method != SyncNone && s.SynchronousCommit != "off" && s.SynchronousCommit != "local", true
}

// ReplayLagBytes returns the standby's apply backlog, ReceiveLSN - ReplayLSN
// (never negative). ok is false on a primary and when either is NULL
// (archive-only recovery has no receive LSN).
func (s *Snapshot) ReplayLagBytes() (int64, bool) {
	if !s.InRecovery || s.ReceiveLSN == nil || s.ReplayLSN == nil {
		return 0, false
	}
	return s.ReceiveLSN.Sub(*s.ReplayLSN), true
}

// ReceiverAlive reports whether the standby's walreceiver is streaming and has
// heard from its upstream recently: status "streaming" and last message
// age at most wal_receiver_timeout (or 2 x wal_receiver_status_interval when
// the timeout is disabled). On an idle link the walreceiver pings its upstream
// after half of wal_receiver_timeout without traffic, and the reply refreshes
// last_msg_receipt_time, so a live link stays below the limit. Always false
// before 9.6 (no view; see HasWALReceiverView).
func (s *Snapshot) ReceiverAlive() bool {
	r := s.WALReceiver
	if r == nil || r.Status != "streaming" || r.LastMsgAgeSeconds == nil {
		return false
	}
	limit := s.WALReceiverTimeoutSeconds
	if limit <= 0 {
		limit = 2 * s.WALReceiverStatusIntervalSeconds
	}
	return *r.LastMsgAgeSeconds <= limit
}

// ReplayLagSeconds is the idle-safe replay delay:
//
//   - on a primary it is 0;
//   - on a standby it is 0 when the apply backlog (ReplayLagBytes) is 0 and
//     the walreceiver is alive (ReceiverAlive): everything received has been
//     replayed and the link is known to work, however long ago the last
//     commit was;
//   - otherwise it is ServerTime - LastReplayTimestamp: a dead link or a
//     paused or slow replay shows as growing lag, and is never hidden by
//     "receive == replay", because both freeze when the link dies.
//
// ok is false when the timestamp is needed but NULL (no transaction replayed
// since the standby started). Before 9.6 the receiver is never known to be
// alive, so a 9.3-9.5 standby always reports the timestamp age, which grows
// on an idle primary.
func (s *Snapshot) ReplayLagSeconds() (float64, bool) {
	if !s.InRecovery {
		return 0, true
	}
	if b, ok := s.ReplayLagBytes(); ok && b == 0 && s.ReceiverAlive() {
		return 0, true
	}
	if s.LastReplayTimestamp == nil {
		return 0, false
	}
	return *s.age(s.LastReplayTimestamp), true
}

// DecodeSnapshot reads a recorded Snapshot (JSON of its raw fields, with an
// optional "_comment") strictly and derives the computed fields, as Client
// does after a query. Unknown fields are an error.
func DecodeSnapshot(data []byte) (*Snapshot, error) {
	var fx struct {
		Comment string `json:"_comment"`
		Snapshot
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fx); err != nil {
		return nil, err
	}
	fx.Snapshot.Derive()
	return &fx.Snapshot, nil
}
