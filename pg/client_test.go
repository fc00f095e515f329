package pg

import (
	"testing"
	"time"
)

func TestConnConfig(t *testing.T) {
	tests := []struct {
		dsn     string
		opts    ClientOptions
		connect time.Duration
		stmt    string
		app     string
	}{
		{dsn: "host=db user=mon", connect: 5 * time.Second, stmt: "5000", app: "pgha_exporter"},
		{dsn: "host=db user=mon connect_timeout=2 application_name=mine", opts: ClientOptions{QueryTimeout: 1500 * time.Millisecond},
			connect: 2 * time.Second, stmt: "1500", app: "mine"},
		{dsn: "host=db user=mon connect_timeout=30", opts: ClientOptions{ConnectTimeout: time.Second, QueryTimeout: time.Microsecond, ApplicationName: "x"},
			connect: time.Second, stmt: "1", app: "x"},
	}
	for _, tt := range tests {
		c := NewClient(loadTestDSN(t, tt.dsn), tt.opts)
		cfg, err := c.connConfig()
		if err != nil {
			t.Fatal(err)
		}
		rp := cfg.RuntimeParams
		if cfg.ConnectTimeout != tt.connect || rp["statement_timeout"] != tt.stmt || rp["application_name"] != tt.app || rp["extra_float_digits"] != "3" {
			t.Errorf("%q: connect %v, runtime params %v", tt.dsn, cfg.ConnectTimeout, rp)
		}
		if cfg.DialFunc == nil {
			t.Errorf("%q: no dialer", tt.dsn)
		}
	}
}
