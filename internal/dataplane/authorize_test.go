package dataplane

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/authorizer"
	"github.com/tollgate/tollgate/internal/limit"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// authFixture is one API (key source AUTHORIZER) whose GET /pets uses a TOKEN authorizer and
// requires a key, GET /open requires a key from the x-api-key header path (none here), and a
// fake Invoke API counting runs: token "allow" names keyValue, "other" an unknown key.
type authFixture struct {
	e     *Enforcer
	stage *snapshot.Stage
	runs  atomic.Int32
}

func newAuthFixture(t testing.TB) *authFixture {
	f := &authFixture{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.runs.Add(1)
		var ev map[string]string
		_ = json.NewDecoder(r.Body).Decode(&ev)
		key := keyValue
		if ev["authorizationToken"] == "other" {
			key = "unknown-key-000000000000"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"principalId": "p", "usageIdentifierKey": key,
			"policyDocument": map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:execute-api:*:*:api1/dev/GET/*"}}}})
	}))
	t.Cleanup(srv.Close)
	ttl := int64(300)
	au := &apigw.Authorizer{ID: "au1", Type: "TOKEN", IdentitySource: "method.request.header.Authorization",
		AuthorizerURI: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:a/invocations", TTL: &ttl}
	res := []*apigw.Resource{
		{ID: "root"},
		{ID: "pets", ParentID: "root", PathPart: "pets", Methods: map[string]*apigw.Method{"ANY": {HTTPMethod: "ANY", ApiKeyRequired: true,
			AuthorizationType: "CUSTOM", AuthorizerID: "au1", Integration: &apigw.Integration{Type: "MOCK"}}}},
	}
	plan := apigw.UsagePlan{ID: "plan1", ApiStages: []apigw.ApiStage{{ApiID: "api1", Stage: "dev"}}}
	in := snapshot.Input{Regions: []snapshot.RegionInput{{
		Region: "us-east-1", Throttle: wide,
		Apis:        []*apigw.RestApi{{ID: "api1", ApiKeySource: "AUTHORIZER"}},
		Deployments: []*apigw.Deployment{{ID: "d1", ApiID: "api1", Resources: res, Authorizers: []*apigw.Authorizer{au}, ApiKeySource: "AUTHORIZER"}},
		Stages:      []*apigw.Stage{{ApiID: "api1", StageName: "dev", DeploymentID: "d1"}},
		Plans:       []*apigw.UsagePlan{&plan},
		Keys:        []snapshot.KeyInput{{ID: "key1", Hash: snapshot.HashKey(keyValue), Enabled: true}},
		PlanKeys:    map[string][]string{"plan1": {"key1"}},
	}}}
	lim := limit.NewLocal()
	snap := snapshot.Build(in, snapshot.Binder{Bucket: lim.Bucket, AuthorizerCache: authorizer.NewCache(nil)})
	f.e = &Enforcer{Limiter: lim, Authorizers: &Authorizers{Lambda: &Lambda{Endpoint: srv.URL}, AccountID: "000000000000"}}
	f.stage = snap.API("api1").Stage("dev")
	return f
}

func (f *authFixture) check(method, token string, o *Outcome) {
	in := &testInbound{h: http.Header{}}
	if token != "" {
		in.h.Set("Authorization", token)
	}
	in.method = method
	f.e.Check(context.Background(), f.stage, &View{Method: method, Path: "/pets", In: in}, t0, o)
}

// TestAuthorizerKeySource: with apiKeySource AUTHORIZER the usageIdentifierKey is the key the
// plan checks (an x-api-key header is not read); the answer is cached per token, and the cached
// policy still refuses a method it does not allow.
func TestAuthorizerKeySource(t *testing.T) {
	f := newAuthFixture(t)
	for _, tc := range []struct {
		method, token string
		want          *GatewayError
		runs          int32
	}{
		{"GET", "", ErrUnauthorized, 0},
		{"GET", "allow", nil, 1},
		{"GET", "allow", nil, 1},
		{"POST", "allow", ErrNotAuthorized, 1},
		{"GET", "other", ErrForbidden, 2},
	} {
		var o Outcome
		f.check(tc.method, tc.token, &o)
		if o.Err != tc.want || f.runs.Load() != tc.runs {
			t.Fatalf("%s %q: %v after %d runs; want %v after %d", tc.method, tc.token, o.Err, f.runs.Load(), tc.want, tc.runs)
		}
		if tc.want == nil && (o.Key == nil || o.Key.ID != "key1" || o.APIKey != keyValue || o.Auth.PrincipalID != "p") {
			t.Fatalf("outcome %+v", o)
		}
	}
	// An Invoke API that cannot be reached is AWS's configuration error, with a null message,
	// and the operator hears of it with its class.
	var failures []AuthorizerFailure
	f.e.Authorizers.OnFailure = func(af AuthorizerFailure) { failures = append(failures, af) }
	f.e.Authorizers.Lambda = &Lambda{Endpoint: "http://127.0.0.1:1"}
	var o Outcome
	f.check("GET", "never-cached", &o)
	if o.Err != ErrAuthorizerConfig || string(o.Err.Body) != `{"message":null}` || o.Err.Status != 500 || o.Err.Type != "AuthorizerConfigurationException" {
		t.Fatalf("unreachable authorizer: %+v", o.Err)
	}
	f.e.Authorizers.Lambda = nil
	f.check("GET", "another-token", &o)
	if len(failures) != 2 || failures[0].Class != AuthorizerUnreachable || failures[1].Class != AuthorizerNoEndpoint ||
		failures[0].Method == nil || failures[0].Method.ResourcePath != "/pets" {
		t.Fatalf("failures reported: %+v", failures)
	}
}

// TestCachedAuthorizerAllocs: a request whose authorizer answer is cached costs no allocation
// in enforcement.
func TestCachedAuthorizerAllocs(t *testing.T) {
	f := newAuthFixture(t)
	in := &testInbound{h: http.Header{"Authorization": {"allow"}}, method: "GET"}
	v := View{Method: "GET", Path: "/pets", In: in}
	var o Outcome
	f.e.Check(context.Background(), f.stage, &v, t0, &o) // fills the cache
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		o = Outcome{}
		v.APIKey = ""
		f.e.Check(context.Background(), f.stage, &v, t0, &o)
	})
	if o.Err != nil || allocs != 0 {
		t.Fatalf("cached authorizer: %v, %v allocs per request", o.Err, allocs)
	}
}

// BenchmarkAuthorizer compares enforcement of a method with a cached TOKEN authorizer (key
// from the authorizer) with the same method keyed by an x-api-key header.
func BenchmarkAuthorizer(b *testing.B) {
	b.Run("x-api-key", func(b *testing.B) {
		f := newFixture(b, apigw.UsagePlan{}, nil, wide)
		b.ReportAllocs()
		now := t0
		for b.Loop() {
			now = now.Add(100 * time.Microsecond) // the account bucket refills
			if err := f.check("GET", "/pets", keyValue, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-authorizer", func(b *testing.B) {
		f := newAuthFixture(b)
		in := &testInbound{h: http.Header{"Authorization": {"allow"}}, method: "GET"}
		b.ReportAllocs()
		now := t0
		for b.Loop() {
			now = now.Add(100 * time.Microsecond)
			var o Outcome
			f.e.Check(context.Background(), f.stage, &View{Method: "GET", Path: "/pets", In: in}, now, &o)
			if o.Err != nil {
				b.Fatal(o.Err)
			}
		}
	})
}
