package openapi

import (
	"fmt"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Integration defaults (addendum §2.5).
const (
	defaultTimeoutMillis = 29000
	minTimeoutMillis     = 50
)

var (
	integrationTypes = map[string]bool{
		apigw.IntegrationMock: true, apigw.IntegrationHTTP: true, apigw.IntegrationHTTPProxy: true,
		apigw.IntegrationAWS: true, apigw.IntegrationAWSProxy: true,
	}
	passthroughBehaviors = map[string]bool{"WHEN_NO_MATCH": true, "WHEN_NO_TEMPLATES": true, "NEVER": true}
	contentHandlings     = map[string]bool{"CONVERT_TO_BINARY": true, "CONVERT_TO_TEXT": true}
	connectionTypes      = map[string]bool{"INTERNET": true, "VPC_LINK": true}
)

// integration converts x-amazon-apigateway-integration. A value it cannot use is a warning and
// the method is imported without an integration (or without that member), never half-silently.
func (c *conv) integration(v any, resID, full, verb string) *apigw.Integration {
	where := fmt.Sprintf("of resource '%s' and method '%s'", full, verb)
	obj, ok := v.(map[string]any)
	if !ok {
		c.warn("Invalid %s %s: expected an object; no integration was created", extIntegration, where)
		return nil
	}
	typ := strings.ToUpper(scalarString(obj["type"]))
	if !integrationTypes[typ] {
		c.warn("Invalid integration type '%s' %s; no integration was created", renderValue(obj["type"]), where)
		return nil
	}
	in := &apigw.Integration{
		Type:                typ,
		PassthroughBehavior: "WHEN_NO_MATCH",
		TimeoutInMillis:     defaultTimeoutMillis,
		CacheNamespace:      resID,
		CacheKeyParameters:  []string{},
		Credentials:         c.str(obj, "credentials", where),
		ConnectionID:        c.str(obj, "connectionId", where),
		ConnectionType:      c.enum(obj, "connectionType", connectionTypes, where),
	}
	if typ != apigw.IntegrationMock {
		// MOCK never echoes httpMethod / uri (addendum §2.5), so they are not kept.
		in.HTTPMethod = strings.ToUpper(c.str(obj, "httpMethod", where))
		in.URI = c.str(obj, "uri", where)
		if in.HTTPMethod == "" || in.URI == "" {
			c.warn("Integration of type %s %s needs both 'httpMethod' and 'uri'; no integration was created", typ, where)
			return nil
		}
	}
	if in.ConnectionType == "" && (typ == apigw.IntegrationHTTP || typ == apigw.IntegrationHTTPProxy) {
		in.ConnectionType = "INTERNET"
	}
	in.RequestParameters = c.stringMap(obj, "requestParameters", full, verb)
	in.RequestTemplates = c.stringMap(obj, "requestTemplates", full, verb)
	if p := c.enum(obj, "passthroughBehavior", passthroughBehaviors, where); p != "" {
		in.PassthroughBehavior = p
	}
	in.ContentHandling = c.enum(obj, "contentHandling", contentHandlings, where)
	if raw, ok := obj["timeoutInMillis"]; ok {
		n, ok := asInt(raw)
		if !ok || n < minTimeoutMillis || n > defaultTimeoutMillis {
			c.warn("Invalid timeoutInMillis '%s' %s: must be between %d and %d; the default %d was used",
				renderValue(raw), where, minTimeoutMillis, defaultTimeoutMillis, defaultTimeoutMillis)
		} else {
			in.TimeoutInMillis = n
		}
	}
	if ns := c.str(obj, "cacheNamespace", where); ns != "" {
		in.CacheNamespace = ns
	}
	if raw, ok := obj["cacheKeyParameters"]; ok {
		if keys, ok := asStringList(raw); ok {
			in.CacheKeyParameters = keys
		} else {
			c.warn("Invalid cacheKeyParameters %s: expected a list of strings; ignored", where)
		}
	}
	if raw, ok := obj["tlsConfig"]; ok {
		tls, _ := raw.(map[string]any)
		skip, isBool := tls["insecureSkipVerification"].(bool)
		if tls == nil || (!isBool && tls["insecureSkipVerification"] != nil) {
			c.warn("Invalid tlsConfig %s; ignored", where)
		} else {
			in.TLSConfig = &apigw.TLSConfig{InsecureSkipVerification: skip}
		}
	}
	in.IntegrationResponses = c.integrationResponses(obj["responses"], full, verb, where)
	return in
}

// str reads an optional string member; another type is a warning.
func (c *conv) str(obj map[string]any, key, where string) string {
	raw, ok := obj[key]
	if !ok || raw == nil {
		return ""
	}
	s, ok := raw.(string)
	if !ok {
		c.warn("Invalid %s '%s' %s: expected a string; ignored", key, renderValue(raw), where)
	}
	return s
}

// enum reads an optional case-insensitive enumeration member, upper-cased.
func (c *conv) enum(obj map[string]any, key string, allowed map[string]bool, where string) string {
	s := strings.ToUpper(c.str(obj, key, where))
	if s != "" && !allowed[s] {
		c.warn("Invalid %s '%s' %s; ignored", key, s, where)
		return ""
	}
	return s
}

// stringMap reads a map of strings; each non-string value is dropped with the warning AWS gives
// for requestParameters (addendum §7.3). A member given as {} stays an empty, echoed map.
func (c *conv) stringMap(obj map[string]any, key, full, verb string) map[string]string {
	raw, ok := obj[key]
	if !ok || raw == nil {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		c.warn("Invalid format for '%s'. Expected an object of resource '%s' and method '%s' but got '%s'", key, full, verb, renderValue(raw))
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		s, ok := m[k].(string)
		if !ok {
			c.warn("Invalid format for '%s'. Expected type string for property '%s' of resource '%s' and method '%s' but got '%s'",
				key, k, full, verb, renderValue(m[k]))
			continue
		}
		out[k] = s
	}
	return out
}

// integrationResponses converts the responses map: each key is a selection pattern, except
// "default", which is the response without one (addendum §2.6, §10).
func (c *conv) integrationResponses(raw any, full, verb, where string) map[string]*apigw.IntegrationResponse {
	if raw == nil {
		return nil
	}
	responses, ok := raw.(map[string]any)
	if !ok {
		c.warn("Invalid integration responses %s: expected an object; ignored", where)
		return nil
	}
	out := map[string]*apigw.IntegrationResponse{}
	for _, pattern := range sortedKeys(responses) {
		ro, ok := responses[pattern].(map[string]any)
		if !ok {
			c.warn("Invalid integration response '%s' %s: expected an object; ignored", pattern, where)
			continue
		}
		code := scalarString(ro["statusCode"])
		if !statusCode.MatchString(code) {
			c.warn("Invalid statusCode '%s' in integration response '%s' %s; ignored", renderValue(ro["statusCode"]), pattern, where)
			continue
		}
		ir := &apigw.IntegrationResponse{StatusCode: code}
		if pattern != "default" {
			p := pattern
			ir.SelectionPattern = &p
		}
		ir.ResponseParameters = c.stringMap(ro, "responseParameters", full, verb)
		ir.ResponseTemplates = c.templates(ro, full, verb)
		ir.ContentHandling = c.enum(ro, "contentHandling", contentHandlings, where)
		if prev := out[code]; prev != nil {
			c.warn("Integration responses of status %s %s are defined twice; the one for '%s' was kept", code, where, pattern)
		}
		out[code] = ir
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// templates reads responseTemplates, where a null (or empty) template is kept as JSON null.
func (c *conv) templates(obj map[string]any, full, verb string) map[string]*string {
	raw, ok := obj["responseTemplates"]
	if !ok || raw == nil {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		c.warn("Invalid format for 'responseTemplates'. Expected an object of resource '%s' and method '%s' but got '%s'", full, verb, renderValue(raw))
		return nil
	}
	out := make(map[string]*string, len(m))
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case nil:
			out[k] = nil
		case string:
			if v == "" {
				out[k] = nil
			} else {
				out[k] = &v
			}
		default:
			c.warn("Invalid format for 'responseTemplates'. Expected type string for property '%s' of resource '%s' and method '%s' but got '%s'",
				k, full, verb, renderValue(v))
		}
	}
	return out
}
