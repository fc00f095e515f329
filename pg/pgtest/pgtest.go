// Package pgtest starts real PostgreSQL replication sets for integration
// tests: a primary and streaming standbys on free 127.0.0.1 ports, with
// data directories and sockets in a temporary directory, run as the postgres
// OS user when the tests run as root. Everything it starts is stopped in
// tb.Cleanup, also when the test fails. The server binaries are Debian's
// (BinDir) or, for every major of Releases, fetched once into a cache
// (Binaries).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The login role the exporter uses in tests: a member of pg_monitor only,
// authenticated with SCRAM over TCP.
const (
	MonitorUser     = "pgha_monitor"
	MonitorPassword = "s3cr3t-PW-42"
)

// DefaultBinDir is where Debian's postgresql-15 package installs its binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// BinDir returns the PostgreSQL binary directory (PGHA_TEST_PG_BIN, else
// DefaultBinDir). When the binaries are missing it skips the test, or fails
// it when the CI environment variable is set.
func BinDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("PGHA_TEST_PG_BIN")
	if dir == "" {
		dir = DefaultBinDir
	}
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			msg := fmt.Sprintf("PostgreSQL binaries not found in %s (set PGHA_TEST_PG_BIN): %v", dir, err)
			if os.Getenv("CI") != "" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
	return dir
}

// Options shape a cluster.
type Options struct {
	// Major picks a release of Releases (fetched by Binaries); 0 means the
	// binaries of BinDir.
	Major int
	// Standbys are the standbys' application_name values, in start order.
	// Each streams through a physical replication slot of its own name.
	Standbys []string
	// SyncStandbyNames is the primary's synchronous_standby_names.
	SyncStandbyNames string
}

// Cluster is a running replication set.
type Cluster struct {
	Dir     string
	Major   int // the server's major version (PG_VERSION)
	Primary *Node
	// Standbys by application_name.
	Standbys map[string]*Node

	bin        string
	sockDir    string
	archFail   string
	osUser     *user.User
	asPostgres bool
}

// Node is one PostgreSQL server of a cluster.
type Node struct {
	Name    string
	Port    int
	DataDir string
	c       *Cluster
}

