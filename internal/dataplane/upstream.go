package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Upstream is where an HTTP or HTTP_PROXY integration sends its request.
type Upstream struct {
	Scheme string // "http" or "https"
	Host   string // the authority as the uri names it: the Host header
	DialTo string // host:port to connect to
	// URL is the whole upstream URL; URL[PathAt:] is the request-target (path and query).
	URL    []byte
	PathAt int
}

// RequestTarget returns the path and query to send.
func (u *Upstream) RequestTarget() []byte { return u.URL[u.PathAt:] }

var (
	errBadURI = errors.New("invalid integration uri")
	// errUnsafeValue: a mapped value (a header, a query parameter) would put a dot segment into
	// the upstream path.
	errUnsafeValue = errors.New("mapped path value holds a dot segment")
)

// UpstreamError is the gateway response for an error of Call.Upstream: 400 for a client value
// that would climb out of the integration's path, 500 for a uri no request can fix.
func UpstreamError(err error) *GatewayError {
	if err == errUnsafeValue {
		return ErrBadRequest
	}
	return ErrInternal
}

// Upstream builds the upstream URL into dst (addendum §8.5): the uri with its {name} and
// ${stageVariables.x} substitutions, then (HTTP_PROXY only) the client's query, then the mapped
// querystring values. An error is a configuration error: 500 Internal server error.
func (c *Call) Upstream(dst []byte, r Inbound) (Upstream, error) {
	p := c.plan
	if p.uriErr {
		return Upstream{}, errBadURI
	}
	buf := dst[:0]
	for i := range p.uri {
		part := &p.uri[i]
		switch part.kind {
		case partLiteral:
			buf = append(buf, part.text...)
		case partStageVar:
			v := c.Stage.Variables[part.text]
			if strings.ContainsAny(v, "{}") {
				return Upstream{}, errBadURI
			}
			buf = append(buf, v...)
		case partPathVar:
			if part.expr.kind == exprPath {
				// The request's own path: only its real "/" separate segments (docs/path-rule.md).
				buf = appendPathValue(buf, c.Params.Get(part.expr.arg))
				continue
			}
			v, _ := c.eval(part.expr, r)
			if !SafeValue(v) {
				return Upstream{}, errUnsafeValue
			}
			buf = appendEscapeGreedy(buf, v)
		}
	}
	t, ok := splitTarget(buf)
	if !ok || !validTarget(buf[t.pathAt:]) {
		// Unusual bytes (spaces, a fragment, user info…): let net/url judge and normalize, as
		// the uri would be on any path.
		var err error
		if buf, t, err = normalizeURL(buf); err != nil {
			return Upstream{}, err
		}
	}
	u := Upstream{PathAt: t.pathAt}
	if p.static {
		u.Scheme, u.Host, u.DialTo = p.scheme, p.host, p.dialTo
	} else {
		u.Scheme, u.Host = t.scheme, string(buf[t.hostAt:t.pathAt])
		u.DialTo = dialAddr(u.Scheme, u.Host)
	}
	if t.pathAt == len(buf) || buf[t.pathAt] == '?' {
		// No path: the request-target is "/" (rare enough to copy).
		buf = append(buf[:t.pathAt], append([]byte{'/'}, buf[t.pathAt:]...)...)
		if t.queryAt >= 0 {
			t.queryAt++
		}
	}
	hasQuery := t.queryAt >= 0 && t.queryAt+1 < len(buf)
	sep := func() {
		switch {
		case t.queryAt < 0:
			buf = append(buf, '?')
			t.queryAt = len(buf) - 1
		case hasQuery:
			buf = append(buf, '&')
		}
		hasQuery = true
	}
	if c.Kind == KindHTTPProxy {
		if q := r.RawQuery(); q != "" {
			sep()
			buf = append(buf, q...)
		}
	}
	for _, m := range p.queries {
		if v, ok := c.eval(m.expr, r); ok {
			sep()
			buf = append(buf, m.name...)
			buf = append(buf, '=')
			buf = append(buf, queryEscape(v)...)
		}
	}
	u.URL = buf
	return u, nil
}

// target locates the parts of an absolute http(s) URL.
type target struct {
	scheme         string
	hostAt, pathAt int
	queryAt        int // index of '?', -1 when none
}

