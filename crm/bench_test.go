package crm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pgha/pgha_exporter/crm/crmtest"
)

// largeFixture is the generated 32-node / 500-resource crm_mon output.
func largeFixture(b *testing.B, name string) []byte {
	data, err := os.ReadFile(filepath.Join(crmtest.Generated(b), "large-32n-500r", name))
	if err != nil {
		b.Fatalf("%v (make fixtures)", err)
	}
	return data
}

func benchmarkParse(b *testing.B, name string) {
	data := largeFixture(b, name)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLarge(b *testing.B)       { benchmarkParse(b, "crm_mon.xml") }
func BenchmarkParseLargeLegacy(b *testing.B) { benchmarkParse(b, "crm_mon.legacy.xml") }
