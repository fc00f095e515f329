package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgha/pgha_exporter/pg"
)

// largeHandler serves the 32-node / 500-resource snapshot, a fake
// PostgreSQL and the Go and process metrics.
func largeHandler(t testing.TB, src PGSource) (http.Handler, prometheus.Gatherer) {
	r := NewRefresher("crm_mon", time.Hour, time.Minute, largeSource(t).Fetch, log.NewNopLogger())
	r.RefreshOnce(context.Background())
	cs := map[string]Collector{"pacemaker": NewPacemakerCollector(r, time.Hour)}
	if src != nil {
		cs["postgres"] = NewPostgresCollector(src, PostgresOptions{}, log.NewNopLogger())
	}
	exp := NewExporter(cs, log.NewNopLogger())
	extra := NewRuntimeRegistry()
	all := prometheus.NewRegistry()
	all.MustRegister(exp)
	return NewHandler(exp, extra, HandlerOpts{}), prometheus.Gatherers{extra, all}
}

var negotiationCases = []struct{ accept, encoding string }{
	{"", ""},
	{"", "gzip"},
	{"", "gzip;q=0.5, identity"},
	{"", "identity;q=0, *"},
	{"", "br, deflate"},
	{"", "*;q=0"},
	{"text/plain;version=0.0.4;q=0.3,*/*;q=0.2", "gzip"},
	{"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", "gzip"},
	{"application/openmetrics-text;version=1.0.0", ""},
	{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "gzip"},
	{"text/plain;version=1.0.0;escaping=underscores", ""},
	{"application/json", ""},
}

// TestNegotiationLikePromhttp: Content-Type, Content-Encoding and Vary are
// those promhttp (OpenMetrics enabled) answers for the same request.
func TestNegotiationLikePromhttp(t *testing.T) {
	h, all := largeHandler(t, nil)
	ref := promhttp.HandlerFor(all, promhttp.HandlerOpts{EnableOpenMetrics: true})
	for _, c := range negotiationCases {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		if c.encoding != "" {
			req.Header.Set("Accept-Encoding", c.encoding)
		}
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		h.ServeHTTP(got, req)
		ref.ServeHTTP(want, req)
		for _, k := range []string{"Content-Type", "Content-Encoding", "Vary"} {
			if g, w := strings.Join(got.Header().Values(k), ","), strings.Join(want.Header().Values(k), ","); g != w {
				t.Errorf("Accept %q, Accept-Encoding %q: %s %q, promhttp %q", c.accept, c.encoding, k, g, w)
			}
		}
	}
}

// TestEveryVariantIsValid: text and OpenMetrics, plain and gzip, decode to
// the same families as promhttp serves, and promtool finds no problem.
func TestEveryVariantIsValid(t *testing.T) {
	h, all := largeHandler(t, postgresFake{snap: &pg.Snapshot{Version: "15.4", VersionNum: 150004}})
	ref := promhttp.HandlerFor(all, promhttp.HandlerOpts{EnableOpenMetrics: true})
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	for _, accept := range []string{"text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0"} {
		var plain []byte
		for _, enc := range []string{"identity", "gzip"} {
			body := get(t, h, accept, enc)
			if enc == "identity" {
				plain = body
			} else if familyNames(body) != familyNames(plain) {
				t.Errorf("%s: gzip body has other families than the plain one", accept)
			}
			if strings.HasPrefix(accept, "application/openmetrics-text") {
				// promtool check metrics reads the text format only; the
				// OpenMetrics variants are checked against promhttp's bytes.
				continue
			}
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(body)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s: promtool check metrics: %v\n%s", accept, enc, err, out)
			}
		}
		if got, want := stable(plain), stable(get(t, ref, accept, "identity")); got != want {
			t.Errorf("%s: body differs from promhttp's (volatile series aside):\n%s", accept, firstDiff(got, want))
		}
		if strings.Count(string(plain), "# TYPE pgha_pacemaker_resource_role ") != 1 {
			t.Errorf("%s: resource_role not served once", accept)
		}
	}
}

// countingWriter counts the writes a handler makes to the connection.
type countingWriter struct {
	*httptest.ResponseRecorder
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.ResponseRecorder.Write(p)
}

