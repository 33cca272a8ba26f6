package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tollgate/tollgate/test/harness"
)

// TestCognitoAuthorizer (both engines): a COGNITO_USER_POOLS authorizer validates the token of
// its identity source against the pool's keys, fetched from --cognito-endpoint once and kept:
// an ID token on a method without scopes, an access token holding one of the method's
// authorizationScopes; a missing, forged, foreign or expired token is 401; the claims reach a
// Lambda proxy integration as requestContext.authorizer.claims.
func TestCognitoAuthorizer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/us-east-1_Pool1/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	t.Cleanup(jwks.Close)
	const iss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1"
	sign := func(k *rsa.PrivateKey, claims map[string]any) string {
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := jwt.Signed(sig).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp := time.Now().Add(time.Hour).Unix()
	idToken := sign(key, map[string]any{"iss": iss, "sub": "u-1", "token_use": "id", "email": "ann@example.com", "exp": exp})
	accessToken := sign(key, map[string]any{"iss": iss, "sub": "u-1", "token_use": "access", "scope": "pets/read openid", "exp": exp})
	expired := sign(key, map[string]any{"iss": iss, "sub": "u-1", "token_use": "id", "exp": time.Now().Add(-time.Minute).Unix()})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := sign(other, map[string]any{"iss": iss, "sub": "u-1", "token_use": "id", "exp": exp})
	foreign := sign(key, map[string]any{"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other", "sub": "u-1", "token_use": "id", "exp": exp})

	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) {
			fl := startFakeLambda(t)
			fl.fns["echo"] = func(ev map[string]any, w http.ResponseWriter) {
				b, _ := json.Marshal(ev)
				writeJSON(w, map[string]any{"statusCode": 200, "body": string(b)})
			}
			s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--lambda-endpoint", fl.URL, "--cognito-endpoint", jwks.URL}})}
			c := s.client("us-east-1")
			api, err := c.CreateRestApi(ctx(t), &apigateway.CreateRestApiInput{Name: aws.String("cognito")})
			if err != nil {
				t.Fatal(err)
			}
			a := &authAPI{id: *api.Id, root: *api.RootResourceId, c: c, stage: "prod"}
			au, err := c.CreateAuthorizer(ctx(t), &apigateway.CreateAuthorizerInput{RestApiId: &a.id, Name: aws.String("pool"), Type: types.AuthorizerTypeCognitoUserPools,
				ProviderARNs: []string{"arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Pool1"}, IdentitySource: aws.String("method.request.header.Authorization")})
			if err != nil {
				t.Fatal(err)
			}
			cognito := func(scopes ...string) apigateway.PutMethodInput {
				return apigateway.PutMethodInput{AuthorizationType: aws.String("COGNITO_USER_POOLS"), AuthorizerId: au.Id, AuthorizationScopes: scopes}
			}
			a.method(t, a.root, "me", "GET", cognito(), lambdaProxy("echo"))
			a.method(t, a.root, "pets", "GET", cognito("pets/read"), lambdaProxy("echo"))
			a.method(t, a.root, "admin", "GET", cognito("pets/admin"), lambdaProxy("echo"))
			a.deploy(t)
			before := fetches.Load()
			for _, tc := range []struct {
				path, token string
				code        int
				body        string
			}{
				{"/me", "", 401, `{"message":"Unauthorized"}`},
				{"/me", forged, 401, `{"message":"Unauthorized"}`},
				{"/me", foreign, 401, `{"message":"Unauthorized"}`},
				{"/me", expired, 401, `{"message":"The incoming token has expired"}`},
				{"/me", accessToken, 401, `{"message":"Unauthorized"}`},
				{"/pets", idToken, 401, `{"message":"Unauthorized"}`},
				{"/admin", accessToken, 401, `{"message":"Unauthorized"}`},
				{"/me", idToken, 200, ""},
				{"/pets", accessToken, 200, ""},
			} {
				code, _, body := s.get(t, "GET", a.id, a.stage, tc.path, map[string]string{"Authorization": tc.token})
				if code != tc.code || tc.body != "" && body != tc.body {
					t.Errorf("%s with token %.12q: %d %s; want %d %s", tc.path, tc.token, code, body, tc.code, tc.body)
				}
			}
			code, _, body := s.get(t, "GET", a.id, a.stage, "/me", map[string]string{"Authorization": "Bearer " + idToken})
			var ev struct {
				RequestContext struct {
					Authorizer struct {
						Claims map[string]string `json:"claims"`
					} `json:"authorizer"`
				} `json:"requestContext"`
			}
			if err := json.Unmarshal([]byte(body), &ev); code != 200 || err != nil {
				t.Fatalf("/me: %d %s", code, body)
			}
			if cl := ev.RequestContext.Authorizer.Claims; cl["email"] != "ann@example.com" || cl["sub"] != "u-1" || cl["token_use"] != "id" {
				t.Fatalf("claims = %v", cl)
			}
			if n := fetches.Load() - before; n != 1 {
				t.Fatalf("JWKS fetched %d times, want once", n)
			}
		})
	}
}
