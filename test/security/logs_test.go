package security

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/test/harness"
)

// Markers that must never reach a log line.
const (
	markerKey = "MARKERKEYa1b2c3d4e5f6g7h8i9j0"
	markerSig = "MARKERSIGdeadbeefdeadbeefdeadbeef"
)

const markerAuth = "AWS4-HMAC-SHA256 Credential=AKIDMARKER/20260101/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=" + markerSig

// malformedRequests are requests no server should serve, each carrying the markers: in the
// x-api-key and Authorization headers, and in the path or body where the form allows.
func malformedRequests(path string) map[string]string {
	h := "x-api-key: " + markerKey + "\r\nAuthorization: " + markerAuth + "\r\n"
	return map[string]string{
		"two Host headers":           "GET " + path + " HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + h + "\r\n",
		"header without colon":       "GET " + path + " HTTP/1.1\r\nHost: a\r\n" + h + "broken header line\r\n\r\n",
		"space before colon":         "GET " + path + " HTTP/1.1\r\nHost: a\r\nx-api-key : " + markerKey + "\r\n" + h + "\r\n",
		"bad request line":           "GET\r\nHost: a\r\n" + h + "\r\n",
		"unknown version":            "GET " + path + " HTTP/7.3\r\nHost: a\r\n" + h + "\r\n",
		"HTTP/0.9":                   "GET " + path + "?" + markerKey + "\r\n",
		"over-long header":           "GET " + path + " HTTP/1.1\r\nHost: a\r\n" + h + "X-Pad: " + strings.Repeat(markerKey, 2000) + "\r\n\r\n",
		"bad chunked body":           "POST " + path + " HTTP/1.1\r\nHost: a\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + markerKey + "\r\n0\r\n\r\n",
		"invalid Content-Length":     "POST " + path + " HTTP/1.1\r\nHost: a\r\n" + h + "Content-Length: abc\r\n\r\n" + markerKey,
		"two Content-Lengths":        "POST " + path + " HTTP/1.1\r\nHost: a\r\n" + h + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"length and chunked":         "POST " + path + " HTTP/1.1\r\nHost: a\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"bare LF":                    "GET " + path + " HTTP/1.1\nHost: a\n" + strings.ReplaceAll(h, "\r\n", "\n") + "\n",
		"NUL in a header":            "GET " + path + " HTTP/1.1\r\nHost: a\r\n" + h + "X-Nul: a\x00" + markerKey + "\r\n\r\n",
		"TLS on a plain port":        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + markerKey + strings.Repeat("\x00", 64),
		"obsolete line folding":      "GET " + path + " HTTP/1.1\r\nHost: a\r\nX-Fold: a\r\n " + markerKey + "\r\n" + h + "\r\n",
		"control byte in the path":   "GET " + path + "\x01" + markerKey + " HTTP/1.1\r\nHost: a\r\n" + h + "\r\n",
		"request line too long":      "GET " + path + "/" + strings.Repeat(markerKey, 3000) + " HTTP/1.1\r\nHost: a\r\n" + h + "\r\n",
		"headers and no end of them": "GET " + path + " HTTP/1.1\r\nHost: a\r\n" + h,
	}
}

// sendRaw writes req and reads until the server answers or closes (at most a second).
func sendRaw(t *testing.T, addr, req string) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write([]byte(req))
	buf := make([]byte, 4096)
	for {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestNoSecretsInLogs (finding 3): every malformed form, sent with a marker key and a marker
// signature to the management API, the data plane and the data-plane-only listener, on both
// engines and at debug level, leaves no marker in the log.
func TestNoSecretsInLogs(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			gw := freeAddr(t)
			accessLog := filepath.Join(t.TempDir(), "access.log")
			s := harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--log-level", "debug", "--gateway-addr", gw, "--access-log", accessLog}})
			api := deploy(t, s.Client("us-east-1"), method{Path: "/k", KeyRequired: true})
			targets := map[string]string{
				"management": hostPort(s.Endpoint) + " /apikeys",
				"data plane": hostPort(s.Endpoint) + " /restapis/" + api.ID + "/prod/_user_request_/k",
				"gateway":    gw + " /restapis/" + api.ID + "/prod/_user_request_/k",
			}
			for _, target := range targets {
				addr, path, _ := strings.Cut(target, " ")
				for _, req := range malformedRequests(path) {
					sendRaw(t, addr, req)
				}
			}
			// A well-formed management call with a bad signature over a signed x-api-key.
			sendRaw(t, hostPort(s.Endpoint), "GET /apikeys HTTP/1.1\r\nHost: a\r\nX-Amz-Date: 20260101T000000Z\r\nx-api-key: "+markerKey+
				"\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request, SignedHeaders=host;x-amz-date;x-api-key, Signature="+strings.Repeat("0", 64)+"\r\n\r\n")
			// A well-formed invocation with the marker as its key: an access-log line, without it.
			sendRaw(t, gw, "GET /restapis/"+api.ID+"/prod/_user_request_/k HTTP/1.1\r\nHost: a\r\nx-api-key: "+markerKey+"\r\nAuthorization: "+markerAuth+"\r\n\r\n")
			s.Stop()
			access, err := os.ReadFile(accessLog)
			if err != nil || !strings.Contains(string(access), "INVALID_API_KEY") {
				t.Fatalf("access log (%v): %q", err, access)
			}
			log := s.Log() + string(access)
			for _, m := range []string{markerKey, markerSig, "AKIDMARKER"} {
				if i := strings.Index(log, m); i >= 0 {
					t.Fatalf("marker %s in the log: …%s…", m, log[max(0, i-200):min(len(log), i+100)])
				}
			}
			// fasthttp reports parse errors, logged as a class; net/http answers 400 and says nothing.
			if engine == "fasthttp" && !strings.Contains(log, "refused a malformed request") {
				t.Fatal("malformed requests left no trace in the log at all")
			}
		})
	}
}

// TestMalformedRequestLogIsRateLimited (finding 3): 1,000 malformed requests cannot flood the log.
func TestMalformedRequestLogIsRateLimited(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	before := strings.Count(s.Log(), "\n")
	for i := 0; i < 1000; i++ {
		sendRaw(t, hostPort(s.Endpoint), "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
	}
	s.Stop()
	lines := strings.Count(s.Log(), "\n") - before
	if lines > 100 {
		t.Fatalf("1,000 malformed requests wrote %d log lines", lines)
	}
	if !strings.Contains(s.Log(), "suppressed=") {
		t.Fatal("the suppressed count is not reported")
	}
}
