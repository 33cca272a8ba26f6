package e2e

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

type gwAnswer struct {
	status                  int
	errType, ctype, body    string
	reason, echo, requestID string
}

func invoke(t *testing.T, s *server, g *gwAPI, path string, hdr map[string]string) gwAnswer {
	t.Helper()
	resp, b := s.send(t, "GET", g.ID, g.Stage, path, hdr)
	return gwAnswer{resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), resp.Header.Get("Content-Type"), b,
		resp.Header.Get("X-Reason"), resp.Header.Get("X-Echo"), resp.Header.Get("X-Amzn-Requestid")}
}

// TestGatewayResponses (both engines): an API's customised gateway responses apply on the data
// plane from the next deployment: status override, static and request-mapped headers, templates
// chosen by Accept with $context and $stageVariables substituted, and DEFAULT_4XX as the
// fallback of the types left alone. Without customisation the built-in answers stay byte-exact.
func TestGatewayResponses(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) {
			s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine}})}
			c := s.client("us-east-1")
			g := buildGatewayAPI(t, c, "prod")
			api := aws.String(g.ID)
			if _, err := c.UpdateStage(ctx(t), &apigateway.UpdateStageInput{RestApiId: api, StageName: aws.String("prod"),
				PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/variables/color"), Value: aws.String("blue")}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutGatewayResponse(ctx(t), &apigateway.PutGatewayResponseInput{RestApiId: api, ResponseType: types.GatewayResponseTypeInvalidApiKey,
				StatusCode:         aws.String("401"),
				ResponseParameters: map[string]string{"gatewayresponse.header.x-reason": "'bad key'", "gatewayresponse.header.x-echo": "method.request.header.X-Trace"},
				ResponseTemplates: map[string]string{
					"application/json": `{"msg":$context.error.messageString,"type":"$context.error.responseType","stage":"$context.stage","rid":"$context.requestId","sv":"${stageVariables.color}"}`,
					"application/xml":  `<e>$context.error.message</e>`,
				}}); err != nil {
				t.Fatal(err)
			}
			// GET /down proxies to a port nothing listens on: an integration failure (5xx).
			down, err := c.CreateResource(ctx(t), &apigateway.CreateResourceInput{RestApiId: api, ParentId: rootOf(t, c, g.ID), PathPart: aws.String("down")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutMethod(ctx(t), &apigateway.PutMethodInput{RestApiId: api, ResourceId: down.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutIntegration(ctx(t), &apigateway.PutIntegrationInput{RestApiId: api, ResourceId: down.Id, HttpMethod: aws.String("GET"),
				Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("http://" + freePort(t) + "/x")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutGatewayResponse(ctx(t), &apigateway.PutGatewayResponseInput{RestApiId: api, ResponseType: types.GatewayResponseTypeDefault5xx,
				StatusCode: aws.String("503"), ResponseParameters: map[string]string{"gatewayresponse.header.Retry-After": "'30'"},
				ResponseTemplates: map[string]string{"application/json": `{"down":"$context.error.responseType"}`}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PutGatewayResponse(ctx(t), &apigateway.PutGatewayResponseInput{RestApiId: api, ResponseType: types.GatewayResponseTypeDefault4xx,
				ResponseTemplates: map[string]string{"application/json": `{"fallback":"$context.error.responseType"}`}}); err != nil {
				t.Fatal(err)
			}
			// The SDK reads the whole collection, the two customisations and the fallbacks marked.
			list, err := c.GetGatewayResponses(ctx(t), &apigateway.GetGatewayResponsesInput{RestApiId: api})
			if err != nil {
				t.Fatal(err)
			}
			custom := 0
			for _, it := range list.Items {
				if !it.DefaultResponse {
					custom++
				}
			}
			if len(list.Items) != 21 || custom != 3 {
				t.Errorf("GetGatewayResponses: %d items, %d customised", len(list.Items), custom)
			}
			// Not deployed yet: the built-in answers, byte for byte.
			if a := invoke(t, s, g, "/mock", nil); a.status != 403 || a.body != `{"message":"Forbidden"}` || a.errType != "ForbiddenException" {
				t.Fatalf("before the deployment: %+v", a)
			}
			if _, err := c.CreateDeployment(ctx(t), &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("prod")}); err != nil {
				t.Fatal(err)
			}
			a := invoke(t, s, g, "/mock", map[string]string{"X-Trace": "t-1"})
			var body map[string]string
			if err := json.Unmarshal([]byte(a.body), &body); err != nil {
				t.Fatalf("custom body is not JSON: %q", a.body)
			}
			if a.status != 401 || a.errType != "ForbiddenException" || a.ctype != "application/json" || a.reason != "bad key" || a.echo != "t-1" ||
				body["msg"] != "Forbidden" || body["type"] != "INVALID_API_KEY" || body["stage"] != "prod" || body["rid"] != a.requestID || body["sv"] != "blue" {
				t.Errorf("customised INVALID_API_KEY: %+v", a)
			}
			if a := invoke(t, s, g, "/mock", map[string]string{"Accept": "application/xml"}); a.ctype != "application/xml" || a.body != "<e>Forbidden</e>" {
				t.Errorf("xml template: %+v", a)
			}
			// A backend failure takes the DEFAULT_5XX customisation, status override included.
			if a := invoke(t, s, g, "/down", nil); a.status != 503 || a.body != `{"down":"INTEGRATION_FAILURE"}` {
				t.Errorf("DEFAULT_5XX on a backend failure: %+v", a)
			}
			// A type left alone falls back to the DEFAULT_4XX customisation, keeping its status.
			if a := invoke(t, s, g, "/nowhere", nil); a.status != 403 || a.body != `{"fallback":"MISSING_AUTHENTICATION_TOKEN"}` || a.errType != "MissingAuthenticationTokenException" {
				t.Errorf("DEFAULT_4XX fallback: %+v", a)
			}
			// The customisation goes away at the next deployment after it is deleted.
			if _, err := c.DeleteGatewayResponse(ctx(t), &apigateway.DeleteGatewayResponseInput{RestApiId: api, ResponseType: types.GatewayResponseTypeInvalidApiKey}); err != nil {
				t.Fatal(err)
			}
			if a := invoke(t, s, g, "/mock", nil); a.status != 401 {
				t.Errorf("deleted but not redeployed: %+v", a)
			}
			if _, err := c.CreateDeployment(ctx(t), &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("prod")}); err != nil {
				t.Fatal(err)
			}
			if a := invoke(t, s, g, "/mock", nil); a.status != 403 || a.body != `{"fallback":"INVALID_API_KEY"}` {
				t.Errorf("after delete and redeploy: %+v", a)
			}
		})
	}
}

// rootOf is the id of an API's root resource.
func rootOf(t *testing.T, c *apigateway.Client, apiID string) *string {
	t.Helper()
	a, err := c.GetRestApi(ctx(t), &apigateway.GetRestApiInput{RestApiId: aws.String(apiID)})
	if err != nil {
		t.Fatal(err)
	}
	return a.RootResourceId
}
