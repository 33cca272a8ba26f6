package control

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

const deployRegion = "us-east-1"

// deployFixture is a Service over a fresh SQLite store, for the deployment, stage and tag use
// cases. REST APIs are stored directly (their own use cases are tested elsewhere).
type deployFixture struct {
	t   *testing.T
	ctx context.Context
	svc *Service
	st  store.Store
	now time.Time
}

func newDeployFixture(t *testing.T) *deployFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "deploy.db"), storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &deployFixture{t: t, ctx: context.Background(), st: st, now: time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)}
	f.svc = New(st, Config{AccountID: "123456789012", AccountThrottle: apigw.Throttle{BurstLimit: 5000, RateLimit: 10000}},
		func() time.Time { return f.now })
	return f
}

// fixtureAPI is a REST API with a root and /pets; methods maps a resource id ("root", "pets") to
// its verbs, each with a MOCK integration unless the verb is in bare.
func fixtureAPI(id string, methods map[string][]string, bare ...string) *apigw.RestApi {
	api := &apigw.RestApi{
		ID: id, Name: id, ApiKeySource: apigw.ApiKeySourceHeader, RootResourceID: "root",
		Resources: []*apigw.Resource{{ID: "root"}, {ID: "pets", ParentID: "root", PathPart: "pets"}},
	}
	for _, r := range api.Resources {
		for _, verb := range methods[r.ID] {
			if r.Methods == nil {
				r.Methods = map[string]*apigw.Method{}
			}
			m := &apigw.Method{HTTPMethod: verb, AuthorizationType: "NONE", ApiKeyRequired: verb == "POST"}
			isBare := false
			for _, b := range bare {
				isBare = isBare || b == verb
			}
			if !isBare {
				m.Integration = &apigw.Integration{Type: apigw.IntegrationMock, TimeoutInMillis: 29000}
			}
			r.Methods[verb] = m
		}
	}
	return api
}

func (f *deployFixture) putAPI(api *apigw.RestApi) {
	f.t.Helper()
	if err := f.st.Update(f.ctx, deployRegion, func(tx store.Tx) error { return tx.PutRestApi(api) }); err != nil {
		f.t.Fatal(err)
	}
}

// deployed stores api1 (GET /pets) and deploys it to stage "dev".
func (f *deployFixture) deployed() *apigw.Deployment {
	f.t.Helper()
	f.putAPI(fixtureAPI("api1", map[string][]string{"pets": {"GET"}}))
	d, err := f.svc.CreateDeployment(f.ctx, deployRegion, "api1", CreateDeploymentInput{StageName: strPtr("dev")})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }

// wantAPIError asserts an *apigw.Error of the given kind and exact message (nil kind/message:
// no error).
func wantAPIError(t *testing.T, err error, kind apigw.Kind, msg string) {
	t.Helper()
	if msg == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var e *apigw.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want %v %q", err, err, kind, msg)
	}
	if e.Kind != kind || e.Message != msg {
		t.Fatalf("got %v %q, want %v %q", e.Kind, e.Message, kind, msg)
	}
}

func TestCreateDeploymentRules(t *testing.T) {
	tests := []struct {
		name    string
		api     *apigw.RestApi
		in      CreateDeploymentInput
		kind    apigw.Kind
		wantMsg string
	}{
		{"no methods", fixtureAPI("api1", nil), CreateDeploymentInput{}, apigw.KindBadRequest, "The REST API doesn't contain any methods"},
		{"method without integration", fixtureAPI("api1", map[string][]string{"root": {"GET"}, "pets": {"POST"}}, "POST"),
			CreateDeploymentInput{}, apigw.KindBadRequest, "No integration defined for method"},
		{"unknown api", nil, CreateDeploymentInput{}, apigw.KindNotFound, "Invalid API identifier specified 123456789012:api1"},
		{"bad stage name", fixtureAPI("api1", map[string][]string{"root": {"GET"}}), CreateDeploymentInput{StageName: strPtr("dev.1")},
			apigw.KindBadRequest, "Stage name only allows a-zA-Z0-9_-"},
		{"stage name too long", fixtureAPI("api1", map[string][]string{"root": {"GET"}}), CreateDeploymentInput{StageName: strPtr(string(make([]byte, 129)))},
			apigw.KindBadRequest, "Stage name only allows a-zA-Z0-9_-"},
		{"canary without stage", fixtureAPI("api1", map[string][]string{"root": {"GET"}}), CreateDeploymentInput{CanarySettings: &DeploymentCanarySettings{}},
			apigw.KindBadRequest, "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is null"},
		{"canary with empty stage", fixtureAPI("api1", map[string][]string{"root": {"GET"}}), CreateDeploymentInput{StageName: strPtr(""), CanarySettings: &DeploymentCanarySettings{}},
			apigw.KindBadRequest, "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is "},
		{"canary for missing stage", fixtureAPI("api1", map[string][]string{"root": {"GET"}}), CreateDeploymentInput{StageName: strPtr("prod"), CanarySettings: &DeploymentCanarySettings{}},
			apigw.KindBadRequest, "Invalid deployment content specified.Stage prod must already be created before making a canary release deployment"},
		{"bad cache size", fixtureAPI("api1", map[string][]string{"root": {"GET"}}), CreateDeploymentInput{CacheClusterSize: strPtr("2")},
			apigw.KindValidation, "1 validation error detected: Value '2' at 'createDeploymentInput.cacheClusterSize' failed to satisfy constraint: Member must satisfy enum value set: [0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237]"},
		{"ok without stage", fixtureAPI("api1", map[string][]string{"root": {"GET"}}), CreateDeploymentInput{Description: "first"}, 0, ""},
		{"ok with hyphenated stage", fixtureAPI("api1", map[string][]string{"pets": {"GET", "POST"}}), CreateDeploymentInput{StageName: strPtr("my-stage_1")}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDeployFixture(t)
			if tt.api != nil {
				f.putAPI(tt.api)
			}
			d, err := f.svc.CreateDeployment(f.ctx, deployRegion, "api1", tt.in)
			wantAPIError(t, err, tt.kind, tt.wantMsg)
			ds, lerr := f.svc.GetDeployments(f.ctx, deployRegion, "api1", "", 25)
			if tt.wantMsg != "" {
				// All or nothing: a refused deployment leaves no deployment and no stage behind.
				if lerr == nil && len(ds.Items) != 0 {
					t.Fatalf("refused deployment was stored: %+v", ds.Items)
				}
				return
			}
			if len(d.ID) != apigw.DeploymentIDLen || d.Description != tt.in.Description || !d.CreatedDate.Equal(f.now) {
				t.Fatalf("deployment = %+v", d)
			}
			if tt.in.StageName != nil {
				st, err := f.svc.GetStage(f.ctx, deployRegion, "api1", *tt.in.StageName)
				if err != nil || st.DeploymentID != d.ID {
					t.Fatalf("stage %+v, %v; want pointing at %s", st, err, d.ID)
				}
			}
		})
	}
}

