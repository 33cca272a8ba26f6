package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// Reopener opens a new, empty store and returns it with a function that closes it and opens the
// same data again (the opener arranges for the last store to be closed at test cleanup).
type Reopener func(t *testing.T) (s store.Store, reopen func() store.Store)

// RunDurability checks that what Update committed survives closing and reopening the store, and
// that ordering continues where it stopped (new items list as newest, sequences do not restart).
func RunDurability(t *testing.T, open Reopener) {
	s, reopen := open(t)
	k := newKey("k1", "v1", "n", "")
	p := newPlan("p1", "")
	a := newApi("a1", "")
	acct := &apigw.Account{ApiKeyVersion: "4"}
	update(t, s, east, func(tx store.Tx) error {
		for _, err := range []error{tx.PutApiKey(k), tx.PutUsagePlan(p), tx.PutRestApi(a), tx.PutAccount(acct),
			tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: "p1", KeyID: "k1", CreatedDate: day}),
			tx.PutDeployment(newDeployment("a1", "d1")), tx.PutStage(newStage("a1", "prod", "d1"))} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	seq, _, err := s.Changes(ctx())
	wantErr(t, "Changes", err, nil)

	s = reopen()
	view(t, s, east, func(tx store.Tx) error {
		gotK, err := tx.GetApiKey("k1")
		wantErr(t, "GetApiKey", err, nil)
		same(t, "key", gotK, k)
		gotP, err := tx.GetUsagePlan("p1")
		wantErr(t, "GetUsagePlan", err, nil)
		same(t, "plan", gotP, p)
		gotA, err := tx.GetRestApi("a1")
		wantErr(t, "GetRestApi", err, nil)
		same(t, "api", gotA, a)
		gotAcct, err := tx.GetAccount()
		wantErr(t, "GetAccount", err, nil)
		same(t, "account", gotAcct, acct)
		_, err = tx.GetUsagePlanKey("p1", "k1")
		wantErr(t, "GetUsagePlanKey", err, nil)
		_, err = tx.GetDeployment("a1", "d1")
		wantErr(t, "GetDeployment", err, nil)
		_, err = tx.GetStage("a1", "prod")
		wantErr(t, "GetStage", err, nil)
		return nil
	})
	seq2, _, err := s.Changes(ctx())
	wantErr(t, "Changes", err, nil)
	if seq2 < seq {
		t.Errorf("change sequence went back from %d to %d over a reopen", seq, seq2)
	}
	putKeys(t, s, east, newKey("k2", "v2", "", ""))
	putPlans(t, s, east, newPlan("p2", ""))
	update(t, s, east, func(tx store.Tx) error { return tx.PutRestApi(newApi("a2", "")) })
	view(t, s, east, func(tx store.Tx) error {
		ks, _, err := tx.ListApiKeys(store.ApiKeyFilter{}, store.Page{Limit: 10})
		wantErr(t, "ListApiKeys", err, nil)
		same(t, "keys after reopen, newest first", keyIDs(ks), []string{"k2", "k1"})
		ps, _, err := tx.ListUsagePlans("", store.Page{Limit: 10})
		wantErr(t, "ListUsagePlans", err, nil)
		same(t, "plans after reopen, newest first", planIDs(ps), []string{"p2", "p1"})
		as, _, err := tx.ListRestApis(store.Page{Limit: 10})
		wantErr(t, "ListRestApis", err, nil)
		if len(as) != 2 || as[0].ID != "a1" || as[1].ID != "a2" {
			t.Errorf("apis after reopen: %d, want a1 then a2", len(as))
		}
		return nil
	})
	seq3, _, err := s.Changes(ctx())
	wantErr(t, "Changes", err, nil)
	if seq3 <= seq2 {
		t.Errorf("change sequence after commits = %d, want > %d", seq3, seq2)
	}
}
