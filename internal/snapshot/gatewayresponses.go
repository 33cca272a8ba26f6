package snapshot

import (
	"net/textproto"
	"sort"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
)

// GatewayResponses are a deployment's customised gateway responses, compiled once per snapshot.
// A stage without customisations has none (nil), and its requests get the built-in answers
// byte for byte, at no extra cost.
type GatewayResponses struct {
	byType map[string]*GatewayResponse
}

// GatewayResponse is one customised response type: status, headers and body templates.
type GatewayResponse struct {
	Status    int // 0: the answer's own status
	Headers   []ResponseHeader
	Templates []ResponseTemplate // by content type, application/json first
}

// ResponseHeader is one gatewayresponse.header mapping: a static value, or a request path,
// query-string or header value (Source "path", "querystring" or "header"; Value its name).
type ResponseHeader struct {
	Name, Value, Source string
}

// ResponseTemplate is a body template for one content type, split into literal text and the
// variables substituted per request.
type ResponseTemplate struct {
	ContentType string
	Parts       []TemplatePart
}

// TemplatePart is literal text (Var "") or a variable: "context.<name>" or
// "stageVariables.<name>".
type TemplatePart struct {
	Lit, Var string
}

// For returns the customised response of a type, nil when the API left it (and its class) at
// the default.
func (g *GatewayResponses) For(responseType string) *GatewayResponse {
	if g == nil {
		return nil
	}
	return g.byType[responseType]
}

// compileGatewayResponses compiles what a deployment customised: every type that is customised
// itself or through its class (DEFAULT_4XX, DEFAULT_5XX).
func compileGatewayResponses(custom map[string]*apigw.GatewayResponse) *GatewayResponses {
	if len(custom) == 0 {
		return nil
	}
	g := &GatewayResponses{byType: map[string]*GatewayResponse{}}
	for _, t := range apigw.GatewayResponseTypes {
		if custom[t] == nil && custom[apigw.GatewayResponseClass(t)] == nil {
			continue
		}
		eff, _ := apigw.EffectiveGatewayResponse(custom, t)
		cr := &GatewayResponse{}
		cr.Status, _ = strconv.Atoi(eff.StatusCode)
		names := make([]string, 0, len(eff.ResponseParameters))
		for k := range eff.ResponseParameters {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := eff.ResponseParameters[k]
			h := ResponseHeader{Name: textproto.CanonicalMIMEHeaderKey(strings.TrimPrefix(k, "gatewayresponse.header."))}
			switch {
			case strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2:
				h.Value = v[1 : len(v)-1]
			case strings.HasPrefix(v, "method.request."):
				src, name, _ := strings.Cut(strings.TrimPrefix(v, "method.request."), ".")
				h.Source, h.Value = src, name
				if src == "header" {
					h.Value = textproto.CanonicalMIMEHeaderKey(name)
				}
			default:
				continue // refused when written; kept out rather than guessed
			}
			cr.Headers = append(cr.Headers, h)
		}
		types := make([]string, 0, len(eff.ResponseTemplates))
		for ct := range eff.ResponseTemplates {
			types = append(types, ct)
		}
		sort.Slice(types, func(i, j int) bool {
			if (types[i] == "application/json") != (types[j] == "application/json") {
				return types[i] == "application/json"
			}
			return types[i] < types[j]
		})
		for _, ct := range types {
			cr.Templates = append(cr.Templates, ResponseTemplate{ContentType: ct, Parts: CompileTemplate(eff.ResponseTemplates[ct])})
		}
		g.byType[t] = cr
	}
	return g
}

// CompileTemplate splits a template into literal text and the references API Gateway
// substitutes in gateway responses: $context.x.y and $stageVariables.x, also in the ${…} form.
// Other text, VTL directives included, is kept as written.
func CompileTemplate(s string) []TemplatePart {
	var parts []TemplatePart
	var lit strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '$' {
			if name, n := reference(s[i+1:]); n > 0 {
				if lit.Len() > 0 {
					parts = append(parts, TemplatePart{Lit: lit.String()})
					lit.Reset()
				}
				parts = append(parts, TemplatePart{Var: name})
				i += 1 + n
				continue
			}
		}
		lit.WriteByte(s[i])
		i++
	}
	if lit.Len() > 0 {
		parts = append(parts, TemplatePart{Lit: lit.String()})
	}
	return parts
}

// reference reads a $context / $stageVariables reference after the '$' and returns its name
// and length, 0 when the text is not one.
func reference(s string) (string, int) {
	braced := strings.HasPrefix(s, "{")
	body := s
	if braced {
		body = s[1:]
	}
	if !strings.HasPrefix(body, "context.") && !strings.HasPrefix(body, "stageVariables.") {
		return "", 0
	}
	j := 0
	for j < len(body) && (isIdent(body[j]) || body[j] == '.') {
		j++
	}
	name := strings.TrimRight(body[:j], ".")
	if name == "context" || name == "stageVariables" || strings.Contains(name, "..") {
		return "", 0 // "$context." names nothing: it stays text
	}
	if braced {
		if j >= len(body) || body[j] != '}' || len(name) != j {
			return "", 0
		}
		return name, len(name) + 2
	}
	return name, len(name)
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
