package packaging_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

const (
	pkgName  = "pgha-exporter"
	unitDeb  = "/lib/systemd/system/pgha_exporter.service"
	unitRPM  = "/usr/lib/systemd/system/pgha_exporter.service"
	envDeb   = "/etc/default/pgha_exporter"
	envRPM   = "/etc/sysconfig/pgha_exporter"
	initEL6  = "/etc/rc.d/init.d/pgha_exporter"
	goEL6    = "go1.23.12" // the last Go that supports Linux 2.6.32 (EL6)
	binPath  = "/usr/bin/pgha_exporter"
	shareDir = "/usr/share/pgha_exporter"
	docDir   = "/usr/share/doc/pgha_exporter"
)

var nagiosFiles = []string{"icinga2-pgha.conf", "nagios-pgha.cfg", "nrpe-pgha.cfg"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

type result struct {
	out  string // stdout and stderr, interleaved
	code int
	err  error
}

// run runs name with args in dir (repository root when empty) with extra
// environment entries, and returns its combined output and exit code.
func run(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if dir == "" {
		dir = repoRoot(t)
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	r := result{out: buf.String(), err: err}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code = -1
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("timeout after %v: %w", timeout, err)
		r.code = -1
	}
	return r
}

// must runs a command that has to succeed and returns its output.
func must(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	r := run(t, timeout, "", nil, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), r.err, r.out)
	}
	return r.out
}

func userExists(name string) bool  { return exec.Command("getent", "passwd", name).Run() == nil }
func groupExists(name string) bool { return exec.Command("getent", "group", name).Run() == nil }

func pkgInstalled() bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkgName).Output()
	return err == nil && strings.Contains(string(out), "installed") && !strings.Contains(string(out), "not-installed")
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

// requireRootDpkg skips (or, under CI, fails) when the test may not install
// packages here.
func requireRootDpkg(t *testing.T) {
	t.Helper()
	ci := os.Getenv("CI") != ""
	if os.Getenv("PGHA_PACKAGE_TEST") == "" && !ci {
		t.Skip("installs and purges the pgha-exporter package on this machine: set PGHA_PACKAGE_TEST=1 (or run under CI) to run it")
	}
	stop := t.Skipf
	if ci {
		stop = t.Fatalf // under CI the test must run
	}
	if runtime.GOOS != "linux" {
		stop("needs Linux with dpkg, not %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		stop("needs root to install a package (euid %d)", os.Geteuid())
	}
	for _, tool := range []string{"dpkg", "dpkg-query", "make", "runuser", "getent", "groupadd", "userdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			stop("needs %s: %v", tool, err)
		}
	}
}

