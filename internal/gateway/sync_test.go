package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/quota"
	"github.com/tollgate/tollgate/internal/snapshot"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

type target struct {
	snap  *snapshot.Snapshot
	swaps int
}

func (t *target) Swap(s *snapshot.Snapshot) { t.snap, t.swaps = s, t.swaps+1 }

// fixture: an embedded store with one API (stages a and b) and three plans: p1 on a, p2 on b,
// p3 on a (two plans on one stage: the later one wins, as in a build).
func fixture(t *testing.T) (*sqlite.Store, *Syncer, *target) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Update(context.Background(), "us-east-1", func(tx store.Tx) error {
		res := []*apigw.Resource{{ID: "root", Methods: map[string]*apigw.Method{"GET": {HTTPMethod: "GET", ApiKeyRequired: true, Integration: &apigw.Integration{Type: "MOCK"}}}}}
		if err := tx.PutRestApi(&apigw.RestApi{ID: "api1", Name: "a", ApiKeySource: "HEADER", RootResourceID: "root", Resources: res}); err != nil {
			return err
		}
		if err := tx.PutDeployment(&apigw.Deployment{ID: "d1", ApiID: "api1", Resources: res}); err != nil {
			return err
		}
		for _, s := range []string{"a", "b"} {
			if err := tx.PutStage(&apigw.Stage{ApiID: "api1", StageName: s, DeploymentID: "d1"}); err != nil {
				return err
			}
		}
		for _, p := range []*apigw.UsagePlan{
			{ID: "p1", Name: "p1", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "a"}}, Quota: &apigw.Quota{Limit: 100, Period: "DAY"}},
			{ID: "p2", Name: "p2", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "b"}}},
			{ID: "p3", Name: "p3", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "a"}}, Throttle: &apigw.Throttle{RateLimit: 5, BurstLimit: 5}},
		} {
			if err := tx.PutUsagePlan(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{}
	s := &Syncer{Store: st, Target: tg}
	if err := s.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, s, tg
}

// buildOf is a full build of what st holds now: what an incremental snapshot must agree with.
func buildOf(t *testing.T, st store.Store) *snapshot.Snapshot {
	t.Helper()
	in, err := Load(context.Background(), st, nil, apigw.Throttle{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return snapshot.Build(in, snapshot.Binder{})
}

// describe renders what the data plane decides for a key value: absent, disabled, or the plan
// that admits it on each stage.
func describe(snap *snapshot.Snapshot, value string) string {
	api := snap.API("api1")
	k := api.Region.Key(snapshot.HashKey(value))
	if k == nil {
		return "absent"
	}
	out := fmt.Sprintf("%s enabled=%v", k.ID, k.Enabled)
	for _, s := range []string{"a", "b"} {
		if b := k.Binding(api.Stage(s)); b != nil {
			out += " " + s + ":" + b.Plan.ID
		}
	}
	return out
}

// TestIncrementalMatchesBuild: after every step of a random sequence of key writes (create,
// enable, disable, delete, join and leave plans), the snapshot updated in place answers every key
// value as a full build of the same store does — and the steps were applied incrementally.
func TestIncrementalMatchesBuild(t *testing.T) {
	st, s, tg := fixture(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	values := map[string]string{} // id → value, every key ever created
	var ids []string
	for step := 0; step < 300; step++ {
		err := st.Update(ctx, "us-east-1", func(tx store.Tx) error {
			switch op := rng.IntN(6); {
			case op == 0 || len(ids) == 0:
				id := fmt.Sprintf("k%03d", step)
				v := fmt.Sprintf("value-%03d-0123456789abcdef", step)
				values[id], ids = v, append(ids, id)
				return tx.PutApiKey(&apigw.ApiKey{ID: id, Value: v, Enabled: rng.IntN(4) > 0})
			case op == 1:
				k, err := tx.GetApiKey(ids[rng.IntN(len(ids))])
				if err != nil {
					return nil // deleted meanwhile
				}
				k.Enabled = !k.Enabled
				return tx.PutApiKey(k)
			case op == 2:
				_ = tx.DeleteApiKey(ids[rng.IntN(len(ids))])
				return nil
			case op == 3 || op == 4:
				plan := fmt.Sprintf("p%d", 1+rng.IntN(3))
				id := ids[rng.IntN(len(ids))]
				if _, err := tx.GetApiKey(id); err != nil {
					return nil
				}
				_ = tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: plan, KeyID: id})
				return nil
			default:
				_ = tx.DeleteUsagePlanKey(fmt.Sprintf("p%d", 1+rng.IntN(3)), ids[rng.IntN(len(ids))])
				return nil
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		full := buildOf(t, st)
		for id, v := range values {
			if got, want := describe(tg.snap, v), describe(full, v); got != want {
				t.Fatalf("step %d, key %s: incremental %q, full build %q", step, id, got, want)
			}
		}
	}
	if tg.swaps != 1 || s.Incremental.Load() == 0 {
		t.Fatalf("%d full builds after the first (%d changes applied in place); want none", tg.swaps-1, s.Incremental.Load())
	}
}

// TestIncrementalFallsBack: a change other than a key's (a new plan) is a full build, and it
// holds.
func TestIncrementalFallsBack(t *testing.T) {
	st, s, tg := fixture(t)
	ctx := context.Background()
	err := st.Update(ctx, "us-east-1", func(tx store.Tx) error {
		if err := tx.PutUsagePlan(&apigw.UsagePlan{ID: "p4", Name: "p4", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "b"}}}); err != nil {
			return err
		}
		if err := tx.PutApiKey(&apigw.ApiKey{ID: "kx", Value: "value-x-0123456789abcdef", Enabled: true}); err != nil {
			return err
		}
		return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p4", KeyID: "kx"})
	})
	if err != nil {
		t.Fatal(err)
	}
	before := tg.snap
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if tg.snap == before || s.Incremental.Load() != 0 {
		t.Fatal("a new plan was applied incrementally")
	}
	if got := describe(tg.snap, "value-x-0123456789abcdef"); got != "kx enabled=true b:p4" {
		t.Fatalf("after the full build: %q", got)
	}
}

// TestPlanRenameIsIncremental: renaming a plan (nothing the data plane enforces) needs no build;
// changing its quota does.
func TestPlanRenameIsIncremental(t *testing.T) {
	st, s, tg := fixture(t)
	ctx := context.Background()
	rename := func(mut func(p *apigw.UsagePlan)) {
		err := st.Update(ctx, "us-east-1", func(tx store.Tx) error {
			p, err := tx.GetUsagePlan("p1")
			if err != nil {
				return err
			}
			mut(p)
			return tx.PutUsagePlan(p)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rename(func(p *apigw.UsagePlan) {
		p.Name, p.Description, p.Tags = "gold", "renamed", map[string]string{"a": "b"}
	})
	if tg.swaps != 1 {
		t.Fatalf("a rename rebuilt the snapshot (%d swaps)", tg.swaps)
	}
	rename(func(p *apigw.UsagePlan) { p.Quota = &apigw.Quota{Limit: 5, Period: "DAY"} })
	if tg.swaps != 2 {
		t.Fatalf("a quota change did not rebuild the snapshot (%d swaps)", tg.swaps)
	}
}

// TestIncrementalReadsTheKeysOverride: a key that joins a plan in place gets its own UpdateUsage
// allowance for the plan's current period: not another key's, not an earlier period's.
func TestIncrementalReadsTheKeysOverride(t *testing.T) {
	st, s, tg := fixture(t)
	s.Counters = st
	ctx := context.Background()
	start := quota.PeriodStart("DAY", time.Now())
	for _, o := range []struct {
		key string
		at  time.Time
		a   int64
	}{
		{"k1", start, 42},
		{"k2", start, 7},
		{"k1", start.AddDate(0, 0, -1), 99},
	} {
		if err := st.SetAllowance(ctx, store.QuotaKey{Region: "us-east-1", PlanID: "p1", KeyID: o.key, PeriodStart: o.at}, o.a); err != nil {
			t.Fatal(err)
		}
	}
	const v1, v3 = "value-k1-0123456789abcdef", "value-k3-0123456789abcdef"
	err := st.Update(ctx, "us-east-1", func(tx store.Tx) error {
		for id, v := range map[string]string{"k1": v1, "k3": v3} {
			if err := tx.PutApiKey(&apigw.ApiKey{ID: id, Value: v, Enabled: true}); err != nil {
				return err
			}
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: id}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if tg.swaps != 1 || s.Incremental.Load() == 0 {
		t.Fatalf("%d full builds after the first; want the change applied in place", tg.swaps-1)
	}
	api := tg.snap.API("api1")
	for _, tc := range []struct {
		value    string
		override int64
		has      bool
	}{
		{v1, 42, true},
		{v3, 0, false},
	} {
		b := api.Region.Key(snapshot.HashKey(tc.value)).Binding(api.Stage("a"))
		if b == nil || b.Policy == nil {
			t.Fatalf("%s: no quota binding on stage a", tc.value)
		}
		has := !b.Policy.OverrideStart.IsZero()
		if has != tc.has || b.Policy.Override != tc.override || (has && !b.Policy.OverrideStart.Equal(start)) {
			t.Errorf("%s: override %d from %v, want %d (%v)", tc.value, b.Policy.Override, b.Policy.OverrideStart, tc.override, tc.has)
		}
	}
}

// TestImportIsIncremental: a write of thousands of keys (an import, which the change log lists
// in one row) into a region that holds more is applied in place, and the snapshot then answers
// every key as a full build does: keys created into one plan or two, an existing key disabled
// and another deleted in the same write, and an imported key's UpdateUsage allowance.
func TestImportIsIncremental(t *testing.T) {
	st, s, tg := fixture(t)
	s.Counters = st
	ctx := context.Background()
	value := func(prefix string, i int) string { return fmt.Sprintf("value-%s%05d-0123456789", prefix, i) }
	write := func(prefix string, n int, more func(tx store.Tx) error) {
		t.Helper()
		keys := make([]*apigw.ApiKey, n)
		var links []*apigw.UsagePlanKey
		for i := range keys {
			keys[i] = &apigw.ApiKey{ID: fmt.Sprintf("%s%05d", prefix, i), Value: value(prefix, i), Enabled: i%7 != 0}
			links = append(links, &apigw.UsagePlanKey{PlanID: "p1", KeyID: keys[i].ID})
			if i%5 == 0 {
				links = append(links, &apigw.UsagePlanKey{PlanID: "p2", KeyID: keys[i].ID})
			}
		}
		err := st.Update(ctx, "us-east-1", func(tx store.Tx) error {
			if _, err := tx.PutApiKeys(keys); err != nil {
				return err
			}
			if err := tx.PutUsagePlanKeys(links); err != nil {
				return err
			}
			return more(tx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The first keys: more than an incremental update takes into an empty region.
	write("a", minIncrementalKeys+100, func(store.Tx) error { return nil })
	swaps := tg.swaps
	start := quota.PeriodStart("DAY", time.Now())
	if err := st.SetAllowance(ctx, store.QuotaKey{Region: "us-east-1", PlanID: "p1", KeyID: "b00003", PeriodStart: start}, 42); err != nil {
		t.Fatal(err)
	}
	write("b", 3000, func(tx store.Tx) error {
		k, err := tx.GetApiKey("a00001")
		if err != nil {
			return err
		}
		k.Enabled = false
		if err := tx.PutApiKey(k); err != nil {
			return err
		}
		return tx.DeleteApiKey("a00002")
	})
	if tg.swaps != swaps || s.Incremental.Load() == 0 {
		t.Fatalf("the import was a full build (%d swaps, %d changes in place)", tg.swaps-swaps, s.Incremental.Load())
	}
	full := buildOf(t, st)
	for _, prefix := range []string{"a", "b"} {
		for i := range 3000 {
			if got, want := describe(tg.snap, value(prefix, i)), describe(full, value(prefix, i)); got != want {
				t.Fatalf("key %s%05d: in place %q, full build %q", prefix, i, got, want)
			}
		}
	}
	if got := describe(tg.snap, value("a", 1)); got != "a00001 enabled=false a:p1" {
		t.Errorf("the key disabled by the import's write: %q", got)
	}
	if got := describe(tg.snap, value("a", 2)); got != "absent" {
		t.Errorf("the key deleted by the import's write: %q", got)
	}
	api := tg.snap.API("api1")
	if b := api.Region.Key(snapshot.HashKey(value("b", 3))).Binding(api.Stage("a")); b == nil || b.Policy == nil || b.Policy.Override != 42 {
		t.Errorf("the imported key's allowance: binding %+v", b)
	}
}

// racingStore is a store whose hook runs once, inside Load, just before the first read of the
// key index or of a plan's key list (on), when that read's transaction has not read anything
// yet: a write that lands between Load's transactions.
type racingStore struct {
	*sqlite.Store
	on   string // "keys" or "plankeys"
	hook func()
	once sync.Once
}

func (r *racingStore) View(ctx context.Context, region string, fn func(store.Tx) error) error {
	return r.Store.View(ctx, region, func(tx store.Tx) error { return fn(&racingTx{Tx: tx, r: r}) })
}

type racingTx struct {
	store.Tx
	r *racingStore
}

func (t *racingTx) ListKeyIndex(p store.Page, stop string) ([]store.KeyIndexEntry, string, error) {
	if t.r.on == "keys" {
		t.r.once.Do(t.r.hook)
	}
	return t.Tx.ListKeyIndex(p, stop)
}

func (t *racingTx) ListPlanKeyIDs(planID string) ([]string, error) {
	if t.r.on == "plankeys" {
		t.r.once.Do(t.r.hook)
	}
	return t.Tx.ListPlanKeyIDs(planID)
}

// TestLoadSeesWritesBetweenItsReads: Load reads the key index and the plans' key lists in
// transactions of their own, so a write may land in one and not the other. Whichever it lands
// in, the sync after the full build brings the snapshot to what a build of the store says.
func TestLoadSeesWritesBetweenItsReads(t *testing.T) {
	const old, late = "value-old-0123456789abcdef", "value-late-0123456789abcdef"
	for _, on := range []string{"keys", "plankeys"} {
		for _, tc := range []struct {
			name  string
			write func(tx store.Tx) error
		}{
			{"a key created in a plan", func(tx store.Tx) error {
				if err := tx.PutApiKey(&apigw.ApiKey{ID: "klate", Value: late, Enabled: true}); err != nil {
					return err
				}
				return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p2", KeyID: "klate"})
			}},
			{"a key deleted", func(tx store.Tx) error { return tx.DeleteApiKey("kold") }},
			{"a key leaving its plan", func(tx store.Tx) error { return tx.DeleteUsagePlanKey("p2", "kold") }},
			{"a key joining a plan", func(tx store.Tx) error {
				return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: "kold"})
			}},
		} {
			t.Run(on+"/"+tc.name, func(t *testing.T) {
				st, s, tg := fixture(t)
				ctx := context.Background()
				err := st.Update(ctx, "us-east-1", func(tx store.Tx) error {
					if err := tx.PutApiKey(&apigw.ApiKey{ID: "kold", Value: old, Enabled: true}); err != nil {
						return err
					}
					return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p2", KeyID: "kold"})
				})
				if err != nil {
					t.Fatal(err)
				}
				r := &racingStore{Store: st, on: on}
				r.hook = func() {
					if err := st.Update(ctx, "us-east-1", tc.write); err != nil {
						t.Error(err)
					}
				}
				s.Store = r
				if err := s.Rebuild(ctx); err != nil {
					t.Fatal(err)
				}
				if err := s.Sync(ctx); err != nil {
					t.Fatal(err)
				}
				full := buildOf(t, st)
				for _, v := range []string{old, late} {
					if got, want := describe(tg.snap, v), describe(full, v); got != want {
						t.Errorf("%s: after the sync %q, a build of the store %q", v, got, want)
					}
				}
			})
		}
	}
}

// TestLoadReadsKeyIndexInParts: a key index read in parts, side by side, loads the same keys in
// the same order as one read, and binds them to their plans the same.
func TestLoadReadsKeyIndexInParts(t *testing.T) {
	st, _, _ := fixture(t)
	ctx := context.Background()
	err := st.Update(ctx, "us-east-1", func(tx store.Tx) error {
		for i := range 40 {
			id := fmt.Sprintf("k%02d", i)
			if err := tx.PutApiKey(&apigw.ApiKey{ID: id, Value: "value-" + id + "-0123456789abcdef", Enabled: i%3 != 0}); err != nil {
				return err
			}
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: []string{"p1", "p2", "p3"}[i%3], KeyID: id}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	load := func(partMin int) snapshot.RegionInput {
		t.Helper()
		defer func(prev int) { keyIndexPartMin = prev }(keyIndexPartMin)
		keyIndexPartMin = partMin
		in, err := Load(ctx, st, nil, apigw.Throttle{}, time.Now())
		if err != nil || len(in.Regions) != 1 {
			t.Fatalf("Load: %d regions, %v", len(in.Regions), err)
		}
		return in.Regions[0]
	}
	var cuts []string
	if err := st.View(ctx, "us-east-1", func(tx store.Tx) (err error) {
		cuts, err = tx.SplitKeyIndex(keyIndexParts, 5)
		return err
	}); err != nil || len(cuts) != keyIndexParts-1 {
		t.Fatalf("the index splits into %d cursors (%v), want %d: the test reads no parts", len(cuts), err, keyIndexParts-1)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(keyIndexParts)) // Load reads no more parts than processors
	whole, parts := load(1<<30), load(5)
	flat := func(ri snapshot.RegionInput) []snapshot.KeyInput {
		return slices.Concat(append([][]snapshot.KeyInput{ri.Keys}, ri.KeyPages...)...)
	}
	if n := len(flat(whole)); n != 40 {
		t.Fatalf("%d keys loaded, want 40", n)
	}
	if !reflect.DeepEqual(flat(parts), flat(whole)) {
		ids := func(ks []snapshot.KeyInput) (out []string) {
			for _, k := range ks {
				out = append(out, k.ID)
			}
			return out
		}
		t.Errorf("keys read in parts differ from one read:\n%v\n%v", ids(flat(parts)), ids(flat(whole)))
	}
	if !reflect.DeepEqual(parts.PlanKeys, whole.PlanKeys) {
		t.Errorf("plan keys differ: %v against %v", parts.PlanKeys, whole.PlanKeys)
	}
}
