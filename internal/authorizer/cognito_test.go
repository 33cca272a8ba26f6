package authorizer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testPool is a user pool whose JWKS an httptest server serves.
type testPool struct {
	key     *rsa.PrivateKey
	pool    Pool
	fetches atomic.Int32
	srv     *httptest.Server
}

func newTestPool(t *testing.T) *testPool {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tp := &testPool{key: k, pool: Pool{Region: "us-east-1", ID: "us-east-1_Test1"}}
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/us-east-1_Test1/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		tp.fetches.Add(1)
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "kid-1", Algorithm: "RS256", Use: "sig"}}}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(tp.srv.Close)
	return tp
}

func (tp *testPool) token(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: tp.key}, (&jose.SignerOptions{}).WithHeader("kid", kid).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCognitoVerify(t *testing.T) {
	tp := newTestPool(t)
	now := time.Unix(1_800_000_000, 0)
	c := &Cognito{Endpoint: tp.srv.URL, Now: func() time.Time { return now }}
	iss := tp.pool.Issuer()
	claims := func(use string, extra map[string]any) map[string]any {
		m := map[string]any{"iss": iss, "sub": "user-7", "token_use": use, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "email": "a@b.c"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := func() string {
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other}, (&jose.SignerOptions{}).WithHeader("kid", "kid-1"))
		s, _ := jwt.Signed(sig).Claims(claims("id", nil)).Serialize()
		return s
	}()
	tests := []struct {
		name   string
		token  string
		scopes []string
		want   error
	}{
		{"id token", tp.token(t, "kid-1", claims("id", nil)), nil, nil},
		{"bearer prefix", "Bearer " + tp.token(t, "kid-1", claims("id", nil)), nil, nil},
		{"access token without scopes on the method", tp.token(t, "kid-1", claims("access", map[string]any{"scope": "pets/read"})), nil, ErrUnauthorized},
		{"access token with a scope", tp.token(t, "kid-1", claims("access", map[string]any{"scope": "openid pets/read"})), []string{"pets/read"}, nil},
		{"access token without the scope", tp.token(t, "kid-1", claims("access", map[string]any{"scope": "pets/write"})), []string{"pets/read"}, ErrUnauthorized},
		{"id token on a scoped method", tp.token(t, "kid-1", claims("id", nil)), []string{"pets/read"}, ErrUnauthorized},
		{"expired", tp.token(t, "kid-1", claims("id", map[string]any{"exp": now.Add(-time.Second).Unix()})), nil, ErrExpired},
		{"other issuer", tp.token(t, "kid-1", claims("id", map[string]any{"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"})), nil, ErrUnauthorized},
		{"forged signature", forged, nil, ErrUnauthorized},
		{"unknown kid", tp.token(t, "kid-2", claims("id", nil)), nil, ErrUnauthorized},
		{"no exp", tp.token(t, "kid-1", map[string]any{"iss": iss, "token_use": "id"}), nil, ErrUnauthorized},
		{"garbage", "not.a.jwt", nil, ErrUnauthorized},
		{"empty", "", nil, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.Verify(context.Background(), tt.token, []Pool{tp.pool})
			if err == nil && !r.AllowsScopes(tt.scopes) {
				err = ErrUnauthorized
			}
			if err != tt.want {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err == nil {
				if r.PrincipalID != "user-7" || r.Claims["email"] != "a@b.c" {
					t.Fatalf("result %+v", r)
				}
				if v, ok := r.Lookup("claims.sub"); !ok || v != "user-7" {
					t.Fatalf("claims.sub = %q", v)
				}
			}
		})
	}
	// The key set was fetched once: an unknown kid within a minute does not refetch.
	if n := tp.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
}

func TestCognitoKeysUnavailable(t *testing.T) {
	c := &Cognito{Endpoint: "http://127.0.0.1:1"}
	tp := newTestPool(t)
	tok := tp.token(t, "kid-1", map[string]any{"iss": tp.pool.Issuer(), "token_use": "id", "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := c.Verify(context.Background(), tok, []Pool{tp.pool}); err != ErrKeys {
		t.Fatalf("Verify = %v, want ErrKeys", err)
	}
}
