package dataplane

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/tollgate/tollgate/internal/snapshot"
)

// Custom is a gateway response as the API customised it (PutGatewayResponse), ready to send.
type Custom struct {
	Status      int
	ContentType string
	Body        string
}

// CustomResponse renders the API's customisation of the gateway response gerr for this call,
// setting its headers on set; ok is false when the stage has none for that type (send gerr as
// it is). Only stages whose deployment customised gateway responses reach the rendering, so
// the built-in answers cost what they always did.
func (c *Call) CustomResponse(gerr *GatewayError, in Inbound, requestID string, set HeaderSink) (Custom, bool) {
	if c.Stage == nil || c.Stage.Responses == nil || gerr == nil {
		return Custom{}, false
	}
	gr := c.Stage.Responses.For(gerr.ResponseType)
	if gr == nil {
		return Custom{}, false
	}
	out := Custom{Status: gerr.Status}
	if gr.Status != 0 {
		out.Status = gr.Status
	}
	var query url.Values
	for _, h := range gr.Headers {
		v := h.Value
		switch h.Source {
		case "header":
			v = in.Header(h.Value)
		case "querystring":
			if query == nil {
				query, _ = url.ParseQuery(in.RawQuery())
			}
			v = query.Get(h.Value)
		case "path":
			v = c.Params.Get(h.Value)
		}
		if v != "" {
			set.SetHeader(h.Name, v)
		}
	}
	t := selectTemplate(gr.Templates, in.Header("Accept"))
	if t == nil {
		out.ContentType = "application/json"
		return out, true
	}
	out.ContentType = t.ContentType
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Var == "" {
			b.WriteString(p.Lit)
			continue
		}
		b.WriteString(c.contextValue(p.Var, gerr, in, requestID))
	}
	out.Body = b.String()
	return out, true
}

// selectTemplate picks the template for the first media type of Accept that has one, else the
// application/json one (or the first there is).
func selectTemplate(ts []snapshot.ResponseTemplate, accept string) *snapshot.ResponseTemplate {
	if len(ts) == 0 {
		return nil
	}
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		for i := range ts {
			if ts[i].ContentType == mt {
				return &ts[i]
			}
		}
	}
	return &ts[0] // application/json sorts first
}

// contextValue is a $context or $stageVariables reference in a gateway response template.
// References Tollgate has no value for render empty, as API Gateway renders an absent one. The
// API key's value is never rendered: it would echo a secret into a response body.
func (c *Call) contextValue(name string, gerr *GatewayError, in Inbound, requestID string) string {
	if v, ok := strings.CutPrefix(name, "stageVariables."); ok {
		return c.Stage.Variables[v]
	}
	name = strings.TrimPrefix(name, "context.")
	if k, ok := strings.CutPrefix(name, "authorizer."); ok {
		if c.Auth != nil {
			v, _ := c.Auth.Lookup(k)
			return v
		}
		return ""
	}
	switch name {
	case "error.message":
		return gerr.Message
	case "error.messageString":
		if gerr.NullMessage {
			return "null"
		}
		return jsonQuote(gerr.Message)
	case "error.responseType":
		return gerr.ResponseType
	case "requestId", "extendedRequestId":
		return requestID
	case "stage":
		return c.Stage.Name
	case "apiId":
		return c.Stage.API.ID
	case "accountId":
		if c.core != nil {
			return c.core.accountID
		}
	case "resourcePath":
		if c.Method != nil {
			return c.Method.ResourcePath
		}
	case "httpMethod":
		return in.Method()
	case "path":
		return "/" + c.Stage.Name + c.Rest
	case "identity.userAgent":
		return in.Header("User-Agent")
	case "identity.apiKeyId":
		if c.Key != nil {
			return c.Key.ID
		}
	case "identity.sourceIp":
		ip, _, _ := in.Peer()
		return ip
	case "domainName":
		return in.Header("Host")
	}
	return ""
}

// jsonQuote is s as a JSON string literal, without HTML escaping.
func jsonQuote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
