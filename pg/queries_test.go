package pg

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// catalog is testdata/catalog.json: what each server version provides.
type catalog struct {
	AllVersions struct {
		Functions []string `json:"functions"`
		Settings  []string `json:"settings"`
	} `json:"all_versions"`
	Versions map[string]catalogVersion `json:"versions"`
}

type catalogVersion struct {
	Functions   []string            `json:"functions"`
	Directories []string            `json:"directories"`
	Relations   map[string][]string `json:"relations"`
}

func loadCatalog(t *testing.T) catalog {
	t.Helper()
	b, err := os.ReadFile("testdata/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	var c catalog
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

var sqlKeywords = map[string]bool{
	"select": true, "from": true, "where": true, "case": true, "when": true, "then": true, "else": true,
	"end": true, "as": true, "and": true, "or": true, "not": true, "null": true, "order": true, "by": true,
	"like": true, "is": true, "desc": true, "asc": true, "extract": true, "epoch": true,
}

var (
	literalRE      = regexp.MustCompile(`'(?:[^']|'')*'`)
	castRE         = regexp.MustCompile(`::\s*[a-z_][a-z0-9_]*`)
	identRE        = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	settingRE      = regexp.MustCompile(`current_setting\('([^']+)'\)`)
	privilegeRE    = regexp.MustCompile(`has_function_privilege\('([a-z_]+)\(`)
	directoryRE    = regexp.MustCompile(`pg_ls_dir\('([a-z_]+)/`)
	nextIsParenRE  = regexp.MustCompile(`^\s*\(`)
	prevIsEpochRE  = regexp.MustCompile(`(?i)epoch\s+FROM\s+$`)
	prevIsFromRE   = regexp.MustCompile(`(?i)\bFROM\s+$`)
	prevIsAliasRE  = regexp.MustCompile(`(?i)\bAS\s+$`)
	tableAliasRE   = regexp.MustCompile(`(?i)\bFROM\s+[a-z_]+\s*\([^)]*\)\s+AS\s+$`)
	orderByRE      = regexp.MustCompile(`(?i)\bORDER\s+BY\b`)
	prevIsPrefixRE = regexp.MustCompile(`\.\s*$`)
)

// checkSQL returns the names in one statement that the catalog entry does
// not provide: functions, relations, columns, settings and directories.
func checkSQL(sql string, common catalog, v catalogVersion) []string {
	var problems []string
	funcs := map[string]bool{}
	for _, f := range append(slices.Clone(common.AllVersions.Functions), v.Functions...) {
		funcs[f] = true
	}
	// Names inside string literals that the server resolves at run time.
	for _, m := range settingRE.FindAllStringSubmatch(sql, -1) {
		if !slices.Contains(common.AllVersions.Settings, m[1]) {
			problems = append(problems, "setting "+m[1])
		}
	}
	for _, m := range privilegeRE.FindAllStringSubmatch(sql, -1) {
		if !funcs[m[1]] {
			problems = append(problems, "function "+m[1]+"()")
		}
	}
	for _, m := range directoryRE.FindAllStringSubmatch(sql, -1) {
		if !slices.Contains(v.Directories, m[1]) {
			problems = append(problems, "directory "+m[1])
		}
	}

	code := castRE.ReplaceAllString(literalRE.ReplaceAllStringFunc(sql, func(s string) string {
		return strings.Repeat(" ", len(s))
	}), "")
	// Output-column aliases may be referenced only in ORDER BY; a table
	// alias of a scalar function (FROM pg_ls_dir(...) AS f) names its column.
	orderBy := len(code)
	if loc := orderByRE.FindStringIndex(code); loc != nil {
		orderBy = loc[1]
	}
	type ident struct {
		name                                 string
		call, alias, relation, qual, ordered bool
	}
	var idents []ident
	columns := map[string]bool{}
	aliases := map[string]bool{}
	for _, loc := range identRE.FindAllStringIndex(code, -1) {
		before, after := code[:loc[0]], code[loc[1]:]
		id := ident{
			name:     code[loc[0]:loc[1]],
			call:     nextIsParenRE.MatchString(after),
			alias:    prevIsAliasRE.MatchString(before),
			relation: prevIsFromRE.MatchString(before) && !prevIsEpochRE.MatchString(before),
			qual:     prevIsPrefixRE.MatchString(before),
			ordered:  loc[0] >= orderBy,
		}
		if id.alias && tableAliasRE.MatchString(before) {
			columns[id.name] = true
		}
		idents = append(idents, id)
	}
	for _, id := range idents {
		switch {
		case id.alias:
			aliases[id.name] = true
		case id.relation:
			key := id.name
			if id.call {
				key += "()"
			}
			cols, ok := v.Relations[key]
			if !ok {
				problems = append(problems, "relation "+key)
			}
			for _, c := range cols {
				columns[c] = true
			}
		}
	}
	for _, id := range idents {
		lower := strings.ToLower(id.name)
		switch {
		case sqlKeywords[lower] || id.alias || id.qual:
		case id.call:
			if !funcs[id.name] {
				problems = append(problems, "function "+id.name+"()")
			}
		case id.relation:
		case !columns[id.name] && !(id.ordered && aliases[id.name]):
			problems = append(problems, "column "+id.name)
		}
	}
	return problems
}

// TestSQLMatchesCatalog checks every statement generated for every recorded
// version against that version's column sets and functions. No 9.x server
// runs here: for those versions this check is the only test of the SQL (10
// to 18 also run live, and TestIntegrationClient compares their entries with
// the live catalogs).
func TestSQLMatchesCatalog(t *testing.T) {
	cat := loadCatalog(t)
	for _, bucket := range []int{90300, 90400, 90600, 100000, 120000, 130000, 170000, 180000} {
		if _, ok := cat.Versions[strconv.Itoa(bucket)]; !ok {
			t.Errorf("catalog lacks required version %d", bucket)
		}
	}
	for key, v := range cat.Versions {
		version, err := strconv.Atoi(key)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(key, func(t *testing.T) {
			if p := checkSQL(privilegesSQL(version), cat, v); len(p) > 0 {
				t.Errorf("privileges query uses what %d lacks: %s\n%s", version, strings.Join(p, ", "), privilegesSQL(version))
			}
			for _, privs := range []privileges{{}, {ControlFunctions: true}, {ArchiveStatus: true}, allPrivileges} {
				for _, q := range queriesFor(version, privs) {
					if p := checkSQL(q.sql, cat, v); len(p) > 0 {
						t.Errorf("%s query (%+v) uses what %d lacks: %s\n%s", q.name, privs, version, strings.Join(p, ", "), q.sql)
					}
				}
			}
		})
	}
}

var allPrivileges = privileges{ControlFunctions: true, ArchiveStatus: true}

// TestCheckSQLCatchesMistakes makes sure the checker is not vacuous: newer SQL
// against an older catalog must fail, with the offending names.
func TestCheckSQLCatchesMistakes(t *testing.T) {
	cat := loadCatalog(t)
	tests := []struct {
		sql     string
		against string
		want    []string
	}{
		{replicationSQL(100000), "90600", []string{"column sent_lsn", "column write_lsn", "column flush_lsn", "column replay_lsn", "column write_lag"}},
		{replicationSQL(120000), "100000", []string{"column reply_time"}},
		{nodeSQL(100000, allPrivileges), "90600", []string{"function pg_current_wal_lsn()", "function pg_walfile_name()", "function pg_is_wal_replay_paused()"}},
		{nodeSQL(90600, allPrivileges), "90500", []string{"function pg_control_system()", "relation pg_control_system()", "relation pg_control_checkpoint()"}},
		{privilegesSQL(90600), "90500", []string{"function pg_control_system()"}},
		{privilegesSQL(120000), "110000", []string{"function pg_ls_archive_statusdir()"}},
		{nodeSQL(90600, allPrivileges), "100000", []string{"function pg_current_xlog_location()", "function pg_last_xlog_receive_location()"}},
		{receiverSQL(130000), "120000", []string{"column written_lsn"}},
		{receiverSQL(120000), "130000", []string{"column received_lsn"}},
		{receiverSQL(110000), "100000", []string{"column sender_host", "column sender_port"}},
		{archiverSQL(120000, allPrivileges), "110000", []string{"function pg_ls_archive_statusdir()", "relation pg_ls_archive_statusdir()"}},
		{archiverSQL(90600, allPrivileges), "100000", []string{"directory pg_xlog"}},
		{archiverSQL(90400, allPrivileges), "90300", []string{"relation pg_stat_archiver"}},
		{slotsSQL(130000), "120000", []string{"column wal_status", "column safe_wal_size"}},
		{"SELECT current_setting('no_such_setting')", "150000", []string{"setting no_such_setting"}},
	}
	for _, tt := range tests {
		got := checkSQL(tt.sql, cat, cat.Versions[tt.against])
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("checking against %s: problems %q lack %q\n%s", tt.against, got, w, tt.sql)
			}
		}
	}
}

