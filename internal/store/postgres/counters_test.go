package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
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

// TestUsageOfLooksKeysUp: the read of some keys' usage looks each key up in usage_days_key, even
// before the table's first ANALYZE (flushes never ask for one), with every key of a large plan
// counted today. The IN-list form scanned the primary key's range of days there: every key's
// rows.
func TestUsageOfLooksKeysUp(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	sqlOn(t, s, `INSERT INTO usage_days (region, plan_id, day, key_id, count)
		SELECT 'us-east-1', 'p1', $1, 'key' || g, 1 FROM generate_series(1, 20000) g`, day.Unix())
	var ids []string
	for i := range 500 {
		ids = append(ids, fmt.Sprint("key", 1+i*40))
	}
	args := append(sqlstore.UsageArgs("us-east-1", "p1", day.AddDate(0, 0, -89), day), ids)
	var plan string
	if err := s.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+usageOfSQL, args...).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, `"usage_days_key"`) || strings.Contains(plan, `"usage_days_pkey"`) {
		t.Errorf("plan does not look each key up in usage_days_key:\n%s", plan)
	}
	got, err := s.Usage(ctx, "us-east-1", "p1", ids, day.AddDate(0, 0, -89), day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) || got["key41"][day] != 1 {
		t.Errorf("Usage of %d keys: %d keys, key41 %v", len(ids), len(got), got["key41"])
	}
}
