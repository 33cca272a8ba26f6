package dataplane

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/internal/snapshot"
)

// plan is an integration compiled once per snapshot: its uri split into literal text and
// substitutions, its parameter mappings parsed into expressions, and its integration responses'
// header mappings and templates resolved, so a request substitutes and selects without parsing
// configuration again (and, on the common paths, without allocating).
type plan struct {
	in *snapshot.Integration
	// uri is the integration uri in parts; uriErr means no request can make it valid (a {name}
	// without an integration.request.path mapping, or a stray brace: addendum §8.5, Q14).
	uri    []uriPart
	uriErr bool
	// static is set when no substitution touches the scheme and authority, which are then
	// known here.
	static               bool
	scheme, host, dialTo string

	queries   []mapping // integration.request.querystring.*, name query-escaped
	headers   []mapping // integration.request.header.*, name canonical
	headerErr bool      // a mapping to a reserved header breaks every call (addendum §8.4)

	// mockStatus: request template content type → the status it declares ("" when it declares
	// none, which is a 500).
	mockStatus map[string]string
	responses  map[*snapshot.IntegrationResponse]*compiledResponse
}

type partKind uint8

const (
	partLiteral partKind = iota
	partStageVar
	partPathVar
)

type uriPart struct {
	kind partKind
	text string // literal text, or the stage variable's name
	expr expr   // partPathVar: the mapped value
}

type mapping struct {
	name string
	expr expr
}

type exprKind uint8

const (
	exprNone exprKind = iota
	exprStatic
	exprPath
	exprQuery
	exprHeader
	exprStageVar
	exprAPIID
	exprStage
	exprResourcePath
	exprHTTPMethod
	// exprAuthorizer is context.authorizer.X: principalId, a context key of the Lambda
	// authorizer's answer, or claims.X of a Cognito token.
	exprAuthorizer
)

// expr is a parsed request-parameter mapping value: method.request.{path|querystring|header}.X,
// 'static', stageVariables.X, context.{apiId,stage,resourcePath,httpMethod} or
// context.authorizer.X.
type expr struct {
	kind exprKind
	arg  string
}

func parseExpr(s string) expr {
	switch {
	case len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'':
		return expr{exprStatic, s[1 : len(s)-1]}
	case strings.HasPrefix(s, "method.request.path."):
		return expr{exprPath, s[len("method.request.path."):]}
	case strings.HasPrefix(s, "method.request.querystring."):
		return expr{exprQuery, s[len("method.request.querystring."):]}
	case strings.HasPrefix(s, "method.request.header."):
		return expr{exprHeader, http.CanonicalHeaderKey(s[len("method.request.header."):])}
	case strings.HasPrefix(s, "stageVariables."):
		return expr{exprStageVar, s[len("stageVariables."):]}
	case strings.HasPrefix(s, "context.authorizer.") && len(s) > len("context.authorizer."):
		return expr{exprAuthorizer, s[len("context.authorizer."):]}
	}
	switch s {
	case "context.apiId":
		return expr{kind: exprAPIID}
	case "context.stage":
		return expr{kind: exprStage}
	case "context.resourcePath":
		return expr{kind: exprResourcePath}
	case "context.httpMethod":
		return expr{kind: exprHTTPMethod}
	}
	return expr{}
}

// headers a mapping may not set: it breaks the call (addendum §8.4).
var reservedMappedHeaders = map[string]bool{
	"Content-Length": true, "Transfer-Encoding": true, "X-Amzn-Trace-Id": true, "X-Amzn-Apigateway-Api-Id": true,
}

// statusCodeRe finds the status code a MOCK request template declares; it accepts the lenient
// `{statusCode: 200}` form AWS accepts too.
var statusCodeRe = regexp.MustCompile(`"?statusCode"?\s*:\s*(\d{3})`)

func compile(in *snapshot.Integration) *plan {
	p := &plan{in: in}
	pathVars := map[string]expr{}
	// Sorted so that a mapping listed twice under different spellings resolves the same way on
	// every build.
	keys := make([]string, 0, len(in.RequestParameters))
	for k := range in.RequestParameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		e := parseExpr(in.RequestParameters[key])
		switch {
		case strings.HasPrefix(key, "integration.request.path."):
			pathVars[strings.TrimSuffix(key[len("integration.request.path."):], "+")] = e
		case strings.HasPrefix(key, "integration.request.querystring."):
			p.queries = append(p.queries, mapping{queryEscape(key[len("integration.request.querystring."):]), e})
		case strings.HasPrefix(key, "integration.request.header."):
			name := http.CanonicalHeaderKey(key[len("integration.request.header."):])
			if reservedMappedHeaders[name] {
				p.headerErr = true
			}
			switch name {
			case "Expect", "Proxy-Authenticate", "Te", "Via":
				continue // removed even when mapped
			}
			p.headers = append(p.headers, mapping{name, e})
		}
	}
	if in.Type == "HTTP" || in.Type == "HTTP_PROXY" {
		p.compileURI(in.URI, pathVars)
	}
	if in.Type == "MOCK" {
		p.mockStatus = make(map[string]string, len(in.RequestTemplates))
		for ct, t := range in.RequestTemplates {
			if m := statusCodeRe.FindStringSubmatch(t); m != nil {
				p.mockStatus[ct] = m[1]
			} else {
				p.mockStatus[ct] = ""
			}
		}
	}
	p.responses = make(map[*snapshot.IntegrationResponse]*compiledResponse, len(in.Responses)+1)
	for _, ir := range in.Responses {
		p.responses[ir] = compileResponse(ir)
	}
	if in.Default != nil {
		p.responses[in.Default] = compileResponse(in.Default)
	}
	return p
}

