package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

const ncoreBinary = "/usr/sbin/nagios4"

// ncoreService is one Nagios service running the plugin with args.
type ncoreService struct {
	name string
	args []string // after "check"
	want int      // expected state (exit code)
}

// ncoreDirect is what the plugin printed when run directly.
type ncoreDirect struct {
	code  int
	first string // first line (no perfdata on it in our layout)
	long  string // lines between the first and the perfdata line
	perf  string // perfdata, without the leading "| "
	raw   string
}

// TestNagiosCoreRunsCheck: Debian's Nagios Core 4 runs the check as
// services against fixture files; the state, output, long output and
// perfdata it records in status.dat equal what the plugin prints when run
// directly with the same arguments.
func TestNagiosCoreRunsCheck(t *testing.T) {
	if _, err := os.Stat(ncoreBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing under CI (install nagios4-core, see .ci/install-deps.sh): %v", ncoreBinary, err)
		}
		t.Skipf("%s not installed (apt-get install --no-install-recommends nagios4-core): %v", ncoreBinary, err)
	}
	begin := time.Now()
	gen := crmtest.Generated(t)
	src := func(scenario string) []string {
		return []string{"--crm.mon-file=" + filepath.Join(gen, scenario, "crm_mon.xml"), "--crm.cib-file=" + filepath.Join(gen, scenario, "cib.xml")}
	}
	with := func(what string, a []string, more ...string) []string {
		return append(append([]string{what}, a...), more...)
	}
	services := []ncoreService{
		{"cluster-healthy", with("cluster", src("healthy"), "--stonith-disabled=ok"), 0},
		{"cluster-healthy-verbose", with("cluster", src("healthy"), "--stonith-disabled=ok", "-v"), 0},
		{"replication-healthy", with("replication", src("healthy"), "-v"), 0},
		{"cluster-node-standby", with("cluster", src("node-standby"), "--stonith-disabled=ok"), 1},
		{"replication-node-standby", with("replication", src("node-standby")), 1},
		{"cluster-failcount", with("cluster", src("primary-monitor-failed"), "-w", "0", "-c", "1:"), 2},
		{"cluster-no-quorum", with("cluster", src("no-quorum"), "-v"), 2},
		{"replication-no-pgsql", with("replication", src("large-32n-500r")), 3},
		{"cluster-unreadable", []string{"cluster", "--crm.mon-file=/nonexistent/crm_mon.xml"}, 3},
		{"cluster-bad-range", with("cluster", src("healthy"), "-w", "20:10"), 3},
	}

	// What the plugin prints when run directly.
	direct := map[string]ncoreDirect{}
	for _, s := range services {
		d := ncoreRunDirect(t, s.args)
		if d.code != s.want {
			t.Fatalf("%s: direct run exit %d, want %d (fixture changed?)\n%s", s.name, d.code, s.want, d.raw)
		}
		direct[s.name] = d
	}

	dir := t.TempDir()
	cfg := ncoreWriteConfig(t, dir, services)

	// The configuration must validate cleanly.
	out, err := exec.Command(ncoreBinary, "-v", cfg).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Total Warnings: 0")) || !bytes.Contains(out, []byte("Total Errors:   0")) {
		t.Fatalf("nagios4 -v: %v\n%s", err, out)
	}

	// Run the core in the foreground, in its own process group (the core
	// forks check workers that must not outlive it).
	var logs bytes.Buffer
	cmd := exec.Command(ncoreBinary, cfg)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("nagios4 did not exit within 15s of SIGTERM; killing its process group")
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-exited
		}
		// Its workers exit when the core closes their sockets.
		deadline := time.Now().Add(10 * time.Second)
		for {
			left := ncoreProcsInGroup(pgid)
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("nagios4 left processes behind in group %d: %v; killing them", pgid, left)
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Cleanup(stop)

	statusFile := filepath.Join(dir, "status.dat")
	var status map[string]map[string]string
	deadline := time.Now().Add(45 * time.Second)
	for {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("nagios4 exited early: %v\n%s\nlog:\n%s", err, logs.String(), ncoreReadLog(dir))
		default:
		}
		status, err = ncoreReadStatus(statusFile, pgid)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			stop() // before reading its output
			t.Fatalf("no complete status after 45s: %v\nstdout:\n%s\nlog:\n%s", err, logs.String(), ncoreReadLog(dir))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if t.Failed() {
		return
	}

	for _, s := range services {
		st, d := status[s.name], direct[s.name]
		state, _ := strconv.Atoi(st["current_state"])
		if state != d.code {
			t.Errorf("%s: Nagios state %d, plugin exit %d", s.name, state, d.code)
		}
		if st["plugin_output"] != d.first {
			t.Errorf("%s: plugin_output\n  %q\nfirst line printed\n  %q", s.name, st["plugin_output"], d.first)
		}
		long := ncoreUnescape(st["long_plugin_output"])
		if strings.TrimRight(long, "\n") != strings.TrimRight(d.long, "\n") {
			t.Errorf("%s: long_plugin_output\n  %q\nlong output printed\n  %q", s.name, long, d.long)
		}
		got, err := ncoreParsePerfdata(st["performance_data"])
		if err != nil {
			t.Errorf("%s: Nagios' performance_data %q: %v", s.name, st["performance_data"], err)
		}
		want, err := ncoreParsePerfdata(d.perf)
		if err != nil {
			t.Errorf("%s: printed perfdata %q: %v", s.name, d.perf, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: perfdata parsed back from Nagios\n  %+v\nprinted\n  %+v", s.name, got, want)
		}
		nlong := 0
		if l := strings.TrimRight(long, "\n"); l != "" {
			nlong = strings.Count(l, "\n") + 1
		}
		t.Logf("%s: state %s, %q, %d long-output lines, %d perfdata items", s.name, st["current_state"], st["plugin_output"], nlong, len(got))
		if s.want < 3 && len(want) == 0 {
			t.Errorf("%s: no perfdata printed", s.name)
		}
	}
	if el := time.Since(begin); el > 60*time.Second {
		t.Errorf("took %s", el)
	}
}

// ncoreRunDirect runs the plugin with args and splits its output by the
// layout of notes/nagios.md §2: summary line, long-output lines, then one
// last line "| perfdata". A '|' anywhere else is a plugin bug.
func ncoreRunDirect(t *testing.T, args []string) ncoreDirect {
	t.Helper()
	var out, errb bytes.Buffer
	c := exec.Command(binary, append([]string{"check"}, args...)...)
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	d := ncoreDirect{raw: out.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		d.code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	if errb.Len() > 0 {
		t.Errorf("%v: stderr must stay empty: %q", args, errb.String())
	}
	ls := strings.Split(strings.TrimSuffix(d.raw, "\n"), "\n")
	d.first = ls[0]
	if strings.Contains(d.first, "|") {
		t.Errorf("%v: '|' in the first line: %q", args, d.first)
	}
	rest := ls[1:]
	if n := len(rest); n > 0 && strings.HasPrefix(rest[n-1], "| ") {
		d.perf = strings.TrimPrefix(rest[n-1], "| ")
		rest = rest[:n-1]
	}
	for _, l := range rest {
		if strings.Contains(l, "|") {
			t.Errorf("%v: '|' in a long-output line (Nagios takes it as the start of perfdata): %q", args, l)
		}
	}
	d.long = strings.Join(rest, "\n")
	return d
}

// ncoreWriteConfig writes a self-contained nagios.cfg and object file
// under dir and returns the nagios.cfg path.
func ncoreWriteConfig(t *testing.T, dir string, services []ncoreService) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "checkresults"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	mainCfg := fmt.Sprintf(`# generated by TestNagiosCoreRunsCheck
cfg_file=%s
object_cache_file=%s
precached_object_file=%s
status_file=%s
status_update_interval=1
log_file=%s
use_syslog=0
log_initial_states=1
lock_file=%s
temp_file=%s
temp_path=%s
command_file=%s
check_external_commands=0
query_socket=%s
check_result_path=%s
check_result_reaper_frequency=1
retain_state_information=0
state_retention_file=%s
debug_level=0
debug_file=%s
nagios_user=%s
nagios_group=%s
interval_length=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
max_service_check_spread=1
max_host_check_spread=1
service_check_timeout=30
enable_notifications=0
enable_event_handlers=0
enable_flap_detection=0
check_service_freshness=0
check_host_freshness=0
process_performance_data=0
check_for_updates=0
illegal_macro_output_chars=`+"`"+`~$&|'"<>
`, p("objects.cfg"), p("objects.cache"), p("objects.precache"), p("status.dat"), p("nagios.log"),
		p("nagios.lock"), p("nagios.tmp"), dir, p("nagios.cmd"), p("nagios.qh"), p("checkresults"),
		p("retention.dat"), p("nagios.debug"), u.Username, g.Name)

	var o strings.Builder
	o.WriteString(`define timeperiod {
	timeperiod_name	24x7
	alias	always
	sunday	00:00-24:00
	monday	00:00-24:00
	tuesday	00:00-24:00
	wednesday	00:00-24:00
	thursday	00:00-24:00
	friday	00:00-24:00
	saturday	00:00-24:00
}
define command {
	command_name	notify_none
	command_line	/bin/true
}
define contact {
	contact_name	nobody
	host_notifications_enabled	0
	service_notifications_enabled	0
	host_notification_period	24x7
	service_notification_period	24x7
	host_notification_options	n
	service_notification_options	n
	host_notification_commands	notify_none
	service_notification_commands	notify_none
}
# No check_command: the host counts as UP and is never checked.
define host {
	host_name	pgha
	address	127.0.0.1
	max_check_attempts	1
	check_period	24x7
	contacts	nobody
	notification_period	24x7
}
`)
	nargs := 0
	for _, s := range services {
		if len(s.args) > nargs {
			nargs = len(s.args)
		}
	}
	fmt.Fprintf(&o, "define command {\n\tcommand_name\tpgha_check\n\tcommand_line\t%s check", binary)
	for i := 1; i <= nargs; i++ {
		fmt.Fprintf(&o, " $ARG%d$", i)
	}
	o.WriteString("\n}\n")
	for _, s := range services {
		for _, a := range append([]string{binary}, s.args...) {
			if strings.ContainsAny(a, " \t\n!$;\\'\"") {
				t.Fatalf("%s: argument %q would be mangled by the object parser or the core's command splitting", s.name, a)
			}
		}
		fmt.Fprintf(&o, `define service {
	host_name	pgha
	service_description	%s
	check_command	pgha_check!%s
	max_check_attempts	1
	check_interval	300
	retry_interval	300
	check_period	24x7
	contacts	nobody
	notification_period	24x7
	notification_interval	0
}
`, s.name, strings.Join(s.args, "!"))
	}
	if err := os.WriteFile(p("objects.cfg"), []byte(o.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("nagios.cfg"), []byte(mainCfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p("nagios.cfg")
}

// ncoreReadStatus parses status.dat and returns the servicestatus blocks
// by service_description once it was written by the core with pid and
// every service has been checked.
func ncoreReadStatus(path string, pid int) (map[string]map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var blocks []map[string]string
	var names []string
	var cur map[string]string
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasSuffix(l, " {"):
			cur = map[string]string{}
			names = append(names, strings.TrimSuffix(l, " {"))
		case cur != nil && strings.TrimSpace(l) == "}":
			blocks = append(blocks, cur)
			cur = nil
		case cur != nil:
			k, v, ok := strings.Cut(strings.TrimPrefix(l, "\t"), "=")
			if !ok {
				return nil, fmt.Errorf("status.dat: bad line %q", l)
			}
			cur[k] = v
		}
	}
	services := map[string]map[string]string{}
	sawProgram := false
	for i, b := range blocks {
		switch names[i] {
		case "programstatus":
			if b["nagios_pid"] != strconv.Itoa(pid) || b["daemon_mode"] != "0" {
				return nil, fmt.Errorf("status.dat of another core: pid %s, daemon_mode %s", b["nagios_pid"], b["daemon_mode"])
			}
			sawProgram = true
		case "servicestatus":
			if b["has_been_checked"] != "1" {
				return nil, fmt.Errorf("service %s not checked yet", b["service_description"])
			}
			services[b["service_description"]] = b
		}
	}
	if !sawProgram || len(services) == 0 {
		return nil, fmt.Errorf("status.dat incomplete")
	}
	return services, nil
}

func ncoreReadLog(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "nagios.log"))
	return string(b)
}

