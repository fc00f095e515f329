// Package repo_test checks properties of the repository as a whole: it must
// stand on its own, so nothing tracked may point outside it or at a path of
// one machine.
package repo_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// forbidden are the references that make a clone depend on what sits beside
// it or on one machine's layout. Built by concatenation so this file does not
// match itself.
var forbidden = []string{
	".." + "/shared",
	"shared" + "/fixtures",
	"shared" + "/notes",
	"PGHA_" + "SHARED",
	"/" + "work/",
	"/" + "home/",
	"/" + "Users/",
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return dir
}

// trackedFiles lists what git tracks; without git metadata (an exported
// tarball) every regular file below the root.
func trackedFiles(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		if out, err := exec.Command("git", "-C", dir, "ls-files", "-z").Output(); err == nil {
			var files []string
			for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
				if f != "" {
					files = append(files, f)
				}
			}
			return files
		}
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// offending returns the forbidden references in a text, one per line hit.
func offending(text []byte) []string {
	if bytes.IndexByte(text, 0) >= 0 {
		return nil // binary
	}
	var hits []string
	for i, line := range strings.Split(string(text), "\n") {
		for _, f := range forbidden {
			if strings.Contains(line, f) {
				hits = append(hits, f+" on line "+strconv.Itoa(i+1))
			}
		}
	}
	return hits
}

func TestOffendingMatcher(t *testing.T) {
	for _, bad := range []string{"see .." + "/shared" + "/notes/lab.md", "BASE=" + "/" + "work/main/x", "cp " + "shared" + "/fixtures/a ."} {
		if len(offending([]byte("ok\n"+bad+"\n"))) == 0 {
			t.Errorf("%q not caught", bad)
		}
	}
	if hits := offending([]byte("crm/testdata/corpus/README.md\n/var/lib/pgsql/15\n")); len(hits) != 0 {
		t.Errorf("false positives: %v", hits)
	}
}

func TestNoReferenceOutsideRepository(t *testing.T) {
	dir := root(t)
	files := trackedFiles(t, dir)
	if len(files) < 100 {
		t.Fatalf("only %d files found under %s", len(files), dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet committed
			}
			t.Fatal(err)
		}
		for _, h := range offending(b) {
			t.Errorf("%s: refers outside the repository (%s)", f, h)
		}
	}
}
