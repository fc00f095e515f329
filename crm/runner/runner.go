// Package runner runs external commands for the cluster-state parsers: with a
// deadline, LC_ALL=C, capped output, and the whole process group killed on
// expiry so that a hung crm_mon or corosync tool never outlives its caller.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMaxOutput caps stdout of one command. crm_mon prints about 370 KB
// for 32 nodes and 500 resources, so 16 MB holds a cluster forty times that
// size while bounding what one refresh can hold in memory.
const DefaultMaxOutput = 16 << 20

// MaxStderr is how much of stderr a run keeps (for error messages); the rest
// is read and discarded, so a chatty tool is neither killed nor stored.
const MaxStderr = 64 << 10

// orphanGrace bounds how long Run keeps reading pipes after the command
// exited and its process group was killed: a child that left the group may
// still hold them open.
const orphanGrace = 500 * time.Millisecond

// ErrTimeout is returned (wrapped) when a command ran past its deadline and
// its process group was killed.
var ErrTimeout = errors.New("timed out")

// ErrOutputTooLarge is returned (wrapped) when a command printed more than
// MaxOutput bytes; the command is killed.
var ErrOutputTooLarge = errors.New("output too large")

// Command describes one invocation.
type Command struct {
	Path      string
	Args      []string
	Env       []string      // extra KEY=VALUE pairs, appended after LC_ALL=C
	Timeout   time.Duration // 0 means only the context's deadline
	MaxOutput int           // per stream; 0 means DefaultMaxOutput
}

// String renders the command line for messages (arguments hold no secrets).
func (c Command) String() string {
	return strings.TrimSpace(c.Path + " " + strings.Join(c.Args, " "))
}

// Result is what a command printed and how it ended. A non-zero exit code is
// not an error: cluster tools report health through it.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	Duration time.Duration
}

// Runner runs commands; tests substitute fakes.
type Runner interface {
	Run(ctx context.Context, c Command) (Result, error)
}

// Exec is the real Runner.
type Exec struct{}

// readCapped reads r until EOF, an error or its deadline, into a buffer of
// initial bytes (> 0) at first, keeping at most
// max bytes. The buffer grows by doubling up to max, never beyond, so memory
// stays bounded by the cap whatever the command prints. When more than max
// bytes come, onFull (if set) is called once and the rest is discarded.
func readCapped(r io.Reader, max, initial int, onFull func()) (buf []byte, overflow bool) {
	buf = make([]byte, 0, min(initial, max))
	var scratch [4096]byte
	for {
		if len(buf) == cap(buf) && len(buf) < max {
			grown := make([]byte, len(buf), min(2*cap(buf), max))
			copy(grown, buf)
			buf = grown
		}
		var n int
		var err error
		if len(buf) < max {
			n, err = r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
		} else {
			n, err = r.Read(scratch[:])
			if n > 0 && !overflow {
				overflow = true
				if onFull != nil {
					onFull()
				}
			}
		}
		if err != nil {
			return buf, overflow
		}
	}
}

