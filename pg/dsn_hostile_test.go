package pg

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/pgha/pgha_exporter/pg/pgtest"
)

// dsnForms writes a DSN with password pw in every form libpq reads; target
// is the part after the userinfo in URI form ("127.0.0.1:5432/postgres"),
// kv the rest of the keyword/value form.
func dsnForms(pw, kv, target string) map[string]string {
	enc := uriEncode(pw)
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	forms := map[string]string{
		"kv quoted":    kv + " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "'",
		"uri userinfo": "postgres://pgha_monitor:" + enc + "@" + target,
		"uri query":    "postgresql://pgha_monitor@" + target + sep + "password=" + enc,
	}
	if pw != "" {
		var b strings.Builder
		for _, c := range []byte(pw) {
			if c == '\\' || c == '\'' || isConnSpace(c) {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		forms["kv escaped"] = "password=" + b.String() + " " + kv
	}
	return forms
}

// uriEncode percent-encodes everything but RFC 3986's unreserved characters.
func uriEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// checkNoLeak fails when out, made with password pw, differs from ref, made
// with pgtest.ReferencePassword, or carries a fragment of pw.
func checkNoLeak(t *testing.T, what, out, ref, pw string) {
	t.Helper()
	if l := pgtest.Leaks(out, ref, pw); len(l) > 0 {
		t.Errorf("%s leaks %q of password %q:\n%s", what, l, pw, out)
	}
	if pw != "" && out != ref {
		t.Errorf("%s depends on the password %q (masked by substring?):\n got %s\nwant %s", what, pw, out, ref)
	}
}

func TestHostilePasswordsParsedAndRedacted(t *testing.T) {
	if len(pgtest.HostilePasswords) < 20 {
		t.Fatalf("only %d hostile passwords", len(pgtest.HostilePasswords))
	}
	for _, pw := range pgtest.HostilePasswords {
		for form, raw := range dsnForms(pw, "host=127.0.0.1 port=5432 user=pgha_monitor dbname=postgres", "127.0.0.1:5432/postgres") {
			t.Run(form+"/"+pw, func(t *testing.T) {
				// The test's DSN really carries pw (else it tests nothing).
				cfg, err := pgx.ParseConfig(raw)
				if err != nil {
					t.Fatalf("pgx cannot parse the test DSN %q: %v", raw, err)
				}
				if cfg.Password != pw {
					t.Fatalf("test DSN %q has password %q, want %q", raw, cfg.Password, pw)
				}
				d, err := LoadDSN("", envOf(map[string]string{EnvDSN: raw}))
				if err != nil {
					t.Fatalf("%q: %v", raw, err)
				}
				refPW := pgtest.ReferencePassword
				if pw == "" {
					refPW = ""
				}
				ref, err := LoadDSN("", envOf(map[string]string{EnvDSN: dsnForms(refPW, "host=127.0.0.1 port=5432 user=pgha_monitor dbname=postgres", "127.0.0.1:5432/postgres")[form]}))
				if err != nil {
					t.Fatal(err)
				}
				checkNoLeak(t, "Redacted", d.Redacted(), ref.Redacted(), pw)
				checkNoLeak(t, "masked DSN", d.masked, ref.masked, pw)
			})
		}
	}
}

// Testpgtest.HostilePasswordsInErrors: parse errors (a bad port) and connect
// errors (a closed port) carry no fragment of a hostile password and are
// the same as with a plain one.
func TestHostilePasswordsInErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name, kv, target string
		connect          bool
	}{
		{"bad port", "host=127.0.0.1 port=notaport user=pgha_monitor dbname=postgres", "127.0.0.1:notaport/postgres", false},
		{"closed port", fmt.Sprintf("host=127.0.0.1 port=%d user=pgha_monitor dbname=postgres", port), fmt.Sprintf("127.0.0.1:%d/postgres", port), true},
	} {
		errText := func(raw string) string {
			d, err := LoadDSN("", envOf(map[string]string{EnvDSN: raw}))
			if !tc.connect {
				if err == nil {
					t.Fatalf("%q parsed", raw)
				}
				return err.Error()
			}
			if err != nil {
				t.Fatal(err)
			}
			c := NewClient(d, ClientOptions{ConnectTimeout: 2 * time.Second})
			defer c.Close(ctx)
			_, err = c.Snapshot(ctx)
			if err == nil {
				t.Fatalf("%s: connected to a closed port", d)
			}
			return err.Error()
		}
		for _, pw := range pgtest.HostilePasswords {
			refPW := pgtest.ReferencePassword
			if pw == "" {
				refPW = ""
			}
			refs := dsnForms(refPW, tc.kv, tc.target)
			for form, raw := range dsnForms(pw, tc.kv, tc.target) {
				t.Run(tc.name+"/"+form+"/"+pw, func(t *testing.T) {
					out := errText(raw)
					checkNoLeak(t, "error", out, errText(refs[form]), pw)
					if strings.Contains(out, "\n") || utf8.RuneCountInString(out) > MaxErrorLine {
						t.Errorf("error is not one line of at most %d characters: %q", MaxErrorLine, out)
					}
				})
			}
		}
	}
}

// Testpgtest.HostilePasswordsRealServer: a real PostgreSQL refuses each hostile
// password; its error carries no fragment of it.
func TestHostilePasswordsRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts PostgreSQL")
	}
	c := pgtest.Start(t, pgtest.Options{})
	ctx := context.Background()
	kv := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=disable", c.Primary.Port, pgtest.MonitorUser)
	target := fmt.Sprintf("127.0.0.1:%d/postgres?sslmode=disable", c.Primary.Port)
	errText := func(raw string) string {
		d, err := LoadDSN("", envOf(map[string]string{EnvDSN: raw}))
		if err != nil {
			t.Fatal(err)
		}
		cl := NewClient(d, ClientOptions{})
		defer cl.Close(ctx)
		_, err = cl.Snapshot(ctx)
		if err == nil {
			t.Fatalf("%s: connected with a wrong password", d)
		}
		return err.Error()
	}
	ref := map[string]string{}
	for form, raw := range dsnForms(pgtest.ReferencePassword, kv, target) {
		ref[form] = errText(raw)
	}
	if !strings.Contains(ref["kv quoted"], "password authentication failed") {
		t.Fatalf("unexpected error for a wrong password: %s", ref["kv quoted"])
	}
	for _, pw := range pgtest.HostilePasswords {
		if pw == "" || pw == pgtest.MonitorPassword {
			continue // nothing to leak; the mask itself is what the reference shows
		}
		for form, raw := range dsnForms(pw, kv, target) {
			t.Run(form+"/"+pw, func(t *testing.T) {
				checkNoLeak(t, "error", errText(raw), ref[form], pw)
			})
		}
	}
}

func TestLeaks(t *testing.T) {
	// Substring masking of "mon" mangles the user name: no fragment leaks,
	// but the output differs from the reference (checkNoLeak's second test).
	if l := pgtest.Leaks("user=pgha_xxxxxitor", "user=pgha_monitor", "mon"); len(l) != 0 {
		t.Errorf("Leaks = %q", l)
	}
	if l := pgtest.Leaks("password=xxxxx PW'", "password=xxxxx", "it's PW"); len(l) != 1 || l[0] != " PW" {
		t.Errorf("Leaks = %q, want [\" PW\"]", l)
	}
}
