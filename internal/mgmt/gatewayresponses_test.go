package mgmt

import (
	"net/http"
	"strings"
	"testing"
)

// TestGatewayResponsesAPI follows the AWS-recorded gateway response sequences: defaults on a new
// API, put (members left out take the type's defaults), the class inheritance GetGatewayResponses
// shows, update from a default, delete back to the default, and the recorded error texts.
func TestGatewayResponsesAPI(t *testing.T) {
	h := newDeployHarness(t)
	const base = "/restapis/a1b2c3d4e5/gatewayresponses"
	tmpl := `{\n \"message\": $context.error.messageString,\n \"type\": \"$context.error.responseType\"\n}`
	steps := []apiStep{
		{name: "get_default", method: http.MethodGet, path: base + "/MISSING_AUTHENTICATION_TOKEN", status: 200},
		{name: "put", method: http.MethodPut, path: base + "/MISSING_AUTHENTICATION_TOKEN", status: 201,
			body: `{"statusCode":"404","responseParameters":{"gatewayresponse.header.x-request-path":"method.request.path.petId","gatewayresponse.header.Access-Control-Allow-Origin":"'a.b.c'"},"responseTemplates":{"application/json":"` + tmpl + `"}}`},
		{name: "put_status_only", method: http.MethodPut, path: base + "/THROTTLED", body: `{"statusCode":"430"}`, status: 201},
		{name: "put_default_5xx", method: http.MethodPut, path: base + "/DEFAULT_5XX", status: 201,
			body: `{"statusCode":"599","responseParameters":{"gatewayresponse.header.x-a":"'b'"}}`},
		// A type put without a status after DEFAULT_5XX has one keeps its own default (500).
		{name: "put_default_ignored", method: http.MethodPut, path: base + "/AUTHORIZER_FAILURE", body: `{"responseParameters":{"gatewayresponse.header.foo":"'bar'"}}`, status: 201},
		{name: "list", method: http.MethodGet, path: base, status: 200},
		// No pagination (the model's word): a limit does not cut the collection.
		{method: http.MethodGet, path: base + "?limit=3", status: 200, check: func(t *testing.T, r response) {
			if strings.Count(string(r.Body), `"responseType"`) != 21 || !strings.HasPrefix(string(r.Body), `{"item":[`) {
				t.Fatalf("limit=3: %s", r.Body)
			}
		}},
		{name: "get_inherited", method: http.MethodGet, path: base + "/INTEGRATION_TIMEOUT", status: 200},
		{name: "delete", method: http.MethodDelete, path: base + "/MISSING_AUTHENTICATION_TOKEN", status: 202},
		{method: http.MethodGet, path: base + "/MISSING_AUTHENTICATION_TOKEN", status: 200, check: func(t *testing.T, r response) {
			if !strings.Contains(string(r.Body), `"defaultResponse":true`) || !strings.Contains(string(r.Body), `"statusCode":"403"`) {
				t.Fatalf("after delete: %s", r.Body)
			}
		}},
		{name: "update_not_set", method: http.MethodPatch, path: base + "/DEFAULT_4XX", status: 200,
			body: `{"patchOperations":[{"op":"replace","path":"/statusCode","value":"444"}]}`},
		{name: "update", method: http.MethodPatch, path: base + "/DEFAULT_4XX", status: 200,
			body: `{"patchOperations":[{"op":"add","path":"/responseParameters/gatewayresponse.header.x-b","value":"'1'"},{"op":"replace","path":"/responseParameters/gatewayresponse.header.x-b","value":"'2'"},{"op":"add","path":"/responseTemplates/application~1xml","value":"<m>$context.error.messageString</m>"}]}`},
		{name: "update_add_status", method: http.MethodPatch, path: base + "/DEFAULT_4XX", status: 400, errType: "BadRequestException",
			body: `{"patchOperations":[{"op":"add","path":"/statusCode","value":"444"}]}`},
		{name: "update_replace_missing_param", method: http.MethodPatch, path: base + "/DEFAULT_5XX", status: 404, errType: "NotFoundException",
			body: `{"patchOperations":[{"op":"replace","path":"/responseParameters/gatewayresponse.header.nope","value":"'x'"}]}`},
		{name: "update_no_path", method: http.MethodPatch, path: base + "/DEFAULT_4XX", status: 400, errType: "BadRequestException",
			body: `{"patchOperations":[{"op":"add","value":"'x'"}]}`},
		{name: "update_wrong_path", method: http.MethodPatch, path: base + "/DEFAULT_4XX", status: 400, errType: "BadRequestException",
			body: `{"patchOperations":[{"op":"add","path":"/wrongPath","value":"'x'"}]}`},
		{name: "update_wrong_op", method: http.MethodPatch, path: base + "/DEFAULT_4XX", status: 400, errType: "ValidationException",
			body: `{"patchOperations":[{"op":"wrong-op","path":"/statusCode","value":"1"}]}`},
		{name: "update_null_template", method: http.MethodPatch, path: base + "/DEFAULT_4XX", status: 400, errType: "BadRequestException",
			body: `{"patchOperations":[{"op":"replace","path":"/responseTemplates/application~1xml"}]}`},
		{name: "delete_not_set", method: http.MethodDelete, path: base + "/UNAUTHORIZED", status: 404, errType: "NotFoundException"},
		{name: "wrong_type", method: http.MethodGet, path: base + "/FAKE_RESPONSE_TYPE", status: 400, errType: "ValidationException"},
		{name: "no_api", method: http.MethodGet, path: "/restapis/nosuchapi1/gatewayresponses", status: 404, errType: "NotFoundException"},
		{name: "bad_status", method: http.MethodPut, path: base + "/THROTTLED", body: `{"statusCode":"700"}`, status: 400, errType: "ValidationException"},
		{name: "bad_mapping", method: http.MethodPut, path: base + "/THROTTLED", body: `{"responseParameters":{"method.response.header.x":"'a'"}}`, status: 400, errType: "BadRequestException"},
		// A failed write changed nothing.
		{method: http.MethodGet, path: base + "/THROTTLED", status: 200, check: wantBody(`{"defaultResponse":false,"responseParameters":{},"responseTemplates":{"application/json":"{\"message\":$context.error.messageString}"},"responseType":"THROTTLED","statusCode":"430"}`)},
	}
	h.run(t, "gatewayresponses", steps)
}
