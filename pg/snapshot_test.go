package pg

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func lsnP(s string) *LSN {
	l, err := ParseLSN(s)
	if err != nil {
		panic(err)
	}
	return &l
}

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 11, 25, 17, 22, 6, 0, time.UTC)

// healthyPrimary is fixtures/live-pcmk-2.1.5-pgsql-4.12-pg15/01-healthy/pgdb1.
func healthyPrimary() *Snapshot {
	return &Snapshot{
		VersionNum: 150018, ServerTime: t0, CurrentWAL: lsnP("0/4000150"),
		SynchronousStandbyNames: `"pgdb2"`, SynchronousCommit: "on",
		Standbys: []Standby{
			{ApplicationName: "pgdb2", ClientAddr: "10.77.0.12", State: "streaming", SyncState: "sync", SyncPriority: ptr(1),
				SentLSN: lsnP("0/4000150"), WriteLSN: lsnP("0/4000150"), FlushLSN: lsnP("0/4000150"), ReplayLSN: lsnP("0/4000100"),
				ReplyTime: ptr(t0.Add(-300 * time.Millisecond))},
			{ApplicationName: "pgdb3", ClientAddr: "10.77.0.13", State: "streaming", SyncState: "async", SyncPriority: ptr(0),
				SentLSN: lsnP("0/4000150"), WriteLSN: lsnP("0/4000150"), FlushLSN: lsnP("0/4000150"), ReplayLSN: lsnP("0/4000150")},
		},
	}
}

// idleStandby is 01-healthy/pgdb2: streaming, fully replayed, last commit
// long ago.
func idleStandby() *Snapshot {
	return &Snapshot{
		VersionNum: 150018, ServerTime: t0, InRecovery: true,
		ReceiveLSN: lsnP("0/4000150"), ReplayLSN: lsnP("0/4000150"),
		LastReplayTimestamp: ptr(t0.Add(-time.Hour)), ReplayPaused: ptr(false),
		WALReceiverTimeoutSeconds: 60, WALReceiverStatusIntervalSeconds: 10,
		WALReceiver: &Receiver{Status: "streaming", LastMsgReceiptTime: ptr(t0.Add(-700 * time.Millisecond))},
	}
}

func TestDerive(t *testing.T) {
	s := healthyPrimary()
	s.Slots = []Slot{{Name: "s1", Type: "physical", RestartLSN: lsnP("0/3000000")}, {Name: "s2", Type: "logical"}}
	s.Derive()
	if diff := cmp.Diff(SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"pgdb2"}}, s.Sync); diff != "" {
		t.Errorf("Sync (-want +got):\n%s", diff)
	}
	want := map[Stage]int64{StageSent: 0, StageWrite: 0, StageFlush: 0, StageReplay: 0x50}
	if diff := cmp.Diff(want, s.Standbys[0].LagBytes); diff != "" {
		t.Errorf("LagBytes (-want +got):\n%s", diff)
	}
	if a := s.Standbys[0].ReplyAgeSeconds; a == nil || *a != 0.3 {
		t.Errorf("ReplyAgeSeconds = %v", a)
	}
	if s.Standbys[1].ReplyAgeSeconds != nil {
		t.Error("ReplyAgeSeconds without reply_time")
	}
	if r := s.Slots[0].RetainedBytes; r == nil || *r != 0x1000150 {
		t.Errorf("RetainedBytes = %v", r)
	}
	if s.Slots[1].RetainedBytes != nil {
		t.Error("RetainedBytes without restart_lsn")
	}

	sb := idleStandby()
	sb.Standbys = []Standby{{ApplicationName: "cascade", SentLSN: lsnP("0/4000000")}}
	sb.ReceiveLSN = lsnP("0/4000200")
	sb.Derive()
	if got := sb.Standbys[0].LagBytes[StageSent]; got != 0x200 {
		t.Errorf("cascading lag vs max(receive, replay) = %d", got)
	}
	if a := sb.WALReceiver.LastMsgAgeSeconds; a == nil || *a != 0.7 {
		t.Errorf("LastMsgAgeSeconds = %v", a)
	}
}

func TestSyncHelpers(t *testing.T) {
	type want struct {
		count              int
		countOK            bool
		blocked, protected bool
	}
	tests := []struct {
		name   string
		modify func(*Snapshot)
		want   want
	}{
		{"healthy", func(*Snapshot) {}, want{1, true, false, true}},
		{"sync standby gone", func(s *Snapshot) { s.Standbys = s.Standbys[1:] }, want{0, true, true, false}},
		{"all standbys gone", func(s *Snapshot) { s.Standbys = nil }, want{0, true, true, false}},
		{"sync cleared by the RA", func(s *Snapshot) {
			s.SynchronousStandbyNames = ""
			s.Standbys[0].SyncState = "async"
		}, want{0, true, false, false}},
		{"synchronous_commit local", func(s *Snapshot) { s.SynchronousCommit = "local" }, want{1, true, false, false}},
		{"synchronous_commit off", func(s *Snapshot) { s.SynchronousCommit = "off" }, want{1, true, false, false}},
		{"remote_apply", func(s *Snapshot) { s.SynchronousCommit = "remote_apply" }, want{1, true, false, true}},
		{"FIRST 2 with one sync", func(s *Snapshot) {
			s.SynchronousStandbyNames = "FIRST 2 (pgdb2, pgdb3, pgdb4)"
			s.Standbys[1].SyncState = "potential"
		}, want{1, true, true, true}},
		{"ANY 2 with two quorum", func(s *Snapshot) {
			s.SynchronousStandbyNames = "ANY 2 (pgdb2, pgdb3)"
			s.Standbys[0].SyncState, s.Standbys[1].SyncState = "quorum", "quorum"
		}, want{2, true, false, true}},
		{"ANY 2 with one quorum", func(s *Snapshot) {
			s.SynchronousStandbyNames = "ANY 2 (pgdb2, pgdb3)"
			s.Standbys[0].SyncState = "quorum"
			s.Standbys = s.Standbys[:1]
		}, want{1, true, true, true}},
		{"unparsable setting counts as one", func(s *Snapshot) { s.SynchronousStandbyNames = "pg-db2" }, want{1, true, false, true}},
		{"hidden sync_state (9.x non-superuser)", func(s *Snapshot) { s.Standbys[1].SyncState = "" }, want{0, false, false, false}},
		{"standby", func(s *Snapshot) { s.InRecovery = true }, want{0, false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := healthyPrimary()
			tt.modify(s)
			s.Derive()
			n, ok := s.SyncStandbyCount()
			blocked, bok := s.WritesBlockedRisk()
			protected, pok := s.CommitsProtected()
			got := want{n, ok, blocked, protected}
			if got != tt.want || bok != ok || pok != ok {
				t.Errorf("got %+v (ok %v %v), want %+v", got, bok, pok, tt.want)
			}
		})
	}
}

