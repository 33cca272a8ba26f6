package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// Authorizer is the Authorizer shape. authorizerResultTtlInSeconds is absent when it was never
// set, as AWS answers (the default of 300 still applies).
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
	AuthorizerResultTTLInSeconds *int64   `json:"authorizerResultTtlInSeconds,omitempty"`
}

// AuthorizerOf renders an authorizer.
func AuthorizerOf(a *apigw.Authorizer) Authorizer {
	return Authorizer{ID: a.ID, Name: a.Name, Type: a.Type, ProviderARNs: a.ProviderARNs, AuthType: a.AuthType,
		AuthorizerURI: a.AuthorizerURI, AuthorizerCredentials: a.AuthorizerCredentials, IdentitySource: a.IdentitySource,
		IdentityValidationExpression: a.IdentityValidationExpression, AuthorizerResultTTLInSeconds: a.TTL}
}

// Authorizers is the GetAuthorizers page.
type Authorizers struct {
	Items    []Authorizer `json:"item"`
	Position string       `json:"position,omitempty"`
}

// AuthorizersOf renders one page.
func AuthorizersOf(items []*apigw.Authorizer, next string) Authorizers {
	out := Authorizers{Items: make([]Authorizer, 0, len(items)), Position: EncodePosition(next)}
	for _, a := range items {
		out.Items = append(out.Items, AuthorizerOf(a))
	}
	return out
}
