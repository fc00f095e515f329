package pg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SyncMethod is how the primary picks its synchronous standbys.
type SyncMethod string

// The methods of synchronous_standby_names.
const (
	// SyncNone: the setting is empty, commits do not wait for any standby.
	SyncNone SyncMethod = ""
	// SyncPriority: 'a, b', 'n (a, b)' (9.6+) or 'FIRST n (a, b)' (10+).
	// The first n connected names in list order are synchronous.
	SyncPriority SyncMethod = "priority"
	// SyncQuorum: 'ANY n (a, b)' (10+). Any n of the names must confirm.
	SyncQuorum SyncMethod = "quorum"
)

// SyncSpec is a parsed synchronous_standby_names.
type SyncSpec struct {
	Method SyncMethod `json:"method,omitempty"`
	// Num is how many standbys must confirm each commit (0 when Method is
	// SyncNone).
	Num int `json:"num"`
	// Names as PostgreSQL compares them with application_name: quotes
	// removed, case kept (the comparison is case-insensitive). "*" matches
	// any standby.
	Names []string `json:"names,omitempty"`
}

// ParseSyncStandbyNames parses synchronous_standby_names the way
// PostgreSQL's syncrep grammar does:
//
//	''                      -> none
//	'a, "B", *'             -> priority, 1 of the list
//	'2 (a, b, c)'           -> priority, 2 (9.6 syntax)
//	'FIRST 2 (a, b, c)'     -> priority, 2
//	'ANY 2 (a, b, c)'       -> quorum, 2
//
// Keywords are case-insensitive; names may be double-quoted ("" escapes a
// quote), as the pgsql resource agent writes them ('"pgdb2"').
func ParseSyncStandbyNames(s string) (SyncSpec, error) {
	toks, err := syncTokens(s)
	if err != nil {
		return SyncSpec{}, fmt.Errorf("synchronous_standby_names %q: %w", s, err)
	}
	if len(toks) == 0 {
		return SyncSpec{}, nil
	}
	spec := SyncSpec{Method: SyncPriority, Num: 1}
	rest := toks
	switch {
	case len(toks) >= 3 && toks[0].kind == tokName && !toks[0].quoted && toks[1].kind == tokNum && toks[2].kind == '(' &&
		(strings.EqualFold(toks[0].text, "first") || strings.EqualFold(toks[0].text, "any")):
		if strings.EqualFold(toks[0].text, "any") {
			spec.Method = SyncQuorum
		}
		spec.Num, rest = toks[1].num, toks[2:]
	case len(toks) >= 2 && toks[0].kind == tokNum && toks[1].kind == '(':
		spec.Num, rest = toks[0].num, toks[1:]
	}
	inParens := len(rest) > 0 && rest[0].kind == '('
	if inParens {
		if rest[len(rest)-1].kind != ')' {
			return SyncSpec{}, fmt.Errorf("synchronous_standby_names %q: missing ')'", s)
		}
		rest = rest[1 : len(rest)-1]
	}
	if spec.Num < 1 {
		return SyncSpec{}, fmt.Errorf("synchronous_standby_names %q: number of synchronous standbys must be at least 1", s)
	}
	for i, t := range rest {
		if i%2 == 1 {
			if t.kind != ',' {
				return SyncSpec{}, fmt.Errorf("synchronous_standby_names %q: expected ',' before %q", s, t.text)
			}
			continue
		}
		if t.kind != tokName && t.kind != tokNum {
			return SyncSpec{}, fmt.Errorf("synchronous_standby_names %q: expected a standby name, got %q", s, t.text)
		}
		spec.Names = append(spec.Names, t.text)
	}
	if len(rest)%2 == 0 {
		return SyncSpec{}, fmt.Errorf("synchronous_standby_names %q: empty or unterminated standby list", s)
	}
	return spec, nil
}

const (
	tokName = 'n'
	tokNum  = '9'
)

type syncToken struct {
	kind   rune
	text   string
	num    int
	quoted bool
}

var errUnterminatedQuote = errors.New("unterminated quoted name")

func syncTokens(s string) ([]syncToken, error) {
	var toks []syncToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, syncToken{kind: rune(c), text: string(c)})
			i++
		case c == '*':
			toks = append(toks, syncToken{kind: tokName, text: "*"})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, errUnterminatedQuote
				}
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, syncToken{kind: tokName, text: b.String(), quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && isSyncNameByte(s[j]) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			word := s[i:j]
			if n, err := strconv.Atoi(word); err == nil {
				toks = append(toks, syncToken{kind: tokNum, text: word, num: n})
			} else {
				toks = append(toks, syncToken{kind: tokName, text: word})
			}
			i = j
		}
	}
	return toks, nil
}

// isSyncNameByte accepts the bytes of an unquoted name in the syncrep
// scanner: letters, digits, '_', '$', and any non-ASCII byte.
func isSyncNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}
