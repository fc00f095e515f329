package corosync

import (
	"encoding/json"
	"errors"
	"testing"
)

// seed adds every fixture file as a seed input.
func seed(f *testing.F) {
	for _, fx := range fixtures(f) {
		f.Add(fx.input)
	}
}

// checkResult fails unless a parser returned either a value or an *Error,
// and the value marshals to JSON (as the Nagios check and the golden files
// do).
func checkResult[T any](t *testing.T, v *T, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Reason() == "" {
			t.Fatalf("error %v (%T) is not a classified *Error", err, err)
		}
		return
	}
	if v == nil {
		t.Fatal("nil result without error")
	}
	if _, err := json.Marshal(v); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseCfgtool(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseCfgtool(in)
		checkResult(t, r, err)
	})
}

func FuzzParseQuorumtool(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		q, err := ParseQuorumtool(in)
		checkResult(t, q, err)
	})
}

func FuzzParseCmanStatus(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseCmanStatus(in)
		checkResult(t, s, err)
		if err == nil {
			q := cmanQuorum(&Cman{Status: s})
			checkResult(t, q, nil)
		}
	})
}

func FuzzParseCmanNodes(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		nodes, err := ParseCmanNodes(in)
		checkResult(t, &nodes, err)
		if err == nil {
			checkResult(t, cmanQuorum(&Cman{Status: &CmanStatus{}, Nodes: nodes}), nil)
		}
	})
}
