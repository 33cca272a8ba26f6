package openapi

import (
	"encoding/json"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// API Gateway's OpenAPI extensions. Every x-amazon-apigateway-* key this package does not map is
// reported as a warning, so nothing is lost silently.
const (
	extPrefix            = "x-amazon-apigateway-"
	extAnyMethod         = "x-amazon-apigateway-any-method"
	extIntegration       = "x-amazon-apigateway-integration"
	extAuth              = "x-amazon-apigateway-auth"
	extAuthorizer        = "x-amazon-apigateway-authorizer"
	extAuthType          = "x-amazon-apigateway-authtype"
	extRequestValidator  = "x-amazon-apigateway-request-validator"
	extRequestValidators = "x-amazon-apigateway-request-validators"
	extApiKeySource      = "x-amazon-apigateway-api-key-source"
	extBinaryMediaTypes  = "x-amazon-apigateway-binary-media-types"
	extPolicy            = "x-amazon-apigateway-policy"
	extMinCompression    = "x-amazon-apigateway-minimum-compression-size"
	extEndpointConfig    = "x-amazon-apigateway-endpoint-configuration"
	extDocumentation     = "x-amazon-apigateway-documentation"
)

// MaxMinimumCompressionSize bounds x-amazon-apigateway-minimum-compression-size (as CreateRestApi).
const MaxMinimumCompressionSize = 10485760

// topLevel maps the document-level extensions onto the result.
func (c *conv) topLevel() error {
	ext := c.d.doc.Extensions
	for _, k := range sortedKeys(ext) {
		if !strings.HasPrefix(k, extPrefix) {
			continue
		}
		v := ext[k]
		switch k {
		case extApiKeySource:
			s := strings.ToUpper(scalarString(v))
			if s != apigw.ApiKeySourceHeader && s != apigw.ApiKeySourceAuthorizer {
				c.warn("Invalid %s '%s': must be HEADER or AUTHORIZER; ignored", k, renderValue(v))
				continue
			}
			c.res.ApiKeySource = s
		case extBinaryMediaTypes:
			types, ok := asStringList(v)
			if !ok {
				c.warn("Invalid %s: expected a list of strings; ignored", k)
				continue
			}
			c.res.BinaryMediaTypes = types
		case extPolicy:
			c.policy(v)
		case extMinCompression:
			n, ok := asInt(v)
			if !ok || n < 0 || n > MaxMinimumCompressionSize {
				return apigw.BadRequest("Invalid minimum compression size, must be between 0 and 10485760")
			}
			c.res.MinimumCompressionSize = &n
		case extEndpointConfig:
			c.endpointConfig(v, "")
		case extGatewayResponses:
			c.gatewayResponses(v)
		case extDocumentation:
			// Documentation parts describe the API; they set nothing the gateway enforces.
			// AWS imports them and its failonwarnings does not trip on them, so neither does
			// Tollgate, which has no documentation resource to keep them in: they are dropped
			// without a warning.
		case extRequestValidators, extRequestValidator:
			c.warn("Request validators are not supported: %s was ignored", k)
		default:
			c.warn("Unsupported extension '%s' was ignored", k)
		}
	}
	c.servers()
	c.securitySchemes()
	if comps := c.d.doc.Components; comps != nil {
		c.unsupportedExtensions(comps.Extensions, " in components")
	}
	return nil
}

// policy stores the resource policy as compact JSON (AWS returns it as a JSON string).
func (c *conv) policy(v any) {
	switch x := v.(type) {
	case string:
		c.res.Policy = x
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			c.warn("Invalid %s; ignored", extPolicy)
			return
		}
		c.res.Policy = string(b)
	default:
		c.warn("Invalid %s: expected a policy document; ignored", extPolicy)
	}
}

// endpointConfig reads {disableExecuteApiEndpoint, vpcEndpointIds}. Swagger puts it at the top
// level, OpenAPI 3 on the server object; both are accepted.
func (c *conv) endpointConfig(v any, where string) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.warn("Invalid %s%s: expected an object; ignored", extEndpointConfig, where)
		return
	}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "disableExecuteApiEndpoint":
			b, ok := obj[k].(bool)
			if !ok {
				c.warn("Invalid %s.%s%s: expected a boolean; ignored", extEndpointConfig, k, where)
				continue
			}
			c.res.DisableExecuteApiEndpoint = &b
		case "vpcEndpointIds":
			ids, ok := asStringList(obj[k])
			if !ok {
				c.warn("Invalid %s.%s%s: expected a list of strings; ignored", extEndpointConfig, k, where)
				continue
			}
			c.res.VpcEndpointIDs = ids
		default:
			c.warn("Unsupported property '%s' of %s%s was ignored", k, extEndpointConfig, where)
		}
	}
}

// servers reads the endpoint configuration of the first server and warns about other extensions.
func (c *conv) servers() {
	for i, s := range c.d.doc.Servers {
		if s == nil {
			continue
		}
		for _, k := range sortedKeys(s.Extensions) {
			switch {
			case !strings.HasPrefix(k, extPrefix):
			case k == extEndpointConfig && i == 0:
				c.endpointConfig(s.Extensions[k], " in servers")
			default:
				c.warn("Unsupported extension '%s' in servers was ignored", k)
			}
		}
	}
}

// securitySchemes reports unknown extensions on schemes.
func (c *conv) securitySchemes() {
	comps := c.d.doc.Components
	if comps == nil {
		return
	}
	for _, name := range sortedKeys(comps.SecuritySchemes) {
		ref := comps.SecuritySchemes[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		for _, k := range sortedKeys(ref.Value.Extensions) {
			switch {
			case !strings.HasPrefix(k, extPrefix), k == extAuthType:
			case k == extAuthorizer: // authorizers()
			default:
				c.warn("Unsupported extension '%s' in security scheme '%s' was ignored", k, name)
			}
		}
	}
}

// unsupportedExtensions warns about every API Gateway extension in ext.
func (c *conv) unsupportedExtensions(ext map[string]any, where string) {
	for _, k := range sortedKeys(ext) {
		if strings.HasPrefix(k, extPrefix) {
			c.warn("Unsupported extension '%s'%s was ignored", k, where)
		}
	}
}
