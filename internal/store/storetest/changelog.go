package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// testChangeLog: what a store.ChangeLog lists is what the incremental sync applies, so it must
// hold every aggregate each commit wrote, in commit order, and say when it cannot (a bulk write,
// more than max changes). TouchUsagePlanKey logs a plan key it did not write, and refuses one
// that does not exist.
func testChangeLog(t *testing.T, open Opener) {
	s := open(t)
	cl, ok := s.(store.ChangeLog)
	if !ok {
		t.Skip("this store keeps no ordered change log")
	}
	seq0 := seqOf(t, s)
	update(t, s, east, func(tx store.Tx) error {
		if err := tx.PutUsagePlan(newPlan("p1", "plan")); err != nil {
			return err
		}
		if err := tx.PutApiKey(newKey("k1", "value-1-0123456789", "", "")); err != nil {
			return err
		}
		return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: "k1"})
	})
	update(t, s, west, func(tx store.Tx) error { return tx.PutApiKey(newKey("k2", "value-2-0123456789", "", "")) })
	update(t, s, east, func(tx store.Tx) error { return tx.TouchUsagePlanKey("p1", "k1") })
	wantErr(t, "TouchUsagePlanKey of an absent pair", s.Update(ctx(), east, func(tx store.Tx) error { return tx.TouchUsagePlanKey("p1", "k2") }), store.ErrNotFound)
	update(t, s, east, func(tx store.Tx) error { return tx.DeleteApiKey("k1") })

	got, last, complete, err := cl.ChangesSince(ctx(), seq0, 100)
	wantErr(t, "ChangesSince", err, nil)
	want := []store.Change{
		{Region: east, Kind: store.KindUsagePlan, ID: "p1"},
		{Region: east, Kind: store.KindApiKey, ID: "k1"},
		{Region: east, Kind: store.KindUsagePlanKey, ID: "p1/k1"},
		{Region: west, Kind: store.KindApiKey, ID: "k2"},
		{Region: east, Kind: store.KindUsagePlanKey, ID: "p1/k1"},
	}
	// The delete's changes (the key, and its plan key by cascade) follow in some order.
	if len(got) < len(want)+1 || !reflect.DeepEqual(got[:len(want)], want) || !complete {
		t.Fatalf("ChangesSince = %v (complete %v), want %v then the delete's", got, complete, want)
	}
	if last != seqOf(t, s) {
		t.Errorf("last = %d, want the store's sequence %d", last, seqOf(t, s))
	}
	if more, l2, complete, err := cl.ChangesSince(ctx(), last, 100); err != nil || len(more) != 0 || l2 != last || !complete {
		t.Errorf("ChangesSince(last) = %v, %d, %v, %v; want nothing new", more, l2, complete, err)
	}
	if _, _, complete, err := cl.ChangesSince(ctx(), seq0, 2); err != nil || complete {
		t.Errorf("ChangesSince with max 2 of %d: complete %v, %v; want incomplete", len(got), complete, err)
	}
	// A bulk write is one region-wide marker: never complete.
	update(t, s, east, func(tx store.Tx) error {
		for i := range 300 {
			if err := tx.PutApiKey(newKey(fmt.Sprint("b", i), fmt.Sprintf("bulk-value-%04d-0123456789", i), "", "")); err != nil {
				return err
			}
		}
		return nil
	})
	if _, _, complete, err := cl.ChangesSince(ctx(), last, 100); err != nil || complete {
		t.Errorf("ChangesSince over a bulk write: complete %v, %v; want incomplete", complete, err)
	}
}

// seqOf is the store's change sequence now.
func seqOf(t *testing.T, s store.Store) int64 {
	t.Helper()
	seq, _, err := s.Changes(t.Context())
	wantErr(t, "Changes", err, nil)
	return seq
}
