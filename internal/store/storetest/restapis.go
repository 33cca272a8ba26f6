package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func testRestApis(t *testing.T, open Opener) {
	s := open(t)
	a := newApi("a1", "pets")
	update(t, s, east, func(tx store.Tx) error { return tx.PutRestApi(a) })
	if a.Rev != 1 {
		t.Fatalf("Rev after insert = %d, want 1", a.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetRestApi("a1")
		wantErr(t, "GetRestApi", err, nil)
		same(t, "api (nil and empty maps kept apart)", got, a)
		_, err = tx.GetRestApi("nope")
		wantErr(t, "GetRestApi missing", err, store.ErrNotFound)
		return nil
	})
	stale := *a
	a.Resources = append(a.Resources, &apigw.Resource{ID: "a1dogs", ParentID: "a1root", PathPart: "dogs"})
	update(t, s, east, func(tx store.Tx) error { return tx.PutRestApi(a) })
	if a.Rev != 2 {
		t.Fatalf("Rev after update = %d, want 2", a.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetRestApi("a1")
		wantErr(t, "GetRestApi after update", err, nil)
		same(t, "updated api", got, a)
		return nil
	})
	for _, tc := range []struct {
		name   string
		region string
		api    *apigw.RestApi
	}{
		{"stale rev", east, &stale},
		{"duplicate id", east, newApi("a1", "x")},
		{"duplicate id in another region", west, newApi("a1", "x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx(), tc.region, func(tx store.Tx) error { return tx.PutRestApi(tc.api) })
			wantErr(t, "PutRestApi", err, store.ErrConflict)
		})
	}
	update(t, s, east, func(tx store.Tx) error {
		if err := tx.PutRestApi(newApi("a2", "b")); err != nil {
			return err
		}
		return tx.PutRestApi(newApi("a0", "c"))
	})
	view(t, s, east, func(tx store.Tx) error {
		as, next, err := tx.ListRestApis(store.Page{Limit: 10})
		wantErr(t, "ListRestApis", err, nil)
		ids := []string{}
		for _, x := range as {
			ids = append(ids, x.ID)
		}
		same(t, "creation order", ids, []string{"a1", "a2", "a0"})
		same(t, "next", next, "")
		if len(as) == 3 {
			same(t, "listed api", as[0], a)
		}
		return nil
	})
	update(t, s, east, func(tx store.Tx) error { return tx.DeleteRestApi("a2") })
	err := s.Update(ctx(), east, func(tx store.Tx) error { return tx.DeleteRestApi("a2") })
	wantErr(t, "DeleteRestApi twice", err, store.ErrNotFound)
	view(t, s, east, func(tx store.Tx) error {
		_, err := tx.GetRestApi("a2")
		wantErr(t, "GetRestApi after delete", err, store.ErrNotFound)
		return nil
	})
}

func testDeployments(t *testing.T, open Opener) {
	s := open(t)
	putApi(t, s, east, newApi("a1", "x"), []string{"d2", "d1", "d3"}, nil)
	putApi(t, s, east, newApi("a2", "y"), []string{"d1"}, nil) // ids are per API
	putApi(t, s, west, newApi("aw", "w"), []string{"dw"}, nil)
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetDeployment("a1", "d1")
		wantErr(t, "GetDeployment", err, nil)
		same(t, "deployment", got, newDeployment("a1", "d1"))
		_, err = tx.GetDeployment("a1", "d9")
		wantErr(t, "GetDeployment missing", err, store.ErrNotFound)
		_, err = tx.GetDeployment("a9", "d1")
		wantErr(t, "GetDeployment of a missing api", err, store.ErrNotFound)
		ds, next, err := tx.ListDeployments("a1", store.Page{Limit: 10})
		wantErr(t, "ListDeployments", err, nil)
		ids := []string{}
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		same(t, "creation order", ids, []string{"d2", "d1", "d3"})
		same(t, "next", next, "")
		return nil
	})
	for _, tc := range []struct {
		name   string
		region string
		d      *apigw.Deployment
		want   error
	}{
		{"duplicate", east, newDeployment("a1", "d1"), store.ErrConflict},
		{"missing api", east, newDeployment("a9", "d9"), store.ErrNotFound},
		{"api of another region", east, newDeployment("aw", "d9"), store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx(), tc.region, func(tx store.Tx) error { return tx.PutDeployment(tc.d) })
			wantErr(t, "PutDeployment", err, tc.want)
		})
	}
	update(t, s, east, func(tx store.Tx) error { return tx.DeleteDeployment("a1", "d1") })
	err := s.Update(ctx(), east, func(tx store.Tx) error { return tx.DeleteDeployment("a1", "d1") })
	wantErr(t, "DeleteDeployment twice", err, store.ErrNotFound)
	view(t, s, east, func(tx store.Tx) error {
		_, err := tx.GetDeployment("a1", "d1")
		wantErr(t, "GetDeployment after delete", err, store.ErrNotFound)
		_, err = tx.GetDeployment("a2", "d1")
		wantErr(t, "same id in another api", err, nil)
		return nil
	})
}

