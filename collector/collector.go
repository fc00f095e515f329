// Package collector turns the parsed cluster and database state into
// Prometheus metrics. Each sub-collector has a name, can be switched on and off
// with --collector.<name>, and is wrapped so that every scrape reports
// pgha_scrape_collector_success and pgha_scrape_collector_duration_seconds.
package collector

import (
	"context"
	"errors"
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

// BlockCollector is a Collector whose bulk is fixed for one snapshot:
// UpdateLive sends only what changes from scrape to scrape and returns the
// snapshot's Block (nil when it serves none), which the metrics handler
// serves from bytes encoded once.
type BlockCollector interface {
	Collector
	UpdateLive(ctx context.Context, ch chan<- prometheus.Metric) (*Block, error)
}

// updateBlock implements Update for a BlockCollector.
func updateBlock(ctx context.Context, c BlockCollector, ch chan<- prometheus.Metric) error {
	b, err := c.UpdateLive(ctx, ch)
	if b != nil {
		for _, m := range b.Metrics() {
			ch <- m
		}
	}
	return err
}

// ErrNotReady is returned by a collector whose source has not finished its
// first refresh within the scrape: not a failure worth an error line.
var ErrNotReady = errors.New("not ready: the first refresh is still running")

// Exporter runs the enabled sub-collectors concurrently on every scrape.
type Exporter struct {
	collectors map[string]Collector
	logger     log.Logger
}

// NewExporter wraps the named collectors. A scrape is bounded by its
// context (the request's, see NewHandler).
func NewExporter(collectors map[string]Collector, logger log.Logger) *Exporter {
	return &Exporter{collectors: collectors, logger: logger}
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

// Collect implements prometheus.Collector: every metric, blocks included.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.collect(context.Background(), ch, func(b *Block) {
		for _, m := range b.Metrics() {
			ch <- m
		}
	})
}

// collect runs every collector under ctx. Live metrics go to ch; the
// blocks of BlockCollectors go to block.
func (e *Exporter) collect(ctx context.Context, ch chan<- prometheus.Metric, block func(*Block)) {
	var wg sync.WaitGroup
	for name, c := range e.collectors {
		wg.Add(1)
		go func(name string, c Collector) {
			defer wg.Done()
			if b := e.run(ctx, name, c, ch); b != nil {
				block(b)
			}
		}(name, c)
	}
	wg.Wait()
}

func (e *Exporter) run(ctx context.Context, name string, c Collector, ch chan<- prometheus.Metric) *Block {
	start := time.Now()
	b, err := safeUpdate(ctx, c, ch)
	dur := time.Since(start).Seconds()
	success := 1.0
	switch {
	case errors.Is(err, ErrNotReady):
		success = 0
		level.Info(e.logger).Log("msg", "collector not ready", "collector", name, "duration_seconds", dur, "err", err)
	case err != nil:
		success = 0
		level.Error(e.logger).Log("msg", "collector failed", "collector", name, "duration_seconds", dur, "err", err)
	default:
		level.Debug(e.logger).Log("msg", "collector succeeded", "collector", name, "duration_seconds", dur)
	}
	ch <- prometheus.MustNewConstMetric(scrapeDurationDesc, prometheus.GaugeValue, dur, name)
	ch <- prometheus.MustNewConstMetric(scrapeSuccessDesc, prometheus.GaugeValue, success, name)
	return b
}

// panicError reports a recovered panic from a collector.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("panic in collector: ", p.v) }

func safeUpdate(ctx context.Context, c Collector, ch chan<- prometheus.Metric) (b *Block, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, panicError{r}
		}
	}()
	if bc, ok := c.(BlockCollector); ok {
		return bc.UpdateLive(ctx, ch)
	}
	return nil, c.Update(ctx, ch)
}
