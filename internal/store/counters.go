package store

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
)

// QuotaKey identifies one quota counter: a key's allowance in one plan for one period (the period
// starting at PeriodStart, UTC).
type QuotaKey struct {
	Region      string
	PlanID      string
	KeyID       string
	PeriodStart time.Time
}

// UsageDelta is a number of admitted requests to add to a key's count for one UTC day. It is
// the domain's type, so that the meter, which the data plane holds, can build batches for
// Counters without depending on this package.
type UsageDelta = apigw.UsageDelta

// Counters is the durable side of quotas and usage metering. The data plane counts in memory and
// talks to Counters only off the request path (lease refills, background flushes), except for the
// rare synchronous lease a key needs at the start of a period.
//
// Quota leases make kill -9 safe: a node admits a request only against quota it has already
// reserved durably, so a restarted (or another) node resumes from the reservation, never from a
// count that may have lost its last flush. Under-admission is bounded by the unused leases.
type Counters interface {
	// ReserveQuota atomically raises the reservation of k by up to want, never beyond limit
	// (the allowance of the period), and returns how much it granted (0 when exhausted) and the
	// new total reservation. MUST be durable before it returns.
	ReserveQuota(ctx context.Context, k QuotaKey, want, limit int64) (granted, total int64, err error)
	// ReleaseQuota gives back n unused reserved requests (on graceful shutdown or idle).
	ReleaseQuota(ctx context.Context, k QuotaKey, n int64) error
	// QuotaReserved returns the current reservation of k (0 if none).
	QuotaReserved(ctx context.Context, k QuotaKey) (int64, error)

	// SetAllowance records an UpdateUsage override: the key's allowance for that period becomes
	// allowance (used-so-far + the new remaining). Allowances reads it back, and a store's
	// Tx.QuotaAllowance reads one key's (what the data plane reads after a write that touched the
	// key: a write must cost its change, not the plan's size).
	SetAllowance(ctx context.Context, k QuotaKey, allowance int64) error
	// Allowances returns every override of a plan for periods starting at or after since.
	Allowances(ctx context.Context, region, planID string, since time.Time) (map[QuotaKey]int64, error)

	// AddUsage adds deltas in one transaction. It must not keep deltas after it returns (the
	// meter reuses the slice for its next flush).
	AddUsage(ctx context.Context, deltas []UsageDelta) error
	// CommitUsage adds deltas like AddUsage and, in the same transaction, records epoch as the
	// last batch applied from journal (a node's usage journal, see internal/meter). A batch
	// whose epoch is not above the recorded one is not applied again: a node that never heard
	// whether its flush landed can send it again, or ask UsageEpoch, without counting twice.
	CommitUsage(ctx context.Context, journal string, epoch uint64, deltas []UsageDelta) error
	// UsageEpoch returns the last epoch CommitUsage applied for journal (0 if none).
	UsageEpoch(ctx context.Context, journal string) (uint64, error)
	// Usage returns per-key, per-day counts of the listed keys of a plan for days in [from, to]
	// (UTC days); keys with no rows are absent. It reads those keys' rows only, so a page of
	// GetUsage costs its keys, not the plan's keys in use. keyIDs nil reads every key of the
	// plan (tests and tools: it costs the plan's rows in the range).
	Usage(ctx context.Context, region, planID string, keyIDs []string, from, to time.Time) (map[string]map[time.Time]int64, error)
}
