package crm

import (
	"os"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// FuzzParse: no input may panic the parsers; every fixture seeds the corpus.
// Run: go test ./crm -run '^$' -fuzz FuzzParse -fuzztime 5m
func FuzzParse(f *testing.F) {
	for _, path := range crmtest.CrmMonFixtures(f) {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`<crm_mon version="1"><resources><clone id="c" multi_state="true"><group id="g:0"><resource id="r:0" role="Master"/></group></clone></resources></crm_mon>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Parse(data, ParseOptions{})
		if err == nil {
			_, _ = Classify(st)
			_ = st.PgsqlNodes(nil)
			_ = st.PromotionScores()
			_, _ = st.LocalRole("n")
		}
		_, _, _ = ParseConstraints(data)
		_, _ = ParseCIBNodes(data)
		_, _ = ParseClusterName(data)
	})
}
