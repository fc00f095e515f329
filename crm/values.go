package crm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Infinity is Pacemaker's score saturation: crm_mon prints INFINITY as 1000000.
const Infinity = 1000000

// Score is a Pacemaker score or count. ±INFINITY is ±Inf, which JSON cannot
// carry, so it marshals as the strings "INFINITY" and "-INFINITY".
type Score float64

// MarshalJSON implements json.Marshaler.
func (s Score) MarshalJSON() ([]byte, error) {
	switch {
	case math.IsInf(float64(s), 1):
		return []byte(`"INFINITY"`), nil
	case math.IsInf(float64(s), -1):
		return []byte(`"-INFINITY"`), nil
	}
	return []byte(strconv.FormatFloat(float64(s), 'f', -1, 64)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *Score) UnmarshalJSON(b []byte) error {
	v, ok := ParseScore(strings.Trim(string(b), `"`))
	if !ok {
		return fmt.Errorf("invalid score %s", b)
	}
	*s = Score(v)
	return nil
}

// ParseScore converts a Pacemaker score or count (INFINITY, +INFINITY,
// -INFINITY, or an integer) to a float64, mapping ±INFINITY and anything at
// or beyond ±1000000 to ±Inf.
func ParseScore(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToUpper(s) {
	case "INFINITY", "+INFINITY":
		return math.Inf(1), true
	case "-INFINITY":
		return math.Inf(-1), true
	case "":
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimPrefix(s, "+"), 64)
	if err != nil || math.IsNaN(v) {
		return 0, false
	}
	switch {
	case v >= Infinity:
		return math.Inf(1), true
	case v <= -Infinity:
		return math.Inf(-1), true
	}
	return v, true
}

// NormaliseRole maps any role spelling of Pacemaker 1.1-3.0 to a Role.
func NormaliseRole(s string) Role {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "master", "promoted":
		return RolePromoted
	case "slave", "unpromoted":
		return RoleUnpromoted
	case "started":
		return RoleStarted
	case "stopped":
		return RoleStopped
	case "starting":
		return RoleStarting
	case "stopping":
		return RoleStopping
	case "migrating":
		return RoleMigrating
	case "promoting":
		return RolePromoting
	case "demoting":
		return RoleDemoting
	default:
		return RoleUnknown
	}
}

// NormaliseAgent collapses the "ocf::heartbeat:pgsql" spelling of Pacemaker up
// to 2.0.5 into the "ocf:heartbeat:pgsql" of 2.1+.
func NormaliseAgent(s string) string {
	return strings.Replace(strings.TrimSpace(s), "::", ":", 1)
}

// StripInstance removes a clone instance suffix: "rsc:2" -> "rsc".
func StripInstance(id string) string {
	if i := strings.LastIndexByte(id, ':'); i > 0 {
		if _, err := strconv.Atoi(id[i+1:]); err == nil {
			return id[:i]
		}
	}
	return id
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on", "y":
		return true, true
	case "false", "no", "0", "off", "n":
		return false, true
	}
	return false, false
}

func (e *element) boolp(name string) *bool {
	s, ok := e.attr(name)
	if !ok {
		return nil
	}
	b, ok := parseBool(s)
	if !ok {
		return nil
	}
	return &b
}

func (e *element) intp(name string) *int {
	s, ok := e.attr(name)
	if !ok {
		return nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return nil
	}
	return &v
}

func (e *element) int64p(name string) *int64 {
	s, ok := e.attr(name)
	if !ok {
		return nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil
	}
	return &v
}

// duration parses crm_mon's "4000ms" or a bare millisecond count.
func parseMillis(s string) (time.Duration, bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "ms")
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return time.Duration(v) * time.Millisecond, true
}

// timeLayouts are every timestamp layout crm_mon has printed: ctime in the
// host's zone (all versions), ISO-8601 with Z (2.1 failures) and ISO with
// microseconds and an offset (2.0.3+ fence events).
var timeLayouts = []struct {
	layout string
	local  bool
}{
	{"Mon Jan _2 15:04:05 2006", true},
	{"Mon Jan 2 15:04:05 2006", true},
	{"2006-01-02 15:04:05Z07:00", false}, // fractional seconds are accepted too
	{"2006-01-02 15:04:05 Z07:00", false},
	{"2006-01-02 15:04:05Z0700", false},
	{"2006-01-02 15:04:05 Z0700", false},
	{time.RFC3339Nano, false},
	{"2006-01-02 15:04:05", true},
}

// ParseTime reads a crm_mon timestamp; ctime values are read in loc (the
// host's zone in production). The zero Time means absent or unparsable.
func ParseTime(s string, loc *time.Location) time.Time {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}
	}
	for _, l := range timeLayouts {
		var t time.Time
		var err error
		if l.local {
			t, err = time.ParseInLocation(l.layout, s, loc)
		} else {
			t, err = time.Parse(l.layout, s)
		}
		if err == nil {
			return t
		}
	}
	return time.Time{}
}

// parseHexLSN reads the pgsql agent's 16-hex-digit WAL positions.
func parseHexLSN(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return v, err == nil
}
