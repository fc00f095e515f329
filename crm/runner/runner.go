// Package runner runs external commands for the cluster-state parsers: with a
// deadline, LC_ALL=C, capped output, and the whole process group killed on
// expiry so that a hung crm_mon or corosync tool never outlives its caller.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultMaxOutput caps stdout (and separately stderr) of one command.
const DefaultMaxOutput = 64 << 20

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

type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
	onFull   func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.overflow {
		return len(p), nil
	}
	if b.buf.Len()+len(p) > b.max {
		b.buf.Write(p[:b.max-b.buf.Len()])
		b.overflow = true
		b.onFull()
		return len(p), nil
	}
	return b.buf.Write(p)
}

// Run starts the command in its own process group and waits for it, killing
// the group on timeout, on context cancellation or on output overflow.
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// If a grandchild keeps a pipe open after the group was killed, stop
	// waiting for it.
	cmd.WaitDelay = 2 * time.Second

	overflow := make(chan struct{}, 1)
	full := func() {
		select {
		case overflow <- struct{}{}:
		default:
		}
	}
	stdout := &cappedBuffer{max: max, onFull: full}
	stderr := &cappedBuffer{max: max, onFull: full}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("%s: %w", c.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var cause error
	var waitErr error
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
	res := Result{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes(), ExitCode: -1, Duration: time.Since(start)}
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
