package pg

import (
	"strings"
	"unicode/utf8"
)

// MaxErrorLine is the most characters OneLine returns: what a pager or an
// SMS shows of a check's first line.
const MaxErrorLine = 200

// OneLine returns msg as one line of at most MaxErrorLine characters for a
// pager: runs of white space made one space, empty lines dropped, a line
// that the lines before it already contain dropped (pgx reports the same
// dial error once per attempt, e.g. with and without TLS), the rest joined
// with "; " (with " " after a line that ends in ":"), and a longer result
// cut with "...".
func OneLine(msg string) string {
	var b strings.Builder
	for _, l := range strings.Split(msg, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" || strings.Contains(b.String(), l) {
			continue
		}
		if b.Len() > 0 {
			if !strings.HasSuffix(b.String(), ":") {
				b.WriteString(";")
			}
			b.WriteString(" ")
		}
		b.WriteString(l)
	}
	s := b.String()
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
