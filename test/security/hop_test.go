package security

import (
	"io"
	"net/http"
	"testing"

	"github.com/tollgate/tollgate/test/harness"
)

// TestHopByHopHeadersEveryName (finding 7): every hop-by-hop header of RFC 9110 §7.6.1 and Go's
// ReverseProxy — Connection, Keep-Alive, Proxy-Connection, Proxy-Authenticate,
// Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade — and every name a Connection
// header lists (matched whatever its case, in any of several Connection headers) stops at the
// gate in both directions of an HTTP_PROXY integration, on both engines; end-to-end headers pass.
// TestHopByHopHeaders covers the Connection-listed names; this one the whole fixed list, one name
// per row so that a failure names the header.
func TestHopByHopHeadersEveryName(t *testing.T) {
	// Headers the client sends and the backend must not receive. Transfer-Encoding and Trailer
	// come as framing: a chunked body declaring a trailer. The gate may frame its own request
	// chunked (it streams a body of unknown length), but the client's trailer must not follow.
	toBackend := []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "X-Listed", "X-Listed-Lower"}
	// Headers the backend sends and the client must not receive.
	toClient := []string{"Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te",
		"Upgrade", "X-Backend-Listed", "X-Backend-Listed-2"}
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			h := w.Header()
			h.Set("X-Got-Body", string(body))
			h.Set("X-Got-Trailer", r.Trailer.Get("X-Trailer"))
			h["Connection"] = []string{"X-BACKEND-LISTED", "x-backend-listed-2, keep-alive"}
			for _, name := range toClient {
				h.Set(name, "hop-value-from-backend")
			}
			h.Set("X-End-To-End", "kept")
			io.WriteString(w, "ok")
		})
		api := deploy(t, s.Client("us-east-1"), method{Path: "/p", Verb: "POST", Integration: httpProxy(b.URL + "/p")})
		req := "POST /restapis/" + api.ID + "/prod/_user_request_/p HTTP/1.1\r\nHost: x\r\n" +
			"Connection: keep-alive, x-listed\r\nconnection: X-LISTED-LOWER\r\n" +
			"X-Listed: hop-value-from-client\r\nx-listed-lower: hop-value-from-client\r\n" +
			"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n" +
			"Proxy-Authenticate: Basic realm=\"client\"\r\nProxy-Authorization: Basic aG9wOmhvcA==\r\n" +
			"TE: trailers\r\nUpgrade: websocket\r\nX-Kept: yes\r\n" +
			"Transfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n" +
			"2\r\nhi\r\n0\r\nX-Trailer: hop-value-from-client\r\n\r\n"
		resp, err := rawRequest(t, hostPort(s.Endpoint), req)
		if err != nil || resp.Status != 200 {
			t.Fatalf("proxy call: %+v, %v", resp, err)
		}
		reqs := b.Requests()
		if len(reqs) != 1 {
			t.Fatalf("backend got %d requests", len(reqs))
		}
		got := reqs[0]
		for _, name := range toBackend {
			if v, ok := got.Header[name]; ok {
				t.Errorf("backend received hop-by-hop %s: %q", name, v)
			}
		}
		if len(got.Trailer) > 0 || resp.Header.Get("X-Got-Trailer") != "" {
			t.Errorf("backend received the client's trailer: declared %v, value %q", got.Trailer, resp.Header.Get("X-Got-Trailer"))
		}
		if resp.Header.Get("X-Got-Body") != "hi" {
			t.Errorf("backend received body %q, want the client's %q", resp.Header.Get("X-Got-Body"), "hi")
		}
		if got.Header.Get("X-Kept") != "yes" {
			t.Errorf("backend lost the end-to-end header X-Kept: %v", got.Header)
		}
		for _, name := range toClient {
			if v, ok := resp.Header[name]; ok {
				t.Errorf("client received hop-by-hop %s: %q", name, v)
			}
		}
		if resp.Header.Get("X-End-To-End") != "kept" {
			t.Errorf("client lost the end-to-end header X-End-To-End: %v", resp.Header)
		}
	})
}
