package control

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/quota/quotamem"
	"github.com/tollgate/tollgate/internal/store"
)

// usageReads records the key lists Usage is asked for.
type usageReads struct {
	*quotamem.Counters
	asked [][]string
}

func (u *usageReads) Usage(ctx context.Context, region, planID string, keyIDs []string, from, to time.Time) (map[string]map[time.Time]int64, error) {
	u.asked = append(u.asked, slices.Clone(keyIDs))
	return u.Counters.Usage(ctx, region, planID, keyIDs, from, to)
}

// TestUsageReadsItsKeys: GetUsage reads the usage of its page's keys and UpdateUsage of its key,
// never the whole plan's (nil), which at a million keys in use is a million rows a day; an
// empty page reads nothing. The figures are the page's own.
func TestUsageReadsItsKeys(t *testing.T) {
	svc, _ := newRTService(t)
	ctx := context.Background()
	counters := &usageReads{Counters: quotamem.New()}
	svc.SetUsage(UsageBackend{Counters: counters})
	plan, err := svc.CreateUsagePlan(ctx, rtRegion, CreateUsagePlanInput{Name: "p", Quota: &apigw.Quota{Limit: 100, Period: apigw.PeriodDay}})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := svc.CreateUsagePlan(ctx, rtRegion, CreateUsagePlanInput{Name: "empty"})
	if err != nil {
		t.Fatal(err)
	}
	today := rtNow.Truncate(24 * time.Hour)
	var deltas []store.UsageDelta
	var ids []string
	for i := range 3 {
		k, err := svc.CreateApiKey(ctx, rtRegion, CreateApiKeyInput{Name: fmt.Sprint("k", i), Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateUsagePlanKey(ctx, rtRegion, plan.ID, CreateUsagePlanKeyInput{KeyID: k.ID, KeyType: "API_KEY"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
		deltas = append(deltas, store.UsageDelta{Region: rtRegion, PlanID: plan.ID, KeyID: k.ID, Day: today, Count: int64(i + 1)})
	}
	// Usage of keys no longer in the plan, in both plans: never read.
	deltas = append(deltas, store.UsageDelta{Region: rtRegion, PlanID: plan.ID, KeyID: "gonekey", Day: today, Count: 50},
		store.UsageDelta{Region: rtRegion, PlanID: empty.ID, KeyID: "gonekey", Day: today, Count: 50})
	if err := counters.AddUsage(ctx, deltas); err != nil {
		t.Fatal(err)
	}
	day := today.Format("2006-01-02")

	u, err := svc.GetUsage(ctx, rtRegion, plan.ID, "", day, day, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(counters.asked) != 1 || !sameSet(counters.asked[0], u.KeyIDs) || len(u.KeyIDs) != 2 {
		t.Fatalf("a page of %v asked for %q", u.KeyIDs, counters.asked)
	}
	for _, id := range u.KeyIDs {
		i := slices.Index(ids, id)
		if want := [][2]int64{{int64(i + 1), 100 - int64(i+1)}}; fmt.Sprint(u.Values[id]) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", id, u.Values[id], want)
		}
	}

	counters.asked = nil
	if u, err = svc.GetUsage(ctx, rtRegion, empty.ID, "", day, day, "", 10); err != nil || len(u.KeyIDs) != 0 {
		t.Fatalf("empty plan: %+v, %v", u, err)
	}
	if len(counters.asked) != 0 {
		t.Errorf("an empty page asked for %q", counters.asked)
	}

	counters.asked = nil
	v := "10"
	if _, err := svc.UpdateUsage(ctx, rtRegion, plan.ID, ids[2], []patch.Op{{Op: "replace", Path: "/remaining", Value: &v}}); err != nil {
		t.Fatal(err)
	}
	for _, asked := range counters.asked {
		if !slices.Equal(asked, []string{ids[2]}) {
			t.Errorf("UpdateUsage of %s asked for %q", ids[2], asked)
		}
	}
	if len(counters.asked) == 0 {
		t.Error("UpdateUsage read no usage")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
