package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlstore"
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
	// A bulk write of keys lists them in one row, beside a row for each other aggregate: the
	// keys created, and the ones added to a plan, once each.
	update(t, s, east, func(tx store.Tx) error { return tx.PutApiKey(newKey("k3", "value-3-0123456789", "", "")) })
	last = seqOf(t, s)
	update(t, s, east, func(tx store.Tx) error {
		if err := tx.PutUsagePlan(newPlan("p2", "bulk plan")); err != nil {
			return err
		}
		for i := range 300 {
			if err := tx.PutApiKey(newKey(fmt.Sprint("b", i), fmt.Sprintf("bulk-value-%04d-0123456789", i), "", "")); err != nil {
				return err
			}
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p2", KeyID: fmt.Sprint("b", i)}); err != nil {
				return err
			}
		}
		return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: "k3"})
	})
	got, _, complete, err = cl.ChangesSince(ctx(), last, 100)
	wantErr(t, "ChangesSince over a bulk write", err, nil)
	var listed []string
	for i := range 300 {
		listed = append(listed, fmt.Sprint("b", i))
	}
	listed = append(listed, "k3")
	want = []store.Change{
		{Region: east, Kind: store.KindUsagePlan, ID: "p2"},
		{Region: east, Kind: store.KindApiKeys, ID: strings.Join(listed, "\n")},
	}
	if !reflect.DeepEqual(got, want) || !complete {
		t.Fatalf("ChangesSince over a bulk write of keys = %d changes (complete %v), want the plan's and one listing the %d keys", len(got), complete, len(listed))
	}
	if ids := store.SplitKeyIDs(got[1].ID); !reflect.DeepEqual(ids, listed) {
		t.Fatalf("SplitKeyIDs = %d ids, want %d", len(ids), len(listed))
	}

	// More than BulkChanges aggregates other than keys make one region-wide marker: never
	// complete. So does a key id no list can hold.
	for _, tc := range []struct {
		name  string
		write func(tx store.Tx) error
	}{
		{"plans", func(tx store.Tx) error {
			for i := range 300 {
				if err := tx.PutUsagePlan(newPlan(fmt.Sprint("bp", i), "plan")); err != nil {
					return err
				}
			}
			return nil
		}},
		{"a key id with a newline", func(tx store.Tx) error {
			for i := range 300 {
				if err := tx.PutApiKey(newKey(fmt.Sprint("nl\n", i), fmt.Sprintf("nl-value-%04d-0123456789", i), "", "")); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		last = seqOf(t, s)
		update(t, s, east, tc.write)
		got, _, complete, err := cl.ChangesSince(ctx(), last, 100)
		if err != nil || complete || len(got) != 1 || got[0].Kind != "*" {
			t.Errorf("ChangesSince over a bulk write of %s: %d changes, complete %v, %v; want one marker, incomplete", tc.name, len(got), complete, err)
		}
	}

	// Only the newest lists are kept (the table keeps KeepKeyLists; a cache of it may keep
	// fewer): a reader from before an older one finds a marker there, and rebuilds.
	last = seqOf(t, s)
	for range sqlstore.KeepKeyLists + 1 {
		update(t, s, east, func(tx store.Tx) error {
			for i := range sqlstore.BulkChanges + 1 {
				if err := tx.TouchUsagePlanKey("p2", fmt.Sprint("b", i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	got, _, complete, err = cl.ChangesSince(ctx(), last, 100)
	wantErr(t, "ChangesSince over many lists", err, nil)
	lists := 0
	for _, c := range got {
		switch c.Kind {
		case store.KindApiKeys:
			lists++
		case "*":
		default:
			t.Fatalf("ChangesSince over lists: a change of kind %q", c.Kind)
		}
	}
	if complete || len(got) != sqlstore.KeepKeyLists+1 || got[0].Kind != "*" || got[len(got)-1].Kind != store.KindApiKeys || lists > sqlstore.KeepKeyLists {
		t.Errorf("ChangesSince over %d lists: %d changes (%d lists, the first %q), complete %v; want the oldest a marker, the newest a list, incomplete",
			sqlstore.KeepKeyLists+1, len(got), lists, got[0].Kind, complete)
	}
}

// seqOf is the store's change sequence now.
func seqOf(t *testing.T, s store.Store) int64 {
	t.Helper()
	seq, _, err := s.Changes(t.Context())
	wantErr(t, "Changes", err, nil)
	return seq
}
