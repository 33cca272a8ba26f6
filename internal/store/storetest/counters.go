package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/store"
)

// CountersOpener returns new, empty counters; the opener arranges for them to be closed at test
// cleanup.
type CountersOpener func(t *testing.T) store.Counters

// CountersReopener returns new, empty counters with a function that closes them and opens the
// same data again.
type CountersReopener func(t *testing.T) (c store.Counters, reopen func() store.Counters)

// Fixtures of the counters suite (names prefixed: other files of this package own the short ones).
var (
	ctrSep    = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	ctrAug    = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	ctrOct    = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	ctrKey    = store.QuotaKey{Region: "eu-west-1", PlanID: "p1", KeyID: "k1", PeriodStart: ctrSep}
	ctrDay12  = time.Date(2026, 9, 12, 0, 0, 0, 0, time.UTC)
	ctrDay13  = time.Date(2026, 9, 13, 0, 0, 0, 0, time.UTC)
	ctrDay14  = time.Date(2026, 9, 14, 0, 0, 0, 0, time.UTC)
	ctrPlus2  = time.FixedZone("UTC+2", 2*3600)
	ctrCtx    = context.Background()
	ctrRegion = "eu-west-1"
)

// ctrVariant returns ctrKey with one field changed by f.
func ctrVariant(f func(*store.QuotaKey)) store.QuotaKey {
	k := ctrKey
	f(&k)
	return k
}

// RunCounters runs the store.Counters conformance suite, each group on fresh counters.
func RunCounters(t *testing.T, open CountersOpener) {
	groups := []struct {
		name string
		run  func(*testing.T, store.Counters)
	}{
		{"Reserve", ctrReserve},
		{"ReserveConcurrent", ctrReserveConcurrent},
		{"ReserveReleaseManyKeys", ctrReserveReleaseManyKeys},
		{"CancelledReserve", ctrCancelledReserve},
		{"Allowances", ctrAllowances},
		{"Usage", ctrUsage},
		{"UsageConcurrent", ctrUsageConcurrent},
		{"UsageLargeBatch", ctrUsageLargeBatch},
		{"CommitUsage", ctrCommitUsage},
		{"CommitUsageConcurrent", ctrCommitUsageConcurrent},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, open(t)) })
	}
}

// ctrReserve walks one script of reservations and releases; after each step the reservation
// of the step's key must be total.
func ctrReserve(t *testing.T, c store.Counters) {
	otherRegion := ctrVariant(func(k *store.QuotaKey) { k.Region = "us-west-2" })
	otherPlan := ctrVariant(func(k *store.QuotaKey) { k.PlanID = "p2" })
	otherKey := ctrVariant(func(k *store.QuotaKey) { k.KeyID = "k2" })
	otherPeriod := ctrVariant(func(k *store.QuotaKey) { k.PeriodStart = ctrOct })
	sameInstant := ctrVariant(func(k *store.QuotaKey) { k.PeriodStart = ctrSep.In(ctrPlus2) })
	steps := []struct {
		what        string
		key         store.QuotaKey
		release     bool
		want, limit int64 // release: want is n
		granted     int64
		total       int64
	}{
		{what: "first grant", key: ctrKey, want: 10, limit: 25, granted: 10, total: 10},
		{what: "second grant", key: ctrKey, want: 10, limit: 25, granted: 10, total: 20},
		{what: "capped at the limit", key: ctrKey, want: 10, limit: 25, granted: 5, total: 25},
		{what: "exhausted", key: ctrKey, want: 1, limit: 25, granted: 0, total: 25},
		{what: "raised limit", key: ctrKey, want: 1, limit: 30, granted: 1, total: 26},
		{what: "limit below the total", key: ctrKey, want: 5, limit: 20, granted: 0, total: 26},
		{what: "want 0", key: ctrKey, want: 0, limit: 100, granted: 0, total: 26},
		{what: "release", key: ctrKey, release: true, want: 6, total: 20},
		{what: "released quota is granted again", key: ctrKey, want: 10, limit: 25, granted: 5, total: 25},
		{what: "same period in another zone", key: sameInstant, want: 1, limit: 26, granted: 1, total: 26},
		{what: "release more than reserved", key: ctrKey, release: true, want: 100, total: 0},
		{what: "limit 0", key: ctrKey, want: 3, limit: 0, granted: 0, total: 0},
		{what: "negative limit", key: ctrKey, want: 3, limit: -1, granted: 0, total: 0},
		{what: "other region", key: otherRegion, want: 4, limit: 25, granted: 4, total: 4},
		{what: "other plan", key: otherPlan, want: 4, limit: 25, granted: 4, total: 4},
		{what: "other key", key: otherKey, want: 4, limit: 25, granted: 4, total: 4},
		{what: "other period", key: otherPeriod, want: 4, limit: 25, granted: 4, total: 4},
		{what: "first key untouched", key: ctrKey, want: 1, limit: 25, granted: 1, total: 1},
		{what: "release of an unknown key", key: ctrVariant(func(k *store.QuotaKey) { k.KeyID = "none" }), release: true, want: 5, total: 0},
	}
	for i, s := range steps {
		if s.release {
			if err := c.ReleaseQuota(ctrCtx, s.key, s.want); err != nil {
				t.Fatalf("step %d (%s): ReleaseQuota: %v", i, s.what, err)
			}
		} else {
			g, total, err := c.ReserveQuota(ctrCtx, s.key, s.want, s.limit)
			if err != nil {
				t.Fatalf("step %d (%s): ReserveQuota: %v", i, s.what, err)
			}
			if g != s.granted || total != s.total {
				t.Errorf("step %d (%s): ReserveQuota = %d, %d; want %d, %d", i, s.what, g, total, s.granted, s.total)
			}
		}
		got, err := c.QuotaReserved(ctrCtx, s.key)
		if err != nil {
			t.Fatalf("step %d (%s): QuotaReserved: %v", i, s.what, err)
		}
		if got != s.total {
			t.Errorf("step %d (%s): QuotaReserved = %d, want %d", i, s.what, got, s.total)
		}
	}
}

