package postgres

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/internal/store"
)

// Counter writes are not configuration: they must not wake snapshot rebuilds, here or on another
// node.
func TestCounterWritesDoNotPublishChanges(t *testing.T) {
	dsn := freshSchema(t)
	s := openDSN(t, dsn, Options{})
	other := openDSN(t, dsn, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seq, wake, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k := store.QuotaKey{Region: "r", PlanID: "p", KeyID: "k"}
	if _, _, err := s.ReserveQuota(ctx, k, 1, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAllowance(ctx, k, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, []store.UsageDelta{{Region: "r", PlanID: "p", KeyID: "k", Count: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Heartbeat(ctx, "n"); err != nil {
		t.Fatal(err)
	}
	// A configuration write on the other store is the marker: once it has woken s, any
	// notification the counter writes had sent would have arrived before it.
	putKey(t, other, "marker")
	waitWake(t, "configuration write", wake, propagationDeadline)
	if got := seqOf(t, s); got != seqOf(t, other) || got != seq+1 {
		t.Fatalf("change sequence %d after counter writes and one configuration write, want %d", got, seq+1)
	}
}

// BenchmarkReserveQuota is one lease refill: a single upsert round trip, durable at commit.
func BenchmarkReserveQuota(b *testing.B) {
	s := openFresh(b)
	k := store.QuotaKey{Region: "r", PlanID: "p", KeyID: "k"}
	for b.Loop() {
		if _, _, err := s.ReserveQuota(context.Background(), k, 1, 1<<62); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddUsage flushes 1,000 counters in one statement.
func BenchmarkAddUsage1000(b *testing.B) {
	s := openFresh(b)
	deltas := make([]store.UsageDelta, 1000)
	for i := range deltas {
		deltas[i] = store.UsageDelta{Region: "r", PlanID: "p", KeyID: string(rune('a'+i%26)) + string(rune('a'+i/26)), Count: 1}
	}
	for b.Loop() {
		if err := s.AddUsage(context.Background(), deltas); err != nil {
			b.Fatal(err)
		}
	}
}
