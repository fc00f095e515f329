package crm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
	"github.com/pgha/pgha_exporter/crm/runner"
)

// maxErrorText is the longest error text a tool's output may produce: errors
// go to logs, to last_error in /api/v1/snapshot and to check output.
const maxErrorText = 2048

// TestSourceHugeOutputInErrorsIsTruncated: crm_mon printing 60 MB of
// non-XML, or 100 KB of random bytes, and cibadmin writing 30 MB to stderr
// give error texts of at most a few KB.
func TestSourceHugeOutputInErrorsIsTruncated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	random[0] = 'x' // not XML
	for name, out := range map[string][]byte{
		"60 MB of text":          bytes.Repeat([]byte("no xml here "), 5<<20),
		"100 KB of random bytes": random,
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeRunner{reply: map[string]func() (runner.Result, error){
				"crm_mon": func() (runner.Result, error) { return runner.Result{Stdout: out, ExitCode: 1}, nil },
			}}
			_, err := (&Source{Runner: f, MonPath: "crm_mon"}).Fetch(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if n := len(err.Error()); n > maxErrorText {
				t.Errorf("error text is %d bytes", n)
			}
		})
	}
	t.Run("cibadmin 30 MB on stderr", func(t *testing.T) {
		f := &fakeRunner{reply: map[string]func() (runner.Result, error){
			"crm_mon": ok(readGenerated(t, "healthy/crm_mon.xml")),
			"cibadmin": func() (runner.Result, error) {
				return runner.Result{Stderr: bytes.Repeat([]byte("e"), 30<<20), ExitCode: 1}, nil
			},
		}}
		snap, err := (&Source{Runner: f, MonPath: "crm_mon", CibadminPath: "cibadmin"}).Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if snap.CIBError == "" || len(snap.CIBError) > maxErrorText {
			t.Errorf("CIB error is %d bytes", len(snap.CIBError))
		}
	})
}

func readGenerated(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(crmtest.Generated(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSourceOutputTooLarge: output over the runner's cap is counted as
// output_too_large, not as a generic error.
func TestSourceOutputTooLarge(t *testing.T) {
	f := &fakeRunner{reply: map[string]func() (runner.Result, error){
		"crm_mon": func() (runner.Result, error) {
			return runner.Result{ExitCode: -1}, fmt.Errorf("crm_mon: %w after 1s", runner.ErrOutputTooLarge)
		},
	}}
	_, err := (&Source{Runner: f, MonPath: "crm_mon"}).Fetch(context.Background())
	var ce *Error
	if !errors.As(err, &ce) || ce.Reason() != "output_too_large" {
		t.Errorf("err = %v (reason %q)", err, reasonOf(err))
	}
}

func reasonOf(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Reason()
	}
	return ""
}

// slowRunner makes every command take a fraction of its own timeout, and
// fails the command whose context ends first.
type slowRunner struct {
	fakeRunner
	frac float64
}

func (s *slowRunner) Run(ctx context.Context, c runner.Command) (runner.Result, error) {
	select {
	case <-time.After(time.Duration(float64(c.Timeout) * s.frac)):
	case <-ctx.Done():
		return runner.Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, runner.ErrTimeout)
	}
	return s.fakeRunner.Run(ctx, c)
}

// TestRefreshDeadlineCoversEveryRun: with crm_mon falling back to the legacy
// root and both CIB queries each taking most of their own timeout, one
// refresh under RefreshTimeout still reads the CIB.
func TestRefreshDeadlineCoversEveryRun(t *testing.T) {
	mon := readGenerated(t, "healthy/crm_mon.legacy.xml")
	cib := readGenerated(t, "healthy/cib.xml")
	r := &slowRunner{frac: 0.6, fakeRunner: fakeRunner{reply: map[string]func() (runner.Result, error){
		"crm_mon --one-shot --inactive --output-as=xml": func() (runner.Result, error) {
			return runner.Result{Stderr: []byte("crm_mon: unrecognized option '--output-as=xml'"), ExitCode: 64}, nil
		},
		"crm_mon --one-shot --inactive --as-xml": ok(mon),
		"cibadmin":                               ok(cib),
	}}}
	src := &Source{Runner: r, MonPath: "crm_mon", CibadminPath: "cibadmin", Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), src.RefreshTimeout())
	defer cancel()
	snap, err := src.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.CIBError != "" || snap.Constraints == nil {
		t.Errorf("CIB not read within the refresh deadline: %q", snap.CIBError)
	}
}

// countingRunner counts runs per command line.
type countingRunner struct {
	mu    sync.Mutex
	reply map[string][]byte
	n     int
}

func (c *countingRunner) Run(_ context.Context, cmd runner.Command) (runner.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	for prefix, out := range c.reply {
		if bytes.HasPrefix([]byte(cmd.String()), []byte(prefix)) {
			return runner.Result{Stdout: out}, nil
		}
	}
	return runner.Result{ExitCode: 1}, nil
}

