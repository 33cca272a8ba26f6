package mgmt

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Values of the two keys every API key case starts with.
const (
	akAlphaValue = "alpha-value-0123456789abcdef"
	akBetaValue  = "beta-value-0123456789abcdef"
)

// akCase is one request against a fresh harness holding two keys: alpha (created at fixedNow,
// enabled, with description, customer id and tags) and beta (a minute later, bare). "{alpha}" and
// "{beta}" in path and body stand for their ids; generated ids and values in the response are
// replaced by placeholders before the golden comparison.
type akCase struct {
	name    string // golden file testdata/golden/apikeys_<name>.golden
	setup   func(h *harness, ids map[string]string)
	method  string
	path    string
	body    string
	status  int
	errType string
	// after runs further checks on the harness once the request is done.
	after func(t *testing.T, h *harness, ids map[string]string)
}

func newAKHarness(t *testing.T) (*harness, map[string]string) {
	t.Helper()
	h := newHarness(t)
	ids := map[string]string{}
	ids["{alpha}"] = h.akMustID(http.MethodPost, "/apikeys", `{"name":"alpha","description":"first key","enabled":true,"value":"`+akAlphaValue+`","customerId":"cust-1","tags":{"team":"a"}}`)
	h.now = fixedNow.Add(time.Minute)
	ids["{beta}"] = h.akMustID(http.MethodPost, "/apikeys", `{"name":"beta","value":"`+akBetaValue+`"}`)
	h.now = fixedNow.Add(time.Hour)
	return h, ids
}

// akMustID sends a request that must succeed and returns the "id" of its JSON response.
func (h *harness) akMustID(method, path, body string) string {
	h.t.Helper()
	r := h.do(method, path, body)
	if r.Status >= 300 {
		h.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.ID == "" {
		h.t.Fatalf("%s %s: no id in %s", method, path, r.Body)
	}
	return out.ID
}

func akExpand(s string, ids map[string]string) string {
	for k, v := range ids {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// placeholders maps the known ids to their names and every other id or 40-character value in a
// response to a numbered placeholder, so golden files stay stable.
func akPlaceholders(body []byte, ids map[string]string) map[string]string {
	subst := map[string]string{}
	for k, v := range ids {
		subst[v] = "<" + strings.ToUpper(strings.Trim(k, "{}")) + "_ID>"
	}
	var doc struct {
		ID    string   `json:"id"`
		Value string   `json:"value"`
		IDs   []string `json:"ids"`
		Item  []struct {
			ID string `json:"id"`
		} `json:"item"`
	}
	_ = json.Unmarshal(body, &doc)
	fresh := slices.Concat([]string{doc.ID}, doc.IDs)
	for _, it := range doc.Item {
		fresh = append(fresh, it.ID)
	}
	n := 0
	for _, id := range fresh {
		if _, known := subst[id]; id != "" && !known {
			n++
			subst[id] = "<NEW_ID_" + strconv.Itoa(n) + ">"
		}
	}
	if len(doc.Value) == 40 && doc.Value != akAlphaValue && doc.Value != akBetaValue {
		subst[doc.Value] = "<GENERATED_VALUE>"
	}
	return subst
}

func runAKCases(t *testing.T, prefix string, tests []akCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, ids := newAKHarness(t)
			if tc.setup != nil {
				tc.setup(h, ids)
			}
			r := h.do(tc.method, akExpand(tc.path, ids), akExpand(tc.body, ids))
			if r.Status != tc.status || r.ErrorType != tc.errType {
				t.Fatalf("got %d %q %s, want %d %q", r.Status, r.ErrorType, r.Body, tc.status, tc.errType)
			}
			golden(t, prefix+tc.name, r, akPlaceholders(r.Body, ids))
			if tc.after != nil {
				tc.after(t, h, ids)
			}
		})
	}
}

// akWantBody asserts that a request answers status and that its body contains each fragment.
func akWantBody(t *testing.T, h *harness, method, path string, status int, fragments ...string) {
	t.Helper()
	r := h.do(method, path, "")
	if r.Status != status {
		t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, status)
	}
	for _, f := range fragments {
		if !strings.Contains(string(r.Body), f) {
			t.Errorf("%s %s: body %s lacks %s", method, path, r.Body, f)
		}
	}
}

