package pgtest

import "strings"

// HostilePasswords are passwords chosen to defeat masking by substring or by
// pattern: substrings of the user name (pgha_monitor), of the host and of
// the DSN's own keywords, the mask itself, quotes, backslashes, URI
// delimiters, white space, '=', non-ASCII and empty. Tests of pg and of
// cmd/pgha_exporter use them.
var HostilePasswords = []string{
	"mon", "pgha", "monitor", "host", "password", "postgres", "127.0.0.1", "xxxxx",
	"it's PW", `back\slash\\`, `x'y\z w`, "'", `\`,
	"p@ss@word", "100%sure%41", "a:b:c", "/var/run/x", "  spaced  out  ",
	"k=v=w", "user=pgha_monitor", "?sslmode=disable&x=1", "#frag;semi,comma",
	"tab\there", "connection refused", "pässwörd-ünï€", "",
	strings.Repeat("L0ng", 75),
}

// ReferencePassword shares no 3-character fragment with any hostile one.
const ReferencePassword = "Qz7Qz7Qz7"

// Leaks returns the fragments of pw (3 characters or more) that occur more
// often in out than in ref, the same output made with another password: a
// fragment that is also the user or host name occurs in both equally.
func Leaks(out, ref, pw string) []string {
	r := []rune(pw)
	var leaks []string
	seen := map[string]bool{}
	for i := range r {
		for j := i + 3; j <= len(r); j++ {
			f := string(r[i:j])
			if !seen[f] && strings.Count(out, f) > strings.Count(ref, f) {
				seen[f] = true
				leaks = append(leaks, f)
			}
		}
	}
	return leaks
}
