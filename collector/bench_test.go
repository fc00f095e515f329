package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/crmtest"
)

func largeSource(b testing.TB) *crm.Source {
	dir := filepath.Join(crmtest.Generated(b), "large-32n-500r")
	return &crm.Source{MonFile: filepath.Join(dir, "crm_mon.xml"), CIBFile: filepath.Join(dir, "constraints.xml")}
}

// BenchmarkBuildMetricsLarge: the once-per-snapshot cost of turning a
// 32-node / 500-resource snapshot into metrics.
func BenchmarkBuildMetricsLarge(b *testing.B) {
	snap, err := largeSource(b).Fetch(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	d := newPacemakerDescs()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(pacemakerMetrics(d, snap))
	}
	b.ReportMetric(float64(n), "series")
}

// BenchmarkRuntimeMetrics: gathering the process and Go metrics, which
// every scrape does; client_golang's process collector for comparison.
func BenchmarkRuntimeMetrics(b *testing.B) {
	for _, c := range []struct {
		name string
		c    prometheus.Collector
	}{
		{"process", NewProcessCollector()},
		{"process-client_golang", collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})},
		{"go", collectors.NewGoCollector()},
	} {
		b.Run(c.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(c.c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScrape: one full HTTP scrape of /metrics served from a snapshot
// (what Prometheus waits for), plain and gzip, for 3 nodes and for 32 nodes /
// 500 resources, with the server's build, Go and process metrics. The
// snapshot's block is encoded before the timer starts, as it is after the
// first scrape of a snapshot: allocations per scrape are those of the live
// families, the same for both cluster sizes.
func BenchmarkScrape(b *testing.B) {
	for _, name := range []string{"healthy", "large-32n-500r"} {
		dir := filepath.Join(crmtest.Generated(b), name)
		src := &crm.Source{MonFile: filepath.Join(dir, "crm_mon.xml"), CIBFile: filepath.Join(dir, "cib.xml")}
		r := NewRefresher("crm_mon", time.Hour, time.Minute, src.Fetch, log.NewNopLogger())
		r.RefreshOnce(context.Background())
		exp := NewExporter(map[string]Collector{"pacemaker": NewPacemakerCollector(r, time.Hour)}, log.NewNopLogger())
		h := NewHandler(exp, NewRuntimeRegistry(), HandlerOpts{})
		for _, enc := range []string{"identity", "gzip"} {
			b.Run(name+"/"+enc, func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept-Encoding", enc)
				h.ServeHTTP(httptest.NewRecorder(), req)
				rec := httptest.NewRecorder()
				rec.Body.Grow(1 << 20)
				b.ReportAllocs()
				var size int
				for b.Loop() {
					rec.Body.Reset()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatal(rec.Code)
					}
					size = rec.Body.Len()
				}
				b.ReportMetric(float64(size), "bytes/scrape")
			})
		}
	}
}
