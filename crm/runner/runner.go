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

// readCapped reads r until EOF, an error or its deadline, appending to buf
// (allocated with initial bytes (> 0) if nil), keeping at most limit bytes.
// The buffer grows by doubling up to limit, never beyond, so memory stays
// bounded by the cap whatever the command prints. When more than limit bytes
// come, onFull (if set) is called once and the rest is discarded.
func readCapped(r io.Reader, buf []byte, limit, initial int, onFull func()) ([]byte, bool) {
	if buf == nil {
		buf = make([]byte, 0, min(initial, limit))
	}
	overflow := false
	var scratch [4096]byte
	for {
		if len(buf) == cap(buf) && len(buf) < limit {
			grown := make([]byte, len(buf), min(max(2*cap(buf), initial), limit))
			copy(grown, buf)
			buf = grown
		}
		var n int
		var err error
		if len(buf) < limit {
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

// quickWindow is how long Run waits for a command's exit alone before it
// streams the command's output. crm_mon prints its whole answer and exits
// well within it (tens of milliseconds for 3 nodes, about 0.4 s for 32 nodes
// and 500 resources); the output then waits in the pipe (made big enough for
// that answer) and is read in one go after the exit, so an idle refresh
// wakes the exporter once, at the command's end, instead of once per write,
// per closed pipe and for the exit. A command still running after it (a slow
// CIB, an output larger than the pipe, a hung tool) is streamed, under its
// deadline, from then on; a deadline or a cancellation within the window
// ends the run at once.
const quickWindow = time.Second

// pipeSize is what Run asks for the stdout pipe (F_SETPIPE_SZ; Linux's
// default pipe-max-size, so an unprivileged exporter gets it too): crm_mon's
// answer for 32 nodes and 500 resources (about 370 KB) fits whole.
const pipeSize = 1 << 20

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
// it does while nothing changes (docs/performance.md). For the same reason a
// command that exits within quickWindow is waited for on its pidfd alone and
// its output read after the exit.
func (Exec) Run(ctx context.Context, c Command) (Result, error) {
	res, _, err := runCommand(ctx, c, quickWindow)
	return res, err
}

// runCommand is Run with a quick window of its own; streamed says whether
// the output was read while the command ran (rather than after its exit).
func runCommand(ctx context.Context, c Command, quick time.Duration) (Result, bool, error) {
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
			return Result{ExitCode: -1}, false, fmt.Errorf("%s: %w", c.Path, err)
		}
		path = lp
	} else if err := missing(path); err != nil {
		// No fork for a binary that is not there: the corosync source's
		// auto mode asks for cman_tool on every refresh of a node without
		// CMAN.
		return Result{ExitCode: -1}, false, fmt.Errorf("%s: %w", c.Path, &os.PathError{Op: "fork/exec", Path: c.Path, Err: err})
	}
	null, err := devNull()
	if err != nil {
		return Result{ExitCode: -1}, false, fmt.Errorf("%s: %w", c.Path, err)
	}
	outR, outW, err := pipe()
	if err != nil {
		return Result{ExitCode: -1}, false, fmt.Errorf("%s: %w", c.Path, err)
	}
	errR, errW, err := pipe()
	if err != nil {
		syscall.Close(outR)
		syscall.Close(outW)
		return Result{ExitCode: -1}, false, fmt.Errorf("%s: %w", c.Path, err)
	}
	// Best effort: a smaller pipe only means that a large answer is
	// streamed rather than read after the exit.
	_, _ = unix.FcntlInt(uintptr(outW), unix.F_SETPIPE_SZ, pipeSize)

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
		syscall.Close(outR)
		syscall.Close(errR)
		return Result{ExitCode: -1}, false, fmt.Errorf("%s: %w", c.Path, &os.PathError{Op: "fork/exec", Path: c.Path, Err: err})
	}
	r := &run{pid: pid, max: max, stdout: stream{fd: outR}, stderr: stream{fd: errR}}
	defer r.close()
	// The command is waited for without being reaped: while it is a zombie
	// its pid, which is also its process group's id, cannot be reused, so
	// the group kills below reach only what this run started.
	cause := r.wait(ctx, start.Add(quick))
	res := Result{Stdout: r.stdout.buf, Stderr: r.stderr.buf, ExitCode: -1, Duration: time.Since(start)}
	if r.overflow {
		cause = ErrOutputTooLarge
	}
	if r.waitErr == nil && r.status.Exited() {
		res.ExitCode = r.status.ExitStatus()
	}
	if cause != nil {
		return res, r.streamed, fmt.Errorf("%s: %w after %s", c.String(), cause, res.Duration.Round(time.Millisecond))
	}
	if r.waitErr != nil {
		return res, r.streamed, fmt.Errorf("%s: %w", c.String(), r.waitErr)
	}
	return res, r.streamed, nil
}

