package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

// TestReadiness walks the states: not serving, serving with the store up, store down, store
// back; liveness stays 200 throughout.
func TestReadiness(t *testing.T) {
	var down atomic.Bool
	s := New("v1.2.3", "sqlite", func(context.Context) error {
		if down.Load() {
			return errors.New("connection refused")
		}
		return nil
	})
	h := s.StatusHandler()
	ctx := context.Background()
	steps := []struct {
		name   string
		do     func()
		status int
		body   string
	}{
		{"before the first probe and snapshot", func() {}, 503, "not ready: the data-plane configuration is not loaded yet"},
		{"snapshot serving, not probed", s.Serving, 503, "not ready: the store has not been probed yet"},
		{"store reachable", func() { s.Probe(ctx) }, 200, "ready"},
		{"store down", func() { down.Store(true); s.Probe(ctx) }, 503, "not ready: the store is unreachable"},
		{"store back", func() { down.Store(false); s.Probe(ctx) }, 200, "ready"},
	}
	for _, st := range steps {
		st.do()
		if code, body := get(t, h, "/readyz"); code != st.status || strings.TrimSpace(body) != st.body {
			t.Errorf("%s: /readyz = %d %q, want %d %q", st.name, code, body, st.status, st.body)
		}
		if code, _ := get(t, h, "/healthz"); code != 200 {
			t.Errorf("%s: /healthz = %d", st.name, code)
		}
	}
	if code, _ := get(t, h, "/metrics-not-here"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
}

// TestWrap: the main listener's health path answers JSON without reaching the API; every other
// request does reach it.
func TestWrap(t *testing.T) {
	s := New("v9", "postgres", func(context.Context) error { return nil })
	s.Serving()
	s.Probe(context.Background())
	reached := 0
	h := s.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; w.WriteHeader(403) }))
	code, body := get(t, h, Path)
	var rep report
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != 200 {
		t.Fatalf("%s = %d %q (%v)", Path, code, body, err)
	}
	if rep.Status != "running" || !rep.Ready || rep.Version != "v9" || rep.Store.Kind != "postgres" || !rep.Store.Reachable {
		t.Errorf("report %+v", rep)
	}
	if reached != 0 {
		t.Error("the health path reached the management API")
	}
	for _, p := range []string{"/_tollgate/health/x", "/restapis", "/_tollgate"} {
		if code, _ := get(t, h, p); code != 403 {
			t.Errorf("%s = %d, want the API's 403", p, code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", Path, nil))
	if rec.Code != 403 {
		t.Errorf("POST %s reached the health answer: %d", Path, rec.Code)
	}
}
