package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// lister lists one page of ids.
type lister func(tx store.Tx, p store.Page) ([]string, string, error)

// walk follows the cursors of list from the first page to the last, one View per page as clients
// do, and returns the ids in the order returned. It checks the paging contract on the way: a page
// that has a successor holds exactly limit items, only a first page may be empty, the last page
// returns cursor "", and no id comes twice.
func walk(t *testing.T, limit int, list lister, s store.Store, region string) []string {
	t.Helper()
	out := []string{}
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatalf("limit %d: cursor walk does not end", limit)
		}
		var ids []string
		var next string
		view(t, s, region, func(tx store.Tx) error {
			var err error
			ids, next, err = list(tx, store.Page{Cursor: cursor, Limit: limit})
			return err
		})
		if len(ids) > limit {
			t.Fatalf("limit %d: page %d has %d items", limit, page, len(ids))
		}
		if next != "" && len(ids) != limit {
			t.Fatalf("limit %d: page %d has %d items and a next page", limit, page, len(ids))
		}
		if len(ids) == 0 && page > 0 {
			t.Fatalf("limit %d: page %d is empty (the previous page should have ended the walk)", limit, page)
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("limit %d: %s returned twice", limit, id)
			}
			seen[id] = true
		}
		out = append(out, ids...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

func testPaging(t *testing.T, open Opener) {
	s := open(t)
	const n = 23
	var keys, plans, apis []string
	update(t, s, east, func(tx store.Tx) error {
		if err := tx.PutUsagePlan(newPlan("plan", "plan")); err != nil {
			return err
		}
		if err := tx.PutRestApi(newApi("api", "api")); err != nil {
			return err
		}
		for i := range n {
			id := fmt.Sprintf("id%02d", i)
			keys, plans, apis = append(keys, "k"+id), append(plans, "p"+id), append(apis, "a"+id)
			if err := tx.PutApiKey(newKey("k"+id, "value-"+id, "name", "")); err != nil {
				return err
			}
			if err := tx.PutUsagePlan(newPlan("p"+id, "plan")); err != nil {
				return err
			}
			if err := tx.PutRestApi(newApi("a"+id, "api")); err != nil {
				return err
			}
			if err := tx.PutDeployment(newDeployment("api", "d"+id)); err != nil {
				return err
			}
		}
		// Associate the keys in reverse creation order: the plan lists by association, newest first.
		for i := n - 1; i >= 0; i-- {
			if err := tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "plan", KeyID: keys[i], CreatedDate: day}); err != nil {
				return err
			}
		}
		return nil
	})
	deployments := make([]string, n)
	for i := range n {
		deployments[i] = fmt.Sprintf("did%02d", i)
	}
	reversed := func(ids []string) []string { r := slices.Clone(ids); slices.Reverse(r); return r }
	cases := []struct {
		name string
		list lister
		want []string
	}{
		{"ListApiKeys newest first", func(tx store.Tx, p store.Page) ([]string, string, error) {
			ks, next, err := tx.ListApiKeys(store.ApiKeyFilter{}, p)
			return keyIDs(ks), next, err
		}, reversed(keys)},
		{"ListUsagePlans newest first", func(tx store.Tx, p store.Page) ([]string, string, error) {
			ps, next, err := tx.ListUsagePlans("", p)
			return planIDs(ps), next, err
		}, append(reversed(plans), "plan")},
		{"ListUsagePlanKeys by association, newest first", func(tx store.Tx, p store.Page) ([]string, string, error) {
			ks, next, err := tx.ListUsagePlanKeys("plan", "", p)
			return keyIDs(ks), next, err
		}, keys},
		{"ListRestApis in creation order", func(tx store.Tx, p store.Page) ([]string, string, error) {
			as, next, err := tx.ListRestApis(p)
			ids := []string{}
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			return ids, next, err
		}, append([]string{"api"}, apis...)},
		{"ListDeployments in creation order", func(tx store.Tx, p store.Page) ([]string, string, error) {
			ds, next, err := tx.ListDeployments("api", p)
			ids := []string{}
			for _, d := range ds {
				ids = append(ids, d.ID)
			}
			return ids, next, err
		}, deployments},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 5, n - 1, n, n + 1, n + 2, 500} {
				same(t, fmt.Sprintf("limit %d", limit), walk(t, limit, tc.list, s, east), tc.want)
			}
			// The other region sees an empty first page with no cursor.
			same(t, "other region", walk(t, 5, tc.list, s, west), []string{})
		})
	}

	// Cursors stay valid across writes: deleting the item a cursor points at, or adding new
	// items, neither repeats nor skips the remaining old ones.
	t.Run("cursor survives writes", func(t *testing.T) {
		var first []*apigw.ApiKey
		var next string
		view(t, s, east, func(tx store.Tx) error {
			var err error
			first, next, err = tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Limit: 3})
			return err
		})
		update(t, s, east, func(tx store.Tx) error {
			if err := tx.DeleteApiKey(first[2].ID); err != nil {
				return err
			}
			return tx.PutApiKey(newKey("knew", "value-new", "name", ""))
		})
		var rest []*apigw.ApiKey
		view(t, s, east, func(tx store.Tx) error {
			var err error
			rest, _, err = tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Cursor: next, Limit: 100})
			return err
		})
		same(t, "rest", keyIDs(rest), reversed(keys)[3:])
	})
	t.Run("invalid cursor", func(t *testing.T) { testInvalidCursor(t, s) })
}

func testInvalidCursor(t *testing.T, s store.Store) {
	t.Helper()
	err := s.View(ctx(), east, func(tx store.Tx) error {
		_, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Cursor: "not a cursor", Limit: 1})
		return err
	})
	if err == nil {
		t.Errorf("ListApiKeys with a cursor the store never returned: no error")
	}
}
