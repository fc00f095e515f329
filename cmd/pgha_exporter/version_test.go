package main

import (
	"os/exec"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/version"
)

// TestVersionWithoutLdflags: the test binary is built by TestMain with a
// plain `go build` (no -ldflags), yet --version and
// pgha_exporter_build_info carry a version.
func TestVersionWithoutLdflags(t *testing.T) {
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^pgha_exporter, version (\S*) `).FindSubmatch(out)
	if m == nil || len(m[1]) == 0 {
		t.Errorf("--version shows no version:\n%s", out)
	}
	e := start(t, "http", "--crm.mon-file=../../crm/testdata/generated/healthy/crm_mon.xml", "--no-collector.corosync", "--no-collector.postgres")
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if body, err = e.scrape(t, 5*time.Second); err == nil && strings.Contains(body, "pgha_exporter_build_info{") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pgha_exporter_build_info: %v\n%s", err, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	bi := regexp.MustCompile(`(?m)^pgha_exporter_build_info\{.*\bversion="([^"]*)".*\} 1$`).FindStringSubmatch(body)
	if bi == nil || bi[1] == "" || bi[1] != string(m[1]) {
		t.Errorf("pgha_exporter_build_info has no version or not --version's %q: %q", m[1], bi)
	}
}

func TestFillVersion(t *testing.T) {
	saved := [3]string{version.Version, version.Revision, version.BuildDate}
	t.Cleanup(func() { version.Version, version.Revision, version.BuildDate = saved[0], saved[1], saved[2] })
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name               string
		bi                 *debug.BuildInfo
		ok                 bool
		preset             string // a version set by -ldflags
		version, rev, date string
	}{
		{"go install at a tag", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, true, "", "v1.2.3", "", ""},
		{"git checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, true, "", "devel-0123456789ab", "0123456789abcdef0123", "2026-12-01T10:00:00Z"},
		{"changed checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")}, true, "", "devel-0123456789ab-dirty", "0123456789abcdef0123-modified", "2026-12-01T10:00:00Z"},
		{"no vcs (-buildvcs=false)", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "", "devel", "", ""},
		{"no build info", nil, false, "", "devel", "", ""},
		{"ldflags win", &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: vcs("false")}, true, "1.0.0", "1.0.0", "0123456789abcdef0123", "2026-12-01T10:00:00Z"},
	} {
		version.Version, version.Revision, version.BuildDate = tc.preset, "", ""
		fillVersion(tc.bi, tc.ok)
		if version.Version != tc.version || version.Revision != tc.rev || version.BuildDate != tc.date {
			t.Errorf("%s: version %q revision %q date %q, want %q %q %q", tc.name, version.Version, version.Revision, version.BuildDate, tc.version, tc.rev, tc.date)
		}
	}
}
