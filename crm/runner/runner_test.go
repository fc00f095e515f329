package runner

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunExitCodeIsNotAnError(t *testing.T) {
	res, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c", "echo out; echo err >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Errorf("got %+v", res)
	}
}

func TestRunLocaleAndEnv(t *testing.T) {
	t.Setenv("LC_MESSAGES", "de_DE.UTF-8")
	res, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c", "echo $LC_ALL $LC_MESSAGES $CIB_file"}, Env: []string{"CIB_file=/x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(res.Stdout)); got != "C /x" {
		t.Errorf("env: %q", got)
	}
}

// TestRunTimeoutKillsGroup: the command and the grandchild it started are
// both gone once Run returns on timeout. The timeout leaves the shell time
// to start and record its child even on a loaded machine.
func TestRunTimeoutKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	_, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh",
		Args:    []string{"-c", "sleep 1000 & echo $! > " + pidFile + "; wait"},
		Timeout: 2 * time.Second})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Run took %s", d)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs; a zombie awaiting its (re)parent's wait
// counts as dead.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestRunContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := Exec{}.Run(ctx, Command{Path: "/bin/sleep", Args: []string{"1000"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestRunOutputCap(t *testing.T) {
	_, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c", "yes"}, MaxOutput: 1 << 16, Timeout: 10 * time.Second})
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Errorf("err = %v", err)
	}
}

// TestRunMissingBinary: a binary that is not there is reported as such
// (the sources classify it as a missing tool), found by a stat before any
// fork.
func TestRunMissingBinary(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/nonexistent/tool", filepath.Join(dir, "tool"), filepath.Join(file, "tool")} {
		if missing(path) == nil {
			t.Errorf("missing(%s) = nil", path)
		}
		_, err := Exec{}.Run(context.Background(), Command{Path: path})
		if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("%s: err = %v", path, err)
		}
	}
	if err := missing(file); err != nil {
		t.Errorf("missing(%s) = %v for a file that is there", file, err)
	}
	// Not executable: left to the exec, which reports permission denied.
	if _, err := (Exec{}).Run(context.Background(), Command{Path: file}); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("%s (mode 0644): err = %v", file, err)
	}
}

// TestRunChildKeepsStdoutOpen: a tool that exits 0 after printing its whole
// output but leaves a child holding stdout succeeds at once, and the child
// is killed rather than orphaned.
func TestRunChildKeepsStdoutOpen(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh",
		Args:    []string{"-c", "echo '<ok/>'; sleep 1000 & echo $! > " + pidFile + "; exit 0"},
		Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if string(res.Stdout) != "<ok/>\n" || res.ExitCode != 0 {
		t.Errorf("got stdout %q exit %d", res.Stdout, res.ExitCode)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Run took %s waiting for the orphan's pipe", d)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d holding stdout survived the run", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunHugeOutputMemoryBounded: 200 MB on stdout is cut at the cap with
// ErrOutputTooLarge, and reading it allocates about the cap, not a multiple
// of the output.
func TestRunHugeOutputMemoryBounded(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh",
		Args: []string{"-c", "head -c 209715200 /dev/zero"}, Timeout: 30 * time.Second})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if len(res.Stdout) > DefaultMaxOutput {
		t.Errorf("kept %d bytes, cap %d", len(res.Stdout), DefaultMaxOutput)
	}
	// The exporter must stay under 100 MB RSS through such output.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 40<<20 {
		t.Errorf("reading 200 MB allocated %d MB (cap %d MB); want at most 40 MB", alloc>>20, DefaultMaxOutput>>20)
	}
}

// TestRunStderrFlood: a tool that writes 30 MB to stderr but a good stdout
// succeeds, and only the first MaxStderr bytes of stderr are kept.
func TestRunStderrFlood(t *testing.T) {
	res, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh",
		Args: []string{"-c", "head -c 31457280 /dev/zero | tr '\\0' x >&2; echo '<ok/>'"}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if string(res.Stdout) != "<ok/>\n" {
		t.Errorf("stdout %q", res.Stdout)
	}
	if len(res.Stderr) == 0 || len(res.Stderr) > MaxStderr {
		t.Errorf("kept %d bytes of stderr, want 1..%d", len(res.Stderr), MaxStderr)
	}
}

