package mgmt

import (
	"testing"
)

// petGETMethod gives @pet a GET method without integration.
var petGETMethod = rtStep{"PUT", petGET, `{"authorizationType":"NONE"}`, 201, ""}

const lambdaURI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations"

func TestPutIntegration(t *testing.T) {
	pre := []rtStep{petGETMethod}
	in := petGET + "/integration"
	runRTCases(t, "integrations_put", []rtCase{
		{name: "mock drops backend", pre: pre, method: "PUT", path: in,
			body: `{"type":"MOCK","httpMethod":"GET","uri":"http://example.com","connectionType":"INTERNET"}`, status: 201, golden: "mock"},
		{name: "http defaults", pre: pre, method: "PUT", path: in,
			body:   `{"type":"HTTP","httpMethod":"get","uri":"https://example.com/pets/{id}","requestParameters":{"integration.request.path.id":"method.request.path.petId"}}`,
			status: 201, golden: "http"},
		{name: "http proxy with stage variable host", pre: pre, method: "PUT", path: in,
			body:   `{"type":"HTTP_PROXY","httpMethod":"ANY","uri":"http://${stageVariables.host}/x","timeoutInMillis":50,"passthroughBehavior":"never"}`,
			status: 201, check: hasMember("passthroughBehavior", "NEVER")},
		{name: "aws proxy lambda", pre: pre, method: "PUT", path: in, body: `{"type":"AWS_PROXY","httpMethod":"POST","uri":"` + lambdaURI + `"}`,
			status: 201, golden: "aws_proxy"},
		{name: "empty maps echoed", pre: pre, method: "PUT", path: in, body: `{"type":"MOCK","requestParameters":{},"requestTemplates":{}}`,
			status: 201, check: func(t *testing.T, f *rtFixture, r response) {
				hasMember("requestTemplates", map[string]any{})(t, f, r)
				hasMember("requestTemplates", map[string]any{})(t, f, f.do("GET", in, ""))
			}},
		{name: "bad type", pre: pre, method: "PUT", path: in, body: `{"type":"HTTPS_PROXY"}`, status: 400, errType: rtValidation,
			message: "1 validation error detected: Value 'HTTPS_PROXY' at 'putIntegrationInput.type' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, MOCK, AWS_PROXY, HTTP_PROXY, AWS]",
			golden:  "bad_type"},
		{name: "missing type", pre: pre, method: "PUT", path: in, body: `{}`, status: 400, errType: rtValidation,
			message: "1 validation error detected: Value null at 'putIntegrationInput.type' failed to satisfy constraint: Member must not be null"},
		{name: "http without method", pre: pre, method: "PUT", path: in, body: `{"type":"HTTP","uri":"http://example.com"}`,
			status: 400, errType: rtBad, message: "Enumeration value for HttpMethod must be non-empty"},
		{name: "http bad uri", pre: pre, method: "PUT", path: in, body: `{"type":"HTTP","httpMethod":"GET","uri":"ftp://example.com"}`,
			status: 400, errType: rtBad, message: "Invalid HTTP endpoint specified for URI"},
		{name: "http no uri", pre: pre, method: "PUT", path: in, body: `{"type":"HTTP_PROXY","httpMethod":"GET"}`,
			status: 400, errType: rtBad, message: "Invalid HTTP endpoint specified for URI"},
		{name: "aws not an arn", pre: pre, method: "PUT", path: in, body: `{"type":"AWS","httpMethod":"POST","uri":"lambda"}`,
			status: 400, errType: rtBad, message: "Invalid ARN specified in the request"},
		{name: "aws without path or action", pre: pre, method: "PUT", path: in, body: `{"type":"AWS","httpMethod":"POST","uri":"arn:aws:apigateway:us-east-1:s3:bucket/key"}`,
			status: 400, errType: rtBad, message: "AWS ARN for integration must contain path or action"},
		{name: "aws proxy to s3", pre: pre, method: "PUT", path: in, body: `{"type":"AWS_PROXY","httpMethod":"POST","uri":"arn:aws:apigateway:us-east-1:s3:path/bucket/key"}`,
			status: 400, errType: rtBad, message: "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."},
		{name: "non-string parameter", pre: pre, method: "PUT", path: in, body: `{"type":"MOCK","requestParameters":{"integration.request.header.x":true}}`,
			status: 400, errType: rtSerial, message: "class java.lang.Boolean can not be converted to an String", golden: "serialization"},
		{name: "numeric template", pre: pre, method: "PUT", path: in, body: `{"type":"MOCK","requestTemplates":{"application/json":123}}`,
			status: 400, errType: rtSerial, message: "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"},
		{name: "timeout too small", pre: pre, method: "PUT", path: in, body: `{"type":"MOCK","timeoutInMillis":49}`,
			status: 400, errType: rtBad, message: "Timeout should be between 50 ms and 29000 ms"},
		{name: "timeout too large", pre: pre, method: "PUT", path: in, body: `{"type":"MOCK","timeoutInMillis":29001}`,
			status: 400, errType: rtBad, message: "Timeout should be between 50 ms and 29000 ms"},
		{name: "bad passthrough", pre: pre, method: "PUT", path: in, body: `{"type":"MOCK","passthroughBehavior":"SOMETIMES"}`,
			status: 400, errType: rtBad, message: "Invalid passthrough behavior specified"},
		{name: "unknown method", method: "PUT", path: in, body: `{"type":"MOCK"}`, status: 404, errType: rtNotFound,
			message: "Invalid Method identifier specified"},
		{name: "fake api before type", method: "PUT", path: "/restapis/nope/resources/@pets/methods/GET/integration", body: `{"type":"WRONG"}`,
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
		{name: "replace drops integration responses", method: "PUT", path: petsGET + "/integration", body: `{"type":"MOCK"}`, status: 201,
			check: func(t *testing.T, f *rtFixture, _ response) {
				f.must("GET", petsGET+"/integration/responses/200", "", 404)
			}},
	})
}

func TestGetIntegration(t *testing.T) {
	runRTCases(t, "integrations_get", []rtCase{
		{name: "with responses", method: "GET", path: petsGET + "/integration", status: 200, golden: "ok"},
		{name: "no integration", pre: []rtStep{petGETMethod}, method: "GET", path: petGET + "/integration", status: 404, errType: rtNotFound,
			message: "Invalid Integration identifier specified", golden: "none"},
		{name: "no method", method: "GET", path: petGET + "/integration", status: 404, errType: rtNotFound,
			message: "Invalid Method identifier specified"},
		{name: "fake api", method: "GET", path: "/restapis/nope/resources/@pets/methods/GET/integration", status: 404, errType: rtNotFound,
			message: "Invalid Resource identifier specified"},
	})
}

func TestUpdateIntegration(t *testing.T) {
	in := petsGET + "/integration"
	toHTTP := rtStep{"PUT", in, `{"type":"HTTP","httpMethod":"GET","uri":"http://example.com"}`, 201, ""}
	runRTCases(t, "integrations_update", []rtCase{
		{name: "connection and timeout", pre: []rtStep{toHTTP}, method: "PATCH", path: in,
			body:   rtPatch(rtOp("replace", "/connectionId", "abc"), rtOp("replace", "/timeoutInMillis", "1000"), rtOp("add", "/cacheKeyParameters/method.request.path.petId", "")),
			status: 200, golden: "ok"},
		{name: "mapping added", method: "PATCH", path: in, body: rtPatch(rtOp("add", "/requestParameters/integration.request.header.x", "'static'")),
			status: 200, check: hasMember("requestParameters", map[string]any{"integration.request.header.x": "'static'"})},
		{name: "last template removed", method: "PATCH", path: in, body: rtPatch(rtOpNoValue("remove", "/requestTemplates/application~1json")),
			status: 200, check: hasMember("requestTemplates", nil)},
		{name: "type change validated", method: "PATCH", path: in, body: rtPatch(rtOp("replace", "/type", "HTTP"), rtOp("replace", "/httpMethod", "GET")),
			status: 400, errType: rtBad, message: "Invalid HTTP endpoint specified for URI"},
		{name: "timeout not a number", method: "PATCH", path: in, body: rtPatch(rtOp("replace", "/timeoutInMillis", "soon")),
			status: 400, errType: rtBad, message: "Timeout should be between 50 ms and 29000 ms"},
		{name: "add scalar", method: "PATCH", path: in, body: rtPatch(rtOp("add", "/uri", "http://x")),
			status: 400, errType: rtBad, message: "Invalid patch operation specified. Must be one of: [replace]"},
		{name: "unknown path", method: "PATCH", path: in, body: rtPatch(rtOp("replace", "/integrationResponses", "x")),
			status: 400, errType: rtBad, message: "Invalid patch path /integrationResponses"},
		{name: "no integration", pre: []rtStep{petGETMethod}, method: "PATCH", path: petGET + "/integration", body: rtPatch(),
			status: 404, errType: rtNotFound, message: "Invalid Integration identifier specified"},
		{name: "no method", method: "PATCH", path: petGET + "/integration", body: rtPatch(),
			status: 404, errType: rtNotFound, message: "Invalid Method identifier specified"},
	})
}

func TestDeleteIntegration(t *testing.T) {
	runRTCases(t, "integrations_delete", []rtCase{
		{name: "deleted", method: "DELETE", path: petsGET + "/integration", status: 204,
			check: func(t *testing.T, f *rtFixture, _ response) {
				f.must("GET", petsGET+"/integration", "", 404)
				f.must("PUT", petsGET+"/integration", `{"type":"MOCK"}`, 201)
				f.must("GET", petsGET+"/integration/responses/200", "", 404)
			}},
		{name: "none", pre: []rtStep{petGETMethod}, method: "DELETE", path: petGET + "/integration", status: 404, errType: rtNotFound,
			message: "Invalid Integration identifier specified"},
	})
}

func TestIntegrationResponses(t *testing.T) {
	ir := petsGET + "/integration/responses/"
	runRTCases(t, "integrations_responses", []rtCase{
		{name: "put", method: "PUT", path: ir + "400",
			body: `{"selectionPattern":"4\\d{2}","responseParameters":{"method.response.header.X-Id":"'1'"},
				"responseTemplates":{"application/json":"","text/plain":null,"application/xml":"<a/>"},"contentHandling":"CONVERT_TO_TEXT"}`,
			status: 201, golden: "put",
			check: func(t *testing.T, f *rtFixture, _ response) {
				golden(t, "integrations_responses_put_get", f.do("GET", ir+"400", ""), f.subst())
			}},
		{name: "put empty templates echoed", method: "PUT", path: ir + "400", body: `{"selectionPattern":"4..","responseTemplates":{}}`,
			status: 201, check: hasMember("responseTemplates", map[string]any{})},
		{name: "second default", method: "PUT", path: ir + "500", body: `{}`, status: 409, errType: rtConflict,
			message: "Integration response with selection pattern default already exists", golden: "second_default"},
		{name: "same pattern", pre: []rtStep{{"PUT", ir + "400", `{"selectionPattern":"4.."}`, 201, ""}},
			method: "PUT", path: ir + "404", body: `{"selectionPattern":"4.."}`, status: 409, errType: rtConflict,
			message: "Integration response with selection pattern 4.. already exists"},
		{name: "overwrite", method: "PUT", path: ir + "200", body: `{"responseTemplates":{"application/json":"{}"}}`, status: 201,
			check: hasMember("selectionPattern", nil)},
		{name: "template key not a media type", method: "PUT", path: ir + "400", body: `{"selectionPattern":"4..","responseTemplates":{"123":"x"}}`,
			status: 400, errType: rtBad, message: "Validation Result: warnings : [], errors : [Invalid content type specified: 123]"},
		{name: "template not a string", method: "PUT", path: ir + "400", body: `{"responseTemplates":{"application/json":123}}`,
			status: 400, errType: rtSerial, message: "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"},
		{name: "bad status", method: "PUT", path: ir + "099", body: `{}`, status: 400, errType: rtValidation,
			message: "1 validation error detected: Value '099' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\\d\\d"},
		{name: "put without integration", pre: []rtStep{petGETMethod}, method: "PUT", path: petGET + "/integration/responses/200", body: `{}`,
			status: 404, errType: rtNotFound, message: "Invalid Integration identifier specified"},
		{name: "put without method", method: "PUT", path: petGET + "/integration/responses/200", body: `{}`,
			status: 404, errType: rtNotFound, message: "Invalid Method identifier specified"},
		{name: "put fake api", method: "PUT", path: "/restapis/nope/resources/@pets/methods/GET/integration/responses/200", body: `{}`,
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
		{name: "get", method: "GET", path: ir + "200", status: 200, golden: "get"},
		{name: "get unknown status", method: "GET", path: ir + "404", status: 404, errType: rtNotFound,
			message: "Invalid Response status code specified", golden: "get_unknown"},
		{name: "get without method", method: "GET", path: petGET + "/integration/responses/200", status: 404, errType: rtNotFound,
			message: "Invalid Method identifier specified"},
		{name: "update", method: "PATCH", path: ir + "200",
			body:   rtPatch(rtOp("replace", "/selectionPattern", "2.."), rtOp("add", "/responseTemplates/application~1xml", ""), rtOp("add", "/responseParameters/method.response.header.A", "'a'")),
			status: 200, golden: "update"},
		{name: "update pattern clash", pre: []rtStep{{"PUT", ir + "400", `{"selectionPattern":"4.."}`, 201, ""}},
			method: "PATCH", path: ir + "400", body: rtPatch(rtOp("replace", "/selectionPattern", "")), status: 409, errType: rtConflict,
			message: "Integration response with selection pattern default already exists"},
		{name: "update missing parameter", method: "PATCH", path: ir + "200", body: rtPatch(rtOpNoValue("remove", "/responseParameters/method.response.header.A")),
			status: 404, errType: rtNotFound, message: "Invalid parameter name specified"},
		{name: "update bad path", method: "PATCH", path: ir + "200", body: rtPatch(rtOp("replace", "/statusCode", "201")),
			status: 400, errType: rtBad, message: "Invalid patch path /statusCode"},
		{name: "delete", method: "DELETE", path: ir + "200", status: 204,
			check: func(t *testing.T, f *rtFixture, r response) {
				if len(r.Body) != 0 {
					t.Errorf("body %q", r.Body)
				}
				f.must("GET", ir+"200", "", 404)
			}},
		{name: "delete unknown status", method: "DELETE", path: ir + "404", status: 404, errType: rtNotFound,
			message: "Invalid Response status code specified"},
		{name: "delete on verb without method", method: "DELETE", path: "/restapis/@api/resources/@pets/methods/POST/integration/responses/200",
			status: 404, errType: rtNotFound, message: "Invalid Integration identifier specified", golden: "delete_no_method"},
		{name: "delete on invalid verb", method: "DELETE", path: "/restapis/@api/resources/@pets/methods/WRONG/integration/responses/200",
			status: 404, errType: rtNotFound, message: "Invalid Integration identifier specified"},
		{name: "delete without integration", pre: []rtStep{petGETMethod}, method: "DELETE", path: petGET + "/integration/responses/200",
			status: 404, errType: rtNotFound, message: "Invalid Integration identifier specified"},
		{name: "delete fake api", method: "DELETE", path: "/restapis/nope/resources/@pets/methods/GET/integration/responses/200",
			status: 404, errType: rtNotFound, message: "Invalid Resource identifier specified"},
	})
}
