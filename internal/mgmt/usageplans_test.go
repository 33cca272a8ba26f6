package mgmt

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// planHarness is newHarness with the store at hand: usage plan tests store REST APIs, stages and
// API keys directly, independent of those resources' handlers. ids maps placeholders ("{p1}")
// to generated ids; paths and bodies are expanded with it and responses mapped back to it.
type planHarness struct {
	*harness
	st  store.Store
	ids map[string]string
}

// newPlanHarness stores REST API api1 (stages dev, prod) and api2 (stage dev), and API keys
// key1 ("alpha"), key2 ("beta", added later) and key3 (no name).
func newPlanHarness(t *testing.T) *planHarness {
	t.Helper()
	h := newHarness(t)
	ph := &planHarness{harness: h, st: h.st, ids: map[string]string{}}
	ph.seedAPI("api1", "dev", "prod")
	ph.seedAPI("api2", "dev")
	ph.seedKey("key1", "alpha")
	ph.seedKey("key2", "beta")
	ph.seedKey("key3", "")
	return ph
}

func (ph *planHarness) put(fn func(tx store.Tx) error) {
	ph.t.Helper()
	if err := ph.st.Update(context.Background(), "us-east-1", fn); err != nil {
		ph.t.Fatal(err)
	}
}

func (ph *planHarness) seedAPI(apiID string, stages ...string) {
	ph.t.Helper()
	ph.put(func(tx store.Tx) error {
		root := "root" + apiID
		if err := tx.PutRestApi(&apigw.RestApi{ID: apiID, Name: apiID, CreatedDate: fixedNow, ApiKeySource: apigw.ApiKeySourceHeader,
			RootResourceID: root, Resources: []*apigw.Resource{{ID: root}}}); err != nil {
			return err
		}
		if err := tx.PutDeployment(&apigw.Deployment{ID: "dep" + apiID, ApiID: apiID, CreatedDate: fixedNow}); err != nil {
			return err
		}
		for _, s := range stages {
			if err := tx.PutStage(&apigw.Stage{ApiID: apiID, StageName: s, DeploymentID: "dep" + apiID, CreatedDate: fixedNow, LastUpdatedDate: fixedNow}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (ph *planHarness) seedKey(id, name string) {
	ph.t.Helper()
	ph.put(func(tx store.Tx) error {
		return tx.PutApiKey(&apigw.ApiKey{ID: id, Value: id + "-value-0123456789abcdefghij", Name: name, Enabled: true,
			CreatedDate: fixedNow, LastUpdatedDate: fixedNow})
	})
}

func (ph *planHarness) expand(s string) string {
	for k, v := range ph.ids {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// subst maps generated ids back to their placeholders for golden files.
func (ph *planHarness) subst() map[string]string {
	m := map[string]string{}
	for k, v := range ph.ids {
		m[v] = k
	}
	return m
}

// planStep is one request of a scenario. save names the placeholder for the "id" of the
// response, savePos the one for its "position". golden, when set, compares the response with
// testdata/golden/usageplans_<golden>.golden.
type planStep struct {
	golden  string
	method  string
	path    string
	body    string
	status  int
	errType string
	save    string
	savePos string
}

func (ph *planHarness) run(steps []planStep) {
	ph.t.Helper()
	for _, s := range steps {
		r := ph.do(s.method, ph.expand(s.path), ph.expand(s.body))
		if r.Status != s.status || r.ErrorType != s.errType {
			ph.t.Fatalf("%s %s %s: got %d %q %s; want %d %q", s.golden, s.method, s.path, r.Status, r.ErrorType, r.Body, s.status, s.errType)
		}
		if s.save != "" || s.savePos != "" {
			var out struct {
				ID       string `json:"id"`
				Position string `json:"position"`
			}
			if err := json.Unmarshal(r.Body, &out); err != nil {
				ph.t.Fatalf("%s: %v in %s", s.golden, err, r.Body)
			}
			if s.save != "" {
				ph.ids[s.save] = out.ID
			}
			if s.savePos != "" {
				ph.ids[s.savePos] = out.Position
			}
		}
		if s.golden != "" {
			golden(ph.t, "usageplans_"+s.golden, r, ph.subst())
		}
	}
}

const (
	upPOST  = http.MethodPost
	upGET   = http.MethodGet
	upPATCH = http.MethodPatch
	upDEL   = http.MethodDelete
	upBad   = "BadRequestException"
	upNF    = "NotFoundException"
	upConf  = "ConflictException"
)

func TestCreateUsagePlan(t *testing.T) {
	ph := newPlanHarness(t)
	ph.run([]planStep{
		{golden: "create_minimal", method: upPOST, path: "/usageplans", body: `{"name":"minimal"}`, status: 201, save: "{p1}"},
		{golden: "create_full", method: upPOST, path: "/usageplans", status: 201, save: "{p2}", body: `{"name":"full","description":"all members",
			"apiStages":[{"apiId":"api1","stage":"dev","throttle":{"/pets/get":{"burstLimit":1,"rateLimit":2},"*/*":{"rateLimit":0.5}}},{"apiId":"api2","stage":"dev"}],
			"throttle":{"burstLimit":20,"rateLimit":10},"quota":{"limit":1000,"period":"MONTH"},"tags":{"team":"a"}}`},
		{golden: "create_empty_tags", method: upPOST, path: "/usageplans", body: `{"name":"t","tags":{},"quota":{"limit":10,"offset":10,"period":"DAY"}}`, status: 201, save: "{p3}"},
		// burst above rate and the reverse are both accepted [S].
		{method: upPOST, path: "/usageplans", body: `{"name":"r","throttle":{"burstLimit":1,"rateLimit":2}}`, status: 201},
		{golden: "create_no_name", method: upPOST, path: "/usageplans", body: `{}`, status: 400, errType: upBad},
		{method: upPOST, path: "/usageplans", body: `{"name":"  "}`, status: 400, errType: upBad},
		{golden: "create_bad_stage", method: upPOST, path: "/usageplans", body: `{"name":"x","apiStages":[{"apiId":"","stage":"dev"}]}`, status: 400, errType: upBad},
		{golden: "create_unknown_api", method: upPOST, path: "/usageplans", body: `{"name":"x","apiStages":[{"apiId":"nope","stage":"dev"}]}`, status: 400, errType: upBad},
		{golden: "create_unknown_stage", method: upPOST, path: "/usageplans", body: `{"name":"x","apiStages":[{"apiId":"api2","stage":"prod"}]}`, status: 400, errType: upBad},
		{golden: "create_duplicate_stage", method: upPOST, path: "/usageplans", body: `{"name":"x","apiStages":[{"apiId":"api1","stage":"dev"},{"apiId":"api1","stage":"dev"}]}`, status: 400, errType: upBad},
		{golden: "create_fine_grain", method: upPOST, path: "/usageplans", body: `{"name":"x","apiStages":[{"apiId":"api1","stage":"dev","throttle":{"/pets/GET":{"burstLimit":1,"rateLimit":1}}}]}`, status: 400, errType: upBad},
		{golden: "create_bad_throttle_key", method: upPOST, path: "/usageplans", body: `{"name":"x","throttle":{"rateLimit":1},"apiStages":[{"apiId":"api1","stage":"dev","throttle":{"pets/GET":{"rateLimit":1}}}]}`, status: 400, errType: upBad},
		{golden: "create_negative_throttle", method: upPOST, path: "/usageplans", body: `{"name":"x","throttle":{"burstLimit":-1,"rateLimit":1}}`, status: 400, errType: upBad},
		{golden: "create_offset_above_limit", method: upPOST, path: "/usageplans", body: `{"name":"x","quota":{"limit":10,"offset":11,"period":"DAY"}}`, status: 400, errType: upBad},
		{method: upPOST, path: "/usageplans", body: `{"name":"x","quota":{"limit":10,"offset":-1,"period":"DAY"}}`, status: 400, errType: upBad},
		{golden: "create_negative_limit", method: upPOST, path: "/usageplans", body: `{"name":"x","quota":{"limit":-1,"period":"DAY"}}`, status: 400, errType: upBad},
		{golden: "create_bad_period", method: upPOST, path: "/usageplans", body: `{"name":"x","quota":{"limit":10,"period":"YEAR"}}`, status: 400, errType: upBad},
		{golden: "create_reserved_tag", method: upPOST, path: "/usageplans", body: `{"name":"x","tags":{"aws:x":"y"}}`, status: 400, errType: upBad},
		{golden: "create_bad_json_type", method: upPOST, path: "/usageplans", body: `{"name":"x","throttle":{"burstLimit":"10"}}`, status: 400, errType: "SerializationException"},
		{golden: "get", method: upGET, path: "/usageplans/{p2}", status: 200},
		{golden: "get_no_tags", method: upGET, path: "/usageplans/{p1}", status: 200},
		{golden: "get_unknown", method: upGET, path: "/usageplans/nope00", status: 404, errType: upNF},
	})
}

func TestGetUsagePlans(t *testing.T) {
	ph := newPlanHarness(t)
	ph.run([]planStep{
		{method: upPOST, path: "/usageplans", body: `{"name":"first","tags":{"k":"v"},"apiStages":[{"apiId":"api1","stage":"dev"}]}`, status: 201, save: "{p1}"},
		{method: upPOST, path: "/usageplans", body: `{"name":"second","tags":{}}`, status: 201, save: "{p2}"},
		{method: upPOST, path: "/usageplans", body: `{"name":"third","throttle":{"burstLimit":5,"rateLimit":100}}`, status: 201, save: "{p3}"},
		{method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
		{method: upPOST, path: "/usageplans/{p3}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
		{golden: "list", method: upGET, path: "/usageplans", status: 200},
		{golden: "list_page1", method: upGET, path: "/usageplans?limit=2", status: 200, savePos: "{pos}"},
		{golden: "list_page2", method: upGET, path: "/usageplans?limit=2&position={pos}", status: 200},
		{golden: "list_by_key", method: upGET, path: "/usageplans?keyId=key1", status: 200},
		{golden: "list_by_unknown_key", method: upGET, path: "/usageplans?keyId=nokey", status: 200},
		{golden: "list_bad_position", method: upGET, path: "/usageplans?position=zzz", status: 400, errType: upBad},
	})
}

func TestUpdateUsagePlanHandler(t *testing.T) {
	ph := newPlanHarness(t)
	ph.run([]planStep{
		{method: upPOST, path: "/usageplans", body: `{"name":"p","apiStages":[{"apiId":"api1","stage":"dev"}]}`, status: 201, save: "{p1}"},
		{golden: "update", method: upPATCH, path: "/usageplans/{p1}", status: 200, body: `{"patchOperations":[
			{"op":"replace","path":"/name","value":"renamed"},{"op":"add","path":"/productCode","value":"pc-1"},
			{"op":"replace","path":"/quota/limit","value":"500"},{"op":"replace","path":"/throttle/rateLimit","value":"0.1"},
			{"op":"replace","path":"/apiStages/api1:dev/throttle//pets/GET/burstLimit","value":"3"},
			{"op":"replace","path":"/apiStages/api1:dev/throttle///GET/rateLimit","value":"2"}]}`},
		{golden: "update_empty", method: upPATCH, path: "/usageplans/{p1}", body: ``, status: 200},
		{golden: "update_bad_path", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"remove","path":"/name"}]}`, status: 400, errType: upBad},
		{golden: "update_bad_op", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"replace","path":"/name","value":"x"},{"op":"delete","path":"/name"}]}`, status: 400, errType: "ValidationException"},
		{golden: "update_unknown", method: upPATCH, path: "/usageplans/nope00", body: `{"patchOperations":[{"op":"add","path":"/name","value":"x"}]}`, status: 404, errType: upNF},
		{golden: "update_add_unknown_api", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"add","path":"/apiStages","value":"nope:dev"}]}`, status: 404, errType: upNF},
		{golden: "update_add_unknown_stage", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"add","path":"/apiStages","value":"api2:prod"}]}`, status: 404, errType: upNF},
		{golden: "update_add_existing_stage", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"add","path":"/apiStages","value":"api1:dev"}]}`, status: 409, errType: upConf},
		{golden: "update_remove_stage_no_value", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"remove","path":"/apiStages"}]}`, status: 400, errType: upBad},
		{golden: "update_remove_stage_not_in_plan", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"remove","path":"/apiStages","value":"api1:prod"}]}`, status: 404, errType: upNF},
		{golden: "update_fine_grain", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"remove","path":"/throttle"}]}`, status: 400, errType: upBad},
		{golden: "update_offset", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"replace","path":"/quota/offset","value":"501"}]}`, status: 400, errType: upBad},
		{golden: "update_bad_number", method: upPATCH, path: "/usageplans/{p1}", body: `{"patchOperations":[{"op":"replace","path":"/throttle/burstLimit","value":"many"}]}`, status: 400, errType: upBad},
		// None of the failed requests changed the plan.
		{golden: "update_after_errors", method: upGET, path: "/usageplans/{p1}", status: 200},
	})
}

func TestDeleteUsagePlan(t *testing.T) {
	ph := newPlanHarness(t)
	ph.run([]planStep{
		{method: upPOST, path: "/usageplans", body: `{"name":"p","apiStages":[{"apiId":"api1","stage":"prod"},{"apiId":"api1","stage":"dev"}]}`, status: 201, save: "{p1}"},
		{method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
		{golden: "delete_with_stages", method: upDEL, path: "/usageplans/{p1}", status: 400, errType: upBad},
		{golden: "delete_unknown", method: upDEL, path: "/usageplans/nope00", status: 404, errType: upNF},
		{method: upPATCH, path: "/usageplans/{p1}", status: 200, body: `{"patchOperations":[{"op":"remove","path":"/apiStages","value":"api1:prod"},{"op":"remove","path":"/apiStages","value":"api1:dev"}]}`},
		// Keys do not block deletion; they go with the plan.
		{golden: "delete", method: upDEL, path: "/usageplans/{p1}", status: 202},
		{method: upGET, path: "/usageplans/{p1}", status: 404, errType: upNF},
		{golden: "delete_keys_gone", method: upGET, path: "/usageplans/{p1}/keys", status: 200},
		{method: upGET, path: "/usageplans?keyId=key1", status: 200},
	})
	if r := ph.do(upGET, "/usageplans?keyId=key1", ""); string(r.Body) != `{"item":[]}` {
		t.Fatalf("key1 still in a plan: %s", r.Body)
	}
	// The API key itself survives.
	ph.run([]planStep{{method: upPOST, path: "/usageplans", body: `{"name":"q"}`, status: 201, save: "{p2}"},
		{method: upPOST, path: "/usageplans/{p2}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201}})
}

func TestUsagePlanKeys(t *testing.T) {
	ph := newPlanHarness(t)
	ph.run([]planStep{
		{method: upPOST, path: "/usageplans", body: `{"name":"p","apiStages":[{"apiId":"api1","stage":"dev"}]}`, status: 201, save: "{p1}"},
		{method: upPOST, path: "/usageplans", body: `{"name":"same stage","apiStages":[{"apiId":"api2","stage":"dev"},{"apiId":"api1","stage":"dev"}]}`, status: 201, save: "{p2}"},
		{method: upPOST, path: "/usageplans", body: `{"name":"no stages"}`, status: 201, save: "{p3}"},
		{golden: "key_create", method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
		{method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key2","keyType":"API_KEY"}`, status: 201},
		{golden: "key_create_no_name", method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key3","keyType":"API_KEY"}`, status: 201},
		{golden: "key_create_duplicate", method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 409, errType: upConf},
		{golden: "key_create_unknown_plan", method: upPOST, path: "/usageplans/nope00/keys", body: `{"keyId":"nokey","keyType":"BAD"}`, status: 404, errType: upNF},
		{golden: "key_create_unknown_key", method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"nokey","keyType":"BAD"}`, status: 404, errType: upNF},
		{golden: "key_create_bad_type", method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key1","keyType":"COGNITO"}`, status: 400, errType: upBad},
		{golden: "key_create_stage_conflict", method: upPOST, path: "/usageplans/{p2}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 409, errType: upConf},
		{method: upPOST, path: "/usageplans/{p3}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
		// A stage conflict also blocks adding the shared stage to a plan of the key.
		{golden: "update_add_stage_conflict", method: upPATCH, path: "/usageplans/{p3}", body: `{"patchOperations":[{"op":"add","path":"/apiStages","value":"api1:dev"}]}`, status: 409, errType: upConf},
		{golden: "key_get", method: upGET, path: "/usageplans/{p1}/keys/key1", status: 200},
		{golden: "key_get_unknown_key", method: upGET, path: "/usageplans/{p1}/keys/nokey", status: 404, errType: upNF},
		{golden: "key_get_not_in_plan", method: upGET, path: "/usageplans/{p2}/keys/key1", status: 404, errType: upNF},
		{method: upGET, path: "/usageplans/nope00/keys/key1", status: 404, errType: upNF},
		{golden: "keys_list", method: upGET, path: "/usageplans/{p1}/keys", status: 200},
		{golden: "keys_list_page1", method: upGET, path: "/usageplans/{p1}/keys?limit=2", status: 200, savePos: "{pos}"},
		{golden: "keys_list_page2", method: upGET, path: "/usageplans/{p1}/keys?limit=2&position={pos}", status: 200},
		{golden: "keys_list_name", method: upGET, path: "/usageplans/{p1}/keys?name=al", status: 200},
		{method: upGET, path: "/usageplans/{p1}/keys?name=Al", status: 200},
		{golden: "keys_list_unknown_plan", method: upGET, path: "/usageplans/nope00/keys", status: 200},
		{golden: "key_delete", method: upDEL, path: "/usageplans/{p1}/keys/key1", status: 202},
		{golden: "key_delete_again", method: upDEL, path: "/usageplans/{p1}/keys/key1", status: 404, errType: upNF},
		{golden: "key_delete_unknown_plan", method: upDEL, path: "/usageplans/nope00/keys/key1", status: 404, errType: upNF},
		// The API key survives and may now join the plan sharing the stage.
		{method: upPOST, path: "/usageplans/{p2}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
	})
	if r := ph.do(upGET, ph.expand("/usageplans/{p1}/keys?name=Al"), ""); string(r.Body) != `{"item":[]}` {
		t.Fatalf("name filter is not case-sensitive: %s", r.Body)
	}
}

