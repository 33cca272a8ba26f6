package scale

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/control"
	"github.com/tollgate/tollgate/internal/store"
)

// BenchmarkGetUsage writes 90 days of usage for 1,000 keys of one plan through
// store.Counters.AddUsage (SQLite), then times control's GetUsage over the whole range with
// limit 500: two pages, as a client paging the report sees it. It does so twice: with those
// keys' rows alone, then with TOLLGATE_SCALE_USAGE_KEYS (default 200,000) more keys of the plan
// counted today, as on a plan with that many keys in use. Beside each it times the store's read
// of one page, by the page's ids (what GetUsage reads) and the plan's whole range (what it read
// before issue 11), so the baseline prints in the same run.
func BenchmarkGetUsage(b *testing.B) {
	const keys, days, limit = 1000, 90, 500
	others := envInt(b, "TOLLGATE_SCALE_USAGE_KEYS", 200_000)
	ctx := context.Background()
	f := newFixture(b, b.TempDir())
	ids := f.addKeys(b, keys)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	t0 := time.Now()
	deltas := make([]store.UsageDelta, 0, keys*days)
	for i, id := range ids {
		for d := range days {
			deltas = append(deltas, store.UsageDelta{Region: region, PlanID: f.planID, KeyID: id, Day: first.AddDate(0, 0, d), Count: int64(1 + (i+d)%50)})
		}
	}
	if err := f.st.AddUsage(ctx, deltas); err != nil {
		b.Fatal(err)
	}
	populate := time.Since(t0)

	svc := control.New(f.st, control.Config{AccountID: "123456789012"}, nil)
	svc.SetUsage(control.UsageBackend{Counters: f.st})
	startDate, endDate := first.Format("2006-01-02"), today.Format("2006-01-02")
	report := func(b *testing.B) {
		var pages []time.Duration
		cursor, seen, cells := "", 0, 0
		start := time.Now()
		for {
			p0 := time.Now()
			u, err := svc.GetUsage(ctx, region, f.planID, "", startDate, endDate, cursor, limit)
			if err != nil {
				b.Fatal(err)
			}
			pages = append(pages, time.Since(p0))
			seen += len(u.KeyIDs)
			for _, v := range u.Values {
				cells += len(v)
			}
			if cursor = u.Next; cursor == "" {
				break
			}
		}
		total := time.Since(start)
		if seen != keys || cells != keys*days {
			b.Fatalf("GetUsage returned %d keys, %d key-days; want %d, %d", seen, cells, keys, keys*days)
		}
		read := func(keyIDs []string) time.Duration {
			start := time.Now()
			if _, err := f.st.Usage(ctx, region, f.planID, keyIDs, first, today); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		byIDs, whole := read(ids[:limit]), read(nil)
		b.ReportMetric(total.Seconds()*1000, "ms/report")
		b.ReportMetric(byIDs.Seconds()*1000, "ms/page-read")
		b.ReportMetric(whole.Seconds()*1000, "ms/plan-read")
		b.Logf("keys=%d days=%d populate(AddUsage %d rows)=%v GetUsage total=%v pages=%v; one page's rows read by its ids %v, the plan's range (before) %v",
			keys, days, len(deltas), populate.Round(time.Millisecond), total.Round(time.Millisecond), pages, byIDs.Round(time.Millisecond), whole.Round(time.Millisecond))
	}
	b.Run("keys in use=1000", func(b *testing.B) {
		for b.Loop() {
			report(b)
		}
	})
	deltas = deltas[:0]
	for i := range others {
		deltas = append(deltas, store.UsageDelta{Region: region, PlanID: f.planID, KeyID: fmt.Sprintf("other%07d", i), Day: today, Count: 1})
	}
	if err := f.st.AddUsage(ctx, deltas); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("keys in use=%d", keys+others), func(b *testing.B) {
		for b.Loop() {
			report(b)
		}
	})
}
