package nagios

import (
	"fmt"
	"math"

	"github.com/pgha/pgha_exporter/pg"
)

// PostgresOptions tune the local-PostgreSQL part of the replication check.
type PostgresOptions struct {
	SyncMode   bool       // a synchronous standby must exist on the primary
	LagBytes   Thresholds // per standby (primary: replay lag; standby: receive-to-replay backlog)
	LagSeconds Thresholds // per standby (primary: replay_lag; standby: idle-safe replay lag)
	// PacemakerPromoted/PacemakerKnown: Pacemaker's role for the local
	// instance, compared with pg_is_in_recovery().
	PacemakerPromoted, PacemakerKnown bool
}

// DefaultPostgresOptions: 16 MiB / 64 MiB and 30 s / 120 s of lag.
func DefaultPostgresOptions() PostgresOptions {
	return PostgresOptions{SyncMode: true,
		LagBytes:   Thresholds{Warn: MustRange("16777216"), Crit: MustRange("67108864")},
		LagSeconds: Thresholds{Warn: MustRange("30"), Crit: MustRange("120")}}
}

// CheckPostgres evaluates the local PostgreSQL's replication view.
func CheckPostgres(s *pg.Snapshot, o PostgresOptions) Result {
	r := Result{What: "REPLICATION"}
	role := "primary"
	if s.InRecovery {
		role = "standby"
	}
	switch {
	case !o.PacemakerKnown:
	case o.PacemakerPromoted && s.InRecovery:
		r.Event(Critical, "role mismatch: Pacemaker promoted this node but PostgreSQL is in recovery")
	case !o.PacemakerPromoted && !s.InRecovery:
		r.Event(Critical, "role mismatch: PostgreSQL is a primary but Pacemaker does not run it promoted (split brain risk)")
	default:
		r.Add(OK, "PostgreSQL %s agrees with Pacemaker", role)
	}
	var lag lagPerf
	if s.InRecovery {
		lag = standbyFindings(&r, s, o)
	} else {
		lag = primaryFindings(&r, s, o)
	}
	if a := s.Archiver; a != nil && a.Failing() {
		r.Add(Warning, "WAL archiving failing (%d failures, last %s)", a.FailedCount, orDefault(a.LastFailedWAL, "?"))
	}
	postgresPerf(&r, s, o, lag)
	return r
}

// lagPerf is the replay lag the perfdata reports: on a primary the largest
// of its standbys', on a standby its own.
type lagPerf struct {
	bytes, seconds         float64
	haveBytes, haveSeconds bool
}

func (l *lagPerf) addBytes(b float64) { l.bytes, l.haveBytes = math.Max(l.bytes, b), true }
func (l *lagPerf) addSeconds(s float64) {
	l.seconds, l.haveSeconds = math.Max(l.seconds, s), true
}

// postgresPerf writes the PostgreSQL perfdata under the same labels on every
// role, so that a graph survives a failover (docs/checks.md lists them).
func postgresPerf(r *Result, s *pg.Snapshot, o PostgresOptions, lag lagPerf) {
	recovery := 0.0
	if s.InRecovery {
		recovery = 1
	}
	r.AddPerf(Perf{Label: "pg_in_recovery", Value: recovery, Min: ptr(0), Max: ptr(1)})
	if lag.haveBytes {
		r.AddPerf(Perf{Label: "pg_replay_lag_bytes", Value: lag.bytes, UOM: "B", Warn: o.LagBytes.Warn, Crit: o.LagBytes.Crit, Min: ptr(0)})
	}
	if lag.haveSeconds {
		r.AddPerf(Perf{Label: "pg_replay_lag_seconds", Value: lag.seconds, UOM: "s", Warn: o.LagSeconds.Warn, Crit: o.LagSeconds.Crit, Min: ptr(0)})
	}
	streaming := 0
	for _, sb := range s.Standbys {
		if sb.State == "streaming" {
			streaming++
		}
	}
	r.AddPerf(Perf{Label: "pg_standbys_streaming", Value: float64(streaming), Min: ptr(0)})
	if n, ok := s.SyncStandbyCount(); ok {
		p := Perf{Label: "pg_sync_standbys", Value: float64(n), Min: ptr(0)}
		if !s.InRecovery {
			p.Crit = crit(o.SyncMode)
		}
		r.AddPerf(p)
	}
}

func primaryFindings(r *Result, s *pg.Snapshot, o PostgresOptions) (lag lagPerf) {
	streaming := 0
	seen := map[string]int{}
	for _, sb := range s.Standbys {
		name := orDefault(sb.ApplicationName, sb.ClientAddr)
		if seen[name]++; seen[name] > 1 { // perfdata labels must be unique
			name = fmt.Sprintf("%s_%d", name, seen[name])
		}
		if sb.State == "streaming" {
			streaming++
		} else {
			r.Add(Warning, "standby %s is %s", name, orDefault(sb.State, "unknown"))
		}
		if b, ok := sb.LagBytes[pg.StageReplay]; ok {
			if st := o.LagBytes.State(float64(b)); st != OK {
				r.Add(st, "standby %s replay lag %d bytes", name, b)
			}
			lag.addBytes(float64(b))
		}
		if sec, ok := sb.LagSeconds[pg.StageReplay]; ok {
			if st := o.LagSeconds.State(sec); st != OK {
				r.Add(st, "standby %s replay lag %.1fs", name, sec)
			}
			lag.addSeconds(sec)
		}
	}
	r.Add(OK, "%d standby(s) streaming", streaming)
	n, ok := s.SyncStandbyCount()
	if !ok {
		r.Add(Unknown, "sync state of the standbys is not visible to this role (grant pg_monitor)")
		return lag
	}
	if risk, ok := s.WritesBlockedRisk(); ok && risk {
		r.Event(Critical, "writes are blocked: synchronous_standby_names wants %d sync standby(s), %d connected", s.Sync.Num, n)
		return lag
	}
	switch {
	case n > 0:
		r.Add(OK, "%d sync standby(s)", n)
	case o.SyncMode:
		r.Event(Critical, "sync standby lost: no synchronous standby, commits are not protected")
	}
	return lag
}

func standbyFindings(r *Result, s *pg.Snapshot, o PostgresOptions) (lag lagPerf) {
	if s.HasWALReceiverView() {
		if s.WALReceiver == nil {
			r.Add(Critical, "no WAL receiver: this standby is not replicating")
		} else if s.WALReceiver.Status != "streaming" {
			r.Add(Critical, "WAL receiver %s", s.WALReceiver.Status)
		} else {
			r.Add(OK, "WAL receiver streaming from %s", orDefault(s.WALReceiver.SenderHost, "the primary"))
		}
	}
	if b, ok := s.ReplayLagBytes(); ok {
		if st := o.LagBytes.State(float64(b)); st != OK {
			r.Add(st, "replay backlog %d bytes", b)
		}
		lag.addBytes(float64(b))
	}
	if sec, ok := s.ReplayLagSeconds(); ok {
		if st := o.LagSeconds.State(sec); st != OK {
			r.Add(st, "replay lag %.1fs", sec)
		}
		lag.addSeconds(sec)
	}
	if s.ReplayPaused != nil && *s.ReplayPaused {
		r.Add(Warning, "WAL replay paused (pg_wal_replay_resume())")
	}
	return lag
}
