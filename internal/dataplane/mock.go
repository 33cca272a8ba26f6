package dataplane

import (
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/snapshot"
)

// statusCodeRe finds the status code a MOCK request template declares; it accepts the lenient
// `{statusCode: 200}` form AWS accepts too.
var statusCodeRe = regexp.MustCompile(`"?statusCode"?\s*:\s*(\d{3})`)

// serveMock answers a MOCK integration (addendum §8.7): the request template for the request's
// content type yields the "backend" status, which selects the integration response; its static
// template and header mappings make the response. Templates are not evaluated as VTL: their text
// is used as is.
func serveMock(w http.ResponseWriter, r *http.Request, in *snapshot.Integration) {
	tmpl, found, unsupported := requestTemplate(in, r.Header.Get("Content-Type"))
	if unsupported {
		ErrUnsupportedMedia.write(w)
		return
	}
	var ir *snapshot.IntegrationResponse
	if found {
		m := statusCodeRe.FindStringSubmatch(tmpl)
		if m == nil {
			ErrInternal.write(w)
			return
		}
		ir = selectResponse(in, m[1])
	} else {
		ir = in.Default
	}
	if ir == nil {
		ErrInternal.write(w)
		return
	}
	writeIntegrationResponse(w, r, ir, nil, "")
}

// requestTemplate picks the request template for a content type (absent ⇒ application/json), and
// says whether passthroughBehavior refuses the request (415).
func requestTemplate(in *snapshot.Integration, contentType string) (tmpl string, found, unsupported bool) {
	ct := "application/json"
	if contentType != "" {
		if mt, _, err := mime.ParseMediaType(contentType); err == nil {
			ct = mt
		}
	}
	if t, ok := in.RequestTemplates[ct]; ok {
		return t, true, false
	}
	if len(in.RequestTemplates) == 0 {
		return "", false, in.Passthrough == "NEVER"
	}
	switch in.Passthrough {
	case "NEVER", "WHEN_NO_TEMPLATES":
		return "", false, true
	}
	return "", false, false
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

// writeIntegrationResponse writes the method response of a non-proxy integration: the chosen
// integration response's status, its header mappings and its template for the request's Accept
// type (else application/json, else the first); without a template the backend body is returned.
func writeIntegrationResponse(w http.ResponseWriter, r *http.Request, ir *snapshot.IntegrationResponse, backendHeader http.Header, backendBody string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for name, expr := range ir.ResponseParameters {
		hdr, ok := strings.CutPrefix(name, "method.response.header.")
		if !ok {
			continue
		}
		val, ok := mapResponseValue(expr, backendHeader)
		if !ok {
			continue
		}
		h.Set(remapped(hdr), val)
	}
	body := backendBody
	if t, ok := responseTemplate(ir, r.Header.Get("Accept")); ok {
		body = t
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(ir.StatusCode)
	_, _ = w.Write([]byte(body))
}

func mapResponseValue(expr string, backend http.Header) (string, bool) {
	if len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'' {
		return expr[1 : len(expr)-1], true
	}
	if name, ok := strings.CutPrefix(expr, "integration.response.header."); ok && backend != nil {
		v := backend.Get(name)
		return v, v != ""
	}
	return "", false
}

// headers API Gateway will not let a mapping set; they are emitted as x-amzn-Remapped-<Name>.
var remappedHeaders = map[string]bool{
	"Authorization": true, "Connection": true, "Content-Length": true, "Content-Md5": true, "Date": true,
	"Expect": true, "Host": true, "Max-Forwards": true, "Proxy-Authenticate": true, "Server": true,
	"Trailer": true, "Upgrade": true, "User-Agent": true, "Www-Authenticate": true,
}

func remapped(name string) string {
	if remappedHeaders[http.CanonicalHeaderKey(name)] {
		return "X-Amzn-Remapped-" + name
	}
	return name
}

func responseTemplate(ir *snapshot.IntegrationResponse, accept string) (string, bool) {
	if len(ir.ResponseTemplates) == 0 {
		return "", false
	}
	if accept != "" {
		for _, part := range strings.Split(accept, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if t, ok := ir.ResponseTemplates[mt]; ok {
				return deref(t), true
			}
		}
	}
	if t, ok := ir.ResponseTemplates["application/json"]; ok {
		return deref(t), true
	}
	keys := make([]string, 0, len(ir.ResponseTemplates))
	for k := range ir.ResponseTemplates {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return deref(ir.ResponseTemplates[keys[0]]), true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
