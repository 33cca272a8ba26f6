package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/tollgate/tollgate/test/harness"
)

// fakeLambda is a Lambda Invoke API server run by the test: POST
// /2015-03-31/functions/{functionArn}/invocations runs the Go function named by the ARN.
type fakeLambda struct {
	*httptest.Server
	mu     sync.Mutex
	events []map[string]any
	auth   []string
	fns    map[string]func(ev map[string]any, w http.ResponseWriter)
}

func startFakeLambda(t *testing.T) *fakeLambda {
	f := &fakeLambda{fns: map[string]func(map[string]any, http.ResponseWriter){}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/2015-03-31/functions/")
		arn, ok2 := strings.CutSuffix(rest, "/invocations")
		arn, err := url.PathUnescape(arn)
		if !ok || !ok2 || err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad invoke path "+r.URL.Path, 400)
			return
		}
		var ev map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "event is not JSON", 400)
			return
		}
		f.mu.Lock()
		f.events = append(f.events, ev)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		fn := f.fns[arn[strings.LastIndex(arn, ":")+1:]]
		f.mu.Unlock()
		if fn == nil {
			w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
			http.Error(w, `{"Message":"Function not found"}`, 404)
			return
		}
		fn(ev, w)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLambda) last() (map[string]any, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.events[len(f.events)-1], f.auth[len(f.auth)-1]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// TestLambdaProxy (both engines): AWS_PROXY integrations invoke the function through
// --lambda-endpoint with a SigV4 signature for lambda and the version 1.0 proxy event (path and
// query parameters, multi-value headers, stage variables, the API key and its id, a binary body
// base64-encoded); the proxy response's status, headers and body (base64 decoded) reach the
// client; a function error or a malformed answer is 502, a slow function 504, a missing one 502;
// an integration method other than POST is 500.
func TestLambdaProxy(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) {
			fl := startFakeLambda(t)
			fl.fns["echo"] = func(ev map[string]any, w http.ResponseWriter) {
				b, _ := json.Marshal(ev)
				writeJSON(w, map[string]any{"statusCode": 201, "headers": map[string]string{"X-Fn": "echo"},
					"multiValueHeaders": map[string][]string{"Set-Cookie": {"a=1", "b=2"}}, "body": string(b)})
			}
			fl.fns["binary"] = func(ev map[string]any, w http.ResponseWriter) {
				writeJSON(w, map[string]any{"statusCode": 200, "headers": map[string]string{"Content-Type": "application/octet-stream"},
					"body": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}), "isBase64Encoded": true})
			}
			fl.fns["crash"] = func(ev map[string]any, w http.ResponseWriter) {
				w.Header().Set("X-Amz-Function-Error", "Unhandled")
				writeJSON(w, map[string]any{"errorMessage": "boom"})
			}
			fl.fns["garbage"] = func(ev map[string]any, w http.ResponseWriter) { _, _ = io.WriteString(w, "not json") }
			fl.fns["slow"] = func(ev map[string]any, w http.ResponseWriter) {
				time.Sleep(1500 * time.Millisecond)
				writeJSON(w, map[string]any{"statusCode": 200})
			}
			s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--lambda-endpoint", fl.URL},
				Env: []string{"TOLLGATE_LAMBDA_ACCESS_KEY_ID=AKIDLAMBDA", "TOLLGATE_LAMBDA_SECRET_ACCESS_KEY=lambda-secret"}})}
			c := s.client("us-east-1")
			g := buildGatewayAPI(t, c, "prod")
			api := aws.String(g.ID)
			fnRes, err := c.CreateResource(ctx(t), &apigateway.CreateResourceInput{RestApiId: api, ParentId: rootOf(t, c, g.ID), PathPart: aws.String("fn")})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"echo", "binary", "crash", "garbage", "slow", "missing", "getmethod"} {
				r, err := c.CreateResource(ctx(t), &apigateway.CreateResourceInput{RestApiId: api, ParentId: fnRes.Id, PathPart: aws.String(name)})
				if err != nil {
					t.Fatal(err)
				}
				if name == "echo" {
					if r, err = c.CreateResource(ctx(t), &apigateway.CreateResourceInput{RestApiId: api, ParentId: r.Id, PathPart: aws.String("{id}")}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := c.PutMethod(ctx(t), &apigateway.PutMethodInput{RestApiId: api, ResourceId: r.Id, HttpMethod: aws.String("ANY"),
					AuthorizationType: aws.String("NONE"), ApiKeyRequired: name == "echo"}); err != nil {
					t.Fatal(err)
				}
				uri := fmt.Sprintf("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:%s/invocations", name)
				in := &apigateway.PutIntegrationInput{RestApiId: api, ResourceId: r.Id, HttpMethod: aws.String("ANY"), Type: types.IntegrationTypeAwsProxy,
					IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(uri)}
				if name == "slow" {
					in.TimeoutInMillis = aws.Int32(500)
				}
				if name == "getmethod" {
					in.IntegrationHttpMethod = aws.String("GET") // API Gateway invokes functions with POST only
				}
				if _, err := c.PutIntegration(ctx(t), in); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.UpdateStage(ctx(t), &apigateway.UpdateStageInput{RestApiId: api, StageName: aws.String("prod"),
				PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/variables/color"), Value: aws.String("blue")}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.UpdateRestApi(ctx(t), &apigateway.UpdateRestApiInput{RestApiId: api,
				PatchOperations: []types.PatchOperation{{Op: types.OpAdd, Path: aws.String("/binaryMediaTypes/image~1png")}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateDeployment(ctx(t), &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("prod")}); err != nil {
				t.Fatal(err)
			}
			_, keyID, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{})
			// Text bodies go as text; a binary media type of the deployment goes base64-encoded.
			for _, bc := range []struct {
				ctype string
				b64   bool
			}{{"text/plain", false}, {"image/png", true}} {
				req, _ := http.NewRequest("POST", s.Endpoint+"/restapis/"+g.ID+"/prod/_user_request_/fn/echo/1", strings.NewReader("hello"))
				req.Header.Set("x-api-key", key)
				req.Header.Set("Content-Type", bc.ctype)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				ev, _ := fl.last()
				want := "hello"
				if bc.b64 {
					want = base64.StdEncoding.EncodeToString([]byte("hello"))
				}
				if ev["isBase64Encoded"] != bc.b64 || ev["body"] != want {
					t.Errorf("%s body: isBase64Encoded %v body %v", bc.ctype, ev["isBase64Encoded"], ev["body"])
				}
			}

			base := s.Endpoint + "/restapis/" + g.ID + "/prod/_user_request_"
			req, _ := http.NewRequest("POST", base+"/fn/echo/a%20b?x=1&x=2&y=3", bytes.NewReader([]byte{0xff, 0xfe, 'z'}))
			req.Header.Set("x-api-key", key)
			req.Header.Add("X-Multi", "one")
			req.Header.Add("X-Multi", "two")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 || resp.Header.Get("X-Fn") != "echo" || len(resp.Header.Values("Set-Cookie")) != 2 {
				t.Fatalf("echo: %d %v %s", resp.StatusCode, resp.Header, body)
			}
			ev, auth := fl.last()
			if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDLAMBDA/") || !strings.Contains(auth, "/us-east-1/lambda/aws4_request") {
				t.Errorf("invoke not signed for lambda: %q", auth)
			}
			rc := ev["requestContext"].(map[string]any)
			id := rc["identity"].(map[string]any)
			checks := map[string]bool{
				"resource":        ev["resource"] == "/fn/echo/{id}",
				"path":            ev["path"] == "/fn/echo/a%20b",
				"httpMethod":      ev["httpMethod"] == "POST",
				"pathParameters":  fmt.Sprint(ev["pathParameters"]) == "map[id:a b]",
				"query":           fmt.Sprint(ev["queryStringParameters"]) == "map[x:2 y:3]" && fmt.Sprint(ev["multiValueQueryStringParameters"]) == "map[x:[1 2] y:[3]]",
				"multiValue":      fmt.Sprint(ev["multiValueHeaders"].(map[string]any)["X-Multi"]) == "[one two]",
				"stageVariables":  fmt.Sprint(ev["stageVariables"]) == "map[color:blue]",
				"base64 body":     ev["isBase64Encoded"] == true && ev["body"] == base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 'z'}),
				"context":         rc["stage"] == "prod" && rc["apiId"] == g.ID && rc["resourcePath"] == "/fn/echo/{id}" && rc["path"] == "/prod/fn/echo/a%20b" && rc["requestId"] == resp.Header.Get("X-Amzn-Requestid"),
				"identity.apiKey": id["apiKey"] == key && id["apiKeyId"] == keyID && id["sourceIp"] == "127.0.0.1",
			}
			for what, ok := range checks {
				if !ok {
					t.Errorf("proxy event %s wrong: %v", what, ev)
				}
			}
			// A base64 answer is decoded for a client accepting a binary media type of the
			// deployment, and passed on as text otherwise (as AWS does).
			encoded := base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff})
			for accept, want := range map[string][]byte{"image/png": {0, 1, 2, 0xff}, "": []byte(encoded)} {
				req, _ := http.NewRequest("GET", base+"/fn/binary", nil)
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				r2, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b2, _ := io.ReadAll(r2.Body)
				r2.Body.Close()
				if r2.StatusCode != 200 || !bytes.Equal(b2, want) || r2.Header.Get("Content-Type") != "application/octet-stream" {
					t.Errorf("binary, Accept %q: %d %q %v", accept, r2.StatusCode, b2, r2.Header)
				}
			}
			for _, c := range []struct {
				path   string
				status int
				body   string
			}{
				{"/fn/crash", 502, `{"message": "Internal server error"}`},
				{"/fn/garbage", 502, `{"message": "Internal server error"}`},
				{"/fn/missing", 502, `{"message": "Internal server error"}`},
				{"/fn/slow", 504, `{"message": "Endpoint request timed out"}`},
				{"/fn/getmethod", 500, `{"message": "Internal server error"}`},
			} {
				r, err := http.Get(base + c.path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if r.StatusCode != c.status || string(b) != c.body {
					t.Errorf("%s: %d %s, want %d %s", c.path, r.StatusCode, b, c.status, c.body)
				}
			}
		})
	}
}

