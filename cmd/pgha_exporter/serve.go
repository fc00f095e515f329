package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/pgha/pgha_exporter/collector"
	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/runner"
	"github.com/pgha/pgha_exporter/pg"
)

// Server timeouts. A scrape's collection is bounded by its own context (the
// client, Prometheus's scrape timeout, the PostgreSQL deadlines); writing a
// response by bodyWriteTimeout; keep-alive connections close after
// idleTimeout, so that idle or stalled clients cannot hold connections,
// slots or memory.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	bodyWriteTimeout  = 30 * time.Second
	idleTimeout       = time.Minute
	// pgReuse: a PostgreSQL snapshot this young is served again (to the
	// snapshot API and to scrapes that come together) without a query.
	pgReuse = time.Second
)

func serve(c *config, stderr io.Writer) int {
	slackErr := applyTimerSlack(c.timerSlack) // before anything starts: it may re-exec
	runtime.GOMAXPROCS(c.gomaxprocs)
	logger, slogger, closeLog, err := newAsyncLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "pgha_exporter: %v\n", err)
		return 1
	}
	defer closeLog()
	if slackErr != nil {
		level.Warn(logger).Log("msg", "timer slack left as it was", "err", slackErr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// SIGHUP does not reload (flags come from the command line and the
	// config file, read once): it is logged and ignored, rather than killing
	// the exporter and orphaning a crm_mon run.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				level.Info(logger).Log("msg", "SIGHUP ignored: the exporter does not reload; restart it to apply new flags or config")
			case <-ctx.Done():
				return
			}
		}
	}()
	level.Info(logger).Log("msg", "starting pgha_exporter", "version", version.Info(), "build_context", version.BuildContext())

	enabled := map[string]collector.Collector{}
	var waits []func()
	// Refreshers stop (killing any command still running) on every return.
	defer func() {
		stop()
		for _, w := range waits {
			w()
		}
	}()
	slots := collector.NewSlots(c.maxRequests)
	api := &snapshotAPI{slots: slots}
	writeTimeout := bodyWriteTimeout
	if *c.collectors["pacemaker"] {
		ref, refreshTimeout := startPacemaker(ctx, c, logger)
		enabled["pacemaker"] = collector.NewPacemakerCollector(ref, c.crmMaxAge)
		waits, api.pacemaker = append(waits, ref.Wait), ref
		writeTimeout = max(writeTimeout, refreshTimeout+bodyWriteTimeout)
	}
	if *c.collectors["corosync"] {
		ref, refreshTimeout := startCorosync(ctx, c, logger)
		enabled["corosync"] = collector.NewCorosyncCollector(ref, c.corosyncMaxAge, logger)
		waits, api.corosync = append(waits, ref.Wait), ref
		writeTimeout = max(writeTimeout, refreshTimeout+bodyWriteTimeout)
	}
	if *c.collectors["postgres"] {
		dsn, err := pg.LoadDSN(c.pgDSNFile, os.Getenv)
		if err != nil {
			level.Error(logger).Log("msg", "cannot read the PostgreSQL connection string", "err", err)
			return 1
		}
		client := pg.NewClient(dsn, pg.ClientOptions{ConnectTimeout: c.pgConnectTimeout, QueryTimeout: c.pgQueryTimeout})
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = client.Close(closeCtx)
		}()
		// One snapshot may connect (version and privileges queries
		// included) and then query.
		pgTimeout := c.pgConnectTimeout + 2*c.pgQueryTimeout
		shared := collector.NewSharedPGSource(ctx, client, pgTimeout, pgReuse)
		var role func() (bool, bool)
		if api.pacemaker != nil {
			ref := api.pacemaker
			role = func() (bool, bool) {
				st := ref.State()
				if collector.Usable(st, time.Now(), c.crmMaxAge, "pacemaker") != nil {
					return false, false
				}
				return st.Value.LocalPgsqlRole()
			}
		}
		enabled["postgres"] = collector.NewPostgresCollector(shared, collector.PostgresOptions{PacemakerRole: role}, logger)
		api.postgres = shared
		writeTimeout = max(writeTimeout, pgTimeout+bodyWriteTimeout)
		level.Info(logger).Log("msg", "postgres collector", "dsn", dsn.Redacted(), "dsn_source", dsn.Source())
	}

	exp := collector.NewExporter(enabled, logger)
	extra := collector.NewRuntimeRegistry()
	level.Info(logger).Log("msg", "enabled collectors", "collectors", fmt.Sprint(exp.Names()))

	mux := http.NewServeMux()
	mux.Handle(snapshotPath, api)
	mux.Handle(c.telemetryPath, collector.NewHandler(exp, extra, collector.HandlerOpts{
		Slots: slots, WriteTimeout: bodyWriteTimeout, Logger: logger}))
	if c.telemetryPath != "/" {
		mux.Handle("/", &landingPage{metricsPath: c.telemetryPath, pacemaker: api.pacemaker, corosync: api.corosync,
			postgres: api.postgres != nil, crmMaxAge: c.crmMaxAge})
	}
	srv := newServer(mux, logger, writeTimeout)
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, c.web, slogger) }()

	code := 0
	select {
	case <-ctx.Done():
		level.Info(logger).Log("msg", "shutting down")
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			level.Error(logger).Log("msg", "http server failed", "err", err)
			code = 1
		}
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return code
}

