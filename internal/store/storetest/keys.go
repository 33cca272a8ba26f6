package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func testAccount(t *testing.T, open Opener) {
	s := open(t)
	view(t, s, east, func(tx store.Tx) error {
		_, err := tx.GetAccount()
		wantErr(t, "GetAccount before any write", err, store.ErrNotFound)
		return nil
	})
	a := &apigw.Account{CloudwatchRoleArn: "arn:aws:iam::123456789012:role/cw", Features: []string{"UsagePlans"},
		ApiKeyVersion: "4", Throttle: apigw.Throttle{BurstLimit: 5000, RateLimit: 10000}}
	update(t, s, east, func(tx store.Tx) error { return tx.PutAccount(a) })
	if a.Rev != 1 {
		t.Fatalf("Rev after insert = %d, want 1", a.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetAccount()
		wantErr(t, "GetAccount", err, nil)
		same(t, "account", got, a)
		return nil
	})
	view(t, s, west, func(tx store.Tx) error {
		_, err := tx.GetAccount()
		wantErr(t, "GetAccount of the other region", err, store.ErrNotFound)
		return nil
	})
	a.CloudwatchRoleArn = ""
	update(t, s, east, func(tx store.Tx) error { return tx.PutAccount(a) })
	if a.Rev != 2 {
		t.Fatalf("Rev after update = %d, want 2", a.Rev)
	}
	for _, tc := range []struct {
		name string
		rev  int64
	}{{"insert over existing", 0}, {"stale rev", 1}, {"future rev", 3}} {
		err := s.Update(ctx(), east, func(tx store.Tx) error {
			return tx.PutAccount(&apigw.Account{ApiKeyVersion: "x", Rev: tc.rev})
		})
		wantErr(t, tc.name, err, store.ErrConflict)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetAccount()
		wantErr(t, "GetAccount after conflicts", err, nil)
		same(t, "account after conflicts", got, a)
		return nil
	})
}

func testApiKeys(t *testing.T, open Opener) {
	s := open(t)
	k1 := newKey("k1", "value-0000000000000000001", "alpha", "cust")
	putKeys(t, s, east, k1)
	if k1.Rev != 1 {
		t.Fatalf("Rev after insert = %d, want 1", k1.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetApiKey("k1")
		wantErr(t, "GetApiKey", err, nil)
		same(t, "GetApiKey", got, k1)
		got, err = tx.GetApiKeyByValue(k1.Value)
		wantErr(t, "GetApiKeyByValue", err, nil)
		same(t, "GetApiKeyByValue", got, k1)
		_, err = tx.GetApiKey("nope")
		wantErr(t, "GetApiKey missing", err, store.ErrNotFound)
		_, err = tx.GetApiKeyByValue("nope")
		wantErr(t, "GetApiKeyByValue missing", err, store.ErrNotFound)
		return nil
	})

	// Update by Rev; the new Rev is written back and a stale copy conflicts.
	stale := *k1
	k1.Name, k1.Enabled, k1.Tags = "renamed", false, nil
	putKeys(t, s, east, k1)
	if k1.Rev != 2 {
		t.Fatalf("Rev after update = %d, want 2", k1.Rev)
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetApiKey("k1")
		wantErr(t, "GetApiKey after update", err, nil)
		same(t, "updated key", got, k1)
		return nil
	})

	putKeys(t, s, east, newKey("k2", "value-0000000000000000002", "", ""))
	putKeys(t, s, west, newKey("kw", "value-0000000000000000002", "", "")) // values are unique per region only
	for _, tc := range []struct {
		name   string
		region string
		key    *apigw.ApiKey
	}{
		{"stale rev", east, &stale},
		{"rev of a missing key", east, func() *apigw.ApiKey { k := newKey("k9", "v9", "", ""); k.Rev = 1; return k }()},
		{"duplicate id", east, newKey("k1", "value-other", "", "")},
		{"duplicate id in another region", west, newKey("k1", "value-other", "", "")},
		{"duplicate value", east, newKey("k3", k1.Value, "", "")},
		{"update to a taken value", east, func() *apigw.ApiKey { k := *k1; k.Value = "value-0000000000000000002"; return &k }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := tc.key.Rev
			err := s.Update(ctx(), tc.region, func(tx store.Tx) error { return tx.PutApiKey(tc.key) })
			wantErr(t, "PutApiKey", err, store.ErrConflict)
			if tc.key.Rev != rev {
				t.Errorf("Rev changed on conflict: %d, want %d", tc.key.Rev, rev)
			}
		})
	}
	view(t, s, east, func(tx store.Tx) error {
		got, err := tx.GetApiKey("k1")
		wantErr(t, "GetApiKey after conflicts", err, nil)
		same(t, "key after conflicts", got, k1)
		return nil
	})

	update(t, s, east, func(tx store.Tx) error { return tx.DeleteApiKey("k1") })
	err := s.Update(ctx(), east, func(tx store.Tx) error { return tx.DeleteApiKey("k1") })
	wantErr(t, "DeleteApiKey twice", err, store.ErrNotFound)
	view(t, s, east, func(tx store.Tx) error {
		_, err := tx.GetApiKey("k1")
		wantErr(t, "GetApiKey after delete", err, store.ErrNotFound)
		_, err = tx.GetApiKeyByValue(k1.Value)
		wantErr(t, "GetApiKeyByValue after delete", err, store.ErrNotFound)
		return nil
	})
	// The id and the value are free again.
	putKeys(t, s, east, newKey("k1", k1.Value, "again", ""))
}

