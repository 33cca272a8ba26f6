package security

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/test/harness"
)

// TestRequestSmuggling (issue 12): requests framed ambiguously — Content-Length beside
// Transfer-Encoding, two lengths, a hidden or doubled coding — never make the gate forward a
// request the client hid in a body. Each case sends the ambiguous request with a second request
// ("GET /smuggled") hidden where one parser or another would see it. The gate may answer 400
// (or 501) and close, or serve exactly one request; the backend must never receive /smuggled.
// Requests framed in the ordinary ways (pipelining, Expect: 100-continue, chunked with trailers)
// are served whole, on every engine.
func TestRequestSmuggling(t *testing.T) {
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			io.WriteString(w, "backend:"+r.URL.Path+":"+string(body))
		})
		api := deploy(t, s.Client("us-east-1"), method{Path: "/{proxy+}", Verb: "ANY", Integration: httpProxy(b.URL+"/{proxy}", "proxy")})
		base := "/restapis/" + api.ID + "/prod/_user_request_"
		hidden := "GET " + base + "/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
		chunkedHidden := "0\r\n\r\n" + hidden

		for _, tc := range []struct{ name, req string }{
			{"CL.TE", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nContent-Length: " + itoa(len(chunkedHidden)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedHidden},
			{"TE.CL", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + chunkedHidden},
			{"two lengths", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: " + itoa(len(hidden)) + "\r\n\r\n" + hidden},
			{"TE obs-fold", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nContent-Length: " + itoa(len(chunkedHidden)) + "\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" + chunkedHidden},
			{"TE space before colon", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nContent-Length: " + itoa(len(chunkedHidden)) + "\r\nTransfer-Encoding : chunked\r\n\r\n" + chunkedHidden},
			{"TE list", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\nContent-Length: " + itoa(len(chunkedHidden)) + "\r\n\r\n" + chunkedHidden},
			{"TE twice", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: " + itoa(len(chunkedHidden)) + "\r\n\r\n" + chunkedHidden},
			{"TE with junk", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: " + itoa(len(chunkedHidden)) + "\r\n\r\n" + chunkedHidden},
			{"signed length", "POST " + base + "/a HTTP/1.1\r\nHost: x\r\nContent-Length: +" + itoa(len(hidden)) + "\r\n\r\n" + hidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(b.Requests())
				statuses := exchange(t, s.Endpoint, tc.req, 2)
				t.Logf("answers %v", statuses)
				for _, r := range b.Requests()[before:] {
					if strings.Contains(r.URL.Path, "smuggled") {
						t.Fatalf("the backend received the hidden request (answers %v)", statuses)
					}
				}
				if len(statuses) == 0 {
					t.Fatal("no answer")
				}
				if st := statuses[0]; st != 200 && st != 400 && st != 501 {
					t.Errorf("first answer %d, want 200, 400 or 501", st)
				}
			})
		}

		t.Run("header sizes", func(t *testing.T) {
			// API Gateway allows 10 KB of headers; both engines refuse a head past 16 KB (20 KB
			// on net/http) with 431, before anything reaches the backend.
			before := len(b.Requests())
			for _, tc := range []struct {
				size   int
				status int
			}{{12 << 10, 200}, {40 << 10, 431}} {
				req := "GET " + base + "/h HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("v", tc.size) + "\r\n\r\n"
				statuses := exchange(t, s.Endpoint, req, 1)
				if len(statuses) != 1 || statuses[0] != tc.status {
					t.Errorf("a %d KB header: answers %v, want %d", tc.size>>10, statuses, tc.status)
				}
			}
			if got := len(b.Requests()) - before; got != 1 {
				t.Errorf("the backend received %d requests, want the one with the smaller header", got)
			}
		})
		t.Run("pipelined requests are served in order", func(t *testing.T) {
			req := "GET " + base + "/one HTTP/1.1\r\nHost: x\r\n\r\n" +
				"POST " + base + "/two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
				"GET " + base + "/three HTTP/1.1\r\nHost: x\r\n\r\n"
			bodies := exchangeBodies(t, s.Endpoint, req, 3)
			want := []string{"backend:/one:", "backend:/two:abc", "backend:/three:"}
			if strings.Join(bodies, "|") != strings.Join(want, "|") {
				t.Errorf("answers %q, want %q", bodies, want)
			}
		})
		t.Run("chunked body with trailers", func(t *testing.T) {
			req := "POST " + base + "/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n" +
				"GET " + base + "/after HTTP/1.1\r\nHost: x\r\n\r\n"
			bodies := exchangeBodies(t, s.Endpoint, req, 2)
			want := []string{"backend:/c:abcdefg", "backend:/after:"}
			if strings.Join(bodies, "|") != strings.Join(want, "|") {
				t.Errorf("answers %q, want %q", bodies, want)
			}
		})
		t.Run("expect 100-continue", func(t *testing.T) {
			c, err := net.Dial("tcp", hostPort(s.Endpoint))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "PUT "+base+"/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
				t.Fatalf("before the body: %q, %v; want 100 Continue", line, err)
			}
			for line != "\r\n" && err == nil {
				line, err = br.ReadString('\n')
			}
			io.WriteString(c, "hello")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(body) != "backend:/e:hello" {
				t.Errorf("answer %d %q", resp.StatusCode, body)
			}
		})
	})
}

// exchange writes raw on one connection and reads up to n responses (fewer if the gate closes
// it), returning their statuses; bodies are drained.
func exchange(t *testing.T, endpoint, raw string, n int) []int {
	t.Helper()
	var statuses []int
	readResponses(t, endpoint, raw, n, func(resp *http.Response, _ []byte) { statuses = append(statuses, resp.StatusCode) })
	return statuses
}

// exchangeBodies is exchange's twin returning the bodies of n answers, each required to be 200.
func exchangeBodies(t *testing.T, endpoint, raw string, n int) []string {
	t.Helper()
	var bodies []string
	readResponses(t, endpoint, raw, n, func(resp *http.Response, body []byte) {
		if resp.StatusCode != 200 {
			t.Errorf("answer %d: %d %q", len(bodies), resp.StatusCode, body)
		}
		bodies = append(bodies, string(body))
	})
	return bodies
}

func readResponses(t *testing.T, endpoint, raw string, n int, each func(*http.Response, []byte)) {
	t.Helper()
	c, err := net.Dial("tcp", hostPort(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return // the gate closed the connection (or has nothing more to say)
		}
		body, _ := io.ReadAll(resp.Body)
		each(resp, body)
		if resp.Close {
			return
		}
	}
}
