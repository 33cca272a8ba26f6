package dataplane

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/snapshot"
)

// TestNormalizePath: the path rule of docs/path-rule.md, encoding by encoding.
func TestNormalizePath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"/", "/", true},
		{"/pub/a/b", "/pub/a/b", true},
		{"/pub/../admin", "/admin", true},
		{"/pub/%2e%2e/admin", "/admin", true},
		{"/pub/%2E%2e/admin", "/admin", true},
		{"/pub/.%2e/admin", "/admin", true},
		{"/pub/%2e./admin", "/admin", true},
		{"/pub/./admin", "/pub/admin", true},
		{"/pub/%2E/admin", "/pub/admin", true},
		{"/pub/a/..", "/pub/", true},
		{"/pub/a/../", "/pub/", true},
		{"/pub/..", "/", true},
		{"/a/b/../../c", "/c", true},
		{"/..", "", false},
		{"/pub/../..", "", false},
		{"/%2e%2e/x", "", false},
		{"/pub/%2E%2E%2Fadmin", "", false},
		{"/pub/..%2fadmin", "", false},
		{"/pub/x%2F..%2Fadmin", "", false},
		{"/pub/%2e%2e%5cadmin", "", false},
		{"/pub/..%5Cadmin", "", false},
		{`/pub/..\admin`, "", false},
		{"/pub/..;x/admin", "", false},
		{"/pub/.;/admin", "", false},
		{"/pub/%2e%2e;jsessionid=1/admin", "", false},
		{"/pub/a%2Fb", "/pub/a%2Fb", true},                       // an encoded slash alone is data, kept encoded upstream
		{"/pub/a%5Cb", "/pub/a%5Cb", true},                       // likewise a backslash
		{"/pub/...", "/pub/...", true},                           // three dots are a name
		{"/pub/.hidden", "/pub/.hidden", true},                   // so is a dot file
		{"/pub/%252e%252e/admin", "/pub/%252e%252e/admin", true}, // double encoding: one decode leaves "%2e%2e"
		{"/pub/a;b", "/pub/a;b", true},
		{"/pub//x", "/pub//x", true}, // empty segments are left to matching, which matches none
		{"/pub/%zz/x", "/pub/%zz/x", true},
	}
	for _, tc := range tests {
		got, ok := NormalizePath(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizePathDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = NormalizePath("/items/abc-123/sub_path~x") }); n != 0 {
		t.Fatalf("%v allocations for a plain path, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { SafeValue("plain/value;x") }); n != 0 {
		t.Fatalf("SafeValue: %v allocations, want 0", n)
	}
}

// pathRuleStage is /admin (HTTP_PROXY to /admin), /pub/{proxy+} (to /pub/{proxy}), /items/{id}
// (to /items/{id}/detail) and /h/{x} (to /h/{x}, mapped from a client header).
func pathRuleStage(t testing.TB) *snapshot.Stage {
	proxy := func(uri string, params map[string]string) map[string]*apigw.Method {
		return map[string]*apigw.Method{"ANY": {HTTPMethod: "ANY", Integration: &apigw.Integration{Type: "HTTP_PROXY", HTTPMethod: "ANY",
			URI: "http://backend" + uri, RequestParameters: params}}}
	}
	res := []*apigw.Resource{
		{ID: "root"},
		{ID: "admin", ParentID: "root", PathPart: "admin", Methods: proxy("/admin", nil)},
		{ID: "pub", ParentID: "root", PathPart: "pub"},
		{ID: "proxy", ParentID: "pub", PathPart: "{proxy+}", Methods: proxy("/pub/{proxy}",
			map[string]string{"integration.request.path.proxy": "method.request.path.proxy"})},
		{ID: "items", ParentID: "root", PathPart: "items"},
		{ID: "id", ParentID: "items", PathPart: "{id}", Methods: proxy("/items/{id}/detail",
			map[string]string{"integration.request.path.id": "method.request.path.id"})},
		{ID: "h", ParentID: "root", PathPart: "h"},
		{ID: "hx", ParentID: "h", PathPart: "{x}", Methods: proxy("/h/{x}",
			map[string]string{"integration.request.path.x": "method.request.header.X-Path"})},
	}
	in := snapshot.RegionInput{Region: "us-east-1", Throttle: apigw.Throttle{RateLimit: 1, BurstLimit: 1},
		Apis:        []*apigw.RestApi{{ID: "api1"}},
		Deployments: []*apigw.Deployment{{ID: "d1", ApiID: "api1", Resources: res}},
		Stages:      []*apigw.Stage{{ApiID: "api1", StageName: "prod", DeploymentID: "d1"}}}
	s := snapshot.Build(snapshot.Input{Regions: []snapshot.RegionInput{in}}, snapshot.Binder{})
	return s.API("api1").Stage("prod")
}