// compileURI splits the uri into literal text, ${stageVariables.x} and {name}/{name+}
// substitutions (addendum §8.5 steps 1–2).
func (p *plan) compileURI(uri string, pathVars map[string]expr) {
	lit := func(s string) {
		if s == "" {
			return
		}
		if n := len(p.uri); n > 0 && p.uri[n-1].kind == partLiteral {
			p.uri[n-1].text += s
			return
		}
		p.uri = append(p.uri, uriPart{kind: partLiteral, text: s})
	}
	s := uri
	for s != "" {
		i := strings.IndexAny(s, "${}")
		if i < 0 {
			lit(s)
			break
		}
		switch {
		case strings.HasPrefix(s[i:], "${stageVariables."):
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				p.uriErr = true
				return
			}
			lit(s[:i])
			p.uri = append(p.uri, uriPart{kind: partStageVar, text: s[i+len("${stageVariables.") : i+j]})
			s = s[i+j+1:]
		case s[i] == '$':
			lit(s[:i+1])
			s = s[i+1:]
		case s[i] == '{':
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				p.uriErr = true
				return
			}
			e, ok := pathVars[strings.TrimSuffix(s[i+1:i+j], "+")]
			if !ok {
				p.uriErr = true
				return
			}
			lit(s[:i])
			p.uri = append(p.uri, uriPart{kind: partPathVar, expr: e})
			s = s[i+j+1:]
		default: // a stray '}'
			p.uriErr = true
			return
		}
	}
	// The scheme and authority are static when the first part is literal and holds them whole.
	if len(p.uri) > 0 && p.uri[0].kind == partLiteral {
		head := p.uri[0].text
		if t, ok := splitTarget([]byte(head)); ok && (len(p.uri) == 1 || t.pathAt < len(head)) {
			p.static = true
			p.scheme, p.host, p.dialTo = t.scheme, head[t.hostAt:t.pathAt], dialAddr(t.scheme, head[t.hostAt:t.pathAt])
		}
	}
}

// compiledResponse is an integration response with its header mappings resolved.
type compiledResponse struct {
	ir      *snapshot.IntegrationResponse
	headers []respHeader
	// fallback is the template used when none matches Accept: application/json, else the first
	// by content type.
	fallback    string
	hasTemplate bool
}

type respHeader struct {
	name   string // as sent (remapped when API Gateway reserves it)
	static bool
	value  string // static value, or the backend header to copy (canonical)
}

func compileResponse(ir *snapshot.IntegrationResponse) *compiledResponse {
	cr := &compiledResponse{ir: ir}
	names := make([]string, 0, len(ir.ResponseParameters))
	for name := range ir.ResponseParameters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		hdr, ok := strings.CutPrefix(name, "method.response.header.")
		if !ok {
			continue
		}
		out := remapped(hdr)
		switch e := ir.ResponseParameters[name]; {
		case len(e) >= 2 && e[0] == '\'' && e[len(e)-1] == '\'':
			cr.headers = append(cr.headers, respHeader{name: out, static: true, value: e[1 : len(e)-1]})
		case strings.HasPrefix(e, "integration.response.header."):
			cr.headers = append(cr.headers, respHeader{name: out, value: http.CanonicalHeaderKey(e[len("integration.response.header."):])})
		}
	}
	if len(ir.ResponseTemplates) > 0 {
		cr.hasTemplate = true
		if t, ok := ir.ResponseTemplates["application/json"]; ok {
			cr.fallback = deref(t)
		} else {
			keys := make([]string, 0, len(ir.ResponseTemplates))
			for k := range ir.ResponseTemplates {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			cr.fallback = deref(ir.ResponseTemplates[keys[0]])
		}
	}
	return cr
}

// headers API Gateway will not let a mapping set; they are emitted as x-amzn-Remapped-<Name>.
var remappedHeaders = map[string]bool{
	"Authorization": true, "Connection": true, "Content-Length": true, "Content-Md5": true, "Date": true,
	"Expect": true, "Host": true, "Max-Forwards": true, "Proxy-Authenticate": true, "Server": true,
	"Trailer": true, "Upgrade": true, "User-Agent": true, "Www-Authenticate": true,
}

func remapped(name string) string {
	name = http.CanonicalHeaderKey(name)
	if remappedHeaders[name] {
		return "X-Amzn-Remapped-" + name
	}
	return name
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
