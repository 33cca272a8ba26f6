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

// deployHarness is newHarness with the store at hand: deployment, stage and tag tests store
// their REST APIs (and plans and keys) directly, independent of those resources' handlers.
type deployHarness struct {
	*harness
	st  store.Store
	ids map[string]string // placeholder ("{dep1}") → generated id
}

func newDeployHarness(t *testing.T) *deployHarness {
	t.Helper()
	h := newHarness(t)
	dh := &deployHarness{harness: h, st: h.st, ids: map[string]string{}}
	dh.put(func(tx store.Tx) error {
		for _, api := range []*apigw.RestApi{petsAPI("a1b2c3d4e5", true), petsAPI("emptyapi01", false), noIntegrationAPI("noint00001")} {
			if err := tx.PutRestApi(api); err != nil {
				return err
			}
		}
		return nil
	})
	return dh
}

// petsAPI is a REST API with / and /pets; with methods, /pets has GET (open) and POST (API key
// required), both MOCK.
func petsAPI(id string, methods bool) *apigw.RestApi {
	api := &apigw.RestApi{
		ID: id, Name: id, CreatedDate: fixedNow, ApiKeySource: apigw.ApiKeySourceHeader, RootResourceID: "rootres001",
		Resources: []*apigw.Resource{{ID: "rootres001"}, {ID: "pets01", ParentID: "rootres001", PathPart: "pets"}},
	}
	if methods {
		mock := func() *apigw.Integration {
			return &apigw.Integration{Type: apigw.IntegrationMock, TimeoutInMillis: 29000, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}
		}
		api.Resources[1].Methods = map[string]*apigw.Method{
			"GET":  {HTTPMethod: "GET", AuthorizationType: "NONE", Integration: mock()},
			"POST": {HTTPMethod: "POST", AuthorizationType: "NONE", ApiKeyRequired: true, Integration: mock()},
		}
	}
	return api
}

// noIntegrationAPI has GET / without an integration.
func noIntegrationAPI(id string) *apigw.RestApi {
	api := petsAPI(id, false)
	api.Resources[0].Methods = map[string]*apigw.Method{"GET": {HTTPMethod: "GET", AuthorizationType: "NONE"}}
	return api
}

func (h *deployHarness) put(fn func(tx store.Tx) error) {
	h.t.Helper()
	if err := h.st.Update(context.Background(), "us-east-1", fn); err != nil {
		h.t.Fatal(err)
	}
}

// apiStep is one request of a sequential scenario. Placeholders ({dep1}, {arn:…}) in path and
// body are expanded; capture names the placeholder the response's "id" is saved under.
type apiStep struct {
	name    string // golden file <prefix>_<name>.golden; "" checks status only
	method  string
	path    string
	body    string
	status  int
	errType string
	capture string
	check   func(t *testing.T, r response)
}