func TestCreateApiKey(t *testing.T) {
	long := func(c byte, n int) string { return strings.Repeat(string(c), n) }
	runAKCases(t, "apikeys_", []akCase{
		{name: "create_minimal", method: "POST", path: "/apikeys", body: ``, status: 201},
		{name: "create_full", method: "POST", path: "/apikeys", status: 201,
			body: `{"name":"gamma","description":"Managed by Terraform","enabled":true,"generateDistinctId":true,"value":"gamma-value-0123456789abcdef","customerId":"c-9","tags":{"env":"dev","team":"g"},"stageKeys":[{"restApiId":"a1b2c3d4e5","stageName":"dev"},{"restApiId":"a1b2c3d4e5","stageName":"dev"}]}`},
		{name: "create_empty_name_and_value", method: "POST", path: "/apikeys", body: `{"name":"","value":""}`, status: 201},
		{name: "create_empty_tags", method: "POST", path: "/apikeys", body: `{"name":"t","tags":{}}`, status: 201},
		{name: "create_name_too_long", method: "POST", path: "/apikeys", body: `{"name":"` + long('n', 1025) + `"}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_value_too_short", method: "POST", path: "/apikeys", body: `{"value":"short"}`, status: 400, errType: "BadRequestException"},
		{name: "create_value_too_long", method: "POST", path: "/apikeys", body: `{"value":"` + long('v', 129) + `"}`, status: 400, errType: "BadRequestException"},
		{name: "create_value_with_space", method: "POST", path: "/apikeys", body: `{"value":"has a space 0123456789"}`, status: 400, errType: "BadRequestException"},
		{name: "create_description_too_long", method: "POST", path: "/apikeys", body: `{"description":"` + long('d', 125001) + `"}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_check_order", method: "POST", path: "/apikeys", body: `{"name":"` + long('n', 1025) + `","value":"short","description":"` + long('d', 125001) + `"}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_duplicate_value", method: "POST", path: "/apikeys", body: `{"name":"again","value":"` + akAlphaValue + `"}`,
			status: 409, errType: "ConflictException"},
		{name: "create_bad_stage_key", method: "POST", path: "/apikeys", body: `{"stageKeys":[{"restApiId":"a1b2c3d4e5"}]}`,
			status: 400, errType: "BadRequestException"},
		{name: "create_enabled_not_boolean", method: "POST", path: "/apikeys", body: `{"enabled":"yes"}`,
			status: 400, errType: "SerializationException"},
	})
}

func TestGetApiKey(t *testing.T) {
	runAKCases(t, "apikeys_", []akCase{
		{name: "get", method: "GET", path: "/apikeys/{alpha}", status: 200},
		{name: "get_include_value", method: "GET", path: "/apikeys/{alpha}?includeValue=true", status: 200},
		{name: "get_without_tags", method: "GET", path: "/apikeys/{beta}?includeValue=false", status: 200},
		{name: "get_unknown", method: "GET", path: "/apikeys/nosuchkey0", status: 404, errType: "NotFoundException"},
	})
}

func TestGetApiKeys(t *testing.T) {
	runAKCases(t, "apikeys_", []akCase{
		{name: "list", method: "GET", path: "/apikeys", status: 200},
		{name: "list_include_values", method: "GET", path: "/apikeys?includeValues=true", status: 200},
		{name: "list_name_prefix", method: "GET", path: "/apikeys?name=al", status: 200},
		{name: "list_name_not_infix", method: "GET", path: "/apikeys?name=lpha", status: 200},
		{name: "list_name_case_sensitive", method: "GET", path: "/apikeys?name=AL", status: 200},
		{name: "list_customer_id", method: "GET", path: "/apikeys?customerId=cust-1", status: 200},
		{name: "list_limit_1", method: "GET", path: "/apikeys?limit=1", status: 200,
			after: func(t *testing.T, h *harness, ids map[string]string) {
				var p1 struct{ Position string }
				_ = json.Unmarshal(h.do("GET", "/apikeys?limit=1", "").Body, &p1)
				if p1.Position == "" {
					t.Fatal("first page has no position")
				}
				r := h.do("GET", "/apikeys?limit=1&position="+p1.Position, "")
				golden(t, "apikeys_list_limit_1_page_2", r, akPlaceholders(r.Body, ids))
			}},
		{name: "list_bad_limit", method: "GET", path: "/apikeys?limit=ten", status: 400, errType: "BadRequestException"},
		{name: "list_bad_position", method: "GET", path: "/apikeys?position=%21%21", status: 400, errType: "BadRequestException"},
		{name: "list_other_region_is_empty", method: "GET", path: "/apikeys", status: 200,
			setup: func(h *harness, _ map[string]string) { h.srv = New(h.svc, akRegion("ap-south-1")) }},
	})
}

