package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

// counterIDs returns a NewID that yields r1, r2, … so expectations can name resource ids.
func counterIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("r%d", n) }
}

func convertBytes(t *testing.T, body []byte, opts Options) (*Result, error) {
	t.Helper()
	d, err := Parse(body)
	if err != nil {
		return nil, err
	}
	if opts.RootID == "" {
		opts.RootID = "root"
	}
	if opts.NewID == nil {
		opts.NewID = counterIDs()
	}
	return d.Convert(opts)
}

func convertFile(t *testing.T, name string, opts Options) *Result {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	res, err := convertBytes(t, body, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// tree lists "path VERB,VERB" for every resource, in pre-order.
func tree(res *Result) []string {
	var out []string
	for _, r := range res.Resources {
		line := apigw.ResourcePath(res.Resources, r.ID)
		if len(r.Methods) > 0 {
			line += " " + strings.Join(sortedKeys(r.Methods), ",")
		}
		out = append(out, line)
	}
	return out
}

func method(t *testing.T, res *Result, path, verb string) *apigw.Method {
	t.Helper()
	for _, r := range res.Resources {
		if apigw.ResourcePath(res.Resources, r.ID) == path {
			if m := r.Methods[verb]; m != nil {
				return m
			}
		}
	}
	t.Fatalf("no method %s %s in %v", verb, path, tree(res))
	return nil
}

func TestConvertTrees(t *testing.T) {
	cases := []struct {
		file, mode string
		want       []string
	}{
		{"oas3.json", "", []string{"/", "/echo", "/echo/{data} GET", "/pets POST"}},
		{"oas3.json", BasePathPrepend, []string{"/", "/base-var", "/base-var/echo", "/base-var/echo/{data} GET", "/base-var/pets POST"}},
		{"oas3.json", BasePathSplit, []string{"/", "/echo", "/echo/{data} GET", "/pets POST"}},
		{"swagger.yaml", BasePathIgnore, []string{"/", "/test GET,POST"}},
		{"swagger.yaml", BasePathPrepend, []string{"/", "/base", "/base/test GET,POST"}},
		{"swagger.yaml", BasePathSplit, []string{"/", "/test GET,POST"}},
		{"servers-url.yaml", BasePathIgnore, []string{"/", "/test GET"}},
		{"servers-url.yaml", BasePathPrepend, []string{"/", "/base-url", "/base-url/part", "/base-url/part/test GET"}},
		{"servers-url.yaml", BasePathSplit, []string{"/", "/part", "/part/test GET"}},
		{"petstore.json", "", []string{"/ GET", "/pets GET,POST", "/pets/{petId} GET", "/proxy", "/proxy/{proxy+} ANY"}},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.mode, func(t *testing.T) {
			res := convertFile(t, tc.file, Options{BasePath: tc.mode})
			if got := tree(res); !slices.Equal(got, tc.want) {
				t.Errorf("tree = %q, want %q", got, tc.want)
			}
			if res.Resources[0].ID != "root" || res.Resources[0].ParentID != "" {
				t.Errorf("first resource = %+v, want the root with the given id", res.Resources[0])
			}
		})
	}
}

func TestConvertOAS3JSON(t *testing.T) {
	res := convertFile(t, "oas3.json", Options{})
	if res.Name != "Echo API" || res.Description != "An echo service" || res.Version != "1" {
		t.Errorf("info = %q %q %q", res.Name, res.Description, res.Version)
	}
	if res.ApiKeySource != "HEADER" || !slices.Equal(res.BinaryMediaTypes, []string{"image/png", "application/octet-stream"}) {
		t.Errorf("apiKeySource %q binaryMediaTypes %q", res.ApiKeySource, res.BinaryMediaTypes)
	}
	if !slices.Equal(res.Models, []string{"Echo", "Pet"}) || len(res.Warnings) != 0 {
		t.Errorf("models %q warnings %q", res.Models, res.Warnings)
	}
	get := method(t, res, "/echo/{data}", "GET")
	wantParams := map[string]bool{"method.request.path.data": true, "method.request.querystring.verbose": false, "method.request.header.X-Trace": true}
	if !reflect.DeepEqual(get.RequestParameters, wantParams) || get.OperationName != "getEcho" || get.ApiKeyRequired {
		t.Errorf("GET method = %+v", get)
	}
	mr := get.MethodResponses["200"]
	if mr == nil || !reflect.DeepEqual(mr.ResponseParameters, map[string]bool{"method.response.header.X-Echo": false}) ||
		!reflect.DeepEqual(mr.ResponseModels, map[string]string{"application/json": "Echo"}) {
		t.Errorf("method response = %+v", mr)
	}
	in := get.Integration
	if in == nil || in.Type != "MOCK" || in.HTTPMethod != "" || in.URI != "" || in.PassthroughBehavior != "WHEN_NO_MATCH" ||
		in.TimeoutInMillis != 29000 || in.CacheNamespace != "r2" || in.CacheKeyParameters == nil || in.ConnectionType != "" {
		t.Fatalf("integration = %+v", in)
	}
	ir := in.IntegrationResponses["200"]
	if ir == nil || ir.SelectionPattern != nil || ir.ResponseParameters["method.response.header.X-Echo"] != "'yes'" {
		t.Errorf("integration response = %+v", ir)
	}
	post := method(t, res, "/pets", "POST")
	if !post.ApiKeyRequired || post.AuthorizationType != "NONE" || post.RequestModels["application/json"] != "Pet" ||
		post.MethodResponses["201"].ResponseModels["application/json"] != "Pet" || post.RequestParameters != nil {
		t.Errorf("POST method = %+v", post)
	}
}

func TestConvertSwaggerYAML(t *testing.T) {
	res := convertFile(t, "swagger.yaml", Options{})
	if res.Name != "Pets" || res.Version != "2.5" || res.MinimumCompressionSize == nil || *res.MinimumCompressionSize != 1024 {
		t.Errorf("top level = %+v", res)
	}
	wantPolicy := `{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Principal":"*","Resource":"*"}],"Version":"2012-10-17"}`
	if res.Policy != wantPolicy {
		t.Errorf("policy = %s", res.Policy)
	}
	wantWarn := []string{"Unable to resolve model reference '#/definitions/Missing' of method 'GET /test'; the reference was ignored"}
	if !slices.Equal(res.Warnings, wantWarn) {
		t.Errorf("warnings = %q", res.Warnings)
	}
	get := method(t, res, "/test", "GET")
	if !get.ApiKeyRequired || get.OperationName != "listTests" || !get.RequestParameters["method.request.querystring.limit"] {
		t.Errorf("GET = %+v (root-level security must require the key)", get)
	}
	if len(get.MethodResponses) != 2 || get.MethodResponses["404"].ResponseModels != nil ||
		get.MethodResponses["200"].ResponseParameters["method.response.header.Access-Control-Allow-Origin"] {
		t.Errorf("method responses = %+v", get.MethodResponses)
	}
	in := get.Integration
	if in.Type != "HTTP" || in.HTTPMethod != "GET" || in.ConnectionType != "INTERNET" || in.TimeoutInMillis != 5000 ||
		!slices.Equal(in.CacheKeyParameters, []string{"method.request.querystring.limit"}) {
		t.Errorf("integration = %+v", in)
	}
	if d := in.IntegrationResponses["200"]; d == nil || d.SelectionPattern != nil {
		t.Errorf("default integration response = %+v", d)
	}
	if e := in.IntegrationResponses["404"]; e == nil || e.SelectionPattern == nil || *e.SelectionPattern != `4\d{2}` ||
		!reflect.DeepEqual(e.ResponseTemplates, map[string]*string{"application/json": nil}) {
		t.Errorf("4xx integration response = %+v", e)
	}
	post := method(t, res, "/test", "POST")
	if post.ApiKeyRequired || post.RequestModels["application/json"] != "Test" {
		t.Errorf("POST = %+v (security: [] must override the root requirement)", post)
	}
}

func TestConvertWarnings(t *testing.T) {
	res := convertFile(t, "servers-url.yaml", Options{BasePath: BasePathPrepend})
	// The one warning text recorded from AWS (addendum §7.3).
	want := "Invalid format for 'requestParameters'. Expected type string for property 'integration.request.header.nothing' of resource '/base-url/part/test' and method 'GET' but got 'true'"
	if !slices.Equal(res.Warnings, []string{want}) {
		t.Errorf("warnings = %q", res.Warnings)
	}
	in := method(t, res, "/base-url/part/test", "GET").Integration
	if !reflect.DeepEqual(in.RequestParameters, map[string]string{"integration.request.header.something": "'value'"}) {
		t.Errorf("requestParameters = %v", in.RequestParameters)
	}

	res = convertFile(t, "unsupported.yaml", Options{})
	wantAll := []string{
		"Unsupported extension 'x-amazon-apigateway-importexport-version' was ignored",
		"Request validators are not supported: x-amazon-apigateway-request-validators was ignored",
		"Parameter 'session' in 'cookie' of method 'GET /secure' is not supported and was ignored",
		`Response '2XX' of method 'GET /secure' was ignored: the status code must match [1-5]\d\d`,
		"Request validators are not supported: x-amazon-apigateway-request-validator of method 'GET /secure' was ignored",
		"Method TRACE of resource '/secure' is not supported by API Gateway and was ignored",
	}
	if !slices.Equal(res.Warnings, wantAll) {
		t.Errorf("warnings =\n%s\nwant\n%s", strings.Join(res.Warnings, "\n"), strings.Join(wantAll, "\n"))
	}
}

// TestConvertRefusesUnenforceableAuth: a method whose security asks for a check the gateway
// cannot enforce fails the whole import (it would otherwise be served open).
func TestConvertRefusesUnenforceableAuth(t *testing.T) {
	const schemes = `components:
  securitySchemes:
    lambda_auth:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer: {type: token, authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations"}
    bearer:
      type: http
      scheme: bearer
`
	for name, c := range map[string]struct{ op, want string }{
		"http bearer":      {"security: [{bearer: []}]", "Security scheme 'bearer' (type http) of method 'GET /s' is not supported and cannot be enforced"},
		"auth type CUSTOM": {"x-amazon-apigateway-auth: {type: CUSTOM}", "Unsupported x-amazon-apigateway-auth type 'CUSTOM' of method 'GET /s': only NONE and AWS_IAM can be enforced"},
	} {
		t.Run(name, func(t *testing.T) {
			doc := "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /s:\n    get:\n      " + c.op + "\n      responses: {'200': {description: ok}}\n" + schemes
			d, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Convert(Options{})
			if err == nil || err.Error() != c.want {
				t.Fatalf("Convert: %v\nwant %s", err, c.want)
			}
		})
	}
}

// TestConvertAuthorizers: every scheme with x-amazon-apigateway-authorizer becomes an
// authorizer named after it (used or not); operations that reference one are CUSTOM or
// COGNITO_USER_POOLS on it, with the requirement's scopes; root-level security applies to
// operations without their own; a TOKEN scheme without identitySource reads its header.
func TestConvertAuthorizers(t *testing.T) {
	const doc = `swagger: "2.0"
info: {title: t, version: "1"}
security: [{req: []}]
paths:
  /tok:
    get:
      security: [{tok: []}]
      responses: {"200": {description: ok}}
  /pool:
    get:
      security: [{pool: [pets/read, pets/write]}]
      responses: {"200": {description: ok}}
  /default:
    get:
      responses: {"200": {description: ok}}
securityDefinitions:
  tok:
    type: apiKey
    name: Auth
    in: header
    x-amazon-apigateway-authtype: oauth2
    x-amazon-apigateway-authorizer:
      type: token
      authorizerUri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:a/invocations
      authorizerResultTtlInSeconds: 60
      identityValidationExpression: "^Bearer .+$"
  req:
    type: apiKey
    name: Unused
    in: header
    x-amazon-apigateway-authorizer:
      type: request
      authorizerUri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:b/invocations
      identitySource: method.request.header.X-Token, method.request.querystring.q
      authorizerResultTtlInSeconds: "0"
  pool:
    type: apiKey
    name: Authorization
    in: header
    x-amazon-apigateway-authorizer:
      type: cognito_user_pools
      providerARNs: [arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC]
  unused:
    type: apiKey
    name: X
    in: header
    x-amazon-apigateway-authorizer: {type: token, authorizerUri: "arn:x"}
`
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Convert(Options{RootID: "root", ExistingAuthorizers: map[string]string{"pool": "keepme"}})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*apigw.Authorizer{}
	for _, a := range res.Authorizers {
		byName[a.Name] = a
	}
	if len(byName) != 4 {
		t.Fatalf("authorizers = %d, want 4 (unused schemes too)", len(byName))
	}
	tok, req, pool := byName["tok"], byName["req"], byName["pool"]
	if tok.Type != "TOKEN" || tok.IdentitySource != "method.request.header.Auth" || tok.TTL == nil || *tok.TTL != 60 ||
		tok.AuthType != "oauth2" || tok.IdentityValidationExpression != "^Bearer .+$" {
		t.Errorf("tok = %+v", tok)
	}
	if req.Type != "REQUEST" || req.IdentitySource != "method.request.header.X-Token, method.request.querystring.q" || req.TTL == nil || *req.TTL != 0 {
		t.Errorf("req = %+v", req)
	}
	if pool.ID != "keepme" || pool.Type != "COGNITO_USER_POOLS" || len(pool.ProviderARNs) != 1 || pool.IdentitySource != "method.request.header.Authorization" {
		t.Errorf("pool = %+v", pool)
	}
	for path, want := range map[string][3]string{
		"/tok": {"CUSTOM", tok.ID, ""}, "/pool": {"COGNITO_USER_POOLS", pool.ID, "pets/read pets/write"}, "/default": {"CUSTOM", req.ID, ""},
	} {
		m := method(t, res, path, "GET")
		if m.AuthorizationType != want[0] || m.AuthorizerID != want[1] || strings.Join(m.AuthorizationScopes, " ") != want[2] {
			t.Errorf("%s: %s %s %v; want %v", path, m.AuthorizationType, m.AuthorizerID, m.AuthorizationScopes, want)
		}
	}
}

// TestImportLimits: over 6 MB or over the resource limit, an import stops before the document is
// built, with AWS's texts; Convert enforces the exact count (base path segments included).
func TestImportLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{`)
	for i := range 300 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"/r%d":{}`, i)
	}
	b.WriteString(`}}`)
	doc := []byte(b.String()) // 300 paths + the root: 301 resources
	if _, err := ParseLimited(doc, Limits{MaxResources: 300}); err == nil || err.Error() != MsgTooManyResources || apigw.KindOf(err) != apigw.KindLimitExceeded {
		t.Fatalf("301 resources under a limit of 300: %v", err)
	}
	d, err := ParseLimited(doc, Limits{MaxResources: 301})
	if err != nil {
		t.Fatalf("301 resources under a limit of 301: %v", err)
	}
	if _, err := d.Convert(Options{MaxResources: 301}); err != nil {
		t.Fatalf("Convert within the limit: %v", err)
	}
	if _, err := d.Convert(Options{MaxResources: 300}); err == nil || err.Error() != MsgTooManyResources {
		t.Fatalf("Convert over the limit: %v", err)
	}
	nested := []byte(`{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{"/a/b/c/d":{}}}`)
	if _, err := ParseLimited(nested, Limits{MaxResources: 4}); err == nil {
		t.Fatal("the ancestors of a path are resources too: 5 resources passed a limit of 4")
	}
	big := append([]byte(`{"openapi":"3.0.1","info":{"title":"`), bytes.Repeat([]byte("x"), MaxDefinitionBytes)...)
	if _, err := ParseLimited(big, Limits{MaxBytes: MaxDefinitionBytes}); err == nil || err.Error() != MsgDefinitionTooLarge {
		t.Fatalf("a document over 6 MB: %v", err)
	}
}

