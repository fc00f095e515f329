// Package nagios evaluates the parsed cluster and database state against
// Nagios/Icinga plugin conventions (threshold ranges, states, perfdata) and
// renders plugin output. It reads the same snapshot types as the collectors,
// so a check and a metric cannot disagree.
package nagios

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Range is a Monitoring Plugins threshold range, "[@]start:end": without @
// it alerts when the value is outside [start, end], with @ when inside.
// Endpoints are inclusive; an empty end is +Inf and "~" as start is -Inf.
type Range struct {
	Start, End float64
	Inside     bool   // the leading @
	raw        string // as given, so that it renders back unchanged
}

// ErrRange is wrapped by every range parse error.
var ErrRange = errors.New("invalid threshold range")

// ParseRange parses the full guideline syntax: "10", "10:", "~:10",
// "10:20", "@10:20", ":10" (same as "10").
func ParseRange(s string) (Range, error) {
	r := Range{raw: s}
	body := s
	if strings.HasPrefix(body, "@") {
		r.Inside, body = true, body[1:]
	}
	if body == "" {
		return Range{}, fmt.Errorf("%w %q: empty", ErrRange, s)
	}
	start, end, hasColon := strings.Cut(body, ":")
	if !hasColon {
		start, end = "0", body
	}
	if start == "" && end == "" {
		return Range{}, fmt.Errorf("%w %q: neither start nor end", ErrRange, s)
	}
	switch start {
	case "~":
		r.Start = math.Inf(-1)
	case "":
		r.Start = 0
	default:
		v, err := parseNumber(start)
		if err != nil {
			return Range{}, fmt.Errorf("%w %q: start %v", ErrRange, s, err)
		}
		r.Start = v
	}
	if end == "" {
		if !hasColon {
			return Range{}, fmt.Errorf("%w %q: no end", ErrRange, s)
		}
		r.End = math.Inf(1)
	} else {
		v, err := parseNumber(end)
		if err != nil {
			return Range{}, fmt.Errorf("%w %q: end %v", ErrRange, s, err)
		}
		r.End = v
	}
	if r.Start > r.End {
		return Range{}, fmt.Errorf("%w %q: start is greater than end", ErrRange, s)
	}
	return r, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(s, "eExXpP_") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// MustRange parses a range known to be valid (defaults in code).
func MustRange(s string) Range {
	r, err := ParseRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

// Alert reports whether v triggers the range.
func (r Range) Alert(v float64) bool {
	inside := v >= r.Start && v <= r.End
	if r.Inside {
		return inside
	}
	return !inside
}

// String renders the range as given.
func (r Range) String() string { return r.raw }

// IsZero reports an unset range.
func (r Range) IsZero() bool { return r.raw == "" }

// Thresholds are an optional warning and critical range for one value.
type Thresholds struct {
	Warn, Crit Range
}

// State evaluates critical first, then warning.
func (t Thresholds) State(v float64) State {
	switch {
	case !t.Crit.IsZero() && t.Crit.Alert(v):
		return Critical
	case !t.Warn.IsZero() && t.Warn.Alert(v):
		return Warning
	}
	return OK
}

// byteUnits are the size suffixes ParseByteRange accepts (decimal and binary).
var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseByteRange is ParseRange for sizes: each end may carry a unit (16MB,
// 1GiB, 512kB, 100B), converted to bytes; perfdata then shows the bytes.
func ParseByteRange(s string) (Range, error) {
	body, inside := s, ""
	if strings.HasPrefix(body, "@") {
		inside, body = "@", body[1:]
	}
	start, end, hasColon := strings.Cut(body, ":")
	conv := func(v string) (string, error) {
		for _, u := range byteUnits {
			if n, ok := strings.CutSuffix(v, u.suffix); ok && n != "" && n != "~" {
				f, err := strconv.ParseFloat(n, 64)
				if err != nil {
					return "", fmt.Errorf("%w %q: size %q (want a number with B, kB, MB, GB, KiB, MiB or GiB)", ErrRange, s, v)
				}
				return strconv.FormatFloat(math.Round(f*u.mult), 'f', -1, 64), nil
			}
		}
		return v, nil
	}
	a, err := conv(start)
	if err != nil {
		return Range{}, err
	}
	if !hasColon {
		return ParseRange(inside + a)
	}
	b, err := conv(end)
	if err != nil {
		return Range{}, err
	}
	return ParseRange(inside + a + ":" + b)
}
