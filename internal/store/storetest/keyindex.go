package storetest

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/store"
)

// testKeyIndex checks the data plane's light reads against the full ones they stand in for:
// ListKeyIndex and KeyIndexOf must agree with ListApiKeys (order, paging, enabled after updates) and
// ListPlanKeyIDs with ListUsagePlanKeys (membership in id order, deletes, regions).
func testKeyIndex(t *testing.T, open Opener) {
	s := open(t)
	k1 := newKey("k1", "value-0000000000000000001", "alpha", "cust")
	k2 := newKey("k2", "value-0000000000000000002", "beta", "")
	k3 := newKey("k3", "value-0000000000000000003", "gamma", "cust")
	k2.Enabled = false
	putKeys(t, s, east, k1, k2, k3)
	putKeys(t, s, west, newKey("w1", "value-0000000000000000009", "west", ""))
	putPlans(t, s, east, newPlan("p1", "one"), newPlan("p2", "two"))
	link(t, s, east, "p1", "k2", "k1", "k3")
	link(t, s, east, "p2", "k3")

	// Re-enable k2 and disable k1: the enabled column must follow the document.
	k2.Enabled, k1.Enabled = true, false
	k1.Value = "value-0000000000000000011"
	putKeys(t, s, east, k1, k2)

	all := []store.KeyIndexEntry{
		{ID: "k3", Hash: sha256.Sum256([]byte("value-0000000000000000003")), Enabled: true},
		{ID: "k2", Hash: sha256.Sum256([]byte("value-0000000000000000002")), Enabled: true},
		{ID: "k1", Hash: sha256.Sum256([]byte("value-0000000000000000011")), Enabled: false},
	}
	for _, limit := range []int{0, 1, 2, 3, 10} {
		var got []store.KeyIndexEntry
		view(t, s, east, func(tx store.Tx) error {
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("limit %d: more pages than keys", limit)
				}
				page, next, err := tx.ListKeyIndex(store.Page{Cursor: cursor, Limit: limit}, "")
				wantErr(t, "ListKeyIndex", err, nil)
				if limit > 0 && len(page) > limit {
					t.Fatalf("limit %d: page of %d", limit, len(page))
				}
				got = append(got, page...)
				if next == "" {
					return nil
				}
				cursor = next
			}
		})
		same(t, "key index", got, all)
	}
	// SplitKeyIndex's parts, each read down to its stop, hold every key once, in the list's order.
	for _, tc := range []struct {
		name           string
		region         string
		parts, minSpan int
		cuts           int // how many cursors it returns
		want           []store.KeyIndexEntry
	}{
		{"three parts", east, 3, 1, 2, all},
		{"two parts", east, 2, 1, 1, all},
		{"parts no shorter than minSpan", east, 3, 2, 0, all},
		{"one part asked for", east, 1, 1, 0, all},
		{"one key", west, 4, 1, 0, []store.KeyIndexEntry{{ID: "w1", Hash: sha256.Sum256([]byte("value-0000000000000000009")), Enabled: true}}},
		{"no keys", "eu-west-1", 4, 1, 0, nil},
	} {
		t.Run("SplitKeyIndex "+tc.name, func(t *testing.T) {
			view(t, s, tc.region, func(tx store.Tx) error {
				cuts, err := tx.SplitKeyIndex(tc.parts, tc.minSpan)
				wantErr(t, "SplitKeyIndex", err, nil)
				if len(cuts) != tc.cuts {
					t.Fatalf("%d cursors %q, want %d", len(cuts), cuts, tc.cuts)
				}
				for _, limit := range []int{0, 1} {
					var got []store.KeyIndexEntry
					for i := 0; i <= len(cuts); i++ {
						from, stop := "", ""
						if i > 0 {
							from = cuts[i-1]
						}
						if i < len(cuts) {
							stop = cuts[i]
						}
						for pages := 0; ; pages++ {
							if pages > len(all) {
								t.Fatalf("limit %d: more pages than keys", limit)
							}
							page, next, err := tx.ListKeyIndex(store.Page{Cursor: from, Limit: limit}, stop)
							wantErr(t, "ListKeyIndex of a part", err, nil)
							got = append(got, page...)
							if next == "" {
								break
							}
							from = next
						}
					}
					same(t, "parts joined", got, tc.want)
				}
				return nil
			})
		})
	}
	view(t, s, east, func(tx store.Tx) error {
		_, _, err := tx.ListKeyIndex(store.Page{Limit: 1}, "not-a-cursor")
		wantErr(t, "ListKeyIndex with a foreign stop", err, store.ErrBadCursor)
		return nil
	})
	// KeyIndexOf reads one key's entry, the same as the list's.
	for _, tc := range []struct {
		name, region, id string
		want             []store.KeyIndexEntry
	}{
		{"enabled", east, "k2", all[1:2]},
		{"disabled, value changed", east, "k1", all[2:3]},
		{"unknown", east, "nope", nil},
		{"key of another region", west, "k3", nil},
	} {
		t.Run("KeyIndexOf one, "+tc.name, func(t *testing.T) {
			view(t, s, tc.region, func(tx store.Tx) error {
				got, err := tx.KeyIndexOf([]string{tc.id})
				wantErr(t, "KeyIndexOf", err, nil)
				if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
					t.Errorf("KeyIndexOf(%s) = %v, want %v", tc.id, got, tc.want)
				}
				return nil
			})
		})
	}
	// KeyIndexOf and PlansOfKeys read many keys at once, PlansOfKeys as PlanIDsOfKey reads one:
	// unknown ids and keys of other regions are left out, and a list longer than a statement's
	// batch (unknown ids around the known ones) is read whole.
	var many []string
	for i := range 1200 {
		many = append(many, fmt.Sprint("absent", i))
	}
	many = slices.Insert(many, 700, "k1", "k2")
	for _, tc := range []struct {
		name, region string
		ids          []string
		want         []store.KeyIndexEntry
		plans        map[string][]string
	}{
		{"known and unknown", east, []string{"k1", "nope", "k3", "k2"}, []store.KeyIndexEntry{all[2], all[1], all[0]},
			map[string][]string{"k1": {"p1"}, "k2": {"p1"}, "k3": {"p1", "p2"}}},
		{"one", east, []string{"k3"}, all[:1], map[string][]string{"k3": {"p1", "p2"}}},
		{"none", east, nil, nil, nil},
		{"key of another region", west, []string{"k3"}, nil, nil},
		{"more than a batch", east, many, []store.KeyIndexEntry{all[2], all[1]}, map[string][]string{"k1": {"p1"}, "k2": {"p1"}}},
	} {
		t.Run("KeyIndexOf "+tc.name, func(t *testing.T) {
			view(t, s, tc.region, func(tx store.Tx) error {
				got, err := tx.KeyIndexOf(tc.ids)
				wantErr(t, "KeyIndexOf", err, nil)
				slices.SortFunc(got, func(a, b store.KeyIndexEntry) int { return strings.Compare(a.ID, b.ID) })
				if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
					t.Errorf("KeyIndexOf = %v, want %v", got, tc.want)
				}
				plans, err := tx.PlansOfKeys(tc.ids)
				wantErr(t, "PlansOfKeys", err, nil)
				if len(plans) != len(tc.plans) || (len(plans) > 0 && !reflect.DeepEqual(plans, tc.plans)) {
					t.Errorf("PlansOfKeys = %v, want %v", plans, tc.plans)
				}
				return nil
			})
		})
	}
	view(t, s, east, func(tx store.Tx) error {
		_, _, err := tx.ListKeyIndex(store.Page{Cursor: "not-a-cursor", Limit: 1}, "")
		wantErr(t, "ListKeyIndex with a foreign cursor", err, store.ErrBadCursor)
		return nil
	})
	view(t, s, west, func(tx store.Tx) error {
		got, next, err := tx.ListKeyIndex(store.Page{Limit: 10}, "")
		wantErr(t, "ListKeyIndex west", err, nil)
		same(t, "west key index", got, []store.KeyIndexEntry{{ID: "w1", Hash: sha256.Sum256([]byte("value-0000000000000000009")), Enabled: true}})
		same(t, "west next", next, "")
		return nil
	})

	planKeys := func(region, plan string) []string {
		var ids []string
		view(t, s, region, func(tx store.Tx) error {
			var err error
			ids, err = tx.ListPlanKeyIDs(plan)
			wantErr(t, "ListPlanKeyIDs "+plan, err, nil)
			return nil
		})
		return ids
	}
	for _, tc := range []struct {
		name, region, plan string
		want               []string
	}{
		{"in id order", east, "p1", []string{"k1", "k2", "k3"}},
		{"one key", east, "p2", []string{"k3"}},
		{"unknown plan", east, "nope", nil},
		{"plan of another region", west, "p1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { same(t, "plan key ids", planKeys(tc.region, tc.plan), tc.want) })
	}
	update(t, s, east, func(tx store.Tx) error { return tx.DeleteApiKey("k1") })
	update(t, s, east, func(tx store.Tx) error { return tx.DeleteUsagePlanKey("p1", "k3") })
	same(t, "plan key ids after deletes", planKeys(east, "p1"), []string{"k2"})
	view(t, s, east, func(tx store.Tx) error {
		got, _, err := tx.ListKeyIndex(store.Page{}, "")
		wantErr(t, "ListKeyIndex after delete", err, nil)
		same(t, "key index after delete", got, all[:2])
		return nil
	})
}
