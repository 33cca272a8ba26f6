package control

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// collidingStore makes the first `collisions` key inserts of each transaction fail with
// ErrConflict (or, batched, be left out), as an id collision would (ids are random, so a real one cannot be provoked).
type collidingStore struct {
	store.Store
	collisions int
}

func (s *collidingStore) Update(ctx context.Context, region string, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, region, func(tx store.Tx) error {
		return fn(&collidingTx{Tx: tx, left: s.collisions})
	})
}

type collidingTx struct {
	store.Tx
	left int
}

func (t *collidingTx) PutApiKey(k *apigw.ApiKey) error {
	if k.Rev == 0 && t.left > 0 {
		t.left--
		return store.ErrConflict
	}
	return t.Tx.PutApiKey(k)
}

// PutApiKeys reports the batch's first keys as taken, as colliding ids would be, writing nothing
// of them.
func (t *collidingTx) PutApiKeys(keys []*apigw.ApiKey) ([]bool, error) {
	skip := min(t.left, len(keys))
	t.left -= skip
	inserted, err := t.Tx.PutApiKeys(keys[skip:])
	return append(make([]bool, skip), inserted...), err
}

func TestApiKeyIDCollisionRetries(t *testing.T) {
	tests := []struct {
		name       string
		collisions int
		wantErr    bool
	}{
		{"no collision", 0, false},
		{"two collisions", 2, false},
		{"persistent collisions give up", apiKeyIDAttempts + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/create", func(t *testing.T) {
			f := newKeyFixture(t)
			svc := New(&collidingStore{Store: f.st, collisions: tc.collisions}, f.svc.cfg, nil)
			svc.now = f.svc.now
			k, err := svc.CreateApiKey(context.Background(), keyTestRegion, CreateApiKeyInput{Name: "n", Value: valA})
			if tc.wantErr {
				if err == nil || apigw.KindOf(err) != apigw.KindInternal {
					t.Fatalf("err = %v, want an internal error", err)
				}
				return
			}
			if err != nil || f.byValue(valA).ID != k.ID {
				t.Fatalf("key %+v err %v", k, err)
			}
		})
		t.Run(tc.name+"/import", func(t *testing.T) {
			f := newKeyFixture(t)
			svc := New(&collidingStore{Store: f.st, collisions: tc.collisions}, f.svc.cfg, nil)
			svc.now = f.svc.now
			res, err := svc.ImportApiKeys(context.Background(), keyTestRegion, ImportApiKeysInput{Format: "csv",
				Body: []byte("Name,Key,UsagePlanIds\nn," + valA + ",pa\n")})
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil || len(res.IDs) != 1 || f.byValue(valA).ID != res.IDs[0] || len(f.plansOf(res.IDs[0])) != 1 {
				t.Fatalf("result %+v err %v", res, err)
			}
		})
	}
}
