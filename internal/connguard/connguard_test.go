package connguard

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// feedSplit feeds stream to a new Scanner cut at every position (two chunks), and whole, and
// checks that every cut gives the same verdict: where TCP splits a stream must not matter.
func feedSplit(t *testing.T, stream string) bool {
	t.Helper()
	var whole Scanner
	want := whole.Feed([]byte(stream))
	for cut := 1; cut < len(stream); cut++ {
		var s Scanner
		got := s.Feed([]byte(stream[:cut]))
		if got {
			got = s.Feed([]byte(stream[cut:]))
		}
		if got != want {
			t.Fatalf("cut at %d of %q: %v, whole: %v", cut, stream, got, want)
		}
	}
	return want
}

func TestScanner(t *testing.T) {
	for _, c := range []struct {
		name, stream string
		ok           bool
	}{
		{"plain", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"two pipelined", "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"body with bare LFs then a head", "POST / HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: 6\r\n\r\na\n\nb\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"leading blank line", "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"bare LF ends the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", false},
		{"all bare", "GET / HTTP/1.1\nHost: h\n\n", false},
		{"bare request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", false},
		{"bare header line", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", false},
		{"bare LF in the second head", "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n\n\nGET / HTTP/1.1\nHost: h\r\n\r\n", false},
		{"bare LF before any request", "\n", false},
		{"chunked: the guard steps aside", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\n\n\n", true},
		{"two lengths: the guard steps aside", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n\n\n", true},
		{"bad length: the guard steps aside", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n\n\n", true},
		{"long header line", "GET / HTTP/1.1\r\nX-Long: " + strings.Repeat("v", 200) + "\r\n\r\nGET / HTTP/1.1\nHost: h\r\n\r\n", false},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", false},
		{"length and chunked", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"chunked and length", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", false},
		{"two lengths and chunked", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"length and a spaced coding", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n", false},
		{"length and a folded coding", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", false},
		{"a header named like the coding", "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encodings: x\r\n\r\na", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := feedSplit(t, c.stream); got != c.ok {
				t.Fatalf("Feed(%q) = %v, want %v", c.stream, got, c.ok)
			}
		})
	}
}

// FuzzScanner: a stream of well-formed requests (CRLF heads, Content-Length bodies of any bytes)
// is never refused, however it is cut; the same stream with one head's CRLF turned into a bare
// LF is refused.
func FuzzScanner(f *testing.F) {
	f.Add("a\n\nb", "x-y", uint8(3), uint16(7))
	f.Add("", "z", uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, body, name string, reqs uint8, cut uint16) {
		name = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r == '-' {
				return r
			}
			return -1
		}, name)
		if name == "" || strings.HasPrefix(name, "content-length") || strings.HasPrefix(name, "transfer-encoding") {
			name = "x"
		}
		var b strings.Builder
		n := int(reqs%4) + 1
		for i := range n {
			fmt.Fprintf(&b, "POST /%d HTTP/1.1\r\n%s: v\r\nContent-Length: %d\r\n\r\n%s", i, name, len(body), body)
		}
		stream := b.String()
		at := int(cut) % (len(stream) + 1)
		var s Scanner
		if !s.Feed([]byte(stream[:at])) || !s.Feed([]byte(stream[at:])) {
			t.Fatalf("refused a well-formed stream %q", stream)
		}
		// Make the last head's request line end in a bare LF.
		last := strings.LastIndex(stream, " HTTP/1.1\r\n")
		bad := stream[:last] + " HTTP/1.1\n" + stream[last+len(" HTTP/1.1\r\n"):]
		var s2 Scanner
		if s2.Feed([]byte(bad[:min(at, len(bad))])) && s2.Feed([]byte(bad[min(at, len(bad)):])) {
			t.Fatalf("accepted a bare LF: %q", bad)
		}
	})
}

// TestListener: through a real socket, a bare-LF head gets the 400 at once and the server's
// read fails; a well-formed request reaches the server untouched.
func TestListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := make(chan net.Addr, 1)
	g := &Listener{Listener: ln, OnRefuse: func(a net.Addr) { refused <- a }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), ReadHeaderTimeout: time.Minute}
	go srv.Serve(g)
	defer srv.Close()

	send := func(req string) (*http.Response, error) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, req)
		return http.ReadResponse(bufio.NewReader(c), nil)
	}
	resp, err := send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("well-formed request: %v, %v", resp, err)
	}
	resp, err = send("GET / HTTP/1.1\nHost: h\n\n")
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("bare LF request: %v, %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != `{"message":"Bad Request"}` {
		t.Fatalf("body %q", body)
	}
	select {
	case <-refused:
	case <-time.After(5 * time.Second):
		t.Fatal("OnRefuse not called")
	}
}
