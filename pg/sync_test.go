package pg

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSyncStandbyNames(t *testing.T) {
	tests := []struct {
		in      string
		want    SyncSpec
		wantErr bool
	}{
		{in: "", want: SyncSpec{}},
		{in: "   ", want: SyncSpec{}},
		// What the pgsql resource agent writes (fixtures/live-.../01-healthy/pgdb1/pg_settings-sync.txt).
		{in: `"pgdb2"`, want: SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"pgdb2"}}},
		{in: `pgdb2, pgdb3`, want: SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"pgdb2", "pgdb3"}}},
		{in: `*`, want: SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"*"}}},
		{in: `2 (a, "B c", *)`, want: SyncSpec{Method: SyncPriority, Num: 2, Names: []string{"a", "B c", "*"}}},
		{in: `FIRST 2 (a,b,c)`, want: SyncSpec{Method: SyncPriority, Num: 2, Names: []string{"a", "b", "c"}}},
		{in: `first 1 (node1)`, want: SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"node1"}}},
		{in: `ANY 2 (pgdb2, pgdb3, pgdb4)`, want: SyncSpec{Method: SyncQuorum, Num: 2, Names: []string{"pgdb2", "pgdb3", "pgdb4"}}},
		{in: `Any 1 ("x""y")`, want: SyncSpec{Method: SyncQuorum, Num: 1, Names: []string{`x"y`}}},
		{in: `"FIRST"`, want: SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"FIRST"}}},
		{in: `"any" 2 (a)`, wantErr: true},
		{in: `1`, want: SyncSpec{Method: SyncPriority, Num: 1, Names: []string{"1"}}},
		{in: `node-1`, wantErr: true},
		{in: `0 (a)`, wantErr: true},
		{in: `ANY 2 (a, b`, wantErr: true},
		{in: `ANY 2 ()`, wantErr: true},
		{in: `a,,b`, wantErr: true},
		{in: `a,`, wantErr: true},
		{in: `"unterminated`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSyncStandbyNames(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSyncStandbyNames(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); err == nil && diff != "" {
			t.Errorf("ParseSyncStandbyNames(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzParseSyncStandbyNames(f *testing.F) {
	for _, s := range []string{`"pgdb2"`, `FIRST 2 (a, b)`, `ANY 1 (*)`, `2 (a)`, `a, b`, `""""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSyncStandbyNames(s)
		if err != nil {
			return
		}
		if (spec.Method == SyncNone) != (spec.Num == 0) || (spec.Method != SyncNone && len(spec.Names) == 0) {
			t.Fatalf("%q parsed to inconsistent %+v", s, spec)
		}
	})
}
