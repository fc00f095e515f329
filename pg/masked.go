package pg

import (
	"errors"
	"fmt"
	"strings"
)

// secretKeys are the connection settings whose values are never shown.
var secretKeys = map[string]bool{"password": true, "sslpassword": true}

// span is a byte range [start, end) of a connection string.
type span struct{ start, end int }

// maskConnString returns conn with the raw text of every secret value
// (password and sslpassword, in either form, and the URI's userinfo
// password) replaced by "xxxxx". It tokenises conn the way libpq does
// (conninfo_parse and conninfo_uri_parse_options in fe-connect.c). Its errors
// name byte offsets, never text from conn, because on malformed input it
// cannot be sure which text is the password.
func maskConnString(conn string) (string, error) {
	if strings.IndexByte(conn, 0) >= 0 {
		return "", errors.New("NUL byte in the connection string")
	}
	var secrets []span
	var err error
	if rest, ok := cutURIPrefix(conn); ok {
		secrets, err = uriSecrets(conn, len(conn)-len(rest))
	} else {
		secrets, err = keywordValueSecrets(conn)
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	last := 0
	for _, s := range secrets {
		b.WriteString(conn[last:s.start])
		b.WriteString(redactedPassword)
		last = s.end
	}
	b.WriteString(conn[last:])
	return b.String(), nil
}

func cutURIPrefix(conn string) (string, bool) {
	for _, p := range []string{"postgresql://", "postgres://"} {
		if rest, ok := strings.CutPrefix(conn, p); ok {
			return rest, true
		}
	}
	return "", false
}

func isConnSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// keywordValueSecrets finds the values of the secret keywords of a
// keyword/value string: keyword = value, white space around '=' allowed; a
// value is either single-quoted or runs to the next white space, and in both
// a backslash takes the next byte literally. The spans include the quotes.
func keywordValueSecrets(s string) ([]span, error) {
	var out []span
	i := 0
	for {
		for i < len(s) && isConnSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out, nil
		}
		kstart := i
		for i < len(s) && s[i] != '=' && !isConnSpace(s[i]) {
			i++
		}
		key := s[kstart:i]
		for i < len(s) && isConnSpace(s[i]) {
			i++
		}
		if i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf(`keyword/value form: missing "=" after the keyword at byte %d`, kstart+1)
		}
		if key == "" {
			return nil, fmt.Errorf(`keyword/value form: "=" without a keyword at byte %d`, i+1)
		}
		i++
		for i < len(s) && isConnSpace(s[i]) {
			i++
		}
		vstart := i
		if i < len(s) && s[i] == '\'' {
			i++
			for ; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' {
					i++
				}
			}
			if i >= len(s) {
				return nil, fmt.Errorf("keyword/value form: the quoted value starting at byte %d has no closing quote", vstart+1)
			}
			i++ // the closing quote
		} else {
			for ; i < len(s) && !isConnSpace(s[i]); i++ {
				if s[i] == '\\' {
					i++
				}
			}
			i = min(i, len(s)) // a trailing backslash
		}
		if secretKeys[key] && i > vstart {
			out = append(out, span{vstart, i})
		}
	}
}

// uriSecrets finds the secret values of a postgres:// or postgresql:// URI
// whose prefix is start bytes long: the password of the userinfo (libpq
// takes the userinfo up to the first '@' before any '/', and the password
// after the first ':' in it) and the values of password and sslpassword
// query parameters, whose keys may be percent-encoded.
func uriSecrets(s string, start int) ([]span, error) {
	var out []span
	p := start
	rest := s[start:]
	if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
		userinfo := rest[:i]
		if strings.ContainsAny(userinfo, "?#") {
			return nil, errors.New(`URI: "@" after "?" or "#" (before any "/"): percent-encode "@" as %40 in user names, passwords and parameter values`)
		}
		if j := strings.IndexByte(userinfo, ':'); j >= 0 && j+1 < len(userinfo) {
			out = append(out, span{p + j + 1, p + i})
		}
		if err := checkPercent(userinfo); err != nil {
			return nil, fmt.Errorf("URI user name or password: %w", err)
		}
		p += i + 1
		rest = rest[i+1:]
	}
	netloc := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		netloc = rest[:i]
	}
	if strings.IndexByte(netloc, '@') >= 0 {
		// libpq would take the text after the first '@' as the host name
		// and quote it in its errors: that text is most likely the rest of
		// a password with an unencoded '@'.
		return nil, errors.New(`URI: more than one "@" before the host: percent-encode "@" as %40 in the user name and password`)
	}
	q := strings.IndexByte(rest, '?')
	if q < 0 {
		return out, nil
	}
	p += q + 1
	for _, pair := range strings.Split(rest[q+1:], "&") {
		rawKey, rawValue, found := strings.Cut(pair, "=")
		vstart := p + len(rawKey) + 1
		p += len(pair) + 1
		if !found {
			continue // pgx refuses it; the message quotes the key only
		}
		key, err := percentDecode(rawKey)
		if err != nil {
			return nil, fmt.Errorf("URI query parameter key: %w", err)
		}
		if !secretKeys[key] {
			continue
		}
		if err := checkPercent(rawValue); err != nil {
			return nil, fmt.Errorf("URI %s parameter: %w", key, err)
		}
		if rawValue != "" {
			out = append(out, span{vstart, vstart + len(rawValue)})
		}
	}
	return out, nil
}

// checkPercent reports a malformed percent-encoding without quoting it.
func checkPercent(s string) error {
	_, err := percentDecode(s)
	return err
}

// percentDecode decodes %XX escapes as libpq does ('+' stays '+'); %00 and
// a '%' without two hex digits are errors.
func percentDecode(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", errors.New(`invalid percent-encoding (a "%" must be followed by two hex digits; write a literal "%" as %25)`)
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if c == 0 {
			return "", errors.New("%00 is not allowed")
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
