package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// gwAPI is a REST API built through the SDK for data-plane tests:
//
//	GET  /mock         MOCK, API key required
//	ANY  /open         MOCK, no key
//	ANY  /items/{proxy+} HTTP_PROXY to the test backend, API key required
type gwAPI struct {
	ID      string
	Stage   string
	Backend *httptest.Server
	hits    atomic.Int64
	// lastProto is the X-Forwarded-Proto of the backend's last request.
	lastProto atomic.Pointer[string]
}

func buildGatewayAPI(t *testing.T, c *apigateway.Client, stage string) *gwAPI {
	t.Helper()
	ctx := ctx(t)
	g := &gwAPI{Stage: stage}
	g.Backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		proto := r.Header.Get("X-Forwarded-Proto")
		g.lastProto.Store(&proto)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend-Path", r.URL.Path)
		fmt.Fprintf(w, `{"path":%q,"query":%q,"method":%q,"body":%q,"xff":%q}`, r.URL.Path, r.URL.RawQuery, r.Method, body, r.Header.Get("X-Forwarded-For"))
	}))
	t.Cleanup(g.Backend.Close)

	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("gw")})
	if err != nil {
		t.Fatal(err)
	}
	g.ID = *api.Id
	mk := func(parent *string, part string) *string {
		r, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: parent, PathPart: aws.String(part)})
		if err != nil {
			t.Fatal(err)
		}
		return r.Id
	}
	mock, open, items := mk(api.RootResourceId, "mock"), mk(api.RootResourceId, "open"), mk(api.RootResourceId, "items")
	proxy := mk(items, "{proxy+}")
	put := func(res *string, verb string, keyRequired bool, in *apigateway.PutIntegrationInput) {
		if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res, HttpMethod: aws.String(verb),
			AuthorizationType: aws.String("NONE"), ApiKeyRequired: keyRequired,
			RequestParameters: map[string]bool{"method.request.path.proxy": true}}); err != nil {
			t.Fatal(err)
		}
		in.RestApiId, in.ResourceId, in.HttpMethod = api.Id, res, aws.String(verb)
		if _, err := c.PutIntegration(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	mockIn := func() *apigateway.PutIntegrationInput {
		return &apigateway.PutIntegrationInput{Type: types.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}
	}
	put(mock, "GET", true, mockIn())
	put(open, "ANY", false, mockIn())
	for _, res := range []*string{mock, open} {
		verb := "GET"
		if res == open {
			verb = "ANY"
		}
		if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res, HttpMethod: aws.String(verb),
			StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": `{"mock":true}`},
			ResponseParameters: map[string]string{"method.response.header.X-Mock": "'yes'"}}); err != nil {
			t.Fatal(err)
		}
	}
	put(proxy, "ANY", true, &apigateway.PutIntegrationInput{Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("ANY"),
		Uri:               aws.String(g.Backend.URL + "/backend/{proxy}"),
		RequestParameters: map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}})
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String(stage)}); err != nil {
		t.Fatal(err)
	}
	return g
}

// call invokes the gateway through LocalStack's path form and returns status, error type and body.
func call(t *testing.T, s *server, g *gwAPI, method, path, key string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+"/restapis/"+g.ID+"/"+g.Stage+"/_user_request_"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), string(b)
}

// planWithKey creates a plan on the stage and an enabled key in it.
func planWithKey(t *testing.T, c *apigateway.Client, g *gwAPI, in apigateway.CreateUsagePlanInput) (plan, keyID, keyValue string) {
	t.Helper()
	ctx := ctx(t)
	in.ApiStages = append(in.ApiStages, types.ApiStage{ApiId: aws.String(g.ID), Stage: aws.String(g.Stage)})
	if in.Name == nil {
		in.Name = aws.String("plan")
	}
	p, err := c.CreateUsagePlan(ctx, &in)
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatal(err)
	}
	return *p.Id, *k.Id, *k.Value
}

