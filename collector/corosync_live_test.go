package collector

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/runner"
)

// liveCorosyncConf is a one-node knet cluster on 127.0.0.1 with votequorum.
const liveCorosyncConf = `totem {
	version: 2
	cluster_name: pgha-live-test
	transport: knet
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
	node {
		nodeid: 1
		name: live1
		ring0_addr: 127.0.0.1
	}
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_stderr: no
	to_syslog: no
	to_logfile: yes
	logfile: /var/log/corosync/corosync.log
	timestamp: on
}
`

// liveLauncher runs inside new mount and network namespaces: it hides the
// host's corosync directories, /run and /dev/shm behind private copies,
// brings up loopback and becomes corosync, so the PID the test started is
// corosync's.
const liveLauncher = `#!/bin/sh
set -e
D=%s
mount --bind "$D/etc/corosync" /etc/corosync
mount --bind "$D/var/lib/corosync" /var/lib/corosync
mount --bind "$D/var/log/corosync" /var/log/corosync
mount --bind "$D/run" /run
mount -t tmpfs -o size=64m tmpfs /dev/shm
ip link set lo up
exec %s -f
`

// liveWrapper runs a corosync tool inside the test cluster's namespaces.
const liveWrapper = `#!/bin/sh
exec %s -t %d -m -n -- %s "$@"
`

