package mgmt

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/control"
)

func TestCreateRestApi(t *testing.T) {
	const typesErr = "Value '[wrong]' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [PRIVATE, EDGE, REGIONAL]]"
	const ipErr = "Value 'wrong' at 'createRestApiInput.endpointConfiguration.ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, dualstack]"
	runRTCases(t, "restapis_create", []rtCase{
		{name: "minimal", method: "POST", path: "/restapis", body: `{"name":"a"}`, status: 201, golden: "minimal"},
		{name: "all members", method: "POST", path: "/restapis", body: `{"name":"full","description":"d","version":"v1",
			"binaryMediaTypes":["image/png"],"minimumCompressionSize":0,"apiKeySource":"AUTHORIZER",
			"endpointConfiguration":{"types":["REGIONAL"]},
			"tags":{"k":"v"},"disableExecuteApiEndpoint":true}`, status: 201, golden: "full"},
		// Tollgate does not evaluate IAM policy documents: a policy is refused, never stored and ignored.
		{name: "resource policy refused", method: "POST", path: "/restapis", body: `{"name":"a","policy":"{ \"Version\": \"2012-10-17\" }"}`,
			status: 400, errType: rtBad, message: control.MsgPolicyUnsupported},
		{name: "empty tags echoed", method: "POST", path: "/restapis", body: `{"name":"a","tags":{},"binaryMediaTypes":[]}`, status: 201, golden: "empty_tags"},
		{name: "private defaults to dualstack", method: "POST", path: "/restapis", body: `{"name":"a","endpointConfiguration":{"types":["PRIVATE"]}}`, status: 201, golden: "private"},
		{name: "bad endpoint type", method: "POST", path: "/restapis", body: `{"name":"a","endpointConfiguration":{"types":["wrong"]}}`,
			status: 400, errType: rtValidation, message: "1 validation error detected: " + typesErr, golden: "bad_type"},
		{name: "bad ip address type", method: "POST", path: "/restapis", body: `{"name":"a","endpointConfiguration":{"types":["EDGE"],"ipAddressType":"wrong"}}`,
			status: 400, errType: rtValidation, message: "1 validation error detected: " + ipErr},
		{name: "both enum errors", method: "POST", path: "/restapis", body: `{"name":"a","endpointConfiguration":{"types":["wrong"],"ipAddressType":"wrong"}}`,
			status: 400, errType: rtValidation, message: "2 validation errors detected: " + typesErr + "; " + ipErr},
		{name: "no types", method: "POST", path: "/restapis", body: `{"name":"a","endpointConfiguration":{"types":[]}}`,
			status: 400, errType: rtBad, message: "REGIONAL Configuration and EDGE Configuration cannot be both DISABLED."},
		{name: "two types", method: "POST", path: "/restapis", body: `{"name":"a","endpointConfiguration":{"types":["EDGE","REGIONAL"]}}`,
			status: 400, errType: rtBad, message: "Cannot create an api with multiple Endpoint Types."},
		{name: "empty description before compression", method: "POST", path: "/restapis", body: `{"name":"a","description":"","minimumCompressionSize":-1}`,
			status: 400, errType: rtBad, message: "Description cannot be an empty string", golden: "empty_description"},
		{name: "negative compression", method: "POST", path: "/restapis", body: `{"name":"a","minimumCompressionSize":-1}`,
			status: 400, errType: rtBad, message: "Invalid minimum compression size, must be between 0 and 10485760"},
		{name: "huge compression", method: "POST", path: "/restapis", body: `{"name":"a","minimumCompressionSize":10485761}`,
			status: 400, errType: rtBad, message: "Invalid minimum compression size, must be between 0 and 10485760"},
		{name: "private with ipv4", method: "POST", path: "/restapis", body: `{"name":"a","endpointConfiguration":{"types":["PRIVATE"],"ipAddressType":"ipv4"}}`,
			status: 400, errType: rtBad, message: "Only dualstack ipAddressType is supported for Private APIs."},
		{name: "bad api key source", method: "POST", path: "/restapis", body: `{"name":"a","apiKeySource":"QUERY"}`,
			status: 400, errType: rtValidation, message: "1 validation error detected: Value 'QUERY' at 'createRestApiInput.apiKeySource' failed to satisfy constraint: Member must satisfy enum value set: [HEADER, AUTHORIZER]"},
		{name: "missing name", method: "POST", path: "/restapis", body: `{}`,
			status: 400, errType: rtValidation, message: "1 validation error detected: Value null at 'createRestApiInput.name' failed to satisfy constraint: Member must not be null"},
		{name: "name not a string", method: "POST", path: "/restapis", body: `{"name":123}`,
			status: 400, errType: rtSerial, message: "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"},
		{name: "clone", method: "POST", path: "/restapis", body: `{"name":"copy","cloneFrom":"@api"}`, status: 201,
			check: func(t *testing.T, f *rtFixture, r response) {
				res := rtJSON(t, f.do("GET", "/restapis/@new/resources?embed=methods", ""))
				if n := len(res["item"].([]any)); n != 3 {
					t.Fatalf("clone has %d resources, want 3: %v", n, res)
				}
			}},
		{name: "clone of unknown api", method: "POST", path: "/restapis", body: `{"name":"copy","cloneFrom":"nope"}`,
			status: 404, errType: rtNotFound, message: "Invalid API identifier specified 123456789012:nope"},
	})
}

