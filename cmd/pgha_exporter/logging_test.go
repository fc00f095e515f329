package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-kit/log/level"
)

// TestServerLoggerLevels: the server's logger (queued, values truncated)
// drops what is below --log.level and keeps the rest, each line with its
// level; the truncation must not hide a line's level from the filter.
func TestServerLoggerLevels(t *testing.T) {
	for _, tc := range []struct {
		lvl  string
		want []string // the messages that must be written
	}{
		{"debug", []string{"d", "i", "w", "e"}},
		{"info", []string{"i", "w", "e"}},
		{"warn", []string{"w", "e"}},
		{"error", []string{"e"}},
	} {
		var buf bytes.Buffer
		l, _, closeLog, err := newAsyncLogger(&buf, tc.lvl, "logfmt")
		if err != nil {
			t.Fatal(err)
		}
		level.Debug(l).Log("msg", "d")
		level.Info(l).Log("msg", "i")
		level.Warn(l).Log("msg", "w")
		level.Error(l).Log("msg", "e", "err", strings.Repeat("x", 3*maxLogValue))
		closeLog()
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if line == "" {
				continue
			}
			if len(line) > 2*maxLogValue {
				t.Errorf("level %s: a line of %d bytes (values are cut at %d)", tc.lvl, len(line), maxLogValue)
			}
			for _, m := range []string{"d", "i", "w", "e"} {
				if strings.Contains(line, "msg="+m+" ") || strings.HasSuffix(line, "msg="+m) {
					got = append(got, m)
					lv := map[string]string{"d": "debug", "i": "info", "w": "warn", "e": "error"}[m]
					if !strings.Contains(line, "level="+lv) {
						t.Errorf("level %s: line without level=%s: %s", tc.lvl, lv, line)
					}
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("--log.level=%s wrote %v, want %v:\n%s", tc.lvl, got, tc.want, buf.String())
		}
	}
}
