package mgmt

import (
	"net/http"
	"testing"
)

// TestExportAPI: GetExport's documents for a deployed stage, plain and with API Gateway's
// extensions, in both formats, and its errors.
func TestExportAPI(t *testing.T) {
	h := newDeployHarness(t)
	const base = "/restapis/a1b2c3d4e5/stages/dev/exports/"
	steps := []apiStep{
		{method: http.MethodPost, path: "/restapis/a1b2c3d4e5/authorizers", status: 201, capture: "<auth>",
			body: `{"name":"tokens","type":"TOKEN","authorizerUri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:a/invocations","identitySource":"method.request.header.Authorization"}`},
		{method: http.MethodPost, path: "/restapis/a1b2c3d4e5/deployments", body: `{"stageName":"dev"}`, status: 201},
		{name: "oas30", method: http.MethodGet, path: base + "oas30", status: 200},
		{name: "oas30_apigateway", method: http.MethodGet, path: base + "oas30?extensions=apigateway", status: 200},
		{name: "swagger_integrations", method: http.MethodGet, path: base + "swagger?extensions=integrations,authorizers", status: 200},
		{name: "bad_type", method: http.MethodGet, path: base + "raml", status: 400, errType: "BadRequestException"},
		{name: "bad_extension", method: http.MethodGet, path: base + "oas30?extensions=nope", status: 400, errType: "BadRequestException"},
		{name: "no_stage", method: http.MethodGet, path: "/restapis/a1b2c3d4e5/stages/nope/exports/oas30", status: 404, errType: "NotFoundException"},
	}
	h.run(t, "export", steps)
}