func TestGetRestApi(t *testing.T) {
	runRTCases(t, "restapis_get", []rtCase{
		{name: "found, tags always", method: "GET", path: "/restapis/@api", status: 200, golden: "ok"},
		{name: "unknown", method: "GET", path: "/restapis/nope", status: 404, errType: rtNotFound,
			message: "Invalid API identifier specified 123456789012:nope", golden: "unknown"},
	})
}

func TestGetRestApiIdsAreCaseSensitive(t *testing.T) {
	f := newRTFixture(t)
	lower := f.must("POST", "/restapis", `{"name":"x"}`, 201)["id"].(string)
	upper := strings.ToUpper(lower)
	if upper == lower {
		t.Skip("generated id has no letters")
	}
	r := f.do("GET", "/restapis/"+upper, "")
	if r.Status != http.StatusNotFound {
		t.Fatalf("upper-cased id: status %d, want 404", r.Status)
	}
}

func TestGetRestApisPaging(t *testing.T) {
	f := newRTFixture(t)
	f.must("POST", "/restapis", `{"name":"second","tags":{"team":"a"}}`, 201)
	f.must("POST", "/restapis", `{"name":"third"}`, 201)
	var names []string
	path := "/restapis?limit=2"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		body := f.must("GET", path, "", 200)
		for _, it := range body["item"].([]any) {
			m := it.(map[string]any)
			names = append(names, m["name"].(string))
			_, hasTags := m["tags"]
			if hasTags != (m["name"] == "second") {
				t.Errorf("%s: tags present=%v (items show tags only when non-empty)", m["name"], hasTags)
			}
		}
		pos, ok := body["position"].(string)
		if !ok {
			break
		}
		path = "/restapis?limit=2&position=" + pos
	}
	if want := []string{"pets-api", "second", "third"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	golden(t, "restapis_list", f.do("GET", "/restapis?limit=1", ""), f.subst())
}

