package pg

import (
	"strings"
	"unicode/utf8"
)

// MaxErrorLine is the most characters OneLine returns: what a pager or an
// SMS shows of a check's first line.
const MaxErrorLine = 200

// OneLine returns msg as one line of at most MaxErrorLine characters for a
// pager: each line trimmed, empty lines dropped, a line equal to an earlier
// one dropped (pgx reports the same dial error once per attempt, e.g. with
// and without TLS), the rest joined with "; ", runs of white space made one
// space, and a longer result cut with "...".
func OneLine(msg string) string {
	var parts []string
	seen := map[string]bool{}
	for _, l := range strings.Split(msg, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		parts = append(parts, l)
	}
	s := strings.Join(parts, "; ")
	// A part that ends in ":" introduced the lines that followed it.
	s = strings.ReplaceAll(s, ":; ", ": ")
	if utf8.RuneCountInString(s) <= MaxErrorLine {
		return s
	}
	const ellipsis = "..."
	n := 0
	for i := range s {
		if n == MaxErrorLine-len(ellipsis) {
			return s[:i] + ellipsis
		}
		n++
	}
	return s
}