// TestLambdaProxyWithoutEndpoint: with no --lambda-endpoint an AWS_PROXY Lambda method answers
// 500, as API Gateway does for a function it cannot invoke.
func TestLambdaProxyWithoutEndpoint(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	g := buildGatewayAPI(t, c, "prod")
	api := aws.String(g.ID)
	r, err := c.CreateResource(ctx(t), &apigateway.CreateResourceInput{RestApiId: api, ParentId: rootOf(t, c, g.ID), PathPart: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutMethod(ctx(t), &apigateway.PutMethodInput{RestApiId: api, ResourceId: r.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutIntegration(ctx(t), &apigateway.PutIntegrationInput{RestApiId: api, ResourceId: r.Id, HttpMethod: aws.String("GET"), Type: types.IntegrationTypeAwsProxy,
		IntegrationHttpMethod: aws.String("POST"), Uri: aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx(t), &apigateway.CreateDeploymentInput{RestApiId: api, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if code, _, body := call(t, s, g, "GET", "/fn", ""); code != 500 || body != `{"message": "Internal server error"}` {
		t.Errorf("no endpoint: %d %s", code, body)
	}
}

// TestLambdaAWSIntegration (both engines): a non-proxy AWS integration to Lambda passes the
// client body (or the request template, as written) to the function and its result back
// through the default integration response; a function error's errorMessage selects the
// integration response whose selectionPattern matches it.
func TestLambdaAWSIntegration(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) {
			fl := startFakeLambda(t)
			fl.fns["calc"] = func(ev map[string]any, w http.ResponseWriter) {
				if ev["fail"] == true {
					w.Header().Set("X-Amz-Function-Error", "Unhandled")
					writeJSON(w, map[string]any{"errorMessage": "Bad input: fail", "errorType": "Error"})
					return
				}
				writeJSON(w, map[string]any{"got": ev})
			}
			s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--lambda-endpoint", fl.URL}})}
			c := s.client("us-east-1")
			api, err := c.CreateRestApi(ctx(t), &apigateway.CreateRestApiInput{Name: aws.String("aws")})
			if err != nil {
				t.Fatal(err)
			}
			a := &authAPI{id: *api.Id, root: *api.RootResourceId, c: c, stage: "prod"}
			integ := apigateway.PutIntegrationInput{Type: types.IntegrationTypeAws, IntegrationHttpMethod: aws.String("POST"),
				Uri: aws.String(fmt.Sprintf(lambdaURI, "calc")), RequestTemplates: map[string]string{"text/plain": `{"templated":true}`},
				PassthroughBehavior: aws.String("WHEN_NO_MATCH")}
			res := a.method(t, a.root, "calc", "POST", apigateway.PutMethodInput{AuthorizationType: aws.String("NONE")}, integ)
			for _, ir := range []apigateway.PutIntegrationResponseInput{
				{StatusCode: aws.String("200")},
				{StatusCode: aws.String("400"), SelectionPattern: aws.String("Bad input.*"), ResponseTemplates: map[string]string{"application/json": `{"error":"bad input"}`}},
			} {
				ir.RestApiId, ir.ResourceId, ir.HttpMethod = &a.id, &res, aws.String("POST")
				if _, err := c.PutMethodResponse(ctx(t), &apigateway.PutMethodResponseInput{RestApiId: &a.id, ResourceId: &res, HttpMethod: aws.String("POST"), StatusCode: ir.StatusCode}); err != nil {
					t.Fatal(err)
				}
				if _, err := c.PutIntegrationResponse(ctx(t), &ir); err != nil {
					t.Fatal(err)
				}
			}
			a.deploy(t)
			post := func(ctype, body string) (int, string) {
				req, _ := http.NewRequest("POST", s.Endpoint+"/restapis/"+a.id+"/prod/_user_request_/calc", strings.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, body := post("application/json", `{"a":1}`); code != 200 || strings.TrimSpace(body) != `{"got":{"a":1}}` {
				t.Fatalf("passthrough: %d %s", code, body)
			}
			if code, body := post("text/plain", `ignored`); code != 200 || strings.TrimSpace(body) != `{"got":{"templated":true}}` {
				t.Fatalf("template: %d %s", code, body)
			}
			if code, body := post("application/json", `{"fail":true}`); code != 400 || body != `{"error":"bad input"}` {
				t.Fatalf("function error: %d %s", code, body)
			}
		})
	}
}
