package quota_test

import (
	"context"
	"sync"
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

// A lease taken ahead for a key that went quiet before midnight goes back once the new period
// has run for the idle time without a request taking it over.
func TestStaleLeaseAheadIsReleased(t *testing.T) {
	mem := quotamem.New()
	boundary := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	clock := boundary.Add(-time.Minute)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	c := quota.New(quotastore.Ledger(mem), quota.Options{IdleRelease: 40 * time.Millisecond, Ahead: -1, Now: now})
	defer c.Close(context.Background())
	p := &quota.Policy{Quota: apigw.Quota{Limit: 1000, Period: apigw.PeriodDay}}
	if ok, err := c.Entry("r", "p", "k").Take(context.Background(), p, now()); !ok || err != nil {
		t.Fatalf("Take = %v, %v", ok, err)
	}
	c.PrepareRollover(boundary)
	k := store.QuotaKey{Region: "r", PlanID: "p", KeyID: "k", PeriodStart: boundary}
	if r, _ := mem.QuotaReserved(context.Background(), k); r <= 0 {
		t.Fatalf("reserved %d ahead for the new day, want a lease", r)
	}
	time.Sleep(200 * time.Millisecond) // idle checks before the boundary keep it
	if r, _ := mem.QuotaReserved(context.Background(), k); r <= 0 {
		t.Fatalf("the lease ahead went back before its period began (reserved %d)", r)
	}
	mu.Lock()
	clock = boundary.Add(time.Second)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r, _ := mem.QuotaReserved(context.Background(), k); r == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the unclaimed lease ahead was not given back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
