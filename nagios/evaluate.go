package nagios

import (
	"errors"
	"fmt"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/pg"
)

// Checks are the arguments of "pgha_exporter check".
var Checks = []string{"cluster", "replication", "corosync", "all"}

// Needs tells which sources a check reads: Pacemaker (crm_mon), corosync and
// the local PostgreSQL.
func Needs(what string) (pacemaker, corosync, postgres bool) {
	return what != "corosync", what == "corosync" || what == "all", what == "replication" || what == "all"
}

// Inputs are the sources one check run gathered. A source that could not be
// read carries its error; a source that was not asked for (a disabled
// collector, PostgreSQL without a connection string) is nil with no error,
// and "all" leaves it out.
type Inputs struct {
	Pacemaker    *crm.Snapshot
	PacemakerErr error
	Corosync     *corosync.Status
	CorosyncErr  error
	Postgres     *pg.Snapshot
	PostgresErr  error
}

// Options are every threshold and policy of the checks.
type Options struct {
	Cluster     ClusterOptions
	Replication ReplicationOptions
	Postgres    PostgresOptions
	Corosync    CorosyncOptions
}

// DefaultOptions are the documented defaults.
func DefaultOptions() Options {
	return Options{Cluster: DefaultClusterOptions(), Replication: DefaultReplicationOptions(),
		Postgres: DefaultPostgresOptions()}
}

// Evaluate decides a check from what was gathered. An error means the check
// could not judge the cluster at all (UNKNOWN); a source that is down on
// this node is a finding instead.
func Evaluate(what string, in Inputs, o Options) (Result, error) {
	switch what {
	case "cluster":
		if in.PacemakerErr != nil {
			return pacemakerFailure("CLUSTER", in.PacemakerErr)
		}
		return CheckCluster(in.Pacemaker, o.Cluster), nil
	case "replication":
		if in.PacemakerErr != nil {
			return pacemakerFailure("REPLICATION", in.PacemakerErr)
		}
		return withPostgres(CheckReplication(in.Pacemaker, o.Replication), in, o.Postgres), nil
	case "corosync":
		if in.CorosyncErr != nil {
			return corosyncFailure("COROSYNC", in.CorosyncErr)
		}
		return CheckCorosync(in.Corosync, o.Corosync), nil
	case "all":
	default:
		return Result{}, fmt.Errorf("unknown check %q (want cluster, replication, corosync or all)", what)
	}
	all := Result{What: "ALL"}
	var parts []func() (Result, error)
	if in.Pacemaker != nil || in.PacemakerErr != nil {
		parts = append(parts, func() (Result, error) {
			if in.PacemakerErr != nil {
				return pacemakerFailure("ALL", in.PacemakerErr)
			}
			r := CheckCluster(in.Pacemaker, o.Cluster)
			r.Merge(withPostgres(CheckReplication(in.Pacemaker, o.Replication), in, o.Postgres))
			return r, nil
		})
	}
	if in.Corosync != nil || in.CorosyncErr != nil {
		parts = append(parts, func() (Result, error) {
			if in.CorosyncErr != nil {
				return corosyncFailure("ALL", in.CorosyncErr)
			}
			return CheckCorosync(in.Corosync, o.Corosync), nil
		})
	}
	if len(parts) == 0 {
		return Result{}, errors.New("nothing to check: every source is disabled")
	}
	for _, part := range parts {
		r, err := part()
		if err != nil {
			all.Add(Unknown, "%v", err)
			continue
		}
		all.Merge(r)
	}
	return all, nil
}

// withPostgres adds the local PostgreSQL's view to the agent's, compared
// with the role Pacemaker gives the local instance.
func withPostgres(r Result, in Inputs, o PostgresOptions) Result {
	switch {
	case in.PostgresErr != nil:
		r.Add(Critical, "PostgreSQL: %v", in.PostgresErr)
	case in.Postgres != nil:
		o.PacemakerPromoted, o.PacemakerKnown = in.Pacemaker.LocalPgsqlRole()
		r.Merge(CheckPostgres(in.Postgres, o))
	}
	return r
}

// corosyncFailure: corosync not running is a finding; the rest is UNKNOWN.
func corosyncFailure(what string, err error) (Result, error) {
	if errors.Is(err, corosync.ErrNotRunning) {
		r := Result{What: what}
		r.Add(Critical, "corosync not running on this node (%v)", err)
		return r, nil
	}
	return Result{}, err
}

// pacemakerFailure turns a failed crm_mon run into a result: the stack not
// running on this node is a finding (CRITICAL); everything that is a
// deployment or plugin problem is UNKNOWN.
func pacemakerFailure(what string, err error) (Result, error) {
	var ce *crm.Error
	if errors.As(err, &ce) {
		switch ce.Stage {
		case crm.StageNotConnected:
			r := Result{What: what}
			r.Add(Critical, "cluster stack not running on this node (%s)", ce.Msg)
			return r, nil
		case crm.StageNoCIB:
			r := Result{What: what}
			r.Add(Critical, "pacemaker is starting: the CIB does not answer yet")
			return r, nil
		}
	}
	return Result{}, err
}