func TestConvertPetstore(t *testing.T) {
	res := convertFile(t, "petstore.json", Options{ExistingIDs: map[string]string{"/pets": "keep01"}})
	root := method(t, res, "/", "GET")
	if root.Integration.Type != "MOCK" || root.Integration.CacheNamespace != "root" {
		t.Errorf("root GET integration = %+v", root.Integration)
	}
	list := method(t, res, "/pets", "GET")
	if list.Integration.CacheNamespace != "keep01" || list.MethodResponses["200"].ResponseModels["application/json"] != "Pets" {
		t.Errorf("/pets GET = %+v; an existing path must keep its id", list)
	}
	create := method(t, res, "/pets", "POST")
	if create.OperationName != "CreatePet" || create.RequestModels["application/json"] != "NewPet" {
		t.Errorf("/pets POST = %+v", create)
	}
	anyM := method(t, res, "/proxy/{proxy+}", "ANY")
	if anyM.Integration.Type != "HTTP_PROXY" || anyM.Integration.HTTPMethod != "ANY" || anyM.Integration.CacheNamespace != "proxyns" {
		t.Errorf("ANY = %+v", anyM.Integration)
	}
}

func TestConvertInline(t *testing.T) {
	cases := []struct {
		name  string
		doc   string
		check func(t *testing.T, res *Result)
	}{
		{"greedy path segment implies no path parameter", `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/{proxy+}":{"get":{"x-amazon-apigateway-integration":{"type":"MOCK"}}},"/a/{id}":{"get":{}}}}`,
			func(t *testing.T, res *Result) {
				if p := method(t, res, "/{proxy+}", "GET").RequestParameters; p != nil {
					t.Errorf("greedy requestParameters = %v, want none", p)
				}
				if p := method(t, res, "/a/{id}", "GET").RequestParameters; !p["method.request.path.id"] {
					t.Errorf("{id} requestParameters = %v", p)
				}
			}},
		{"awsSigv4 scheme and x-amazon-apigateway-auth mean AWS_IAM", "openapi: 3.0.0\ninfo: {title: t, version: 1}\npaths:\n  /a:\n    get:\n      security: [{sigv4: []}]\n    post:\n      x-amazon-apigateway-auth: {type: aws_iam}\ncomponents:\n  securitySchemes:\n    sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}\n",
			func(t *testing.T, res *Result) {
				for _, verb := range []string{"GET", "POST"} {
					if m := method(t, res, "/a", verb); m.AuthorizationType != "AWS_IAM" || m.ApiKeyRequired {
						t.Errorf("%s = %+v", verb, m)
					}
				}
				if res.Version != "1" || len(res.Warnings) != 0 {
					t.Errorf("version %q warnings %q", res.Version, res.Warnings)
				}
			}},
		{"unquoted YAML scalars keep their text", "openapi: 3.0\ninfo:\n  title: 2024\n  version: 1.0\n  description: 010\npaths: {}\n",
			func(t *testing.T, res *Result) {
				if res.Name != "2024" || res.Version != "1.0" || res.Description != "010" {
					t.Errorf("info = %q %q %q, want the YAML text", res.Name, res.Version, res.Description)
				}
			}},
		{"endpoint configuration on the server object", `{"openapi":"3.0.0","info":{"title":"t"},"servers":[{"url":"/","x-amazon-apigateway-endpoint-configuration":{"disableExecuteApiEndpoint":true,"vpcEndpointIds":["vpce-1"]}}],"paths":{}}`,
			func(t *testing.T, res *Result) {
				if res.DisableExecuteApiEndpoint == nil || !*res.DisableExecuteApiEndpoint || !slices.Equal(res.VpcEndpointIDs, []string{"vpce-1"}) {
					t.Errorf("endpoint configuration = %v %v", res.DisableExecuteApiEndpoint, res.VpcEndpointIDs)
				}
			}},
		{"HTTP integration without uri is dropped with a warning", `{"swagger":"2.0","info":{"title":"t"},"paths":{"/a":{"get":{"responses":{},"x-amazon-apigateway-integration":{"type":"http","httpMethod":"GET","requestTemplates":{"a":1}}}}}}`,
			func(t *testing.T, res *Result) {
				if in := method(t, res, "/a", "GET").Integration; in != nil {
					t.Errorf("integration = %+v, want none", in)
				}
				if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "needs both 'httpMethod' and 'uri'") {
					t.Errorf("warnings = %q", res.Warnings)
				}
			}},
		{"integer status codes in integration responses", "swagger: '2.0'\ninfo: {title: t}\npaths:\n  /a:\n    get:\n      responses: {200: {description: ok}}\n      x-amazon-apigateway-integration:\n        type: MOCK\n        responses:\n          default: {statusCode: 200}\n          '.*error.*': {statusCode: 500}\n",
			func(t *testing.T, res *Result) {
				in := method(t, res, "/a", "GET").Integration
				if len(in.IntegrationResponses) != 2 || in.IntegrationResponses["500"].SelectionPattern == nil || in.IntegrationResponses["200"].SelectionPattern != nil {
					t.Errorf("integration responses = %+v", in.IntegrationResponses)
				}
				if _, ok := method(t, res, "/a", "GET").MethodResponses["200"]; !ok {
					t.Errorf("method response 200 missing")
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := convertBytes(t, []byte(tc.doc), Options{})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, res)
		})
	}
}

