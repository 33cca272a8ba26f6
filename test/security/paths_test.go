package security

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/test/harness"
)

// TestPathTraversal (finding 1): /admin needs a key, /pub/{proxy+} is open; no encoding of dot
// segments or separators in a /pub path may reach the backend's /admin without the key, in any
// of the three invocation URL forms, on either engine. The path rule is docs/path-rule.md.
func TestPathTraversal(t *testing.T) {
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		b := newBackend(t, nil)
		api := deploy(t, s.Client("us-east-1"),
			method{Path: "/admin", KeyRequired: true, Integration: httpProxy(b.URL + "/admin")},
			method{Path: "/pub/{proxy+}", Integration: httpProxy(b.URL+"/pub/{proxy}", "proxy")},
		)
		forms := map[string]func(p string) (host, target string){
			"restapis": func(p string) (string, string) {
				return "x", "/restapis/" + api.ID + "/prod/_user_request_" + p
			},
			"_aws": func(p string) (string, string) { return "x", "/_aws/execute-api/" + api.ID + "/prod" + p },
			"host": func(p string) (string, string) { return api.ID + ".execute-api.localhost", "/prod" + p },
		}
		// status: 403 Forbidden = resolved onto /admin, whose key check refused it; 400 = refused
		// by the path rule; 200 = served by /pub/{proxy+} with the backend path shown.
		tests := []struct {
			path    string
			status  int
			backend string // the backend path of a 200
		}{
			{"/pub/..", 403, ""}, // resolves to "/", which has no method: Missing Authentication Token
			{"/pub/../admin", 403, ""},
			{"/pub/%2e%2e/admin", 403, ""},
			{"/pub/%2E%2e/admin", 403, ""},
			{"/pub/.%2e/admin", 403, ""},
			{"/pub/%2e./admin", 403, ""},
			{"/pub/./../admin", 403, ""},
			{"/pub/x/../../admin", 403, ""},
			{"/pub/%2E%2E%2Fadmin", 400, ""},
			{"/pub/..%2fadmin", 400, ""},
			{"/pub/x%2f..%2f..%2fadmin", 400, ""},
			{"/pub/%2e%2e%5cadmin", 400, ""},
			{"/pub/..%5Cadmin", 400, ""},
			{`/pub/..\admin`, 400, ""},
			{"/pub/..;/admin", 400, ""},
			{"/pub/../../admin", 400, ""},
			{"/pub//admin", 403, ""},
			{"/pub//../admin", 200, "/pub/admin"}, // ".." removes the empty segment: still under /pub
			{"/pub/a%2Fb", 200, "/pub/a%2Fb"},
			{"/pub/a%5Cb", 200, "/pub/a%5Cb"},
			{"/pub/./a", 200, "/pub/a"},
			{"/pub/a/./b", 200, "/pub/a/b"},
			{"/pub/a/../b", 200, "/pub/b"},
			{"/pub/%252e%252e/admin", 200, "/pub/%252e%252e/admin"},
		}
		for name, form := range forms {
			for _, tc := range tests {
				host, target := form(tc.path)
				r, err := rawRequest(t, hostPort(s.Endpoint), fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host))
				if err != nil {
					t.Errorf("%s %s: %v", name, tc.path, err)
					continue
				}
				if r.Status != tc.status {
					t.Errorf("%s %s: status %d %s, want %d", name, tc.path, r.Status, r.Body, tc.status)
				}
				if tc.status == 200 && r.Body != "backend:"+tc.backend {
					t.Errorf("%s %s: backend got %q, want %q", name, tc.path, r.Body, tc.backend)
				}
			}
		}
		// No request carried a key, so every backend path, as the most lenient backend reads it,
		// must be under /pub/.
		for _, p := range b.Paths() {
			if got := lenientPath(p); !strings.HasPrefix(got, "/pub/") {
				t.Errorf("the backend was asked for %q (read as %q) without a key", p, got)
			}
		}
	})
}

// lenientPath is how the most lenient backend reads a path: percent-decoded once, "\" as "/",
// ";" parameters dropped, dot segments resolved.
func lenientPath(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	segs := strings.Split(strings.ReplaceAll(p, `\`, "/"), "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	return path.Clean("/" + strings.Join(segs, "/"))
}
