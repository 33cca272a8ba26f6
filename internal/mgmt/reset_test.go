package mgmt

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/apigw"
)

// refusingAuth refuses every signature, as an unsigned or badly signed request is refused.
type refusingAuth struct{}

func (refusingAuth) Authenticate(*http.Request, []byte) (string, error) {
	return "", &apigw.Error{Kind: apigw.KindForbidden, Message: "Missing Authentication Token"}
}

// TestResetAccess: the reset answers an unsigned POST only from loopback; from any other
// address it wants a signature (refusingAuth stands for an unsigned request), and without
// --allow-reset (Reset nil) the path is as unknown as any other.
func TestResetAccess(t *testing.T) {
	for _, c := range []struct {
		name, method, remote string
		enabled              bool
		auth                 Authenticator
		wantStatus           int
		wantReset            bool
	}{
		{"loopback v4 unsigned", "POST", "127.0.0.1:5555", true, refusingAuth{}, 200, true},
		{"loopback v6 unsigned", "POST", "[::1]:5555", true, refusingAuth{}, 200, true},
		{"mapped loopback unsigned", "POST", "[::ffff:127.0.0.1]:5555", true, refusingAuth{}, 200, true},
		{"remote unsigned", "POST", "10.1.2.3:5555", true, refusingAuth{}, 403, false},
		{"remote signed", "POST", "10.1.2.3:5555", true, testAuth{}, 200, true},
		{"GET", "GET", "127.0.0.1:5555", true, refusingAuth{}, 404, false},
		{"disabled", "POST", "127.0.0.1:5555", false, refusingAuth{}, 403, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.srv = New(h.svc, c.auth)
			reset := false
			if c.enabled {
				h.srv.Reset = func(context.Context) error { reset = true; return nil }
			}
			r := httptest.NewRequest(c.method, ResetPath, nil)
			r.RemoteAddr = c.remote
			w := httptest.NewRecorder()
			h.srv.ServeHTTP(w, r)
			if w.Code != c.wantStatus || reset != c.wantReset {
				t.Errorf("status %d reset %v, want %d %v (%s)", w.Code, reset, c.wantStatus, c.wantReset, w.Body)
			}
			if c.wantReset && strings.TrimSpace(w.Body.String()) != `{"reset":true}` {
				t.Errorf("body %s", w.Body)
			}
		})
	}
	// A failing reset is a 500, not a success.
	h := newHarness(t)
	h.srv.Reset = func(context.Context) error { return errors.New("disk full") }
	r := httptest.NewRequest("POST", ResetPath, nil)
	r.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	if w.Code < 500 {
		t.Errorf("failed reset answered %d", w.Code)
	}
}
