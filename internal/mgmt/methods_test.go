package mgmt

import (
	"fmt"
	"testing"
)

// Method-level paths of the fixture.
const (
	petsGET = "/restapis/@api/resources/@pets/methods/GET"
	petGET  = "/restapis/@api/resources/@pet/methods/GET"
)

// hasMember checks presence (want != nil: equal value) of a top-level member of the response.
func hasMember(name string, want any) func(*testing.T, *rtFixture, response) {
	return func(t *testing.T, _ *rtFixture, r response) {
		t.Helper()
		got, ok := rtJSON(t, r)[name]
		switch {
		case want == nil && ok:
			t.Errorf("%s present (%v), want absent", name, got)
		case want != nil && fmt.Sprint(got) != fmt.Sprint(want):
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestPutMethod(t *testing.T) {
	runRTCases(t, "methods_put", []rtCase{
		{name: "full", method: "PUT", path: "/restapis/@api/resources/@pet/methods/get",
			body: `{"authorizationType":"NONE","apiKeyRequired":true,"operationName":"GetPet",
				"requestParameters":{"method.request.path.petId":true,"method.request.header.X-Trace":false},
				"requestModels":{"application/json":"Empty"}}`,
			status: 201, golden: "full",
			check: func(t *testing.T, f *rtFixture, _ response) {
				f.must("GET", petGET, "", 200)
			}},
		{name: "minimal, lower-case auth", method: "PUT", path: petGET, body: `{"authorizationType":"none"}`, status: 201, golden: "minimal"},
		{name: "empty maps echoed", method: "PUT", path: petGET, body: `{"authorizationType":"NONE","requestParameters":{},"requestModels":{}}`,
			status: 201, check: func(t *testing.T, f *rtFixture, r response) {
				hasMember("requestParameters", map[string]any{})(t, f, r)
				hasMember("requestModels", map[string]any{})(t, f, f.do("GET", petGET, ""))
			}},
		{name: "exists", method: "PUT", path: "/restapis/@api/resources/@pets/methods/get", body: `{"authorizationType":"NONE"}`,
			status: 409, errType: rtConflict, message: "Method already exists for this resource", golden: "exists"},
		{name: "bad verb", method: "PUT", path: "/restapis/@api/resources/@pet/methods/FETCH", body: `{"authorizationType":"NONE"}`,
			status: 400, errType: rtBad, message: "Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY", golden: "bad_verb"},
		{name: "fake api before verb", method: "PUT", path: "/restapis/nope/resources/@pet/methods/FETCH", body: `{"authorizationType":"NONE"}`,
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
		{name: "fake resource", method: "PUT", path: "/restapis/@api/resources/nope/methods/GET", body: `{"authorizationType":"NONE"}`,
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified", golden: "unknown_resource"},
		{name: "parameter names not unique", method: "PUT", path: petGET,
			body:   `{"authorizationType":"NONE","requestParameters":{"method.request.path.id":true,"method.request.querystring.id":false}}`,
			status: 400, errType: rtBad, message: "Parameter names must be unique across querystring, header and path"},
		{name: "bad parameter key", method: "PUT", path: petGET, body: `{"authorizationType":"NONE","requestParameters":{"method.request.body.x":true}}`,
			status: 400, errType: rtBad,
			message: "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: method.request.body.x]"},
		{name: "custom without authorizer", method: "PUT", path: petGET, body: `{"authorizationType":"CUSTOM","authorizerId":"abc"}`,
			status: 400, errType: rtBad,
			message: "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."},
		{name: "unknown validator", method: "PUT", path: petGET, body: `{"authorizationType":"NONE","requestValidatorId":"v1"}`,
			status: 400, errType: rtBad, message: "Invalid Request Validator identifier specified"},
		{name: "unknown model", method: "PUT", path: petGET, body: `{"authorizationType":"NONE","requestModels":{"application/json":"Pet"}}`,
			status: 400, errType: rtBad, message: "Invalid model identifier specified: Pet"},
		{name: "missing authorization type", method: "PUT", path: petGET, body: `{}`,
			status: 400, errType: rtValidation,
			message: "1 validation error detected: Value null at 'putMethodInput.authorizationType' failed to satisfy constraint: Member must not be null"},
		{name: "parameter value not a boolean", method: "PUT", path: petGET, body: `{"authorizationType":"NONE","requestParameters":{"method.request.path.x":"yes"}}`,
			status: 400, errType: rtSerial, message: "class java.lang.String can not be converted to an Boolean"},
	})
}

func TestGetMethod(t *testing.T) {
	runRTCases(t, "methods_get", []rtCase{
		{name: "full", method: "GET", path: petsGET, status: 200, golden: "full"},
		{name: "lower-case verb", method: "GET", path: "/restapis/@api/resources/@pets/methods/get", status: 200},
		{name: "unknown method", method: "GET", path: "/restapis/@api/resources/@pets/methods/POST", status: 404, errType: rtNotFound,
			message: "Invalid Method identifier specified", golden: "unknown"},
		{name: "unknown resource", method: "GET", path: "/restapis/@api/resources/nope/methods/GET", status: 404, errType: rtNotFound,
			message: "Invalid Resource identifier specified"},
		{name: "unknown api", method: "GET", path: "/restapis/nope/resources/@pets/methods/GET", status: 404, errType: rtNotFound,
			message: "Invalid Resource identifier specified"},
	})
}

func TestUpdateMethod(t *testing.T) {
	runRTCases(t, "methods_update", []rtCase{
		{name: "api key required", method: "PATCH", path: petsGET, body: rtPatch(rtOp("replace", "/apiKeyRequired", "TRUE")),
			status: 200, golden: "api_key"},
		{name: "anything else is false", pre: []rtStep{{"PATCH", petsGET, rtPatch(rtOp("replace", "/apiKeyRequired", "true")), 200, ""}},
			method: "PATCH", path: petsGET, body: rtPatch(rtOp("replace", "/apiKeyRequired", "whatever")),
			status: 200, check: hasMember("apiKeyRequired", false)},
		{name: "request parameter added", method: "PATCH", path: petsGET, body: rtPatch(rtOp("add", "/requestParameters/method.request.querystring.q", "true")),
			status: 200, check: hasMember("requestParameters", map[string]any{"method.request.querystring.q": true})},
		{name: "last request parameter removed", pre: []rtStep{{"PATCH", petsGET, rtPatch(rtOp("add", "/requestParameters/method.request.querystring.q", "true")), 200, ""}},
			method: "PATCH", path: petsGET, body: rtPatch(rtOpNoValue("remove", "/requestParameters/method.request.querystring.q")),
			status: 200, check: hasMember("requestParameters", nil)},
		{name: "request parameters without key", method: "PATCH", path: petsGET, body: rtPatch(rtOp("replace", "/requestParameters", "x")),
			status: 400, errType: rtBad, message: "Invalid patch path /requestParameters"},
		{name: "request model", method: "PATCH", path: petsGET, body: rtPatch(rtOp("add", "/requestModels/application~1json", "Error")),
			status: 200, check: hasMember("requestModels", map[string]any{"application/json": "Error"})},
		{name: "request model unescaped", method: "PATCH", path: petsGET, body: rtPatch(rtOp("add", "/requestModels/application/json", "Empty")),
			status: 400, errType: rtBad, message: "Invalid patch path /requestModels/application/json"},
		{name: "add operation name", method: "PATCH", path: petsGET, body: rtPatch(rtOp("add", "/operationName", "x")),
			status: 400, errType: rtBad, message: "Invalid patch operation specified. Must be one of: [replace]"},
		{name: "unknown path", method: "PATCH", path: petsGET, body: rtPatch(rtOp("add", "/httpMethod", "POST")),
			status: 400, errType: rtBad, message: "Invalid patch path /httpMethod"},
		{name: "authorizer ignored without custom auth", method: "PATCH", path: petsGET, body: rtPatch(rtOp("replace", "/authorizerId", "abc")),
			status: 200, check: hasMember("authorizerId", nil)},
		{name: "custom without authorizer", method: "PATCH", path: petsGET, body: rtPatch(rtOp("replace", "/authorizationType", "CUSTOM")),
			status: 400, errType: rtBad,
			message: "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer."},
		{name: "bad validator", method: "PATCH", path: petsGET, body: rtPatch(rtOp("replace", "/requestValidatorId", "v1")),
			status: 400, errType: rtBad, message: "Invalid Request Validator identifier specified"},
		{name: "bad op", method: "PATCH", path: petsGET, body: rtPatch(rtOp("wrong", "/apiKeyRequired", "true")),
			status: 400, errType: rtValidation,
			message: "1 validation error detected: Value 'wrong' at 'updateMethodInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]"},
		{name: "unknown method", method: "PATCH", path: petGET, body: rtPatch(rtOp("replace", "/apiKeyRequired", "true")),
			status: 404, errType: rtNotFound, message: "Invalid Method identifier specified"},
		{name: "unknown api", method: "PATCH", path: "/restapis/nope/resources/@pets/methods/GET", body: rtPatch(rtOp("replace", "/apiKeyRequired", "true")),
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
	})
}

func TestDeleteMethod(t *testing.T) {
	runRTCases(t, "methods_delete", []rtCase{
		{name: "deleted with integration", method: "DELETE", path: petsGET, status: 204,
			check: func(t *testing.T, f *rtFixture, r response) {
				if len(r.Body) != 0 {
					t.Errorf("body %q", r.Body)
				}
				f.must("GET", petsGET, "", 404)
				f.must("PUT", petsGET, `{"authorizationType":"NONE"}`, 201)
				f.must("GET", petsGET+"/integration", "", 404)
				f.must("GET", petsGET+"/responses/200", "", 404)
			}},
		{name: "unknown", method: "DELETE", path: petGET, status: 404, errType: rtNotFound, message: "Invalid Method identifier specified"},
	})
}

func TestMethodResponses(t *testing.T) {
	const badStatus = "Value 'wrong' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\\d\\d"
	runRTCases(t, "methods_responses", []rtCase{
		{name: "put", method: "PUT", path: petsGET + "/responses/404",
			body: `{"responseParameters":{"method.response.header.X-Id":true},"responseModels":{}}`, status: 201, golden: "put"},
		{name: "put bare", method: "PUT", path: petsGET + "/responses/500", body: ``, status: 201, golden: "put_bare"},
		{name: "put exists", method: "PUT", path: petsGET + "/responses/200", body: `{}`, status: 409, errType: rtConflict,
			message: "Response already exists for this resource", golden: "put_exists"},
		{name: "put bad status", method: "PUT", path: petsGET + "/responses/wrong", body: `{}`, status: 400, errType: rtValidation,
			message: "1 validation error detected: " + badStatus, golden: "bad_status"},
		{name: "put bad status on fake api", method: "PUT", path: "/restapis/nope/resources/@pets/methods/GET/responses/600", body: `{}`,
			status: 400, errType: rtValidation,
			message: "1 validation error detected: Value '600' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\\d\\d"},
		{name: "put unknown method", method: "PUT", path: petGET + "/responses/200", body: `{}`, status: 404, errType: rtNotFound,
			message: "Invalid Method identifier specified"},
		{name: "put fake api", method: "PUT", path: "/restapis/nope/resources/@pets/methods/GET/responses/200", body: `{}`,
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
		{name: "put unknown model", method: "PUT", path: petsGET + "/responses/404", body: `{"responseModels":{"application/json":"Pet"}}`,
			status: 400, errType: rtBad, message: "Invalid model identifier specified: Pet"},
		{name: "put bad parameter", method: "PUT", path: petsGET + "/responses/404", body: `{"responseParameters":{"method.response.body":true}}`,
			status: 400, errType: rtBad,
			message: "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: method.response.body]"},
		{name: "get", method: "GET", path: petsGET + "/responses/200", status: 200, golden: "get"},
		{name: "get unknown", method: "GET", path: petsGET + "/responses/404", status: 404, errType: rtNotFound,
			message: "Invalid Response status code specified", golden: "get_unknown"},
		{name: "update", method: "PATCH", path: petsGET + "/responses/200",
			body:   rtPatch(rtOp("add", "/responseParameters/method.response.header.X-Id", "true"), rtOpNoValue("remove", "/responseModels/application~1json")),
			status: 201, golden: "update"},
		{name: "update missing parameter", method: "PATCH", path: petsGET + "/responses/200",
			body: rtPatch(rtOpNoValue("remove", "/responseParameters/method.response.header.X-Id")), status: 404, errType: rtNotFound,
			message: "Invalid parameter name specified"},
		{name: "update missing model", method: "PATCH", path: petsGET + "/responses/200",
			body: rtPatch(rtOpNoValue("remove", "/responseModels/text~1plain")), status: 404, errType: rtNotFound,
			message: "Content-Type specified was not found"},
		{name: "update other path", method: "PATCH", path: petsGET + "/responses/200", body: rtPatch(rtOp("replace", "/statusCode", "201")),
			status: 400, errType: rtBad, message: "Invalid patch path /statusCode"},
		{name: "update bad op and status", method: "PATCH", path: petsGET + "/responses/wrong", body: rtPatch(rtOp("wrong", "/x", "y")),
			status: 400, errType: rtValidation,
			message: "2 validation errors detected: Value 'wrong' at 'updateMethodResponseInput.patchOperations.1.member.op' failed to satisfy constraint: Member must satisfy enum value set: [add, remove, move, test, replace, copy]; " + badStatus},
		{name: "update unknown", method: "PATCH", path: petsGET + "/responses/404", body: rtPatch(), status: 404, errType: rtNotFound,
			message: "Invalid Response status code specified"},
		{name: "delete", method: "DELETE", path: petsGET + "/responses/200", status: 204,
			check: func(t *testing.T, f *rtFixture, _ response) {
				f.must("GET", petsGET+"/responses/200", "", 404)
				if _, ok := f.must("GET", petsGET, "", 200)["methodResponses"]; ok {
					t.Error("methodResponses still present")
				}
			}},
		{name: "delete unknown", method: "DELETE", path: petsGET + "/responses/404", status: 404, errType: rtNotFound,
			message: "Invalid Response status code specified"},
	})
}
