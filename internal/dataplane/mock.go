package dataplane

import (
	"mime"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/snapshot"
)

// Reply is an integration response chosen for a call: its status, header mappings and templates
// (addendum §8.6–§8.7), compiled.
type Reply struct{ cr *compiledResponse }

// Status is the method response status.
func (r Reply) Status() int { return r.cr.ir.StatusCode }

// Render sets the reply's headers (Content-Type application/json unless mapped, then the
// responseParameters mappings; backend is nil for MOCK) and returns the body: the template for
// the request's Accept type, else application/json's, else the first; without templates the
// backend body.
func (r Reply) Render(accept string, backend HeaderSource, backendBody string, set HeaderSink) string {
	set.SetHeader("Content-Type", "application/json")
	for i := range r.cr.headers {
		h := &r.cr.headers[i]
		if h.static {
			set.SetHeader(h.name, h.value)
			continue
		}
		if backend != nil {
			if v := backend.Header(h.value); v != "" {
				set.SetHeader(h.name, v)
			}
		}
	}
	if !r.cr.hasTemplate {
		return backendBody
	}
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if t, ok := r.cr.ir.ResponseTemplates[mt]; ok {
			return deref(t)
		}
	}
	return r.cr.fallback
}

// Mock answers a MOCK integration (addendum §8.7): the request template for the request's
// content type declares the "backend" status, which selects the integration response. Templates
// are not evaluated as VTL: their text is used as is.
func (c *Call) Mock(r Inbound) (Reply, *GatewayError) {
	ct, found, unsupported := requestTemplate(c.plan.in, r.Header("Content-Type"))
	if unsupported {
		return Reply{}, ErrUnsupportedMedia
	}
	var ir *snapshot.IntegrationResponse
	if found {
		status := c.plan.mockStatus[ct]
		if status == "" {
			return Reply{}, ErrInternal
		}
		ir = selectResponse(c.plan.in, status)
	} else {
		ir = c.plan.in.Default
	}
	return c.reply(ir)
}

// RequestBody says what a non-proxy HTTP integration sends (addendum §8.6): the request template
// for the content type (useTemplate), else the client body; 415 when passthroughBehavior refuses.
func (c *Call) RequestBody(r Inbound) (tmpl string, useTemplate bool, gerr *GatewayError) {
	ct, found, unsupported := requestTemplate(c.plan.in, r.Header("Content-Type"))
	if unsupported {
		return "", false, ErrUnsupportedMedia
	}
	if found {
		return c.plan.in.RequestTemplates[ct], true, nil
	}
	return "", false, nil
}

// SelectReply matches a backend status against the selection patterns (full match), falling back
// to the default response; none is a 500.
func (c *Call) SelectReply(status int) (Reply, *GatewayError) {
	return c.reply(selectResponse(c.plan.in, statusText(status)))
}

func (c *Call) reply(ir *snapshot.IntegrationResponse) (Reply, *GatewayError) {
	if ir == nil {
		return Reply{}, ErrInternal
	}
	cr := c.plan.responses[ir]
	if cr == nil {
		cr = compileResponse(ir)
	}
	return Reply{cr}, nil
}

// requestTemplate finds the request template key for a content type (absent ⇒ application/json),
// and says whether passthroughBehavior refuses the request (415).
func requestTemplate(in *snapshot.Integration, contentType string) (ct string, found, unsupported bool) {
	ct = mediaType(contentType)
	if _, ok := in.RequestTemplates[ct]; ok {
		return ct, true, false
	}
	if len(in.RequestTemplates) == 0 {
		return ct, false, in.Passthrough == "NEVER"
	}
	switch in.Passthrough {
	case "NEVER", "WHEN_NO_TEMPLATES":
		return ct, false, true
	}
	return ct, false, false
}

// mediaType is the lower-cased media type of a Content-Type value; absent or malformed ⇒
// application/json. Plain values skip mime's parser (and its allocations).
func mediaType(contentType string) string {
	if contentType == "" {
		return "application/json"
	}
	if i := strings.IndexByte(contentType, '/'); i > 0 && i < len(contentType)-1 &&
		strings.Count(contentType, "/") == 1 && !strings.ContainsAny(contentType, " \t\"(),:;<>=?@[\\]{}") {
		return strings.ToLower(contentType)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "application/json"
	}
	return mt
}

// selectResponse matches the backend status against the selection patterns (full match), falling
// back to the default response.
func selectResponse(in *snapshot.Integration, status string) *snapshot.IntegrationResponse {
	for _, ir := range in.Responses {
		if ir.Pattern.MatchString(status) {
			return ir
		}
	}
	return in.Default
}

// statusTexts caches the decimal text of every status code a backend can send.
var statusTexts = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return
}()

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}
