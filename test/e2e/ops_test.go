package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/test/harness"
)

// freePort returns a loopback address nothing listens on (for listeners whose address the test
// must know before the server logs it).
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestProbesAndJSONLogs (issue 10, first part): on either engine, the status listener answers
// /healthz and /readyz, GET /_tollgate/health answers JSON on the main listener without a
// signature, and --log-format json makes every log line one JSON object.
func TestProbesAndJSONLogs(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp", "gnet"} {
		t.Run(engine, func(t *testing.T) {
			status := freePort(t)
			s := harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--status-addr", status, "--log-format", "json"}})
			if code, body := httpGet(t, "http://"+status+"/healthz"); code != 200 || body != "ok\n" {
				t.Errorf("/healthz = %d %q", code, body)
			}
			if code, body := httpGet(t, "http://"+status+"/readyz"); code != 200 || body != "ready\n" {
				t.Errorf("/readyz = %d %q", code, body)
			}
			code, body := httpGet(t, s.Endpoint+"/_tollgate/health")
			var rep struct {
				Status, Version string
				Ready           bool
				Store           struct {
					Kind      string
					Reachable bool
				}
				UptimeSeconds *int64
			}
			if err := json.Unmarshal([]byte(body), &rep); err != nil || code != 200 {
				t.Fatalf("/_tollgate/health = %d %q (%v)", code, body, err)
			}
			if rep.Status != "running" || !rep.Ready || rep.Version == "" || rep.Store.Kind != "sqlite" || !rep.Store.Reachable || rep.UptimeSeconds == nil {
				t.Errorf("/_tollgate/health = %s", body)
			}
			// The rest of the management API still wants a signature.
			if code, _ := httpGet(t, s.Endpoint+"/apikeys"); code != 403 {
				t.Errorf("unsigned GET /apikeys = %d, want 403", code)
			}
			s.Stop()
			lines := strings.Split(strings.TrimSpace(s.Log()), "\n")
			if len(lines) < 3 {
				t.Fatalf("only %d log lines", len(lines))
			}
			for _, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil || m["time"] == nil {
					t.Errorf("not a JSON log line: %q", l)
				}
			}
		})
	}
}
