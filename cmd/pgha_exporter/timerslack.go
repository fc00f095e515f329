package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// mayReexec is set by main: only the real process replaces itself, never a
// test calling run in-process.
var mayReexec bool

// slackEnv marks the process that applyTimerSlack started, so that it never
// execs twice; it is removed from the environment at once.
const slackEnv = "PGHA_EXPORTER_TIMER_SLACK_SET"

// applyTimerSlack gives every thread of the server the timer slack slack
// (0: leave the inherited one). The kernel may delay a sleeping thread's
// wake-up by up to its slack to fold wake-ups together; the Go runtime's
// monitor thread polls in 20 us sleeps around every crm_mon run, and with a
// slack of 1 ms instead of the default 50 us an idle exporter used a third
// less CPU (docs/performance.md). Timer slack is per thread and inherited
// by the threads a thread creates, and the runtime has created its threads
// before any of this package runs: so the calling thread sets it and
// re-executes the binary (same pid, arguments, environment and open
// descriptors), whose threads then all start with it. Nothing is done when
// the slack is already right (systemd's TimerSlackNSec=) or in the process
// that the re-exec started. It returns only if the exec failed.
func applyTimerSlack(slack time.Duration) error {
	if slack <= 0 {
		return nil
	}
	if os.Getenv(slackEnv) != "" {
		return os.Unsetenv(slackEnv)
	}
	want := int(slack.Nanoseconds())
	if cur, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil && cur == want {
		return nil
	}
	if !mayReexec {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(want), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the timer slack: %w", err)
	}
	err := syscall.Exec("/proc/self/exe", os.Args, append(os.Environ(), slackEnv+"=1"))
	return fmt.Errorf("re-executing with the timer slack set: %w", err)
}
