package crm

import (
	"math"
	"testing"
	"time"
)

func TestStale(t *testing.T) {
	for _, tc := range []struct {
		age    float64
		maxAge time.Duration
		want   bool
	}{
		{0, 30 * time.Second, false},
		{30, 30 * time.Second, false},
		{30.001, 30 * time.Second, true},
		{1.5, time.Second, true},
		{0.5, time.Second, false},
		{1e9, 0, false}, // 0: no limit
		{1e9, -time.Second, false},
		{1e300, 30 * time.Second, true}, // would overflow a time.Duration
		{1e300, 0, false},               // no limit: any real age
		{math.Inf(1), 0, true},
		{math.NaN(), time.Hour, true},
		{-1, time.Hour, true},
	} {
		if got := Stale(tc.age, tc.maxAge); got != tc.want {
			t.Errorf("Stale(%v, %s) = %v, want %v", tc.age, tc.maxAge, got, tc.want)
		}
	}
}