// Run starts the command in its own process group and waits for it, killing
// the group on timeout, on context cancellation or on output overflow. Once
// the command itself has exited, whatever is left of its group (a child
// that kept stdout open) is killed too: a tool that exited with its complete
// output is a finished run, not one to wait for.
//
// It forks and execs directly (syscall.ForkExec, pipes made with O_CLOEXEC)
// rather than through os/exec: a refresh of an idle cluster is one crm_mon
// run every few seconds, and os/exec's extra work per run (a /dev/null open,
// a pidfd, its goroutines) cost the exporter more CPU than everything else
// it does while nothing changes (docs/performance.md).
func (Exec) Run(ctx context.Context, c Command) (Result, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	max := c.MaxOutput
	if max <= 0 {
		max = DefaultMaxOutput
	}
	path := c.Path
	if !strings.Contains(path, "/") {
		lp, err := exec.LookPath(path)
		if err != nil {
			return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
		}
		path = lp
	}
	null, err := devNull()
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
	}
	outR, outW, err := pipe()
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
	}
	defer outR.Close()
	errR, errW, err := pipe()
	if err != nil {
		syscall.Close(outW)
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
	}
	defer errR.Close()

	env := append(environ(), "LC_ALL=C", "LANG=C")
	env = append(env, c.Env...)
	start := time.Now()
	pid, err := syscall.ForkExec(path, append([]string{c.Path}, c.Args...), &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{uintptr(null), uintptr(outW), uintptr(errW)},
		// Its own group, so that one kill reaches its children; and killed
		// if the exporter dies without a chance to clean up (SIGKILL, a crash).
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	syscall.Close(outW)
	syscall.Close(errW)
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, &os.PathError{Op: "fork/exec", Path: c.Path, Err: err})
	}
	overflow := make(chan struct{})
	outc, errc := make(chan []byte, 1), make(chan []byte, 1)
	go func() {
		b, _ := readCapped(outR, max, 32<<10, func() { close(overflow) })
		outc <- b
	}()
	go func() {
		b, _ := readCapped(errR, MaxStderr, 512, nil)
		errc <- b
	}()
	// The command is waited for without being reaped: while it is a zombie
	// its pid, which is also its process group's id, cannot be reused, so
	// the group kills below reach only what this run started.
	done := make(chan error, 1)
	go func() { done <- waitExited(pid) }()

	var cause error
	select {
	case <-done:
	case <-ctx.Done():
		cause = ErrTimeout
		if errors.Is(ctx.Err(), context.Canceled) {
			cause = ctx.Err()
		}
		killGroup(pid)
		<-done
	case <-overflow:
		cause = ErrOutputTooLarge
		killGroup(pid)
		<-done
	}
	killGroup(pid)
	status, waitErr := reap(pid)
	grace := time.Now().Add(orphanGrace)
	_ = outR.SetReadDeadline(grace)
	_ = errR.SetReadDeadline(grace)
	stdout, stderr := <-outc, <-errc
	select {
	case <-overflow:
		cause = ErrOutputTooLarge
	default:
	}
	res := Result{Stdout: stdout, Stderr: stderr, ExitCode: -1, Duration: time.Since(start)}
	if waitErr == nil && status.Exited() {
		res.ExitCode = status.ExitStatus()
	}
	if cause != nil {
		return res, fmt.Errorf("%s: %w after %s", c.String(), cause, res.Duration.Round(time.Millisecond))
	}
	if waitErr != nil {
		return res, fmt.Errorf("%s: %w", c.String(), waitErr)
	}
	return res, nil
}

// pipe makes a pipe whose read end is a pollable *os.File (so reads honour
// deadlines) and whose write end, for the child, is a blocking descriptor.
// Both are close-on-exec: ForkExec dups the child's end onto 1 or 2.
func pipe() (*os.File, int, error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, -1, err
	}
	if err := syscall.SetNonblock(p[0], true); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, -1, err
	}
	return os.NewFile(uintptr(p[0]), "pipe"), p[1], nil
}

var null struct {
	once sync.Once
	fd   int
	err  error
}

// devNull is the children's stdin: /dev/null, opened once and kept.
func devNull() (int, error) {
	null.once.Do(func() {
		null.fd, null.err = syscall.Open(os.DevNull, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	})
	return null.fd, null.err
}

// waitExited returns once pid has exited, leaving it to be reaped. It waits
// on a pidfd through the runtime's poller, so that no thread sits in a
// blocking wait while the command runs (such a thread keeps the runtime's
// monitor thread waking every few milliseconds: most of an idle exporter's
// CPU). Kernels without pidfd_open (before 5.3, EL6's 2.6.32) get the
// blocking wait.
func waitExited(pid int) error {
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fd)
		} else {
			f := os.NewFile(uintptr(fd), "pidfd")
			defer f.Close()
			if rc, err := f.SyscallConn(); err == nil {
				var werr error
				err = rc.Read(func(fd uintptr) bool {
					// With WNOHANG and nothing to report, the kernel
					// leaves si_signo 0; an exited child has SIGCHLD.
					var info unix.Siginfo
					werr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
					return werr != nil && werr != syscall.EINTR || werr == nil && info.Signo != 0
				})
				if err == nil {
					return werr
				}
			}
		}
	}
	return waitBlocking(pid)
}

// waitBlocking blocks until pid has exited, leaving it to be reaped.
func waitBlocking(pid int) error {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != syscall.EINTR {
			return err
		}
	}
}

// reap collects pid's exit status.
func reap(pid int) (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return ws, err
		}
	}
}

func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// environ returns the process environment without locale variables, which
// Run pins to C.
func environ() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
