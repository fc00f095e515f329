package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/runner"
)

// Fetcher produces one snapshot of an expensive source (crm_mon, corosync
// tools). It must honour ctx.
type Fetcher[T any] func(ctx context.Context) (T, error)

// Reasoner is implemented by errors that classify themselves for the
// pgha_<subsystem>_refresh_failures_total{reason} counter.
type Reasoner interface{ Reason() string }

// Refresher calls a Fetcher in one background goroutine at a fixed interval
// and keeps the last good result. Scrapes read the snapshot and never call the
// source, so any number of concurrent scrapes cost no extra command runs.
type Refresher[T any] struct {
	name     string
	interval time.Duration
	timeout  time.Duration
	fetch    Fetcher[T]
	logger   log.Logger
	now      func() time.Time

	mu          sync.Mutex
	value       T
	have        bool
	lastSuccess time.Time
	lastAttempt time.Time
	lastErr     error
	lastDur     time.Duration
	failures    map[string]uint64
	firstDone   chan struct{}
	closeFirst  sync.Once
	stopped     chan struct{}
}

// NewRefresher builds a refresher; call Start to begin. The failure counter
// of each of reasons (the source's known ones) starts at 0, so that rate()
// and increase() see the first failure of each.
func NewRefresher[T any](name string, interval, timeout time.Duration, fetch Fetcher[T], logger log.Logger, reasons ...string) *Refresher[T] {
	failures := map[string]uint64{}
	for _, r := range reasons {
		failures[r] = 0
	}
	return &Refresher[T]{
		name: name, interval: interval, timeout: timeout, fetch: fetch, logger: logger,
		now: time.Now, failures: failures, firstDone: make(chan struct{}), stopped: make(chan struct{}),
	}
}

// Start runs the first refresh at once and then one every interval until ctx
// ends. Refreshes never overlap: a slow source delays the next one. Cancelling
// ctx also cancels a refresh in flight (which kills its command).
func (r *Refresher[T]) Start(ctx context.Context) {
	go func() {
		defer close(r.stopped)
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r.RefreshOnce(ctx)
			t.Reset(r.interval)
		}
	}()
}

// RefreshOnce runs the fetcher once under the refresher's timeout.
func (r *Refresher[T]) RefreshOnce(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	start := r.now()
	v, err := r.fetch(cctx)
	cancel()
	dur := r.now().Sub(start)

	r.mu.Lock()
	r.lastAttempt, r.lastDur, r.lastErr = start, dur, err
	if err == nil {
		r.value, r.have, r.lastSuccess = v, true, r.now()
	} else {
		r.failures[reasonOf(err)]++
	}
	r.mu.Unlock()
	r.closeFirst.Do(func() { close(r.firstDone) })

	if err != nil {
		level.Warn(r.logger).Log("msg", "refresh failed", "source", r.name, "duration_seconds", dur.Seconds(), "err", err)
	} else {
		level.Debug(r.logger).Log("msg", "refreshed", "source", r.name, "duration_seconds", dur.Seconds())
	}
}

// Wait blocks until the goroutine started by Start has returned.
func (r *Refresher[T]) Wait() { <-r.stopped }

// WaitFirst blocks until the first refresh finished or ctx ends.
func (r *Refresher[T]) WaitFirst(ctx context.Context) {
	select {
	case <-r.firstDone:
	case <-ctx.Done():
	}
}

// StateWhenReady is State, after waiting for the first refresh to finish
// (at most the refresher's timeout, and no longer than ctx allows): a scrape
// that comes during start-up gets the first snapshot rather than an error.
func (r *Refresher[T]) StateWhenReady(ctx context.Context) RefreshState[T] {
	select {
	case <-r.firstDone:
	default:
		t := time.NewTimer(r.timeout)
		select {
		case <-r.firstDone:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return r.State()
}

// notReady says that the first refresh has not finished yet.
func notReady[T any](st RefreshState[T], what string) error {
	if !st.Have && st.LastAttempt.IsZero() {
		return fmt.Errorf("%s: %w", what, ErrNotReady)
	}
	return nil
}

// RefreshState is a consistent copy of the refresher's bookkeeping.
type RefreshState[T any] struct {
	Value        T
	Have         bool
	LastSuccess  time.Time
	LastAttempt  time.Time
	LastErr      error
	LastDuration time.Duration
	Failures     map[string]uint64
}

// State returns the current snapshot and bookkeeping.
func (r *Refresher[T]) State() RefreshState[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := make(map[string]uint64, len(r.failures))
	for k, v := range r.failures {
		f[k] = v
	}
	return RefreshState[T]{Value: r.value, Have: r.have, LastSuccess: r.lastSuccess, LastAttempt: r.lastAttempt,
		LastErr: r.lastErr, LastDuration: r.lastDur, Failures: f}
}

func reasonOf(err error) string {
	var rs Reasoner
	switch {
	case errors.As(err, &rs):
		return rs.Reason()
	case errors.Is(err, runner.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, runner.ErrOutputTooLarge):
		return "output_too_large"
	default:
		return "error"
	}
}

// refreshDescs are the bookkeeping metrics every refreshed source exports.
type refreshDescs struct {
	age, lastSuccess, lastDuration, failures *prometheus.Desc
}

func newRefreshDescs(subsystem, what string) refreshDescs {
	return refreshDescs{
		age:          newDesc(subsystem, "snapshot_age_seconds", "Age of the last good "+what+" snapshot served by this exporter."),
		lastSuccess:  newDesc(subsystem, "refresh_success", "Whether the last background refresh of "+what+" succeeded (1) or not (0)."),
		lastDuration: newDesc(subsystem, "refresh_duration_seconds", "Wall time of the last background refresh of "+what+"."),
		failures:     newDesc(subsystem, "refresh_failures_total", "Background refreshes of "+what+" that failed, by reason.", "reason"),
	}
}

// ErrStale is returned by a collector whose last good snapshot is too old.
var ErrStale = errors.New("snapshot is stale")

// Usable says why a snapshot must not be served or trusted: none yet, or
// stale by crm.Stale (maxAge 0: no limit). what names the source. The
// collectors and the exporter's role agreement use it alike.
func Usable[T any](st RefreshState[T], now time.Time, maxAge time.Duration, what string) error {
	if !st.Have {
		if st.LastErr != nil {
			return fmt.Errorf("no %s snapshot yet: %w", what, st.LastErr)
		}
		return fmt.Errorf("no %s snapshot yet", what)
	}
	if age := now.Sub(st.LastSuccess); crm.Stale(age.Seconds(), maxAge) {
		return fmt.Errorf("%w: last good %s snapshot is %s old (max %s); last error: %v",
			ErrStale, what, age.Round(time.Second), maxAge, st.LastErr)
	}
	return nil
}

// collectRefresh exports a refresher's bookkeeping.
func collectRefresh[T any](d refreshDescs, ch chan<- prometheus.Metric, now time.Time, st RefreshState[T]) {
	if st.Have {
		gauge(ch, d.age, now.Sub(st.LastSuccess).Seconds())
	}
	if !st.LastAttempt.IsZero() {
		gauge(ch, d.lastSuccess, boolFloat(st.LastErr == nil))
		gauge(ch, d.lastDuration, st.LastDuration.Seconds())
	}
	for reason, n := range st.Failures {
		counter(ch, d.failures, float64(n), reason)
	}
}
