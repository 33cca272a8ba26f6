package openapi

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Reference chains longer than this are treated as unresolvable (they are cycles in practice).
const maxRefHops = 8

var statusCode = regexp.MustCompile(`^[1-5]\d\d$`)

// method builds one Method from an operation (addendum §10).
func (c *conv) method(r *apigw.Resource, full, verb string, item *openapi3.PathItem, op *openapi3.Operation) *apigw.Method {
	where := fmt.Sprintf("of method '%s %s'", verb, full)
	m := &apigw.Method{HTTPMethod: verb, AuthorizationType: "NONE", OperationName: op.OperationID}
	m.RequestParameters = c.requestParameters(full, item, op, where)
	m.RequestModels = c.requestModels(op, where)
	m.MethodResponses = c.methodResponses(op, where)
	c.security(m, op, where)
	for _, k := range sortedKeys(op.Extensions) {
		if !strings.HasPrefix(k, extPrefix) {
			continue
		}
		switch k {
		case extIntegration:
			m.Integration = c.integration(op.Extensions[k], r.ID, full, verb)
		case extAuth:
			c.methodAuth(m, op.Extensions[k], where)
		case extRequestValidator:
			c.warn("Request validators are not supported: %s %s was ignored", extRequestValidator, where)
		default:
			c.warn("Unsupported extension '%s' %s was ignored", k, where)
		}
	}
	return m
}