// akRegion authenticates every request into one region.
type akRegion string

func (f akRegion) Authenticate(*http.Request, []byte) (string, error) { return string(f), nil }

func TestUpdateApiKey(t *testing.T) {
	patchBody := func(ops ...string) string { return `{"patchOperations":[` + strings.Join(ops, ",") + `]}` }
	unchanged := func(t *testing.T, h *harness, ids map[string]string) {
		akWantBody(t, h, "GET", akExpand("/apikeys/{alpha}", ids), 200, `"name":"alpha"`, `"description":"first key"`, `"enabled":true`, `"lastUpdatedDate":1789300800`)
	}
	runAKCases(t, "apikeys_", []akCase{
		{name: "update_replace_all", method: "PATCH", path: "/apikeys/{beta}", status: 200, body: patchBody(
			`{"op":"replace","path":"/name","value":"renamed"}`, `{"op":"replace","path":"/description","value":"desc"}`,
			`{"op":"replace","path":"/enabled","value":"TRUE"}`, `{"op":"replace","path":"/customerId","value":"c-2"}`)},
		{name: "update_enabled_not_boolean", method: "PATCH", path: "/apikeys/{alpha}", status: 200,
			body: patchBody(`{"op":"replace","path":"/enabled","value":"not-a-boolean"}`)},
		{name: "update_clear_name", method: "PATCH", path: "/apikeys/{alpha}", status: 200,
			body: patchBody(`{"op":"replace","path":"/name","value":""}`, `{"op":"replace","path":"/description"}`)},
		{name: "update_stages", method: "PATCH", path: "/apikeys/{alpha}", status: 200, body: patchBody(
			`{"op":"add","path":"/stages","value":"a1/dev"}`, `{"op":"add","path":"/stages","value":"a1/prod"}`,
			`{"op":"add","path":"/stages","value":"a1/dev"}`, `{"op":"remove","path":"/stages","value":"a1/prod"}`)},
		{name: "update_empty", method: "PATCH", path: "/apikeys/{alpha}", status: 200, body: patchBody(), after: unchanged},
		{name: "update_bad_replace_path", method: "PATCH", path: "/apikeys/{alpha}", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"replace","path":"/name","value":"x"}`, `{"op":"replace","path":"/value","value":"other-value-0123456789"}`), after: unchanged},
		{name: "update_bad_add_path", method: "PATCH", path: "/apikeys/{alpha}", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"add","path":"/name","value":"x"}`)},
		{name: "update_bad_move", method: "PATCH", path: "/apikeys/{alpha}", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"move","path":"/name","from":"/description"}`)},
		{name: "update_bad_stage_value", method: "PATCH", path: "/apikeys/{alpha}", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"add","path":"/stages","value":"nostage"}`)},
		{name: "update_description_too_long", method: "PATCH", path: "/apikeys/{alpha}", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"replace","path":"/description","value":"` + strings.Repeat("d", 125001) + `"}`), after: unchanged},
		{name: "update_name_too_long", method: "PATCH", path: "/apikeys/{alpha}", status: 400, errType: "BadRequestException",
			body: patchBody(`{"op":"replace","path":"/name","value":"` + strings.Repeat("n", 1025) + `"}`)},
		{name: "update_bad_op", method: "PATCH", path: "/apikeys/{alpha}", status: 400, errType: "ValidationException",
			body: patchBody(`{"op":"replace","path":"/name","value":"x"}`, `{"op":"update","path":"/name","value":"y"}`), after: unchanged},
		{name: "update_unknown", method: "PATCH", path: "/apikeys/nosuchkey0", status: 404, errType: "NotFoundException",
			body: patchBody(`{"op":"replace","path":"/value","value":"x"}`)},
	})
}

func TestDeleteApiKey(t *testing.T) {
	runAKCases(t, "apikeys_", []akCase{
		{name: "delete", method: "DELETE", path: "/apikeys/{alpha}", status: 202,
			after: func(t *testing.T, h *harness, ids map[string]string) {
				akWantBody(t, h, "GET", akExpand("/apikeys/{alpha}", ids), 404, "Invalid API Key identifier specified")
				akWantBody(t, h, "GET", akExpand("/usageplans/{plan}/keys", ids), 200, `"item":[]`)
				akWantBody(t, h, "GET", "/apikeys", 200, `"name":"beta"`)
			},
			setup: func(h *harness, ids map[string]string) {
				ids["{plan}"] = h.akMustID("POST", "/usageplans", `{"name":"plan"}`)
				h.akMustID("POST", akExpand("/usageplans/{plan}/keys", ids), akExpand(`{"keyId":"{alpha}","keyType":"API_KEY"}`, ids))
			}},
		{name: "delete_unknown", method: "DELETE", path: "/apikeys/nosuchkey0", status: 404, errType: "NotFoundException"},
	})
}

func TestImportApiKeys(t *testing.T) {
	const gamma, delta = "gamma-value-0123456789abcdef", "delta-value-0123456789abcdef"
	planSetup := func(h *harness, ids map[string]string) {
		ids["{plan}"] = h.akMustID("POST", "/usageplans", `{"name":"plan"}`)
	}
	runAKCases(t, "apikeys_", []akCase{
		{name: "import", method: "POST", path: "/apikeys?mode=import&format=csv", status: 201, setup: planSetup,
			body: "\uFEFFkey,name, description, enabled, usageplanIds\r\n" + gamma + ",gamma,imported,tRuE,'{plan}'\r\n" + akAlphaValue + ",alpha2,,false,\r\n",
			after: func(t *testing.T, h *harness, ids map[string]string) {
				akWantBody(t, h, "GET", akExpand("/apikeys/{alpha}", ids), 200, `"name":"alpha2"`, `"enabled":false`, `"customerId":"cust-1"`)
				akWantBody(t, h, "GET", akExpand("/usageplans/{plan}/keys", ids), 200, `"name":"gamma"`, `"value":"`+gamma+`"`)
			}},
		{name: "import_warnings", method: "POST", path: "/apikeys?mode=import&format=csv&failonwarnings=false", status: 201,
			body: "Name,Key,UsagePlanIds\n,no-name-0123456789abcdef\nshort,abc\ngamma," + gamma + "\ndelta," + delta + ",nosuch\n"},
		{name: "import_fail_on_warnings", method: "POST", path: "/apikeys?mode=import&format=csv&failonwarnings=true", status: 400, errType: "BadRequestException",
			body: "Name,Key\ngamma," + gamma + "\nshort,abc\n",
			after: func(t *testing.T, h *harness, _ map[string]string) {
				if r := h.do("GET", "/apikeys?name=gamma", ""); !strings.Contains(string(r.Body), `"item":[]`) {
					t.Errorf("failonwarnings=true imported something: %s", r.Body)
				}
			}},
		{name: "import_nothing", method: "POST", path: "/apikeys?mode=import&format=csv", status: 201, body: "Name,Key\n"},
		{name: "import_missing_key_column", method: "POST", path: "/apikeys?mode=import&format=csv", status: 400, errType: "BadRequestException",
			body: "Name,Value\ngamma," + gamma + "\n"},
		{name: "import_missing_name_column", method: "POST", path: "/apikeys?mode=import&format=csv", status: 400, errType: "BadRequestException",
			body: "Key\n" + gamma + "\n"},
		{name: "import_bad_format", method: "POST", path: "/apikeys?mode=import&format=json", status: 400, errType: "BadRequestException",
			body: "Name,Key\n"},
	})
}

// TestImportApiKeysBigBody checks that the import route accepts bodies over the JSON cap.
func TestImportApiKeysBigBody(t *testing.T) {
	h := newHarness(t)
	var b strings.Builder
	b.WriteString("Name,Key,Description\n")
	desc := strings.Repeat("d", 100000)
	for i := 0; b.Len() <= MaxJSONBody; i++ {
		b.WriteString("k" + strconv.Itoa(i) + ",value-" + strconv.Itoa(1000000+i) + "-0123456789abc," + desc + "\n")
	}
	r := h.do("POST", "/apikeys?mode=import&format=csv", b.String())
	if r.Status != 201 {
		t.Fatalf("%d %.300s", r.Status, r.Body)
	}
}
