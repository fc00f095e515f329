package nagios

import (
	"errors"
	"strings"
	"testing"
)

// TestRangeVectors is the threshold-range table of the Nagios plugin
// development guidelines, whose oracle is Perl Monitoring::Plugin::Range: A = alert, . = no alert.
func TestRangeVectors(t *testing.T) {
	values := []float64{-11, -1, 0, 5, 10, 15, 20, 25}
	table := map[string]string{
		"10":     "AA...AAA",
		"10:":    "AAAA....",
		"~:10":   ".....AAA",
		"10:20":  "AAAA...A",
		"@10:20": "....AAA.",
		"@10":    "..AAA...",
		"@~:10":  "AAAAA...",
		"@10:":   "....AAAA",
		"~:":     "........",
		"0:":     "AA......",
		"0":      "AA.AAAAA",
		":10":    "AA...AAA",
	}
	for spec, want := range table {
		r, err := ParseRange(spec)
		if err != nil {
			t.Fatalf("ParseRange(%q): %v", spec, err)
		}
		var got strings.Builder
		for _, v := range values {
			if r.Alert(v) {
				got.WriteByte('A')
			} else {
				got.WriteByte('.')
			}
		}
		if got.String() != want {
			t.Errorf("%-7s got %s want %s", spec, got.String(), want)
		}
		if r.String() != spec {
			t.Errorf("%q renders as %q", spec, r.String())
		}
	}
}

func TestRangeRejects(t *testing.T) {
	for _, spec := range []string{"20:10", "", "abc", "@", "~", "1e3", "10:x", "@:", "0x10", "NaN", "Inf", "5:~"} {
		if _, err := ParseRange(spec); !errors.Is(err, ErrRange) {
			t.Errorf("ParseRange(%q) = %v, want ErrRange", spec, err)
		}
	}
}

func TestThresholds(t *testing.T) {
	th := Thresholds{Warn: MustRange("5"), Crit: MustRange("10")}
	for v, want := range map[float64]State{0: OK, 5: OK, 6: Warning, 10: Warning, 11: Critical, -1: Critical} {
		if got := th.State(v); got != want {
			t.Errorf("State(%v) = %s, want %s", v, got, want)
		}
	}
	if (Thresholds{}).State(1e9) != OK {
		t.Error("no thresholds must be OK")
	}
}

func TestPerfString(t *testing.T) {
	cases := map[string]Perf{
		"sync_standbys=1;;1:;0":               {Label: "sync_standbys", Value: 1, Crit: MustRange("1:"), Min: ptr(0)},
		"'lag pgdb2'=1024B;16777216;67108864": {Label: "lag pgdb2", Value: 1024, UOM: "B", Warn: MustRange("16777216"), Crit: MustRange("67108864")},
		"age=0.25s":                           {Label: "age", Value: 0.25, UOM: "s"},
		"x_y=3;10:;~:5;0;9":                   {Label: "x=y", Value: 3, Warn: MustRange("10:"), Crit: MustRange("~:5"), Min: ptr(0), Max: ptr(9)},
		"":                                    {Label: "inf", Value: posInf()},
	}
	for want, p := range cases {
		if got := p.String(); got != want {
			t.Errorf("got %q want %q", got, want)
		}
	}
}

func posInf() float64 { v := 1.0; return v / zero }

var zero = 0.0

func TestRender(t *testing.T) {
	r := Result{What: "CLUSTER"}
	r.Add(OK, "quorum 3/3")
	r.Add(Warning, "node pgdb3 standby")
	r.Add(Critical, "resource vip-master FAILED on pgdb1 | really")
	r.AddPerf(Perf{Label: "nodes_online", Value: 3, Min: ptr(0)})
	var b strings.Builder
	code := r.Render(&b, 0)
	want := "PGHA CLUSTER CRITICAL - resource vip-master FAILED on pgdb1 / really (+1 more)\n" +
		"\\_ [CRITICAL] resource vip-master FAILED on pgdb1 / really -- crm_resource --list-operations -r vip-master -N pgdb1\n" +
		"\\_ [WARNING] node pgdb3 standby\n" +
		"| nodes_online=3;;;0\n"
	if code != 2 || b.String() != want {
		t.Errorf("exit %d\n%s\nwant\n%s", code, b.String(), want)
	}
	b.Reset()
	ok := Result{What: "COROSYNC"}
	ok.Add(OK, "quorate")
	if code := ok.Render(&b, 1); code != 0 || b.String() != "PGHA COROSYNC OK - quorate\n\\_ [OK] quorate\n" {
		t.Errorf("exit %d %q", code, b.String())
	}
}

func TestParseByteRange(t *testing.T) {
	for in, want := range map[string]string{
		"16MB": "16000000", "16MiB": "16777216", "1GiB": "1073741824", "512kB": "512000",
		"100B": "100", "16777216": "16777216", "1MiB:64MiB": "1048576:67108864", "@1KiB:2KiB": "@1024:2048",
		"~:1GB": "~:1000000000", "10:": "10:",
	} {
		r, err := ParseByteRange(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseByteRange(%q) = %q, %v; want %q", in, r.String(), err, want)
		}
	}
	for _, bad := range []string{"16XB", "MB", "abcMB", "2GB:1GB"} {
		if _, err := ParseByteRange(bad); err == nil {
			t.Errorf("ParseByteRange(%q) accepted", bad)
		}
	}
}
