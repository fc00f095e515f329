package collector

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Slots bounds the requests served at once; the metrics handler and the
// snapshot API share one set. A nil *Slots means no limit.
type Slots struct {
	c chan struct{}
}

// NewSlots returns n slots, or nil (no limit) for n <= 0.
func NewSlots(n int) *Slots {
	if n <= 0 {
		return nil
	}
	return &Slots{c: make(chan struct{}, n)}
}

// TryAcquire takes a slot if one is free.
func (s *Slots) TryAcquire() bool {
	if s == nil {
		return true
	}
	select {
	case s.c <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release frees a slot taken by TryAcquire.
func (s *Slots) Release() {
	if s != nil {
		<-s.c
	}
}

// Refuse answers 503 with promhttp's message.
func (s *Slots) Refuse(w http.ResponseWriter) {
	http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", cap(s.c)), http.StatusServiceUnavailable)
}

// HandlerOpts configure the metrics handler.
type HandlerOpts struct {
	// Slots limits concurrent requests (nil: no limit). A slot is held while
	// the scrape collects, not while the response is written: a client that
	// does not read cannot take a slot away from Prometheus.
	Slots *Slots
	// WriteTimeout bounds the writing of one response (0: none).
	WriteTimeout time.Duration
	// Logger receives at most one line per scrape.
	Logger log.Logger
}

// ScrapeTimeoutHeader is the header in which Prometheus sends its scrape
// timeout.
const ScrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// handler serves /metrics: the live metrics (per-scrape collector results,
// refresh bookkeeping, PostgreSQL, process and Go metrics) gathered and
// encoded on every scrape, joined with the snapshot blocks encoded once per
// snapshot.
type handler struct {
	exp   *Exporter
	extra prometheus.Gatherer
	opts  HandlerOpts
}

// NewHandler serves the exporter's collectors and extra (process, Go and
// build metrics) with the content negotiation of promhttp with OpenMetrics
// enabled: text, OpenMetrics or protobuf as the Accept header asks, gzip
// or identity as Accept-Encoding asks.
func NewHandler(exp *Exporter, extra prometheus.Gatherer, opts HandlerOpts) http.Handler {
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	return &handler{exp: exp, extra: extra, opts: opts}
}

// scrapeContext bounds a scrape by the client (it ends when the client goes
// away) and by the scrape timeout Prometheus announces, less a margin for
// the transfer.
func scrapeContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx := r.Context()
	if v := r.Header.Get(ScrapeTimeoutHeader); v != "" {
		if sec, err := strconv.ParseFloat(v, 64); err == nil && sec > 0 && sec < 1e6 {
			d := time.Duration(sec * float64(time.Second))
			return context.WithTimeout(ctx, d-min(d/10, 500*time.Millisecond))
		}
	}
	return context.WithCancel(ctx)
}

// scrapeCollector runs the exporter for one scrape: the live metrics go to
// the registry, the snapshot blocks are set aside.
type scrapeCollector struct {
	exp    *Exporter
	ctx    context.Context
	mu     *sync.Mutex
	blocks *[]*Block
}

func (scrapeCollector) Describe(chan<- *prometheus.Desc) {}

func (s scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	s.exp.collect(s.ctx, ch, func(b *Block) {
		s.mu.Lock()
		*s.blocks = append(*s.blocks, b)
		s.mu.Unlock()
	})
}

// item is one family of the response: live (mf) or from a block.
type item struct {
	mf    *dto.MetricFamily
	block blockFamily
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.opts.Slots.TryAcquire() {
		h.opts.Slots.Refuse(w)
		return
	}
	held := true
	release := func() {
		if held {
			h.opts.Slots.Release()
			held = false
		}
	}
	defer release()

	ctx, cancel := scrapeContext(r)
	defer cancel()
	var blocks []*Block
	reg := prometheus.NewRegistry()
	reg.MustRegister(scrapeCollector{exp: h.exp, ctx: ctx, mu: &sync.Mutex{}, blocks: &blocks})
	mfs, gatherErr := prometheus.Gatherers{h.extra, reg}.Gather()

	format := negotiateFormat(r.Header)
	items, err := merge(mfs, blocks, format, nameFilter(r))
	if err == nil && gatherErr != nil {
		err = gatherErr
	}
	if err != nil {
		level.Error(h.opts.Logger).Log("msg", "gathering metrics", "err", err)
		if len(items) == 0 {
			http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	gz := negotiateEncoding(r.Header) == "gzip"
	var deflated map[*encodedBlock][][]byte
	if gz {
		if deflated, err = deflateBlocks(r.Context(), items); err != nil {
			level.Debug(h.opts.Logger).Log("msg", "scrape aborted", "err", err)
			return
		}
	}
	release()

	if h.opts.WriteTimeout > 0 {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	}
	hdr := w.Header()
	hdr.Add("Vary", "Accept")
	hdr.Add("Vary", "Accept-Encoding")
	hdr.Set("Content-Type", string(format))
	out := newResponseBuffer(w)
	defer out.release()
	if gz {
		hdr.Set("Content-Encoding", "gzip")
		err = writeGzip(r.Context(), out, format, items, deflated)
	} else {
		err = writePlain(out, format, items)
	}
	if err == nil {
		err = out.Close()
	}
	if err != nil {
		// One line, whatever the number of families left unsent.
		level.Debug(h.opts.Logger).Log("msg", "scrape aborted while writing the response", "err", err)
	}
}

// responseBufferSize is the piece in which a response is written to the
// connection. Written as encoded, a response would go out in one write (and
// one HTTP chunk) per family run, 30 per plain scrape at 32 nodes / 500
// resources, each a system call and a wake-up of the client; in 64 KB
// pieces a gzip response (31 KB there) is one write, a plain one (412 KB)
// seven.
const responseBufferSize = 64 << 10

var responseBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, responseBufferSize)
	return &b
}}