// ncoreUnescape undoes the escaping of status.dat's long_plugin_output
// (backslash as \\, newline as \n).
func ncoreUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ncoreProcsInGroup lists the live (non-zombie) processes in group pgid.
func ncoreProcsInGroup(pgid int) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		// f[0] state, f[1] ppid, f[2] pgrp
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, fmt.Sprintf("%d(%s)", pid, stat[:i+1]))
		}
	}
	return out
}

// ncorePerf is one perfdata item: 'label'=value[UOM];[warn];[crit];[min];[max].
type ncorePerf struct {
	Label, Value, UOM, Warn, Crit, Min, Max string
}

var (
	ncoreValueRe = regexp.MustCompile(`^(-?[0-9]*\.?[0-9]+)([a-zA-Z%]*)$`)
	ncoreNumRe   = regexp.MustCompile(`^-?[0-9]*\.?[0-9]+$`)
	ncoreRangeRe = regexp.MustCompile(`^@?((~|-?[0-9]*\.?[0-9]+)?:)?(-?[0-9]*\.?[0-9]+)?$`)
	ncoreUOMs    = map[string]bool{"": true, "s": true, "ms": true, "us": true, "%": true, "B": true, "KB": true, "MB": true, "GB": true, "TB": true, "c": true}
)

// ncoreParsePerfdata splits perfdata on spaces outside quoted labels and
// parses each item strictly by the plugin guidelines (notes/nagios.md §3).
func ncoreParsePerfdata(s string) ([]ncorePerf, error) {
	var items []ncorePerf
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i == len(s) {
			return items, nil
		}
		var p ncorePerf
		if s[i] == '\'' {
			i++
			var b strings.Builder
			for {
				if i >= len(s) {
					return items, fmt.Errorf("unterminated quoted label in %q", s)
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			p.Label = b.String()
			if i >= len(s) || s[i] != '=' {
				return items, fmt.Errorf("no '=' after label %q", p.Label)
			}
		} else {
			j := strings.IndexAny(s[i:], "= ")
			if j < 0 || s[i+j] != '=' {
				return items, fmt.Errorf("item without '=' at %q", s[i:])
			}
			p.Label = s[i : i+j]
			i += j
		}
		i++ // '='
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			j = len(s) - i
		}
		fields := strings.Split(s[i:i+j], ";")
		i += j
		if p.Label == "" || strings.ContainsAny(p.Label, "='") {
			return items, fmt.Errorf("bad label %q", p.Label)
		}
		if len(fields) > 5 {
			return items, fmt.Errorf("%s: more than 5 fields", p.Label)
		}
		fields = append(fields, make([]string, 5-len(fields))...)
		m := ncoreValueRe.FindStringSubmatch(fields[0])
		if m == nil {
			return items, fmt.Errorf("%s: bad value %q", p.Label, fields[0])
		}
		p.Value, p.UOM = m[1], m[2]
		if !ncoreUOMs[p.UOM] {
			return items, fmt.Errorf("%s: unknown UOM %q", p.Label, p.UOM)
		}
		p.Warn, p.Crit, p.Min, p.Max = fields[1], fields[2], fields[3], fields[4]
		for _, r := range []string{p.Warn, p.Crit} {
			if r != "" && !ncoreRangeRe.MatchString(r) {
				return items, fmt.Errorf("%s: bad range %q", p.Label, r)
			}
		}
		for _, n := range []string{p.Min, p.Max} {
			if n != "" && !ncoreNumRe.MatchString(n) {
				return items, fmt.Errorf("%s: bad min/max %q", p.Label, n)
			}
		}
		items = append(items, p)
	}
}

// TestNcoreParsePerfdata covers the perfdata parser used above.
func TestNcoreParsePerfdata(t *testing.T) {
	got, err := ncoreParsePerfdata(" 'a b'=1.5s;2;@3:4;0;10  'x:y'=-5% c=1;;~:2 d=0;10: ")
	want := []ncorePerf{
		{Label: "a b", Value: "1.5", UOM: "s", Warn: "2", Crit: "@3:4", Min: "0", Max: "10"},
		{Label: "x:y", Value: "-5", UOM: "%"},
		{Label: "c", Value: "1", Crit: "~:2"},
		{Label: "d", Value: "0", Warn: "10:"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
	for _, bad := range []string{"a=U", "a=1;2;3;4;5;6", "'a=1", "a", "a=1x", "a=1;20:10x", "a=1;;;x", "=1", "a=1e3", "'it''s'=1"} {
		if _, err := ncoreParsePerfdata(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
