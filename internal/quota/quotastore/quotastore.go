// Package quotastore connects quota to the store: it adapts a store.Counters to quota.Ledger.
// It lives apart from quota so the data plane, which links quota, never links the store
// (internal/archtest); the wiring in cmd/tollgate imports this package instead.
package quotastore

import (
	"context"

	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/store"
)

// Ledger returns c as a quota.Ledger.
func Ledger(c store.Counters) quota.Ledger { return ledger{c} }

type ledger struct{ c store.Counters }

func (l ledger) ReserveQuota(ctx context.Context, k quota.Key, want, limit int64) (int64, int64, error) {
	return l.c.ReserveQuota(ctx, store.QuotaKey(k), want, limit)
}

func (l ledger) ReleaseQuota(ctx context.Context, k quota.Key, n int64) error {
	return l.c.ReleaseQuota(ctx, store.QuotaKey(k), n)
}
