package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestExportRoundTrip: GetExport writes a stage's deployment as OpenAPI 3.0 and Swagger 2.0
// (application/octet-stream, a file name of type and version; YAML on request), with the API
// key, authorizer and SigV4 schemes and, with extensions=apigateway, the integrations, the
// authorizers, gateway responses and binary media types; importing the export builds the same
// API: resources, methods, authorizers (with the methods on them), integrations.
func TestExportRoundTrip(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	api, err := c.CreateRestApi(ctx(t), &apigateway.CreateRestApiInput{Name: aws.String("exported"), Version: aws.String("2.1"),
		BinaryMediaTypes: []string{"image/png"}})
	if err != nil {
		t.Fatal(err)
	}
	a := &authAPI{id: *api.Id, root: *api.RootResourceId, c: c, stage: "v1"}
	tok, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: &a.id, Name: aws.String("tokens"), Type: types.AuthorizerTypeToken,
		AuthorizerUri: aws.String(fmt.Sprintf(lambdaURI, "auth")), IdentitySource: aws.String("method.request.header.Authorization"),
		AuthorizerResultTtlInSeconds: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: &a.id, Name: aws.String("pool"), Type: types.AuthorizerTypeCognitoUserPools,
		ProviderARNs: []string{"arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Pool1"}, IdentitySource: aws.String("method.request.header.Authorization")})
	if err != nil {
		t.Fatal(err)
	}
	httpInteg := apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("http://backend.example/pets")}
	pets := a.method(t, a.root, "pets", "GET", apigateway.PutMethodInput{AuthorizationType: aws.String("NONE"), ApiKeyRequired: true,
		RequestParameters: map[string]bool{"method.request.querystring.limit": false}}, httpInteg)
	a.method(t, pets, "{id}", "GET", apigateway.PutMethodInput{AuthorizationType: aws.String("CUSTOM"), AuthorizerId: tok.Id}, lambdaProxy("pet"))
	a.method(t, a.root, "admin", "POST", apigateway.PutMethodInput{AuthorizationType: aws.String("COGNITO_USER_POOLS"), AuthorizerId: pool.Id,
		AuthorizationScopes: []string{"admin/write"}}, lambdaProxy("admin"))
	a.method(t, a.root, "signed", "ANY", apigateway.PutMethodInput{AuthorizationType: aws.String("AWS_IAM")}, lambdaProxy("signed"))
	if _, err := c.PutGatewayResponse(ctx(t), &apigateway.PutGatewayResponseInput{RestApiId: &a.id, ResponseType: types.GatewayResponseTypeUnauthorized,
		StatusCode: aws.String("401"), ResponseTemplates: map[string]string{"application/json": `{"why":$context.error.messageString}`}}); err != nil {
		t.Fatal(err)
	}
	a.deploy(t)

	for _, typ := range []string{"oas30", "swagger"} {
		out, err := c.GetExport(ctx(t), &apigateway.GetExportInput{RestApiId: &a.id, StageName: &a.stage, ExportType: aws.String(typ),
			Parameters: map[string]string{"extensions": "apigateway"}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ContentType) != "application/octet-stream" || aws.ToString(out.ContentDisposition) != `attachment; filename="`+typ+`_2.1.json"` {
			t.Fatalf("%s headers: %s, %s", typ, aws.ToString(out.ContentType), aws.ToString(out.ContentDisposition))
		}
		var doc map[string]any
		if err := json.Unmarshal(out.Body, &doc); err != nil {
			t.Fatalf("%s: %v\n%s", typ, err, out.Body)
		}
		imported, err := c.ImportRestApi(ctx(t), &apigateway.ImportRestApiInput{Body: out.Body, FailOnWarnings: true})
		if err != nil {
			t.Fatalf("importing the %s export: %v\n%s", typ, err, out.Body)
		}
		if got, want := describeAPI(t, c, *imported.Id), describeAPI(t, c, a.id); got != want {
			t.Errorf("%s round trip:\n got %s\nwant %s", typ, got, want)
		}
		if !strings.Contains(string(out.Body), `"x-amazon-apigateway-gateway-responses"`) || !strings.Contains(string(out.Body), `"image/png"`) {
			t.Errorf("%s export lacks the API-level extensions:\n%s", typ, out.Body)
		}
	}
	// Without extensions: no integrations, no authorizer details; YAML on request (through the
	// AWS CLI: aws-sdk-go-v2 always sends Accept: application/json).
	out, err := c.GetExport(ctx(t), &apigateway.GetExportInput{RestApiId: &a.id, StageName: &a.stage, ExportType: aws.String("oas30")})
	if err != nil {
		t.Fatal(err)
	}
	if b := string(out.Body); strings.Contains(b, "x-amazon-apigateway-integration") || strings.Contains(b, "x-amazon-apigateway-authorizer") || !strings.Contains(b, `"tokens"`) {
		t.Errorf("export without extensions:\n%s", b)
	}
	if _, err := exec.LookPath("aws"); err == nil {
		file := filepath.Join(t.TempDir(), "export.yaml")
		cmd := exec.Command("aws", "--endpoint-url", s.Endpoint, "--region", "us-east-1", "apigateway", "get-export", "--rest-api-id", a.id,
			"--stage-name", a.stage, "--export-type", "oas30", "--accepts", "application/yaml", file)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		meta, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws get-export: %v\n%s", err, meta)
		}
		b, _ := os.ReadFile(file)
		if !strings.Contains(string(b), "openapi: 3.0.1") || !strings.Contains(string(meta), `oas30_2.1.yaml`) {
			t.Errorf("YAML export:\n%s\n%s", meta, b)
		}
	}
	if _, err := c.GetExport(ctx(t), &apigateway.GetExportInput{RestApiId: &a.id, StageName: aws.String("nope"), ExportType: aws.String("oas30")}); err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Errorf("unknown stage: %v", err)
	}
	if _, err := c.GetExport(ctx(t), &apigateway.GetExportInput{RestApiId: &a.id, StageName: &a.stage, ExportType: aws.String("raml")}); err == nil || !strings.Contains(err.Error(), "BadRequestException") {
		t.Errorf("unknown type: %v", err)
	}
}

