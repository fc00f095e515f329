package corosync

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const liveSet = "live-pcmk-2.1.5-pgsql-4.12-pg15"

// fixturesDir returns the corpus of real tool outputs, crm/testdata/corpus
// (provenance and licences in its README).
func fixturesDir(tb testing.TB) string {
	tb.Helper()
	return crmtest.Corpus(tb)
}

// fixture is one input file and the parser that reads it.
type fixture struct {
	rel   string // path under crm/testdata/corpus
	kind  string // "cfgtool", "quorumtool", "cman_status", "cman_nodes"
	input []byte
}

// fixtures lists every corosync-cfgtool, corosync-quorumtool and cman file,
// and every corosync-* file of the live recordings, sorted by path.
// corosync-cmapctl/ is not listed: the exporter does not read cmapctl.
func fixtures(tb testing.TB) []fixture {
	tb.Helper()
	root := fixturesDir(tb)
	var out []fixture
	add := func(rel, kind string) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fixture{rel: filepath.ToSlash(rel), kind: kind, input: b})
	}
	for dir, kind := range map[string]string{"corosync-cfgtool": "cfgtool", "corosync-quorumtool": "quorumtool", "cman": ""} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			k := kind
			if dir == "cman" {
				k = "cman_nodes"
				if strings.HasPrefix(e.Name(), "cman_tool-status") {
					k = "cman_status"
				}
			}
			add(filepath.Join(dir, e.Name()), k)
		}
	}
	err := filepath.WalkDir(filepath.Join(root, liveSet), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch name := d.Name(); {
		case strings.HasPrefix(name, "corosync-cfgtool"):
			add(rel, "cfgtool")
		case strings.HasPrefix(name, "corosync-quorumtool"):
			add(rel, "quorumtool")
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	if len(out) < 80 {
		tb.Fatalf("found only %d fixture files under %s", len(out), root)
	}
	return out
}

// result is what a golden file holds for one fixture.
type result struct {
	Rings      *Rings      `json:"rings,omitempty"`
	Quorum     *Quorum     `json:"quorum,omitempty"`
	CmanStatus *CmanStatus `json:"cman_status,omitempty"`
	CmanNodes  []CmanNode  `json:"cman_nodes,omitempty"`
	Error      string      `json:"error,omitempty"`
	Reason     string      `json:"reason,omitempty"`
}

// parseFixture runs the fixture's parser. The cman status files of pcs carry
// a "---Votes---" block of cman_tool nodes -F id,type,votes,name lines, which
// goes to ParseCmanNodes.
func parseFixture(f fixture) result {
	var (
		r   result
		err error
	)
	switch f.kind {
	case "cfgtool":
		r.Rings, err = ParseCfgtool(f.input)
	case "quorumtool":
		r.Quorum, err = ParseQuorumtool(f.input)
	case "cman_status":
		r.CmanStatus, err = ParseCmanStatus(f.input)
		if _, votes, ok := bytes.Cut(f.input, []byte("---Votes---")); ok && err == nil {
			r.CmanNodes, err = ParseCmanNodes(votes, "id", "type", "votes", "name")
		}
	case "cman_nodes":
		r.CmanNodes, err = ParseCmanNodes(f.input)
	}
	if err != nil {
		r = result{Error: err.Error()}
		var e *Error
		if errors.As(err, &e) {
			r.Reason = e.Reason()
		}
	}
	return r
}

func goldenPath(rel string) string {
	return filepath.Join("testdata", filepath.FromSlash(rel)+".json")
}

// readGolden returns the golden result, first writing got when -update is set.
func readGolden(t *testing.T, rel string, got result) result {
	t.Helper()
	path := goldenPath(rel)
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update to create it)", err)
	}
	var want result
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return want
}