func testStages(t *testing.T, open Opener) {
	s := open(t)
	putApi(t, s, east, newApi("a1", "x"), []string{"d1"}, []string{"prod", "beta"})
	putApi(t, s, west, newApi("aw", "w"), []string{"d1"}, []string{"prod"})
	st := newStage("a1", "dev", "d1")
	update(t, s, east, func(tx store.Tx) error { return tx.PutStage(st) })
	if st.Rev != 1 {
		t.Fatalf("Rev after insert = %d, want 1", st.Rev)
	}
	stale := *st
	st.Variables, st.Description = nil, "changed"
	update(t, s, east, func(tx store.Tx) error { return tx.PutStage(st) })
	if st.Rev != 2 {
		t.Fatalf("Rev after update = %d, want 2", st.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetStage("a1", "dev")
		wantErr(t, "GetStage", err, nil)
		same(t, "stage", got, st)
		_, err = tx.GetStage("a1", "nope")
		wantErr(t, "GetStage missing", err, store.ErrNotFound)
		ss, err := tx.ListStages("a1")
		wantErr(t, "ListStages", err, nil)
		names := []string{}
		for _, x := range ss {
			names = append(names, x.StageName)
		}
		same(t, "creation order", names, []string{"prod", "beta", "dev"})
		if len(ss) == 3 {
			same(t, "listed stage", ss[2], st)
		}
		ss, err = tx.ListStages("a9")
		wantErr(t, "ListStages of a missing api", err, nil)
		if len(ss) != 0 {
			t.Errorf("ListStages(a9) = %d stages", len(ss))
		}
		return nil
	})
	for _, tc := range []struct {
		name string
		s    *apigw.Stage
		want error
	}{
		{"stale rev", &stale, store.ErrConflict},
		{"duplicate", newStage("a1", "prod", "d1"), store.ErrConflict},
		{"rev of a missing stage", func() *apigw.Stage { x := newStage("a1", "qa", "d1"); x.Rev = 1; return x }(), store.ErrConflict},
		{"missing api", newStage("a9", "prod", "d1"), store.ErrNotFound},
		{"api of another region", newStage("aw", "test", "d1"), store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx(), east, func(tx store.Tx) error { return tx.PutStage(tc.s) })
			wantErr(t, "PutStage", err, tc.want)
		})
	}
	update(t, s, east, func(tx store.Tx) error { return tx.DeleteStage("a1", "dev") })
	err := s.Update(ctx(), east, func(tx store.Tx) error { return tx.DeleteStage("a1", "dev") })
	wantErr(t, "DeleteStage twice", err, store.ErrNotFound)
	view(t, s, east, func(tx store.Tx) error {
		_, err := tx.GetStage("a1", "dev")
		wantErr(t, "GetStage after delete", err, store.ErrNotFound)
		return nil
	})
}