// ctrReserveConcurrent races reservations of one key: the grants sum to the limit exactly.
func ctrReserveConcurrent(t *testing.T, c store.Counters) {
	const goroutines, limit = 8, 120
	var mu sync.Mutex
	sum := int64(0)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for {
				g, total, err := c.ReserveQuota(ctrCtx, ctrKey, 3, limit)
				if err != nil {
					t.Errorf("ReserveQuota: %v", err)
					return
				}
				if total > limit || g < 0 || g > 3 {
					t.Errorf("ReserveQuota = %d, %d: outside want 3, limit %d", g, total, limit)
				}
				if g == 0 {
					return
				}
				mu.Lock()
				sum += g
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, err := c.QuotaReserved(ctrCtx, ctrKey)
	if err != nil {
		t.Fatal(err)
	}
	if sum != limit || got != limit {
		t.Fatalf("granted %d in total, reservation %d; want both %d", sum, got, limit)
	}
}

// ctrReserveReleaseManyKeys runs many callers at once, as a burst of new keys does: each walks
// its own key through reserves and releases (so its result is known exactly) and also races the
// others for a shared key. Backends that group concurrent writes into one transaction must keep
// every caller's result its own.
func ctrReserveReleaseManyKeys(t *testing.T, c store.Counters) {
	const callers, sharedLimit = 48, 100
	var shared atomic.Int64
	var wg sync.WaitGroup
	for i := range callers {
		own := ctrVariant(func(k *store.QuotaKey) { k.KeyID = fmt.Sprintf("own-%d", i) })
		wg.Go(func() {
			// reserve 5 (limit 12) → 5; release 2 → 3; reserve 5 → 5 (8); reserve 5 → 4 (12); reserve → 0.
			script := []struct{ release, want, granted, total int64 }{
				{want: 5, granted: 5, total: 5},
				{release: 2, total: 3},
				{want: 5, granted: 5, total: 8},
				{want: 5, granted: 4, total: 12},
				{want: 5, granted: 0, total: 12},
			}
			for step, s := range script {
				if s.release > 0 {
					if err := c.ReleaseQuota(ctrCtx, own, s.release); err != nil {
						t.Errorf("caller %d step %d: ReleaseQuota: %v", i, step, err)
						return
					}
				} else if g, total, err := c.ReserveQuota(ctrCtx, own, s.want, 12); err != nil || g != s.granted || total != s.total {
					t.Errorf("caller %d step %d: ReserveQuota = %d, %d, %v; want %d, %d", i, step, g, total, err, s.granted, s.total)
					return
				}
				g, _, err := c.ReserveQuota(ctrCtx, ctrKey, 1, sharedLimit)
				if err != nil {
					t.Errorf("caller %d: shared ReserveQuota: %v", i, err)
					return
				}
				shared.Add(g)
			}
			if got, err := c.QuotaReserved(ctrCtx, own); err != nil || got != 12 {
				t.Errorf("caller %d: QuotaReserved = %d, %v; want 12", i, got, err)
			}
		})
	}
	wg.Wait()
	got, err := c.QuotaReserved(ctrCtx, ctrKey)
	if err != nil {
		t.Fatal(err)
	}
	if shared.Load() != sharedLimit || got != sharedLimit {
		t.Fatalf("shared key: granted %d in total, reservation %d; want both %d", shared.Load(), got, sharedLimit)
	}
}

// ctrCancelledReserve: a call whose context has already ended fails and reserves nothing.
func ctrCancelledReserve(t *testing.T, c store.Counters) {
	ctx, cancel := context.WithCancel(ctrCtx)
	cancel()
	for range 20 { // a backend that queues writes must not run a cancelled one by chance
		if _, _, err := c.ReserveQuota(ctx, ctrKey, 5, 100); err == nil {
			t.Fatal("ReserveQuota with a cancelled context succeeded")
		}
	}
	if got, err := c.QuotaReserved(ctrCtx, ctrKey); err != nil || got != 0 {
		t.Fatalf("QuotaReserved = %d, %v after cancelled reserves; want 0", got, err)
	}
}

func ctrAllowances(t *testing.T, c store.Counters) {
	k2 := ctrVariant(func(k *store.QuotaKey) { k.KeyID = "k2" })
	aug := ctrVariant(func(k *store.QuotaKey) { k.PeriodStart = ctrAug })
	sets := []struct {
		key store.QuotaKey
		a   int64
	}{
		{ctrKey, 500},
		{k2, 0},
		{aug, 50},
		{ctrVariant(func(k *store.QuotaKey) { k.PeriodStart = ctrSep.In(ctrPlus2) }), 700}, // overwrites ctrKey
		{ctrVariant(func(k *store.QuotaKey) { k.PlanID = "p2" }), 1},
		{ctrVariant(func(k *store.QuotaKey) { k.Region = "us-west-2" }), 2},
	}
	for _, s := range sets {
		if err := c.SetAllowance(ctrCtx, s.key, s.a); err != nil {
			t.Fatalf("SetAllowance(%v): %v", s.key, err)
		}
	}
	for _, q := range []struct {
		region, plan string
		since        time.Time
		want         map[store.QuotaKey]int64
	}{
		{ctrRegion, "p1", ctrSep, map[store.QuotaKey]int64{ctrKey: 700, k2: 0}},
		{ctrRegion, "p1", ctrSep.Add(-time.Second), map[store.QuotaKey]int64{ctrKey: 700, k2: 0}},
		{ctrRegion, "p1", ctrAug, map[store.QuotaKey]int64{ctrKey: 700, k2: 0, aug: 50}},
		{ctrRegion, "p1", ctrSep.Add(time.Second), map[store.QuotaKey]int64{}},
		{ctrRegion, "p1", ctrOct, map[store.QuotaKey]int64{}},
		{ctrRegion, "none", ctrAug, map[store.QuotaKey]int64{}},
		{"us-west-2", "p1", ctrAug, map[store.QuotaKey]int64{ctrVariant(func(k *store.QuotaKey) { k.Region = "us-west-2" }): 2}},
	} {
		got, err := c.Allowances(ctrCtx, q.region, q.plan, q.since)
		if err != nil {
			t.Fatalf("Allowances(%s, %s, %v): %v", q.region, q.plan, q.since, err)
		}
		if len(got) != len(q.want) || (len(got) > 0 && !reflect.DeepEqual(got, q.want)) {
			t.Errorf("Allowances(%s, %s, %v) = %v, want %v", q.region, q.plan, q.since, got, q.want)
		}
	}
	// A store's transaction reads them by key (Tx.QuotaAllowances, in the key's region): a zero
	// override is one; another period, key, plan or region is not. Counters that are not a store
	// (the in-memory ledger) have no transactions and no single read.
	v, isStore := c.(interface {
		View(ctx context.Context, region string, fn func(store.Tx) error) error
	})
	if !isStore {
		return
	}
	for _, q := range []struct {
		key  store.QuotaKey
		want int64
		ok   bool
	}{
		{ctrKey, 700, true},
		{k2, 0, true},
		{aug, 50, true},
		{ctrVariant(func(k *store.QuotaKey) { k.PeriodStart = ctrOct }), 0, false},
		{ctrVariant(func(k *store.QuotaKey) { k.KeyID = "k3" }), 0, false},
		{ctrVariant(func(k *store.QuotaKey) { k.PlanID = "p2" }), 1, true},
		{ctrVariant(func(k *store.QuotaKey) { k.PlanID = "p3" }), 0, false},
		{ctrVariant(func(k *store.QuotaKey) { k.Region = "ap-south-1" }), 0, false},
	} {
		// Read alone, and among other keys' (k4 has none anywhere).
		for _, keys := range [][]string{{q.key.KeyID}, {"k4", q.key.KeyID}} {
			var many map[string]int64
			err := v.View(ctrCtx, q.key.Region, func(tx store.Tx) error {
				var err error
				many, err = tx.QuotaAllowances(q.key.PlanID, keys, q.key.PeriodStart)
				return err
			})
			got, found := many[q.key.KeyID]
			if err != nil || got != q.want || found != q.ok || len(many) > 1 {
				t.Errorf("Tx.QuotaAllowances(%v, %v) = %v, %v; want %s: %d, %v", q.key, keys, many, err, q.key.KeyID, q.want, q.ok)
			}
		}
	}
}

func ctrDelta(plan, key string, day time.Time, n int64) store.UsageDelta {
	return store.UsageDelta{Region: ctrRegion, PlanID: plan, KeyID: key, Day: day, Count: n}
}

func ctrUsage(t *testing.T, c store.Counters) {
	batches := [][]store.UsageDelta{
		{
			ctrDelta("p1", "k1", ctrDay13, 5),
			ctrDelta("p1", "k1", ctrDay13, 2), // the same row twice in one batch
			ctrDelta("p1", "k2", ctrDay13, 1),
			ctrDelta("p1", "k1", ctrDay14, 3),
			ctrDelta("p2", "k1", ctrDay13, 9),
			{Region: "us-west-2", PlanID: "p1", KeyID: "k1", Day: ctrDay13, Count: 9},
			// an id a backend must quote or escape, and a count past 2^53
			ctrDelta("p1", "q\"\\é\x01,]", ctrDay13, 1<<60),
		},
		{ctrDelta("p1", "k1", ctrDay13, 10), ctrDelta("p1", "k1", ctrDay12, 4)},
		nil,
	}
	for i, b := range batches {
		if err := c.AddUsage(ctrCtx, b); err != nil {
			t.Fatalf("AddUsage batch %d: %v", i, err)
		}
	}
	type days = map[time.Time]int64
	const odd = "q\"\\é\x01,]"
	for _, q := range []struct {
		region, plan string
		keys         []string // nil: every key of the plan
		from, to     time.Time
		want         map[string]days
	}{
		{ctrRegion, "p1", nil, ctrDay13, ctrDay13, map[string]days{"k1": {ctrDay13: 17}, "k2": {ctrDay13: 1}, odd: {ctrDay13: 1 << 60}}},
		{ctrRegion, "p1", nil, ctrDay12, ctrDay14, map[string]days{"k1": {ctrDay12: 4, ctrDay13: 17, ctrDay14: 3}, "k2": {ctrDay13: 1}, odd: {ctrDay13: 1 << 60}}},
		{ctrRegion, "p1", nil, ctrDay14, ctrDay14.Add(15 * time.Hour), map[string]days{"k1": {ctrDay14: 3}}},
		{ctrRegion, "p1", nil, ctrDay14.AddDate(0, 0, 1), ctrDay14.AddDate(0, 0, 9), map[string]days{}},
		{ctrRegion, "p2", nil, ctrDay12, ctrDay14, map[string]days{"k1": {ctrDay13: 9}}},
		{"us-west-2", "p1", nil, ctrDay12, ctrDay14, map[string]days{"k1": {ctrDay13: 9}}},
		{ctrRegion, "none", nil, ctrDay12, ctrDay14, map[string]days{}},
		// The listed keys only: a page of GetUsage.
		{ctrRegion, "p1", []string{"k1"}, ctrDay12, ctrDay14, map[string]days{"k1": {ctrDay12: 4, ctrDay13: 17, ctrDay14: 3}}},
		{ctrRegion, "p1", []string{"k1"}, ctrDay14, ctrDay14, map[string]days{"k1": {ctrDay14: 3}}},
		// listed twice, unknown, an id to quote
		{ctrRegion, "p1", []string{"k2", "nobody", "k2", odd}, ctrDay12, ctrDay14, map[string]days{"k2": {ctrDay13: 1}, odd: {ctrDay13: 1 << 60}}},
		{ctrRegion, "p2", []string{"k2"}, ctrDay12, ctrDay14, map[string]days{}},                            // k2 has no usage in p2
		{"us-west-2", "p1", []string{"k1", "k2"}, ctrDay12, ctrDay14, map[string]days{"k1": {ctrDay13: 9}}}, // the region's own
		{ctrRegion, "p1", []string{}, ctrDay12, ctrDay14, map[string]days{}},                                // none listed
	} {
		got, err := c.Usage(ctrCtx, q.region, q.plan, q.keys, q.from, q.to)
		if err != nil {
			t.Fatalf("Usage(%s, %s, %q, %v, %v): %v", q.region, q.plan, q.keys, q.from, q.to, err)
		}
		if len(got) != len(q.want) || (len(got) > 0 && !reflect.DeepEqual(got, q.want)) {
			t.Errorf("Usage(%s, %s, %q, %v, %v) = %v, want %v", q.region, q.plan, q.keys, q.from, q.to, got, q.want)
		}
	}
}

// ctrUsageLargeBatch is a flush of many keys, as a busy node sends each second: 1,000 keys, each
// twice in the batch (a backend that splits batches into statements sees repeats in one
// statement and across statements), plus zero deltas, which write nothing.
func ctrUsageLargeBatch(t *testing.T, c store.Counters) {
	const keys = 1000
	var batch []store.UsageDelta
	for round := range 2 {
		for i := range keys {
			batch = append(batch, ctrDelta("p1", fmt.Sprintf("key%04d", i), ctrDay13, int64(i+round)))
		}
	}
	batch = append(batch, ctrDelta("p1", "zero", ctrDay13, 0))
	if err := c.AddUsage(ctrCtx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := c.Usage(ctrCtx, ctrRegion, "p1", nil, ctrDay13, ctrDay13)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["zero"]; ok || len(got) != keys {
		t.Fatalf("%d keys have usage (zero delta written: %v), want %d", len(got), ok, keys)
	}
	for i := range keys {
		if n := got[fmt.Sprintf("key%04d", i)][ctrDay13]; n != int64(2*i+1) {
			t.Fatalf("key%04d: %d, want %d", i, n, 2*i+1)
		}
	}
	// Read back by their ids too, listed in reverse (more than one statement's worth), and a
	// sample of them (one short statement).
	var all, some []string
	for i := keys - 1; i >= 0; i-- {
		all = append(all, fmt.Sprintf("key%04d", i))
		if i%97 == 0 {
			some = append(some, fmt.Sprintf("key%04d", i))
		}
	}
	for _, ids := range [][]string{all, some} {
		listed, err := c.Usage(ctrCtx, ctrRegion, "p1", ids, ctrDay13, ctrDay13)
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) != len(ids) {
			t.Fatalf("Usage of %d keys by id: %d keys", len(ids), len(listed))
		}
		for _, id := range ids {
			if !reflect.DeepEqual(listed[id], got[id]) {
				t.Fatalf("Usage of %d keys by id: %s %v, want %v", len(ids), id, listed[id], got[id])
			}
		}
	}
}

// ctrUsageConcurrent: concurrent AddUsage calls on the same rows lose nothing.
func ctrUsageConcurrent(t *testing.T, c store.Counters) {
	const goroutines, calls = 4, 25
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if err := c.AddUsage(ctrCtx, []store.UsageDelta{ctrDelta("p1", "k1", ctrDay13, 1), ctrDelta("p1", "k2", ctrDay13, 2)}); err != nil {
					t.Errorf("AddUsage: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := c.Usage(ctrCtx, ctrRegion, "p1", nil, ctrDay13, ctrDay13)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[time.Time]int64{"k1": {ctrDay13: goroutines * calls}, "k2": {ctrDay13: 2 * goroutines * calls}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Usage = %v, want %v", got, want)
	}
}

// ctrCommitUsage walks the journal protocol of internal/meter: each epoch applies once, a batch
// sent again (a flush whose answer was lost) or an older one changes nothing, an empty batch
// still advances the epoch, and journals are independent.
func ctrCommitUsage(t *testing.T, c store.Counters) {
	type step struct {
		journal   string
		epoch     uint64
		n         int64
		wantUsage int64 // k1's count on ctrDay13 after the step
		wantEpoch uint64
	}
	for i, s := range []step{
		{"j1", 1, 5, 5, 1},
		{"j1", 1, 5, 5, 1}, // the same batch again
		{"j1", 2, 3, 8, 2},
		{"j1", 1, 7, 8, 2}, // older
		{"j1", 3, 0, 8, 3}, // nothing to count, the epoch still moves
		{"j2", 1, 4, 12, 1},
		{"j1", 9, 1, 13, 9}, // epochs may skip
	} {
		var deltas []store.UsageDelta
		if s.n > 0 {
			deltas = []store.UsageDelta{ctrDelta("p1", "k1", ctrDay13, s.n)}
		}
		if err := c.CommitUsage(ctrCtx, s.journal, s.epoch, deltas); err != nil {
			t.Fatalf("step %d: CommitUsage: %v", i, err)
		}
		u, err := c.Usage(ctrCtx, ctrRegion, "p1", nil, ctrDay13, ctrDay13)
		if err != nil {
			t.Fatal(err)
		}
		if got := u["k1"][ctrDay13]; got != s.wantUsage {
			t.Errorf("step %d: usage = %d, want %d", i, got, s.wantUsage)
		}
		if e, err := c.UsageEpoch(ctrCtx, s.journal); err != nil || e != s.wantEpoch {
			t.Errorf("step %d: UsageEpoch(%s) = %d, %v; want %d", i, s.journal, e, err, s.wantEpoch)
		}
	}
	if e, err := c.UsageEpoch(ctrCtx, "unknown"); err != nil || e != 0 {
		t.Errorf("UsageEpoch(unknown) = %d, %v; want 0", e, err)
	}
}

// ctrCommitUsageConcurrent sends one batch from several goroutines at once (a retry racing the
// flush it repeats): it is applied exactly once.
func ctrCommitUsageConcurrent(t *testing.T, c store.Counters) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := c.CommitUsage(ctrCtx, "race", 1, []store.UsageDelta{ctrDelta("p1", "k1", ctrDay13, 5)}); err != nil {
				t.Errorf("CommitUsage: %v", err)
			}
		})
	}
	wg.Wait()
	u, err := c.Usage(ctrCtx, ctrRegion, "p1", nil, ctrDay13, ctrDay13)
	if err != nil || u["k1"][ctrDay13] != 5 {
		t.Fatalf("usage after 8 concurrent sends of one batch = %v, %v; want 5", u, err)
	}
}

