package openapi

import (
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// authorizers creates an Authorizer for every security scheme with
// x-amazon-apigateway-authorizer, used or not, as AWS does; the authorizer is named after the
// scheme. A TOKEN or Cognito authorizer without an identitySource reads the scheme's header
// (an apiKey scheme's name, as API Gateway's examples declare it). Ids of authorizers the API
// already has under the same name are kept (PutRestApi), so its methods stay attached.
func (c *conv) authorizers() {
	comps := c.d.doc.Components
	if comps == nil {
		return
	}
	for _, name := range sortedKeys(comps.SecuritySchemes) {
		s := c.scheme(name)
		if s == nil {
			continue
		}
		raw, ok := s.Extensions[extAuthorizer]
		if !ok {
			continue
		}
		obj, ok := raw.(map[string]any)
		if !ok {
			c.refuse("Invalid %s in security scheme '%s': it must be an object", extAuthorizer, name)
			continue
		}
		a := &apigw.Authorizer{Name: name, Type: strings.ToUpper(scalarString(obj["type"]))}
		a.ID = c.opts.ExistingAuthorizers[name]
		if a.ID == "" {
			a.ID = apigw.NewID(6)
		}
		a.AuthorizerURI = scalarString(obj["authorizerUri"])
		a.AuthorizerCredentials = scalarString(obj["authorizerCredentials"])
		a.IdentitySource = scalarString(obj["identitySource"])
		a.IdentityValidationExpression = scalarString(obj["identityValidationExpression"])
		a.AuthType = scalarString(s.Extensions[extAuthType])
		if v, ok := obj["authorizerResultTtlInSeconds"]; ok {
			n, ok := intValue(v)
			if !ok {
				c.refuse("Invalid authorizerResultTtlInSeconds in security scheme '%s': %s", name, renderValue(v))
				continue
			}
			a.TTL = &n
		}
		if list, ok := obj["providerARNs"].([]any); ok {
			for _, p := range list {
				a.ProviderARNs = append(a.ProviderARNs, scalarString(p))
			}
		}
		if a.IdentitySource == "" && a.Type != apigw.AuthorizerRequest && s.Type == "apiKey" && s.In == "header" && s.Name != "" {
			a.IdentitySource = "method.request.header." + s.Name
		}
		for _, k := range sortedKeys(obj) {
			switch k {
			case "type", "authorizerUri", "authorizerCredentials", "identitySource", "identityValidationExpression",
				"authorizerResultTtlInSeconds", "providerARNs":
			default:
				c.warn("Unsupported member '%s' of %s in security scheme '%s' was ignored", k, extAuthorizer, name)
			}
		}
		if c.authz == nil {
			c.authz = map[string]*apigw.Authorizer{}
		}
		c.authz[name] = a
		c.res.Authorizers = append(c.res.Authorizers, a)
	}
}

// intValue reads a whole number written as a number or a numeric string.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	case int:
		return int64(x), true
	case int64:
		return x, true
	case string:
		var n int64
		if x == "" {
			return 0, false
		}
		for _, r := range x {
			if r < '0' || r > '9' {
				return 0, false
			}
			n = n*10 + int64(r-'0')
			if n > 1<<31 {
				return 0, false
			}
		}
		return n, true
	}
	return 0, false
}
