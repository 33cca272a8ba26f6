package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func testRegionIsolation(t *testing.T, open Opener) {
	s := open(t)
	putKeys(t, s, west, newKey("k1", "v1", "n", "c"))
	putPlans(t, s, west, newPlan("p1", "p"))
	link(t, s, west, "p1", "k1")
	putApi(t, s, west, newApi("a1", "x"), []string{"d1"}, []string{"prod"})
	update(t, s, west, func(tx store.Tx) error { return tx.PutAccount(&apigw.Account{ApiKeyVersion: "4"}) })

	notFound := []struct {
		name string
		call func(store.Tx) error
	}{
		{"GetAccount", func(tx store.Tx) error { _, err := tx.GetAccount(); return err }},
		{"GetApiKey", func(tx store.Tx) error { _, err := tx.GetApiKey("k1"); return err }},
		{"GetApiKeyByValue", func(tx store.Tx) error { _, err := tx.GetApiKeyByValue("v1"); return err }},
		{"GetUsagePlan", func(tx store.Tx) error { _, err := tx.GetUsagePlan("p1"); return err }},
		{"GetUsagePlanKey", func(tx store.Tx) error { _, err := tx.GetUsagePlanKey("p1", "k1"); return err }},
		{"GetRestApi", func(tx store.Tx) error { _, err := tx.GetRestApi("a1"); return err }},
		{"GetDeployment", func(tx store.Tx) error { _, err := tx.GetDeployment("a1", "d1"); return err }},
		{"GetStage", func(tx store.Tx) error { _, err := tx.GetStage("a1", "prod"); return err }},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			view(t, s, east, func(tx store.Tx) error {
				wantErr(t, "from "+east, tc.call(tx), store.ErrNotFound)
				return nil
			})
			view(t, s, west, func(tx store.Tx) error {
				wantErr(t, "from "+west, tc.call(tx), nil)
				return nil
			})
		})
	}
	empty := []struct {
		name string
		n    func(store.Tx) (int, error)
	}{
		{"ListApiKeys", func(tx store.Tx) (int, error) {
			ks, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Limit: 10})
			return len(ks), err
		}},
		{"ListUsagePlans", func(tx store.Tx) (int, error) {
			ps, _, err := tx.ListUsagePlans("", store.Page{Limit: 10})
			return len(ps), err
		}},
		{"ListUsagePlans by key", func(tx store.Tx) (int, error) {
			ps, _, err := tx.ListUsagePlans("k1", store.Page{Limit: 10})
			return len(ps), err
		}},
		{"ListUsagePlanKeys", func(tx store.Tx) (int, error) {
			ks, _, err := tx.ListUsagePlanKeys("p1", "", store.Page{Limit: 10})
			return len(ks), err
		}},
		{"PlanIDsOfKey", func(tx store.Tx) (int, error) { ids, err := tx.PlanIDsOfKey("k1"); return len(ids), err }},
		{"ListRestApis", func(tx store.Tx) (int, error) {
			as, _, err := tx.ListRestApis(store.Page{Limit: 10})
			return len(as), err
		}},
		{"ListDeployments", func(tx store.Tx) (int, error) {
			ds, _, err := tx.ListDeployments("a1", store.Page{Limit: 10})
			return len(ds), err
		}},
		{"ListStages", func(tx store.Tx) (int, error) { ss, err := tx.ListStages("a1"); return len(ss), err }},
	}
	for _, tc := range empty {
		t.Run(tc.name, func(t *testing.T) {
			for region, want := range map[string]int{east: 0, west: 1} {
				view(t, s, region, func(tx store.Tx) error {
					n, err := tc.n(tx)
					wantErr(t, tc.name, err, nil)
					if n != want {
						t.Errorf("%s from %s: %d items, want %d", tc.name, region, n, want)
					}
					return nil
				})
			}
		})
	}
	// Writes from the wrong region find nothing to update or delete.
	writes := []struct {
		name string
		call func(store.Tx) error
		want error
	}{
		{"PutAccount update", func(tx store.Tx) error { return tx.PutAccount(&apigw.Account{Rev: 1}) }, store.ErrConflict},
		{"PutApiKey update", func(tx store.Tx) error { k := newKey("k1", "v1", "", ""); k.Rev = 1; return tx.PutApiKey(k) }, store.ErrConflict},
		{"PutUsagePlan update", func(tx store.Tx) error { p := newPlan("p1", ""); p.Rev = 1; return tx.PutUsagePlan(p) }, store.ErrConflict},
		{"PutRestApi update", func(tx store.Tx) error { a := newApi("a1", ""); a.Rev = 1; return tx.PutRestApi(a) }, store.ErrConflict},
		{"PutStage update", func(tx store.Tx) error { x := newStage("a1", "prod", "d1"); x.Rev = 1; return tx.PutStage(x) }, store.ErrConflict},
		{"DeleteApiKey", func(tx store.Tx) error { return tx.DeleteApiKey("k1") }, store.ErrNotFound},
		{"DeleteUsagePlan", func(tx store.Tx) error { return tx.DeleteUsagePlan("p1") }, store.ErrNotFound},
		{"DeleteUsagePlanKey", func(tx store.Tx) error { return tx.DeleteUsagePlanKey("p1", "k1") }, store.ErrNotFound},
		{"DeleteRestApi", func(tx store.Tx) error { return tx.DeleteRestApi("a1") }, store.ErrNotFound},
		{"DeleteDeployment", func(tx store.Tx) error { return tx.DeleteDeployment("a1", "d1") }, store.ErrNotFound},
		{"DeleteStage", func(tx store.Tx) error { return tx.DeleteStage("a1", "prod") }, store.ErrNotFound},
	}
	for _, tc := range writes {
		t.Run(tc.name+" from another region", func(t *testing.T) {
			wantErr(t, tc.name, s.Update(ctx(), east, tc.call), tc.want)
		})
	}
	// Everything is still there for its own region.
	for _, tc := range notFound {
		view(t, s, west, func(tx store.Tx) error {
			wantErr(t, tc.name+" after foreign writes", tc.call(tx), nil)
			return nil
		})
	}
}