// requestParameters maps declared query/header/path parameters to their required flags, and every
// non-greedy {name} segment of the path to a required path parameter.
func (c *conv) requestParameters(full string, item *openapi3.PathItem, op *openapi3.Operation, where string) map[string]bool {
	out := map[string]bool{}
	for _, seg := range splitPath(full) {
		if apigw.IsVariable(seg) && !apigw.IsGreedy(seg) {
			out["method.request.path."+seg[1:len(seg)-1]] = true
		}
	}
	// Path-item parameters apply to every operation; the operation's own override them.
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range list {
			p := c.parameter(ref, where)
			if p == nil || p.Name == "" {
				continue
			}
			var loc string
			switch p.In {
			case openapi3.ParameterInQuery:
				loc = "querystring"
			case openapi3.ParameterInHeader:
				loc = "header"
			case openapi3.ParameterInPath:
				loc = "path"
			default:
				c.warn("Parameter '%s' in '%s' %s is not supported and was ignored", p.Name, p.In, where)
				continue
			}
			out["method.request."+loc+"."+p.Name] = p.Required
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (c *conv) parameter(ref *openapi3.ParameterRef, where string) *openapi3.Parameter {
	return resolveRef(c, ref, "#/components/parameters/", where,
		func(r *openapi3.ParameterRef) (string, *openapi3.Parameter) { return r.Ref, r.Value },
		func(name string) *openapi3.ParameterRef { return c.d.doc.Components.Parameters[name] })
}

// resolveRef follows a chain of $refs to components under prefix (at most maxRefHops), returning
// the value it ends at; a reference it cannot follow becomes a warning and yields nil. fields
// splits a ref into its $ref text and inline value; lookup finds a component by name.
func resolveRef[R, V any](c *conv, ref *R, prefix, where string, fields func(*R) (string, *V), lookup func(string) *R) *V {
	last := ""
	for hops := 0; ref != nil && hops < maxRefHops; hops++ {
		r, v := fields(ref)
		if r == "" {
			return v
		}
		last = r
		name, ok := strings.CutPrefix(r, prefix)
		if !ok || c.d.doc.Components == nil {
			break
		}
		ref = lookup(name)
	}
	if last != "" {
		c.warn("Unable to resolve reference '%s' %s; the reference was ignored", c.displayRef(last), where)
	}
	return nil
}

func (c *conv) requestModels(op *openapi3.Operation, where string) map[string]string {
	body := resolveRef(c, op.RequestBody, "#/components/requestBodies/", where,
		func(r *openapi3.RequestBodyRef) (string, *openapi3.RequestBody) { return r.Ref, r.Value },
		func(name string) *openapi3.RequestBodyRef { return c.d.doc.Components.RequestBodies[name] })
	if body == nil {
		return nil
	}
	return c.contentModels(body.Content, where)
}

// contentModels maps each media type whose schema is a $ref to the model it names. Inline schemas
// have no model name and are not modelled.
func (c *conv) contentModels(content openapi3.Content, where string) map[string]string {
	out := map[string]string{}
	for _, ct := range sortedKeys(content) {
		mt := content[ct]
		if mt == nil || mt.Schema == nil || mt.Schema.Ref == "" {
			continue
		}
		if name, ok := c.modelRef(mt.Schema.Ref, where); ok {
			out[ct] = name
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (c *conv) methodResponses(op *openapi3.Operation, where string) map[string]*apigw.MethodResponse {
	if op.Responses == nil {
		return nil
	}
	out := map[string]*apigw.MethodResponse{}
	responses := op.Responses.Map()
	for _, code := range sortedKeys(responses) {
		if code == "default" {
			continue // OpenAPI's catch-all; API Gateway method responses need a status code
		}
		if !statusCode.MatchString(code) {
			c.warn("Response '%s' %s was ignored: the status code must match [1-5]\\d\\d", code, where)
			continue
		}
		resp := c.response(responses[code], where)
		if resp == nil {
			continue
		}
		mr := &apigw.MethodResponse{StatusCode: code}
		if len(resp.Headers) > 0 {
			mr.ResponseParameters = map[string]bool{}
			for h := range resp.Headers {
				mr.ResponseParameters["method.response.header."+h] = false
			}
		}
		mr.ResponseModels = c.contentModels(resp.Content, where)
		out[code] = mr
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (c *conv) response(ref *openapi3.ResponseRef, where string) *openapi3.Response {
	return resolveRef(c, ref, "#/components/responses/", where,
		func(r *openapi3.ResponseRef) (string, *openapi3.Response) { return r.Ref, r.Value },
		func(name string) *openapi3.ResponseRef { return c.d.doc.Components.Responses[name] })
}

// methodAuth reads x-amazon-apigateway-auth: {type: NONE | AWS_IAM}.
func (c *conv) methodAuth(m *apigw.Method, v any, where string) {
	obj, _ := v.(map[string]any)
	t, _ := obj["type"].(string)
	switch strings.ToUpper(t) {
	case "NONE":
		m.AuthorizationType = "NONE"
	case "AWS_IAM":
		m.AuthorizationType = "AWS_IAM"
	default:
		c.refuse("Unsupported %s type '%s' %s: only NONE and AWS_IAM can be enforced", extAuth, renderValue(obj["type"]), where)
	}
}

// security applies the operation's security requirements (or the document's, when the operation
// has none): an API-key scheme makes the key required, an awsSigv4 scheme means AWS_IAM.
// A scheme with x-amazon-apigateway-authorizer puts the method on that authorizer (CUSTOM, or
// COGNITO_USER_POOLS with the requirement's scopes). A scheme Tollgate cannot enforce (OAuth
// or HTTP auth without an authorizer) fails the import: the
// method would otherwise be served without the check its author asked for.
func (c *conv) security(m *apigw.Method, op *openapi3.Operation, where string) {
	reqs := c.d.doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	seen := map[string]bool{}
	for _, req := range reqs {
		for _, name := range sortedKeys(req) {
			if seen[name] {
				continue
			}
			seen[name] = true
			c.applyScheme(m, name, req[name], where)
		}
	}
}

func (c *conv) applyScheme(m *apigw.Method, name string, scopes []string, where string) {
	s := c.scheme(name)
	switch {
	case s == nil:
		c.warn("Security scheme '%s' referenced %s is not defined and was ignored", name, where)
	case s.Extensions[extAuthorizer] != nil:
		a := c.authz[name]
		if a == nil {
			return // refused in authorizers()
		}
		m.AuthorizationType, m.AuthorizerID = "CUSTOM", a.ID
		if a.Type == apigw.AuthorizerCognito {
			m.AuthorizationType = "COGNITO_USER_POOLS"
			if len(scopes) > 0 {
				m.AuthorizationScopes = append([]string(nil), scopes...)
			}
		}
	case strings.EqualFold(scalarString(s.Extensions[extAuthType]), "awsSigv4"):
		m.AuthorizationType = "AWS_IAM"
	case s.Type == "apiKey" && s.In == "header" && strings.EqualFold(s.Name, "x-api-key"):
		m.ApiKeyRequired = true
	default:
		c.refuse("Security scheme '%s' (type %s) %s is not supported and cannot be enforced", name, s.Type, where)
	}
}

func (c *conv) scheme(name string) *openapi3.SecurityScheme {
	if c.d.doc.Components == nil {
		return nil
	}
	ref := c.d.doc.Components.SecuritySchemes[name]
	for hops := 0; ref != nil && hops < maxRefHops; hops++ {
		if ref.Ref == "" {
			return ref.Value
		}
		n, ok := strings.CutPrefix(ref.Ref, "#/components/securitySchemes/")
		if !ok {
			return nil
		}
		ref = c.d.doc.Components.SecuritySchemes[n]
	}
	return nil
}
