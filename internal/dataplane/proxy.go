package dataplane

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/snapshot"
)

// NewTransport returns the one shared, tuned transport to backends: keep-alive pools sized for a
// gateway, no transparent compression (bodies pass through untouched).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

type proxy struct {
	rt http.RoundTripper
}

// Request headers that never reach an integration (addendum §8.4), plus Host (set from the
// backend URL) and Content-Encoding.
var droppedRequestHeaders = []string{
	"Connection", "Content-Length", "Content-Md5", "Expect", "Max-Forwards", "Proxy-Authenticate",
	"Server", "Te", "Transfer-Encoding", "Trailer", "Upgrade", "Www-Authenticate", "Proxy-Connection",
	"Keep-Alive", "Content-Encoding", "Via",
}

// serveProxy runs an HTTP_PROXY integration (addendum §8.5): the substituted uri is the whole
// upstream URL, client query and headers pass through, the body streams both ways.
func (p *proxy) serveProxy(w http.ResponseWriter, r *http.Request, st *snapshot.Stage, o *Outcome) {
	in := o.Method.Integration
	target, err := p.upstreamURL(in, r, st, o, true)
	if err != nil {
		ErrInternal.write(w)
		return
	}
	method := in.HTTPMethod
	if method == "" || method == "ANY" {
		method = r.Method
	}
	ctx, cancel := context.WithTimeout(r.Context(), in.Timeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, method, target.String(), bodyOf(r))
	if err != nil {
		ErrInternal.write(w)
		return
	}
	out.ContentLength = r.ContentLength
	out.Header = r.Header.Clone()
	for _, h := range droppedRequestHeaders {
		out.Header.Del(h)
	}
	addForwarded(out.Header, r, st)
	if err := applyHeaderMappings(out.Header, in, r, o); err != nil {
		ErrInternal.write(w)
		return
	}
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		backendError(w, ctx, err)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, vs := range resp.Header {
		switch k {
		case "Connection", "Keep-Alive", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Connection", "Content-Encoding", "Via":
			continue
		case "Date", "Server", "X-Amzn-Requestid":
			h["X-Amzn-Remapped-"+k] = vs
			continue
		}
		h[k] = vs
	}
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", itoa(resp.ContentLength))
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// serveHTTP runs a non-proxy HTTP integration (addendum §8.6): only mapped parameters reach the
// backend, and the backend status selects the integration response.
func (p *proxy) serveHTTP(w http.ResponseWriter, r *http.Request, st *snapshot.Stage, o *Outcome) {
	in := o.Method.Integration
	tmpl, found, unsupported := requestTemplate(in, r.Header.Get("Content-Type"))
	if unsupported {
		ErrUnsupportedMedia.write(w)
		return
	}
	target, err := p.upstreamURL(in, r, st, o, false)
	if err != nil {
		ErrInternal.write(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), in.Timeout)
	defer cancel()
	var body io.Reader = bodyOf(r)
	length := r.ContentLength
	if found {
		body, length = strings.NewReader(tmpl), int64(len(tmpl))
	}
	out, err := http.NewRequestWithContext(ctx, in.HTTPMethod, target.String(), body)
	if err != nil {
		ErrInternal.write(w)
		return
	}
	out.ContentLength = length
	out.Header.Set("Accept", "application/json")
	out.Header.Set("User-Agent", "AmazonAPIGateway_"+st.API.ID)
	out.Header.Set("X-Amzn-Apigateway-Api-Id", st.API.ID)
	if ct := r.Header.Get("Content-Type"); ct != "" && length != 0 {
		out.Header.Set("Content-Type", ct)
	}
	if err := applyHeaderMappings(out.Header, in, r, o); err != nil {
		ErrInternal.write(w)
		return
	}
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		backendError(w, ctx, err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxPayload+1))
	if err != nil {
		backendError(w, ctx, err)
		return
	}
	ir := selectResponse(in, itoa(int64(resp.StatusCode)))
	if ir == nil {
		ErrInternal.write(w)
		return
	}
	writeIntegrationResponse(w, r, ir, resp.Header, string(b))
}

func bodyOf(r *http.Request) io.Reader {
	if r.ContentLength == 0 {
		return nil
	}
	return r.Body
}

// backendError maps a failed round trip: the integration timeout → 504, a body over the payload
// limit → 413, anything else (refused, reset, garbage) → 502.
func backendError(w http.ResponseWriter, ctx context.Context, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		ErrTooLarge.write(w)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		ErrTimeout.write(w)
	default:
		ErrBadGateway.write(w)
	}
}