// run is one started command: its pid, its pipes and what came of them.
type run struct {
	pid            int
	max            int
	stdout, stderr stream
	overflow       bool // stdout passed max
	streamed       bool // read while it ran (not after a quick exit)
	status         syscall.WaitStatus
	waitErr        error
}

// stream is the read end of one of the command's pipes: a raw non-blocking
// descriptor until it is streamed, then an *os.File in the runtime's poller.
type stream struct {
	fd   int
	file *os.File
	buf  []byte
	eof  bool
}

func (r *run) close() {
	for _, s := range []*stream{&r.stdout, &r.stderr} {
		if s.file != nil {
			s.file.Close()
		} else if s.fd >= 0 {
			syscall.Close(s.fd)
		}
		s.fd, s.file = -1, nil
	}
}

// wait waits for the command to end and reads its output, and returns why
// it was cut short (nil when it ran to its end). Until quickBy, only the
// exit is waited for (on a pidfd); a command that ends by then is reaped and
// its output read from the pipes at once. Otherwise, and on kernels without
// pidfd, the output is streamed while the command runs.
func (r *run) wait(ctx context.Context, quickBy time.Time) error {
	pidfd := openPidfd(r.pid)
	if pidfd == nil {
		return r.waitStreaming(ctx, nil)
	}
	defer pidfd.Close()
	exited, cause := waitQuick(ctx, pidfd, quickBy)
	if !exited && cause == nil {
		return r.waitStreaming(ctx, pidfd)
	}
	if !exited {
		killGroup(r.pid)
		_ = pidfd.SetReadDeadline(time.Time{})
		_ = waitPidfd(pidfd)
	}
	killGroup(r.pid)
	r.status, r.waitErr = reap(r.pid)
	r.drain()
	// A pipe still open after the group is gone is held by something
	// outside it (a child that left the group): read it for a moment more.
	r.readTail()
	return cause
}

// waitQuick waits on pidfd until the command exits, quickBy passes or ctx
// ends (cause: ErrTimeout or ctx's error).
func waitQuick(ctx context.Context, pidfd *os.File, quickBy time.Time) (exited bool, cause error) {
	if err := pidfd.SetReadDeadline(quickBy); err != nil {
		return false, nil
	}
	stop := context.AfterFunc(ctx, func() { _ = pidfd.SetReadDeadline(time.Unix(1, 0)) })
	err := waitPidfd(pidfd)
	if !stop() && ctx.Err() != nil && err != nil {
		// ctx ended (and moved the deadline) before the command exited.
		return false, ctxCause(ctx)
	}
	if err == nil {
		return true, nil
	}
	_ = pidfd.SetReadDeadline(time.Time{})
	return false, nil
}

// waitStreaming reads the command's output while it runs and waits for its
// exit (on pidfd, or with a blocking wait without one).
func (r *run) waitStreaming(ctx context.Context, pidfd *os.File) error {
	r.streamed = true
	overflow := make(chan struct{})
	outc, errc := make(chan struct{}), make(chan struct{})
	r.stdout.open()
	r.stderr.open()
	go func() {
		defer close(outc)
		r.stdout.buf, _ = readCapped(r.stdout.file, r.stdout.buf, r.max, 32<<10, func() { close(overflow) })
	}()
	go func() {
		defer close(errc)
		r.stderr.buf, _ = readCapped(r.stderr.file, r.stderr.buf, MaxStderr, 512, nil)
	}()
	done := make(chan error, 1)
	go func() {
		if pidfd != nil {
			done <- waitPidfd(pidfd)
		} else {
			done <- waitBlocking(r.pid)
		}
	}()
	var cause error
	select {
	case <-done:
	case <-ctx.Done():
		cause = ctxCause(ctx)
		killGroup(r.pid)
		<-done
	case <-overflow:
		cause = ErrOutputTooLarge
		killGroup(r.pid)
		<-done
	}
	killGroup(r.pid)
	r.status, r.waitErr = reap(r.pid)
	grace := time.Now().Add(orphanGrace)
	_ = r.stdout.file.SetReadDeadline(grace)
	_ = r.stderr.file.SetReadDeadline(grace)
	<-outc
	<-errc
	select {
	case <-overflow:
		r.overflow = true
	default:
	}
	return cause
}