// aptInstall installs Debian packages the test needs (systemd for
// systemd-analyze, rpm for rpm -qpl).
func aptInstall(t *testing.T, pkgs ...string) error {
	t.Helper()
	t.Logf("apt-get install %s", strings.Join(pkgs, " "))
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	r := run(t, 10*time.Minute, "", env, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
	if r.err != nil {
		if u := run(t, 5*time.Minute, "", env, "apt-get", "update", "-q"); u.err != nil {
			return fmt.Errorf("apt-get update: %v\n%s", u.err, u.out)
		}
		r = run(t, 10*time.Minute, "", env, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
	}
	if r.err != nil {
		return fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(pkgs, " "), r.err, r.out)
	}
	return nil
}

// buildPackages runs `make package` with the binary and the packages in a
// temporary directory, so that it never races a developer's bin/ or dist/.
// It returns the .deb, the .rpm, the EL6 .rpm, the staging directory and the
// EL6 binary.
func buildPackages(t *testing.T) (deb, rpm, rpmEL6, stage, binEL6 string) {
	t.Helper()
	tmp := t.TempDir()
	dist := filepath.Join(tmp, "dist")
	start := time.Now()
	r := run(t, 15*time.Minute, "", []string{"PGHA_PKG_DIST=" + dist}, "make", "package", "BIN="+filepath.Join(tmp, "bin", "pgha_exporter"))
	if r.err != nil {
		t.Fatalf("make package: %v\n%s", r.err, r.out)
	}
	t.Logf("make package: %v\n%s", time.Since(start).Round(time.Second), lastLines(r.out, 6))
	one := func(pattern string, el6 bool) string {
		m, _ := filepath.Glob(filepath.Join(dist, pattern))
		m = slices.DeleteFunc(m, func(f string) bool { return strings.Contains(filepath.Base(f), ".el6.") != el6 })
		if len(m) != 1 {
			t.Fatalf("expected one %s (EL6: %v) in %s, found %v", pattern, el6, dist, m)
		}
		return m[0]
	}
	return one("*.deb", false), one("*.rpm", false), one("*.rpm", true), filepath.Join(dist, "stage"), filepath.Join(tmp, "bin", "pgha_exporter-el6")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stagedShare lists the optional files package.sh staged (dashboards and
// alert rules), as paths relative to /usr/share/pgha_exporter.
func stagedShare(t *testing.T, stage string) []string {
	t.Helper()
	var files []string
	for _, sub := range []string{"dashboards", "alerts"} {
		entries, err := os.ReadDir(filepath.Join(stage, sub))
		if err != nil {
			t.Fatalf("staging directory: %v", err)
		}
		for _, e := range entries {
			files = append(files, sub+"/"+e.Name())
		}
	}
	return files
}

func TestDebInstall(t *testing.T) {
	requireRootDpkg(t)
	if pkgInstalled() {
		t.Fatalf("%s is already installed on this machine; the test installs and purges it, so it refuses to touch an existing installation (dpkg -P %s first)", pkgName, pkgName)
	}
	root := repoRoot(t)
	start := time.Now()
	t.Cleanup(func() { t.Logf("TestDebInstall took %v", time.Since(start).Round(time.Second)) })

	deb, rpm, rpmEL6, stage, binEL6 := buildPackages(t)
	share := stagedShare(t, stage)
	t.Logf("deb %s (%d bytes), rpm %s (%d bytes), %d dashboards/rule files", filepath.Base(deb), size(t, deb), filepath.Base(rpm), size(t, rpm), len(share))

	// Leave the machine as found: purge the package, and delete the user
	// and the group this test made exist (the package keeps the user on
	// purge on purpose, see postremove.sh).
	hadUser, hadGroup, hadHaclient := userExists("pgha"), groupExists("pgha"), groupExists("haclient")
	t.Cleanup(func() {
		if pkgInstalled() || exists(envDeb) {
			if r := run(t, 5*time.Minute, "", nil, "dpkg", "-P", pkgName); r.err != nil {
				t.Errorf("cleanup: dpkg -P: %v\n%s", r.err, r.out)
			}
		}
		if !hadUser && userExists("pgha") {
			if r := run(t, time.Minute, "", nil, "userdel", "pgha"); r.err != nil {
				t.Errorf("cleanup: userdel pgha: %v\n%s", r.err, r.out)
			}
		}
		if !hadGroup && groupExists("pgha") {
			run(t, time.Minute, "", nil, "groupdel", "pgha")
		}
		if !hadHaclient && groupExists("haclient") {
			if r := run(t, time.Minute, "", nil, "groupdel", "haclient"); r.err != nil {
				t.Errorf("cleanup: groupdel haclient: %v\n%s", r.err, r.out)
			}
		}
	})
	if !hadHaclient {
		// Pacemaker creates haclient; without it the membership cannot be checked.
		must(t, time.Minute, "groupadd", "--system", "haclient")
	}

	// Install.
	r := run(t, 5*time.Minute, "", nil, "dpkg", "-i", deb)
	if r.err != nil {
		t.Logf("dpkg -i failed, trying apt-get install -f for dependencies: %v\n%s", r.err, r.out)
		if f := run(t, 10*time.Minute, "", []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", "install", "-f", "-y", "-q"); f.err != nil || !pkgInstalled() {
			t.Fatalf("apt-get install -f: %v\n%s", f.err, f.out)
		}
	}
	t.Logf("dpkg -i:\n%s", r.out)
	if !strings.Contains(r.out, "systemctl enable --now pgha_exporter.service") {
		t.Errorf("postinst printed no hint how to enable the service:\n%s", r.out)
	}

	t.Run("user", func(t *testing.T) {
		pw := strings.Split(strings.TrimSpace(must(t, time.Minute, "getent", "passwd", "pgha")), ":")
		if len(pw) != 7 {
			t.Fatalf("getent passwd pgha: %q", pw)
		}
		uid, _ := strconv.Atoi(pw[2])
		if uid >= 1000 || uid == 0 {
			t.Errorf("pgha uid %d is not a system uid", uid)
		}
		if pw[5] != "/nonexistent" || !strings.HasSuffix(pw[6], "nologin") && pw[6] != "/bin/false" {
			t.Errorf("pgha: home %q shell %q, want /nonexistent and nologin", pw[5], pw[6])
		}
		if exists("/nonexistent") {
			t.Errorf("/nonexistent was created")
		}
		if g := strings.TrimSpace(must(t, time.Minute, "id", "-gn", "pgha")); g != "pgha" {
			t.Errorf("primary group of pgha is %q, want pgha", g)
		}
		if groups := strings.Fields(must(t, time.Minute, "id", "-Gn", "pgha")); !slices.Contains(groups, "haclient") {
			t.Errorf("pgha is not in haclient: %v", groups)
		}
	})

	t.Run("files", func(t *testing.T) {
		want := map[string]fs.FileMode{
			binPath: 0o755, unitDeb: 0o644, envDeb: 0o600,
			docDir + "/README.md": 0o644, docDir + "/packaging.md": 0o644, docDir + "/docs/checks.md": 0o644, docDir + "/LICENSE": 0o644,
		}
		for _, f := range nagiosFiles {
			want[shareDir+"/nagios/"+f] = 0o644
		}
		for _, f := range share {
			want[shareDir+"/"+f] = 0o644
		}
		for path, mode := range want {
			st, err := os.Stat(path)
			if err != nil {
				t.Errorf("missing: %v", err)
				continue
			}
			if st.Mode().Perm() != mode {
				t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
			}
		}
		for _, d := range []string{shareDir + "/dashboards", shareDir + "/alerts"} {
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				t.Errorf("%s: not a directory: %v", d, err)
			}
		}
		// The shipped files are the repository's (the ones this package owns).
		for src, dst := range map[string]string{
			"packaging/pgha_exporter.service":                        unitDeb,
			"packaging/pgha_exporter.default":                        envDeb,
			"packaging/nagios/icinga2-pgha.conf":                     shareDir + "/nagios/icinga2-pgha.conf",
			"packaging/nagios/nrpe-pgha.cfg":                         shareDir + "/nagios/nrpe-pgha.cfg",
			"packaging/nagios/nagios-pgha.cfg":                       shareDir + "/nagios/nagios-pgha.cfg",
			filepath.Join(stage, "..", "..", "bin", "pgha_exporter"): binPath,
		} {
			if !filepath.IsAbs(src) {
				src = filepath.Join(root, src)
			}
			if a, b := fileSum(t, src), fileSum(t, dst); a != b {
				t.Errorf("%s differs from %s", dst, src)
			}
		}
		conffiles := must(t, time.Minute, "dpkg-query", "-W", "-f=${Conffiles}", pkgName)
		if !strings.Contains(conffiles, envDeb) {
			t.Errorf("%s is not a conffile: %q", envDeb, conffiles)
		}
		if strings.Contains(must(t, time.Minute, "dpkg", "-L", pkgName), "/etc/sysconfig") {
			t.Errorf("the deb ships /etc/sysconfig")
		}
	})

	t.Run("unit", func(t *testing.T) { checkUnit(t, unitDeb, envDeb) })

	t.Run("systemd-analyze", func(t *testing.T) {
		if _, err := exec.LookPath("systemd-analyze"); err != nil {
			// Debian's systemd package installs without booting systemd.
			if err := aptInstall(t, "systemd"); err != nil {
				t.Fatal(err)
			}
		}
		// verify loads the unit the way systemd would (syntax, unknown
		// settings, ExecStart= binary present, the unit's dependencies).
		// It needs no running systemd. Anything it prints about another unit
		// (it also loads the units named in After=/Wants=) is only logged;
		// every line about ours fails the test.
		r := run(t, 2*time.Minute, "", []string{"SYSTEMD_LOG_COLOR=0"}, "systemd-analyze", "verify", unitDeb)
		for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
			if line == "" {
				continue
			}
			if strings.Contains(line, "pgha_exporter") {
				t.Errorf("systemd-analyze verify: %s", line)
			} else {
				t.Logf("systemd-analyze verify (other unit, ignored): %s", line)
			}
		}
		if r.err != nil && !strings.Contains(r.out, "pgha_exporter") {
			// A failure about something outside the unit (e.g. no
			// /etc/machine-id in a minimal container): show it, do not hide it.
			t.Errorf("systemd-analyze verify failed (%v) without naming pgha_exporter.service:\n%s", r.err, r.out)
		}
		// The exposure score guards against the hardening being dropped.
		r = run(t, 2*time.Minute, "", []string{"SYSTEMD_LOG_COLOR=0", "SYSTEMD_COLORS=0"}, "systemd-analyze", "security", "--offline=yes", unitDeb)
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(r.out)
		if m == nil {
			t.Logf("systemd-analyze security --offline=yes gave no score (systemd older than 250?): %v\n%s", r.err, lastLines(r.out, 5))
			return
		}
		score, _ := strconv.ParseFloat(m[1], 64)
		t.Logf("systemd-analyze security --offline=yes: exposure %.1f", score)
		if score > 4.5 {
			t.Errorf("exposure %.1f > 4.5: hardening lost?\n%s", score, r.out)
		}
	})

	t.Run("run", func(t *testing.T) {
		r := run(t, time.Minute, "", nil, binPath, "--version")
		if r.err != nil || !strings.Contains(r.out, "pgha_exporter, version") {
			t.Errorf("%s --version: %v\n%s", binPath, r.err, r.out)
		}
		monFile := filepath.Join(root, "crm", "testdata", "generated", "healthy", "crm_mon.xml")
		r = run(t, time.Minute, "/", nil, "runuser", "-u", "pgha", "--", binPath, "check", "cluster", "--crm.mon-file="+monFile)
		t.Logf("check cluster as pgha: exit %d\n%s", r.code, r.out)
		if r.code < 0 || r.code > 2 {
			t.Errorf("check cluster as pgha: exit %d (%v), want 0..2\n%s", r.code, r.err, r.out)
		}
		if !strings.HasPrefix(r.out, "PGHA CLUSTER ") {
			t.Errorf("check cluster as pgha: unexpected output\n%s", r.out)
		}
	})

	t.Run("el6 init script", func(t *testing.T) { checkInitScript(t, root) })

	// Reinstalling the same version runs postinst "configure <old-version>"
	// (the upgrade path) and must keep a changed conffile.
	t.Run("reinstall keeps config", func(t *testing.T) {
		appendFile(t, envDeb, "# pgha-package-test: changed by the admin\n")
		r := run(t, 5*time.Minute, "", []string{"DEBIAN_FRONTEND=noninteractive"}, "dpkg", "-i", "--force-confold", deb)
		if r.err != nil {
			t.Fatalf("dpkg -i (again): %v\n%s", r.err, r.out)
		}
		if !strings.Contains(readFile(t, envDeb), "pgha-package-test") {
			t.Errorf("reinstall replaced the changed %s", envDeb)
		}
		if strings.Contains(r.out, "systemctl enable --now") {
			t.Errorf("postinst treated the reinstall as a first install:\n%s", r.out)
		}
	})

	// Remove: configuration and user stay, everything else goes.
	r = run(t, 5*time.Minute, "", nil, "dpkg", "-r", pkgName)
	if r.err != nil {
		t.Fatalf("dpkg -r: %v\n%s", r.err, r.out)
	}
	if !strings.Contains(readFile(t, envDeb), "pgha-package-test") {
		t.Errorf("dpkg -r did not keep %s", envDeb)
	}
	for _, p := range []string{binPath, unitDeb, shareDir, docDir} {
		if exists(p) {
			t.Errorf("dpkg -r left %s", p)
		}
	}
	if !userExists("pgha") {
		t.Errorf("dpkg -r deleted the user pgha")
	}

	// Purge: the configuration goes too, the user stays (documented).
	r = run(t, 5*time.Minute, "", nil, "dpkg", "-P", pkgName)
	if r.err != nil {
		t.Fatalf("dpkg -P: %v\n%s", r.err, r.out)
	}
	if exists(envDeb) {
		t.Errorf("dpkg -P left %s", envDeb)
	}
	if pkgInstalled() {
		t.Errorf("%s still known to dpkg after purge", pkgName)
	}
	if !userExists("pgha") || !strings.Contains(r.out, "userdel pgha") {
		t.Errorf("purge must keep the user pgha and say how to delete it; user exists: %v\n%s", userExists("pgha"), r.out)
	}

	t.Run("rpm", func(t *testing.T) { checkRPM(t, rpm, stage, share) })
	t.Run("rpm el6", func(t *testing.T) { checkRPMEL6(t, rpmEL6, binEL6, stage, share) })
}

// checkUnit checks the settings the unit must have and the ones it must
// not have (they break libqb IPC, see packaging/README.md).
func checkUnit(t *testing.T, path, envFile string) {
	t.Helper()
	settings := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: not a setting: %q", path, line)
			continue
		}
		settings[k] = append(settings[k], v)
	}
	want := map[string]string{
		"Type": "simple", "Restart": "on-failure", "User": "pgha", "Group": "pgha",
		"SupplementaryGroups": "haclient", "EnvironmentFile": "-" + envFile,
		"ExecStart":       "/usr/bin/pgha_exporter $PGHA_EXPORTER_ARGS",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
		"ProtectKernelTunables":   "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
		"RestrictNamespaces": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
		"RestrictRealtime": "yes", "SystemCallArchitectures": "native", "CapabilityBoundingSet": "",
		"ReadWritePaths": "/dev/shm",
	}
	for k, v := range want {
		if got := settings[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s: %s=%q, want exactly %s=%s", path, k, got, k, v)
		}
	}
	for _, k := range []string{"PrivateDevices", "PrivateNetwork", "PrivateIPC", "PrivateUsers", "RemoveIPC", "DynamicUser", "TemporaryFileSystem", "InaccessiblePaths"} {
		if v, ok := settings[k]; ok {
			t.Errorf("%s: %s=%v breaks libqb IPC (/dev/shm, abstract sockets, haclient)", path, k, v)
		}
	}
	other := map[string]string{envDeb: envRPM, envRPM: envDeb}[envFile]
	for k, vs := range settings {
		for _, v := range vs {
			if strings.Contains(v, other) {
				t.Errorf("%s: %s=%s names the other distribution's environment file", path, k, v)
			}
		}
	}
}

