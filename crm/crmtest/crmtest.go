// Package crmtest locates the test fixtures shared by the parser, collector
// and check tests: the project's own generated crm_mon renderings
// (crm/testdata/generated) and the corpus of real tool outputs
// (crm/testdata/corpus, provenance and licences in its README).
package crmtest

import (
	"cmp"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Corpus returns crm/testdata/corpus, the real tool outputs the tests read.
// It is part of the repository, so a missing corpus is a failure.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "crm", "testdata", "corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("fixture corpus missing: %v", err)
	}
	return dir
}

// Generated returns the project's generated crm_mon fixtures directory
// (crm/testdata/generated, made by crm/testdata/generate.sh).
func Generated(t testing.TB) string {
	t.Helper()
	return filepath.Join(ModuleRoot(t), "crm", "testdata", "generated")
}

// Glob returns the sorted matches of the patterns, failing on none.
func Glob(t testing.TB, patterns ...string) []string {
	t.Helper()
	var out []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no files match %v", patterns)
	}
	return out
}

// CrmMonFixtures lists every crm_mon XML fixture: the shared legacy and API
// collections, the live recordings (every node, every scenario, error and
// start-up states) and the generated scenarios, keyed by a path relative to
// their collection root (prefixed "corpus/" or "generated/").
func CrmMonFixtures(t testing.TB) map[string]string {
	t.Helper()
	corpus := Corpus(t)
	out := map[string]string{}
	for _, f := range Glob(t,
		filepath.Join(corpus, "crm_mon-xml-legacy", "*.xml"),
		filepath.Join(corpus, "crm_mon-xml-api", "*.xml"),
		filepath.Join(corpus, "live-*", "*", "*", "crm_mon*.xml"),
		filepath.Join(corpus, "live-*", "errors", "crm_mon*.xml"),
		filepath.Join(corpus, "live-*", "single-node-startup", "*.xml"),
	) {
		rel, _ := filepath.Rel(corpus, f)
		out["corpus/"+rel] = f
	}
	gen := Generated(t)
	if m, _ := filepath.Glob(filepath.Join(gen, "*", "crm_mon*.xml")); len(m) > 0 {
		for _, f := range m {
			rel, _ := filepath.Rel(gen, f)
			out["generated/"+rel] = f
		}
	}
	return out
}

// Missing returns, sorted, the keys of want that seen does not hold (the
// expectations of a table that no fixture or recording exercised).
func Missing[K cmp.Ordered, V any](want map[K]V, seen map[K]bool) []K {
	var out []K
	for k := range want {
		if !seen[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a process the test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
