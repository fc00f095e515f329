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
	"syscall"
	"time"
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

// readCapped reads r until EOF, an error or its deadline, keeping at most
// max bytes. The buffer grows by doubling up to max, never beyond, so memory
// stays bounded by the cap whatever the command prints. When more than max
// bytes come, onFull (if set) is called once and the rest is discarded.
func readCapped(r io.Reader, max int, onFull func()) (buf []byte, overflow bool) {
	buf = make([]byte, 0, min(32<<10, max))
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
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = append(environ(), "LC_ALL=C", "LANG=C")
	cmd.Env = append(cmd.Env, c.Env...)
	cmd.Stdin = nil
	// Its own group, so that one kill reaches its children; and killed if
	// the exporter dies without a chance to clean up (SIGKILL, a crash).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
	}
	defer outR.Close()
	defer errR.Close()
	// *os.File streams go to the child as they are: Wait returns as soon as
	// the command exits, whoever else holds the pipes.
	cmd.Stdout, cmd.Stderr = outW, errW

	start := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
	}
	overflow := make(chan struct{})
	outc, errc := make(chan []byte, 1), make(chan []byte, 1)
	go func() {
		b, _ := readCapped(outR, max, func() { close(overflow) })
		outc <- b
	}()
	go func() {
		b, _ := readCapped(errR, MaxStderr, nil)
		errc <- b
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var cause, waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		cause = ErrTimeout
		if errors.Is(ctx.Err(), context.Canceled) {
			cause = ctx.Err()
		}
		killGroup(cmd.Process.Pid)
		waitErr = <-done
	case <-overflow:
		cause = ErrOutputTooLarge
		killGroup(cmd.Process.Pid)
		waitErr = <-done
	}
	// The command is gone; what remains of its group only holds the pipes.
	killGroup(cmd.Process.Pid)
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
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if cause != nil {
		return res, fmt.Errorf("%s: %w after %s", c.String(), cause, res.Duration.Round(time.Millisecond))
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return res, fmt.Errorf("%s: %w", c.String(), waitErr)
	}
	return res, nil
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