func checkRPM(t *testing.T, rpmFile, stage string, share []string) {
	if _, err := exec.LookPath("rpm"); err != nil {
		// Debian's rpm package reads .rpm files without an rpm database.
		if err := aptInstall(t, "rpm"); err != nil {
			t.Skipf("rpm is not installable here, the .rpm is only known to nfpm's own output: %v", err)
		}
	}
	info := must(t, time.Minute, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{PAYLOADCOMPRESSOR} %{LICENSE}", rpmFile)
	t.Logf("rpm -qp: %s", info)
	if f := strings.Fields(info); len(f) != 6 || f[0] != pkgName || f[2] != "1" || f[5] != "Apache-2.0" {
		t.Errorf("rpm header: %q", info)
	}
	list := strings.Fields(must(t, time.Minute, "rpm", "-qpl", rpmFile))
	want := []string{binPath, unitRPM, envRPM, docDir + "/README.md", docDir + "/packaging.md", docDir + "/LICENSE", shareDir, shareDir + "/dashboards", shareDir + "/alerts", shareDir + "/nagios"}
	for _, f := range nagiosFiles {
		want = append(want, shareDir+"/nagios/"+f)
	}
	for _, f := range share {
		want = append(want, shareDir+"/"+f)
	}
	for _, w := range want {
		if !slices.Contains(list, w) {
			t.Errorf("rpm -qpl: %s missing", w)
		}
	}
	for _, f := range list {
		if f == envDeb || f == unitDeb || f == "/lib" || f == "/usr" || f == "/etc" || f == "/usr/share" || f == "/usr/bin" {
			t.Errorf("rpm -qpl: %s must not be in the rpm (deb path or a directory owned by the filesystem package)", f)
		}
	}
	// %config(noreplace) is flag "cn" in rpm's --qf fflags.
	flags := must(t, time.Minute, "rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpmFile)
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(envRPM) + ` cn$`).MatchString(flags) {
		t.Errorf("%s is not %%config(noreplace):\n%s", envRPM, flags)
	}
	scripts := must(t, time.Minute, "rpm", "-qp", "--scripts", rpmFile)
	for _, s := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		if !strings.Contains(scripts, s) {
			t.Errorf("rpm --scripts: no %s", s)
		}
	}
	// The unit and the environment file in the rpm are the staged rpm
	// variants (naming /etc/sysconfig): compare digests.
	dump := must(t, time.Minute, "rpm", "-qp", "--dump", rpmFile)
	for path, src := range map[string]string{
		unitRPM: filepath.Join(stage, "rpm", "pgha_exporter.service"),
		envRPM:  filepath.Join(stage, "rpm", "pgha_exporter.sysconfig"),
	} {
		sum := fileSum(t, src)
		if !strings.Contains(dump, path+" ") || !strings.Contains(dump, sum) {
			t.Errorf("rpm --dump: %s is not %s (sha256 %s)", path, src, sum)
		}
	}
	checkUnit(t, filepath.Join(stage, "rpm", "pgha_exporter.service"), envRPM)
}