// Start builds and starts a primary (named "pgdb1") and opts.Standbys, and
// waits until every standby streams. The primary archives to Dir/archive
// through an archive_command that fails while SetArchiveFailing(true).
//
// The standbys are seeded with copies of the primary's data directory taken
// right after initdb (a cleanly shut down cluster, so no pg_basebackup is
// needed) and stream from its first WAL record: standby.signal from 12,
// recovery.conf before.
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	var bin, template string
	if opts.Major == 0 {
		bin = BinDir(tb)
	} else {
		bin = Binaries(tb, opts.Major)
		template = filepath.Join(bin, "..", "..", "pgdata-template")
	}
	c := &Cluster{bin: bin, Standbys: map[string]*Node{}}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root needs a postgres OS user: %v", err)
		}
		c.osUser, c.asPostgres = u, true
	}
	dir, err := os.MkdirTemp("", "pgha-pgtest-")
	if err != nil {
		tb.Fatal(err)
	}
	c.Dir = dir
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	c.sockDir = filepath.Join(dir, "sock")
	c.archFail = filepath.Join(dir, "archive_fail")
	for _, d := range []string{c.sockDir, filepath.Join(dir, "archive")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	c.chownAll(tb)

	ports := freePorts(tb, 1+len(opts.Standbys))
	c.Primary = c.newNode(tb, "pgdb1", ports[0])
	p := c.Primary
	c.initdb(tb, p.DataDir, template)
	c.Major = p.major(tb)
	if opts.Major != 0 && c.Major != opts.Major {
		tb.Fatalf("%s made a PostgreSQL %d cluster, want %d", bin, c.Major, opts.Major)
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
shared_buffers = 16MB
fsync = off
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 1s
archive_mode = on
archive_command = 'test ! -f %s && cp %%p %s/%%f'
password_encryption = 'scram-sha-256'
`, c.sockDir, c.archFail, filepath.Join(dir, "archive"))
	if c.Major >= 13 {
		conf += "max_slot_wal_keep_size = 1GB\n" // so that slots report safe_wal_size
	}
	p.appendConf(tb, conf)
	hba := `local all all trust
local replication all trust
host replication postgres 127.0.0.1/32 trust
host all postgres 127.0.0.1/32 trust
host all ` + MonitorUser + ` 127.0.0.1/32 scram-sha-256
`
	if err := os.WriteFile(filepath.Join(p.DataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		tb.Fatal(err)
	}
	for i, name := range opts.Standbys {
		n := c.newNode(tb, name, ports[1+i])
		if err := copyDir(p.DataDir, n.DataDir); err != nil {
			tb.Fatalf("seeding %s: %v", name, err)
		}
		n.appendConf(tb, fmt.Sprintf("port = %d\nsynchronous_standby_names = ''\n", n.Port))
		recovery := fmt.Sprintf("primary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=%s'\nprimary_slot_name = '%s'\n",
			p.Port, name, name)
		if c.Major >= 12 {
			n.appendConf(tb, recovery)
			err = os.WriteFile(filepath.Join(n.DataDir, "standby.signal"), nil, 0o600)
		} else {
			err = os.WriteFile(filepath.Join(n.DataDir, "recovery.conf"), []byte("standby_mode = 'on'\n"+recovery), 0o600)
		}
		if err != nil {
			tb.Fatal(err)
		}
		c.Standbys[name] = n
	}
	p.appendConf(tb, fmt.Sprintf("port = %d\nsynchronous_standby_names = '%s'\n", p.Port, strings.ReplaceAll(opts.SyncStandbyNames, "'", "''")))
	c.chownAll(tb)
	p.Start(tb)
	p.Exec(tb, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", MonitorUser, MonitorPassword),
		"GRANT pg_monitor TO "+MonitorUser)
	for _, name := range opts.Standbys {
		p.Exec(tb, fmt.Sprintf("SELECT pg_create_physical_replication_slot('%s', true)", name))
		c.Standbys[name].Start(tb)
	}
	for _, name := range opts.Standbys {
		c.WaitStreaming(tb, name)
	}
	return c
}

// initdb creates a data directory: a copy of template when it exists, else
// with initdb, keeping a copy as template when one is named. initdb is the
// costliest step of a cluster's start; its output differs only in the
// system identifier, which no test depends on.
func (c *Cluster) initdb(tb testing.TB, dataDir, template string) {
	tb.Helper()
	if template != "" {
		if _, err := os.Stat(filepath.Join(template, "PG_VERSION")); err == nil {
			if err := copyDir(template, dataDir); err != nil {
				tb.Fatalf("copying %s: %v", template, err)
			}
			return
		}
	}
	c.run(tb, "initdb", "-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if template == "" {
		return
	}
	// Copied next to the template and renamed, so that no test copies a
	// half-written one; a parallel test may have won the race.
	tmp := template + fmt.Sprintf(".tmp-%d", os.Getpid())
	err := copyDir(dataDir, tmp)
	if err == nil {
		err = os.Rename(tmp, template)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		if _, statErr := os.Stat(filepath.Join(template, "PG_VERSION")); statErr != nil {
			tb.Logf("keeping %s as the initdb template: %v", dataDir, err)
		}
	}
}

// major reads the data directory's PG_VERSION.
func (n *Node) major(tb testing.TB) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(n.DataDir, "PG_VERSION"))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		tb.Fatalf("PG_VERSION %q: %v", b, err)
	}
	return v
}

// copyDir copies a stopped server's data directory, keeping permissions
// (the server insists on 0700 or 0750).
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Mkdir(target, info.Mode().Perm())
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", path)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

func (c *Cluster) newNode(tb testing.TB, name string, port int) *Node {
	n := &Node{Name: name, Port: port, DataDir: filepath.Join(c.Dir, name), c: c}
	// Registered before the node can start, so a failure anywhere later
	// still stops it.
	tb.Cleanup(n.kill)
	return n
}

// chownAll gives the cluster directory to the postgres OS user.
func (c *Cluster) chownAll(tb testing.TB) {
	if !c.asPostgres {
		return
	}
	uid, _ := strconv.Atoi(c.osUser.Uid)
	gid, _ := strconv.Atoi(c.osUser.Gid)
	err := filepath.Walk(c.Dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// command builds a PostgreSQL tool invocation, through runuser when root.
func (c *Cluster) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.asPostgres {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.Dir // the postgres user may not be able to read the test's working directory
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (c *Cluster) run(tb testing.TB, tool string, args ...string) {
	tb.Helper()
	if err := c.tryRun(tool, args...); err != nil {
		tb.Fatal(err)
	}
}

func (c *Cluster) tryRun(tool string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := c.command(ctx, tool, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, out)
	}
	return nil
}

func (n *Node) appendConf(tb testing.TB, text string) {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(n.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		tb.Fatal(err)
	}
}

// Start starts the server and waits until it accepts connections.
func (n *Node) Start(tb testing.TB) {
	tb.Helper()
	if err := n.c.tryRun("pg_ctl", "-D", n.DataDir, "-l", n.DataDir+".log", "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(n.DataDir + ".log")
		tb.Fatalf("%v\n%s.log:\n%s", err, n.DataDir, log)
	}
}

// Stop stops the server with pg_ctl's mode ("fast", "immediate", ...).
func (n *Node) Stop(tb testing.TB, mode string) {
	tb.Helper()
	n.c.run(tb, "pg_ctl", "-D", n.DataDir, "-m", mode, "-w", "-t", "60", "stop")
}

// Promote promotes a standby and waits until it is a primary.
func (n *Node) Promote(tb testing.TB) {
	tb.Helper()
	n.c.run(tb, "pg_ctl", "-D", n.DataDir, "-w", "-t", "60", "promote")
}

// kill stops the server if it still runs: pg_ctl stop -m immediate, then
// SIGKILL to the postmaster and its children (each child calls setsid, so
// there is no process group to signal).
func (n *Node) kill() {
	pid := n.PID()
	if pid == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = n.c.command(ctx, "pg_ctl", "-D", n.DataDir, "-m", "immediate", "-w", "-t", "10", "stop").Run()
	if !Running(pid) {
		return
	}
	for _, child := range childrenOf(pid) {
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
				out = append(out, child)
			}
		}
	}
	return out
}

// PID returns the postmaster's process id, or 0 when it is not running.
func (n *Node) PID() int {
	b, err := os.ReadFile(filepath.Join(n.DataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 1 || !Running(pid) {
		return 0
	}
	return pid
}

// Running reports whether a process exists and is not a zombie (an exited
// postmaster stays a zombie until init reaps it).
func Running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil // no /proc: best effort
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// MonitorDSN is the DSN of the pg_monitor role, with its password, over TCP.
func (n *Node) MonitorDSN() string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=postgres sslmode=disable",
		n.Port, MonitorUser, MonitorPassword)
}

// LocalDSN is the DSN of a role over the Unix socket (trust authentication).
func (n *Node) LocalDSN(role string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=postgres", n.c.sockDir, n.Port, role)
}

// Admin connects as the superuser over the Unix socket, with
// synchronous_commit=local so that no test statement waits for a missing
// synchronous standby.
func (n *Node) Admin(tb testing.TB) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, n.LocalDSN("postgres")+" options='-c synchronous_commit=local'")
	if err != nil {
		tb.Fatalf("%s: %v", n.Name, err)
	}
	return conn
}

// Exec runs statements as the superuser, each in its own transaction.
func (n *Node) Exec(tb testing.TB, sqls ...string) {
	tb.Helper()
	conn := n.Admin(tb)
	defer conn.Close(context.Background())
	for _, sql := range sqls {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := conn.Exec(ctx, sql)
		cancel()
		if err != nil {
			tb.Fatalf("%s: %s: %v", n.Name, sql, err)
		}
	}
}

// GenerateWAL writes about mb MiB of WAL on the primary (as Admin, so it
// never waits for a missing sync standby).
func (n *Node) GenerateWAL(tb testing.TB, mb int) {
	tb.Helper()
	n.Exec(tb, "CREATE TABLE IF NOT EXISTS pgtest_load (id int, pad text)",
		fmt.Sprintf("INSERT INTO pgtest_load SELECT g, repeat('x', 200) FROM generate_series(1, %d) g", mb*4000))
}

// SetArchiveFailing makes the primary's archive_command fail (true) or
// succeed again (false).
func (c *Cluster) SetArchiveFailing(tb testing.TB, fail bool) {
	tb.Helper()
	var err error
	if fail {
		err = os.WriteFile(c.archFail, nil, 0o644)
	} else if err = os.Remove(c.archFail); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// WaitStreaming waits until the primary sees the standby streaming and has
// had its first reply: until then write/flush/replay_lsn are NULL and a sync
// standby is still "async".
func (c *Cluster) WaitStreaming(tb testing.TB, name string) {
	tb.Helper()
	Eventually(tb, 30*time.Second, name+" streaming", func() error {
		conn := c.Primary.Admin(tb)
		defer conn.Close(context.Background())
		var state string
		var replied bool
		err := conn.QueryRow(context.Background(),
			"SELECT state, replay_lsn IS NOT NULL FROM pg_stat_replication WHERE application_name = $1", name).Scan(&state, &replied)
		if err == nil && (state != "streaming" || !replied) {
			err = fmt.Errorf("state %s, replied %v", state, replied)
		}
		return err
	})
}

// Eventually polls f every 100 ms until it returns nil, and fails the test
// with f's last error after timeout.
func Eventually(tb testing.TB, timeout time.Duration, what string, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting %v for %s: %v", timeout, what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
