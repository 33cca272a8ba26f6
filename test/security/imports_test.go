package security

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"

	"github.com/tollgate/tollgate/test/harness"
)

// wantAPIError checks an SDK error's AWS type and message.
func wantAPIError(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Fatalf("%s: %v\nwant %s: %s", what, err, code, msg)
	}
}

// openAPIPaths is an OpenAPI document with n paths /r0 … /r(n-1), each with a MOCK GET.
func openAPIPaths(n int, extra string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"openapi":"3.0.1","info":{"title":"big","version":"1"},` + extra + `"paths":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"/r%d":{"get":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock"}}}`, i)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// TestImportBounds (finding 6): an API definition over 6 MB is refused before it is read whole;
// resources per API are bounded (--max-resources-per-api, AWS's 300 by default) for
// CreateResource, ImportRestApi and PutRestApi alike, with AWS's LimitExceededException, and a
// refused call changes nothing; a 20,000-path document is refused from its path count.
func TestImportBounds(t *testing.T) {
	s := harness.Start(t, harness.Options{Args: []string{"--max-resources-per-api", "5"}})
	c := s.Client("us-east-1")
	ctx := harness.Ctx(t)
	apisBefore := func() int {
		out, err := c.GetRestApis(ctx, &apigateway.GetRestApisInput{Limit: aws.Int32(500)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Items)
	}

	huge := openAPIPaths(3, `"x-pad":"`+strings.Repeat("p", 6<<20)+`",`)
	_, err := c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: huge})
	wantAPIError(t, "a 6 MB+ definition", err, "BadRequestException", "The API definition file exceeds the maximum size of 6 MB.")

	const limitMsg = "Maximum number of Resources for this API has been reached.  Please contact AWS if you need additional Resources."
	_, err = c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: openAPIPaths(20000, "")})
	wantAPIError(t, "20,000 paths", err, "LimitExceededException", limitMsg)
	_, err = c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: openAPIPaths(5, "")}) // 6 with the root
	wantAPIError(t, "one resource over", err, "LimitExceededException", limitMsg)
	if n := apisBefore(); n != 0 {
		t.Fatalf("refused imports created %d APIs", n)
	}

	api, err := c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: openAPIPaths(3, "")}) // 4 resources
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("fifth")}); err != nil {
		t.Fatalf("the fifth resource: %v", err)
	}
	_, err = c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("sixth")})
	wantAPIError(t, "the sixth resource", err, "LimitExceededException", limitMsg)
	_, err = c.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Mode: types.PutModeMerge, Body: []byte(
		`{"openapi":"3.0.1","info":{"title":"big","version":"1"},"paths":{"/more":{"get":{"responses":{"200":{"description":"ok"}}}}}}`)})
	wantAPIError(t, "a merge over the limit", err, "LimitExceededException", limitMsg)
	rs, err := c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id, Limit: aws.Int32(500)})
	if err != nil || len(rs.Items) != 5 {
		t.Fatalf("after refusals the API has %d resources (%v), want 5", len(rs.Items), err)
	}
}

// TestImportDocumentationAndAuth (finding 7, finding 2): documentation parts do not fail an
// import with failonwarnings=true (AWS imports them); a security scheme the gateway cannot
// enforce (an authorizer) fails the import instead of leaving the method open.
func TestImportDocumentationAndAuth(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Client("us-east-1")
	ctx := harness.Ctx(t)
	doc := `{"openapi":"3.0.1","info":{"title":"doc","version":"1"},
	  "x-amazon-apigateway-documentation":{"version":"1","documentationParts":[{"location":{"type":"API"},"properties":{"description":"d"}}]},
	  "paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock"}}}}}`
	out, err := c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc), FailOnWarnings: true})
	if err != nil {
		t.Fatalf("documentation parts with failonwarnings: %v", err)
	}
	if len(out.Warnings) != 0 {
		t.Fatalf("warnings %q", out.Warnings)
	}
	authDoc := `{"openapi":"3.0.1","info":{"title":"auth","version":"1"},
	  "components":{"securitySchemes":{"lambda":{"type":"apiKey","name":"Authorization","in":"header",
	    "x-amazon-apigateway-authtype":"custom","x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations"}}}},
	  "paths":{"/secret":{"get":{"security":[{"lambda":[]}],"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock"}}}}}`
	_, err = c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(authDoc)})
	wantAPIError(t, "an authorizer with a bad URI", err, "BadRequestException", "Invalid Authorizer URI: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations. Authorizer URI should be a valid API Gateway ARN that represents a Lambda function invocation.")
	// A valid authorizer is created and enforced: the method is CUSTOM on it, and a request
	// without the token is 401 (no Lambda endpoint is even configured).
	authDoc = strings.Replace(authDoc, "functions/f/", "functions/arn:aws:lambda:us-east-1:123456789012:function:f/", 1)
	api, err := c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(authDoc)})
	if err != nil {
		t.Fatal(err)
	}
	auths, err := c.GetAuthorizers(ctx, &apigateway.GetAuthorizersInput{RestApiId: api.Id})
	if err != nil || len(auths.Items) != 1 {
		t.Fatalf("authorizers: %v %v", auths, err)
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.Endpoint + "/restapis/" + *api.Id + "/p/_user_request_/secret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("imported CUSTOM method without a token: %d, want 401", resp.StatusCode)
	}
}