// checkRPMEL6 checks the EL6 rpm: its binary was built by Go 1.23.12 (the
// last Go for Linux 2.6.32), it ships the init script and no systemd unit,
// and its scripts use chkconfig, never systemctl.
func checkRPMEL6(t *testing.T, rpmFile, bin, stage string, share []string) {
	if _, err := exec.LookPath("rpm"); err != nil {
		if err := aptInstall(t, "rpm"); err != nil {
			t.Skipf("rpm is not installable here: %v", err)
		}
	}
	gv := must(t, time.Minute, "go", "version", "-m", bin)
	t.Logf("go version -m %s:\n%s", filepath.Base(bin), lastLines(gv, 200))
	if first, _, _ := strings.Cut(gv, "\n"); !strings.HasSuffix(first, ": "+goEL6) {
		t.Errorf("the EL6 binary was built by %q, want %s", first, goEL6)
	}
	if !regexp.MustCompile(`(?m)^\s+build\s+CGO_ENABLED=0$`).MatchString(gv) {
		t.Errorf("the EL6 binary is not static (CGO_ENABLED=0)")
	}
	info := must(t, time.Minute, "rpm", "-qp", "--qf", "%{NAME} %{RELEASE} %{ARCH} %{LICENSE}", rpmFile)
	if f := strings.Fields(info); len(f) != 4 || f[0] != pkgName || f[1] != "1.el6" || f[3] != "Apache-2.0" {
		t.Errorf("rpm header: %q", info)
	}
	list := strings.Fields(must(t, time.Minute, "rpm", "-qpl", rpmFile))
	want := []string{binPath, initEL6, envRPM, docDir + "/README.md", docDir + "/packaging.md", shareDir + "/nagios"}
	for _, f := range share {
		want = append(want, shareDir+"/"+f)
	}
	for _, w := range want {
		if !slices.Contains(list, w) {
			t.Errorf("rpm -qpl (EL6): %s missing", w)
		}
	}
	for _, f := range list {
		if strings.Contains(f, "systemd") || f == envDeb {
			t.Errorf("rpm -qpl (EL6): %s must not be in the EL6 rpm", f)
		}
	}
	modes := must(t, time.Minute, "rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILEFLAGS:fflags}\n]", rpmFile)
	for _, w := range []string{initEL6 + " -rwxr-xr-x ", binPath + " -rwxr-xr-x ", envRPM + " -rw------- cn"} {
		if !strings.Contains(modes, w) {
			t.Errorf("rpm (EL6): no %q in\n%s", w, modes)
		}
	}
	scripts := must(t, time.Minute, "rpm", "-qp", "--scripts", rpmFile)
	for _, w := range []string{"chkconfig --add pgha_exporter", "chkconfig --del pgha_exporter", "useradd -r"} {
		if !strings.Contains(scripts, w) {
			t.Errorf("rpm --scripts (EL6): no %q", w)
		}
	}
	if strings.Contains(scripts, "systemctl") {
		t.Errorf("rpm --scripts (EL6) runs systemctl:\n%s", scripts)
	}
	requires := must(t, time.Minute, "rpm", "-qpR", rpmFile)
	for _, w := range []string{"chkconfig", "initscripts", "shadow-utils"} {
		if !strings.Contains(requires, w) {
			t.Errorf("rpm -qpR (EL6): no %s", w)
		}
	}
	dump := must(t, time.Minute, "rpm", "-qp", "--dump", rpmFile)
	for path, src := range map[string]string{
		binPath: bin,
		initEL6: filepath.Join(repoRoot(t), "packaging", "pgha_exporter.init"),
		envRPM:  filepath.Join(stage, "el6", "pgha_exporter.sysconfig"),
	} {
		if sum := fileSum(t, src); !strings.Contains(dump, path+" ") || !strings.Contains(dump, sum) {
			t.Errorf("rpm --dump (EL6): %s is not %s (sha256 %s)", path, src, sum)
		}
	}
	env := readFile(t, filepath.Join(stage, "el6", "pgha_exporter.sysconfig"))
	if strings.Contains(env, "systemctl") || strings.Contains(env, "Read by systemd") {
		t.Errorf("the EL6 environment file talks about systemd")
	}
	// The init script reads the file with the shell.
	if r := run(t, time.Minute, "", nil, "sh", "-n", filepath.Join(stage, "el6", "pgha_exporter.sysconfig")); r.err != nil {
		t.Errorf("sh -n on the EL6 environment file: %v\n%s", r.err, r.out)
	}
}

