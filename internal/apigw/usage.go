package apigw

import "time"

// UsageDelta is a number of admitted requests to add to a key's count in a plan for one UTC day:
// what the meter gives the store (store.UsageDelta is this type) and what GetUsage sums.
type UsageDelta struct {
	Region string
	PlanID string
	KeyID  string
	Day    time.Time // 00:00 UTC
	Count  int64
}
