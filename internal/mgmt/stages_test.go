package mgmt

import (
	"net/http"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

func TestStagesAPI(t *testing.T) {
	h := newDeployHarness(t)
	const base = "/restapis/a1b2c3d4e5/stages"
	h.ids["{dep1}"] = h.mustCreateDeployment(`{"stageName":"dev"}`)
	h.ids["{dep2}"] = h.mustCreateDeployment(`{}`)
	h.now = fixedNow.Add(time.Hour)
	patchBody := func(ops string) string { return `{"patchOperations":[` + ops + `]}` }
	steps := []apiStep{
		{name: "create", method: http.MethodPost, path: base, status: 201, body: `{"stageName":"s1","deploymentId":"{dep2}","description":"my stage",
			"documentationVersion":"v123","variables":{"color":"blue"},"tags":{"team":"a"},"tracingEnabled":true}`},
		{name: "create_exists", method: http.MethodPost, path: base, body: `{"stageName":"dev","deploymentId":"{dep1}"}`, status: 409, errType: "ConflictException"},
		{name: "create_unknown_deployment", method: http.MethodPost, path: base, body: `{"stageName":"s2","deploymentId":"zzzzzz"}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_bad_name", method: http.MethodPost, path: base, body: `{"stageName":"s/2","deploymentId":"{dep1}"}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_unknown_api", method: http.MethodPost, path: "/restapis/nosuchapi1/stages", body: `{"stageName":"s2","deploymentId":"{dep1}"}`,
			status: 404, errType: "NotFoundException"},
		{name: "create_cache_enabled", method: http.MethodPost, path: base, body: `{"stageName":"cached","deploymentId":"{dep1}","cacheClusterEnabled":true}`, status: 201},
		// The stage CreateDeployment made: no tags member at all.
		{name: "get_from_deployment", method: http.MethodGet, path: base + "/dev", status: 200},
		{name: "get", method: http.MethodGet, path: base + "/s1", status: 200},
		{name: "get_unknown", method: http.MethodGet, path: base + "/nosuch", status: 404, errType: "NotFoundException"},
		{name: "list", method: http.MethodGet, path: base, status: 200},
		{name: "list_by_deployment", method: http.MethodGet, path: base + "?deploymentId={dep2}", status: 200},
		{name: "list_no_stages", method: http.MethodGet, path: "/restapis/emptyapi01/stages", status: 200},
		{name: "list_unknown_api", method: http.MethodGet, path: "/restapis/nosuchapi1/stages", status: 404, errType: "NotFoundException"},
		{name: "update_wildcard_throttle", method: http.MethodPatch, path: base + "/dev", status: 200, body: patchBody(
			`{"op":"replace","path":"/*/*/throttling/rateLimit","value":"100"},{"op":"replace","path":"/*/*/caching/enabled","value":"true"}`)},
		{name: "update_method_setting", method: http.MethodPatch, path: base + "/dev", status: 200, body: patchBody(
			`{"op":"replace","path":"/~1pets/GET/throttling/burstLimit","value":"7"},{"op":"replace","path":"/~1pets/GET/logging/loglevel","value":"ERROR"}`)},
		{name: "update_stage_fields", method: http.MethodPatch, path: base + "/dev", status: 200, body: patchBody(
			`{"op":"replace","path":"/description","value":"dev stage"},{"op":"replace","path":"/variables/url","value":"example.com"},` +
				`{"op":"replace","path":"/accessLogSettings/destinationArn","value":"arn:aws:logs:us-east-1:123456789012:log-group:g"},` +
				`{"op":"replace","path":"/accessLogSettings/format","value":"$context.requestId"},{"op":"replace","path":"/cacheClusterEnabled","value":"true"},` +
				`{"op":"replace","path":"/tracingEnabled","value":"true"},{"op":"replace","path":"/clientCertificateId","value":"cert01"},` +
				`{"op":"replace","path":"/deploymentId","value":"{dep2}"}`)},
		{name: "update_remove", method: http.MethodPatch, path: base + "/dev", status: 200, body: patchBody(
			`{"op":"remove","path":"/*/*"},{"op":"remove","path":"/variables/url"},{"op":"remove","path":"/accessLogSettings"},` +
				`{"op":"replace","path":"/cacheClusterEnabled","value":"false"},{"op":"remove","path":"/canarySettings"}`)},
		{name: "update_remove_absent", method: http.MethodPatch, path: base + "/dev", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"remove","path":"/*/*"}`)},
		{name: "update_bad_path", method: http.MethodPatch, path: base + "/dev", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"replace","path":"/documentation_version","value":"x"}`)},
		{name: "update_canary_add", method: http.MethodPatch, path: base + "/dev", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"add","path":"/canarySettings/deploymentId","value":"{dep1}"}`)},
		{name: "update_unknown_deployment", method: http.MethodPatch, path: base + "/dev", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"replace","path":"/deploymentId","value":"zzzzzz"}`)},
		{name: "update_bad_op", method: http.MethodPatch, path: base + "/dev", status: 400, errType: "ValidationException",
			body: patchBody(`{"op":"delete","path":"/description"}`)},
		{name: "update_unknown", method: http.MethodPatch, path: base + "/nosuch", status: 404, errType: "NotFoundException", body: patchBody("")},
		{name: "delete", method: http.MethodDelete, path: base + "/s1", status: 202},
		{name: "delete_unknown", method: http.MethodDelete, path: base + "/s1", status: 404, errType: "NotFoundException"},
		// dep1 is still in use: the "cached" stage points at it.
		{method: http.MethodDelete, path: "/restapis/a1b2c3d4e5/deployments/{dep1}", status: 400, errType: "BadRequestException"},
	}
	h.run(t, "stages", steps)
}

// TestDeleteStageDetachesFromPlans checks the usage plan side of DeleteStage through the wire.
func TestDeleteStageDetachesFromPlans(t *testing.T) {
	h := newDeployHarness(t)
	h.mustCreateDeployment(`{"stageName":"dev"}`)
	h.mustCreateDeployment(`{"stageName":"prod"}`)
	h.put(func(tx store.Tx) error {
		return tx.PutUsagePlan(&apigw.UsagePlan{ID: "plan01", Name: "gold", CreatedDate: fixedNow,
			Throttle: &apigw.Throttle{BurstLimit: 10, RateLimit: 5},
			ApiStages: []apigw.ApiStage{
				{ApiID: "a1b2c3d4e5", Stage: "dev", Throttle: map[string]apigw.Throttle{"/pets/GET": {BurstLimit: 1, RateLimit: 1}}},
				{ApiID: "a1b2c3d4e5", Stage: "prod"},
			}})
	})
	if r := h.do(http.MethodDelete, "/restapis/a1b2c3d4e5/stages/dev", ""); r.Status != http.StatusAccepted {
		t.Fatalf("DeleteStage: %d %s", r.Status, r.Body)
	}
	var plan *apigw.UsagePlan
	h.put(func(tx store.Tx) (err error) { plan, err = tx.GetUsagePlan("plan01"); return err })
	if len(plan.ApiStages) != 1 || plan.ApiStages[0].Stage != "prod" {
		t.Fatalf("plan stages after DeleteStage = %+v", plan.ApiStages)
	}
}

// mustCreateDeployment deploys the pets API and returns the deployment id.
func (h *deployHarness) mustCreateDeployment(body string) string {
	h.t.Helper()
	r := h.do(http.MethodPost, "/restapis/a1b2c3d4e5/deployments", body)
	if r.Status != http.StatusCreated {
		h.t.Fatalf("CreateDeployment: %d %s", r.Status, r.Body)
	}
	return jsonID(h.t, r.Body)
}
