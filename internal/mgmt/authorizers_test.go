package mgmt

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuthorizersAPI walks the authorizer collection: create (the answer LocalStack recorded
// on AWS: authType "custom" filled in, no TTL member when none was given), the validation
// texts, methods that use an authorizer, the refusal to delete one in use, updates and paging.
func TestAuthorizersAPI(t *testing.T) {
	h := newDeployHarness(t)
	const base = "/restapis/a1b2c3d4e5/authorizers"
	const uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations"
	const pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123"
	steps := []apiStep{
		{name: "create_token", method: http.MethodPost, path: base, status: 201, capture: "<token>",
			body: `{"name":"lambda_authorizer","type":"TOKEN","authorizerUri":"` + uri + `","identitySource":"method.request.header.Auth"}`},
		{name: "create_request", method: http.MethodPost, path: base, status: 201, capture: "<request>",
			body: `{"name":"req","type":"REQUEST","authorizerUri":"` + uri + `","identitySource":"method.request.header.X-Token, method.request.querystring.user","authorizerResultTtlInSeconds":60}`},
		{name: "create_cognito", method: http.MethodPost, path: base, status: 201, capture: "<cognito>",
			body: `{"name":"pool","type":"COGNITO_USER_POOLS","providerARNs":["` + pool + `"],"identitySource":"method.request.header.Authorization"}`},
		{name: "create_no_api", method: http.MethodPost, path: "/restapis/nosuchapi1/authorizers", status: 409, errType: "ConflictException",
			body: `{"name":"x","type":"TOKEN","authorizerUri":"` + uri + `","identitySource":"method.request.header.Auth"}`},
		{name: "create_bad_type", method: http.MethodPost, path: base, status: 400, errType: "ValidationException", body: `{"name":"x","type":"JWT"}`},
		{name: "create_no_name", method: http.MethodPost, path: base, status: 400, errType: "ValidationException", body: `{"type":"TOKEN"}`},
		{name: "create_bad_uri", method: http.MethodPost, path: base, status: 400, errType: "BadRequestException",
			body: `{"name":"x","type":"TOKEN","authorizerUri":"arn:aws:apigateway:region:lambda:path/2015-03-31/functions/f/invocations","identitySource":"method.request.header.Auth"}`},
		{name: "create_token_querystring", method: http.MethodPost, path: base, status: 400, errType: "BadRequestException",
			body: `{"name":"x","type":"TOKEN","authorizerUri":"` + uri + `","identitySource":"method.request.querystring.key"}`},
		{name: "create_request_no_source", method: http.MethodPost, path: base, status: 400, errType: "BadRequestException",
			body: `{"name":"x","type":"REQUEST","authorizerUri":"` + uri + `"}`},
		{method: http.MethodPost, path: base, status: 201, capture: "<uncached>",
			body: `{"name":"nocache","type":"REQUEST","authorizerUri":"` + uri + `","authorizerResultTtlInSeconds":0}`},
		{name: "create_bad_ttl", method: http.MethodPost, path: base, status: 400, errType: "BadRequestException",
			body: `{"name":"x","type":"TOKEN","authorizerUri":"` + uri + `","identitySource":"method.request.header.Auth","authorizerResultTtlInSeconds":3601}`},
		{name: "create_bad_pool", method: http.MethodPost, path: base, status: 400, errType: "BadRequestException",
			body: `{"name":"x","type":"COGNITO_USER_POOLS","providerARNs":["arn:aws:iam::123456789012:role/x"],"identitySource":"method.request.header.Authorization"}`},
		{name: "create_bad_regex", method: http.MethodPost, path: base, status: 400, errType: "BadRequestException",
			body: `{"name":"x","type":"TOKEN","authorizerUri":"` + uri + `","identitySource":"method.request.header.Auth","identityValidationExpression":"(["}`},
		{name: "list", method: http.MethodGet, path: base, status: 200},
		{name: "list_page", method: http.MethodGet, path: base + "?limit=2", status: 200},
		{name: "get", method: http.MethodGet, path: base + "/<request>", status: 200},
		{name: "get_missing", method: http.MethodGet, path: base + "/nosuch", status: 404, errType: "NotFoundException"},
		{name: "list_no_api", method: http.MethodGet, path: "/restapis/nosuchapi1/authorizers", status: 404, errType: "NotFoundException"},
		// Methods: CUSTOM takes a Lambda authorizer, COGNITO_USER_POOLS a Cognito one.
		{name: "method_custom", method: http.MethodPut, path: "/restapis/a1b2c3d4e5/resources/rootres001/methods/GET", status: 201,
			body: `{"authorizationType":"CUSTOM","authorizerId":"<token>","apiKeyRequired":true}`},
		{name: "method_custom_on_cognito", method: http.MethodPut, path: "/restapis/a1b2c3d4e5/resources/rootres001/methods/PUT", status: 400, errType: "BadRequestException",
			body: `{"authorizationType":"CUSTOM","authorizerId":"<cognito>"}`},
		{name: "method_cognito", method: http.MethodPut, path: "/restapis/a1b2c3d4e5/resources/rootres001/methods/DELETE", status: 201,
			body: `{"authorizationType":"COGNITO_USER_POOLS","authorizerId":"<cognito>","authorizationScopes":["pets/read"]}`},
		{name: "delete_in_use", method: http.MethodDelete, path: base + "/<token>", status: 409, errType: "ConflictException"},
		{name: "update_type_in_use", method: http.MethodPatch, path: base + "/<token>", status: 400, errType: "BadRequestException",
			body: `{"patchOperations":[{"op":"replace","path":"/type","value":"COGNITO_USER_POOLS"}]}`},
		{name: "update", method: http.MethodPatch, path: base + "/<token>", status: 200,
			body: `{"patchOperations":[{"op":"replace","path":"/authorizerResultTtlInSeconds","value":"0"},{"op":"replace","path":"/identityValidationExpression","value":"^Bearer .+$"},{"op":"replace","path":"/name","value":"renamed"}]}`},
		{name: "update_pool_add", method: http.MethodPatch, path: base + "/<cognito>", status: 200,
			body: `{"patchOperations":[{"op":"add","path":"/providerARNs/arn:aws:cognito-idp:us-east-1:123456789012:userpool~1us-east-1_Other1"}]}`},
		{name: "update_bad_path", method: http.MethodPatch, path: base + "/<token>", status: 400, errType: "BadRequestException",
			body: `{"patchOperations":[{"op":"replace","path":"/id","value":"x"}]}`},
		{name: "update_bad_ttl", method: http.MethodPatch, path: base + "/<token>", status: 400, errType: "BadRequestException",
			body: `{"patchOperations":[{"op":"replace","path":"/authorizerResultTtlInSeconds","value":"-1"}]}`},
		// The failed updates changed nothing.
		{method: http.MethodGet, path: base + "/<token>", status: 200, check: func(t *testing.T, r response) {
			if !strings.Contains(string(r.Body), `"authorizerResultTtlInSeconds":0`) || !strings.Contains(string(r.Body), `"type":"TOKEN"`) {
				t.Fatalf("after failed updates: %s", r.Body)
			}
		}},
		{method: http.MethodDelete, path: "/restapis/a1b2c3d4e5/resources/rootres001/methods/GET", status: 204},
		{method: http.MethodDelete, path: "/restapis/a1b2c3d4e5/resources/rootres001/methods/DELETE", status: 204},
		{method: http.MethodPost, path: "/restapis/a1b2c3d4e5/deployments", body: `{"stageName":"dev"}`, status: 201},
		{name: "flush_cache", method: http.MethodDelete, path: "/restapis/a1b2c3d4e5/stages/dev/cache/authorizers", status: 202},
		{name: "flush_cache_no_stage", method: http.MethodDelete, path: "/restapis/a1b2c3d4e5/stages/nosuch/cache/authorizers", status: 404, errType: "NotFoundException"},
		// The flush count is the data plane's business: the stage's answer does not show it.
		{method: http.MethodGet, path: "/restapis/a1b2c3d4e5/stages/dev", status: 200, check: func(t *testing.T, r response) {
			if strings.Contains(string(r.Body), "Epoch") || strings.Contains(string(r.Body), "epoch") {
				t.Fatalf("stage shows the flush count: %s", r.Body)
			}
		}},
		{name: "test_invoke_without_runner", method: http.MethodPost, path: base + "/<request>", body: `{}`, status: 500, errType: "InternalServerErrorException"},
		{name: "delete", method: http.MethodDelete, path: base + "/<token>", status: 202},
		{name: "delete_missing", method: http.MethodDelete, path: base + "/<token>", status: 404, errType: "NotFoundException"},
	}
	h.run(t, "authorizers", steps)
}
