//go:build go1.24

package collector

import (
	"net/http"

	"github.com/prometheus/common/expfmt"
)

// negotiateFormat picks the exposition format as promhttp does with
// OpenMetrics enabled.
func negotiateFormat(h http.Header) expfmt.Format {
	return expfmt.NegotiateAccept(h, expfmt.DefaultOpenMetricsAcceptedFormats()...)
}