// TestResponseWrites: a response goes to the connection in pieces of 64 KB,
// not one write per run of families (30 at 32 nodes / 500 resources); one
// that fits in a piece is one write with its Content-Length. A gzip body
// decodes to the plain one, and its short runs of live families are stored
// blocks (their text is in the compressed bytes as is).
func TestResponseWrites(t *testing.T) {
	h, _ := largeHandler(t, nil)
	bodies := map[string][]byte{}
	for _, enc := range []string{"identity", "gzip"} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept-Encoding", enc)
		w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
		h.ServeHTTP(w, req)
		body := w.Body.Bytes()
		pieces := (len(body) + responseBufferSize - 1) / responseBufferSize
		if w.writes != pieces {
			t.Errorf("%s: %d writes for %d bytes, want %d", enc, w.writes, len(body), pieces)
		}
		cl := w.Header().Get("Content-Length")
		if pieces == 1 && cl != strconv.Itoa(len(body)) || pieces > 1 && cl != "" {
			t.Errorf("%s: Content-Length %q for %d bytes in %d writes", enc, cl, len(body), pieces)
		}
		bodies[enc] = body
	}
	if len(bodies["identity"]) < 2*responseBufferSize || len(bodies["gzip"]) > responseBufferSize {
		t.Fatalf("sizes %d/%d do not test both cases", len(bodies["identity"]), len(bodies["gzip"]))
	}
	zr, err := gzip.NewReader(bytes.NewReader(bodies["gzip"]))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stable(plain), stable(bodies["identity"]); got != want {
		t.Errorf("gzip body differs from the plain one:\n%s", firstDiff(got, want))
	}
	if !bytes.Contains(bodies["gzip"], []byte("# TYPE pgha_pacemaker_snapshot_age_seconds gauge\n")) {
		t.Error("the live run of pgha_pacemaker_snapshot_age_seconds is not a stored block")
	}
}

func get(t *testing.T, h http.Handler, accept, encoding string) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	req.Header.Set("Accept-Encoding", encoding)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gzip body: %v", err)
		}
	}
	return body
}

// stable drops the series whose values move from scrape to scrape.
func stable(body []byte) string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "go_") || strings.HasPrefix(l, "process_") || strings.HasPrefix(l, "pgha_scrape_collector_duration_seconds{") ||
			strings.HasPrefix(l, "pgha_pacemaker_snapshot_age_seconds ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "line " + al[i] + "\nwant " + bl[i]
		}
	}
	return "lengths differ"
}

// familyNames lists the TYPE lines, in order.
func familyNames(body []byte) string {
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "# TYPE ") && !strings.HasPrefix(l, "# TYPE go_") && !strings.HasPrefix(l, "# TYPE process_") {
			out = append(out, strings.Fields(l)[2])
		}
	}
	return strings.Join(out, "\n")
}

// hungPG never answers: like a PostgreSQL that accepts TCP and never
// replies. It counts the snapshots asked for and the ones given up.
type hungPG struct{ calls, cancelled atomic.Int32 }

func (h *hungPG) Snapshot(ctx context.Context) (*pg.Snapshot, error) {
	h.calls.Add(1)
	<-ctx.Done()
	h.cancelled.Add(1)
	return nil, ctx.Err()
}

// TestHungPostgresScrapes: with a PostgreSQL that never answers, 10
// concurrent scrapes with a 2 s scrape timeout all answer within it, with
// the Pacemaker families; they share one PostgreSQL call, which is
// cancelled once they all gave up; a later scrape starts afresh.
func TestHungPostgresScrapes(t *testing.T) {
	pgs := &hungPG{}
	h, _ := largeHandler(t, NewSharedPGSource(context.Background(), pgs, time.Minute, 0))
	warm := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	warm.Header.Set(ScrapeTimeoutHeader, "1")
	h.ServeHTTP(httptest.NewRecorder(), warm) // the snapshot's block is encoded once, on the first scrape
	for pgs.cancelled.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	pgs.calls.Store(0)
	pgs.cancelled.Store(0)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set(ScrapeTimeoutHeader, "2")
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			// Bounded by the scrape timeout, not by PostgreSQL (a minute
			// here); the slack covers a starved CPU writing ten 400 KB
			// bodies. The time itself is measured, not asserted (see the
			// note).
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("scrape took %s with a 2 s scrape timeout", d)
			}
			body := rec.Body.String()
			if !strings.Contains(body, `pgha_scrape_collector_success{collector="pacemaker"} 1`) || !strings.Contains(body, "pgha_pacemaker_resource_role{") ||
				!strings.Contains(body, `pgha_scrape_collector_success{collector="postgres"} 0`) {
				t.Errorf("scrape without the Pacemaker families or with postgres succeeding (%d bytes)", len(body))
			}
		}()
	}
	wg.Wait()
	if n := pgs.calls.Load(); n != 1 {
		t.Errorf("%d PostgreSQL calls for 10 concurrent scrapes, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pgs.cancelled.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned PostgreSQL call was not cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countingPG answers at once and counts.
type countingPG struct{ calls atomic.Int32 }

func (c *countingPG) Snapshot(context.Context) (*pg.Snapshot, error) {
	c.calls.Add(1)
	return &pg.Snapshot{}, nil
}

// TestSharedPGReuse: a flood of callers within the reuse window costs one
// query.
func TestSharedPGReuse(t *testing.T) {
	src := &countingPG{}
	s := NewSharedPGSource(context.Background(), src, time.Second, time.Hour)
	for range 1000 {
		if _, err := s.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d queries for 1000 calls within the reuse window", n)
	}
}