// A usage plan key is a live view of its API key: renaming or deleting the key shows (spec §2.3).
func TestUsagePlanKeyLiveView(t *testing.T) {
	ph := newPlanHarness(t)
	ph.run([]planStep{
		{method: upPOST, path: "/usageplans", body: `{"name":"p"}`, status: 201, save: "{p1}"},
		{method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
		{method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key2","keyType":"API_KEY"}`, status: 201},
	})
	ph.put(func(tx store.Tx) error {
		k, err := tx.GetApiKey("key1")
		if err != nil {
			return err
		}
		k.Name = "renamed"
		if err := tx.PutApiKey(k); err != nil {
			return err
		}
		return tx.DeleteApiKey("key2")
	})
	ph.run([]planStep{{golden: "keys_list_live", method: upGET, path: "/usageplans/{p1}/keys", status: 200}})
}

// TestTerraformUsagePlanFlow replays what terraform-provider-aws sends for aws_api_gateway_usage_plan
// (spec §10): create, add /productCode, read; an update that removes every old stage, re-adds the
// new ones with their method throttles (before the plan throttle exists), then adds the plan
// throttle and replaces the quota; destroy removes every stage, then deletes (404 ignored).
func TestTerraformUsagePlanFlow(t *testing.T) {
	ph := newPlanHarness(t)
	ph.run([]planStep{
		{method: upPOST, path: "/usageplans", status: 201, save: "{p1}", body: `{"name":"tf-plan","description":"Managed by Terraform",
			"apiStages":[{"apiId":"api1","stage":"dev"},{"apiId":"api2","stage":"dev"}],
			"quota":{"limit":100,"offset":0,"period":"DAY"},"tags":{"env":"test"}}`},
		{method: upPATCH, path: "/usageplans/{p1}", status: 200, body: `{"patchOperations":[{"op":"add","path":"/productCode","value":"tf-product"}]}`},
		{golden: "tf_read", method: upGET, path: "/usageplans/{p1}", status: 200},
		// aws_api_gateway_usage_plan_key, then CreateUsagePlanKey → GetUsagePlanKey.
		{method: upPOST, path: "/usageplans/{p1}/keys", body: `{"keyId":"key1","keyType":"API_KEY"}`, status: 201},
		{method: upGET, path: "/usageplans/{p1}/keys/key1", status: 200},
		{golden: "tf_update", method: upPATCH, path: "/usageplans/{p1}", status: 200, body: `{"patchOperations":[
			{"op":"replace","path":"/name","value":"tf-plan-2"},
			{"op":"replace","path":"/description","value":""},
			{"op":"replace","path":"/productCode","value":"tf-product-2"},
			{"op":"remove","path":"/apiStages","value":"api1:dev"},
			{"op":"remove","path":"/apiStages","value":"api2:dev"},
			{"op":"add","path":"/apiStages","value":"api1:dev"},
			{"op":"replace","path":"/apiStages/api1:dev/throttle//test/GET/rateLimit","value":"10"},
			{"op":"replace","path":"/apiStages/api1:dev/throttle//test/GET/burstLimit","value":"5"},
			{"op":"replace","path":"/apiStages/api1:dev/throttle///GET/rateLimit","value":"0.5"},
			{"op":"replace","path":"/apiStages/api1:dev/throttle///GET/burstLimit","value":"1"},
			{"op":"add","path":"/apiStages","value":"api1:prod"},
			{"op":"replace","path":"/apiStages/api1:prod/throttle/*/*/rateLimit","value":"2"},
			{"op":"replace","path":"/apiStages/api1:prod/throttle/*/*/burstLimit","value":"0"},
			{"op":"add","path":"/throttle/rateLimit","value":"20"},
			{"op":"add","path":"/throttle/burstLimit","value":"40"},
			{"op":"replace","path":"/quota/limit","value":"50"},
			{"op":"replace","path":"/quota/offset","value":"6"},
			{"op":"replace","path":"/quota/period","value":"WEEK"}]}`},
		{golden: "tf_read_after_update", method: upGET, path: "/usageplans/{p1}", status: 200},
		// Destroy: the key first (404 ignored), then every stage, then the plan.
		{method: upDEL, path: "/usageplans/{p1}/keys/key1", status: 202},
		{method: upPATCH, path: "/usageplans/{p1}", status: 200, body: `{"patchOperations":[
			{"op":"remove","path":"/apiStages","value":"api1:dev"},{"op":"remove","path":"/apiStages","value":"api1:prod"}]}`},
		{method: upDEL, path: "/usageplans/{p1}", status: 202},
		{method: upDEL, path: "/usageplans/{p1}", status: 404, errType: upNF},
		{method: upGET, path: "/usageplans/{p1}", status: 404, errType: upNF},
	})
}
