// Package collector turns the parsed cluster and database state into
// Prometheus metrics. Each sub-collector has a name, can be switched on and off
// with --collector.<name>, and is wrapped so that every scrape reports
// pgha_scrape_collector_success and pgha_scrape_collector_duration_seconds.
package collector

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "pgha"

// Collector is one named source of metrics. Update must not block longer than
// the context allows and must never panic.
type Collector interface {
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Info describes a sub-collector for flag registration in cmd/.
type Info struct {
	Name           string
	Help           string
	DefaultEnabled bool
}

// Known lists every sub-collector, in a stable order.
var Known = []Info{
	{Name: "pacemaker", Help: "Pacemaker cluster state from crm_mon XML (and location constraints from cibadmin).", DefaultEnabled: true},
	{Name: "corosync", Help: "Corosync/CMAN rings, knet links, quorum and membership.", DefaultEnabled: true},
	{Name: "postgres", Help: "The local PostgreSQL's replication view (role, standbys, lag, receiver, archiver, slots).", DefaultEnabled: true},
}

var (
	scrapeSuccessDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "scrape", "collector_success"),
		"Whether the collector succeeded on this scrape (1) or failed (0).",
		[]string{"collector"}, nil)
	scrapeDurationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "scrape", "collector_duration_seconds"),
		"Time the collector took on this scrape.",
		[]string{"collector"}, nil)
)

// Exporter runs the enabled sub-collectors concurrently on every scrape.
type Exporter struct {
	collectors map[string]Collector
	timeout    time.Duration
	logger     log.Logger
}

// NewExporter wraps the named collectors. timeout bounds each scrape (0: none
// beyond the request's own).
func NewExporter(collectors map[string]Collector, timeout time.Duration, logger log.Logger) *Exporter {
	return &Exporter{collectors: collectors, timeout: timeout, logger: logger}
}

// Names returns the enabled collector names, sorted.
func (e *Exporter) Names() []string {
	names := make([]string, 0, len(e.collectors))
	for n := range e.collectors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Describe sends nothing: the exporter is an unchecked collector because the
// label sets depend on the cluster.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.CollectContext(context.Background(), ch)
}

// CollectContext runs every collector under ctx (and the exporter's timeout).
func (e *Exporter) CollectContext(ctx context.Context, ch chan<- prometheus.Metric) {
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	var wg sync.WaitGroup
	for name, c := range e.collectors {
		wg.Add(1)
		go func(name string, c Collector) {
			defer wg.Done()
			e.run(ctx, name, c, ch)
		}(name, c)
	}
	wg.Wait()
}

func (e *Exporter) run(ctx context.Context, name string, c Collector, ch chan<- prometheus.Metric) {
	start := time.Now()
	err := safeUpdate(ctx, c, ch)
	dur := time.Since(start).Seconds()
	success := 1.0
	if err != nil {
		success = 0
		level.Error(e.logger).Log("msg", "collector failed", "collector", name, "duration_seconds", dur, "err", err)
	} else {
		level.Debug(e.logger).Log("msg", "collector succeeded", "collector", name, "duration_seconds", dur)
	}
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, dur, name)
	ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, success, name)
}

// panicError reports a recovered panic from a collector.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("panic in collector: ", p.v) }

func safeUpdate(ctx context.Context, c Collector, ch chan<- prometheus.Metric) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r}
		}
	}()
	return c.Update(ctx, ch)
}
