package openapi

import (
	"github.com/tollgate/tollgate/internal/apigw"
)

const extGatewayResponses = "x-amazon-apigateway-gateway-responses"

// gatewayResponses reads x-amazon-apigateway-gateway-responses: per response type, statusCode,
// responseParameters and responseTemplates, as PutGatewayResponse takes them. A type outside the
// enum, or an entry of the wrong shape, is a warning and is left out (failonwarnings refuses it).
// The importer validates the mappings as PutGatewayResponse does.
func (c *conv) gatewayResponses(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		c.warn("Invalid %s: expected an object of gateway response types; ignored", extGatewayResponses)
		return
	}
	for _, t := range sortedKeys(m) {
		if !apigw.ValidGatewayResponseType(t) {
			c.warn("Invalid gateway response type '%s' in %s; ignored", t, extGatewayResponses)
			continue
		}
		body, ok := m[t].(map[string]any)
		if !ok {
			c.warn("Invalid gateway response '%s': expected an object; ignored", t)
			continue
		}
		gr := apigw.NewDefaultGatewayResponse(t)
		if s, ok := body["statusCode"]; ok {
			gr.StatusCode = scalarString(s)
		}
		if p, ok := stringMap(body["responseParameters"]); ok {
			gr.ResponseParameters = p
		} else if body["responseParameters"] != nil {
			c.warn("Invalid responseParameters of gateway response '%s': expected strings; ignored", t)
		}
		if p, ok := stringMap(body["responseTemplates"]); ok {
			gr.ResponseTemplates = p
		} else if body["responseTemplates"] != nil {
			c.warn("Invalid responseTemplates of gateway response '%s': expected strings; ignored", t)
		}
		if c.res.GatewayResponses == nil {
			c.res.GatewayResponses = map[string]*apigw.GatewayResponse{}
		}
		c.res.GatewayResponses[t] = gr
	}
}

// stringMap reads an object of strings; ok is false for anything else (nil included).
func stringMap(v any) (map[string]string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}
