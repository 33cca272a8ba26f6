package mgmt

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// Documents for the ImportRestApi / PutRestApi handler tests.
const (
	// importDocOAS3 is OpenAPI 3 JSON with a MOCK integration, an API-key requirement, models and
	// a numeric version.
	importDocOAS3 = `{
  "openapi": "3.0.1",
  "info": {"title": "echo", "description": "Echo service", "version": 1},
  "servers": [{"url": "https://example.com/v1"}],
  "x-amazon-apigateway-binary-media-types": ["image/png"],
  "paths": {
    "/echo/{data}": {
      "get": {
        "operationId": "getEcho",
        "parameters": [{"name": "verbose", "in": "query", "schema": {"type": "boolean"}}],
        "security": [{"api_key": []}],
        "responses": {"200": {"description": "ok", "headers": {"X-Echo": {"schema": {"type": "string"}}},
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Echo"}}}}},
        "x-amazon-apigateway-integration": {
          "type": "mock", "httpMethod": "POST", "uri": "http://ignored",
          "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
          "responses": {"default": {"statusCode": 200, "responseTemplates": {"application/json": "{}"}},
                        "5\\d{2}": {"statusCode": "500"}}
        }
      }
    }
  },
  "components": {
    "schemas": {"Echo": {"type": "object"}},
    "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
  }
}`
	// importDocSwagger is Swagger 2.0 YAML with integer status keys, a base path and an
	// unsupported extension (a warning).
	importDocSwagger = `swagger: "2.0"
info:
  title: pets
  version: "2024-01-01"
basePath: /base
x-amazon-apigateway-importexport-version: "1.0"
paths:
  /pets:
    get:
      responses:
        200:
          description: ok
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: http://backend.example.com/pets
`
)

// importIDs maps every id of the API (its own, each resource's) to a placeholder: @api, and
// @<path> for resources ("@/" is the root).
func importIDs(t *testing.T, h *harness, apiID string) map[string]string {
	t.Helper()
	a, err := h.svc.GetRestApi(context.Background(), "us-east-1", apiID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{apiID: "@api"}
	for _, r := range a.Resources {
		out[r.ID] = "@" + a.Path(r.ID)
	}
	return out
}

func importID(t *testing.T, r response) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.ID == "" {
		t.Fatalf("no id in %d %s", r.Status, r.Body)
	}
	return v.ID
}

func TestImportRestApiHandler(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodPost, "/restapis?mode=import", importDocOAS3)
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	id := importID(t, r)
	ids := importIDs(t, h, id)
	golden(t, "import_oas3_json", r, ids)
	golden(t, "import_oas3_json_resources", h.do(http.MethodGet, "/restapis/"+id+"/resources", ""), ids)
	var echo string
	for rid, p := range ids {
		if p == "@/echo/{data}" {
			echo = rid
		}
	}
	golden(t, "import_oas3_json_method", h.do(http.MethodGet, "/restapis/"+id+"/resources/"+echo+"/methods/GET", ""), ids)

	r = h.do(http.MethodPost, "/restapis?mode=import&basepath=prepend&endpointConfigurationTypes=REGIONAL", importDocSwagger)
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	id = importID(t, r)
	ids = importIDs(t, h, id)
	golden(t, "import_swagger_yaml_warnings", r, ids)
	golden(t, "import_swagger_yaml_resources", h.do(http.MethodGet, "/restapis/"+id+"/resources", ""), ids)
}