// drain reads what the pipes hold without waiting, up to each one's cap
// (the rest of stdout sets overflow and is discarded, as is stderr's).
func (r *run) drain() {
	if r.stdout.drain(r.max) {
		r.overflow = true
	}
	r.stderr.drain(MaxStderr)
}

// readTail reads the pipes that have not reached EOF for up to orphanGrace.
func (r *run) readTail() {
	grace := time.Now().Add(orphanGrace)
	var wg sync.WaitGroup
	for _, s := range []*stream{&r.stdout, &r.stderr} {
		if s.eof {
			continue
		}
		limit := MaxStderr
		if s == &r.stdout {
			limit = r.max
		}
		s.open()
		_ = s.file.SetReadDeadline(grace)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var over bool
			s.buf, over = readCapped(s.file, s.buf, limit, 512, nil)
			if over && s == &r.stdout {
				r.overflow = true
			}
		}()
	}
	wg.Wait()
}

// open hands the descriptor to the runtime's poller, so that reads honour
// deadlines.
func (s *stream) open() {
	if s.file == nil && s.fd >= 0 {
		s.file = os.NewFile(uintptr(s.fd), "pipe")
		s.fd = -1
	}
}

// drain reads what the (non-blocking) pipe holds now, keeping at most limit
// bytes in buf; it says whether more than limit came. It stops at EOF (eof
// set), at an empty pipe still held open, or at an error (taken as EOF).
func (s *stream) drain(limit int) (overflow bool) {
	if s.fd < 0 {
		return false
	}
	// What the pipe holds is known: one buffer of that size, and the read
	// that finds EOF goes to scratch rather than to a grown buffer.
	if n, err := unix.IoctlGetInt(s.fd, unix.TIOCINQ); err == nil && n > 0 && s.buf == nil {
		s.buf = make([]byte, 0, min(n, limit))
	}
	var scratch [4096]byte
	for {
		direct := len(s.buf) < cap(s.buf)
		p := scratch[:]
		if direct {
			p = s.buf[len(s.buf):cap(s.buf)]
		}
		n, err := syscall.Read(s.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return overflow
		case err != nil || n == 0:
			s.eof = true
			return overflow
		}
		if direct {
			s.buf = s.buf[:len(s.buf)+n]
			continue
		}
		keep := min(n, limit-len(s.buf))
		s.buf = append(s.buf, scratch[:keep]...)
		if keep < n {
			overflow = true
		}
	}
}

func ctxCause(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return ErrTimeout
}

// missing returns ENOENT or ENOTDIR when path does not exist (one stat);
// anything else is left for the exec to report.
func missing(path string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err == syscall.ENOENT || err == syscall.ENOTDIR {
		return err
	}
	return nil
}

// pipe makes a pipe whose read end is non-blocking (read at once after the
// exit, or handed to the runtime's poller to be streamed) and whose write
// end, for the child, is a blocking descriptor. Both are close-on-exec:
// ForkExec dups the child's end onto 1 or 2.
func pipe() (int, int, error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	if err := syscall.SetNonblock(p[0], true); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return -1, -1, err
	}
	return p[0], p[1], nil
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

// openPidfd returns a pidfd of pid in the runtime's poller, so that its
// exit is waited for without a thread sitting in a blocking wait (such a
// thread keeps the runtime's monitor thread waking every few milliseconds:
// most of an idle exporter's CPU). Kernels without pidfd_open (before 5.3,
// EL6's 2.6.32) give nil: the caller waits with waitBlocking.
func openPidfd(pid int) *os.File {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil
	}
	return os.NewFile(uintptr(fd), "pidfd")
}

// waitPidfd returns nil once the process of pidfd has exited, leaving it to
// be reaped, or the error that ended the wait (os.ErrDeadlineExceeded when
// the file's read deadline passed).
func waitPidfd(pidfd *os.File) error {
	rc, err := pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Read(func(fd uintptr) bool {
		// With WNOHANG and nothing to report, the kernel leaves si_signo 0;
		// an exited child has SIGCHLD.
		var info unix.Siginfo
		werr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
		return werr != nil && werr != syscall.EINTR || werr == nil && info.Signo != 0
	})
	if err != nil {
		return err
	}
	return werr
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
