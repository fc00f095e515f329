package crmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// PromtoolPath returns promtool's path; without it the test is skipped,
// except under CI (CI set), where it fails.
func PromtoolPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not found under CI: %v", err)
		}
		t.Skip("promtool not found (Debian package prometheus); skipping")
	}
	return p
}

// ExpositionFiles lists every exposition the real exporter code produced
// and the tests keep: the collector goldens, the end-to-end /metrics golden
// and the scrapes of the real exporter binary in alerts/testdata/exporter.
func ExpositionFiles(t testing.TB) []string {
	t.Helper()
	root := ModuleRoot(t)
	return Glob(t, filepath.Join(root, "collector", "testdata", "*", "*.prom"),
		filepath.Join(root, "cmd", "pgha_exporter", "testdata", "*.prom"),
		filepath.Join(root, "alerts", "testdata", "exporter", "*.prom"))
}

// ExportedSeries reads the expositions of ExpositionFiles: metric name ->
// the label sets (canonical `{a="x",b="y"}` strings) it was seen with.
func ExportedSeries(t testing.TB) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, f := range ExpositionFiles(t) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, fam := range fams {
			if out[name] == nil {
				out[name] = map[string]bool{}
			}
			for _, m := range fam.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				out[name][LabelString(labels)] = true
			}
		}
	}
	return out
}

// LabelString renders a label set canonically: sorted, Go-quoted values.
func LabelString(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + strconvQuote(labels[n])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func strconvQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

var (
	promStringRE  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promCommentRE = regexp.MustCompile(`#[^\n]*`)
	promRangeRE   = regexp.MustCompile(`\[[^\]]*\]`)
	promMatcherRE = regexp.MustCompile(`\{[^}]*\}`)
	promIdentRE   = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// SeriesNames returns the pgha_* metric names and the recording rule names
// (level:metric:operation, they contain a colon) a PromQL expression (a rule
// or a dashboard query) selects. Strings, comments, ranges and label
// matchers are removed first, so label names and values never count.
func SeriesNames(expr string) []string {
	e := promStringRE.ReplaceAllString(expr, `""`)
	e = promCommentRE.ReplaceAllString(e, "")
	e = promRangeRE.ReplaceAllString(e, "[]")
	e = promMatcherRE.ReplaceAllString(e, "{}")
	var out []string
	for _, id := range promIdentRE.FindAllString(e, -1) {
		if strings.HasPrefix(id, "pgha_") || strings.Contains(id, ":") {
			out = append(out, id)
		}
	}
	return out
}