func testRegions(t *testing.T, open Opener) {
	s := open(t)
	got, err := s.Regions(ctx())
	wantErr(t, "Regions", err, nil)
	if len(got) != 0 {
		t.Errorf("Regions of an empty store = %v", got)
	}
	// A read-only or failed Update leaves no trace.
	view(t, s, "ap-south-1", func(store.Tx) error { return nil })
	_ = s.Update(ctx(), "eu-west-1", func(tx store.Tx) error {
		if err := tx.PutApiKey(newKey("k", "v", "", "")); err != nil {
			return err
		}
		return errors.New("abort")
	})
	putKeys(t, s, west, newKey("k1", "v1", "", ""))
	putPlans(t, s, east, newPlan("p1", ""))
	update(t, s, "eu-central-1", func(tx store.Tx) error { return tx.PutRestApi(newApi("a1", "")) })
	update(t, s, "sa-east-1", func(tx store.Tx) error { return tx.PutAccount(&apigw.Account{}) })
	got, err = s.Regions(ctx())
	wantErr(t, "Regions", err, nil)
	same(t, "Regions", got, []string{"eu-central-1", "sa-east-1", east, west})
}

func testRollback(t *testing.T, open Opener) {
	s := open(t)
	putKeys(t, s, east, newKey("k1", "v1", "before", ""))
	abort := errors.New("abort")
	for _, tc := range []struct {
		name string
		fn   func(tx store.Tx) error
		want error
	}{
		{"fn error", func(tx store.Tx) error {
			if err := writeAll(tx); err != nil {
				return err
			}
			return abort
		}, abort},
		{"store error returned by fn", func(tx store.Tx) error {
			if err := writeAll(tx); err != nil {
				return err
			}
			return tx.PutApiKey(newKey("k1", "other", "", ""))
		}, store.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "Update", s.Update(ctx(), east, tc.fn), tc.want)
			view(t, s, east, func(tx store.Tx) error {
				k, err := tx.GetApiKey("k1")
				wantErr(t, "GetApiKey", err, nil)
				if err == nil && (k.Name != "before" || k.Rev != 1) {
					t.Errorf("k1 = %q rev %d, want the version before the rolled back Update", k.Name, k.Rev)
				}
				for what, err := range map[string]error{
					"new key":    second(tx.GetApiKey("k2")),
					"plan":       second(tx.GetUsagePlan("p1")),
					"plan key":   second(tx.GetUsagePlanKey("p1", "k1")),
					"api":        second(tx.GetRestApi("a1")),
					"account":    second(tx.GetAccount()),
					"stage":      second(tx.GetStage("a1", "s")),
					"deployment": second(tx.GetDeployment("a1", "d")),
				} {
					wantErr(t, what+" of the rolled back Update", err, store.ErrNotFound)
				}
				return nil
			})
		})
	}
}