func testCascades(t *testing.T, open Opener) {
	s := open(t)
	putPlans(t, s, east, newPlan("p1", "a"), newPlan("p2", "b"))
	putKeys(t, s, east, newKey("k1", "v1", "", ""), newKey("k2", "v2", "", ""))
	link(t, s, east, "p1", "k1", "k2")
	link(t, s, east, "p2", "k1", "k2")
	putApi(t, s, east, newApi("a1", "x"), []string{"d1", "d2"}, []string{"prod"})
	putApi(t, s, east, newApi("a2", "y"), []string{"d1"}, []string{"prod"})

	t.Run("DeleteApiKey removes its plan keys", func(t *testing.T) {
		update(t, s, east, func(tx store.Tx) error { return tx.DeleteApiKey("k1") })
		view(t, s, east, func(tx store.Tx) error {
			_, err := tx.GetUsagePlanKey("p1", "k1")
			wantErr(t, "GetUsagePlanKey", err, store.ErrNotFound)
			ids, err := tx.PlanIDsOfKey("k1")
			wantErr(t, "PlanIDsOfKey", err, nil)
			if len(ids) != 0 {
				t.Errorf("PlanIDsOfKey(k1) = %v after delete", ids)
			}
			for _, p := range []string{"p1", "p2"} {
				ks, _, err := tx.ListUsagePlanKeys(p, "", store.Page{Limit: 10})
				wantErr(t, "ListUsagePlanKeys", err, nil)
				same(t, "keys of "+p, keyIDs(ks), []string{"k2"})
			}
			return nil
		})
	})
	t.Run("DeleteUsagePlan removes its plan keys", func(t *testing.T) {
		update(t, s, east, func(tx store.Tx) error { return tx.DeleteUsagePlan("p1") })
		view(t, s, east, func(tx store.Tx) error {
			_, err := tx.GetUsagePlanKey("p1", "k2")
			wantErr(t, "GetUsagePlanKey", err, store.ErrNotFound)
			ids, err := tx.PlanIDsOfKey("k2")
			wantErr(t, "PlanIDsOfKey", err, nil)
			same(t, "PlanIDsOfKey(k2)", ids, []string{"p2"})
			ps, _, err := tx.ListUsagePlans("k2", store.Page{Limit: 10})
			wantErr(t, "ListUsagePlans", err, nil)
			same(t, "plans of k2", planIDs(ps), []string{"p2"})
			_, err = tx.GetApiKey("k2")
			wantErr(t, "the key stays", err, nil)
			return nil
		})
		// A plan recreated under the same id starts empty.
		putPlans(t, s, east, newPlan("p1", "again"))
		view(t, s, east, func(tx store.Tx) error {
			ks, _, err := tx.ListUsagePlanKeys("p1", "", store.Page{Limit: 10})
			wantErr(t, "ListUsagePlanKeys", err, nil)
			same(t, "keys of the recreated plan", keyIDs(ks), []string{})
			return nil
		})
	})
	t.Run("DeleteRestApi removes deployments and stages", func(t *testing.T) {
		update(t, s, east, func(tx store.Tx) error { return tx.DeleteRestApi("a1") })
		view(t, s, east, func(tx store.Tx) error {
			_, err := tx.GetDeployment("a1", "d1")
			wantErr(t, "GetDeployment", err, store.ErrNotFound)
			_, err = tx.GetStage("a1", "prod")
			wantErr(t, "GetStage", err, store.ErrNotFound)
			ds, _, err := tx.ListDeployments("a1", store.Page{Limit: 10})
			wantErr(t, "ListDeployments", err, nil)
			ss, err2 := tx.ListStages("a1")
			wantErr(t, "ListStages", err2, nil)
			if len(ds)+len(ss) != 0 {
				t.Errorf("deleted api still has %d deployments, %d stages", len(ds), len(ss))
			}
			_, err = tx.GetStage("a2", "prod")
			wantErr(t, "the other api's stage stays", err, nil)
			_, err = tx.GetDeployment("a2", "d1")
			wantErr(t, "the other api's deployment stays", err, nil)
			return nil
		})
		putApi(t, s, east, newApi("a1", "again"), []string{"d1"}, nil)
		view(t, s, east, func(tx store.Tx) error {
			ss, err := tx.ListStages("a1")
			wantErr(t, "ListStages", err, nil)
			if len(ss) != 0 {
				t.Errorf("recreated api has %d stages", len(ss))
			}
			return nil
		})
	})
}
