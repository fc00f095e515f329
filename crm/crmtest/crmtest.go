// Package crmtest locates the test fixtures shared by the parser and
// collector tests: the project's own (crm/testdata/generated) and the
// recorded tool outputs in ../shared/fixtures beside the repository.
package crmtest

import (
	"os"
	"path/filepath"
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

// SharedFixtures returns ../shared/fixtures beside the repository (or
// $PGHA_SHARED/fixtures). Without it the test is skipped, except under CI
// (CI=true), where a missing fixture tree is a failure.
func SharedFixtures(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PGHA_SHARED")
	if base == "" {
		base = filepath.Join(ModuleRoot(t), "..", "shared")
	}
	dir := filepath.Join(base, "fixtures")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared fixtures missing under CI: %v", err)
		}
		t.Skipf("shared fixtures not found (%v); set PGHA_SHARED", err)
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
// their collection root (prefixed "shared/" or "generated/").
func CrmMonFixtures(t testing.TB) map[string]string {
	t.Helper()
	shared := SharedFixtures(t)
	out := map[string]string{}
	for _, f := range Glob(t,
		filepath.Join(shared, "crm_mon-xml-legacy", "*.xml"),
		filepath.Join(shared, "crm_mon-xml-api", "*.xml"),
		filepath.Join(shared, "live-*", "*", "*", "crm_mon*.xml"),
		filepath.Join(shared, "live-*", "errors", "crm_mon*.xml"),
		filepath.Join(shared, "live-*", "single-node-startup", "*.xml"),
	) {
		rel, _ := filepath.Rel(shared, f)
		out["shared/"+rel] = f
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