// writeAll writes one of everything (and updates k1) in tx.
func writeAll(tx store.Tx) error {
	k1, err := tx.GetApiKey("k1")
	if err != nil {
		return err
	}
	k1.Name = "during"
	steps := []error{
		tx.PutApiKey(k1),
		tx.PutApiKey(newKey("k2", "v2", "", "")),
		tx.PutUsagePlan(newPlan("p1", "")),
		tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: "k1"}),
		tx.PutRestApi(newApi("a1", "")),
		tx.PutDeployment(newDeployment("a1", "d")),
		tx.PutStage(newStage("a1", "s", "d")),
		tx.PutAccount(&apigw.Account{}),
	}
	for i, err := range steps {
		if err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	// Reads inside the transaction see its own writes.
	if k, err := tx.GetApiKey("k1"); err != nil || k.Name != "during" {
		return fmt.Errorf("read own write: %v, %v", k, err)
	}
	return nil
}

func second[T any](_ T, err error) error { return err }

func testConcurrency(t *testing.T, open Opener) {
	s := open(t)
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("k%d-%d", w, i)
				errs <- s.Update(ctx(), east, func(tx store.Tx) error { return tx.PutApiKey(newKey(id, "v"+id, "", "")) })
			}
		}()
		go func() {
			defer wg.Done()
			for range each {
				errs <- s.View(ctx(), east, func(tx store.Tx) error {
					_, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Limit: 5})
					return err
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, "concurrent call", err, nil)
	}
	view(t, s, east, func(tx store.Tx) error {
		ks, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Limit: 1000})
		wantErr(t, "ListApiKeys", err, nil)
		if len(ks) != writers*each {
			t.Errorf("%d keys after concurrent inserts, want %d", len(ks), writers*each)
		}
		return nil
	})
}

// wakeTimeout bounds the wait for a wake-up a backend delivers asynchronously (PostgreSQL
// LISTEN/NOTIFY); it is a deadline, not a delay: a prompt backend never waits.
const wakeTimeout = 10 * time.Second

func woken(t *testing.T, what string, wake <-chan struct{}) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(wakeTimeout):
		t.Fatalf("%s: no wake-up", what)
	}
}

func notWoken(t *testing.T, what string, wake <-chan struct{}) {
	t.Helper()
	select {
	case <-wake:
		t.Errorf("%s: woken", what)
	default:
	}
}

func testChanges(t *testing.T, open Opener) {
	s := open(t)
	c, cancel := context.WithCancel(ctx())
	defer cancel()
	seq0, wake, err := s.Changes(c)
	wantErr(t, "Changes", err, nil)
	_, wake2, err := s.Changes(c)
	wantErr(t, "Changes", err, nil)
	seqNow := func() int64 {
		c, cancel := context.WithCancel(ctx())
		defer cancel()
		seq, _, err := s.Changes(c)
		wantErr(t, "Changes", err, nil)
		return seq
	}
	notWoken(t, "new subscription", wake)

	view(t, s, east, func(store.Tx) error { return nil })
	update(t, s, east, func(tx store.Tx) error { _, err := tx.GetAccount(); _ = err; return nil })
	_ = s.Update(ctx(), east, func(tx store.Tx) error {
		if err := tx.PutApiKey(newKey("k0", "v0", "", "")); err != nil {
			return err
		}
		return errors.New("abort")
	})
	_ = s.Update(ctx(), east, func(tx store.Tx) error { return tx.DeleteApiKey("nope") })
	notWoken(t, "after a View, an empty Update and rolled back ones", wake)
	if got := seqNow(); got != seq0 {
		t.Errorf("sequence moved from %d to %d without a commit", seq0, got)
	}

	putKeys(t, s, east, newKey("k1", "v1", "", ""))
	woken(t, "after a commit", wake)
	woken(t, "second subscriber after a commit", wake2)
	seq1 := seqNow()
	if seq1 <= seq0 {
		t.Errorf("sequence after a commit = %d, want > %d", seq1, seq0)
	}

	// Commits never wait for a slow subscriber: wake-ups coalesce.
	for i := range 3 {
		update(t, s, west, func(tx store.Tx) error {
			return tx.PutUsagePlan(newPlan(fmt.Sprintf("p%d", i), ""))
		})
	}
	woken(t, "after commits nobody read", wake)
	if seq2 := seqNow(); seq2 <= seq1 {
		t.Errorf("sequence after more commits = %d, want > %d", seq2, seq1)
	}
	update(t, s, east, func(tx store.Tx) error { return tx.DeleteApiKey("k1") })
	woken(t, "after a delete", wake)

	// A cancelled subscription does not hold commits up.
	cancel()
	for i := range 3 {
		putKeys(t, s, east, newKey(fmt.Sprintf("kc%d", i), fmt.Sprintf("vc%d", i), "", ""))
	}
}
