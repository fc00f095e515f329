package pg

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a write-ahead log position: a byte offset into the WAL stream.
// PostgreSQL prints it as two hexadecimal halves, "X/Y", meaning X<<32 | Y.
// The arithmetic is exact from 9.3 on (contiguous WAL addressing), so the
// exporter selects LSNs as text on every version and subtracts in Go.
type LSN uint64

// ParseLSN parses PostgreSQL's "X/Y" text form (each half 1 to 8 hex digits).
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("invalid LSN %q: want X/Y with 1-8 hex digits each", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid LSN %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}

// String returns the "X/Y" form PostgreSQL prints.
func (l LSN) String() string {
	return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF)
}

// MarshalText encodes the LSN as "X/Y", which keeps JSON exact (a uint64
// does not fit a JSON number without loss).
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes the "X/Y" form.
func (l *LSN) UnmarshalText(b []byte) error {
	v, err := ParseLSN(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Sub returns l - o in bytes, or 0 when o is ahead of l. The positions are read
// by different statements of one round trip, so a slightly newer value can
// appear on the right-hand side; a negative lag would be noise.
func (l LSN) Sub(o LSN) int64 {
	if o >= l {
		return 0
	}
	return int64(l - o)
}
