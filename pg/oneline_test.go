package pg

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOneLine(t *testing.T) {
	// pgx's error for a closed port with sslmode=prefer: the same dial
	// error once per attempt (TLS, then plain), on tab-indented lines.
	dial := "127.0.0.1:5432 (127.0.0.1): dial error: dial tcp 127.0.0.1:5432: connect: connection refused"
	pgx := "pg: connect to host=127.0.0.1 port=5432 user=pgha_monitor dbname=postgres password=xxxxx: " + dial + "\n" + dial
	long := strings.Repeat("ä", 150) + " " + strings.Repeat("b", 150)
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"  two\n\tlines  \n", "two; lines"},
		{pgx, "pg: connect to host=127.0.0.1 port=5432 user=pgha_monitor dbname=postgres password=xxxxx: " + dial},
		{"failed to connect to `user=u database=d`:\n\t" + dial + "\n\t" + dial, "failed to connect to `user=u database=d`: " + dial},
		{"a\nb\na", "a; b"},
		{long, strings.Repeat("ä", 150) + " " + strings.Repeat("b", 46) + "..."},
		{"", ""},
	} {
		got := OneLine(tc.in)
		if got != tc.want {
			t.Errorf("OneLine(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if n := utf8.RuneCountInString(got); n > MaxErrorLine || strings.ContainsAny(got, "\n\t") || !utf8.ValidString(got) {
			t.Errorf("OneLine(%q) = %q: %d characters, or not one valid line", tc.in, got, n)
		}
		if strings.Count(got, "dial error") > 1 {
			t.Errorf("OneLine repeats the dial error: %q", got)
		}
	}
}
