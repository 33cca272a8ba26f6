package mgmt

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/control"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// testAuth stands in for SigV4 in handler tests (sigv4 has its own tests, and e2e tests use real
// signatures): the region comes from X-Test-Region, default us-east-1.
type testAuth struct{}

func (testAuth) Authenticate(r *http.Request, _ []byte) (string, error) {
	if reg := r.Header.Get("X-Test-Region"); reg != "" {
		return reg, nil
	}
	return "us-east-1", nil
}

// fixedNow is the clock of handler tests, so dates in golden files are stable.
var fixedNow = time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)

// harness is a management API over a fresh SQLite store in a temp dir.
type harness struct {
	t   *testing.T
	srv *Server
	svc *control.Service
	st  *sqlite.Store // for tests that seed fixtures directly, independent of other handlers
	now time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tollgate.db"), storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, st: st, now: fixedNow}
	h.svc = control.New(st, control.Config{
		AccountID:       "123456789012",
		AccountThrottle: apigw.Throttle{BurstLimit: 5000, RateLimit: 10000},
	}, func() time.Time { return h.now })
	h.srv = New(h.svc, testAuth{})
	return h
}

// response is one recorded response.
type response struct {
	Status    int
	ErrorType string
	Body      []byte
}

// do sends a request with a raw body (JSON text, CSV …) and returns the response.
func (h *harness) do(method, path, body string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Accept", "application/json")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return response{Status: rec.Code, ErrorType: rec.Header().Get("X-Amzn-Errortype"), Body: rec.Body.Bytes()}
}

// golden compares a response with testdata/golden/<name>.golden after replacing each key of
// subst (generated ids, values) with its placeholder; -update rewrites the file.
func golden(t *testing.T, name string, r response, subst map[string]string) {
	t.Helper()
	body := string(r.Body)
	keys := make([]string, 0, len(subst))
	for k := range subst {
		keys = append(keys, k)
	}
	// Longest first, so an id inside a longer value is not replaced piecemeal.
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if k != "" {
			body = strings.ReplaceAll(body, k, subst[k])
		}
	}
	var b bytes.Buffer
	b.WriteString("HTTP " + strconv.Itoa(r.Status) + " " + http.StatusText(r.Status) + "\n")
	if r.ErrorType != "" {
		b.WriteString("x-amzn-ErrorType: " + r.ErrorType + "\n")
	}
	b.WriteString("\n" + body + "\n")
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/mgmt -update to create it)", err)
	}
	if !bytes.Equal(want, b.Bytes()) {
		t.Errorf("%s: response differs from golden file\n--- want\n%s\n--- got\n%s", name, want, b.Bytes())
	}
}

// A position token from one list sent to another is a 400, not a 500.
func TestForeignPositionIsBadRequest(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodGet, "/apikeys?position="+awswire.EncodePosition("not-a-number"), "")
	if r.Status != http.StatusBadRequest || r.ErrorType != "BadRequestException" {
		t.Fatalf("got %d %s %s", r.Status, r.ErrorType, r.Body)
	}
}
