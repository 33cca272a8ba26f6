package security

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tollgate/tollgate/test/harness"
)

// TestBackendFailuresLogged (issue 10): a request its integration failed — backend refused (502),
// backend too slow (504) — is logged at warn with the status, a class of the cause, the API,
// stage, method and resource and the request id the client got; never the upstream URL, whose
// mapped values may be secrets.
func TestBackendFailuresLogged(t *testing.T) {
	eachEngine(t, harness.Options{}, func(t *testing.T, s *harness.Server) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + ln.Addr().String()
		ln.Close() // nothing listens there any more: connections are refused
		slow := newBackend(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(500 * time.Millisecond) })
		slowInteg := httpProxy(slow.URL + "/slow")
		slowInteg.TimeoutInMillis = aws.Int32(100)
		api := deploy(t, s.Client("us-east-1"),
			method{Path: "/down", Integration: httpProxy(closed + "/down?token=secret-marker-in-the-upstream-url")},
			method{Path: "/slow", Integration: slowInteg},
		)
		for _, c := range []struct {
			path, class string
			status      int
		}{
			{"/down", "backend refused the connection", 502},
			{"/slow", "backend timed out", 504},
		} {
			resp, err := http.Get(s.Endpoint + "/restapis/" + api.ID + "/prod/_user_request_" + c.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			rid := resp.Header.Get("X-Amzn-Requestid")
			if resp.StatusCode != c.status || rid == "" {
				t.Fatalf("%s: %d (request id %q), want %d", c.path, resp.StatusCode, rid, c.status)
			}
			var line string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				for _, l := range strings.Split(s.Log(), "\n") {
					if strings.Contains(l, rid) && strings.Contains(l, "integration failed") {
						line = l
					}
				}
				if line != "" {
					break
				}
			}
			for _, want := range []string{"level=WARN", "status=" + itoa(c.status), `class="` + c.class + `"`, "api=" + api.ID, "stage=prod", "method=GET", "resource=" + c.path} {
				if !strings.Contains(line, want) {
					t.Errorf("%s: log line %q lacks %q", c.path, line, want)
				}
			}
		}
		if strings.Contains(s.Log(), "secret-marker") {
			t.Error("the upstream URL reached the log")
		}
	})
}
