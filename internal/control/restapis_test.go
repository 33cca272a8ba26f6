package control

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

const rtRegion = "us-east-1"

var rtNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newRTService(t *testing.T) (*Service, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "rt.db"), storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, Config{AccountID: "123456789012"}, func() time.Time { return rtNow }), st
}

func rtName(s string) *string { return &s }

// DeleteRestApi removes the API's stages from every usage plan in the same transaction, and
// leaves other APIs' stages and plans without the API alone.
func TestDeleteRestApiLeavesUsagePlans(t *testing.T) {
	svc, st := newRTService(t)
	ctx := context.Background()
	a, err := svc.CreateRestApi(ctx, rtRegion, CreateRestApiInput{Name: rtName("gone")})
	if err != nil {
		t.Fatal(err)
	}
	// Enough plans to need several ListUsagePlans pages (the store pages at 500).
	const plans = 503
	err = st.Update(ctx, rtRegion, func(tx store.Tx) error {
		for i := range plans {
			p := &apigw.UsagePlan{ID: "p" + string(rune('a'+i%26)) + apigw.NewID(5), Name: "p",
				ApiStages: []apigw.ApiStage{{ApiID: "other", Stage: "dev"}}}
			if i%2 == 0 {
				p.ApiStages = append(p.ApiStages, apigw.ApiStage{ApiID: a.ID, Stage: "prod", Throttle: map[string]apigw.Throttle{"/GET": {BurstLimit: 1}}})
			}
			if err := tx.PutUsagePlan(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteRestApi(ctx, rtRegion, a.ID); err != nil {
		t.Fatal(err)
	}
	err = st.View(ctx, rtRegion, func(tx store.Tx) error {
		if _, err := tx.GetRestApi(a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("API still stored: %v", err)
		}
		n := 0
		cursor := ""
		for {
			ps, next, err := tx.ListUsagePlans("", store.Page{Cursor: cursor, Limit: 100})
			if err != nil {
				return err
			}
			for _, p := range ps {
				n++
				if want := []apigw.ApiStage{{ApiID: "other", Stage: "dev"}}; !reflect.DeepEqual(p.ApiStages, want) {
					t.Fatalf("plan %s stages %+v, want %+v", p.ID, p.ApiStages, want)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if n != plans {
			t.Errorf("%d plans, want %d", n, plans)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCreateRestApiStoresDefaults(t *testing.T) {
	svc, _ := newRTService(t)
	ctx := context.Background()
	a, err := svc.CreateRestApi(ctx, rtRegion, CreateRestApiInput{Name: rtName("x")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.GetRestApi(ctx, rtRegion, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ID) != apigw.RestApiIDLen || len(got.RootResourceID) != apigw.RootResourceIDLen {
		t.Errorf("ids %q / %q", got.ID, got.RootResourceID)
	}
	if len(got.Resources) != 1 || got.Resources[0].ID != got.RootResourceID || got.Resources[0].ParentID != "" {
		t.Errorf("resources %+v", got.Resources)
	}
	if !reflect.DeepEqual(got.Models, []string{"Empty", "Error"}) {
		t.Errorf("models %v", got.Models)
	}
	if _, err := svc.GetRestApi(ctx, "eu-west-1", a.ID); apigw.KindOf(err) != apigw.KindNotFound {
		t.Errorf("API visible from another region: %v", err)
	}
}

// TestResourcePolicyRefused: Tollgate does not evaluate resource policies, so it refuses to store
// one — by CreateRestApi and by import — rather than keep a setting it would ignore.
func TestResourcePolicyRefused(t *testing.T) {
	svc, _ := newRTService(t)
	ctx := context.Background()
	if _, err := svc.CreateRestApi(ctx, rtRegion, CreateRestApiInput{Name: rtName("x"), Policy: `{"Version":"2012-10-17"}`}); apigw.KindOf(err) != apigw.KindBadRequest {
		t.Fatalf("CreateRestApi with a policy: %v", err)
	}
	doc := `{"openapi":"3.0.1","info":{"title":"p","version":"1"},"paths":{},"x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[]}}`
	if _, _, err := svc.ImportRestApi(ctx, rtRegion, ImportInput{Body: []byte(doc)}); apigw.KindOf(err) != apigw.KindBadRequest {
		t.Fatalf("ImportRestApi with a policy: %v", err)
	}
	apis, err := svc.GetRestApis(ctx, rtRegion, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(apis.Items) != 0 {
		t.Fatalf("%d APIs were created", len(apis.Items))
	}
}