// TestDataPlaneChecks observes every row of spec §7.2 over HTTP.
func TestDataPlaneChecks(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	ctx := ctx(t)
	g := buildGatewayAPI(t, c, "dev")
	plan, keyID, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{
		Throttle: &types.ThrottleSettings{RateLimit: 1000, BurstLimit: 1000},
		Quota:    &types.QuotaSettings{Limit: 5, Period: types.QuotaPeriodTypeDay}})

	type row struct {
		name, method, path, key string
		status                  int
		errType, body           string
	}
	check := func(r row) {
		t.Helper()
		st, et, body := call(t, s, g, r.method, r.path, r.key)
		if st != r.status || et != r.errType || (r.body != "" && body != r.body) {
			t.Fatalf("%s: got %d %s %s, want %d %s %s", r.name, st, et, body, r.status, r.errType, r.body)
		}
	}
	for _, r := range []row{
		{"no key", "GET", "/mock", "", 403, "ForbiddenException", `{"message":"Forbidden"}`},
		{"unknown key", "GET", "/mock", "not-a-key-0123456789abc", 403, "ForbiddenException", `{"message":"Forbidden"}`},
		{"unknown route", "GET", "/nope", key, 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`},
		{"wrong verb", "POST", "/mock", key, 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`},
		{"valid key, MOCK", "GET", "/mock", key, 200, "", `{"mock":true}`},
		{"no key needed", "DELETE", "/open", "", 200, "", `{"mock":true}`},
	} {
		check(r)
	}
	// HTTP_PROXY with {proxy+}: path substituted, query passed, X-Forwarded-For added.
	st, _, body := call(t, s, g, "GET", "/items/a/b?x=1", key)
	if st != 200 || !strings.Contains(body, `"path":"/backend/a/b"`) || !strings.Contains(body, `"query":"x=1"`) || !strings.Contains(body, `"xff":"127.0.0.1"`) {
		t.Fatalf("proxy: %d %s", st, body)
	}
	// 2 admitted so far; quota 5 → 3 more, then Limit Exceeded.
	check(row{"quota 3", "GET", "/mock", key, 200, "", ""})
	check(row{"quota 4", "GET", "/mock", key, 200, "", ""})
	check(row{"quota 5", "GET", "/mock", key, 200, "", ""})
	check(row{"quota exhausted", "GET", "/mock", key, 429, "LimitExceededException", `{"message":"Limit Exceeded"}`})
	check(row{"unmetered method still served", "GET", "/open", "", 200, "", ""})

	// GetUsage reports exactly what was admitted, at once.
	today := time.Now().UTC().Format("2006-01-02")
	u, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(plan), StartDate: aws.String(today), EndDate: aws.String(today)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[keyID]; len(got) != 1 || got[0][0] != 5 || got[0][1] != 0 {
		t.Fatalf("GetUsage = %v, want [[5 0]]", u.Items)
	}
	// UpdateUsage grants 2 more.
	if _, err := c.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: aws.String(plan), KeyId: aws.String(keyID),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	check(row{"extension 1", "GET", "/mock", key, 200, "", ""})
	check(row{"extension 2", "GET", "/mock", key, 200, "", ""})
	check(row{"extension used", "GET", "/mock", key, 429, "LimitExceededException", ""})

	// Disabling the key holds for the very next request.
	if _, err := c.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(keyID), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	check(row{"disabled key", "GET", "/mock", key, 403, "ForbiddenException", `{"message":"Forbidden"}`})

	// A key in a plan that does not cover this stage.
	other, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := c.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Enabled: true})
	if _, err := c.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: other.Id, KeyId: k2.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatal(err)
	}
	check(row{"key not in a plan for the stage", "GET", "/mock", *k2.Value, 403, "ForbiddenException", `{"message":"Forbidden"}`})

	// Host-based invocation form.
	req, _ := http.NewRequest("GET", s.Endpoint+"/dev/open", nil)
	req.Host = g.ID + ".execute-api.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Amzn-Requestid") == "" || len(resp.Header.Get("X-Amz-Apigw-Id")) != 16 {
		t.Fatalf("host form: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestDataPlaneThrottle: burst B at a rate too small to refill during the test admits exactly B.
func TestDataPlaneThrottle(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	g := buildGatewayAPI(t, c, "dev")
	_, _, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{Throttle: &types.ThrottleSettings{RateLimit: 0.001, BurstLimit: 3}})
	var ok, throttled int
	for i := 0; i < 6; i++ {
		st, et, body := call(t, s, g, "GET", "/mock", key)
		switch {
		case st == 200:
			ok++
		case st == 429 && et == "TooManyRequestsException" && body == `{"message":"Too Many Requests"}`:
			throttled++
		default:
			t.Fatalf("unexpected %d %s %s", st, et, body)
		}
	}
	if ok != 3 || throttled != 3 {
		t.Fatalf("admitted %d, throttled %d; want 3 and 3", ok, throttled)
	}
}

// TestDataPlaneExactQuota: 64 concurrent clients against a quota of N admit exactly N.
func TestDataPlaneExactQuota(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	g := buildGatewayAPI(t, c, "dev")
	const n = 150
	plan, keyID, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{Quota: &types.QuotaSettings{Limit: n, Period: types.QuotaPeriodTypeMonth}})
	var admitted, limited atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				req, _ := http.NewRequest("GET", s.Endpoint+"/restapis/"+g.ID+"/dev/_user_request_/mock", nil)
				req.Header.Set("x-api-key", key)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					admitted.Add(1)
				case 429:
					limited.Add(1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != n || limited.Load() != 64*5-n {
		t.Fatalf("admitted %d, limited %d; want exactly %d admitted", admitted.Load(), limited.Load(), n)
	}
	today := time.Now().UTC().Format("2006-01-02")
	u, err := c.GetUsage(ctx(t), &apigateway.GetUsageInput{UsagePlanId: aws.String(plan), StartDate: aws.String(today), EndDate: aws.String(today), KeyId: aws.String(keyID)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[keyID]; len(got) != 1 || got[0][0] != n || got[0][1] != 0 {
		t.Fatalf("GetUsage = %v, want [[%d 0]]", u.Items, n)
	}
}

// TestDataPlaneRestart: usage survives a graceful restart exactly, and a kill -9 never leads to
// over-admission.
func TestDataPlaneRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	c := s.client("us-east-1")
	g := buildGatewayAPI(t, c, "dev")
	const n = 40
	plan, keyID, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{Quota: &types.QuotaSettings{Limit: n, Period: types.QuotaPeriodTypeDay}})
	admit := func(s *server, tries int) int {
		ok := 0
		for i := 0; i < tries; i++ {
			if st, _, _ := call(t, s, g, "GET", "/mock", key); st == 200 {
				ok++
			}
		}
		return ok
	}
	usage := func(s *server) int64 {
		today := time.Now().UTC().Format("2006-01-02")
		u, err := s.client("us-east-1").GetUsage(ctx(t), &apigateway.GetUsageInput{UsagePlanId: aws.String(plan), StartDate: aws.String(today), EndDate: aws.String(today)})
		if err != nil {
			t.Fatal(err)
		}
		return u.Items[keyID][0][0]
	}
	first := admit(s, 10)
	s.Stop()
	s = startServer(t, dir)
	if got := usage(s); got != int64(first) {
		t.Fatalf("after graceful restart GetUsage = %d, want %d", got, first)
	}
	second := admit(s, 10)
	s.Kill()
	s = startServer(t, dir)
	third := admit(s, 2*n)
	if total := first + second + third; total > n {
		t.Fatalf("admitted %d in total across a kill -9, quota is %d", total, n)
	}
	if first != 10 || second != 10 || third == 0 {
		t.Fatalf("admitted %d, %d, %d", first, second, third)
	}
}
