package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

const lambdaURI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:%s/invocations"

// allowAll is a Lambda authorizer answer allowing resource for principal, with a context and,
// when key is set, the usage identifier key.
func policyAnswer(principal, effect, resource, key string) map[string]any {
	a := map[string]any{"principalId": principal,
		"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource}}},
		"context": map[string]any{"tier": "gold", "n": 7, "ok": true}}
	if key != "" {
		a["usageIdentifierKey"] = key
	}
	return a
}

// authAPI is a REST API whose methods use authorizers.
type authAPI struct {
	id    string
	root  string
	c     *apigateway.Client
	stage string
}

func (a *authAPI) method(t *testing.T, parent, part, verb string, in apigateway.PutMethodInput, integ apigateway.PutIntegrationInput) string {
	t.Helper()
	r, err := a.c.CreateResource(ctx(t), &apigateway.CreateResourceInput{RestApiId: &a.id, ParentId: &parent, PathPart: &part})
	if err != nil {
		t.Fatal(err)
	}
	in.RestApiId, in.ResourceId, in.HttpMethod = &a.id, r.Id, &verb
	if _, err := a.c.PutMethod(ctx(t), &in); err != nil {
		t.Fatal(err)
	}
	integ.RestApiId, integ.ResourceId, integ.HttpMethod = &a.id, r.Id, &verb
	if _, err := a.c.PutIntegration(ctx(t), &integ); err != nil {
		t.Fatal(err)
	}
	return *r.Id
}

func (a *authAPI) deploy(t *testing.T) {
	t.Helper()
	if _, err := a.c.CreateDeployment(ctx(t), &apigateway.CreateDeploymentInput{RestApiId: &a.id, StageName: &a.stage}); err != nil {
		t.Fatal(err)
	}
}

func lambdaProxy(fn string) apigateway.PutIntegrationInput {
	return apigateway.PutIntegrationInput{Type: types.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(fmt.Sprintf(lambdaURI, fn))}
}

// send calls a stage's path with headers; it returns the answer with its body read.
func (s *server) send(t *testing.T, method, apiID, stage, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+"/restapis/"+apiID+"/"+stage+"/_user_request_"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// get is send's status, x-amzn-ErrorType and body.
func (s *server) get(t *testing.T, method, apiID, stage, path string, hdr map[string]string) (int, string, string) {
	t.Helper()
	resp, body := s.send(t, method, apiID, stage, path, hdr)
	return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body
}

// TestLambdaAuthorizers (both engines): TOKEN and REQUEST authorizers run through the Lambda
// Invoke API before the API key check; every outcome gets API Gateway's answer; results are
// cached for the TTL (the function runs once) and a cached policy is evaluated again for each
// method ARN; FlushStageAuthorizersCache empties the cache; with apiKeySource AUTHORIZER the
// usageIdentifierKey meters the caller against the usage plan's exact quota, and GetUsage
// reports it; the authorizer's principal and context reach a Lambda proxy integration
// (requestContext.authorizer) and an HTTP integration's parameter mappings; a customised
// ACCESS_DENIED gateway response renders $context.authorizer.
func TestLambdaAuthorizers(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) { testLambdaAuthorizers(t, engine) })
	}
}

