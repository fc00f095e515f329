package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/runner"
	"github.com/pgha/pgha_exporter/nagios"
	"github.com/pgha/pgha_exporter/pg"
)

// checkConfig holds the check command's own flags.
type checkConfig struct {
	what                                                       string
	warn, crit                                                 string
	timeout                                                    time.Duration
	timeoutState                                               string
	verbose                                                    int
	from                                                       string
	debug                                                      bool
	withPromoted                                               string
	repMode                                                    string
	lagBytesWarn, lagBytesCrit, lagSecondsWarn, lagSecondsCrit string
	policies                                                   map[string]*string
}

// checkPanicHook lets tests inject a panic into a check run.
var checkPanicHook func()

func addCheckCommand(app *kingpin.Application) *checkConfig {
	k := &checkConfig{policies: map[string]*string{}}
	cmd := app.Command("check", `Run as a Nagios/Icinga plugin over the same parsed state as /metrics.

Prints one line "PGHA <WHAT> <STATE> - summary", one line per problem, and
perfdata, on stdout only; exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also
for bad arguments, --help and --version). By default it runs crm_mon itself;
with --from it reads a running exporter's snapshot instead, so the monitoring
user needs no cluster rights.`)
	cmd.Arg("what", "cluster, replication, corosync or all.").Required().EnumVar(&k.what, nagios.Checks...)
	cmd.Flag("warning", "Warning range on the highest fail count (cluster).").Short('w').Default("0").StringVar(&k.warn)
	cmd.Flag("critical", "Critical range on the highest fail count (cluster).").Short('c').Default("").StringVar(&k.crit)
	cmd.Flag("timeout", "Overall deadline; on expiry the running command's process group is killed.").Short('t').Default("10s").DurationVar(&k.timeout)
	cmd.Flag("timeout-state", "State reported on timeout: ok, warning, critical or unknown.").Default("unknown").EnumVar(&k.timeoutState, "ok", "warning", "critical", "unknown")
	cmd.Flag("verbose", "More output: -v also lists what is OK.").Short('v').CounterVar(&k.verbose)
	cmd.Flag("from", "Read the snapshot of a running exporter (http://127.0.0.1:9732) instead of running the cluster tools.").PlaceHolder("URL").StringVar(&k.from)
	cmd.Flag("debug", "Log to stderr (never use it under Nagios: stderr breaks check_by_ssh).").BoolVar(&k.debug)
	cmd.Flag("with-promoted", "Comma-separated resources (or groups) that must run on the promoted node; default: derived from the colocation constraints with the promoted role.").PlaceHolder("vip-master,vip-rep").StringVar(&k.withPromoted)
	cmd.Flag("rep-mode", "The pgsql resource's rep_mode: with sync an HS:sync standby must exist while two nodes are online.").Default("sync").EnumVar(&k.repMode, "sync", "async")
	lag := nagios.DefaultPostgresOptions()
	cmd.Flag("lag-bytes-warning", "Warning range on each standby's replay lag in bytes (replication, with PostgreSQL); sizes may carry a unit: 16MB, 16MiB, 1GiB.").Default(lag.LagBytes.Warn.String()).StringVar(&k.lagBytesWarn)
	cmd.Flag("lag-bytes-critical", "Critical range on each standby's replay lag in bytes (units as above).").Default(lag.LagBytes.Crit.String()).StringVar(&k.lagBytesCrit)
	cmd.Flag("lag-seconds-warning", "Warning range on each standby's replay lag in seconds.").Default(lag.LagSeconds.Warn.String()).StringVar(&k.lagSecondsWarn)
	cmd.Flag("lag-seconds-critical", "Critical range on each standby's replay lag in seconds.").Default(lag.LagSeconds.Crit.String()).StringVar(&k.lagSecondsCrit)
	for _, p := range []struct{ name, def, help string }{
		{"offline", "warning", "State for an offline node (a loss that leaves a bare majority is CRITICAL on its own: at minimum quorum)."},
		{"standby", "warning", "State for a node in standby."},
		{"maintenance", "warning", "State for a node in maintenance."},
		{"maintenance-mode", "warning", "State for cluster-wide maintenance-mode."},
		{"stonith-disabled", "warning", "State for stonith-enabled=false."},
		{"unmanaged", "warning", "State for an unmanaged resource outside maintenance."},
		{"cli-constraints", "warning", "State for leftover cli-ban-/cli-prefer- constraints."},
	} {
		k.policies[p.name] = cmd.Flag(p.name, p.help+" ok, warning, critical or unknown.").Default(p.def).Enum("ok", "warning", "critical", "unknown")
	}
	return k
}

