package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Pool is one Cognito user pool of a COGNITO_USER_POOLS authorizer's providerARNs.
type Pool struct {
	Region, ID string
}

// Issuer is the iss claim of the pool's tokens, always AWS's (whatever endpoint serves the keys).
func (p Pool) Issuer() string { return "https://cognito-idp." + p.Region + ".amazonaws.com/" + p.ID }

// Cognito errors, each the answer API Gateway gives.
var (
	// ErrUnauthorized: no valid token (401 Unauthorized).
	ErrUnauthorized = errors.New("authorizer: unauthorized")
	// ErrExpired: a valid token past its exp (401 "The incoming token has expired").
	ErrExpired = errors.New("authorizer: token expired")
	// ErrKeys: the pool's keys could not be fetched (500, a configuration error).
	ErrKeys = errors.New("authorizer: user pool keys unavailable")
)

// Cognito validates user-pool tokens. It fetches each pool's JWKS from Endpoint (a format
// with %s for the region, or a base URL) at {endpoint}/{poolId}/.well-known/jwks.json and keeps
// the keys; a token signed with a key it does not know makes it fetch again, at most once a
// minute per pool, so key rotation is picked up and unknown kids cannot make it hammer the pool.
type Cognito struct {
	// Endpoint is --cognito-endpoint: "" means AWS's https://cognito-idp.{region}.amazonaws.com.
	Endpoint string
	Client   *http.Client
	Now      func() time.Time

	mu   sync.Mutex
	keys map[Pool]*poolKeys
}

type poolKeys struct {
	set     jose.JSONWebKeySet
	fetched time.Time
	mu      sync.Mutex // one fetch at a time per pool
}

// refetchEvery bounds fetches for unknown kids.
const refetchEvery = time.Minute

func (c *Cognito) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// jwksURL is where a pool's keys are.
func (c *Cognito) jwksURL(p Pool) string {
	base := c.Endpoint
	if base == "" {
		base = "https://cognito-idp." + p.Region + ".amazonaws.com"
	}
	return strings.TrimRight(base, "/") + "/" + url.PathEscape(p.ID) + "/.well-known/jwks.json"
}

// Verify validates a raw token: RS256 signature by a key of one of pools, iss of that pool,
// exp in the future, token_use "id" or "access". The result holds the claims; whether they fit
// a method (scopes) is AllowsScopes's question, so one cached result serves every method.
func (c *Cognito) Verify(ctx context.Context, raw string, pools []Pool) (*Result, error) {
	raw = strings.TrimSpace(raw)
	if after, ok := cutPrefixFold(raw, "Bearer "); ok {
		raw = strings.TrimSpace(after)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, ErrUnauthorized
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, ErrUnauthorized
	}
	i := slices.IndexFunc(pools, func(p Pool) bool { return p.Issuer() == unverified.Issuer })
	if i < 0 {
		return nil, ErrUnauthorized
	}
	key, err := c.key(ctx, pools[i], tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var all map[string]any
	if err := tok.Claims(key, &std, &all); err != nil {
		return nil, ErrUnauthorized
	}
	if std.Issuer != pools[i].Issuer() || std.Expiry == nil {
		return nil, ErrUnauthorized
	}
	now := c.now()
	if !now.Before(std.Expiry.Time()) {
		return nil, ErrExpired
	}
	if std.IssuedAt != nil && std.IssuedAt.Time().After(now.Add(5*time.Minute)) {
		return nil, ErrUnauthorized
	}
	r := &Result{Claims: map[string]string{}, Expires: std.Expiry.Time()}
	switch use, _ := all["token_use"].(string); use {
	case "id":
	case "access":
		r.Access = true
		s, _ := all["scope"].(string)
		r.Scopes = strings.Fields(s)
	default:
		return nil, ErrUnauthorized
	}
	for _, k := range sortedKeys(all) {
		v, ok := scalar(all[k])
		if !ok {
			b, _ := json.Marshal(all[k])
			v = string(b)
		}
		r.Claims[k] = v
		r.Context = append(r.Context, KV{"claims." + k, v})
	}
	r.PrincipalID = r.Claims["sub"]
	return r, nil
}

// AllowsScopes reports whether a Cognito result may call a method with these
// authorizationScopes: a method with scopes wants an access token holding one of them; a
// method without wants an ID token, as API Gateway does.
func (r *Result) AllowsScopes(scopes []string) bool {
	if len(scopes) == 0 {
		return !r.Access
	}
	if !r.Access {
		return false
	}
	for _, s := range r.Scopes {
		if slices.Contains(scopes, s) {
			return true
		}
	}
	return false
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// key returns the pool's public key kid, fetching the key set when it is unknown.
func (c *Cognito) key(ctx context.Context, p Pool, kid string) (any, error) {
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[Pool]*poolKeys{}
	}
	pk := c.keys[p]
	if pk == nil {
		pk = &poolKeys{}
		c.keys[p] = pk
	}
	c.mu.Unlock()
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if k := pk.set.Key(kid); len(k) > 0 {
		return k[0].Public().Key, nil
	}
	if !pk.fetched.IsZero() && c.now().Sub(pk.fetched) < refetchEvery {
		return nil, ErrUnauthorized // an unknown kid, and the set is fresh
	}
	set, err := c.fetch(ctx, p)
	if err != nil {
		if pk.fetched.IsZero() {
			return nil, ErrKeys
		}
		return nil, ErrUnauthorized
	}
	pk.set, pk.fetched = set, c.now()
	if k := pk.set.Key(kid); len(k) > 0 {
		return k[0].Public().Key, nil
	}
	return nil, ErrUnauthorized
}

func (c *Cognito) fetch(ctx context.Context, p Pool) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.jwksURL(p), nil)
	if err != nil {
		return set, err
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return set, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("jwks: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return set, err
	}
	err = json.Unmarshal(b, &set)
	return set, err
}