// RunCountersDurability checks that reservations, allowances and usage survive a reopen:
// reservations must, or a restarted node would hand out quota twice.
func RunCountersDurability(t *testing.T, open CountersReopener) {
	c, reopen := open(t)
	if _, _, err := c.ReserveQuota(ctrCtx, ctrKey, 7, 10); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAllowance(ctrCtx, ctrKey, 42); err != nil {
		t.Fatal(err)
	}
	if err := c.AddUsage(ctrCtx, []store.UsageDelta{ctrDelta("p1", "k1", ctrDay13, 3)}); err != nil {
		t.Fatal(err)
	}
	c = reopen()
	g, total, err := c.ReserveQuota(ctrCtx, ctrKey, 7, 10)
	if err != nil || g != 3 || total != 10 {
		t.Errorf("ReserveQuota after reopen = %d, %d, %v; want 3, 10", g, total, err)
	}
	a, err := c.Allowances(ctrCtx, ctrRegion, "p1", ctrSep)
	if err != nil || !reflect.DeepEqual(a, map[store.QuotaKey]int64{ctrKey: 42}) {
		t.Errorf("Allowances after reopen = %v, %v", a, err)
	}
	u, err := c.Usage(ctrCtx, ctrRegion, "p1", nil, ctrDay13, ctrDay13)
	if err != nil || !reflect.DeepEqual(u, map[string]map[time.Time]int64{"k1": {ctrDay13: 3}}) {
		t.Errorf("Usage after reopen = %v, %v", u, err)
	}
}