// isCheck tells whether args select the check command, so that parse errors,
// --help and --version follow plugin conventions (stdout, exit 3).
func isCheck(args []string) bool {
	for _, a := range args {
		if a == "check" {
			return true
		}
		if a == "--" {
			return false
		}
	}
	return false
}

// unknownf prints the one-line UNKNOWN result and returns exit code 3.
func unknownf(w io.Writer, format string, args ...any) int {
	fmt.Fprintf(w, "PGHA UNKNOWN - %s\n", strings.ReplaceAll(fmt.Sprintf(format, args...), "|", "/"))
	return int(nagios.Unknown)
}

// stageTracker names the source a check is waiting for, for timeout messages.
// Once frozen (the deadline passed) it keeps the stage that timed out, not
// the one the check moves on to while the killed command returns.
type stageTracker struct {
	mu     sync.Mutex
	stage  string
	frozen bool
}

func (s *stageTracker) set(v string) {
	s.mu.Lock()
	if !s.frozen {
		s.stage = v
	}
	s.mu.Unlock()
}

func (s *stageTracker) freeze() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = true
	return s.stage
}

func runCheck(c *config, k *checkConfig, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			code = unknownf(stdout, "internal error: %v", r)
		}
	}()
	var logger log.Logger = log.NewNopLogger()
	if k.debug {
		logger, _, _ = newLogger(stderr, "debug", c.logFormat)
	}
	opts, err := checkOptions(k)
	if err != nil {
		return unknownf(stdout, "%v", err)
	}
	timeoutState, _ := nagios.ParseState(k.timeoutState)

	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	stage := &stageTracker{}
	type outcome struct {
		res nagios.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("internal error: %v", r)}
			}
		}()
		if checkPanicHook != nil {
			checkPanicHook()
		}
		in, err := gather(ctx, c, k, stage, logger)
		if err != nil {
			done <- outcome{err: err}
			return
		}
		res, err := nagios.Evaluate(k.what, in, opts)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return unknownf(stdout, "%v", o.err)
		}
		return o.res.Render(stdout, k.verbose)
	case <-ctx.Done():
		timedOut := stage.freeze()
		// The runner kills the command's process group on cancellation;
		// give it a moment so that nothing outlives the plugin.
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		fmt.Fprintf(stdout, "PGHA %s %s - timeout after %s while running %s\n", strings.ToUpper(k.what), timeoutState, k.timeout, orStage(timedOut))
		return int(timeoutState)
	}
}

func orStage(s string) string {
	if s == "" {
		return "the check"
	}
	return s
}

// checkOptions turns the check's flags into nagios.Options.
func checkOptions(k *checkConfig) (nagios.Options, error) {
	o := nagios.DefaultOptions()
	o.Replication.SyncMode = k.repMode == "sync"
	o.Postgres.SyncMode = o.Replication.SyncMode
	for _, r := range []struct {
		flag, val string
		dst       *nagios.Range
		parse     func(string) (nagios.Range, error)
	}{
		{"-w", k.warn, &o.Cluster.FailCount.Warn, nagios.ParseRange}, {"-c", k.crit, &o.Cluster.FailCount.Crit, nagios.ParseRange},
		{"--lag-bytes-warning", k.lagBytesWarn, &o.Postgres.LagBytes.Warn, nagios.ParseByteRange},
		{"--lag-bytes-critical", k.lagBytesCrit, &o.Postgres.LagBytes.Crit, nagios.ParseByteRange},
		{"--lag-seconds-warning", k.lagSecondsWarn, &o.Postgres.LagSeconds.Warn, nagios.ParseRange},
		{"--lag-seconds-critical", k.lagSecondsCrit, &o.Postgres.LagSeconds.Crit, nagios.ParseRange},
	} {
		if r.val == "" {
			*r.dst = nagios.Range{}
			continue
		}
		v, err := r.parse(r.val)
		if err != nil {
			return o, fmt.Errorf("%s: %w", r.flag, err)
		}
		*r.dst = v
	}
	if k.withPromoted != "" {
		o.Cluster.WithPromoted = strings.Split(k.withPromoted, ",")
	}
	for name, dst := range map[string]*nagios.State{
		"offline": &o.Cluster.Offline, "standby": &o.Cluster.Standby, "maintenance": &o.Cluster.Maintenance, "maintenance-mode": &o.Cluster.MaintenanceMode,
		"stonith-disabled": &o.Cluster.StonithDisabled, "unmanaged": &o.Cluster.Unmanaged, "cli-constraints": &o.Cluster.CLIConstraints,
	} {
		var err error
		if *dst, err = nagios.ParseState(*k.policies[name]); err != nil {
			return o, fmt.Errorf("--%s: %w", name, err)
		}
	}
	return o, nil
}