// upstreamURL substitutes the integration uri: {name} from integration.request.path.* mappings,
// ${stageVariables.x}, then appends the uri's own query, (proxy only) the client's query and the
// mapped querystring values. An unresolved {name} is a configuration error (500, Q14).
func (p *proxy) upstreamURL(in *snapshot.Integration, r *http.Request, st *snapshot.Stage, o *Outcome, passQuery bool) (*url.URL, error) {
	raw := in.URI
	if strings.Contains(raw, "${stageVariables.") {
		raw = substituteStageVars(raw, st.Variables)
	}
	if strings.Contains(raw, "{") {
		for key, expr := range in.RequestParameters {
			name, ok := strings.CutPrefix(key, "integration.request.path.")
			if !ok {
				continue
			}
			val, _ := resolveParam(expr, r, st, o)
			name = strings.TrimSuffix(name, "+")
			raw = strings.ReplaceAll(raw, "{"+name+"+}", escapeGreedy(val))
			raw = strings.ReplaceAll(raw, "{"+name+"}", escapeGreedy(val))
		}
		if strings.ContainsAny(raw, "{}") {
			return nil, errors.New("unresolved path variable in integration uri")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("invalid integration uri")
	}
	q := u.RawQuery
	if passQuery && r.URL.RawQuery != "" {
		q = joinQuery(q, r.URL.RawQuery)
	}
	for key, expr := range in.RequestParameters {
		name, ok := strings.CutPrefix(key, "integration.request.querystring.")
		if !ok {
			continue
		}
		if val, ok := resolveParam(expr, r, st, o); ok {
			q = joinQuery(q, url.QueryEscape(name)+"="+url.QueryEscape(val))
		}
	}
	u.RawQuery = q
	return u, nil
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "&" + b
}

// escapeGreedy escapes a (decoded) path value for the upstream URL, keeping "/" of greedy values.
func escapeGreedy(v string) string {
	parts := strings.Split(v, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// resolveParam evaluates a request-parameter mapping expression: method.request.{path|querystring|header}.X,
// 'static', stageVariables.X, context.X (requestId, apiId, stage, resourcePath, httpMethod).
func resolveParam(expr string, r *http.Request, st *snapshot.Stage, o *Outcome) (string, bool) {
	switch {
	case len(expr) >= 2 && expr[0] == '\'' && expr[len(expr)-1] == '\'':
		return expr[1 : len(expr)-1], true
	case strings.HasPrefix(expr, "method.request.path."):
		v := o.Params.Get(expr[len("method.request.path."):])
		if dv, err := url.PathUnescape(v); err == nil {
			v = dv
		}
		return v, v != ""
	case strings.HasPrefix(expr, "method.request.querystring."):
		vs, ok := r.URL.Query()[expr[len("method.request.querystring."):]]
		if !ok || len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	case strings.HasPrefix(expr, "method.request.header."):
		v := r.Header.Get(expr[len("method.request.header."):])
		return v, v != ""
	case strings.HasPrefix(expr, "stageVariables."):
		v, ok := st.Variables[expr[len("stageVariables."):]]
		return v, ok
	case strings.HasPrefix(expr, "context."):
		switch expr[len("context."):] {
		case "apiId":
			return st.API.ID, true
		case "stage":
			return st.Name, true
		case "resourcePath":
			return o.Method.ResourcePath, true
		case "httpMethod":
			return r.Method, true
		}
	}
	return "", false
}

// headers a mapping may not set: it breaks the call (addendum §8.4).
var forbiddenMappedHeaders = map[string]bool{
	"Content-Length": true, "Transfer-Encoding": true, "X-Amzn-Trace-Id": true, "X-Amzn-Apigateway-Api-Id": true,
}

// applyHeaderMappings sets integration.request.header.* mappings, overriding client headers.
func applyHeaderMappings(h http.Header, in *snapshot.Integration, r *http.Request, o *Outcome) error {
	for key, expr := range in.RequestParameters {
		name, ok := strings.CutPrefix(key, "integration.request.header.")
		if !ok {
			continue
		}
		canon := http.CanonicalHeaderKey(name)
		if forbiddenMappedHeaders[canon] {
			return errors.New("mapping to a reserved header")
		}
		switch canon {
		case "Expect", "Proxy-Authenticate", "Te", "Via":
			continue // removed even when mapped
		}
		if val, ok := resolveParam(expr, r, o.Method.Stage, o); ok {
			h.Set(canon, val)
		}
	}
	return nil
}

// addForwarded adds the API id and the X-Forwarded-* headers (appending the client address).
func addForwarded(h http.Header, r *http.Request, st *snapshot.Stage) {
	h.Set("X-Amzn-Apigateway-Api-Id", st.API.ID)
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := h.Get("X-Forwarded-For"); prior != "" {
			h.Set("X-Forwarded-For", prior+", "+host)
		} else {
			h.Set("X-Forwarded-For", host)
		}
		_ = port
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		h.Set("X-Forwarded-Port", port)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	h.Set("X-Forwarded-Proto", proto)
}

func substituteStageVars(s string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${stageVariables.")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(vars[s[i+len("${stageVariables."):i+j]])
		s = s[i+j+1:]
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
