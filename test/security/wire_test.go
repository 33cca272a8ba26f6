package security

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/test/harness"
)

// TestHopByHopHeaders (finding 7): on HTTP_PROXY integrations, the hop-by-hop headers — those
// RFC 9110 §7.6.1 names, Proxy-Authorization and Proxy-Authenticate, and every header the
// message's own Connection header lists — stop at the gate in both directions; end-to-end
// headers pass.
func TestHopByHopHeaders(t *testing.T) {
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Connection", "X-Backend-Hop, x-other-hop")
			h.Set("X-Backend-Hop", "secret-of-the-backend-hop")
			h.Set("X-Other-Hop", "also-hop")
			h.Set("Proxy-Authenticate", `Basic realm="backend-proxy"`)
			h.Set("X-End-To-End", "kept")
			io.WriteString(w, "ok")
		})
		api := deploy(t, s.Client("us-east-1"), method{Path: "/p", Integration: httpProxy(b.URL + "/p")})
		req := "GET /restapis/" + api.ID + "/prod/_user_request_/p HTTP/1.1\r\nHost: x\r\n" +
			"Connection: keep-alive, X-Client-Hop\r\nConnection: x-second-hop\r\n" +
			"X-Client-Hop: secret-of-the-client-hop\r\nX-Second-Hop: also-client-hop\r\n" +
			"Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\nX-Kept: yes\r\n\r\n"
		resp, err := rawRequest(t, hostPort(s.Endpoint), req)
		if err != nil || resp.Status != 200 {
			t.Fatalf("proxy call: %+v, %v", resp, err)
		}
		reqs := b.Requests()
		if len(reqs) != 1 {
			t.Fatalf("backend got %d requests", len(reqs))
		}
		got := reqs[0].Header
		for _, name := range []string{"X-Client-Hop", "X-Second-Hop", "Proxy-Authorization"} {
			if v := got.Get(name); v != "" {
				t.Errorf("backend received hop-by-hop %s: %q", name, v)
			}
		}
		if got.Get("X-Kept") != "yes" {
			t.Errorf("backend lost the end-to-end header X-Kept: %v", got)
		}
		for _, name := range []string{"X-Backend-Hop", "X-Other-Hop", "Proxy-Authenticate"} {
			if v := resp.Header.Get(name); v != "" {
				t.Errorf("client received hop-by-hop %s: %q", name, v)
			}
		}
		if resp.Header.Get("X-End-To-End") != "kept" {
			t.Errorf("client lost the end-to-end header X-End-To-End: %v", resp.Header)
		}
	})
}

// TestBareLF (finding 7): a request head with a bare LF anywhere — request line, a header line,
// the blank line that ends it — is answered 400 at once (well inside the 10 s header timeout)
// on both listeners' engines; a body full of bare LFs on a keep-alive connection is not a head
// and is served, as is the request after it.
func TestBareLF(t *testing.T) {
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		api := deploy(t, s.Client("us-east-1"), method{Path: "/m", Verb: "POST"})
		path := "/restapis/" + api.ID + "/prod/_user_request_/m"
		for name, req := range map[string]string{
			"head ends in bare LF":   "POST " + path + " HTTP/1.1\r\nHost: x\r\n\n",
			"all bare":               "POST " + path + " HTTP/1.1\nHost: x\n\n",
			"bare request line":      "POST " + path + " HTTP/1.1\nHost: x\r\n\r\n",
			"bare header line":       "POST " + path + " HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n",
			"management, all bare":   "GET /apikeys HTTP/1.1\nHost: x\n\n",
			"second request on conn": "POST " + path + " HTTP/1.1\nHost: x\n\n",
		} {
			t.Run(name, func(t *testing.T) {
				c, err := net.Dial("tcp", hostPort(s.Endpoint))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				// Far below the server's 10 s header timeout: a server that waits for more
				// bytes fails this read instead of answering.
				c.SetDeadline(time.Now().Add(3 * time.Second))
				br := bufio.NewReader(c)
				if strings.HasPrefix(name, "second") { // a good request first, answered, then the bad one
					io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na\n\n")
					first, err := http.ReadResponse(br, nil)
					if err != nil || first.StatusCode != 200 {
						t.Fatalf("first request: %v, %v", first, err)
					}
					io.Copy(io.Discard, first.Body)
				}
				io.WriteString(c, req)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 400 || string(body) != `{"message":"Bad Request"}` {
					t.Fatalf("answer %d %q, want 400 Bad Request", resp.StatusCode, body)
				}
			})
		}
		t.Run("bare LFs in a body", func(t *testing.T) {
			body := "line one\n\nline two\n\n"
			req := "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
			c, err := net.Dial("tcp", hostPort(s.Endpoint))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, req+req)
			br := bufio.NewReader(c)
			for i := range 2 {
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("request %d: %v, %v", i, resp, err)
				}
				io.Copy(io.Discard, resp.Body)
			}
		})
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