// splitTarget parses "http(s)://authority[/path][?query]" without allocating.
func splitTarget(b []byte) (target, bool) {
	t := target{queryAt: -1}
	switch {
	case len(b) >= 7 && strings.EqualFold(string(b[:7]), "http://"):
		t.scheme, t.hostAt = "http", 7
	case len(b) >= 8 && strings.EqualFold(string(b[:8]), "https://"):
		t.scheme, t.hostAt = "https", 8
	default:
		return t, false
	}
	t.pathAt = len(b)
	for i := t.hostAt; i < len(b); i++ {
		c := b[i]
		if c == '/' || c == '?' {
			t.pathAt = i
			break
		}
		if c == '@' || c == '#' || c <= ' ' || c >= 0x7f || c == '%' || c == '\\' {
			return t, false
		}
	}
	if t.pathAt == t.hostAt {
		return t, false
	}
	for i := t.pathAt; i < len(b); i++ {
		if b[i] == '?' {
			t.queryAt = i
			break
		}
	}
	return t, true
}

// validTarget reports whether a path and query are already what net/url would send: a path of
// valid percent-encoded bytes and a query of visible ASCII without a fragment.
func validTarget(b []byte) bool {
	inQuery := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '?' {
			inQuery = true
			continue
		}
		if c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
		if inQuery {
			continue
		}
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.~!$&'()*+,;=:@/", c) >= 0:
		case c == '%':
			if i+2 >= len(b) || !ishex(b[i+1]) || !ishex(b[i+2]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// normalizeURL is the slow path: net/url parses the URL and writes it back the way net/http
// would send it.
func normalizeURL(b []byte) ([]byte, target, error) {
	u, err := url.Parse(string(b))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, target{}, errBadURI
	}
	out := append(b[:0], u.Scheme...)
	out = append(out, "://"...)
	out = append(out, u.Host...)
	out = append(out, u.EscapedPath()...)
	if u.RawQuery != "" || u.ForceQuery {
		out = append(out, '?')
		out = append(out, u.RawQuery...)
	}
	t, ok := splitTarget(out)
	if !ok || !validTarget(out[t.pathAt:]) {
		return nil, target{}, errBadURI
	}
	return out, t, nil
}

// dialAddr is host:port for an authority, with the scheme's default port.
func dialAddr(scheme, host string) string {
	if strings.IndexByte(host, ':') >= 0 && validHostPort(host) {
		return host
	}
	if scheme == "https" {
		return host + ":443"
	}
	return host + ":80"
}

// appendEscapeGreedy escapes a (decoded) path value for the upstream URL, keeping the "/" of
// greedy values.
func appendEscapeGreedy(dst []byte, v string) []byte {
	for {
		seg, rest, more := strings.Cut(v, "/")
		if needsPathEscape(seg) {
			dst = append(dst, url.PathEscape(seg)...)
		} else {
			dst = append(dst, seg...)
		}
		if !more {
			return dst
		}
		dst = append(dst, '/')
		v = rest
	}
}

// appendPathValue appends a path variable's value as the request sent it (escaped): its real "/"
// separate segments, and each segment is decoded and escaped again on its own, so an encoded
// slash or backslash stays encoded and never adds a segment upstream. A segment with invalid
// escapes is sent with its "%" escaped, as the decoded-value path always did.
func appendPathValue(dst []byte, raw string) []byte {
	for {
		seg, rest, more := strings.Cut(raw, "/")
		switch {
		case strings.IndexByte(seg, '%') >= 0:
			if d, err := url.PathUnescape(seg); err == nil {
				seg = d
			}
			dst = append(dst, url.PathEscape(seg)...)
		case needsPathEscape(seg):
			dst = append(dst, url.PathEscape(seg)...)
		default:
			dst = append(dst, seg...)
		}
		if !more {
			return dst
		}
		dst = append(dst, '/')
		raw = rest
	}
}

// needsPathEscape reports whether url.PathEscape would change s.
func needsPathEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.~$&+:=@", c) >= 0:
		default:
			return true
		}
	}
	return false
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// eval evaluates a request-parameter mapping for this call.
func (c *Call) eval(e expr, r Inbound) (string, bool) {
	switch e.kind {
	case exprStatic:
		return e.arg, true
	case exprPath:
		v := c.Params.Get(e.arg)
		if strings.IndexByte(v, '%') >= 0 {
			if dv, err := url.PathUnescape(v); err == nil {
				v = dv
			}
		}
		return v, v != ""
	case exprQuery:
		return queryValue(r.RawQuery(), e.arg)
	case exprHeader:
		v := r.Header(e.arg)
		return v, v != ""
	case exprStageVar:
		v, ok := c.Stage.Variables[e.arg]
		return v, ok
	case exprAPIID:
		return c.Stage.API.ID, true
	case exprStage:
		return c.Stage.Name, true
	case exprResourcePath:
		return c.Method.ResourcePath, true
	case exprHTTPMethod:
		return r.Method(), true
	case exprAuthorizer:
		if c.Auth == nil {
			return "", false
		}
		v, ok := c.Auth.Lookup(e.arg)
		return v, ok && v != ""
	}
	return "", false
}

