package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func testUsagePlans(t *testing.T, open Opener) {
	s := open(t)
	p1 := newPlan("p1", "gold")
	putPlans(t, s, east, p1)
	if p1.Rev != 1 {
		t.Fatalf("Rev after insert = %d, want 1", p1.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetUsagePlan("p1")
		wantErr(t, "GetUsagePlan", err, nil)
		same(t, "plan", got, p1)
		_, err = tx.GetUsagePlan("nope")
		wantErr(t, "GetUsagePlan missing", err, store.ErrNotFound)
		return nil
	})
	stale := *p1
	p1.Quota, p1.Throttle, p1.Name = nil, nil, "silver"
	putPlans(t, s, east, p1)
	if p1.Rev != 2 {
		t.Fatalf("Rev after update = %d, want 2", p1.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetUsagePlan("p1")
		wantErr(t, "GetUsagePlan after update", err, nil)
		same(t, "updated plan", got, p1)
		return nil
	})
	for _, tc := range []struct {
		name   string
		region string
		plan   *apigw.UsagePlan
	}{
		{"stale rev", east, &stale},
		{"duplicate id", east, newPlan("p1", "other")},
		{"duplicate id in another region", west, newPlan("p1", "other")},
		{"rev of a missing plan", east, func() *apigw.UsagePlan { p := newPlan("p9", "x"); p.Rev = 4; return p }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx(), tc.region, func(tx store.Tx) error { return tx.PutUsagePlan(tc.plan) })
			wantErr(t, "PutUsagePlan", err, store.ErrConflict)
		})
	}

	// ListUsagePlans: newest first, optionally only the plans holding a key.
	putPlans(t, s, east, newPlan("p2", "b"), newPlan("p3", "c"))
	putKeys(t, s, east, newKey("k1", "v1", "", ""), newKey("k2", "v2", "", ""))
	link(t, s, east, "p3", "k1")
	link(t, s, east, "p1", "k1", "k2")
	for _, tc := range []struct {
		keyID string
		want  []string
	}{{"", []string{"p3", "p2", "p1"}}, {"k1", []string{"p3", "p1"}}, {"k2", []string{"p1"}}, {"nope", []string{}}} {
		view(t, s, east, func(tx store.Tx) error {
			ps, next, err := tx.ListUsagePlans(tc.keyID, store.Page{Limit: 10})
			wantErr(t, "ListUsagePlans", err, nil)
			same(t, "ListUsagePlans("+tc.keyID+")", planIDs(ps), tc.want)
			same(t, "next", next, "")
			return nil
		})
		got := walk(t, 1, func(tx store.Tx, p store.Page) ([]string, string, error) {
			ps, next, err := tx.ListUsagePlans(tc.keyID, p)
			return planIDs(ps), next, err
		}, s, east)
		same(t, "paged ListUsagePlans("+tc.keyID+")", got, tc.want)
	}
	view(t, s, east, func(tx store.Tx) error {
		ps, _, err := tx.ListUsagePlans("", store.Page{Limit: 10})
		wantErr(t, "ListUsagePlans", err, nil)
		if len(ps) == 3 {
			same(t, "listed plan", ps[2], p1)
		}
		return nil
	})

	update(t, s, east, func(tx store.Tx) error { return tx.DeleteUsagePlan("p2") })
	err := s.Update(ctx(), east, func(tx store.Tx) error { return tx.DeleteUsagePlan("p2") })
	wantErr(t, "DeleteUsagePlan twice", err, store.ErrNotFound)
	view(t, s, east, func(tx store.Tx) error {
		_, err := tx.GetUsagePlan("p2")
		wantErr(t, "GetUsagePlan after delete", err, store.ErrNotFound)
		return nil
	})
}

