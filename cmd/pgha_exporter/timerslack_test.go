package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTimerSlack: the server runs with --runtime.timer-slack (1ms by
// default) as its timer slack, in the same process the test started, and
// its tools do not inherit the re-exec marker; 0 leaves the inherited slack.
func TestTimerSlack(t *testing.T) {
	own := readSlack(t, "self")
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	mon := filepath.Join(dir, "crm_mon")
	if err := os.WriteFile(mon, []byte("#!/bin/sh\nenv > "+envFile+"\ncat ../../crm/testdata/generated/healthy/crm_mon.xml\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag string
		want int
	}{
		{"", 1000000},
		{"--runtime.timer-slack=3ms", 3000000},
		{"--runtime.timer-slack=0", own},
	} {
		args := []string{"--crm.mon-path=" + mon, "--crm.cibadmin-path=", "--no-collector.corosync", "--no-collector.postgres"}
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		_ = os.Remove(envFile)
		e := start(t, "http", args...)
		pid := e.cmd.Process.Pid
		if got := readSlack(t, strconv.Itoa(pid)); got != tc.want {
			t.Errorf("%q: timer slack %d ns, want %d", tc.flag, got, tc.want)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			env, err := os.ReadFile(envFile)
			if err == nil && strings.Contains(string(env), "LC_ALL=C") {
				if strings.Contains(string(env), slackEnv) {
					t.Errorf("%q: crm_mon inherited %s", tc.flag, slackEnv)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q: crm_mon never ran: %v\n%s", tc.flag, err, e.logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if strings.Count(e.logs.String(), "starting pgha_exporter") != 1 || strings.Contains(e.logs.String(), "timer slack left") {
			t.Errorf("%q: logs:\n%s", tc.flag, e.logs)
		}
		e.stop(t)
	}
}

func readSlack(t *testing.T, pid string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