// describeAPI renders what a round trip must keep: each method's path, verb, authorization,
// authorizer (by name and settings), key requirement, scopes and integration type and uri, and
// the gateway responses and binary media types.
func describeAPI(t *testing.T, c *apigateway.Client, id string) string {
	t.Helper()
	auths, err := c.GetAuthorizers(ctx(t), &apigateway.GetAuthorizersInput{RestApiId: &id})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	var lines []string
	for _, a := range auths.Items {
		names[*a.Id] = *a.Name
		lines = append(lines, fmt.Sprintf("authorizer %s %s %s %s %v %d", *a.Name, a.Type, aws.ToString(a.AuthorizerUri), aws.ToString(a.IdentitySource), a.ProviderARNs, aws.ToInt32(a.AuthorizerResultTtlInSeconds)))
	}
	res, err := c.GetResources(ctx(t), &apigateway.GetResourcesInput{RestApiId: &id, Embed: []string{"methods"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Items {
		for verb, m := range r.ResourceMethods {
			line := fmt.Sprintf("%s %s %s %s key=%v scopes=%v", *r.Path, verb, aws.ToString(m.AuthorizationType), names[aws.ToString(m.AuthorizerId)], aws.ToBool(m.ApiKeyRequired), m.AuthorizationScopes)
			if in := m.MethodIntegration; in != nil {
				line += fmt.Sprintf(" %s %s", in.Type, aws.ToString(in.Uri))
			}
			lines = append(lines, line)
		}
	}
	gr, err := c.GetGatewayResponse(ctx(t), &apigateway.GetGatewayResponseInput{RestApiId: &id, ResponseType: types.GatewayResponseTypeUnauthorized})
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, fmt.Sprintf("UNAUTHORIZED %s %v default=%v", aws.ToString(gr.StatusCode), gr.ResponseTemplates, gr.DefaultResponse))
	api, err := c.GetRestApi(ctx(t), &apigateway.GetRestApiInput{RestApiId: &id})
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, fmt.Sprintf("binary %v version %s", api.BinaryMediaTypes, aws.ToString(api.Version)))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
