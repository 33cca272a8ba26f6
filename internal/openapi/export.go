package openapi

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tollgate/tollgate/internal/apigw"
)

// Export types of GetExport.
const (
	ExportOAS30   = "oas30"
	ExportSwagger = "swagger"
)

// ExportOptions say what GetExport writes.
type ExportOptions struct {
	Type string // ExportOAS30 or ExportSwagger
	// Integrations adds x-amazon-apigateway-integration (extensions=integrations or apigateway).
	Integrations bool
	// Authorizers adds x-amazon-apigateway-authorizer to authorizer schemes (extensions=authorizers
	// or apigateway).
	Authorizers bool
	// APIGateway adds the API-level extensions: binary media types, gateway responses, the key
	// source (extensions=apigateway).
	APIGateway bool
	// Host is the stage's invoke host, {apiId}.execute-api.{region}.amazonaws.com.
	Host  string
	Stage string
	// YAML writes YAML instead of JSON (Accept: application/yaml).
	YAML bool
}

// ordered is a JSON object whose members keep their order (AWS's exports list openapi, info,
// servers, paths, components in that order).
type ordered []member

type member struct {
	k string
	v any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func (o *ordered) add(k string, v any) { *o = append(*o, member{k, v}) }

var pathParam = regexp.MustCompile(`\{([^}+]+)\+?\}`)

// Export writes a deployment of api as an OpenAPI 3.0 or Swagger 2.0 document, the way
// GetExport does: paths with their parameters, responses and security; the schemes of the API
// key, SigV4 and each authorizer; and, as asked, API Gateway's extensions, so that importing the
// export builds the same API. Models are exported by name only ("Empty" and "Error" with AWS's
// schemas, others as plain objects): Tollgate keeps no model schemas.
func Export(api *apigw.RestApi, d *apigw.Deployment, o ExportOptions) ([]byte, error) {
	oas3 := o.Type == ExportOAS30
	doc := ordered{}
	if oas3 {
		doc.add("openapi", "3.0.1")
	} else {
		doc.add("swagger", "2.0")
	}
	info := ordered{}
	if api.Description != "" {
		info.add("description", api.Description)
	}
	version := api.Version
	if version == "" {
		version = d.CreatedDate.UTC().Format(time.RFC3339)
	}
	info.add("title", api.Name)
	info.add("version", version)
	doc.add("info", info)
	if oas3 {
		doc.add("servers", []any{ordered{{"url", "https://" + o.Host + "/{basePath}"},
			{"variables", ordered{{"basePath", ordered{{"default", o.Stage}}}}}}})
	} else {
		doc.add("host", o.Host)
		doc.add("basePath", "/"+o.Stage)
		doc.add("schemes", []string{"https"})
	}
	e := &exporter{o: o, oas3: oas3, authz: map[string]*apigw.Authorizer{}, models: map[string]bool{}}
	for _, a := range d.Authorizers {
		e.authz[a.ID] = a
	}
	paths := ordered{}
	for _, r := range apigw.PreOrder(d.Resources) {
		if len(r.Methods) == 0 {
			continue
		}
		path := apigw.ResourcePath(d.Resources, r.ID)
		ops := ordered{}
		verbs := make([]string, 0, len(r.Methods))
		for v := range r.Methods {
			verbs = append(verbs, v)
		}
		sort.Strings(verbs)
		for _, v := range verbs {
			key := strings.ToLower(v)
			if v == "ANY" {
				key = extAnyMethod
			}
			ops.add(key, e.operation(path, r.Methods[v]))
		}
		paths.add(path, ops)
	}
	doc.add("paths", paths)
	schemes := e.schemes(d.Authorizers)
	schemas := e.schemas()
	if oas3 {
		comps := ordered{}
		if len(schemas) > 0 {
			comps.add("schemas", schemas)
		}
		if len(schemes) > 0 {
			comps.add("securitySchemes", schemes)
		}
		doc.add("components", comps)
	} else {
		if len(schemes) > 0 {
			doc.add("securityDefinitions", schemes)
		}
		if len(schemas) > 0 {
			doc.add("definitions", schemas)
		}
	}
	if o.APIGateway {
		if len(d.GatewayResponses) > 0 {
			grs := ordered{}
			for _, t := range sortedKeys(d.GatewayResponses) {
				gr := d.GatewayResponses[t]
				g := ordered{}
				if gr.StatusCode != "" {
					g.add("statusCode", gr.StatusCode)
				}
				if len(gr.ResponseParameters) > 0 {
					g.add("responseParameters", gr.ResponseParameters)
				}
				if len(gr.ResponseTemplates) > 0 {
					g.add("responseTemplates", gr.ResponseTemplates)
				}
				grs.add(t, g)
			}
			doc.add(extGatewayResponses, grs)
		}
		if d.ApiKeySource == apigw.ApiKeySourceAuthorizer {
			doc.add(extApiKeySource, d.ApiKeySource)
		}
		if len(d.BinaryMediaTypes) > 0 {
			doc.add(extBinaryMediaTypes, d.BinaryMediaTypes)
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil || !o.YAML {
		return b, err
	}
	return yaml.JSONToYAML(b)
}

type exporter struct {
	o      ExportOptions
	oas3   bool
	authz  map[string]*apigw.Authorizer
	models map[string]bool
	apiKey bool
	sigv4  bool
}

func (e *exporter) param(name, in string, required bool) ordered {
	p := ordered{{"name", name}, {"in", in}}
	if required {
		p.add("required", true)
	}
	if e.oas3 {
		p.add("schema", ordered{{"type", "string"}})
	} else {
		p.add("type", "string")
	}
	return p
}

func (e *exporter) operation(path string, m *apigw.Method) ordered {
	op := ordered{}
	if m.OperationName != "" {
		op.add("operationId", m.OperationName)
	}
	var params []any
	for _, p := range pathParam.FindAllStringSubmatch(path, -1) {
		params = append(params, e.param(p[1], "path", true))
	}
	for _, k := range sortedKeys(m.RequestParameters) {
		for prefix, in := range map[string]string{"method.request.querystring.": "query", "method.request.header.": "header"} {
			if name, ok := strings.CutPrefix(k, prefix); ok {
				params = append(params, e.param(name, in, m.RequestParameters[k]))
			}
		}
	}
	if len(params) > 0 {
		op.add("parameters", params)
	}
	resps := ordered{}
	for _, code := range sortedKeys(m.MethodResponses) {
		mr := m.MethodResponses[code]
		r := ordered{{"description", code + " response"}}
		if e.oas3 {
			content := ordered{}
			for _, ct := range sortedKeys(mr.ResponseModels) {
				e.models[mr.ResponseModels[ct]] = true
				content.add(ct, ordered{{"schema", ordered{{"$ref", "#/components/schemas/" + mr.ResponseModels[ct]}}}})
			}
			r.add("content", content)
		} else if len(mr.ResponseModels) > 0 {
			model := mr.ResponseModels[sortedKeys(mr.ResponseModels)[0]]
			e.models[model] = true
			r.add("schema", ordered{{"$ref", "#/definitions/" + model}})
		}
		if len(mr.ResponseParameters) > 0 {
			hs := ordered{}
			for _, k := range sortedKeys(mr.ResponseParameters) {
				if name, ok := strings.CutPrefix(k, "method.response.header."); ok {
					if e.oas3 {
						hs.add(name, ordered{{"schema", ordered{{"type", "string"}}}})
					} else {
						hs.add(name, ordered{{"type", "string"}})
					}
				}
			}
			r.add("headers", hs)
		}
		resps.add(code, r)
	}
	op.add("responses", resps)
	var sec []any
	if m.ApiKeyRequired {
		e.apiKey = true
		sec = append(sec, ordered{{"api_key", []string{}}})
	}
	switch m.AuthorizationType {
	case "AWS_IAM":
		e.sigv4 = true
		sec = append(sec, ordered{{"sigv4", []string{}}})
	case "CUSTOM", "COGNITO_USER_POOLS":
		if a := e.authz[m.AuthorizerID]; a != nil {
			scopes := m.AuthorizationScopes
			if scopes == nil {
				scopes = []string{}
			}
			sec = append(sec, ordered{{a.Name, scopes}})
		}
	}
	if len(sec) > 0 {
		op.add("security", sec)
	}
	if e.o.Integrations && m.Integration != nil {
		op.add(extIntegration, integrationExt(m.Integration))
	}
	return op
}

// integrationExt is x-amazon-apigateway-integration as AWS exports it: type and passthrough
// behaviour lower-case, responses keyed by selection pattern ("default" without one), the
// timeout only when it is not the default.
func integrationExt(in *apigw.Integration) ordered {
	x := ordered{}
	if in.Credentials != "" {
		x.add("credentials", in.Credentials)
	}
	if in.HTTPMethod != "" {
		x.add("httpMethod", in.HTTPMethod)
	}
	if in.URI != "" {
		x.add("uri", in.URI)
	}
	if len(in.IntegrationResponses) > 0 {
		rs := ordered{}
		for _, code := range sortedKeys(in.IntegrationResponses) {
			ir := in.IntegrationResponses[code]
			key := "default"
			if ir.SelectionPattern != nil && *ir.SelectionPattern != "" {
				key = *ir.SelectionPattern
			}
			r := ordered{{"statusCode", ir.StatusCode}}
			if len(ir.ResponseParameters) > 0 {
				r.add("responseParameters", ir.ResponseParameters)
			}
			if len(ir.ResponseTemplates) > 0 {
				r.add("responseTemplates", ir.ResponseTemplates)
			}
			if ir.ContentHandling != "" {
				r.add("contentHandling", ir.ContentHandling)
			}
			rs.add(key, r)
		}
		x.add("responses", rs)
	}
	if len(in.RequestParameters) > 0 {
		x.add("requestParameters", in.RequestParameters)
	}
	if len(in.RequestTemplates) > 0 {
		x.add("requestTemplates", in.RequestTemplates)
	}
	if in.PassthroughBehavior != "" {
		x.add("passthroughBehavior", strings.ToLower(in.PassthroughBehavior))
	}
	if in.ContentHandling != "" {
		x.add("contentHandling", in.ContentHandling)
	}
	if in.TimeoutInMillis != 0 && in.TimeoutInMillis != defaultTimeoutMillis {
		x.add("timeoutInMillis", in.TimeoutInMillis)
	}
	if in.ConnectionType == "VPC_LINK" {
		x.add("connectionType", in.ConnectionType)
		x.add("connectionId", in.ConnectionID)
	}
	if in.TLSConfig != nil {
		x.add("tlsConfig", ordered{{"insecureSkipVerification", in.TLSConfig.InsecureSkipVerification}})
	}
	x.add("type", strings.ToLower(in.Type))
	return x
}

// schemes are the security schemes: the API key and SigV4 when a method uses them, and every
// authorizer of the deployment (an import creates unused ones too).
func (e *exporter) schemes(authz []*apigw.Authorizer) ordered {
	s := ordered{}
	if e.apiKey {
		s.add("api_key", ordered{{"type", "apiKey"}, {"name", "x-api-key"}, {"in", "header"}})
	}
	if e.sigv4 {
		s.add("sigv4", ordered{{"type", "apiKey"}, {"name", "Authorization"}, {"in", "header"}, {extAuthType, "awsSigv4"}})
	}
	for _, a := range authz {
		header := "Unused"
		if first, _, _ := strings.Cut(a.IdentitySource, ","); strings.HasPrefix(first, "method.request.header.") {
			header = strings.TrimPrefix(strings.TrimSpace(first), "method.request.header.")
		}
		sc := ordered{{"type", "apiKey"}, {"name", header}, {"in", "header"}}
		if a.AuthType != "" {
			sc.add(extAuthType, a.AuthType)
		}
		if e.o.Authorizers {
			x := ordered{}
			if len(a.ProviderARNs) > 0 {
				x.add("providerARNs", a.ProviderARNs)
			}
			if a.AuthorizerURI != "" {
				x.add("authorizerUri", a.AuthorizerURI)
			}
			if a.AuthorizerCredentials != "" {
				x.add("authorizerCredentials", a.AuthorizerCredentials)
			}
			if a.IdentitySource != "" {
				x.add("identitySource", a.IdentitySource)
			}
			if a.IdentityValidationExpression != "" {
				x.add("identityValidationExpression", a.IdentityValidationExpression)
			}
			if a.TTL != nil {
				x.add("authorizerResultTtlInSeconds", *a.TTL)
			}
			x.add("type", strings.ToLower(a.Type))
			sc.add(extAuthorizer, x)
		}
		s.add(a.Name, sc)
	}
	return s
}

// schemas are the models the methods reference.
func (e *exporter) schemas() ordered {
	s := ordered{}
	for _, name := range sortedKeys(e.models) {
		switch name {
		case "Empty":
			s.add(name, ordered{{"title", "Empty Schema"}, {"type", "object"}})
		case "Error":
			s.add(name, ordered{{"title", "Error Schema"}, {"type", "object"}, {"properties", ordered{{"message", ordered{{"type", "string"}}}}}})
		default:
			s.add(name, ordered{{"type", "object"}})
		}
	}
	return s
}
