package collector

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Block is the metrics one snapshot yields, built once per snapshot and
// shared by every scrape of it. Its families are gathered by a
// client_golang registry (which validates and sorts them) and encoded by
// expfmt, once per wire format a scraper asks for, plain and as raw deflate
// fragments that a gzip response can splice in without compressing again.
type Block struct {
	metrics []prometheus.Metric

	gatherOnce sync.Once
	families   []*dto.MetricFamily
	gatherErr  error

	mu  sync.Mutex
	enc map[expfmt.Format]*encodedBlock
}

// maxFormatsPerBlock bounds the encodings a block keeps; a scraper asking
// for yet another format gets it encoded for its request only.
const maxFormatsPerBlock = 4

type encodedBlock struct {
	plain [][]byte // per family, in family order

	deflateMu sync.Mutex
	deflated  [][]byte // per family: raw deflate, sync-flushed, not final
}

// NewBlock wraps a snapshot's metrics. Nothing is gathered or encoded until
// a scrape needs it.
func NewBlock(metrics []prometheus.Metric) *Block {
	return &Block{metrics: metrics, enc: map[expfmt.Format]*encodedBlock{}}
}

// Metrics returns the block's metrics (for a registry's Collect).
func (b *Block) Metrics() []prometheus.Metric { return b.metrics }

// Families returns the block's gathered families, sorted by name.
func (b *Block) Families() ([]*dto.MetricFamily, error) {
	b.gatherOnce.Do(func() {
		reg := prometheus.NewRegistry()
		if err := reg.Register(metricList(b.metrics)); err != nil {
			b.gatherErr = err
			return
		}
		b.families, b.gatherErr = reg.Gather()
	})
	return b.families, b.gatherErr
}

// metricList is a collector of fixed metrics.
type metricList []prometheus.Metric

func (metricList) Describe(chan<- *prometheus.Desc) {}

func (l metricList) Collect(ch chan<- prometheus.Metric) {
	for _, m := range l {
		ch <- m
	}
}

// encoded returns the block in format f, encoding it on first use.
func (b *Block) encoded(f expfmt.Format) (*encodedBlock, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.enc[f]; ok {
		return e, nil
	}
	mfs, err := b.Families()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, f)
	ends := make([]int, len(mfs))
	for i, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", mf.GetName(), err)
		}
		ends[i] = buf.Len()
	}
	all := buf.Bytes()
	e := &encodedBlock{plain: make([][]byte, len(mfs))}
	start := 0
	for i, end := range ends {
		e.plain[i] = all[start:end:end]
		start = end
	}
	if len(b.enc) < maxFormatsPerBlock {
		b.enc[f] = e
	}
	return e, nil
}

// deflate returns the block's families as raw deflate fragments, each
// ending byte-aligned (sync flush) and none final, so that they can follow
// one another, and other fragments, in one deflate stream. This runs once
// per block and format, with a writer of its own at the default level
// (dropped afterwards: a block changes at most once per refresh).
func (e *encodedBlock) deflate(ctx context.Context) ([][]byte, error) {
	e.deflateMu.Lock()
	defer e.deflateMu.Unlock()
	if e.deflated != nil {
		return e.deflated, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fw, _ := flate.NewWriter(nil, flate.DefaultCompression)
	out := make([][]byte, len(e.plain))
	var buf bytes.Buffer
	for i, p := range e.plain {
		buf.Reset()
		fw.Reset(&buf)
		_, _ = fw.Write(p)
		_ = fw.Flush()
		out[i] = bytes.Clone(buf.Bytes())
	}
	e.deflated = out
	return out, nil
}

// compressorPool bounds the flate writers that compress the live families
// of gzip scrapes (each holds about 1 MB of tables) to one per CPU: a burst
// of gzip scrapes waits a few microseconds for a writer rather than growing
// memory with the burst. They compress at BestSpeed: the live families are
// a few KB per scrape, in up to a handful of runs between the blocks'
// fragments, and a writer is reset before each run; at the default level a
// reset clears 640 KB of hash tables (about 25 us), at BestSpeed it only
// moves an offset.
type compressorPool struct {
	free  chan *flate.Writer
	slots chan struct{}
}

var compressors = newCompressorPool(runtime.GOMAXPROCS(0))

func newCompressorPool(n int) *compressorPool {
	return &compressorPool{free: make(chan *flate.Writer, n), slots: make(chan struct{}, n)}
}

func (p *compressorPool) get(ctx context.Context) (*flate.Writer, error) {
	select {
	case w := <-p.free:
		return w, nil
	default:
	}
	select {
	case w := <-p.free:
		return w, nil
	case p.slots <- struct{}{}:
		w, _ := flate.NewWriter(nil, flate.BestSpeed)
		return w, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *compressorPool) put(w *flate.Writer) { p.free <- w }

// sortedBlockFamilies lists the families of the blocks, sorted by name.
type blockFamily struct {
	name  string
	block *encodedBlock
	index int
}

func blockFamilies(blocks []*Block, f expfmt.Format) ([]blockFamily, error) {
	var out []blockFamily
	for _, b := range blocks {
		mfs, err := b.Families()
		if err != nil {
			return nil, err
		}
		e, err := b.encoded(f)
		if err != nil {
			return nil, err
		}
		for i, mf := range mfs {
			out = append(out, blockFamily{name: mf.GetName(), block: e, index: i})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