// newServer returns the HTTP server with its timeouts, and net/http's own
// messages (TLS handshake errors, accept errors) in the exporter's log.
func newServer(h http.Handler, logger log.Logger, writeTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          stdlog.New(log.NewStdlibAdapter(level.Warn(log.With(logger, "component", "net/http"))), "", 0),
	}
}

func startPacemaker(ctx context.Context, c *config, logger log.Logger) (*collector.Refresher[*crm.Snapshot], time.Duration) {
	r := runner.Exec{}
	node := c.nodeName
	if node == "" && c.crmMonFile == "" {
		var err error
		if node, err = crm.LocalNodeName(ctx, r, c.crmNodePath, c.crmTimeout); err != nil {
			level.Warn(logger).Log("msg", "cannot tell the local node name", "err", err)
		}
	}
	src := crmSource(c, node, c.crmTimeout)
	ref := collector.NewRefresher("crm_mon", c.crmRefresh, src.RefreshTimeout(), src.Fetch, logger, crm.FailureReasons...)
	ref.Start(ctx)
	level.Info(logger).Log("msg", "pacemaker collector", "local_node", node, "refresh_interval", c.crmRefresh, "timeout", c.crmTimeout, "max_age", c.crmMaxAge)
	return ref, src.RefreshTimeout()
}

func startCorosync(ctx context.Context, c *config, logger log.Logger) (*collector.Refresher[*corosync.Status], time.Duration) {
	src := corosyncSource(c, c.corosyncTimeout)
	// One refresh may run up to four commands (detection, fallback, -p retry).
	refreshTimeout := 4*c.corosyncTimeout + time.Second
	ref := collector.NewRefresher("corosync", c.corosyncRefresh, refreshTimeout, src.Fetch, logger, corosync.FailureReasons...)
	ref.Start(ctx)
	go func() {
		// Say once, clearly, when a tool is missing; the collector keeps
		// failing (pgha_scrape_collector_success 0) until it is installed.
		ref.WaitFirst(ctx)
		if err := ref.State().LastErr; errors.Is(err, corosync.ErrMissingBinary) {
			level.Error(logger).Log("msg", "corosync collector cannot work: a tool is missing; install corosync (or cman) or pass --no-collector.corosync", "err", err)
		}
	}()
	level.Info(logger).Log("msg", "corosync collector", "stack", c.corosyncStack, "refresh_interval", c.corosyncRefresh, "timeout", c.corosyncTimeout, "max_age", c.corosyncMaxAge)
	return ref, refreshTimeout
}

// snapshotPath serves the parsed snapshots as JSON for 'check --from'.
const snapshotPath = "/api/v1/snapshot"

// snapshotAPI renders the refreshers' last good snapshots, within the
// same request slots as the scrapes.
type snapshotAPI struct {
	slots     *collector.Slots
	pacemaker *collector.Refresher[*crm.Snapshot]
	corosync  *collector.Refresher[*corosync.Status]
	postgres  collector.PGSource // shared with the scrapes: one query at a time, reused for a second
}

func (a *snapshotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.slots.TryAcquire() {
		a.slots.Refuse(w)
		return
	}
	held := true
	defer func() {
		if held {
			a.slots.Release()
		}
	}()
	var doc remoteState
	if a.pacemaker != nil {
		doc.Pacemaker = remoteOf(a.pacemaker.State())
	}
	if a.corosync != nil {
		doc.Corosync = remoteOf(a.corosync.State())
	}
	if a.postgres != nil {
		doc.Postgres = &remoteSource[pg.Snapshot]{}
		if snap, err := a.postgres.Snapshot(r.Context()); err != nil {
			doc.Postgres.LastError = err.Error()
		} else {
			doc.Postgres.Snapshot = snap
		}
	}
	body, err := json.Marshal(doc)
	a.slots.Release()
	held = false
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(bodyWriteTimeout))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}

func remoteOf[T any](st collector.RefreshState[*T]) *remoteSource[T] {
	out := &remoteSource[T]{}
	if st.Have {
		out.Snapshot = st.Value
		out.AgeSeconds = time.Since(st.LastSuccess).Seconds()
	}
	if st.LastErr != nil {
		out.LastError = st.LastErr.Error()
	}
	return out
}