func TestConvertErrors(t *testing.T) {
	const info = `"info":{"title":"t","version":"1"}`
	cases := []struct {
		name, doc, mode string
		kind            apigw.Kind
		msg             string
	}{
		{"not JSON or YAML", "{", "", apigw.KindBadRequest, MsgInvalidInput},
		{"empty body", "", "", apigw.KindBadRequest, MsgInvalidInput},
		{"YAML scalar", "just some text", "", apigw.KindBadRequest, MsgInvalidInput},
		{"JSON array", "[1, 2]", "", apigw.KindBadRequest, MsgInvalidInput},
		{"OpenAPI 3.1", `{"openapi":"3.1.0",` + info + `,"paths":{}}`, "", apigw.KindBadRequest, MsgInvalidInput},
		{"bad path item", `{"openapi":"3.0.0",` + info + `,"paths":{"/a":"x"}}`, "", apigw.KindBadRequest, MsgInvalidInput},
		{"no version key", `{"foo":1,"paths":{}}`, "", apigw.KindBadRequest, MsgNoImporter},
		{"no paths", `{"openapi":"3.0.1",` + info + `}`, "", apigw.KindBadRequest, MsgNoImporter},
		{"Swagger 1.2", `{"swagger":"1.2",` + info + `,"paths":{}}`, "", apigw.KindBadRequest, MsgNoImporter},
		{"invalid path part", `{"openapi":"3.0.0",` + info + `,"paths":{"/a b":{}}}`, "", apigw.KindBadRequest, apigw.MsgBadPathPart},
		{"partial variable", `{"openapi":"3.0.0",` + info + `,"paths":{"/a{id}":{}}}`, "", apigw.KindBadRequest, apigw.MsgBadPathPart},
		{"child of greedy", `{"openapi":"3.0.0",` + info + `,"paths":{"/{proxy+}/x":{}}}`, "", apigw.KindBadRequest,
			"Cannot create a child of a resource with a greedy path variable: {proxy+}"},
		{"two variable siblings", `{"openapi":"3.0.0",` + info + `,"paths":{"/pets/{id}":{},"/pets/{name}":{}}}`, "", apigw.KindBadRequest,
			"A sibling ({id}) of this resource already has a variable path part -- only one is allowed"},
		{"compression size", `{"openapi":"3.0.0",` + info + `,"x-amazon-apigateway-minimum-compression-size":-1,"paths":{}}`, "", apigw.KindBadRequest,
			"Invalid minimum compression size, must be between 0 and 10485760"},
		{"bad basepath mode", `{"openapi":"3.0.0",` + info + `,"paths":{}}`, "bogus", apigw.KindBadRequest,
			"Invalid basepath parameter specified: bogus. Must be one of: [ignore, prepend, split]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := convertBytes(t, []byte(tc.doc), Options{BasePath: tc.mode})
			var e *apigw.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *apigw.Error", err)
			}
			if e.Kind != tc.kind || e.Message != tc.msg {
				t.Errorf("err = %v %q, want %v %q", e.Kind, e.Message, tc.kind, tc.msg)
			}
		})
	}
}

