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
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/crmtest"
)

func largeSource(b *testing.B) *crm.Source {
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

// BenchmarkScrapeLarge: one full HTTP scrape of /metrics served from a
// 32-node / 500-resource snapshot (what Prometheus waits for).
func BenchmarkScrapeLarge(b *testing.B) {
	src := largeSource(b)
	r := NewRefresher("crm_mon", time.Hour, time.Minute, src.Fetch, log.NewNopLogger())
	r.RefreshOnce(context.Background())
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewExporter(map[string]Collector{"pacemaker": NewPacemakerCollector(r, time.Hour)}, log.NewNopLogger()))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		size = rec.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}
