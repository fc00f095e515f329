//go:build !go1.24

package collector

import (
	"net/http"

	"github.com/prometheus/common/expfmt"
)

// negotiateFormat for the EL6 build (Go 1.23, prometheus/common v0.66,
// which has no NegotiateAccept): the same negotiation under its older name.
func negotiateFormat(h http.Header) expfmt.Format {
	return expfmt.NegotiateIncludingOpenMetrics(h)
}