// responseBuffer gathers a response and writes it in pieces of
// responseBufferSize; a response that fits in one piece is sent with its
// Content-Length.
type responseBuffer struct {
	w       http.ResponseWriter
	pooled  *[]byte // what release gives back to the pool
	buf     []byte  // capacity responseBufferSize
	flushed bool
}

func newResponseBuffer(w http.ResponseWriter) *responseBuffer {
	pooled := responseBuffers.Get().(*[]byte)
	return &responseBuffer{w: w, pooled: pooled, buf: (*pooled)[:0]}
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(b.buf) == cap(b.buf) {
			if err := b.flush(); err != nil {
				return n - len(p), err
			}
		}
		k := copy(b.buf[len(b.buf):cap(b.buf)], p)
		b.buf = b.buf[:len(b.buf)+k]
		p = p[k:]
	}
	return n, nil
}

func (b *responseBuffer) flush() error {
	b.flushed = true
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Close writes what is buffered; when that is the whole response, with its
// Content-Length.
func (b *responseBuffer) Close() error {
	if !b.flushed {
		b.w.Header().Set("Content-Length", strconv.Itoa(len(b.buf)))
	}
	return b.flush()
}

// release returns the buffer to the pool.
func (b *responseBuffer) release() {
	*b.pooled = b.buf[:0]
	responseBuffers.Put(b.pooled)
}

// nameFilter is promhttp's name[] query parameter: only these families.
func nameFilter(r *http.Request) map[string]bool {
	if r.URL == nil {
		return nil
	}
	names := r.URL.Query()["name[]"]
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// merge orders the live families and the blocks' families by name. A
// family name is served once: a live family that a block also holds would
// make the exposition invalid, so the block's wins and the error says so.
func merge(live []*dto.MetricFamily, blocks []*Block, f expfmt.Format, only map[string]bool) ([]item, error) {
	bf, err := blockFamilies(blocks, f)
	if err != nil {
		return nil, err
	}
	out := make([]item, 0, len(live)+len(bf))
	var dup []string
	i, j := 0, 0
	for i < len(live) || j < len(bf) {
		var it item
		switch {
		case j == len(bf) || (i < len(live) && live[i].GetName() < bf[j].name):
			it = item{mf: live[i]}
			i++
		case i < len(live) && live[i].GetName() == bf[j].name:
			dup = append(dup, bf[j].name)
			i++
			continue
		default:
			it = item{block: bf[j]}
			j++
		}
		name := it.block.name
		if it.mf != nil {
			name = it.mf.GetName()
		}
		if only == nil || only[name] {
			out = append(out, it)
		}
	}
	if dup != nil {
		return out, fmt.Errorf("families both live and in a snapshot block: %s", strings.Join(dup, ", "))
	}
	return out, nil
}

func deflateBlocks(ctx context.Context, items []item) (map[*encodedBlock][][]byte, error) {
	out := map[*encodedBlock][][]byte{}
	for _, it := range items {
		if it.mf != nil {
			continue
		}
		if _, ok := out[it.block.block]; ok {
			continue
		}
		d, err := it.block.block.deflate(ctx)
		if err != nil {
			return nil, err
		}
		out[it.block.block] = d
	}
	return out, nil
}

func writePlain(w io.Writer, f expfmt.Format, items []item) error {
	enc := expfmt.NewEncoder(w, f)
	for _, it := range items {
		if it.mf != nil {
			if err := enc.Encode(it.mf); err != nil {
				return err
			}
			continue
		}
		if _, err := w.Write(it.block.block.plain[it.block.index]); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close() // OpenMetrics' "# EOF"
	}
	return nil
}

// gzipHeader is a gzip member header (RFC 1952): deflate, no flags, no
// time, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalBlock is an empty, final, stored deflate block (RFC 1951 3.2.4),
// written byte-aligned after the last sync-flushed fragment.
var finalBlock = []byte{0x01, 0x00, 0x00, 0xff, 0xff}

// storeBelow: a run of live families shorter than this is written as a
// stored (uncompressed) deflate block. Compressing a run costs about 45 us
// whatever its size (building its Huffman tables), most of a gzip scrape's
// work for the few hundred bytes between two blocks' families; stored,
// they cost a copy and about 60% more bytes on the wire.
const storeBelow = 2048 // <= 65,535, a stored block's limit

// writeStored writes p (at most 65,535 bytes) as one stored deflate block
// (RFC 1951 3.2.4), not final, starting and ending byte-aligned as a
// sync-flushed fragment does.
func writeStored(w io.Writer, p []byte) error {
	n := len(p)
	hdr := [5]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// writeGzip writes one gzip member: the live families compressed now, the
// blocks' families as their precompressed fragments, and the trailer's
// CRC-32 and size computed over the plain bytes of both.
func writeGzip(ctx context.Context, w io.Writer, f expfmt.Format, items []item, deflated map[*encodedBlock][][]byte) error {
	if _, err := w.Write(gzipHeader); err != nil {
		return err
	}
	var crc, size uint32
	var pending bytes.Buffer
	enc := expfmt.NewEncoder(&pending, f)
	flush := func() error {
		if pending.Len() == 0 {
			return nil
		}
		p := pending.Bytes()
		crc = crc32.Update(crc, crc32.IEEETable, p)
		size += uint32(len(p))
		defer pending.Reset()
		if len(p) < storeBelow {
			return writeStored(w, p)
		}
		fw, err := compressors.get(ctx)
		if err != nil {
			return err
		}
		fw.Reset(w)
		_, err = fw.Write(p)
		if err == nil {
			err = fw.Flush()
		}
		fw.Reset(io.Discard)
		compressors.put(fw)
		return err
	}
	for _, it := range items {
		if it.mf != nil {
			if err := enc.Encode(it.mf); err != nil {
				return err
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if _, err := w.Write(deflated[it.block.block][it.block.index]); err != nil {
			return err
		}
		plain := it.block.block.plain[it.block.index]
		crc = crc32.Update(crc, crc32.IEEETable, plain)
		size += uint32(len(plain))
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc)
	binary.LittleEndian.PutUint32(trailer[4:], size)
	if _, err := w.Write(finalBlock); err != nil {
		return err
	}
	_, err := w.Write(trailer[:])
	return err
}

// negotiateEncoding picks identity or gzip from Accept-Encoding the way
// promhttp does: the offer (identity, then gzip) with the highest quality,
// an explicit name or "*" matching; identity when nothing is acceptable.
func negotiateEncoding(h http.Header) string {
	best, bestQ := "identity", -1.0
	specs := parseAcceptEncoding(h.Values("Accept-Encoding"))
	for _, offer := range []string{"identity", "gzip"} {
		for _, s := range specs {
			if s.q > bestQ && (s.value == "*" || s.value == offer) {
				best, bestQ = offer, s.q
			}
		}
	}
	if bestQ == 0 {
		return "identity"
	}
	return best
}

type acceptSpec struct {
	value string
	q     float64
}

// parseAcceptEncoding reads "name[;q=x], ..." lists; a malformed element
// ends the reading of its header line, as in promhttp.
func parseAcceptEncoding(lines []string) []acceptSpec {
	var out []acceptSpec
	for _, line := range lines {
		for _, part := range strings.Split(line, ",") {
			name, params, hasParams := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if name == "" || strings.ContainsAny(name, " \t") {
				break
			}
			q := 1.0
			if hasParams {
				p := strings.TrimSpace(params)
				v, ok := strings.CutPrefix(p, "q=")
				if !ok {
					break
				}
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					break
				}
				q = f
			}
			out = append(out, acceptSpec{value: name, q: q})
		}
	}
	return out
}
