// Command pgha_exporter exports the state of a PostgreSQL high-availability
// cluster run by Pacemaker/Corosync (ocf:heartbeat:pgsql) to Prometheus.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/pgha/pgha_exporter/collector"
	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/nagios"
)

// defaultListen is the exporter's default port (see README: chosen away from
// the ports of node_exporter, postgres_exporter and ha_cluster_exporter).
const defaultListen = ":9732"

func main() {
	mayReexec = true
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config holds every flag value; only this package defines flags.
type config struct {
	logLevel, logFormat string
	web                 *web.FlagConfig
	telemetryPath       string
	maxRequests         int
	gomaxprocs          int
	timerSlack          time.Duration
	collectors          map[string]*bool

	crmMonPath, crmMonFile, cibadminPath, cibFile, crmNodePath, nodeName, include string
	crmRefresh, crmTimeout, crmMaxAge                                             time.Duration

	corosyncStack, cfgtoolPath, quorumtoolPath, cmanToolPath string
	corosyncRefresh, corosyncTimeout, corosyncMaxAge         time.Duration

	pgDSNFile                        string
	pgConnectTimeout, pgQueryTimeout time.Duration

	check *checkConfig
}

func newApp(stdout, stderr io.Writer) (*kingpin.Application, *config) {
	app := kingpin.New("pgha_exporter", `Prometheus exporter for PostgreSQL HA clusters on Pacemaker/Corosync.

Serves /metrics with the Pacemaker cluster state (from crm_mon XML, refreshed
in the background; scrapes never run crm_mon), and, as the collectors are
enabled, corosync/CMAN and the local PostgreSQL's replication state. Run one
exporter on every cluster node.`)
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.HelpFlag.Short('h')
	app.Version(version.Print("pgha_exporter"))
	app.VersionFlag.Short('V')

	c := &config{collectors: map[string]*bool{}}
	app.Flag(configFlag, "Optional YAML file with flag values grouped by their first dotted part (crm:, corosync:, web:, collector:, check: ...); flags given on the command line win. Unknown keys stop the start.").
		PlaceHolder("PATH").String()
	app.Flag("log.level", "Only log messages with the given severity or above: debug, info, warn, error.").
		Default("info").EnumVar(&c.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Log format: logfmt or json.").Default("logfmt").EnumVar(&c.logFormat, "logfmt", "json")

	// Flags are global so that --help shows them all and every command that
	// reads a source (serve, check) reads it the same way.
	app.Command("serve", "Serve metrics over HTTP (the default command).").Default()
	c.web = kingpinflag.AddFlags(app, defaultListen)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&c.telemetryPath)
	app.Flag("web.max-requests", "Maximum number of parallel scrapes (0 disables the limit).").Default("40").IntVar(&c.maxRequests)
	app.Flag("runtime.gomaxprocs", "CPUs the Go runtime runs on at once (GOMAXPROCS). 1 keeps an idle exporter from waking a second thread for every crm_mon run (half the idle CPU, docs/performance.md); a scrape is served on one CPU either way.").
		Envar("GOMAXPROCS").Default("1").IntVar(&c.gomaxprocs)
	app.Flag("runtime.timer-slack", "Timer slack of the server's threads (prctl PR_SET_TIMERSLACK; the kernel may fold a sleeping thread's wake-up into others within it). 1ms instead of Linux's 50us cuts an idle exporter's CPU by a third (docs/performance.md); set at start by re-executing the binary once (same pid), skipped when already right (systemd's TimerSlackNSec=). 0 leaves the inherited one.").
		Default("1ms").DurationVar(&c.timerSlack)
	for _, info := range collector.Known {
		def := "false"
		if info.DefaultEnabled {
			def = "true"
		}
		c.collectors[info.Name] = app.Flag("collector."+info.Name,
			fmt.Sprintf("Enable the %s collector (default %s; --no-collector.%s disables it). %s", info.Name, map[bool]string{true: "enabled", false: "disabled"}[info.DefaultEnabled], info.Name, info.Help)).
			Default(def).Bool()
	}

	app.Flag("crm.mon-path", "crm_mon binary.").Default("/usr/sbin/crm_mon").StringVar(&c.crmMonPath)
	app.Flag("crm.mon-file", "Read crm_mon XML (either root) from this file instead of running crm_mon (demos, tests, offline analysis).").
		PlaceHolder("PATH").StringVar(&c.crmMonFile)
	app.Flag("crm.cibadmin-path", "cibadmin binary, used for 'cibadmin --query --scope constraints|nodes|crm_config' (cli-ban/cli-prefer constraints, permanent attributes of offline nodes, the cluster-name property). Empty disables those queries.").
		Default("/usr/sbin/cibadmin").StringVar(&c.cibadminPath)
	app.Flag("crm.cib-file", "With --crm.mon-file: read constraints and permanent node attributes from this CIB XML file.").
		PlaceHolder("PATH").StringVar(&c.cibFile)
	app.Flag("crm.node-path", "crm_node binary, asked once for the local node name.").Default("/usr/sbin/crm_node").StringVar(&c.crmNodePath)
	app.Flag("crm.node-name", "This node's cluster name (default: 'crm_node -n', else the host name).").StringVar(&c.nodeName)
	app.Flag("crm.include", "Sections for 'crm_mon --output-as=xml --include=...' (ignored on Pacemaker before 2.0.3, which gets --as-xml).").
		Default(crm.DefaultInclude).StringVar(&c.include)
	app.Flag("crm.refresh-interval", "How often the background refresher runs crm_mon.").Default("5s").DurationVar(&c.crmRefresh)
	app.Flag("crm.timeout", "Deadline for one crm_mon or cibadmin run; its whole process group is killed on expiry.").Default("10s").DurationVar(&c.crmTimeout)
	app.Flag("crm.max-age", "Serve no Pacemaker metrics (collector success 0), and let check --from refuse the snapshot, when the last good snapshot is older than this (0: no limit).").Default("30s").DurationVar(&c.crmMaxAge)
	app.Flag("corosync.stack", "Cluster stack: auto (cman when 'cman_tool status' answers, else corosync), corosync or cman.").
		Default(corosync.StackAuto).EnumVar(&c.corosyncStack, corosync.StackAuto, corosync.StackCorosync, corosync.StackCman)
	app.Flag("corosync.cfgtool-path", "corosync-cfgtool binary (ring/link status, -s).").Default(corosync.DefaultCfgtoolPath).StringVar(&c.cfgtoolPath)
	app.Flag("corosync.quorumtool-path", "corosync-quorumtool binary (quorum and membership, -s -p).").Default(corosync.DefaultQuorumtoolPath).StringVar(&c.quorumtoolPath)
	app.Flag("corosync.cman-tool-path", "cman_tool binary (CMAN stack: status and nodes).").Default(corosync.DefaultCmanToolPath).StringVar(&c.cmanToolPath)
	app.Flag("corosync.refresh-interval", "How often the background refresher runs the corosync/CMAN tools.").Default("15s").DurationVar(&c.corosyncRefresh)
	app.Flag("corosync.timeout", "Deadline for one corosync/CMAN tool run; its process group is killed on expiry.").Default("5s").DurationVar(&c.corosyncTimeout)
	app.Flag("corosync.max-age", "Serve no corosync metrics (collector success 0), and let check --from refuse the snapshot, when the last good snapshot is older than this (0: no limit).").Default("60s").DurationVar(&c.corosyncMaxAge)

	app.Flag("pg.dsn-file", "File holding the local PostgreSQL's connection string (libpq keyword/value or URI). Without it the PGHA_PG_DSN environment variable is read; the libpq variables (PGHOST, PGUSER, PGPASSFILE, ...) fill in the rest. Never pass a password as a flag.").
		PlaceHolder("PATH").StringVar(&c.pgDSNFile)
	app.Flag("pg.connect-timeout", "Deadline for connecting to PostgreSQL.").Default("5s").DurationVar(&c.pgConnectTimeout)
	app.Flag("pg.query-timeout", "statement_timeout and deadline of the per-scrape queries.").Default("5s").DurationVar(&c.pgQueryTimeout)

	c.check = addCheckCommand(app)
	return app, c
}

// serveOnly are the flags the check command never reads; its --help leaves
// them out (they stay accepted, so one configuration file serves both).
var serveOnly = []string{"web.listen-address", "web.systemd-socket", "web.config.file", "web.telemetry-path",
	"web.max-requests", "runtime.gomaxprocs", "runtime.timer-slack", "crm.refresh-interval", "crm.timeout", "corosync.refresh-interval", "corosync.timeout"}

func hideServeFlags(app *kingpin.Application) {
	for _, name := range serveOnly {
		if f := app.GetFlag(name); f != nil {
			f.Hidden()
		}
	}
}

// maxRequestsLimit bounds --web.max-requests: beyond it the "limit" limits
// nothing and only hides a typo (1e99).
const maxRequestsLimit = 10000

// maxProcsLimit bounds --runtime.gomaxprocs.
const maxProcsLimit = 1024

// validate refuses values that parse but make no sense, naming the flag.
func (c *config) validate() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--crm.refresh-interval", c.crmRefresh}, {"--crm.timeout", c.crmTimeout},
		{"--corosync.refresh-interval", c.corosyncRefresh}, {"--corosync.timeout", c.corosyncTimeout},
		{"--pg.connect-timeout", c.pgConnectTimeout}, {"--pg.query-timeout", c.pgQueryTimeout},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s=%s: must be greater than 0", d.flag, d.v)
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--crm.max-age", c.crmMaxAge}, {"--corosync.max-age", c.corosyncMaxAge}} {
		if d.v < 0 {
			return fmt.Errorf("%s=%s: must not be negative", d.flag, d.v)
		}
	}
	if c.timerSlack < 0 || c.timerSlack > time.Second {
		return fmt.Errorf("--runtime.timer-slack=%s: must be between 0 (leave it) and 1s", c.timerSlack)
	}
	if c.gomaxprocs < 1 || c.gomaxprocs > maxProcsLimit {
		return fmt.Errorf("--runtime.gomaxprocs=%d: must be between 1 and %d", c.gomaxprocs, maxProcsLimit)
	}
	if c.maxRequests < 0 || c.maxRequests > maxRequestsLimit {
		return fmt.Errorf("--web.max-requests=%d: must be between 0 (no limit) and %d", c.maxRequests, maxRequestsLimit)
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	checkMode := isCheck(args)
	errOut := stderr
	if checkMode {
		errOut = stdout // plugins write nothing on stderr
	}
	app, c := newApp(stdout, errOut)
	if checkMode {
		hideServeFlags(app)
	}
	configFail := func(err error) int {
		if checkMode {
			return unknownf(stdout, "%v", err)
		}
		fmt.Fprintf(stderr, "pgha_exporter: %v\n", err)
		return 2 // a bad configuration is a usage error, like a bad flag
	}
	userArgs := args
	var extra []configArg
	if path := findConfigFile(args); path != "" {
		var err error
		if extra, err = configArgs(app, path, args, checkMode); err != nil {
			return configFail(err)
		}
		for _, e := range extra {
			args = append(args, e.args...)
		}
	}
	exit := -1
	app.Terminate(func(code int) {
		if exit < 0 {
			exit = code
		}
	})
	cmd, err := app.Parse(args)
	if exit >= 0 { // --help or --version
		if checkMode {
			return int(nagios.Unknown)
		}
		return exit
	}
	if err != nil && len(extra) > 0 {
		key, kerr := badConfigKey(userArgs, extra, func(a []string) error {
			probe, _ := newApp(io.Discard, io.Discard)
			probe.Terminate(func(int) {})
			_, err := probe.Parse(a)
			return err
		})
		if key != "" {
			return configFail(fmt.Errorf("config file %s: key %q: %w", findConfigFile(userArgs), key, kerr))
		}
	}
	if err != nil {
		err = nameBadFlag(app, args, err)
		if checkMode {
			return unknownf(stdout, "%v (see pgha_exporter check --help)", err)
		}
		fmt.Fprintf(stderr, "pgha_exporter: %v (see --help)\n", err)
		return 2
	}
	if err := validateSources(c); err != nil {
		return configFail(err)
	}
	if err := c.validate(); err != nil {
		if checkMode {
			return unknownf(stdout, "%v", err)
		}
		fmt.Fprintf(stderr, "pgha_exporter: %v\n", err)
		return 2
	}
	switch cmd {
	case "serve":
		return serve(c, stderr)
	case "check":
		return runCheck(c, c.check, stdout, stderr)
	}
	fmt.Fprintf(stderr, "pgha_exporter: unknown command %q\n", cmd)
	return 2
}