// gather reads the sources the check needs: a running exporter's snapshot
// with --from, else the cluster tools and PostgreSQL themselves.
func gather(ctx context.Context, c *config, k *checkConfig, stage *stageTracker, logger log.Logger) (nagios.Inputs, error) {
	needCrm, needCoro, needPG := nagios.Needs(k.what)
	// The collector flags choose the sources for the check too: a disabled
	// collector is not consulted (check all --no-collector.corosync).
	needCrm = needCrm && *c.collectors["pacemaker"]
	needCoro = needCoro && *c.collectors["corosync"]
	needPG = needPG && *c.collectors["postgres"]
	var in nagios.Inputs
	if k.what != "all" && ((k.what == "corosync" && !needCoro) || (k.what != "corosync" && !needCrm)) {
		return in, fmt.Errorf("check %s needs the collector that --no-collector.* disabled", k.what)
	}
	if k.from != "" {
		stage.set("GET " + k.from)
		remote, err := fetchRemote(ctx, k.from)
		if err != nil {
			return in, err
		}
		if needCrm {
			in.Pacemaker, in.PacemakerErr = fresh(remote.Pacemaker, "pacemaker", c.crmMaxAge)
		}
		if needCoro {
			in.Corosync, in.CorosyncErr = fresh(remote.Corosync, "corosync", c.corosyncMaxAge)
		}
		if p := remote.Postgres; p != nil && needPG { // absent: the exporter runs no postgres collector
			if in.Postgres = p.Snapshot; in.Postgres == nil {
				in.PostgresErr = fmt.Errorf("PostgreSQL: %s", orDefault(p.LastError, "no snapshot"))
			}
		}
		return in, nil
	}
	if needCrm {
		stage.set("crm_mon")
		in.Pacemaker, in.PacemakerErr = crmSource(c, c.nodeName, k.timeout).Fetch(ctx)
		_ = logger.Log("source", "crm_mon", "err", in.PacemakerErr)
	}
	if needCoro {
		stage.set("the corosync tools")
		in.Corosync, in.CorosyncErr = corosyncSource(c, k.timeout).Fetch(ctx)
		_ = logger.Log("source", "corosync", "err", in.CorosyncErr)
	}
	// PostgreSQL is consulted when a connection string is configured.
	if needPG && (c.pgDSNFile != "" || os.Getenv(pg.EnvDSN) != "") {
		stage.set("the PostgreSQL queries")
		dsn, err := pg.LoadDSN(c.pgDSNFile, os.Getenv)
		if err != nil {
			return in, err
		}
		client := pg.NewClient(dsn, pg.ClientOptions{ConnectTimeout: c.pgConnectTimeout, QueryTimeout: c.pgQueryTimeout})
		in.Postgres, in.PostgresErr = client.Snapshot(ctx)
		_ = client.Close(context.Background())
		_ = logger.Log("source", "postgres", "err", in.PostgresErr)
	}
	if in.Pacemaker != nil && in.Pacemaker.LocalNode == "" && in.Postgres != nil {
		stage.set("crm_node")
		in.Pacemaker.LocalNode, _ = crm.LocalNodeName(ctx, runner.Exec{}, c.crmNodePath, k.timeout)
	}
	return in, nil
}

// remoteState is the exporter's /api/v1/snapshot document.
type remoteState struct {
	Pacemaker *remoteSource[crm.Snapshot]    `json:"pacemaker,omitempty"`
	Corosync  *remoteSource[corosync.Status] `json:"corosync,omitempty"`
	Postgres  *remoteSource[pg.Snapshot]     `json:"postgres,omitempty"`
}

type remoteSource[T any] struct {
	Snapshot   *T      `json:"snapshot"`
	AgeSeconds float64 `json:"age_seconds"`
	LastError  string  `json:"last_error,omitempty"`
}

// fresh returns a remote snapshot, refusing a missing or stale one.
func fresh[T any](p *remoteSource[T], what string, maxAge time.Duration) (*T, error) {
	switch {
	case p == nil:
		return nil, fmt.Errorf("the exporter does not run the %s collector", what)
	case p.Snapshot == nil:
		return nil, fmt.Errorf("the exporter has no %s snapshot yet (last error: %s)", what, orDefault(p.LastError, "none"))
	case crm.Stale(p.AgeSeconds, maxAge):
		return nil, fmt.Errorf("the exporter's %s snapshot is %.0fs old (max %s; last error: %s)", what, p.AgeSeconds, maxAge, orDefault(p.LastError, "none"))
	}
	return p.Snapshot, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func fetchRemote(ctx context.Context, base string) (*remoteState, error) {
	url := strings.TrimRight(base, "/") + snapshotPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("--from: %s answered %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	var st remoteState
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("--from: %s: %w", url, err)
	}
	return &st, nil
}