func testApiKeyList(t *testing.T, open Opener) {
	s := open(t)
	// Inserted in this order, so newest first is the reverse.
	putKeys(t, s, east,
		newKey("a", "va", "Alpha", "c1"),
		newKey("b", "vb", "alpha", "c2"),
		newKey("c", "vc", "", "c1"),
		newKey("d", "vd", "Al%pha", "c1"),
		newKey("e", "ve", "Al_x", ""),
		newKey("f", "vf", "Alphabet", "c2"),
	)
	putKeys(t, s, west, newKey("w", "vw", "Alpha", "c1"))
	for _, tc := range []struct {
		name string
		f    store.ApiKeyFilter
		want []string
	}{
		{"all", store.ApiKeyFilter{}, []string{"f", "e", "d", "c", "b", "a"}},
		{"prefix is case-sensitive", store.ApiKeyFilter{NamePrefix: "Al"}, []string{"f", "e", "d", "a"}},
		{"lower-case prefix", store.ApiKeyFilter{NamePrefix: "al"}, []string{"b"}},
		{"whole name", store.ApiKeyFilter{NamePrefix: "Alpha"}, []string{"f", "a"}},
		{"percent is literal", store.ApiKeyFilter{NamePrefix: "Al%"}, []string{"d"}},
		{"underscore is literal", store.ApiKeyFilter{NamePrefix: "Al_"}, []string{"e"}},
		{"longer than any name", store.ApiKeyFilter{NamePrefix: "Alphabetical"}, []string{}},
		{"customer", store.ApiKeyFilter{CustomerID: "c1"}, []string{"d", "c", "a"}},
		{"customer and prefix", store.ApiKeyFilter{NamePrefix: "Alpha", CustomerID: "c2"}, []string{"f"}},
		{"unknown customer", store.ApiKeyFilter{CustomerID: "c"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			view(t, s, east, func(tx store.Tx) error {
				ks, next, err := tx.ListApiKeys(tc.f, store.Page{Limit: 100})
				wantErr(t, "ListApiKeys", err, nil)
				same(t, "ids", keyIDs(ks), tc.want)
				same(t, "next", next, "")
				return nil
			})
			for _, limit := range []int{1, 2, 4} {
				got := walk(t, limit, func(tx store.Tx, p store.Page) ([]string, string, error) {
					ks, next, err := tx.ListApiKeys(tc.f, p)
					return keyIDs(ks), next, err
				}, s, east)
				same(t, "paged ids", got, tc.want)
			}
		})
	}
	view(t, s, east, func(tx store.Tx) error {
		ks, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Limit: 10})
		wantErr(t, "ListApiKeys", err, nil)
		if len(ks) > 0 && ks[len(ks)-1].Rev != 1 {
			t.Errorf("listed key Rev = %d, want 1", ks[len(ks)-1].Rev)
		}
		if len(ks) > 0 {
			same(t, "listed key", ks[len(ks)-1], newKeyStored("a", "va", "Alpha", "c1"))
		}
		return nil
	})
}

// newKeyStored is newKey as read back after one insert.
func newKeyStored(id, value, name, customer string) *apigw.ApiKey {
	k := newKey(id, value, name, customer)
	k.Rev = 1
	return k
}