// TestUnchangedOutputKeepsSnapshot: crm_mon and cibadmin printing the same
// thing again (only crm_mon's own last_update time and pacemakerd's
// last_updated moved) give back the previous snapshot itself; any other
// change gives a new one.
func TestUnchangedOutputKeepsSnapshot(t *testing.T) {
	mon := readGenerated(t, "healthy/crm_mon.xml")
	cib := readGenerated(t, "healthy/cib.xml")
	r := &countingRunner{reply: map[string][]byte{"crm_mon": mon, "cibadmin": cib}}
	src := &Source{Runner: r, MonPath: "crm_mon", CibadminPath: "cibadmin", Include: DefaultInclude}
	first, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	moved := bytes.Replace(mon, []byte(`<last_update time="Wed Nov 25 12:00:00 2026"/>`), []byte(`<last_update time="Wed Nov 25 12:00:05 2026"/>`), 1)
	if bytes.Equal(moved, mon) {
		t.Fatal("fixture has no last_update to move")
	}
	r.reply["crm_mon"] = moved
	second, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Error("identical output (but for last_update) built a new snapshot")
	}
	r.reply["crm_mon"] = bytes.Replace(moved, []byte(`with_quorum="true"`), []byte(`with_quorum="false"`), 1)
	third, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if third == first || *third.Status.Summary.DC.WithQuorum {
		t.Error("a changed crm_mon output kept the old snapshot")
	}
	// A constraint added: the CIB changes, and so does crm_mon's
	// last_change (the real cluster stamps every configuration write).
	r.reply["cibadmin"] = bytes.Replace(cib, []byte(`<constraints>`), []byte(`<constraints><rsc_location id="cli-ban-x" rsc="x" node="n1" score="-INFINITY"/>`), 1)
	r.reply["crm_mon"] = bytes.Replace(r.reply["crm_mon"], []byte(`<last_change time="Wed Nov 25 11:21:56 2026"`), []byte(`<last_change time="Wed Nov 25 11:22:30 2026"`), 1)
	fourth, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fourth == third || len(fourth.Constraints) == len(third.Constraints) {
		t.Error("a changed CIB kept the old snapshot")
	}
}

// TestUnchangedOutputSkipsCIB: with crm_mon printing the same thing and its
// last_change long before the last CIB query, a refresh runs crm_mon only;
// with a last_change too recent to be sure the query saw it, the CIB is
// queried again, and a change found there makes a new snapshot.
func TestUnchangedOutputSkipsCIB(t *testing.T) {
	mon := readGenerated(t, "healthy/crm_mon.xml")
	cib := readGenerated(t, "healthy/cib.xml")
	r := &countingRunner{reply: map[string][]byte{"crm_mon": mon, "cibadmin": cib}}
	src := &Source{Runner: r, MonPath: "crm_mon", CibadminPath: "cibadmin", Include: DefaultInclude}
	first, err := src.Fetch(context.Background())
	if err != nil || r.n != 4 {
		t.Fatalf("first refresh: %d runs (want 4), %v", r.n, err)
	}
	second, err := src.Fetch(context.Background())
	if err != nil || second != first || r.n != 5 {
		t.Errorf("settled CIB: %d runs (want 5), same snapshot %v, %v", r.n, second == first, err)
	}

	now := time.Now().Format("Mon Jan _2 15:04:05 2006")
	recent := bytes.Replace(mon, []byte(`<last_change time="Wed Nov 25 11:21:56 2026"`), []byte(`<last_change time="`+now+`"`), 1)
	r.reply["crm_mon"] = recent
	third, err := src.Fetch(context.Background())
	if err != nil || r.n != 9 {
		t.Fatalf("recent change: %d runs (want 9), %v", r.n, err)
	}
	// A second write in the same second as the first one: crm_mon prints
	// the same last_change, the CIB differs.
	r.reply["cibadmin"] = bytes.Replace(cib, []byte(`<constraints>`), []byte(`<constraints><rsc_location id="cli-prefer-x" rsc="x" node="n1" score="INFINITY"/>`), 1)
	fourth, err := src.Fetch(context.Background())
	if err != nil || r.n != 13 || fourth == third {
		t.Errorf("write within last_change's second: %d runs (want 13), new snapshot %v, %v", r.n, fourth != third, err)
	}
}

// TestUnchangedLiveOutputKeepsSnapshot: two consecutive crm_mon runs on the
// live lab's healthy cluster (Pacemaker 2.1.5 prints pacemakerd's element,
// with its own clock, before the summary's last_update) give back the same
// snapshot without a CIB query; the same output with a real change does not.
func TestUnchangedLiveOutputKeepsSnapshot(t *testing.T) {
	dir := filepath.Join("testdata", "live-consecutive")
	first, err := os.ReadFile(filepath.Join(dir, "crm_mon.1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(dir, "crm_mon.2.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, second) {
		t.Fatal("the two recorded runs are identical: nothing to mask")
	}
	cib := readGenerated(t, "healthy/cib.xml")
	r := &countingRunner{reply: map[string][]byte{"crm_mon": first, "cibadmin": cib}}
	src := &Source{Runner: r, MonPath: "crm_mon", CibadminPath: "cibadmin", Include: DefaultInclude}
	a, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.reply["crm_mon"] = second
	n := r.n
	b, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b != a || r.n != n+1 {
		t.Errorf("the next run of an unchanged cluster: same snapshot %v, %d runs (want the same snapshot and crm_mon alone)", b == a, r.n-n)
	}
	r.reply["crm_mon"] = bytes.Replace(second, []byte(`role="Unpromoted"`), []byte(`role="Stopped"`), 1)
	if bytes.Equal(r.reply["crm_mon"], second) {
		t.Fatal("the recording has no Unpromoted instance to change")
	}
	c, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("a changed role kept the old snapshot")
	}
}