// TestRunQuickExit: a command that exits within the quick window has its
// whole output read after the exit, without streaming, up to the pipe's size
// (crm_mon of a large cluster); a larger output fills the pipe, is streamed
// once the window has passed, and is still read whole. The window is long
// here so that a loaded machine cannot push a quick command past it.
func TestRunQuickExit(t *testing.T) {
	for _, tc := range []struct {
		size         int
		wantStreamed bool
	}{
		{0, false},
		{6598, false},      // crm_mon, 3 nodes
		{400 << 10, false}, // crm_mon, 32 nodes and 500 resources
		{3 << 20, true},    // more than the pipe holds
	} {
		res, streamed, err := runCommand(context.Background(), Command{Path: "/bin/sh",
			Args:    []string{"-c", "head -c " + strconv.Itoa(tc.size) + " /dev/zero | tr '\\0' x; echo done >&2"},
			Timeout: 20 * time.Second}, 2*time.Second)
		if err != nil {
			t.Fatalf("%d bytes: %v", tc.size, err)
		}
		if len(res.Stdout) != tc.size || strings.Trim(string(res.Stdout), "x") != "" || string(res.Stderr) != "done\n" || res.ExitCode != 0 {
			t.Errorf("%d bytes: got %d bytes of stdout, stderr %q, exit %d", tc.size, len(res.Stdout), res.Stderr, res.ExitCode)
		}
		if streamed != tc.wantStreamed {
			t.Errorf("%d bytes: streamed = %v, want %v", tc.size, streamed, tc.wantStreamed)
		}
	}
}

// TestRunQuickExitOverflow: a command that exits at once with more than
// MaxOutput (but less than the pipe holds) is cut at the cap with
// ErrOutputTooLarge, as a streamed one is.
func TestRunQuickExitOverflow(t *testing.T) {
	res, streamed, err := runCommand(context.Background(), Command{Path: "/bin/sh",
		Args: []string{"-c", "head -c 5000 /dev/zero"}, MaxOutput: 1000, Timeout: 10 * time.Second}, 5*time.Second)
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if len(res.Stdout) != 1000 || streamed {
		t.Errorf("kept %d bytes (want the cap, 1000), streamed %v", len(res.Stdout), streamed)
	}
}

// TestRunQuickTimeout: a deadline shorter than quickWindow ends the run at
// the deadline and kills the command.
func TestRunQuickTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	_, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh",
		Args:    []string{"-c", "echo $$ > " + pidFile + "; exec sleep 1000"},
		Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > quickWindow+orphanGrace {
		t.Errorf("Run took %s for a 100ms timeout", d)
	}
	if data, err := os.ReadFile(pidFile); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if alive(pid) {
			t.Errorf("command %d survived the timeout", pid)
		}
	}
}

// TestRunQuickExitOrphanOutsideGroup: a command that exits at once but left
// a child in a session of its own holding stdout (out of reach of the group
// kill) returns within orphanGrace with the command's output and what the
// child wrote meanwhile.
func TestRunQuickExitOrphanOutsideGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res, err := Exec{}.Run(context.Background(), Command{Path: "/bin/sh",
		Args: []string{"-c", "echo first; setsid sh -c 'echo $$ > " + pidFile + "; sleep 0.05; echo orphan; exec sleep 1000' & " +
			"while [ ! -s " + pidFile + " ]; do sleep 0.01; done; exit 0"},
		Timeout: 10 * time.Second})
	t.Cleanup(func() {
		if data, err := os.ReadFile(pidFile); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			if pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasPrefix(string(res.Stdout), "first\n") {
		t.Errorf("stdout %q", res.Stdout)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %s waiting for the orphan's pipe", d)
	}
}
