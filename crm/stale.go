package crm

import (
	"math"
	"time"
)

// Stale is the one rule that decides whether a snapshot of the cluster state
// (Pacemaker or corosync) is too old to be trusted, for the exporter's
// metrics, its role agreement and the check mode alike. ageSeconds is the
// time since the snapshot was taken; maxAge is the operator's limit, where 0
// (or less) means no limit. An age that is not a finite, non-negative number
// (a clock gone backwards, a corrupt remote document, 1e300) is stale
// whatever the limit: nothing can vouch for such a snapshot.
func Stale(ageSeconds float64, maxAge time.Duration) bool {
	if math.IsNaN(ageSeconds) || math.IsInf(ageSeconds, 0) || ageSeconds < 0 {
		return true
	}
	if maxAge <= 0 {
		return false
	}
	return ageSeconds > maxAge.Seconds()
}