func (h *deployHarness) expand(s string) string {
	for k, v := range h.ids {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// run performs the steps in order, each compared with its golden file (generated ids replaced
// by their placeholders).
func (h *deployHarness) run(t *testing.T, prefix string, steps []apiStep) {
	t.Helper()
	for _, s := range steps {
		r := h.do(s.method, h.expand(s.path), h.expand(s.body))
		if r.Status != s.status || r.ErrorType != s.errType {
			t.Fatalf("%s: %s %s → %d %s %s; want %d %s", s.name, s.method, s.path, r.Status, r.ErrorType, r.Body, s.status, s.errType)
		}
		if s.capture != "" {
			h.ids[s.capture] = jsonID(t, r.Body)
		}
		if s.check != nil {
			s.check(t, r)
		}
		if s.name != "" {
			subst := map[string]string{}
			for k, v := range h.ids {
				subst[v] = k
			}
			// Position tokens wrap the store's cursor, which is the store's business.
			var pos struct {
				Position string `json:"position"`
			}
			if json.Unmarshal(r.Body, &pos) == nil && pos.Position != "" {
				subst[pos.Position] = "<position>"
			}
			golden(t, prefix+"_"+s.name, r, subst)
		}
	}
}

// wantBody asserts an exact response body (for cases that must equal an earlier golden).
func wantBody(want string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if string(r.Body) != want {
			t.Fatalf("body = %s\nwant %s", r.Body, want)
		}
	}
}

func TestDeploymentsAPI(t *testing.T) {
	h := newDeployHarness(t)
	const base = "/restapis/a1b2c3d4e5/deployments"
	summary := ""
	steps := []apiStep{
		{name: "create_no_methods", method: http.MethodPost, path: "/restapis/emptyapi01/deployments", body: `{"stageName":"dev"}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_no_integration", method: http.MethodPost, path: "/restapis/noint00001/deployments", body: `{}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_unknown_api", method: http.MethodPost, path: "/restapis/nosuchapi1/deployments", body: `{}`,
			status: 404, errType: "NotFoundException"},
		{name: "create_bad_stage_name", method: http.MethodPost, path: base, body: `{"stageName":"dev stage"}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_bad_json_type", method: http.MethodPost, path: base, body: `{"stageName":5}`,
			status: 400, errType: "SerializationException"},
		{name: "create_bad_cache_size", method: http.MethodPost, path: base, body: `{"cacheClusterSize":"1"}`,
			status: 400, errType: "ValidationException"},
		{name: "create_canary_no_stage", method: http.MethodPost, path: base, body: `{"canarySettings":{"percentTraffic":10}}`,
			status: 400, errType: "BadRequestException"},
		// Terraform's shape: empty description and variables.
		{name: "create_with_stage", method: http.MethodPost, path: base, body: `{"stageName":"dev","description":"","variables":{}}`,
			status: 201, capture: "{dep1}"},
		{name: "get", method: http.MethodGet, path: base + "/{dep1}", status: 200},
		{name: "get_apisummary", method: http.MethodGet, path: base + "/{dep1}?embed=apisummary", status: 200,
			check: func(t *testing.T, r response) { summary = string(r.Body) }},
		{method: http.MethodGet, path: base + "/{dep1}?embed=other,apisummary", status: 200,
			check: func(t *testing.T, r response) { wantBody(summary)(t, r) }},
		{name: "get_unknown", method: http.MethodGet, path: base + "/zzzzzz", status: 404, errType: "NotFoundException"},
		{name: "get_wrong_api", method: http.MethodGet, path: "/restapis/nosuchapi1/deployments/{dep1}", status: 404, errType: "NotFoundException"},
		{name: "create_described", method: http.MethodPost, path: base, body: `{"description":"second"}`, status: 201, capture: "{dep2}"},
		{name: "list", method: http.MethodGet, path: base, status: 200},
		{name: "list_page1", method: http.MethodGet, path: base + "?limit=1", status: 200},
		{name: "list_unknown_api", method: http.MethodGet, path: "/restapis/nosuchapi1/deployments", status: 404, errType: "NotFoundException"},
		{name: "list_empty", method: http.MethodGet, path: "/restapis/emptyapi01/deployments", status: 200},
		{name: "delete_active", method: http.MethodDelete, path: base + "/{dep1}", status: 400, errType: "BadRequestException"},
		{name: "delete", method: http.MethodDelete, path: base + "/{dep2}", status: 202},
		{name: "delete_unknown", method: http.MethodDelete, path: base + "/{dep2}", status: 404, errType: "NotFoundException"},
	}
	h.run(t, "deployments", steps)

	// Follow the position token of a one-item page to the second (last) page.
	var page struct {
		Item     []map[string]any `json:"item"`
		Position string           `json:"position"`
	}
	h.do(http.MethodPost, base, `{"description":"third"}`)
	r := h.do(http.MethodGet, base+"?limit=1", "")
	if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Item) != 1 || page.Position == "" || page.Item[0]["id"] != h.ids["{dep1}"] {
		t.Fatalf("first page = %s", r.Body)
	}
	r = h.do(http.MethodGet, base+"?limit=1&position="+page.Position, "")
	page.Position = ""
	if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Item) != 1 || page.Position != "" || page.Item[0]["description"] != "third" {
		t.Fatalf("last page = %s", r.Body)
	}
}

func jsonID(t *testing.T, body []byte) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.ID == "" {
		t.Fatalf("no id in %s", body)
	}
	return out.ID
}