// TestDeploymentFreezesAPI checks that a deployment keeps the tree and apiKeySource of its
// moment while the live API changes (addendum §8.1).
func TestDeploymentFreezesAPI(t *testing.T) {
	f := newDeployFixture(t)
	d := f.deployed()
	err := f.st.Update(f.ctx, deployRegion, func(tx store.Tx) error {
		api, err := tx.GetRestApi("api1")
		if err != nil {
			return err
		}
		api.ApiKeySource = apigw.ApiKeySourceAuthorizer
		api.Resources[1].Methods["GET"].Integration.Type = apigw.IntegrationHTTP
		api.Resources[1].Methods["DELETE"] = &apigw.Method{HTTPMethod: "DELETE", AuthorizationType: "NONE"}
		return tx.PutRestApi(api)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.GetDeployment(f.ctx, deployRegion, "api1", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := fixtureAPI("api1", map[string][]string{"pets": {"GET"}}).Resources
	if !reflect.DeepEqual(got.Resources, want) || got.ApiKeySource != apigw.ApiKeySourceHeader {
		t.Fatalf("deployment changed with the live API: %+v %s", got.Resources[1].Methods, got.ApiKeySource)
	}
}

// TestCreateDeploymentRepointsStage: an existing stage gets the new deployment; variables are
// merged (Terraform's empty map wipes nothing); sent members are applied.
func TestCreateDeploymentRepointsStage(t *testing.T) {
	f := newDeployFixture(t)
	first := f.deployed()
	if _, err := f.svc.UpdateStage(f.ctx, deployRegion, "api1", "dev", []patch.Op{stageOp("replace", "/variables/a", "1")}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	second, err := f.svc.CreateDeployment(f.ctx, deployRegion, "api1", CreateDeploymentInput{
		StageName: strPtr("dev"), StageDescription: strPtr("second"), Variables: map[string]string{},
		CacheClusterEnabled: boolPtr(true), TracingEnabled: boolPtr(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.GetStage(f.ctx, deployRegion, "api1", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if st.DeploymentID != second.ID || st.Description != "second" || st.Variables["a"] != "1" ||
		!st.CacheClusterEnabled || st.CacheClusterSize != "0.5" || !st.TracingEnabled || !st.LastUpdatedDate.Equal(f.now) {
		t.Fatalf("stage after redeploy = %+v", st)
	}
	// The first deployment is no longer referenced and can go; the second cannot.
	wantAPIError(t, f.svc.DeleteDeployment(f.ctx, deployRegion, "api1", first.ID), 0, "")
	wantAPIError(t, f.svc.DeleteDeployment(f.ctx, deployRegion, "api1", second.ID), apigw.KindBadRequest,
		"Active stages pointing to this deployment must be moved or deleted")
	wantAPIError(t, f.svc.DeleteDeployment(f.ctx, deployRegion, "api1", first.ID), apigw.KindNotFound,
		"Invalid Deployment identifier specified")
	// Once the stage is gone, its deployment can be deleted.
	wantAPIError(t, f.svc.DeleteStage(f.ctx, deployRegion, "api1", "dev"), 0, "")
	wantAPIError(t, f.svc.DeleteDeployment(f.ctx, deployRegion, "api1", second.ID), 0, "")
}