func TestUpdateRestApi(t *testing.T) {
	const p = "/restapis/@api"
	member := func(name string, want any) func(*testing.T, *rtFixture, response) {
		return func(t *testing.T, f *rtFixture, r response) {
			t.Helper()
			got := rtJSON(t, r)[name]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
	}
	runRTCases(t, "restapis_update", []rtCase{
		{name: "name and description", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/name", "renamed"), rtOp("replace", "/description", "new")),
			status: 200, golden: "ok"},
		{name: "remove description", pre: []rtStep{{"PATCH", p, rtPatch(rtOp("replace", "/description", "x")), 200, ""}},
			method: "PATCH", path: p, body: rtPatch(rtOpNoValue("remove", "/description")), status: 200, check: member("description", nil)},
		{name: "binary media types", method: "PATCH", path: p,
			body: rtPatch(rtOp("add", "/binaryMediaTypes/image~1png", "ignored"), rtOp("add", "/binaryMediaTypes/-", ""),
				rtOp("add", "/binaryMediaTypes/text~1csv", ""), rtOp("replace", "/binaryMediaTypes/image~1png", "image/gif")),
			status: 200, check: member("binaryMediaTypes", []any{"-", "text/csv", "image/gif"})},
		{name: "remove last binary media type drops member", pre: []rtStep{{"PATCH", p, rtPatch(rtOp("add", "/binaryMediaTypes/a~1b", "")), 200, ""}},
			method: "PATCH", path: p, body: rtPatch(rtOpNoValue("remove", "/binaryMediaTypes/a~1b")), status: 200, check: member("binaryMediaTypes", nil)},
		{name: "bare binaryMediaTypes", method: "PATCH", path: p, body: rtPatch(rtOp("add", "/binaryMediaTypes", "a/b")),
			status: 400, errType: rtBad, message: "Invalid patch path /binaryMediaTypes"},
		{name: "compression size", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/minimumCompressionSize", "0")),
			status: 200, check: member("minimumCompressionSize", 0)},
		{name: "compression size cleared", pre: []rtStep{{"PATCH", p, rtPatch(rtOp("replace", "/minimumCompressionSize", "5")), 200, ""}},
			method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/minimumCompressionSize", "")), status: 200, check: member("minimumCompressionSize", nil)},
		{name: "compression size negative", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/minimumCompressionSize", "-1")),
			status: 400, errType: rtBad, message: "Invalid minimum compression size, must be between 0 and 10485760"},
		{name: "compression size not a number", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/minimumCompressionSize", "test")),
			status: 400, errType: rtBad, message: "Invalid minimum compression size, must be between 0 and 10485760"},
		{name: "compression size add", method: "PATCH", path: p, body: rtPatch(rtOp("add", "/minimumCompressionSize", "1")),
			status: 400, errType: rtBad, message: "Invalid patch operation specified. Must be one of: [replace]"},
		{name: "endpoint to private", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/endpointConfiguration/types/0", "PRIVATE")),
			status: 200, golden: "private"},
		{name: "endpoint bad type", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/endpointConfiguration/types/0", "wrong")),
			status: 400, errType: rtBad, message: "Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE"},
		{name: "endpoint remove", method: "PATCH", path: p, body: rtPatch(rtOpNoValue("remove", "/endpointConfiguration/types/0")),
			status: 400, errType: rtBad, message: "Invalid patch operation specified. Must be 'add'|'remove'|'replace'"},
		{name: "ip address type", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/endpointConfiguration/ipAddressType", "dualstack")),
			status: 200, check: member("endpointConfiguration", map[string]any{"types": []any{"EDGE"}, "ipAddressType": "dualstack"})},
		{name: "ip address type bad", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/endpointConfiguration/ipAddressType", "v6")),
			status: 400, errType: rtBad, message: "ipAddressType must be either ipv4 or dualstack."},
		{name: "ipv4 on private", pre: []rtStep{{"PATCH", p, rtPatch(rtOp("replace", "/endpointConfiguration/types/0", "PRIVATE")), 200, ""}},
			method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/endpointConfiguration/ipAddressType", "ipv4")),
			status: 400, errType: rtBad, message: "Only dualstack ipAddressType is supported for Private APIs."},
		{name: "ip address type remove", method: "PATCH", path: p, body: rtPatch(rtOpNoValue("remove", "/endpointConfiguration/ipAddressType")),
			status: 400, errType: rtBad, message: "Invalid patch operation specified. Must be one of: [replace]"},
		{name: "api key source", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/apiKeySource", "AUTHORIZER")),
			status: 200, check: member("apiKeySource", "AUTHORIZER")},
		{name: "disable endpoint", method: "PATCH", path: p,
			body:   rtPatch(rtOp("replace", "/disableExecuteApiEndpoint", "true"), rtOp("remove", "/policy", "")),
			status: 200, golden: "policy"},
		{name: "policy refused", method: "PATCH", path: p,
			body:   rtPatch(rtOp("replace", "/disableExecuteApiEndpoint", "true"), rtOp("replace", "/policy", `{"Version": "2012-10-17"}`)),
			status: 400, errType: rtBad, message: control.MsgPolicyUnsupported},
		{name: "unknown path", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/version", "2")),
			status: 400, errType: rtBad, message: "Invalid patch path /version"},
		{name: "bad op", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/name", "x"), rtOp("wrong", "/name", "x")),
			status: 400, errType: rtValidation,
			message: "1 validation error detected: Value 'wrong' at 'updateRestApiInput.patchOperations.2.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
		{name: "all or nothing", method: "PATCH", path: p, body: rtPatch(rtOp("replace", "/name", "changed"), rtOp("replace", "/minimumCompressionSize", "-1")),
			status: 400, errType: rtBad, message: "Invalid minimum compression size, must be between 0 and 10485760",
			check: func(t *testing.T, f *rtFixture, _ response) {
				if got := f.must("GET", p, "", 200)["name"]; got != "pets-api" {
					t.Errorf("name changed to %v by a failed update", got)
				}
			}},
		{name: "unknown api", method: "PATCH", path: "/restapis/nope", body: rtPatch(rtOp("replace", "/name", "x")),
			status: 404, errType: rtNotFound, message: "Invalid API identifier specified 123456789012:nope"},
		{name: "value not a string", method: "PATCH", path: p, body: `{"patchOperations":[{"op":"replace","path":"/name","value":true}]}`,
			status: 400, errType: rtSerial, message: "class java.lang.Boolean can not be converted to an String"},
	})
}

func TestDeleteRestApi(t *testing.T) {
	runRTCases(t, "restapis_delete", []rtCase{
		{name: "deleted", method: "DELETE", path: "/restapis/@api", status: 202,
			check: func(t *testing.T, f *rtFixture, r response) {
				if len(r.Body) != 0 {
					t.Errorf("body %q, want empty", r.Body)
				}
				f.must("GET", "/restapis/@api", "", 404)
				f.must("GET", "/restapis/@api/resources/@pets", "", 404)
				if items := f.must("GET", "/restapis", "", 200)["item"].([]any); len(items) != 0 {
					t.Errorf("GetRestApis still lists %v", items)
				}
			}},
		{name: "unknown", method: "DELETE", path: "/restapis/nope", status: 404, errType: rtNotFound,
			message: "Invalid API identifier specified 123456789012:nope"},
	})
}