func testLambdaAuthorizers(t *testing.T, engine string) {
	fl := startFakeLambda(t)
	var tokenCalls, requestCalls atomic.Int32
	var keyValue atomic.Value
	keyValue.Store("")
	fl.fns["tokenauth"] = func(ev map[string]any, w http.ResponseWriter) {
		tokenCalls.Add(1)
		arn, _ := ev["methodArn"].(string)
		switch tok, _ := ev["authorizationToken"].(string); tok {
		case "allow":
			writeJSON(w, policyAnswer("user-1", "Allow", "*", keyValue.Load().(string)))
		case "allow-get":
			// Only GET methods of this stage: a cached answer must still refuse a POST.
			writeJSON(w, policyAnswer("user-2", "Allow", strings.Join(strings.Split(arn, "/")[:2], "/")+"/GET/*", keyValue.Load().(string)))
		case "deny":
			writeJSON(w, policyAnswer("user-3", "Deny", arn, ""))
		case "elsewhere":
			writeJSON(w, policyAnswer("user-4", "Allow", "arn:aws:execute-api:us-east-1:000000000000:other/*", ""))
		case "unknown-key":
			writeJSON(w, policyAnswer("user-5", "Allow", "*", "no-such-key-value-000000000000"))
		case "unauthorized":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			writeJSON(w, map[string]any{"errorMessage": "Unauthorized", "errorType": "Error"})
		case "crash":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			writeJSON(w, map[string]any{"errorMessage": "boom"})
		default:
			writeJSON(w, map[string]any{"principalId": "x"}) // no policy: malformed
		}
	}
	fl.fns["reqauth"] = func(ev map[string]any, w http.ResponseWriter) {
		requestCalls.Add(1)
		writeJSON(w, policyAnswer("req-user", "Allow", "*", keyValue.Load().(string)))
	}
	fl.fns["echo"] = func(ev map[string]any, w http.ResponseWriter) {
		b, _ := json.Marshal(ev)
		writeJSON(w, map[string]any{"statusCode": 200, "body": string(b)})
	}
	var backendHeader atomic.Value
	backendHeader.Store("")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backendHeader.Store(r.Header.Get("X-Principal") + "|" + r.Header.Get("X-Tier"))
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(backend.Close)

	s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--lambda-endpoint", fl.URL}})}
	c := s.client("us-east-1")
	api, err := c.CreateRestApi(ctx(t), &apigateway.CreateRestApiInput{Name: aws.String("auth"), ApiKeySource: types.ApiKeySourceTypeAuthorizer})
	if err != nil {
		t.Fatal(err)
	}
	a := &authAPI{id: *api.Id, root: *api.RootResourceId, c: c, stage: "prod"}
	tokAuth, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: &a.id, Name: aws.String("tok"), Type: types.AuthorizerTypeToken,
		AuthorizerUri: aws.String(fmt.Sprintf(lambdaURI, "tokenauth")), IdentitySource: aws.String("method.request.header.Authorization"),
		IdentityValidationExpression: aws.String("[a-z-]+")})
	if err != nil {
		t.Fatal(err)
	}
	reqAuth, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: &a.id, Name: aws.String("req"), Type: types.AuthorizerTypeRequest,
		AuthorizerUri: aws.String(fmt.Sprintf(lambdaURI, "reqauth")), IdentitySource: aws.String("method.request.header.X-User, method.request.querystring.q"),
		AuthorizerResultTtlInSeconds: aws.Int32(300)})
	if err != nil {
		t.Fatal(err)
	}
	custom := func(id *string) apigateway.PutMethodInput {
		return apigateway.PutMethodInput{AuthorizationType: aws.String("CUSTOM"), AuthorizerId: id, ApiKeyRequired: true}
	}
	a.method(t, a.root, "tok", "ANY", custom(tokAuth.Id), lambdaProxy("echo"))
	reqRes := a.method(t, a.root, "req", "GET", apigateway.PutMethodInput{AuthorizationType: aws.String("CUSTOM"), AuthorizerId: reqAuth.Id,
		RequestParameters: map[string]bool{"method.request.querystring.q": false}},
		apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttp, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(backend.URL + "/r"),
			RequestParameters: map[string]string{"integration.request.header.X-Principal": "context.authorizer.principalId", "integration.request.header.X-Tier": "context.authorizer.tier"}})
	if _, err := c.PutIntegrationResponse(ctx(t), &apigateway.PutIntegrationResponseInput{RestApiId: &a.id, ResourceId: &reqRes, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutMethodResponse(ctx(t), &apigateway.PutMethodResponseInput{RestApiId: &a.id, ResourceId: &reqRes, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutGatewayResponse(ctx(t), &apigateway.PutGatewayResponseInput{RestApiId: &a.id, ResponseType: types.GatewayResponseTypeAccessDenied,
		ResponseTemplates: map[string]string{"application/json": `{"denied":$context.error.messageString,"type":"$context.error.responseType"}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutGatewayResponse(ctx(t), &apigateway.PutGatewayResponseInput{RestApiId: &a.id, ResponseType: types.GatewayResponseTypeAuthorizerConfigurationError,
		StatusCode: aws.String("502"), ResponseTemplates: map[string]string{"application/json": `{"e":$context.error.messageString,"t":"$context.error.responseType"}`}}); err != nil {
		t.Fatal(err)
	}
	a.deploy(t)
	plan, err := c.CreateUsagePlan(ctx(t), &apigateway.CreateUsagePlanInput{Name: aws.String("p"), ApiStages: []types.ApiStage{{ApiId: &a.id, Stage: &a.stage}},
		Quota: &types.QuotaSettings{Limit: 4, Period: types.QuotaPeriodTypeDay}})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateApiKey(ctx(t), &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUsagePlanKey(ctx(t), &apigateway.CreateUsagePlanKeyInput{UsagePlanId: plan.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatal(err)
	}
	keyValue.Store(*k.Value)
	auth := func(tok string) map[string]string { return map[string]string{"Authorization": tok} }

	// Outcomes that never reach the function: no token, a token the expression refuses.
	for _, h := range []map[string]string{nil, auth("Bearer X!")} {
		if code, typ, body := s.get(t, "GET", a.id, a.stage, "/tok", h); code != 401 || typ != "UnauthorizedException" || body != `{"message":"Unauthorized"}` {
			t.Fatalf("no/invalid token: %d %s %s", code, typ, body)
		}
	}
	if n := tokenCalls.Load(); n != 0 {
		t.Fatalf("the function ran %d times for requests without a valid token", n)
	}
	// Allowed: the key from usageIdentifierKey admits and is metered; the proxy event carries
	// the authorizer's principal and context and the key.
	code, _, body := s.get(t, "GET", a.id, a.stage, "/tok?x=1", auth("allow"))
	if code != 200 {
		t.Fatalf("allow: %d %s", code, body)
	}
	var ev struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
			Identity   struct {
				APIKey   string `json:"apiKey"`
				APIKeyID string `json:"apiKeyId"`
			} `json:"identity"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatal(err)
	}
	if az := ev.RequestContext.Authorizer; az["principalId"] != "user-1" || az["tier"] != "gold" || az["n"] != "7" || az["ok"] != "true" {
		t.Fatalf("requestContext.authorizer = %v", az)
	}
	if id := ev.RequestContext.Identity; id.APIKey != *k.Value || id.APIKeyID != *k.Id {
		t.Fatalf("identity = %+v", id)
	}
	tokenEv := fl.eventsOf("TOKEN")
	if len(tokenEv) != 1 || tokenEv[0]["authorizationToken"] != "allow" ||
		tokenEv[0]["methodArn"] != "arn:aws:execute-api:us-east-1:000000000000:"+a.id+"/prod/GET/tok" {
		t.Fatalf("TOKEN events: %v", tokenEv)
	}
	// Cached: the next calls within the TTL do not run the function.
	for i := 0; i < 3; i++ {
		if code, _, body := s.get(t, "GET", a.id, a.stage, "/tok", auth("allow")); code != 200 && i < 2 {
			t.Fatalf("cached allow %d: %d %s", i, code, body)
		}
	}
	if n := tokenCalls.Load(); n != 1 {
		t.Fatalf("function ran %d times within the TTL, want 1", n)
	}
	// The quota (4 a day) counted the key the authorizer named: the fifth call was refused.
	if code, typ, _ := s.get(t, "GET", a.id, a.stage, "/tok", auth("allow")); code != 429 || typ != "LimitExceededException" {
		t.Fatalf("over quota: %d %s", code, typ)
	}
	today := time.Now().UTC().Format("2006-01-02")
	u, err := c.GetUsage(ctx(t), &apigateway.GetUsageInput{UsagePlanId: plan.Id, StartDate: &today, EndDate: &today})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[*k.Id]; len(got) != 1 || got[0][0] != 4 || got[0][1] != 0 {
		t.Fatalf("usage = %v, want [[4 0]]", u.Items)
	}
	// A cached policy is evaluated for each method ARN: GET allowed, POST refused, one run.
	if _, err := c.UpdateUsagePlan(ctx(t), &apigateway.UpdateUsagePlanInput{UsagePlanId: plan.Id,
		PatchOperations: []types.PatchOperation{{Op: types.OpRemove, Path: aws.String("/quota")}}}); err != nil {
		t.Fatal(err)
	}
	before := tokenCalls.Load()
	waitFor(t, func() bool { // the plan change reaches the data plane
		code, _, _ := s.get(t, "GET", a.id, a.stage, "/tok", auth("allow-get"))
		return code == 200
	})
	if code, typ, body := s.get(t, "POST", a.id, a.stage, "/tok", auth("allow-get")); code != 403 || typ != "AccessDeniedException" ||
		body != `{"denied":"User is not authorized to access this resource","type":"ACCESS_DENIED"}` {
		t.Fatalf("allow-get POST: %d %s %s", code, typ, body)
	}
	if n := tokenCalls.Load() - before; n != 1 {
		t.Fatalf("function ran %d times for one token on two methods, want 1", n)
	}
	// Every other outcome, with API Gateway's answer.
	for _, tc := range []struct {
		tok, typ, body string
		code           int
	}{
		{"deny", "AccessDeniedException", `{"denied":"User is not authorized to access this resource with an explicit deny","type":"ACCESS_DENIED"}`, 403},
		{"elsewhere", "AccessDeniedException", `{"denied":"User is not authorized to access this resource","type":"ACCESS_DENIED"}`, 403},
		{"unauthorized", "UnauthorizedException", `{"message":"Unauthorized"}`, 401},
		{"crash", "AuthorizerConfigurationException", `{"e":null,"t":"AUTHORIZER_CONFIGURATION_ERROR"}`, 502},
		{"malformed", "AuthorizerConfigurationException", `{"e":null,"t":"AUTHORIZER_CONFIGURATION_ERROR"}`, 502},
		{"unknown-key", "ForbiddenException", `{"message":"Forbidden"}`, 403},
	} {
		if code, typ, body := s.get(t, "GET", a.id, a.stage, "/tok", auth(tc.tok)); code != tc.code || typ != tc.typ || body != tc.body {
			t.Errorf("%s: %d %s %s; want %d %s %s", tc.tok, code, typ, body, tc.code, tc.typ, tc.body)
		}
	}
	// The operator's log names the failures by class, never a token. (The server's output
	// reaches the harness through a pipe: the last lines may arrive after the answers.)
	hasClasses := func(log string) bool {
		return strings.Contains(log, `msg="authorizer failed" class="function error"`) &&
			strings.Contains(log, `class="answer is not an authorizer answer"`)
	}
	for deadline := time.Now().Add(5 * time.Second); !hasClasses(s.Log()) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if log := s.Log(); !hasClasses(log) || strings.Contains(log, "allow-get") || strings.Contains(log, "unknown-key") {
		t.Errorf("authorizer failures in the log:\n%s", log)
	}

	// FlushStageAuthorizersCache: the next call runs the function again.
	before = tokenCalls.Load()
	if _, err := c.FlushStageAuthorizersCache(ctx(t), &apigateway.FlushStageAuthorizersCacheInput{RestApiId: &a.id, StageName: &a.stage}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s.get(t, "GET", a.id, a.stage, "/tok", auth("allow"))
		return tokenCalls.Load() > before
	})

	// REQUEST: a missing identity source is 401 without a run; the event has the request; the
	// principal and context reach the HTTP integration's mapped headers.
	if code, _, _ := s.get(t, "GET", a.id, a.stage, "/req", map[string]string{"X-User": "ann"}); code != 401 || requestCalls.Load() != 0 {
		t.Fatalf("REQUEST without q: %d, %d runs", code, requestCalls.Load())
	}
	if code, _, body := s.get(t, "GET", a.id, a.stage, "/req?q=1", map[string]string{"X-User": "ann"}); code != 200 {
		t.Fatalf("REQUEST: %d %s", code, body)
	}
	if got := backendHeader.Load().(string); got != "req-user|gold" {
		t.Fatalf("mapped authorizer context = %q", got)
	}
	s.get(t, "GET", a.id, a.stage, "/req?q=1", map[string]string{"X-User": "ann"})
	s.get(t, "GET", a.id, a.stage, "/req?q=2", map[string]string{"X-User": "ann"})
	if n := requestCalls.Load(); n != 2 {
		t.Fatalf("REQUEST authorizer ran %d times for two distinct identities, want 2", n)
	}
	reqEv := fl.eventsOf("REQUEST")[0]
	if reqEv["methodArn"] != "arn:aws:execute-api:us-east-1:000000000000:"+a.id+"/prod/GET/req" || reqEv["resource"] != "/req" ||
		reqEv["headers"].(map[string]any)["X-User"] != "ann" || reqEv["queryStringParameters"].(map[string]any)["q"] != "1" {
		t.Fatalf("REQUEST event: %v", reqEv)
	}
	if _, ok := reqEv["body"]; ok {
		t.Fatalf("REQUEST event has a body member: %v", reqEv)
	}
}

// eventsOf returns the events of the given authorizer type the functions received.
func (f *fakeLambda) eventsOf(typ string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, ev := range f.events {
		if ev["type"] == typ {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10 s")
}

// TestInvokeAuthorizer runs a TOKEN and a REQUEST authorizer as written, through the Invoke
// API, with the answer's principal and policy; a missing identity is 401 without a run.
func TestInvokeAuthorizer(t *testing.T) {
	fl := startFakeLambda(t)
	fl.fns["auth"] = func(ev map[string]any, w http.ResponseWriter) {
		if ev["type"] == "TOKEN" && ev["authorizationToken"] != "good" {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			writeJSON(w, map[string]any{"errorMessage": "Unauthorized"})
			return
		}
		writeJSON(w, policyAnswer("p-"+fmt.Sprint(ev["type"]), "Allow", fmt.Sprint(ev["methodArn"]), ""))
	}
	s := &server{harness.Start(t, harness.Options{Args: []string{"--lambda-endpoint", fl.URL}})}
	c := s.client("us-east-1")
	api, err := c.CreateRestApi(ctx(t), &apigateway.CreateRestApiInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: api.Id, Name: aws.String("tok"), Type: types.AuthorizerTypeToken,
		AuthorizerUri: aws.String(fmt.Sprintf(lambdaURI, "auth")), IdentitySource: aws.String("method.request.header.Authorization")})
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: api.Id, Name: aws.String("req"), Type: types.AuthorizerTypeRequest,
		AuthorizerUri: aws.String(fmt.Sprintf(lambdaURI, "auth")), IdentitySource: aws.String("method.request.querystring.user")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     *string
		in     apigateway.TestInvokeAuthorizerInput
		status int32
		pid    string
	}{
		{tok.Id, apigateway.TestInvokeAuthorizerInput{Headers: map[string]string{"Authorization": "good"}}, 200, "p-TOKEN"},
		{tok.Id, apigateway.TestInvokeAuthorizerInput{Headers: map[string]string{"Authorization": "bad"}}, 401, ""},
		{tok.Id, apigateway.TestInvokeAuthorizerInput{}, 401, ""},
		{req.Id, apigateway.TestInvokeAuthorizerInput{PathWithQueryString: aws.String("/pets?user=ann")}, 200, "p-REQUEST"},
	} {
		tc.in.RestApiId, tc.in.AuthorizerId = api.Id, tc.id
		out, err := c.TestInvokeAuthorizer(ctx(t), &tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if out.ClientStatus != tc.status || aws.ToString(out.PrincipalId) != tc.pid || out.Log == nil {
			t.Errorf("%s %v: status %d principal %q", *tc.id, tc.in.Headers, out.ClientStatus, aws.ToString(out.PrincipalId))
		}
		if tc.status == 200 && !strings.Contains(aws.ToString(out.Policy), "ESTestInvoke-stage/GET/") {
			t.Errorf("policy %s: want the test stage's method ARN", aws.ToString(out.Policy))
		}
	}
	if _, err := c.TestInvokeAuthorizer(ctx(t), &apigateway.TestInvokeAuthorizerInput{RestApiId: api.Id, AuthorizerId: aws.String("nosuch")}); err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Fatalf("unknown authorizer: %v", err)
	}
}

// TestTwoNodesAuthorizerCache: on two nodes sharing PostgreSQL, each node caches an
// authorizer's answer (one run per node within the TTL), and FlushStageAuthorizersCache sent to
// one node empties the other's cache too: the flush travels through the store.
func TestTwoNodesAuthorizerCache(t *testing.T) {
	dsn, keyEnv := postgresDSN(t), masterKeyEnv(t)
	fl := startFakeLambda(t)
	var runs atomic.Int32
	fl.fns["tokenauth"] = func(ev map[string]any, w http.ResponseWriter) {
		runs.Add(1)
		writeJSON(w, policyAnswer("u", "Allow", "*", ""))
	}
	fl.fns["echo"] = func(ev map[string]any, w http.ResponseWriter) {
		writeJSON(w, map[string]any{"statusCode": 200, "body": "ok"})
	}
	var nodes []*server
	for i := 0; i < 2; i++ {
		nodes = append(nodes, startServer(t, "", "TOLLGATE_STORE="+dsn, keyEnv, "TOLLGATE_LAMBDA_ENDPOINT="+fl.URL))
	}
	c := nodes[0].client("us-east-1")
	api, err := c.CreateRestApi(ctx(t), &apigateway.CreateRestApiInput{Name: aws.String("auth")})
	if err != nil {
		t.Fatal(err)
	}
	a := &authAPI{id: *api.Id, root: *api.RootResourceId, c: c, stage: "prod"}
	au, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: &a.id, Name: aws.String("tok"), Type: types.AuthorizerTypeToken,
		AuthorizerUri: aws.String(fmt.Sprintf(lambdaURI, "tokenauth")), IdentitySource: aws.String("method.request.header.Authorization")})
	if err != nil {
		t.Fatal(err)
	}
	a.method(t, a.root, "x", "GET", apigateway.PutMethodInput{AuthorizationType: aws.String("CUSTOM"), AuthorizerId: au.Id}, lambdaProxy("echo"))
	a.deploy(t)
	hdr := map[string]string{"Authorization": "t"}
	for _, n := range nodes {
		eventually(t, 10*time.Second, "deployment served", func() bool {
			code, _, _ := n.get(t, "GET", a.id, a.stage, "/x", hdr)
			return code == 200
		})
		n.get(t, "GET", a.id, a.stage, "/x", hdr)
	}
	if r := runs.Load(); r != 2 {
		t.Fatalf("%d runs on two nodes within the TTL, want 2 (one each)", r)
	}
	if _, err := c.FlushStageAuthorizersCache(ctx(t), &apigateway.FlushStageAuthorizersCacheInput{RestApiId: &a.id, StageName: &a.stage}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the flush on node 1 reaches node 2", func() bool {
		before := runs.Load()
		nodes[1].get(t, "GET", a.id, a.stage, "/x", hdr)
		return runs.Load() > before
	})
}