func TestValidateTree(t *testing.T) {
	root := &apigw.Resource{ID: "root"}
	cases := []struct {
		name string
		rs   []*apigw.Resource
		kind apigw.Kind
	}{
		{"valid", []*apigw.Resource{root, {ID: "a", ParentID: "root", PathPart: "events:batch"}, {ID: "b", ParentID: "root", PathPart: "{proxy+}"}}, -1},
		{"duplicate sibling", []*apigw.Resource{root, {ID: "a", ParentID: "root", PathPart: "x"}, {ID: "b", ParentID: "root", PathPart: "x"}}, apigw.KindConflict},
		{"greedy and variable", []*apigw.Resource{root, {ID: "a", ParentID: "root", PathPart: "{id}"}, {ID: "b", ParentID: "root", PathPart: "{proxy+}"}}, apigw.KindBadRequest},
		{"bad characters", []*apigw.Resource{root, {ID: "a", ParentID: "root", PathPart: "a*b"}}, apigw.KindBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := apigw.ValidateTree(tc.rs)
			if tc.kind < 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || apigw.KindOf(err) != tc.kind {
				t.Errorf("err = %v, want kind %v", err, tc.kind)
			}
		})
	}
}

// TestJSONOverResources: the token scan counts what the paths imply (ancestors included), skips
// every other member however nested, stops at the first resource over, and leaves what it
// cannot read to the full decode.
func TestJSONOverResources(t *testing.T) {
	cases := []struct {
		name, doc string
		limit     int
		want      bool
	}{
		{"within", `{"paths":{"/a":{},"/b":{}}}`, 3, false},
		{"one over", `{"paths":{"/a":{},"/b":{},"/c":{}}}`, 3, true},
		{"ancestors count", `{"paths":{"/a/b/c":{"get":{"x":[1,{"y":[]}]}}}}`, 3, true},
		{"shared ancestors", `{"paths":{"/a/b":{},"/a/c":{},"/a":{}}}`, 4, false},
		{"members before and after", `{"info":{"paths":{"/x":{},"/y":{}}},"x-a":[{"b":"c"}],"paths":{"/a":{}},"z":1}`, 2, false},
		{"paths not an object", `{"paths":["/a","/b","/c"]}`, 1, false},
		{"not an object", `["paths"]`, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonOverResources([]byte(tc.doc), tc.limit); got != tc.want {
				t.Fatalf("jsonOverResources(%s, %d) = %v, want %v", tc.doc, tc.limit, got, tc.want)
			}
		})
	}
	// YAML is not scanned; the check after the generic decode still refuses it.
	yamlDoc := []byte("openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a: {}\n  /b: {}\n")
	if _, err := ParseLimited(yamlDoc, Limits{MaxResources: 2}); err == nil || err.Error() != MsgTooManyResources {
		t.Fatalf("YAML over the limit: %v", err)
	}
}

// BenchmarkParseLimited20kPaths parses a 2 MB document of 20,000 paths under AWS's 300
// resources: the refusal's time and allocations.
func BenchmarkParseLimited20kPaths(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"openapi":"3.0.1","info":{"title":"big","version":"1"},"paths":{`)
	for i := range 20000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"/r%d":{"get":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock"}}}`, i)
	}
	sb.WriteString(`}}`)
	doc := []byte(sb.String())
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLimited(doc, Limits{MaxBytes: MaxDefinitionBytes, MaxResources: DefaultMaxResources}); err == nil {
			b.Fatal("20,000 paths accepted")
		}
	}
}