// nameBadFlag puts the flag in front of a value error kingpin reports
// without it ("time: invalid duration \"abc\""), with the form it accepts:
// each flag argument is parsed alone until the one that fails is found.
func nameBadFlag(app *kingpin.Application, args []string, err error) error {
	if strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "--") {
		return err // kingpin named it already
	}
	var cmd []string
	if isCheck(args) {
		cmd = []string{"check", "all"}
	}
	for i, a := range args {
		if !strings.HasPrefix(a, "--") || a == "--" {
			continue
		}
		one := append(append([]string{}, cmd...), a)
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !hasValue && i+1 < len(args) {
			one = append(one, args[i+1])
		}
		probe, _ := newApp(io.Discard, io.Discard)
		probe.Terminate(func(int) {})
		if _, perr := probe.Parse(one); perr != nil {
			return fmt.Errorf("--%s: %w (want %s)", name, perr, acceptedForm(app, name))
		}
	}
	return err
}

// acceptedForm describes what a flag takes, from its default value's type.
func acceptedForm(app *kingpin.Application, name string) string {
	for _, f := range app.Model().FlagGroupModel.Flags {
		if f.Name != name {
			continue
		}
		switch fmt.Sprintf("%T", f.Value) {
		case "*kingpin.durationValue":
			return "a duration such as 10s, 500ms or 1m30s"
		case "*kingpin.intValue", "*kingpin.int64Value", "*kingpin.uintValue", "*kingpin.uint64Value":
			return "a whole number"
		case "*kingpin.float64Value":
			return "a number"
		case "*kingpin.boolValue":
			return "true or false"
		}
	}
	return "see --help"
}