// TestAWSIntegrationChecks (finding 7): PutIntegration of type AWS refuses what AWS refuses —
// an S3 integration without a role, an ARN without path or action, a role of another account.
func TestAWSIntegrationChecks(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Client("us-east-1")
	ctx := harness.Ctx(t)
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("aws")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
		t.Fatal(err)
	}
	put := func(uri, creds string) error {
		in := &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"),
			Type: types.IntegrationTypeAws, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(uri)}
		if creds != "" {
			in.Credentials = aws.String(creds)
		}
		_, err := c.PutIntegration(ctx, in)
		return err
	}
	own := "arn:aws:iam::000000000000:role/apigw-s3"
	wantAPIError(t, "S3 without a role", put("arn:aws:apigateway:us-east-1:s3:path/bucket/key", ""), "BadRequestException", "Role ARN must be specified for AWS integrations")
	wantAPIError(t, "no path or action", put("arn:aws:apigateway:us-east-1:s3", own), "BadRequestException", "AWS ARN for integration must contain path or action")
	wantAPIError(t, "another account's role", put("arn:aws:apigateway:us-east-1:s3:path/bucket/key", "arn:aws:iam::123456789012:role/theirs"), "AccessDeniedException", "Cross-account pass role is not allowed.")
	// Only a uri that is no ARN at all is an invalid ARN; the ARN of a role (LocalStack's
	// AWS-validated case) or of a bare Lambda function lacks a path or action.
	for _, uri := range []string{"arn:aws:iam::0000000000:role/service-role/asdf", "arn:aws:lambda:us-east-1:000000000000:function:f"} {
		wantAPIError(t, uri, put(uri, own), "BadRequestException", "AWS ARN for integration must contain path or action")
	}
	wantAPIError(t, "not an ARN", put("non-valid-arn", own), "BadRequestException", "Invalid ARN specified in the request")
	if err := put("arn:aws:apigateway:us-east-1:s3:path/bucket/key", own); err != nil {
		t.Fatalf("S3 with the account's own role: %v", err)
	}

	// UpdateIntegration applies the same checks to the patched integration, all or nothing.
	update := func(path, value string) error {
		_, err := c.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET"),
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String(path), Value: aws.String(value)}}})
		return err
	}
	wantAPIError(t, "patch to another account's role", update("/credentials", "arn:aws:iam::123456789012:role/theirs"), "AccessDeniedException", "Cross-account pass role is not allowed.")
	wantAPIError(t, "patch the role away", update("/credentials", ""), "BadRequestException", "Role ARN must be specified for AWS integrations")
	wantAPIError(t, "patch uri to a role", update("/uri", own), "BadRequestException", "AWS ARN for integration must contain path or action")
	got, err := c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Credentials) != own || aws.ToString(got.Uri) != "arn:aws:apigateway:us-east-1:s3:path/bucket/key" {
		t.Fatalf("refused patches changed the integration: credentials %q uri %q", aws.ToString(got.Credentials), aws.ToString(got.Uri))
	}

	// An import may not store what PutIntegration refuses: each failing method is listed in the
	// words AWS uses for a failed import, and nothing is created or changed.
	doc := func(integration string) []byte {
		return []byte(`{"openapi":"3.0.1","info":{"title":"imp","version":"1"},"paths":{"/s3":{"get":{"responses":{"200":{"description":"ok"}},
		  "x-amazon-apigateway-integration":` + integration + `}}}}`)
	}
	const prefix = "Errors found during import:\n\tUnable to put integration on 'GET' for resource at path '/s3': "
	for _, tc := range []struct{ name, integration, msg string }{
		{"another account's role", `{"type":"aws","httpMethod":"GET","uri":"arn:aws:apigateway:us-east-1:s3:path/b/k","credentials":"arn:aws:iam::123456789012:role/theirs"}`,
			"Cross-account pass role is not allowed."},
		{"S3 without a role", `{"type":"aws","httpMethod":"GET","uri":"arn:aws:apigateway:us-east-1:s3:path/b/k"}`, "Role ARN must be specified for AWS integrations"},
		{"no path or action", `{"type":"aws","httpMethod":"GET","uri":"arn:aws:apigateway:us-east-1:s3","credentials":"` + own + `"}`,
			"AWS ARN for integration must contain path or action"},
	} {
		_, err := c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(tc.integration)})
		wantAPIError(t, "import: "+tc.name, err, "BadRequestException", prefix+tc.msg)
		_, err = c.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Mode: types.PutModeOverwrite, Body: doc(tc.integration)})
		wantAPIError(t, "put: "+tc.name, err, "BadRequestException", prefix+tc.msg)
	}
	apis, err := c.GetRestApis(ctx, &apigateway.GetRestApisInput{})
	if err != nil || len(apis.Items) != 1 {
		t.Fatalf("refused imports: %d APIs (%v), want 1", len(apis.Items), err)
	}
	if _, err := c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId, HttpMethod: aws.String("GET")}); err != nil {
		t.Fatalf("a refused overwrite changed the API: %v", err)
	}
}
