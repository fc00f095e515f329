package pg

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable LoadDSN reads when no file is given.
const EnvDSN = "PGHA_PG_DSN"

// redactedPassword replaces a password wherever one would be shown.
const redactedPassword = "xxxxx"

// DSN is a PostgreSQL connection string (keyword/value or URI form, as libpq
// accepts). Its text is never shown: String, Redacted, fmt verbs, JSON and
// logfmt all print a summary built from the parsed settings, with the password
// replaced by "xxxxx".
type DSN struct {
	conn    string
	source  string
	display string
	secrets []string
}

// LoadDSN reads one DSN from file when file is not empty, or else from the
// environment variable PGHA_PG_DSN looked up with getenv (os.Getenv when
// nil). Surrounding white space is trimmed. An empty DSN is valid: pgx then
// takes everything from the libpq environment variables (PGHOST, PGPORT,
// PGUSER, PGPASSWORD, PGPASSFILE, PGSSLMODE, PGSERVICE, ...), which also fill
// in whatever a DSN leaves out. Those are read from the process environment,
// not through getenv.
//
// The DSN is parsed at once so that a bad one fails at start-up; parse errors
// never contain the password.
func LoadDSN(file string, getenv func(string) string) (DSN, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var conn, source string
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return DSN{}, fmt.Errorf("pg: reading DSN file: %w", err)
		}
		conn, source = strings.TrimSpace(string(b)), "file "+file
	case getenv(EnvDSN) != "":
		conn, source = strings.TrimSpace(getenv(EnvDSN)), "environment variable "+EnvDSN
	default:
		source = "libpq environment variables"
	}
	return parseDSN(conn, source)
}

func parseDSN(conn, source string) (DSN, error) {
	d := DSN{conn: conn, source: source, secrets: guessSecrets(conn)}
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		return DSN{}, d.redact(fmt.Errorf("pg: DSN from %s: %w", source, err))
	}
	d.secrets = addSecret(d.secrets, cfg.Password)
	// A password can also appear where it was not meant to (in a host
	// name, by a slip of the keyboard); scrub the summary too.
	d.display = scrub(describe(cfg), d.secrets)
	return d, nil
}

// Redacted returns the connection target without the password, for example
// "host=127.0.0.1 port=5432 user=pgha dbname=postgres password=xxxxx".
func (d DSN) Redacted() string { return d.display }

// String returns Redacted.
func (d DSN) String() string { return d.Redacted() }

// Source says where the DSN came from ("file /etc/...", "environment variable
// PGHA_PG_DSN" or "libpq environment variables").
func (d DSN) Source() string { return d.source }

// Format prints Redacted for every verb, including %#v and %d, which would
// otherwise print the struct's fields.
func (d DSN) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.Redacted()) }

// MarshalText returns Redacted, so JSON and logfmt show no password either.
func (d DSN) MarshalText() ([]byte, error) { return []byte(d.Redacted()), nil }

// redact returns err with every known secret of the DSN replaced.
func (d DSN) redact(err error) error { return redactError(err, d.secrets) }

// describe summarises a parsed configuration without its password.
func describe(cfg *pgx.ConnConfig) string {
	var hosts, ports []string
	seen := map[string]bool{}
	add := func(host string, port uint16) {
		key := host + "\x00" + strconv.Itoa(int(port))
		if !seen[key] {
			seen[key] = true
			hosts = append(hosts, host)
			ports = append(ports, strconv.Itoa(int(port)))
		}
	}
	add(cfg.Host, cfg.Port)
	for _, fb := range cfg.Fallbacks {
		add(fb.Host, fb.Port)
	}
	s := fmt.Sprintf("host=%s port=%s user=%s dbname=%s",
		strings.Join(hosts, ","), strings.Join(ports, ","), cfg.User, cfg.Database)
	if cfg.Password != "" {
		s += " password=" + redactedPassword
	}
	return s
}

var (
	kvPassword    = regexp.MustCompile(`(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	queryPassword = regexp.MustCompile(`[?&]password=([^&#]*)`)
)

// guessSecrets finds password candidates in a connection string without
// relying on it being valid, so that even a parse error can be scrubbed.
func guessSecrets(conn string) []string {
	var out []string
	for _, m := range kvPassword.FindAllStringSubmatch(conn, -1) {
		v := m[1]
		out = addSecret(out, v)
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			inner := v[1 : len(v)-1]
			out = addSecret(out, inner)
			out = addSecret(out, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(inner))
		}
	}
	if _, rest, ok := strings.Cut(conn, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				out = addSecret(out, pw)
				if u, err := url.PathUnescape(pw); err == nil {
					out = addSecret(out, u)
				}
			}
		}
		for _, m := range queryPassword.FindAllStringSubmatch(rest, -1) {
			out = addSecret(out, m[1])
			if u, err := url.QueryUnescape(m[1]); err == nil {
				out = addSecret(out, u)
			}
		}
	}
	return out
}

// addSecret adds s and the forms it takes when URL-encoded.
func addSecret(secrets []string, s string) []string {
	if s == "" {
		return secrets
	}
	for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
		dup := false
		for _, have := range secrets {
			dup = dup || have == v
		}
		if !dup {
			secrets = append(secrets, v)
		}
	}
	return secrets
}

// redactedError has the text of an error with the secrets replaced. It
// answers errors.Is for the original chain (context.DeadlineExceeded, ...)
// but does not unwrap, so errors.As cannot reach an original error such as
// pgconn.ParseConfigError, whose fields hold the raw connection string.
type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }

func redactError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: scrub(err.Error(), secrets), orig: err}
}

// scrub replaces every secret in s, longest first.
func scrub(s string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, sec := range sorted {
		s = strings.ReplaceAll(s, sec, redactedPassword)
	}
	return s
}