// testPutApiKeys: the batched insert an import uses writes exactly what PutApiKey would, key by
// key, across statement boundaries, and leaves out (reporting it) a key whose id or value is
// taken, in the store or earlier in the same batch.
func testPutApiKeys(t *testing.T, open Opener) {
	s := open(t)
	update(t, s, east, func(tx store.Tx) error { return tx.PutApiKey(newKey("old", "value-old-000000000000", "old", "")) })
	var keys []*apigw.ApiKey
	for i := range 600 {
		keys = append(keys, newKey(fmt.Sprintf("b%03d", i), fmt.Sprintf("value-batch-%04d-00000000", i), fmt.Sprint("n", i), ""))
	}
	keys[10] = newKey("old", "value-fresh-0000000000", "", "")      // the id is taken
	keys[300] = newKey("x300", "value-old-000000000000", "", "")    // the value is taken
	keys[500] = newKey("x500", "value-batch-0400-00000000", "", "") // the value of an earlier key of the batch
	var inserted []bool
	update(t, s, east, func(tx store.Tx) error {
		var err error
		inserted, err = tx.PutApiKeys(keys)
		return err
	})
	for i, k := range keys {
		want := i != 10 && i != 300 && i != 500
		if inserted[i] != want {
			t.Errorf("key %d (%s): inserted %v, want %v", i, k.ID, inserted[i], want)
		}
	}
	view(t, s, east, func(tx store.Tx) error {
		for _, i := range []int{0, 255, 256, 599} {
			got, err := tx.GetApiKey(keys[i].ID)
			wantErr(t, "GetApiKey", err, nil)
			if got.Value != keys[i].Value || got.Name != keys[i].Name || got.Rev != 1 || keys[i].Rev != 1 {
				t.Errorf("key %d: stored %+v", i, got)
			}
			byValue, err := tx.GetApiKeyByValue(keys[i].Value)
			wantErr(t, "GetApiKeyByValue", err, nil)
			same(t, "key by value", byValue.ID, keys[i].ID)
		}
		old, err := tx.GetApiKey("old")
		wantErr(t, "GetApiKey old", err, nil)
		same(t, "the key whose id was taken keeps its value", old.Value, "value-old-000000000000")
		for _, id := range []string{"x300", "x500"} {
			_, err := tx.GetApiKey(id)
			wantErr(t, "GetApiKey "+id, err, store.ErrNotFound)
		}
		idx, _, err := tx.ListKeyIndex(store.Page{}, "")
		wantErr(t, "ListKeyIndex", err, nil)
		same(t, "keys in the index", len(idx), 598)
		return nil
	})

	// Plan keys: several to a statement; existing pairs stay; a missing key writes nothing.
	update(t, s, east, func(tx store.Tx) error {
		if err := tx.PutUsagePlan(newPlan("p1", "plan")); err != nil {
			return err
		}
		return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: "b000"})
	})
	var pks []*apigw.UsagePlanKey
	for i := range 400 {
		pks = append(pks, &apigw.UsagePlanKey{PlanID: "p1", KeyID: fmt.Sprintf("b%03d", i)})
	}
	pks = slices.DeleteFunc(pks, func(k *apigw.UsagePlanKey) bool { return k.KeyID == "b010" || k.KeyID == "b300" })
	update(t, s, east, func(tx store.Tx) error { return tx.PutUsagePlanKeys(pks) })
	wantErr(t, "PutUsagePlanKeys with a missing key", s.Update(ctx(), east, func(tx store.Tx) error {
		return tx.PutUsagePlanKeys([]*apigw.UsagePlanKey{{PlanID: "p1", KeyID: "b450"}, {PlanID: "p1", KeyID: "nope"}})
	}), store.ErrNotFound)
	view(t, s, east, func(tx store.Tx) error {
		ids, err := tx.ListPlanKeyIDs("p1")
		wantErr(t, "ListPlanKeyIDs", err, nil)
		same(t, "plan keys", len(ids), 398)
		_, err = tx.GetUsagePlanKey("p1", "b450")
		wantErr(t, "the plan key of a failed batch", err, store.ErrNotFound)
		return nil
	})

	// A batch without a collision (PostgreSQL's COPY path): every row in, listed in batch order,
	// and the values as unique as any others.
	var fresh []*apigw.ApiKey
	for i := range 300 {
		fresh = append(fresh, newKey(fmt.Sprintf("c%03d", i), fmt.Sprintf("value-clean-%04d-00000000", i), fmt.Sprint("c", i), "cust"))
	}
	update(t, s, east, func(tx store.Tx) error {
		inserted, err := tx.PutApiKeys(fresh)
		if err == nil && slices.Contains(inserted, false) {
			t.Errorf("a batch without collisions: inserted %v", inserted)
		}
		if err != nil {
			return err
		}
		pks := make([]*apigw.UsagePlanKey, len(fresh))
		for i, k := range fresh {
			pks[i] = &apigw.UsagePlanKey{PlanID: "p1", KeyID: k.ID}
		}
		return tx.PutUsagePlanKeys(pks)
	})
	wantErr(t, "PutApiKey with a copied key's value", s.Update(ctx(), east, func(tx store.Tx) error {
		return tx.PutApiKey(newKey("dup", fresh[7].Value, "", ""))
	}), store.ErrConflict)
	view(t, s, east, func(tx store.Tx) error {
		ks, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Limit: 3})
		wantErr(t, "ListApiKeys", err, nil)
		same(t, "newest keys", keyIDs(ks), []string{"c299", "c298", "c297"})
		got, err := tx.GetApiKeyByValue(fresh[42].Value)
		wantErr(t, "GetApiKeyByValue", err, nil)
		if got.ID != "c042" || got.Name != "c42" || got.CustomerID != "cust" || got.Rev != 1 || fresh[42].Rev != 1 {
			t.Errorf("a copied key: stored %+v", got)
		}
		ids, err := tx.ListPlanKeyIDs("p1")
		wantErr(t, "ListPlanKeyIDs", err, nil)
		same(t, "plan keys after a clean batch", len(ids), 698)
		pk, _, err := tx.ListUsagePlanKeys("p1", "", store.Page{Limit: 1})
		wantErr(t, "ListUsagePlanKeys", err, nil)
		if len(pk) != 1 || pk[0].ID != "c299" {
			t.Errorf("plan's first key in list order: %+v, want c299", pk)
		}
		return nil
	})
}