// checkInitScript runs the EL6 init script on this machine (no EL6
// functions file, no systemd needed): start, status, a second start, stop,
// status. It runs a copy whose paths point into a temporary directory and at
// the installed binary, as the user pgha the package created.
func checkInitScript(t *testing.T, root string) {
	script := filepath.Join(root, "packaging", "pgha_exporter.init")
	for _, sh := range []string{"sh", "bash"} {
		if r := run(t, time.Minute, "", nil, sh, "-n", script); r.err != nil {
			t.Fatalf("%s -n %s: %v\n%s", sh, script, r.err, r.out)
		}
	}
	text := readFile(t, script)
	for _, w := range []string{"# chkconfig:", "# description:", "# pidfile:", "### BEGIN INIT INFO", "runuser", "nohup"} {
		if !strings.Contains(text, w) {
			t.Errorf("init script has no %q", w)
		}
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := crmtest.FreeAddr(t)
	monFile := filepath.Join(root, "crm", "testdata", "generated", "healthy", "crm_mon.xml")
	sysconfig := filepath.Join(dir, "sysconfig")
	if err := os.WriteFile(sysconfig, []byte("PGHA_EXPORTER_ARGS=\"--web.listen-address="+addr+" --crm.mon-file="+monFile+" --no-collector.corosync --no-collector.postgres\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pidFile, logFile := filepath.Join(dir, "pid"), filepath.Join(dir, "log")
	for k, v := range map[string]string{"sysconfig": sysconfig, "pidfile": pidFile, "logfile": logFile} {
		re := regexp.MustCompile(`(?m)^` + k + `=.*$`)
		if !re.MatchString(text) {
			t.Fatalf("init script sets no %s=", k)
		}
		text = re.ReplaceAllLiteralString(text, k+"="+v)
	}
	copyPath := filepath.Join(dir, "init")
	if err := os.WriteFile(copyPath, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	initCmd := func(action string) result {
		r := run(t, time.Minute, "/", nil, copyPath, action)
		t.Logf("init %s: exit %d: %s", action, r.code, strings.TrimSpace(r.out))
		return r
	}
	t.Cleanup(func() { initCmd("stop") })
	if r := initCmd("status"); r.code != 3 {
		t.Errorf("status before start: exit %d, want 3", r.code)
	}
	if r := initCmd("start"); r.code != 0 {
		t.Fatalf("start: exit %d\n%s", r.code, readFile(t, logFile))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	st := must(t, time.Minute, "ps", "-o", "user=,ppid=", "-p", strconv.Itoa(pid))
	if f := strings.Fields(st); len(f) != 2 || f[0] != "pgha" || f[1] != "1" {
		t.Errorf("exporter pid %d: user and parent %q, want pgha and 1 (detached)", pid, st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := run(t, 10*time.Second, "", nil, "curl", "-sf", "http://"+addr+"/metrics")
		if r.err == nil && strings.Contains(r.out, "pgha_exporter_build_info") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exporter started by the init script does not serve %s: %v\n%s", addr, r.err, readFile(t, logFile))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := initCmd("status"); r.code != 0 || !strings.Contains(r.out, strconv.Itoa(pid)) {
		t.Errorf("status while running: exit %d", r.code)
	}
	if r := initCmd("start"); r.code != 0 || !strings.Contains(r.out, "already running") {
		t.Errorf("second start: exit %d", r.code)
	}
	if r := initCmd("stop"); r.code != 0 {
		t.Errorf("stop: exit %d", r.code)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("pid %d still runs after stop", pid)
	}
	if r := initCmd("status"); r.code != 3 || exists(pidFile) {
		t.Errorf("status after stop: exit %d, pid file left: %v", r.code, exists(pidFile))
	}
	if !strings.Contains(readFile(t, logFile), "starting pgha_exporter") {
		t.Errorf("nothing logged to %s", logFile)
	}
}

// TestPackageVersion checks package.sh's git describe -> version mapping in a
// scratch repository, and that dpkg sorts the results as intended.
func TestPackageVersion(t *testing.T) {
	for _, tool := range []string{"git", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "packaging"), 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("package.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "packaging", "package.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + dir}
	git := func(args ...string) string {
		r := run(t, time.Minute, dir, env, "git", args...)
		if r.err != nil {
			t.Fatalf("git %v: %v\n%s", args, r.err, r.out)
		}
		return strings.TrimSpace(r.out)
	}
	version := func() string {
		r := run(t, time.Minute, dir, env, "sh", "packaging/package.sh", "version")
		if r.err != nil {
			t.Fatalf("package.sh version: %v\n%s", r.err, r.out)
		}
		return strings.TrimSpace(r.out)
	}
	commit := func(msg string) string {
		appendFile(t, filepath.Join(dir, "f"), msg+"\n")
		git("add", "f")
		git("commit", "-q", "-m", msg)
		return git("rev-parse", "--short", "HEAD")
	}
	valid := regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
	check := func(want string) string {
		t.Helper()
		got := version()
		if got != want {
			t.Errorf("version %q, want %q (git describe: %s)", got, want, git("describe", "--tags", "--always", "--dirty"))
		}
		if !valid.MatchString(got) {
			t.Errorf("version %q is not valid for dpkg and rpm", got)
		}
		return got
	}

	git("init", "-q")
	sha := commit("one")
	untagged := check("0.0.0~git" + sha)
	appendFile(t, filepath.Join(dir, "f"), "dirty\n")
	check("0.0.0~git" + sha + "+dirty")
	git("checkout", "-q", "--", "f")
	git("tag", "v1.2.3")
	release := check("1.2.3")
	sha = commit("two")
	after := check("1.2.3+git1." + sha)
	commit("three")
	git("tag", "v1.3.0-rc1")
	rc := check("1.3.0~rc1")
	git("tag", "v1.3.0")
	final := version()
	if final != "1.3.0" && final != "1.3.0~rc1" { // git picks one of two tags on the same commit
		t.Errorf("version %q, want 1.3.0 or 1.3.0~rc1", final)
	}

	if _, err := exec.LookPath("dpkg"); err != nil {
		return
	}
	for _, pair := range [][2]string{{untagged, release}, {release, after}, {after, rc}, {rc, "1.3.0"}} {
		if r := run(t, time.Minute, dir, nil, "dpkg", "--compare-versions", pair[0], "lt", pair[1]); r.err != nil {
			t.Errorf("dpkg: %s is not older than %s", pair[0], pair[1])
		}
	}
}

// TestEnvFileListsEveryFlag keeps the shipped environment file in step with
// the binary: every global flag of `pgha_exporter --help-long` must appear
// in it (commented out, with its default).
func TestEnvFileListsEveryFlag(t *testing.T) {
	goBin := "go"
	bin := filepath.Join(t.TempDir(), "pgha_exporter")
	if r := run(t, 10*time.Minute, "", nil, goBin, "build", "-o", bin, "./cmd/pgha_exporter"); r.err != nil {
		t.Fatalf("go build: %v\n%s", r.err, r.out)
	}
	r := run(t, time.Minute, "", nil, bin, "--help-long")
	if r.err != nil {
		t.Fatalf("--help-long: %v\n%s", r.err, r.out)
	}
	start, end := strings.Index(r.out, "\nFlags:\n"), strings.Index(r.out, "\nCommands:\n")
	if start < 0 || end < start {
		t.Fatalf("unexpected --help-long output:\n%s", r.out)
	}
	// "  -h, --[no-]help" or "      --log.level=info"; help text is indented deeper.
	flagRE := regexp.MustCompile(`(?m)^(?:  -\w, |      )--(\[no-\])?([a-z][a-z0-9.-]*)`)
	env := readFile(t, "pgha_exporter.default")
	n := 0
	for _, m := range flagRE.FindAllStringSubmatch(r.out[start:end], -1) {
		name := m[2]
		if name == "help" || name == "version" {
			continue
		}
		n++
		if !strings.Contains(env, "# --"+name) && !strings.Contains(env, "# --no-"+name) {
			t.Errorf("packaging/pgha_exporter.default does not list --%s (add a commented line with its default and meaning)", name)
		}
	}
	if n < 20 {
		t.Errorf("found only %d flags in --help-long; parser out of date?", n)
	}
}

func size(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
