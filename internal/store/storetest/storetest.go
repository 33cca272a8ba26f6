// Package storetest is the conformance suite every store.Store backend runs: the behaviour the
// control layer relies on (optimistic Rev, ErrNotFound/ErrConflict, region isolation, list order
// and paging, cascades, all-or-nothing Update, change notification), stated once so SQLite and
// PostgreSQL cannot drift apart.
//
// A backend's test calls Run with a function that opens an empty store (closed by t.Cleanup), and
// RunDurability with one that can also reopen it on the same data.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// Regions the suite writes to. Two, so every test can check that the other one sees nothing.
const (
	east = "us-east-1"
	west = "us-west-2"
)

// Opener returns a new, empty store; the opener arranges for it to be closed at test cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite, each subtest on a fresh store from open.
func Run(t *testing.T, open Opener) {
	groups := []struct {
		name string
		run  func(*testing.T, Opener)
	}{
		{"Account", testAccount},
		{"ApiKeys", testApiKeys},
		{"ApiKeyList", testApiKeyList},
		{"PutApiKeys", testPutApiKeys},
		{"UsagePlans", testUsagePlans},
		{"UsagePlanKeys", testUsagePlanKeys},
		{"KeyIndex", testKeyIndex},
		{"RestApis", testRestApis},
		{"Deployments", testDeployments},
		{"Stages", testStages},
		{"Cascades", testCascades},
		{"RegionIsolation", testRegionIsolation},
		{"Regions", testRegions},
		{"Paging", testPaging},
		{"Rollback", testRollback},
		{"Changes", testChanges},
		{"ChangeLog", testChangeLog},
		{"Concurrency", testConcurrency},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, open) })
	}
}

// ctx is the context of suite calls; backends must not need anything from it.
func ctx() context.Context { return context.Background() }

// update runs fn in an Update of region and fails the test on error.
func update(t *testing.T, s store.Store, region string, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(), region, fn); err != nil {
		t.Fatalf("Update(%s): %v", region, err)
	}
}

// view runs fn in a View of region and fails the test on error.
func view(t *testing.T, s store.Store, region string, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(ctx(), region, fn); err != nil {
		t.Fatalf("View(%s): %v", region, err)
	}
}

// wantErr fails unless err matches want (nil means "no error").
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// same fails unless got and want are deeply equal.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

// day is a fixed date so documents compare exactly after a round trip.
var day = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

// newKey returns an API key with every field set.
func newKey(id, value, name, customer string) *apigw.ApiKey {
	return &apigw.ApiKey{
		ID: id, Value: value, Name: name, CustomerID: customer,
		Description: "key " + id, Enabled: true,
		CreatedDate: day, LastUpdatedDate: day.Add(time.Hour),
		StageKeys: []string{"api1/prod"},
		Tags:      map[string]string{"team": "a"},
	}
}

// newPlan returns a usage plan with nested values set.
func newPlan(id, name string) *apigw.UsagePlan {
	return &apigw.UsagePlan{
		ID: id, Name: name, Description: "plan " + id,
		ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "prod",
			Throttle: map[string]apigw.Throttle{"/pets/GET": {BurstLimit: 5, RateLimit: 2.5}}}},
		Throttle:    &apigw.Throttle{BurstLimit: 10, RateLimit: 100.5},
		Quota:       &apigw.Quota{Limit: 1000, Offset: 1, Period: apigw.PeriodDay},
		QuotaSince:  day,
		Tags:        map[string]string{"k": "v"},
		CreatedDate: day,
	}
}

// newApi returns a REST API with a small resource tree whose maps distinguish nil from empty.
func newApi(id, name string) *apigw.RestApi {
	tmpl := "{}"
	return &apigw.RestApi{
		ID: id, Name: name, CreatedDate: day, ApiKeySource: apigw.ApiKeySourceHeader,
		EndpointConfiguration: apigw.EndpointConfiguration{Types: []string{"REGIONAL"}},
		RootResourceID:        id + "root",
		Resources: []*apigw.Resource{
			{ID: id + "root", Methods: map[string]*apigw.Method{"GET": {
				HTTPMethod: "GET", AuthorizationType: "NONE", ApiKeyRequired: true,
				RequestParameters: map[string]bool{},
				Integration: &apigw.Integration{Type: apigw.IntegrationMock, TimeoutInMillis: 29000,
					IntegrationResponses: map[string]*apigw.IntegrationResponse{"200": {
						StatusCode: "200", ResponseTemplates: map[string]*string{"application/json": &tmpl, "text/plain": nil},
					}}},
			}}},
			{ID: id + "pets", ParentID: id + "root", PathPart: "pets"},
		},
		Models: []string{"Empty", "Error"},
	}
}

// newDeployment returns a deployment of apiID.
func newDeployment(apiID, id string) *apigw.Deployment {
	return &apigw.Deployment{ID: id, ApiID: apiID, Description: "d " + id, CreatedDate: day,
		Resources: []*apigw.Resource{{ID: "r"}}, ApiKeySource: apigw.ApiKeySourceHeader}
}

// newStage returns a stage of apiID pointing at deploymentID.
func newStage(apiID, name, deploymentID string) *apigw.Stage {
	return &apigw.Stage{ApiID: apiID, StageName: name, DeploymentID: deploymentID,
		MethodSettings: map[string]apigw.MethodSetting{"*/*": {MetricsEnabled: true, ThrottlingRateLimit: 1.5}},
		Variables:      map[string]string{"a": "b"},
		CreatedDate:    day, LastUpdatedDate: day}
}

// keyIDs returns the ids of keys, in order.
func keyIDs(ks []*apigw.ApiKey) []string {
	out := []string{}
	for _, k := range ks {
		out = append(out, k.ID)
	}
	return out
}

// planIDs returns the ids of plans, in order.
func planIDs(ps []*apigw.UsagePlan) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// putKeys stores keys in one Update of region.
func putKeys(t *testing.T, s store.Store, region string, keys ...*apigw.ApiKey) {
	t.Helper()
	update(t, s, region, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.PutApiKey(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// putPlans stores plans in one Update of region.
func putPlans(t *testing.T, s store.Store, region string, plans ...*apigw.UsagePlan) {
	t.Helper()
	update(t, s, region, func(tx store.Tx) error {
		for _, p := range plans {
			if err := tx.PutUsagePlan(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// link adds keys to a plan, one Update each so the association order is the call order.
func link(t *testing.T, s store.Store, region, planID string, keyIDs ...string) {
	t.Helper()
	for _, k := range keyIDs {
		update(t, s, region, func(tx store.Tx) error {
			return tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: planID, KeyID: k, CreatedDate: day})
		})
	}
}

// putApi stores a REST API with deployments and stages (stage i points at deployment i).
func putApi(t *testing.T, s store.Store, region string, a *apigw.RestApi, deployments []string, stages []string) {
	t.Helper()
	update(t, s, region, func(tx store.Tx) error {
		if err := tx.PutRestApi(a); err != nil {
			return err
		}
		for _, d := range deployments {
			if err := tx.PutDeployment(newDeployment(a.ID, d)); err != nil {
				return err
			}
		}
		for i, st := range stages {
			if err := tx.PutStage(newStage(a.ID, st, deployments[i%len(deployments)])); err != nil {
				return err
			}
		}
		return nil
	})
}
