package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/quota/quotastore"
	"github.com/tollgate/tollgate/internal/store"
)

// A lease nobody uses goes back to the ledger, so other nodes can have the rest of the allowance.
func TestIdleLeaseIsReleased(t *testing.T) {
	mem := quotamem.New()
	c := quota.New(quotastore.Ledger(mem), quota.Options{IdleRelease: 40 * time.Millisecond})
	defer c.Close(context.Background())
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := &quota.Policy{Quota: apigw.Quota{Limit: 1000, Period: apigw.PeriodDay}}
	if ok, err := c.Entry("r", "p", "k").Take(context.Background(), p, now); !ok || err != nil {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	k := store.QuotaKey{Region: "r", PlanID: "p", KeyID: "k", PeriodStart: quota.PeriodStart(apigw.PeriodDay, now)}
	if r, _ := mem.QuotaReserved(context.Background(), k); r <= 1 {
		t.Fatalf("reserved %d after the first take, want a lease larger than 1", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, _ := mem.QuotaReserved(context.Background(), k)
		if r == 1 {
			return // only the request actually admitted stays reserved
		}
		if time.Now().After(deadline) {
			t.Fatalf("reserved %d five seconds later, want the idle lease given back (1)", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
