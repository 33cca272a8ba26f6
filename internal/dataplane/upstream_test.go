package dataplane

import (
	"net/http"
	"testing"

	"github.com/tollgate/tollgate/internal/snapshot"
)

type testIn struct{ method, query string }

func (r *testIn) Method() string        { return r.method }
func (r *testIn) Header(string) string  { return "" }
func (r *testIn) RawQuery() string      { return r.query }
func (r *testIn) SetHeader(_, _ string) {}
func (r *testIn) Headers() [][2]string  { return nil }
func (r *testIn) Peer() (string, string, string) {
	return "", "", ""
}
func (r *testIn) Signed() (*http.Request, []byte, *GatewayError) {
	return nil, nil, ErrBadRequest
}

// TestUpstream: the upstream URL of addendum §8.5 — substitutions, query accumulation, default
// ports — and the uris no request can fix (500).
func TestUpstream(t *testing.T) {
	vars := map[string]string{"host": "svc.internal:8080", "ver": "v2", "weird": "{x}"}
	tests := []struct {
		name, uri, query string
		params           map[string]string
		proxy            bool
		scheme, host     string
		dialTo, target   string
		wantErr          bool
	}{
		{name: "greedy value keeps slashes", uri: "http://h/backend/{proxy}", params: map[string]string{"integration.request.path.proxy": "'a/b c/d?e'"},
			scheme: "http", host: "h", dialTo: "h:80", target: "/backend/a/b%20c/d%3Fe"},
		{name: "greedy placeholder", uri: "http://h:81/{proxy+}", params: map[string]string{"integration.request.path.proxy+": "'x/y'"},
			scheme: "http", host: "h:81", dialTo: "h:81", target: "/x/y"},
		{name: "stage variables in host and path", uri: "https://${stageVariables.host}/${stageVariables.ver}/items",
			scheme: "https", host: "svc.internal:8080", dialTo: "svc.internal:8080", target: "/v2/items"},
		{name: "https default port", uri: "HTTPS://example.com/x", scheme: "https", host: "example.com", dialTo: "example.com:443", target: "/x"},
		{name: "no path", uri: "http://h", query: "a=1", proxy: true, scheme: "http", host: "h", dialTo: "h:80", target: "/?a=1"},
		{name: "queries accumulate", uri: "http://h/p?q={v}", query: "c=3&c=4", proxy: true,
			params: map[string]string{"integration.request.path.v": "'1'", "integration.request.querystring.m k": "'v&w'"},
			scheme: "http", host: "h", dialTo: "h:80", target: "/p?q=1&c=3&c=4&m+k=v%26w"},
		{name: "client query only for HTTP_PROXY", uri: "http://h/p", query: "c=3", scheme: "http", host: "h", dialTo: "h:80", target: "/p"},
		{name: "ipv6", uri: "http://[::1]/x", scheme: "http", host: "[::1]", dialTo: "[::1]:80", target: "/x"},
		{name: "a space is escaped", uri: "http://h/a b", scheme: "http", host: "h", dialTo: "h:80", target: "/a%20b"},
		{name: "a fragment is dropped", uri: "http://h/p?x=1#frag", scheme: "http", host: "h", dialTo: "h:80", target: "/p?x=1"},
		{name: "user info is not the host", uri: "http://u:p@h/x", scheme: "http", host: "h", dialTo: "h:80", target: "/x"},
		{name: "unmapped variable", uri: "http://h/{id}", wantErr: true},
		{name: "stray brace", uri: "http://h/a}b", wantErr: true},
		{name: "brace from a stage variable", uri: "http://h/${stageVariables.weird}", wantErr: true},
		{name: "not http", uri: "ftp://h/x", wantErr: true},
		{name: "no host", uri: "http:///x", wantErr: true},
		{name: "empty host from a missing stage variable", uri: "http://${stageVariables.none}/x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := "HTTP"
			kind := KindHTTP
			if tc.proxy {
				typ, kind = "HTTP_PROXY", KindHTTPProxy
			}
			in := &snapshot.Integration{Type: typ, URI: tc.uri, RequestParameters: tc.params}
			call := &Call{Kind: kind, plan: compile(in), Stage: &snapshot.Stage{Variables: vars}}
			u, err := call.Upstream(nil, &testIn{method: "GET", query: tc.query})
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != tc.scheme || u.Host != tc.host || u.DialTo != tc.dialTo || string(u.RequestTarget()) != tc.target {
				t.Fatalf("got %s %s %s %s, want %s %s %s %s", u.Scheme, u.Host, u.DialTo, u.RequestTarget(), tc.scheme, tc.host, tc.dialTo, tc.target)
			}
		})
	}
}

// TestMediaType: the fast path agrees with mime's parser.
func TestMediaType(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "application/json",
		"application/json":                  "application/json",
		"Application/JSON":                  "application/json",
		"text/plain; charset=utf-8":         "text/plain",
		" application/xml ":                 "application/xml",
		"application/x-www-form-urlencoded": "application/x-www-form-urlencoded",
		"nonsense":                          "nonsense", // mime accepts a bare type
		"text/plain; charset":               "application/json",
	} {
		if got := mediaType(in); got != want {
			t.Errorf("mediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConnectionListed(t *testing.T) {
	for _, c := range []struct {
		conn, name string
		want       bool
	}{
		{"", "X-A", false},
		{"close", "X-A", false},
		{"keep-alive, X-A", "X-A", true},
		{"x-a", "X-A", true},
		{" X-B ,x-a ", "X-A", true},
		{"X-AB", "X-A", false},
		{"X-A-B", "X-A", false},
		{",,", "X-A", false},
	} {
		if got := ConnectionListed(c.conn, c.name); got != c.want {
			t.Errorf("ConnectionListed(%q, %q) = %v, want %v", c.conn, c.name, got, c.want)
		}
	}
	// RFC 9110 §7.6.1's hop-by-hop headers and Go's ReverseProxy list: dropped both ways.
	hop := []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	for _, h := range hop {
		if ForwardRequestHeader(h) {
			t.Errorf("%s is forwarded to the backend", h)
		}
	}
	for _, h := range hop {
		if drop, _ := ResponseHeaderRule(h); !drop {
			t.Errorf("%s is passed to the client", h)
		}
	}
}
