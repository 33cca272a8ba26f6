package apigw

import "slices"

// Authorizer types.
const (
	AuthorizerToken   = "TOKEN"
	AuthorizerRequest = "REQUEST"
	AuthorizerCognito = "COGNITO_USER_POOLS"
)

// AuthorizerTypes are the type enum's values, in the order AWS's enum check prints them.
var AuthorizerTypes = []string{AuthorizerToken, AuthorizerRequest, AuthorizerCognito}

// DefaultAuthorizerTTL is the result TTL in effect when authorizerResultTtlInSeconds was never
// set (AWS then leaves the member out of its answers).
const DefaultAuthorizerTTL = 300

// Authorizer is a REST API's Lambda (TOKEN, REQUEST) or Cognito user-pool authorizer. A method
// names it with authorizationType CUSTOM or COGNITO_USER_POOLS; a deployment copies it, so a
// change takes effect at the next deployment, as on AWS.
type Authorizer struct {
	ID                           string   `json:"id"`
	Name                         string   `json:"name"`
	Type                         string   `json:"type"`
	ProviderARNs                 []string `json:"providerARNs,omitempty"`
	AuthType                     string   `json:"authType,omitempty"`
	AuthorizerURI                string   `json:"authorizerUri,omitempty"`
	AuthorizerCredentials        string   `json:"authorizerCredentials,omitempty"`
	IdentitySource               string   `json:"identitySource,omitempty"`
	IdentityValidationExpression string   `json:"identityValidationExpression,omitempty"`
	// TTL is authorizerResultTtlInSeconds; nil when never set (DefaultAuthorizerTTL applies).
	TTL *int64 `json:"authorizerResultTtlInSeconds,omitempty"`
}

// EffectiveTTL is the result TTL in seconds the data plane caches for.
func (a *Authorizer) EffectiveTTL() int64 {
	if a.TTL == nil {
		return DefaultAuthorizerTTL
	}
	return *a.TTL
}

// Clone is a deep copy.
func (a *Authorizer) Clone() *Authorizer {
	c := *a
	c.ProviderARNs = slices.Clone(a.ProviderARNs)
	if a.TTL != nil {
		v := *a.TTL
		c.TTL = &v
	}
	return &c
}

// CloneAuthorizers deep-copies a list of authorizers (nil stays nil).
func CloneAuthorizers(in []*Authorizer) []*Authorizer {
	if in == nil {
		return nil
	}
	out := make([]*Authorizer, len(in))
	for i, a := range in {
		out[i] = a.Clone()
	}
	return out
}

// FindAuthorizer returns the authorizer with id, or nil.
func FindAuthorizer(list []*Authorizer, id string) *Authorizer {
	for _, a := range list {
		if a.ID == id {
			return a
		}
	}
	return nil
}