type headerIn struct {
	testIn
	h string
}

func (r *headerIn) Header(string) string { return r.h }

// route runs the data plane's routing half on an escaped path: the path rule, the match, and the
// upstream URL of the matched method. gerr is the refusal, if any.
func route(st *snapshot.Stage, path, header string) (resource string, upstream string, gerr *GatewayError) {
	np, ok := NormalizePath(path)
	if !ok {
		return "", "", ErrBadRequest
	}
	var call Call
	call.Stage = st
	m := st.Match("GET", np, &call.Params)
	if m == nil {
		return "", "", ErrMissingAuthToken
	}
	call.Method, call.Kind, call.plan = m, KindHTTPProxy, compile(m.Integration)
	u, err := call.Upstream(nil, &headerIn{testIn{method: "GET"}, header})
	if err != nil {
		return m.ResourcePath, "", UpstreamError(err)
	}
	return m.ResourcePath, string(u.RequestTarget()), nil
}

// TestPathRuleRouting: attack paths either land on the resource whose checks apply to the
// normalised path, with an upstream path under that resource's prefix, or are refused.
func TestPathRuleRouting(t *testing.T) {
	st := pathRuleStage(t)
	tests := []struct {
		path, header       string
		resource, upstream string
		err                *GatewayError
	}{
		{path: "/pub/a/b", resource: "/pub/{proxy+}", upstream: "/pub/a/b"},
		{path: "/pub/../admin", resource: "/admin", upstream: "/admin"},
		{path: "/pub/%2e%2e/admin", resource: "/admin", upstream: "/admin"},
		{path: "/pub/%2E%2E%2Fadmin", err: ErrBadRequest},
		{path: "/pub/a%2Fb", resource: "/pub/{proxy+}", upstream: "/pub/a%2Fb"},
		{path: "/pub/a%5Cb", resource: "/pub/{proxy+}", upstream: "/pub/a%5Cb"},
		{path: "/pub/a%20b/c", resource: "/pub/{proxy+}", upstream: "/pub/a%20b/c"},
		{path: "/items/x%2Fy", resource: "/items/{id}", upstream: "/items/x%2Fy/detail"},
		{path: "/items/%2e%2e", resource: "", err: ErrMissingAuthToken}, // "/items/.." is "/" : no method there
		{path: "/pub//admin", err: ErrMissingAuthToken},
		{path: "/h/v", header: "../../admin", resource: "/h/{x}", err: ErrBadRequest},
		{path: "/h/v", header: `..\admin`, resource: "/h/{x}", err: ErrBadRequest},
		{path: "/h/v", header: "ok", resource: "/h/{x}", upstream: "/h/ok"},
	}
	for _, tc := range tests {
		res, up, gerr := route(st, tc.path, tc.header)
		if gerr != tc.err || res != tc.resource || up != tc.upstream {
			t.Errorf("%s (header %q): resource %q upstream %q err %v; want %q %q %v", tc.path, tc.header, res, up, gerr, tc.resource, tc.upstream, tc.err)
		}
	}
}

// lenient normalises an upstream path the way the most lenient backend would: percent-decode
// once, "\" as "/", ";" parameters dropped, dot segments resolved.
func lenient(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	p = strings.ReplaceAll(p, `\`, "/")
	var out []string
	for _, s := range strings.Split(p, "/") {
		s, _, _ = strings.Cut(s, ";")
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.TrimLeft(strings.Join(out, "/"), "/")
}

// FuzzPathRule: whatever the path (and a header mapped into a path), a request either is refused
// or reaches a resource whose upstream path, read by a lenient backend, stays under that
// resource's own prefix — it never reaches a backend path whose checks were not applied.
func FuzzPathRule(f *testing.F) {
	for _, s := range []string{"/pub/a", "/pub/../admin", "/pub/%2e%2e/admin", "/pub/%2E%2E%2Fadmin", "/pub/.%2e/admin",
		"/pub/a%2fb", "/pub/a%5c..%5cadmin", "/pub//x", "/pub/./x", "/items/x", "/items/..;/admin", "/h/x"} {
		f.Add(s, "v")
		f.Add(s, "../admin")
	}
	st := pathRuleStage(f)
	prefix := map[string]string{"/admin": "/admin", "/pub/{proxy+}": "/pub/", "/items/{id}": "/items/", "/h/{x}": "/h/"}
	f.Fuzz(func(t *testing.T, path, header string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") {
			return
		}
		res, up, gerr := route(st, path, header)
		if gerr != nil {
			return
		}
		want, ok := prefix[res]
		if !ok {
			t.Fatalf("%q reached unknown resource %q", path, res)
		}
		if got := lenient(up); !strings.HasPrefix(got, want) {
			t.Fatalf("%q (header %q) matched %s but its upstream %q reads as %q, outside %s", path, header, res, up, got, want)
		}
	})
}