func TestReplayLag(t *testing.T) {
	tests := []struct {
		name         string
		modify       func(*Snapshot)
		bytes        int64
		bytesOK      bool
		seconds      float64
		secondsOK    bool
		receiverLive bool
	}{
		{name: "primary", modify: func(s *Snapshot) { *s = *healthyPrimary() }, seconds: 0, secondsOK: true},
		{name: "idle standby, live link: 0 although the last commit is an hour old",
			modify: func(*Snapshot) {}, bytesOK: true, secondsOK: true, receiverLive: true},
		{name: "backlog: timestamp age", modify: func(s *Snapshot) { s.ReceiveLSN = lsnP("0/5000000") },
			bytes: 0x5000000 - 0x4000150, bytesOK: true, seconds: 3600, secondsOK: true, receiverLive: true},
		{name: "paused with backlog", modify: func(s *Snapshot) { s.ReceiveLSN = lsnP("0/4001000"); s.ReplayPaused = ptr(true) },
			bytes: 0x1000 - 0x150, bytesOK: true, seconds: 3600, secondsOK: true, receiverLive: true},
		{name: "dead link: receive == replay frozen, no receiver", modify: func(s *Snapshot) { s.WALReceiver = nil },
			bytesOK: true, seconds: 3600, secondsOK: true},
		{name: "receiver not streaming", modify: func(s *Snapshot) { s.WALReceiver.Status = "waiting" },
			bytesOK: true, seconds: 3600, secondsOK: true},
		{name: "silent link beyond wal_receiver_timeout", modify: func(s *Snapshot) {
			s.WALReceiver.LastMsgReceiptTime = ptr(t0.Add(-61 * time.Second))
		}, bytesOK: true, seconds: 3600, secondsOK: true},
		{name: "timeout disabled: 2 x status interval", modify: func(s *Snapshot) {
			s.WALReceiverTimeoutSeconds = 0
			s.WALReceiver.LastMsgReceiptTime = ptr(t0.Add(-19 * time.Second))
		}, bytesOK: true, secondsOK: true, receiverLive: true},
		{name: "no replayed commit yet and link dead", modify: func(s *Snapshot) {
			s.WALReceiver, s.LastReplayTimestamp = nil, nil
		}, bytesOK: true},
		{name: "archive recovery: no receive LSN", modify: func(s *Snapshot) {
			s.ReceiveLSN, s.WALReceiver = nil, nil
		}, seconds: 3600, secondsOK: true},
		{name: "9.5 standby: no receiver view, timestamp age", modify: func(s *Snapshot) {
			s.VersionNum, s.WALReceiver = 90524, nil
		}, bytesOK: true, seconds: 3600, secondsOK: true},
		{name: "clock skew: replay timestamp in the future", modify: func(s *Snapshot) {
			s.WALReceiver = nil
			s.LastReplayTimestamp = ptr(t0.Add(time.Second))
		}, bytesOK: true, seconds: 0, secondsOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := idleStandby()
			tt.modify(s)
			s.Derive()
			b, bok := s.ReplayLagBytes()
			sec, sok := s.ReplayLagSeconds()
			if b != tt.bytes || bok != tt.bytesOK || sec != tt.seconds || sok != tt.secondsOK || s.ReceiverAlive() != tt.receiverLive {
				t.Errorf("bytes %d %v, seconds %v %v, alive %v; want %d %v, %v %v, %v",
					b, bok, sec, sok, s.ReceiverAlive(), tt.bytes, tt.bytesOK, tt.seconds, tt.secondsOK, tt.receiverLive)
			}
		})
	}
}

func TestArchiverFailing(t *testing.T) {
	ok, bad := ptr(t0), ptr(t0.Add(time.Second))
	for _, tt := range []struct {
		a    Archiver
		want bool
	}{
		{Archiver{}, false},
		{Archiver{LastArchivedTime: ok}, false},
		{Archiver{LastFailedTime: bad}, true},
		{Archiver{LastArchivedTime: ok, LastFailedTime: bad}, true},
		{Archiver{LastArchivedTime: bad, LastFailedTime: ok}, false},
	} {
		if got := tt.a.Failing(); got != tt.want {
			t.Errorf("%+v: Failing() = %v", tt.a, got)
		}
	}
}

// TestSnapshotJSON: the Nagios mode reads the same struct; LSNs stay exact.
func TestSnapshotJSON(t *testing.T) {
	s := healthyPrimary()
	s.Derive()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}
