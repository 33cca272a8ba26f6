package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate/internal/quota/quotatest"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

// openCounters opens a store at path, closed at cleanup.
func openCounters(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCountersConformance(t *testing.T) {
	storetest.RunCounters(t, func(t *testing.T) store.Counters {
		return openCounters(t, filepath.Join(t.TempDir(), "tollgate.db"))
	})
}

func TestCountersDurability(t *testing.T) {
	storetest.RunCountersDurability(t, func(t *testing.T) (store.Counters, func() store.Counters) {
		path := filepath.Join(t.TempDir(), "tollgate.db")
		s := openCounters(t, path)
		return s, func() store.Counters {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openCounters(t, path)
			return s
		}
	})
}

// Counter writes are not configuration: they must not wake snapshot rebuilds.
func TestCounterWritesDoNotPublishChanges(t *testing.T) {
	s := openCounters(t, filepath.Join(t.TempDir(), "tollgate.db"))
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
	select {
	case <-wake:
		t.Fatal("a counter write woke the change subscribers")
	default:
	}
	if seq2, _, _ := s.Changes(ctx); seq2 != seq {
		t.Fatalf("change sequence moved from %d to %d", seq, seq2)
	}
}

func TestCountersAfterClose(t *testing.T) {
	s := openCounters(t, filepath.Join(t.TempDir(), "tollgate.db"))
	s.Close()
	if _, _, err := s.ReserveQuota(context.Background(), store.QuotaKey{}, 1, 1); err != ErrClosed {
		t.Fatalf("ReserveQuota after Close: %v, want ErrClosed", err)
	}
}

// The quota invariants (exact admission, kill -9 safety, allowance changes) over real SQLite
// reservations.
func TestQuotaOverSQLite(t *testing.T) {
	quotatest.Run(t, func(t *testing.T) store.Counters {
		return openCounters(t, filepath.Join(t.TempDir(), "tollgate.db"))
	})
}

// BenchmarkAddUsage10k is one usage flush under load: a count for each of 10,000 keys that
// were called in the last interval.
func BenchmarkAddUsage10k(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "tollgate.db"))
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	deltas := make([]store.UsageDelta, 10000)
	for i := range deltas {
		deltas[i] = store.UsageDelta{Region: "us-east-1", PlanID: "plan01", KeyID: fmt.Sprintf("key%06d", i), Day: day, Count: 4}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.AddUsage(context.Background(), deltas); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(deltas)), "ns/row")
}

// FuzzAppendJSONString: the usage flush's JSON strings decode to the id they encode (ids are
// valid UTF-8; encoding/json replaces invalid bytes, as it must for JSON).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"k1", "", `q"\é` + "\x01,]", "\u2028", "plan-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendJSONString([]byte("x"), s)[1:]
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encoded as %s: %v", s, enc, err)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("%q encoded as %s decodes to %q", s, enc, got)
		}
	})
}