// TestQueriesPerVersion pins the statement count (all sent in one round
// trip) and the golden SQL text in testdata/sql/, which is there for review.
func TestQueriesPerVersion(t *testing.T) {
	want := map[int]int{90300: 2, 90400: 4, 90500: 4, 90600: 5, 100000: 5, 110000: 5, 120000: 5, 130000: 5, 140000: 5, 150000: 5, 160000: 5, 170000: 5, 180000: 5}
	for version, n := range want {
		qs := queriesFor(version, allPrivileges)
		if len(qs) != n {
			t.Errorf("version %d: %d queries, want %d", version, len(qs), n)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "-- server_version_num %d. Once per connection, the role's privileges:\n%s;\n\n", version, privilegesSQL(version))
		fmt.Fprintf(&b, "-- Then per snapshot, in one pipeline (with every privilege; without one,\n-- the columns that need it are left out):\n")
		for _, q := range qs {
			fmt.Fprintf(&b, "\n-- %s\n%s;\n", q.name, q.sql)
		}
		path := filepath.Join("testdata", "sql", strconv.Itoa(version)+".sql")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./pg/ -run TestQueriesPerVersion -update)", err)
		}
		if string(golden) != b.String() {
			t.Errorf("SQL for %d differs from %s (rerun with -update and review the diff)", version, path)
		}
	}
}

func TestGUCSeconds(t *testing.T) {
	tests := []struct {
		in   string
		base time.Duration
		want float64
		err  bool
	}{
		{"1min", time.Millisecond, 60, false},
		{"60s", time.Millisecond, 60, false},
		{"500ms", time.Millisecond, 0.5, false},
		{"0", time.Millisecond, 0, false},
		{"10s", time.Second, 10, false},
		{"10", time.Second, 10, false},
		{"2h", time.Second, 7200, false},
		{"1d", time.Second, 86400, false},
		{"-1", time.Millisecond, -0.001, false},
		{"", time.Second, 0, true},
		{"5 fortnights", time.Second, 0, true},
	}
	for _, tt := range tests {
		got, err := gucSeconds(tt.in, tt.base)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("gucSeconds(%q) = %v, %v", tt.in, got, err)
		}
	}
}
