package pg

import (
	"encoding/json"
	"testing"
)

func TestParseLSN(t *testing.T) {
	tests := []struct {
		in      string
		want    LSN
		wantErr bool
	}{
		{in: "0/0", want: 0},
		{in: "0/4000150", want: 0x4000150},      // fixtures/live-pcmk-2.1.5-pgsql-4.12-pg15/01-healthy
		{in: "0/4043C68", want: 0x4043C68},      // 03-sync-standby-node-standby
		{in: "1/0", want: 1 << 32},              // the 4 GiB boundary old formulas got wrong
		{in: "16/B374D848", want: 0x16B374D848}, // from the PostgreSQL docs
		{in: "FFFFFFFF/FFFFFFFF", want: 1<<64 - 1},
		{in: "0/4000150 ", wantErr: true},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
		{in: "/1", wantErr: true},
		{in: "1/", wantErr: true},
		{in: "G/1", wantErr: true},
		{in: "100000000/0", wantErr: true},
		{in: "-1/0", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseLSN(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseLSN(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseLSN(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestLSNTextAndSub(t *testing.T) {
	l := LSN(0x16B374D848)
	if l.String() != "16/B374D848" {
		t.Errorf("String() = %q", l.String())
	}
	b, err := json.Marshal(struct{ L LSN }{l})
	if err != nil || string(b) != `{"L":"16/B374D848"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	var back struct{ L LSN }
	if err := json.Unmarshal(b, &back); err != nil || back.L != l {
		t.Errorf("round trip = %v, %v", back.L, err)
	}
	if got := LSN(1 << 32).Sub(0xFFFFFF00); got != 0x100 {
		t.Errorf("Sub across the 4 GiB boundary = %d, want 256", got)
	}
	if got := LSN(5).Sub(7); got != 0 {
		t.Errorf("Sub of a newer position = %d, want 0", got)
	}
}

func FuzzParseLSN(f *testing.F) {
	for _, s := range []string{"0/4000150", "FFFFFFFF/FFFFFFFF", "1/", "x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLSN(s)
		if err != nil {
			return
		}
		back, err := ParseLSN(l.String())
		if err != nil || back != l {
			t.Fatalf("%q -> %v -> %v, %v", s, l, back, err)
		}
	})
}
