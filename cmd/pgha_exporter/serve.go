package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/pgha/pgha_exporter/collector"
	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/runner"
	"github.com/pgha/pgha_exporter/pg"
)

func serve(c *config, stderr io.Writer) int {
	logger, slogger, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "pgha_exporter: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	level.Info(logger).Log("msg", "starting pgha_exporter", "version", version.Info(), "build_context", version.BuildContext())

	enabled := map[string]collector.Collector{}
	var waits []func()
	api := &snapshotAPI{}
	if *c.collectors["pacemaker"] {
		ref := startPacemaker(ctx, c, logger)
		enabled["pacemaker"] = collector.NewPacemakerCollector(ref, c.crmMaxAge)
		waits, api.pacemaker = append(waits, ref.Wait), ref
	}
	if *c.collectors["corosync"] {
		ref := startCorosync(ctx, c, logger)
		enabled["corosync"] = collector.NewCorosyncCollector(ref, c.corosyncMaxAge, logger)
		waits, api.corosync = append(waits, ref.Wait), ref
	}
	if *c.collectors["postgres"] {
		dsn, err := pg.LoadDSN(c.pgDSNFile, os.Getenv)
		if err != nil {
			level.Error(logger).Log("msg", "cannot read the PostgreSQL connection string", "err", err)
			return 1
		}
		client := pg.NewClient(dsn, pg.ClientOptions{ConnectTimeout: c.pgConnectTimeout, QueryTimeout: c.pgQueryTimeout})
		defer client.Close(context.Background())
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
		enabled["postgres"] = collector.NewPostgresCollector(client, collector.PostgresOptions{PacemakerRole: role}, logger)
		api.postgres = client
		level.Info(logger).Log("msg", "postgres collector", "dsn", dsn.Redacted(), "dsn_source", dsn.Source())
	}
	for name, on := range c.collectors {
		if _, ok := enabled[name]; *on && !ok {
			level.Warn(logger).Log("msg", "collector not available in this build yet; ignored", "collector", name)
		}
	}

	reg := prometheus.NewRegistry()
	exp := collector.NewExporter(enabled, 0, logger)
	reg.MustRegister(exp, versioncollector.NewCollector("pgha_exporter"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	level.Info(logger).Log("msg", "enabled collectors", "collectors", fmt.Sprint(exp.Names()))

	mux := http.NewServeMux()
	mux.Handle(snapshotPath, api)
	mux.Handle(c.telemetryPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            promLogger{logger},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: c.maxRequests,
	}))
	if c.telemetryPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "pgha_exporter",
			Description: "Prometheus exporter for PostgreSQL HA clusters on Pacemaker/Corosync",
			Version:     version.Info(),
			Links: []web.LandingLinks{{Address: c.telemetryPath, Text: "Metrics"},
				{Address: snapshotPath, Text: "Snapshot (JSON)", Description: "the parsed cluster state that 'pgha_exporter check --from' reads"}},
		})
		if err != nil {
			level.Error(logger).Log("msg", "landing page", "err", err)
			return 1
		}
		mux.Handle("/", landing)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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
	for _, w := range waits {
		w() // refreshers kill any command still running before returning
	}
	return code
}

func startPacemaker(ctx context.Context, c *config, logger log.Logger) *collector.Refresher[*crm.Snapshot] {
	r := runner.Exec{}
	node := c.nodeName
	if node == "" && c.crmMonFile == "" {
		var err error
		if node, err = crm.LocalNodeName(ctx, r, c.crmNodePath, c.crmTimeout); err != nil {
			level.Warn(logger).Log("msg", "cannot tell the local node name", "err", err)
		}
	}
	src := crmSource(c, node, c.crmTimeout)
	ref := collector.NewRefresher("crm_mon", c.crmRefresh, c.crmTimeout+time.Second, src.Fetch, logger)
	ref.Start(ctx)
	level.Info(logger).Log("msg", "pacemaker collector", "local_node", node, "refresh_interval", c.crmRefresh, "timeout", c.crmTimeout, "max_age", c.crmMaxAge)
	return ref
}

func startCorosync(ctx context.Context, c *config, logger log.Logger) *collector.Refresher[*corosync.Status] {
	src := corosyncSource(c, c.corosyncTimeout)
	// One refresh may run up to four commands (detection, fallback, -p retry).
	ref := collector.NewRefresher("corosync", c.corosyncRefresh, 4*c.corosyncTimeout+time.Second, src.Fetch, logger)
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
	return ref
}

// snapshotPath serves the parsed snapshots as JSON for 'check --from'.
const snapshotPath = "/api/v1/snapshot"

// snapshotAPI renders the refreshers' last good snapshots.
type snapshotAPI struct {
	pacemaker *collector.Refresher[*crm.Snapshot]
	corosync  *collector.Refresher[*corosync.Status]
	postgres  *pg.Client // queried on request: its view is never cached
}

func (a *snapshotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(doc); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
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

// promLogger adapts go-kit to promhttp's error logger.
type promLogger struct{ l log.Logger }

func (p promLogger) Println(v ...any) { level.Error(p.l).Log("msg", fmt.Sprint(v...)) }