func TestImportRestApiHandlerErrors(t *testing.T) {
	cases := []struct {
		name, query, body, errType, golden string
	}{
		{"invalid input", "", "{", "BadRequestException", "import_invalid_input"},
		{"not a document", "", `{"info":{"title":"x"}}`, "BadRequestException", "import_no_importer"},
		{"fail on warnings", "&failonwarnings=true", importDocSwagger, "BadRequestException", "import_fail_on_warnings"},
		{"bad endpoint type", "&endpointConfigurationTypes=FAST", importDocOAS3, "BadRequestException", "import_bad_endpoint_type"},
		{"bad path part", "", `{"openapi":"3.0.0","info":{"title":"x"},"paths":{"/a*b":{}}}`, "BadRequestException", "import_bad_path_part"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.do(http.MethodPost, "/restapis?mode=import"+tc.query, tc.body)
			if r.Status != http.StatusBadRequest || r.ErrorType != tc.errType {
				t.Fatalf("got %d %s, want 400 %s: %s", r.Status, r.ErrorType, tc.errType, r.Body)
			}
			golden(t, tc.golden, r, nil)
			if list := h.do(http.MethodGet, "/restapis", ""); string(list.Body) != `{"item":[]}` {
				t.Errorf("a failed import left APIs behind: %s", list.Body)
			}
		})
	}
}

func TestPutRestApiHandler(t *testing.T) {
	h := newHarness(t)
	id := importID(t, h.do(http.MethodPost, "/restapis?mode=import", importDocOAS3))

	// Merge (the default mode): the document's /base/pets joins /echo/{data}; binary types unite.
	r := h.do(http.MethodPut, "/restapis/"+id+"?basepath=prepend", importDocSwagger)
	if r.Status != http.StatusOK {
		t.Fatalf("merge: status %d: %s", r.Status, r.Body)
	}
	ids := importIDs(t, h, id)
	golden(t, "import_put_merge", r, ids)
	golden(t, "import_put_merge_resources", h.do(http.MethodGet, "/restapis/"+id+"/resources", ""), ids)

	// Overwrite: exactly the document; /base/pets keeps its id, /echo/{data} goes.
	r = h.do(http.MethodPut, "/restapis/"+id+"?mode=overwrite&basepath=prepend&failonwarnings=false", importDocSwagger)
	if r.Status != http.StatusOK {
		t.Fatalf("overwrite: status %d: %s", r.Status, r.Body)
	}
	golden(t, "import_put_overwrite", r, ids)
	golden(t, "import_put_overwrite_resources", h.do(http.MethodGet, "/restapis/"+id+"/resources", ""), ids)
	after := importIDs(t, h, id)
	for rid, p := range after {
		if p != "@api" && ids[rid] != p {
			t.Errorf("overwrite gave %s a new id", p)
		}
	}
	if got := len(after); got != 4 || slices.Contains(mapValues(after), "@/echo") {
		t.Errorf("overwrite tree %v, want the API, /, /base and /base/pets", after)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestPutRestApiHandlerErrors(t *testing.T) {
	h := newHarness(t)
	id := importID(t, h.do(http.MethodPost, "/restapis?mode=import", importDocOAS3))
	cases := []struct {
		name, path, body string
		status           int
		errType, golden  string
	}{
		{"invalid body to unknown API", "/restapis/nosuchapi0", "not: [valid", 400, "BadRequestException", "import_put_invalid_input"},
		{"unknown API", "/restapis/nosuchapi0", importDocOAS3, 404, "NotFoundException", "import_put_unknown_api"},
		{"bad mode", "/restapis/" + id + "?mode=replace", importDocOAS3, 400, "ValidationException", "import_put_bad_mode"},
		{"fail on warnings", "/restapis/" + id + "?mode=overwrite&failonwarnings=true", importDocSwagger, 400, "BadRequestException", ""},
	}
	before := h.do(http.MethodGet, "/restapis/"+id+"/resources", "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodPut, tc.path, tc.body)
			if r.Status != tc.status || r.ErrorType != tc.errType {
				t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.ErrorType, tc.status, tc.errType, r.Body)
			}
			if tc.golden != "" {
				golden(t, tc.golden, r, map[string]string{id: "@api"})
			}
		})
	}
	if after := h.do(http.MethodGet, "/restapis/"+id+"/resources", ""); string(after.Body) != string(before.Body) {
		t.Errorf("failed PutRestApi calls changed the API:\n%s\n%s", before.Body, after.Body)
	}
}
