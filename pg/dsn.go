package pg

import (
	"errors"
	"fmt"
	"io"
	"os"
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
//
// The password is removed by structure, never by searching for its text: the
// connection string is tokenised the way libpq does (masked.go), the values
// of password and sslpassword are cut out, and any message about the string
// is made from that masked copy. A password that happens to be a substring of
// the user or host name therefore never mangles them, and no spelling of it
// (quoted, escaped, percent-encoded) can slip through.
type DSN struct {
	conn    string
	masked  string // conn with the secret values replaced by "xxxxx"
	source  string
	display string
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
	masked, err := maskConnString(conn)
	if err != nil {
		return DSN{}, fmt.Errorf("pg: DSN from %s: %v", source, err)
	}
	d := DSN{conn: conn, masked: masked, source: source}
	cfg, err := d.parse()
	if err != nil {
		return DSN{}, err
	}
	d.display = describe(cfg)
	return d, nil
}

// parse parses the connection string with pgx. pgx's parse errors quote the
// string (best-effort redacted) and keep it in a field
// (pgconn.ParseConfigError.ConnString), so on failure the message is taken
// from parsing the masked copy instead, which fails the same way (the masked
// value "xxxxx" is valid wherever a password is) but has nothing to hide.
func (d DSN) parse() (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(d.conn)
	if err == nil {
		return cfg, nil
	}
	msg := "cannot parse it (the parser's message is withheld: it would quote the password)"
	if _, merr := pgx.ParseConfig(d.masked); merr != nil {
		msg = merr.Error()
	}
	return nil, &sealedError{msg: OneLine(fmt.Sprintf("pg: DSN from %s: %s", d.source, msg)), orig: err}
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

// sealedError is an error whose text was built without the password. It
// answers errors.Is for the original chain (context.DeadlineExceeded, ...)
// but does not unwrap, so errors.As cannot reach an original error whose
// fields hold the password: pgconn.ParseConfigError.ConnString,
// pgconn.ConnectError.Config.Password.
type sealedError struct {
	msg  string
	orig error
}

func (e *sealedError) Error() string        { return e.msg }
func (e *sealedError) Is(target error) bool { return errors.Is(e.orig, target) }

// seal hides err's chain behind its text, made one line (OneLine). Only
// errors whose text cannot contain the password may be sealed: pgx's connect
// and query errors name the user, database, host and the server's message,
// never the password.
func seal(err error) error {
	if err == nil {
		return nil
	}
	return &sealedError{msg: OneLine(err.Error()), orig: err}
}