// TestCorosyncLive starts a real single-node corosync 3 on 127.0.0.1 in
// private mount and network namespaces, runs the Source and the collector
// against the real corosync-cfgtool and corosync-quorumtool, and stops it
// again. It needs root and the Debian corosync package; with CI set, a
// missing tool is a failure, not a skip.
func TestCorosyncLive(t *testing.T) {
	const daemon = "/usr/sbin/corosync"
	if testing.Short() {
		t.Skip("live corosync test skipped in -short mode")
	}
	need := map[string]string{"corosync": daemon, "corosync-cfgtool": corosync.DefaultCfgtoolPath, "corosync-quorumtool": corosync.DefaultQuorumtoolPath}
	for _, name := range []string{"unshare", "nsenter", "ip"} {
		need[name] = name
	}
	paths := map[string]string{}
	for name, p := range need {
		found, err := exec.LookPath(p)
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set but %s is missing (%v): install the corosync, util-linux and iproute2 packages", p, err)
			}
			t.Skipf("live corosync test skipped: %s is missing (apt-get install corosync util-linux iproute2)", p)
		}
		paths[name] = found
	}
	if os.Geteuid() != 0 {
		t.Skip("live corosync test skipped: needs root for mount and network namespaces")
	}

	start := time.Now()
	dir := t.TempDir()
	for _, d := range []string{"etc/corosync", "var/lib/corosync", "var/log/corosync", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	liveWriteFile(t, filepath.Join(dir, "etc/corosync/corosync.conf"), liveCorosyncConf, 0o644)
	launcher := filepath.Join(dir, "launch.sh")
	liveWriteFile(t, launcher, fmt.Sprintf(liveLauncher, dir, paths["corosync"]), 0o755)
	logFile, err := os.Create(filepath.Join(dir, "launcher.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	cmd := exec.Command(paths["unshare"], "--mount", "--net", "--propagation", "private", "/bin/sh", launcher)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	mntNS := liveWaitNamespace(t, pid, exited)
	t.Cleanup(func() { liveStop(t, pid, mntNS, exited, dir) })

	wrap := func(tool string) string {
		p := filepath.Join(dir, filepath.Base(tool))
		liveWriteFile(t, p, fmt.Sprintf(liveWrapper, paths["nsenter"], pid, tool), 0o755)
		return p
	}
	src := &corosync.Source{
		Runner: runner.Exec{}, Stack: corosync.StackAuto, Timeout: 5 * time.Second,
		CfgtoolPath:    wrap(paths["corosync-cfgtool"]),
		QuorumtoolPath: wrap(paths["corosync-quorumtool"]),
		CmanToolPath:   filepath.Join(dir, "cman_tool"), // absent: auto-detection must pick corosync
	}

	// corosync needs a moment to form its membership and become quorate.
	var st *corosync.Status
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err = src.Fetch(context.Background())
		if err == nil && st.Quorum.Quorate != nil && *st.Quorum.Quorate {
			break
		}
		select {
		case <-exited:
			t.Fatalf("corosync exited during start-up; see %s (last fetch: %v)", logFile.Name(), err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("corosync not quorate after 30s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("corosync quorate %s after start", time.Since(start).Round(time.Millisecond))

	if st.Stack != corosync.StackCorosync || st.Transport != "knet" || st.LocalNodeID == nil || *st.LocalNodeID != 1 {
		t.Errorf("stack %q, transport %q, local node %v", st.Stack, st.Transport, st.LocalNodeID)
	}
	q := st.Quorum
	if *q.ExpectedVotes != 1 || *q.TotalVotes != 1 || *q.Quorum != 1 || *q.ActivityBlocked || len(q.Members) != 1 ||
		q.Members[0].NodeID != 1 || !q.Members[0].Local || q.Members[0].Name != "live1" {
		t.Errorf("quorum: %+v, members %+v", q, q.Members)
	}
	r := st.Rings
	if r.Format != corosync.FormatLink || len(r.Links) != 1 || r.Links[0].ID != 0 || len(r.Links[0].Nodes) != 1 {
		t.Fatalf("links: %+v", r)
	}
	if n := r.Links[0].Nodes[0]; *n.NodeID != 1 || !n.Local || !*n.Connected || n.State != "localhost" {
		t.Errorf("link 0 node: %+v", n)
	}

	refresher := NewRefresher("corosync", time.Minute, 20*time.Second, src.Fetch, log.NewNopLogger())
	refresher.RefreshOnce(context.Background())
	c := &corosyncTestCollector{c: NewCorosyncCollector(refresher, time.Minute, log.NewNopLogger())}
	want := `
# HELP pgha_corosync_quorate Whether this node's partition has quorum (1) or not (0).
# TYPE pgha_corosync_quorate gauge
pgha_corosync_quorate 1
# HELP pgha_corosync_link_connected Whether a corosync 3 knet link to a node is connected (1) or not (0); the local node counts as connected.
# TYPE pgha_corosync_link_connected gauge
pgha_corosync_link_connected{link="0",node_id="1"} 1
# HELP pgha_corosync_members Number of nodes in this node's membership.
# TYPE pgha_corosync_members gauge
pgha_corosync_members 1
# HELP pgha_corosync_refresh_success Whether the last background refresh of corosync succeeded (1) or not (0).
# TYPE pgha_corosync_refresh_success gauge
pgha_corosync_refresh_success 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"pgha_corosync_quorate", "pgha_corosync_link_connected", "pgha_corosync_members", "pgha_corosync_refresh_success"); err != nil {
		t.Error(err)
	}
	if c.err != nil {
		t.Errorf("collector: %v", c.err)
	}
}

func liveWriteFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// liveWaitNamespace waits until pid has left the test's mount namespace (unshare
// has run) and returns its mount namespace.
func liveWaitNamespace(t *testing.T, pid int, exited <-chan struct{}) string {
	t.Helper()
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatal("unshare exited at once")
		default:
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && ns != own {
			return ns
		}
	}
	t.Fatal("the launcher did not enter a new mount namespace")
	return ""
}

// liveStop stops the corosync the test started, by its PID: SIGTERM, then
// SIGKILL after 15s. It then checks that no process is left in its mount
// namespace.
func liveStop(t *testing.T, pid int, mntNS string, exited <-chan struct{}, dir string) {
	start := time.Now()
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Errorf("corosync %d ignored SIGTERM for 15s; killing it", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-exited
	}
	t.Logf("corosync stopped in %s", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("process %d still exists after teardown", pid)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if ns, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "mnt")); err == nil && ns == mntNS {
			t.Errorf("process %s is still running in the test's mount namespace", e.Name())
		}
	}
	if t.Failed() {
		if b, err := os.ReadFile(filepath.Join(dir, "var/log/corosync/corosync.log")); err == nil {
			t.Logf("corosync.log:\n%s", b)
		}
	}
}
