package scale

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/control"
	"github.com/tollgate/tollgate/internal/store"
)

// BenchmarkGetUsage writes 90 days of usage for 1,000 keys of one plan through
// store.Counters.AddUsage (SQLite), then times control's GetUsage over the whole range with
// limit 500: two pages, as a client paging the report sees it.
func BenchmarkGetUsage(b *testing.B) {
	const keys, days, limit = 1000, 90, 500
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
	for b.Loop() {
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
		b.ReportMetric(total.Seconds()*1000, "ms/report")
		b.Logf("keys=%d days=%d populate(AddUsage %d rows)=%v GetUsage total=%v pages=%v",
			keys, days, len(deltas), populate.Round(time.Millisecond), total.Round(time.Millisecond), pages)
	}
}