// queryValue returns the first value of a query parameter, as url.Values would.
func queryValue(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != name {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		return v, true
	}
	return "", false
}

// MapRequestHeaders sets the integration.request.header.* mappings, which override client
// headers. An error means the integration maps a reserved header: 500 (addendum §8.4).
func (c *Call) MapRequestHeaders(r Inbound, set HeaderSink) error {
	if c.plan.headerErr {
		return errors.New("mapping to a reserved header")
	}
	for _, m := range c.plan.headers {
		if v, ok := c.eval(m.expr, r); ok {
			set.SetHeader(m.name, v)
		}
	}
	return nil
}

// UpstreamMethod is the verb sent to the backend: the integration's, or the client's for ANY.
func (c *Call) UpstreamMethod(r Inbound) string {
	if m := c.plan.in.HTTPMethod; m != "" && m != "ANY" {
		return m
	}
	return r.Method()
}

// ForwardRequestHeader reports whether an HTTP_PROXY passes a client header on (canonical name):
// not the ones addendum §8.4 drops, nor Host (the backend's) or Content-Encoding.
func ForwardRequestHeader(name string) bool {
	switch name {
	case "Connection", "Content-Length", "Content-Md5", "Expect", "Max-Forwards", "Proxy-Authenticate",
		"Server", "Te", "Transfer-Encoding", "Trailer", "Upgrade", "Www-Authenticate", "Proxy-Connection",
		"Keep-Alive", "Content-Encoding", "Via", "Host",
		"Proxy-Authorization": // hop-by-hop (RFC 9110 §7.6.1): credentials for this hop's proxy
		return false
	}
	return true
}

// ResponseHeaderRule says what an HTTP_PROXY does with a backend response header (canonical
// name): drop it (hop-by-hop and the encodings API Gateway strips), re-emit it as
// x-amzn-Remapped-<Name> (remap != ""), or pass it.
func ResponseHeaderRule(name string) (drop bool, remap string) {
	switch name {
	case "Connection", "Keep-Alive", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Proxy-Connection", "Content-Encoding", "Via",
		// hop-by-hop in either direction (RFC 9110 §7.6.1, Go's ReverseProxy): a backend's
		// proxy credentials or challenge are for its own hop, not the client's
		"Proxy-Authenticate", "Proxy-Authorization":
		return true, ""
	case "Date":
		return false, "X-Amzn-Remapped-Date"
	case "Server":
		return false, "X-Amzn-Remapped-Server"
	case "X-Amzn-Requestid":
		return false, "X-Amzn-Remapped-X-Amzn-Requestid"
	}
	return false, ""
}

// ConnectionListed reports whether the Connection header value conn names the header name: such
// a header is hop-by-hop (RFC 9110 §7.6.1) and must not be forwarded, in either direction, as Go's
// ReverseProxy, nginx and Envoy drop it. Tokens are compared case-insensitively. A message
// without a Connection header (nearly all) costs one length check.
func ConnectionListed(conn, name string) bool {
	for len(conn) > 0 {
		var tok string
		tok, conn, _ = strings.Cut(conn, ",")
		if strings.EqualFold(strings.TrimSpace(tok), name) {
			return true
		}
	}
	return false
}

// AppendForwardedFor appends the X-Forwarded-For value sent upstream: the client's chain (prior,
// the first X-Forwarded-For it sent) followed by its address.
func AppendForwardedFor(dst []byte, prior string, client netip.Addr) []byte {
	if prior != "" {
		dst = append(dst, prior...)
		dst = append(dst, ", "...)
	}
	return client.Unmap().AppendTo(dst)
}

// ForwardedPort is the X-Forwarded-Port sent upstream: the port of the client's Host header, ""
// when it names none.
func ForwardedPort(host string) string {
	if strings.IndexByte(host, ':') < 0 {
		return "" // the usual Host: no port, and no error value allocated to say so
	}
	if _, port, err := net.SplitHostPort(host); err == nil {
		return port
	}
	return ""
}

// validHostPort reports whether s splits as host:port.
func validHostPort(s string) bool {
	_, _, err := net.SplitHostPort(s)
	return err == nil
}
