package quota

import (
	"context"
	"sync/atomic"
)

// Stats are a Counter's lease counters, for the metrics exposition.
type Stats struct {
	Granted  uint64 // reservations the ledger granted (a non-empty lease)
	Returned uint64 // unused leases given back
	Waits    uint64 // requests that waited for the ledger (no lease at hand)
	Errors   uint64 // ledger calls that failed
}

// Stats returns the lease counters so far.
func (c *Counter) Stats() Stats {
	l := c.counts
	return Stats{Granted: l.granted.Load(), Returned: l.returned.Load(), Waits: c.waits.Load(), Errors: l.errors.Load()}
}

// countingLedger counts what the Counter asks of its ledger. Every ledger call is off the
// lock-free path (a lease refill or a release), so the counting costs requests nothing.
type countingLedger struct {
	Ledger
	granted, returned, errors atomic.Uint64
}

func (l *countingLedger) ReserveQuota(ctx context.Context, k Key, want, limit int64) (int64, int64, error) {
	g, total, err := l.Ledger.ReserveQuota(ctx, k, want, limit)
	switch {
	case err != nil:
		l.errors.Add(1)
	case g > 0:
		l.granted.Add(1)
	}
	return g, total, err
}

func (l *countingLedger) ReleaseQuota(ctx context.Context, k Key, n int64) error {
	err := l.Ledger.ReleaseQuota(ctx, k, n)
	if err != nil {
		l.errors.Add(1)
	} else {
		l.returned.Add(1)
	}
	return err
}