func testUsagePlanKeys(t *testing.T, open Opener) {
	s := open(t)
	putPlans(t, s, east, newPlan("p1", "a"), newPlan("p2", "b"))
	putKeys(t, s, east,
		newKey("k1", "v1", "Bob", ""), newKey("k2", "v2", "bob", ""),
		newKey("k3", "v3", "", ""), newKey("k4", "v4", "Bobby", ""))
	putKeys(t, s, west, newKey("kw", "vw", "Bob", ""))
	putPlans(t, s, west, newPlan("pw", "w"))
	// Association order differs from key creation order on purpose.
	link(t, s, east, "p1", "k3", "k1", "k4", "k2")
	link(t, s, east, "p2", "k1")

	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetUsagePlanKey("p1", "k1")
		wantErr(t, "GetUsagePlanKey", err, nil)
		same(t, "plan key", got, &apigw.UsagePlanKey{PlanID: "p1", KeyID: "k1", CreatedDate: day})
		_, err = tx.GetUsagePlanKey("p2", "k2")
		wantErr(t, "GetUsagePlanKey not associated", err, store.ErrNotFound)
		ids, err := tx.PlanIDsOfKey("k1")
		wantErr(t, "PlanIDsOfKey", err, nil)
		same(t, "PlanIDsOfKey(k1)", ids, []string{"p1", "p2"})
		ids, err = tx.PlanIDsOfKey("k9")
		wantErr(t, "PlanIDsOfKey missing", err, nil)
		if len(ids) != 0 {
			t.Errorf("PlanIDsOfKey(k9) = %v, want none", ids)
		}
		return nil
	})
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"k2", "k4", "k1", "k3"}},
		{"Bob", []string{"k4", "k1"}},
		{"bob", []string{"k2"}},
		{"Bobby", []string{"k4"}},
		{"B%", []string{}},
	} {
		t.Run("prefix "+tc.prefix, func(t *testing.T) {
			view(t, s, east, func(tx store.Tx) error {
				ks, next, err := tx.ListUsagePlanKeys("p1", tc.prefix, store.Page{Limit: 10})
				wantErr(t, "ListUsagePlanKeys", err, nil)
				same(t, "ids", keyIDs(ks), tc.want)
				same(t, "next", next, "")
				return nil
			})
			got := walk(t, 1, func(tx store.Tx, p store.Page) ([]string, string, error) {
				ks, next, err := tx.ListUsagePlanKeys("p1", tc.prefix, p)
				return keyIDs(ks), next, err
			}, s, east)
			same(t, "paged ids", got, tc.want)
		})
	}
	view(t, s, east, func(tx store.Tx) error {
		ks, _, err := tx.ListUsagePlanKeys("p2", "", store.Page{Limit: 10})
		wantErr(t, "ListUsagePlanKeys", err, nil)
		same(t, "keys of p2 are the keys themselves", ks, []*apigw.ApiKey{newKeyStored("k1", "v1", "Bob", "")})
		return nil
	})

	for _, tc := range []struct {
		name   string
		region string
		planID string
		keyID  string
		want   error
	}{
		{"duplicate", east, "p1", "k1", store.ErrConflict},
		{"missing plan", east, "p9", "k1", store.ErrNotFound},
		{"missing key", east, "p1", "k9", store.ErrNotFound},
		{"plan of another region", east, "pw", "k1", store.ErrNotFound},
		{"key of another region", east, "p1", "kw", store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx(), tc.region, func(tx store.Tx) error {
				return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: tc.planID, KeyID: tc.keyID, CreatedDate: day})
			})
			wantErr(t, "PutUsagePlanKey", err, tc.want)
		})
	}

	// Within one transaction: a key or plan deleted after it was checked or written is gone
	// for PutUsagePlanKey too (the parents' checks are not cached past a delete).
	for _, tc := range []struct {
		name string
		fn   func(tx store.Tx) error
	}{
		{"key deleted in the same transaction", func(tx store.Tx) error {
			if err := tx.PutApiKey(newKey("kt", "vt-value", "T", "")); err != nil {
				return err
			}
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p2", KeyID: "kt", CreatedDate: day}); err != nil {
				return err
			}
			if err := tx.DeleteApiKey("kt"); err != nil {
				return err
			}
			return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: "kt", CreatedDate: day})
		}},
		{"plan deleted in the same transaction", func(tx store.Tx) error {
			if err := tx.PutUsagePlan(&apigw.UsagePlan{ID: "pt", Name: "t", CreatedDate: day}); err != nil {
				return err
			}
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "pt", KeyID: "k1", CreatedDate: day}); err != nil {
				return err
			}
			if err := tx.DeleteUsagePlan("pt"); err != nil {
				return err
			}
			return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "pt", KeyID: "k2", CreatedDate: day})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "PutUsagePlanKey", s.Update(ctx(), east, tc.fn), store.ErrNotFound)
		})
	}

	update(t, s, east, func(tx store.Tx) error { return tx.DeleteUsagePlanKey("p1", "k1") })
	err := s.Update(ctx(), east, func(tx store.Tx) error { return tx.DeleteUsagePlanKey("p1", "k1") })
	wantErr(t, "DeleteUsagePlanKey twice", err, store.ErrNotFound)
	view(t, s, east, func(tx store.Tx) error {
		_, err := tx.GetUsagePlanKey("p1", "k1")
		wantErr(t, "GetUsagePlanKey after delete", err, store.ErrNotFound)
		ks, _, err := tx.ListUsagePlanKeys("p1", "", store.Page{Limit: 10})
		wantErr(t, "ListUsagePlanKeys", err, nil)
		same(t, "keys after delete", keyIDs(ks), []string{"k2", "k4", "k3"})
		_, err = tx.GetApiKey("k1")
		wantErr(t, "the key itself stays", err, nil)
		return nil
	})
	// Re-adding puts the key at the front again.
	link(t, s, east, "p1", "k1")
	view(t, s, east, func(tx store.Tx) error {
		ks, _, err := tx.ListUsagePlanKeys("p1", "", store.Page{Limit: 10})
		wantErr(t, "ListUsagePlanKeys", err, nil)
		same(t, "keys after re-adding", keyIDs(ks), []string{"k1", "k2", "k4", "k3"})
		return nil
	})
}
